// The series walk of a block select: for each postings ref, the series entry of the index (format v2,
// tsdb/docs/format/index.md) is read and its CRC32C checked, and its chunks inside [mint, maxt] are
// resolved in the chunk segments (tsdb/docs/format/chunks.md) to byte ranges for the XOR decoder. Doing
// this natively replaces per-series work in JavaScript (cursor objects, a CRC call, a chunk lookup per
// chunk) that cost more than the decoding itself on a select of 100k series.
//
// The index and the segments are untrusted: every offset is bounds-checked and a damaged entry is
// reported as a message naming the series ref or the chunk ref, never read past.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace promshard {

// A mapped chunk segment file and its bitmap of chunks whose CRC has been verified (one bit per 8
// bytes of segment: chunk records are at least 9 bytes apart, so no two share a bit).
struct PlanSegment {
  const uint8_t* data;
  size_t len;
  uint8_t* verified;
  size_t verifiedLen;
};

// What the walk found, in postings order. Series k of the output is refs[keep[k]]; its labels are the
// symbol refs labelRefs[labelStart[k] .. labelStart[k + 1]) as name, value, ...; its chunks are
// [chunkEnd[k - 1], chunkEnd[k]), chunk c lying at bytes [ranges[2c], ranges[2c + 1]) of segment segOf[c]
// (the XOR data after the encoding byte). total is the sum of the chunks' header sample counts.
struct SelectPlan {
  std::vector<uint32_t> keep;
  std::vector<uint32_t> labelRefs;
  std::vector<uint32_t> labelStart{0};
  std::vector<uint32_t> chunkEnd;
  std::vector<uint32_t> ranges;
  std::vector<uint32_t> segOf;
  uint64_t total = 0;
};

struct PlanInput {
  const uint8_t* index;
  size_t indexLen;
  uint64_t seriesLo;  // series entries start at or after this offset
  uint64_t seriesHi;  // ... and before this one (the TOC)
  uint32_t numSymbols;
  const uint32_t* refs;
  size_t nrefs;
  double mint;  // inclusive; may be infinite
  double maxt;
  const PlanSegment* segs;
  size_t nsegs;
};

// Fills `out`. Returns an empty string on success, else why the block is damaged ("index series N: ..."
// or "chunk ref N: ..."); out is then incomplete. Chunks of encodings other than XOR are left out.
std::string planSelect(const PlanInput& in, SelectPlan* out);

}  // namespace promshard
