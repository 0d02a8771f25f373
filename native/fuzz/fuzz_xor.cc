// libFuzzer target: the XOR chunk decoder on arbitrary bytes. It must never read out of bounds (ASan),
// never hit undefined behaviour (UBSan), never produce more samples than the bytes can hold, and
// whatever it decodes must survive an encode/decode round trip bit for bit.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../xor.h"

namespace {

struct Sample {
  int64_t t;
  uint64_t v;
};

[[noreturn]] void fail() { __builtin_trap(); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Copy into an exactly sized heap buffer so ASan flags any read past the end.
  std::vector<uint8_t> chunk(data, data + size);
  std::vector<Sample> got;
  const char* err = promshard::xorDecode(chunk.data(), chunk.size(), [&](int64_t t, uint64_t v) {
    got.push_back(Sample{t, v});
  });
  if (got.size() > promshard::xorPlausibleCount(chunk.data(), chunk.size())) fail();
  if (err != nullptr) return 0;
  if (got.size() != promshard::xorHeaderCount(chunk.data(), chunk.size())) fail();

  // Re-encode what was decoded and decode it again: the same samples, bit for bit.
  promshard::XorState s;
  std::vector<uint8_t> buf;
  promshard::xorInit(s, buf);
  for (const Sample& x : got) {
    double v;
    std::memcpy(&v, &x.v, 8);
    if (!promshard::xorAppend(s, buf, x.t, v)) fail();
  }
  if (buf.size() != promshard::xorChunkLength(s)) fail();
  size_t i = 0;
  bool mismatch = false;
  err = promshard::xorDecode(buf.data(), buf.size(), [&](int64_t t, uint64_t v) {
    if (i >= got.size() || got[i].t != t || got[i].v != v) mismatch = true;
    i++;
  });
  if (err != nullptr || mismatch || i != got.size()) fail();

  // The batch encoder (timestamps as doubles, as from JS) gives the same bytes when every timestamp is
  // exact as a double, and stops at the first one beyond +-2^53 leaving the chunk empty.
  std::vector<double> ts, vs;
  for (const Sample& x : got) {
    ts.push_back(static_cast<double>(x.t));
    double v;
    std::memcpy(&v, &x.v, 8);
    vs.push_back(v);
  }
  // A timestamp that rounds on the way to double but stays within range is encoded rounded, so bytes are
  // compared only when every timestamp is exact.
  size_t firstBad = got.size();
  bool exact = true;
  for (size_t k = 0; k < got.size(); k++) {
    if (!(ts[k] >= -9007199254740992.0 && ts[k] <= 9007199254740992.0)) {
      firstBad = k;
      break;
    }
    exact = exact && static_cast<int64_t>(ts[k]) == got[k].t;
  }
  promshard::XorState bs;
  promshard::xorInitState(bs);
  std::vector<uint8_t> batch(2 + got.size() * 20 + promshard::kXorAppendSlack);
  batch[0] = batch[1] = 0;
  const size_t done = promshard::xorAppendBatchMillis(bs, batch.data(), ts.data(), vs.data(), ts.size());
  if (done != firstBad) fail();
  if (firstBad == got.size()) {
    if (exact && (promshard::xorChunkLength(bs) != buf.size() ||
                  std::memcmp(batch.data(), buf.data(), buf.size()) != 0)) {
      fail();
    }
  } else if (bs.count != 0) {
    fail();
  }
  return 0;
}
