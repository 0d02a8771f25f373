// Bounds-checked readers and writers for Go's encoding/binary varints (uvarint = LEB128, varint =
// zig-zag), as Prometheus' chunk, index and WAL formats use them. Readers never look past `len`.
#pragma once

#include <cstddef>
#include <cstdint>

namespace promshard {

enum class VarintStatus : uint8_t { kOk, kTruncated, kOverflow };

inline const char* varintStatusMessage(VarintStatus s) {
  switch (s) {
    case VarintStatus::kOk:
      return "ok";
    case VarintStatus::kTruncated:
      return "truncated varint";
    case VarintStatus::kOverflow:
      return "varint overflows 64 bits";
  }
  return "bad varint";
}

// Reads a uvarint at data[*pos], advancing *pos past it. Like Go's binary.Uvarint, more than 10 bytes
// or a 10th byte above 1 is an overflow.
inline VarintStatus readUvarint(const uint8_t* data, size_t len, size_t* pos, uint64_t* out) {
  uint64_t x = 0;
  unsigned shift = 0;
  size_t p = *pos;
  for (int i = 0; i < 10; i++) {
    if (p >= len) return VarintStatus::kTruncated;
    const uint8_t b = data[p++];
    if (b < 0x80) {
      if (i == 9 && b > 1) return VarintStatus::kOverflow;
      *out = x | (static_cast<uint64_t>(b) << shift);
      *pos = p;
      return VarintStatus::kOk;
    }
    x |= static_cast<uint64_t>(b & 0x7f) << shift;
    shift += 7;
  }
  return VarintStatus::kOverflow;
}

inline VarintStatus readVarint(const uint8_t* data, size_t len, size_t* pos, int64_t* out) {
  uint64_t ux;
  const VarintStatus s = readUvarint(data, len, pos, &ux);
  if (s != VarintStatus::kOk) return s;
  *out = static_cast<int64_t>(ux >> 1) ^ -static_cast<int64_t>(ux & 1);
  return VarintStatus::kOk;
}

constexpr size_t kMaxVarintLen64 = 10;

// Writes a uvarint into out (at least kMaxVarintLen64 bytes), returning its length.
inline size_t putUvarint(uint8_t* out, uint64_t x) {
  size_t i = 0;
  while (x >= 0x80) {
    out[i++] = static_cast<uint8_t>(x) | 0x80;
    x >>= 7;
  }
  out[i++] = static_cast<uint8_t>(x);
  return i;
}

inline size_t putVarint(uint8_t* out, int64_t x) {
  uint64_t ux = static_cast<uint64_t>(x) << 1;
  if (x < 0) ux = ~ux;
  return putUvarint(out, ux);
}

}  // namespace promshard
