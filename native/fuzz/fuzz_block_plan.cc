// libFuzzer target: the block select's series walk (planSelect) over an index and a chunk segment made
// of arbitrary bytes, with arbitrary postings refs and windows. It must report damage or succeed, never
// read outside its buffers; on success every chunk range must lie inside the segment.
#include <cstdint>
#include <cstring>
#include <vector>

#include "../block_plan.h"
#include "../crc32c.h"

namespace {

[[noreturn]] void fail() { __builtin_trap(); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 8) return 0;
  const size_t nrefs = data[0] % 8;
  const uint32_t numSymbols = data[1];
  const size_t split = 8 + (size > 8 ? (static_cast<size_t>(data[2]) << 8 | data[3]) % (size - 8 + 1) : 0);
  const double windows[4][2] = {{-1e300, 1e300}, {0, 1000}, {-5, 5}, {1e6, 2e6}};
  const double* w = windows[data[4] % 4];
  // Copies, so that ASan sees the exact bounds of each buffer.
  std::vector<uint8_t> index(data + 8, data + split);
  std::vector<uint8_t> seg(data + split, data + size);
  std::vector<uint8_t> verified((seg.size() >> 6) + 1);
  std::vector<uint32_t> refs;
  for (size_t i = 0; i < nrefs; i++) refs.push_back((data[5 + (i % 3)] + i) % 8);
  if (data[4] & 4) {
    // A well-formed series entry at ref 1 around the fuzzed body (length and CRC right), so the walk
    // gets past the checksum into labels, chunk metadata and chunk lookups.
    std::vector<uint8_t> body(index);
    index.assign(16, 0);
    size_t l = body.size();
    do {
      index.push_back(static_cast<uint8_t>((l & 0x7f) | (l > 0x7f ? 0x80 : 0)));
      l >>= 7;
    } while (l != 0);
    index.insert(index.end(), body.begin(), body.end());
    const uint32_t crc = promshard::crc32c(0, body.data(), body.size());
    for (int k = 3; k >= 0; k--) index.push_back(static_cast<uint8_t>(crc >> (8 * k)));
    index.resize(index.size() + 52);
    refs.assign(1 + nrefs % 2, 1);
  }
  promshard::PlanSegment ps{seg.data(), seg.size(), verified.data(), verified.size()};
  promshard::PlanInput in{index.data(),
                          index.size(),
                          0,
                          index.size() >= 52 ? index.size() - 52 : 0,
                          numSymbols,
                          refs.data(),
                          refs.size(),
                          w[0],
                          w[1],
                          &ps,
                          1};
  promshard::SelectPlan plan;
  const std::string err = promshard::planSelect(in, &plan);
  if (!err.empty()) return 0;
  if (plan.ranges.size() != 2 * plan.segOf.size()) fail();
  for (size_t c = 0; c < plan.segOf.size(); c++) {
    if (plan.segOf[c] != 0 || plan.ranges[2 * c] > plan.ranges[2 * c + 1] ||
        plan.ranges[2 * c + 1] > seg.size())
      fail();
  }
  for (uint32_t r : plan.labelRefs)
    if (r >= numSymbols) fail();
  if (plan.labelStart.size() != plan.keep.size() + 1 || plan.chunkEnd.size() != plan.keep.size()) fail();
  return 0;
}
