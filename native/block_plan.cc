#include "block_plan.h"

#include <cstdio>

#include "crc32c.h"
#include "varint.h"

namespace promshard {
namespace {

constexpr uint8_t kEncodingXor = 1;
constexpr size_t kSegmentHeaderSize = 8;

inline uint32_t loadBe32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | p[3];
}

std::string segmentName(uint64_t seq) {
  char b[32];
  std::snprintf(b, sizeof b, "%06llu", static_cast<unsigned long long>(seq + 1));
  return b;
}

std::string seriesError(uint32_t ref, const std::string& what) {
  return "index series " + std::to_string(ref) + ": " + what;
}

std::string chunkError(uint64_t ref, const std::string& what) {
  return "chunk ref " + std::to_string(ref) + ": " + what;
}

std::string hex(uint32_t x) {
  char b[16];
  std::snprintf(b, sizeof b, "%x", x);
  return b;
}

// Resolves one chunk reference to its XOR data; false with *err set on damage, false with err empty
// for a chunk of another encoding (skipped).
bool locateChunk(const PlanInput& in, uint64_t ref, SelectPlan* out, std::string* err) {
  const uint64_t seq = ref >> 32;
  const uint64_t off = ref & 0xffffffffu;
  if (seq >= in.nsegs) {
    *err = chunkError(ref, "segment " + segmentName(seq) + " does not exist");
    return false;
  }
  const PlanSegment& s = in.segs[seq];
  if (off < kSegmentHeaderSize || off >= s.len) {
    *err = chunkError(ref, "offset " + std::to_string(off) + " outside chunks/" + segmentName(seq) + " (" +
                               std::to_string(s.len) + " bytes)");
    return false;
  }
  // The record length is a uvarint of at most 5 bytes (segments are far smaller than 2^35 bytes).
  size_t p = off;
  uint64_t len = 0;
  for (unsigned i = 0;; i++) {
    if (p >= s.len || i == 5) {
      *err = chunkError(ref, "bad length in chunks/" + segmentName(seq));
      return false;
    }
    const uint8_t x = s.data[p++];
    len |= static_cast<uint64_t>(x & 0x7f) << (7 * i);
    if (x < 0x80) break;
  }
  const size_t encAt = p;
  const uint64_t end = encAt + 1 + len;
  if (end + 4 > s.len || end > UINT32_MAX) {
    *err =
        chunkError(ref, "length " + std::to_string(len) + " runs past the end of chunks/" + segmentName(seq));
    return false;
  }
  const size_t byte = off >> 6;
  const uint8_t bit = static_cast<uint8_t>(1u << ((off >> 3) & 7));
  if (byte >= s.verifiedLen) {
    *err = chunkError(ref, "no verification slot (internal)");
    return false;
  }
  if ((s.verified[byte] & bit) == 0) {
    if (crc32c(0, s.data + encAt, end - encAt) != loadBe32(s.data + end)) {
      *err = chunkError(ref, "CRC32C mismatch in chunks/" + segmentName(seq));
      return false;
    }
    s.verified[byte] |= bit;
  }
  if (s.data[encAt] != kEncodingXor) return false;  // native histograms are not served yet
  const size_t dataStart = encAt + 1;
  if (end - dataStart < 2) {
    *err = chunkError(ref, "shorter than its header");
    return false;
  }
  out->ranges.push_back(static_cast<uint32_t>(dataStart));
  out->ranges.push_back(static_cast<uint32_t>(end));
  out->segOf.push_back(static_cast<uint32_t>(seq));
  out->total += (static_cast<uint32_t>(s.data[dataStart]) << 8) | s.data[dataStart + 1];
  return true;
}

// Walks series `ref`; appends it to `out` when it has a chunk in the window.
bool walkSeries(const PlanInput& in, uint32_t i, SelectPlan* out, std::string* err) {
  const uint32_t ref = in.refs[i];
  const uint64_t off = static_cast<uint64_t>(ref) * 16;
  if (off < in.seriesLo || off >= in.seriesHi) {
    *err = "index: series ref " + std::to_string(ref) + " (offset " + std::to_string(off) +
           ") outside the series section";
    return false;
  }
  const uint8_t* b = in.index;
  size_t p = off;
  uint64_t l = 0;
  if (readUvarint(b, in.indexLen, &p, &l) != VarintStatus::kOk) {
    *err = seriesError(ref, "bad length");
    return false;
  }
  const size_t start = p;
  if (l > in.indexLen || start + l + 4 > in.indexLen) {
    *err = seriesError(ref, "length " + std::to_string(l) + " past end of file");
    return false;
  }
  const size_t end = start + l;
  const uint32_t want = loadBe32(b + end);
  const uint32_t got = crc32c(0, b + start, l);
  if (got != want) {
    *err = seriesError(ref, "CRC32C mismatch at offset " + std::to_string(start) + " (stored " + hex(want) +
                                ", computed " + hex(got) + ")");
    return false;
  }
  uint64_t nl = 0;
  if (readUvarint(b, end, &p, &nl) != VarintStatus::kOk || nl * 2 > end - p) {
    *err = seriesError(ref, "labels cannot fit");
    return false;
  }
  const size_t labelsBefore = out->labelRefs.size();
  for (uint64_t k = 0; k < 2 * nl; k++) {
    uint64_t sym;
    if (readUvarint(b, end, &p, &sym) != VarintStatus::kOk) {
      *err = seriesError(ref, "truncated label");
      return false;
    }
    if (sym >= in.numSymbols) {
      *err = seriesError(ref, "symbol ref out of range");
      return false;
    }
    out->labelRefs.push_back(static_cast<uint32_t>(sym));
  }
  uint64_t nc = 0;
  if (readUvarint(b, end, &p, &nc) != VarintStatus::kOk || nc * 3 > end - p) {
    *err = seriesError(ref, std::to_string(nc) + " chunks cannot fit");
    return false;
  }
  const size_t chunksBefore = out->segOf.size();
  int64_t cmint = 0, cmaxt = 0, cref = 0;
  const auto truncated = [&] {
    *err = seriesError(ref, "truncated chunk metadata");
    return false;
  };
  for (uint64_t c = 0; c < nc; c++) {
    // Deltas wrap as in Go; a damaged entry gives wrong times, caught by the chunk checks or harmless.
    if (c == 0) {
      if (readVarint(b, end, &p, &cmint) != VarintStatus::kOk) return truncated();
    } else {
      uint64_t d;
      if (readUvarint(b, end, &p, &d) != VarintStatus::kOk) return truncated();
      cmint = static_cast<int64_t>(static_cast<uint64_t>(cmaxt) + d);
    }
    uint64_t span;
    if (readUvarint(b, end, &p, &span) != VarintStatus::kOk) return truncated();
    cmaxt = static_cast<int64_t>(static_cast<uint64_t>(cmint) + span);
    if (c == 0) {
      uint64_t r;
      if (readUvarint(b, end, &p, &r) != VarintStatus::kOk) return truncated();
      cref = static_cast<int64_t>(r);
    } else {
      int64_t d;
      if (readVarint(b, end, &p, &d) != VarintStatus::kOk) return truncated();
      cref = static_cast<int64_t>(static_cast<uint64_t>(cref) + static_cast<uint64_t>(d));
    }
    if (cref < 0) {
      *err = seriesError(ref, "negative chunk ref");
      return false;
    }
    if (static_cast<double>(cmaxt) < in.mint || static_cast<double>(cmint) > in.maxt) continue;
    if (!locateChunk(in, static_cast<uint64_t>(cref), out, err) && !err->empty()) return false;
  }
  if (out->segOf.size() == chunksBefore) {
    out->labelRefs.resize(labelsBefore);
    return true;
  }
  out->keep.push_back(i);
  out->labelStart.push_back(static_cast<uint32_t>(out->labelRefs.size()));
  out->chunkEnd.push_back(static_cast<uint32_t>(out->segOf.size()));
  return true;
}

}  // namespace

std::string planSelect(const PlanInput& in, SelectPlan* out) {
  std::string err;
  for (size_t i = 0; i < in.nrefs; i++) {
    if (!walkSeries(in, static_cast<uint32_t>(i), out, &err)) return err;
  }
  return err;
}

}  // namespace promshard
