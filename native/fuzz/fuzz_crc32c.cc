// libFuzzer target: the SSE4.2 CRC-32C against the portable table implementation, on any length and
// alignment, including continuation from a split point.
#include <cstdint>
#include <vector>

#include "../crc32c.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> buf(data, data + size);
  const uint32_t a = promshard::crc32c(0, buf.data(), buf.size());
  const uint32_t b = promshard::crc32cPortable(0, buf.data(), buf.size());
  if (a != b) __builtin_trap();
  if (size > 0) {
    const size_t cut = data[0] % size;
    const uint32_t c = promshard::crc32c(promshard::crc32c(0, buf.data(), cut), buf.data() + cut, size - cut);
    if (c != a) __builtin_trap();
  }
  return 0;
}
