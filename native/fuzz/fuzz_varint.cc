// libFuzzer target: the bounds-checked uvarint/varint readers, against a straightforward model of Go's
// binary.Uvarint, plus a put/read round trip of every value read.
#include <cstdint>
#include <vector>

#include "../varint.h"

namespace {

[[noreturn]] void fail() { __builtin_trap(); }

// Go's binary.ReadUvarint, transcribed for comparison: n > 0 bytes read, 0 truncated, < 0 overflow
// (ten bytes with the continuation bit are an overflow, whatever follows).
int modelUvarint(const uint8_t* p, size_t len, uint64_t* out) {
  uint64_t x = 0;
  unsigned s = 0;
  for (size_t i = 0; i < len; i++) {
    const uint8_t b = p[i];
    if (b < 0x80) {
      if (i == 9 && b > 1) return -static_cast<int>(i + 1);
      *out = x | static_cast<uint64_t>(b) << s;
      return static_cast<int>(i + 1);
    }
    x |= static_cast<uint64_t>(b & 0x7f) << s;
    s += 7;
    if (i == 9) return -10;
  }
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> buf(data, data + size);
  size_t pos = 0;
  while (pos < buf.size()) {
    uint64_t want = 0;
    const int n = modelUvarint(buf.data() + pos, buf.size() - pos, &want);
    size_t p = pos;
    uint64_t got = 0;
    const promshard::VarintStatus st = promshard::readUvarint(buf.data(), buf.size(), &p, &got);
    if (n > 0) {
      if (st != promshard::VarintStatus::kOk || got != want || p != pos + static_cast<size_t>(n)) fail();
      uint8_t tmp[promshard::kMaxVarintLen64];
      const size_t k = promshard::putUvarint(tmp, got);
      size_t q = 0;
      uint64_t back = 0;
      if (promshard::readUvarint(tmp, k, &q, &back) != promshard::VarintStatus::kOk || back != got || q != k)
        fail();
      // The signed reading of the same bytes round-trips through putVarint too.
      size_t r = pos;
      int64_t sv = 0;
      if (promshard::readVarint(buf.data(), buf.size(), &r, &sv) != promshard::VarintStatus::kOk) fail();
      const size_t ks = promshard::putVarint(tmp, sv);
      q = 0;
      int64_t sback = 0;
      if (promshard::readVarint(tmp, ks, &q, &sback) != promshard::VarintStatus::kOk || sback != sv) fail();
      pos = p;
    } else {
      const auto expect = n == 0 ? promshard::VarintStatus::kTruncated : promshard::VarintStatus::kOverflow;
      if (st != expect || p != pos) fail();
      pos++;
    }
  }
  return 0;
}
