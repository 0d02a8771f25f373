// Prometheus' XOR (Gorilla) chunk encoding, byte-compatible with tsdb/chunkenc/xor.go of Prometheus 2.42:
// a 2-byte big-endian sample count, then a bit stream: the first timestamp as a varint and the first value
// as 64 bits; the second timestamp as a uvarint delta; then delta-of-delta timestamps in 1/16/20/24/68-bit
// classes and XOR-compressed values.
//
// The encoder keeps its state in a 32-byte POD (XorState) beside the chunk bytes, so a head block can keep
// one per series. The decoder treats its input as untrusted: it never reads past the given length and
// reports a message for any chunk it cannot decode.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "varint.h"

namespace promshard {

// The encoder's state between appends. Zero-initialise it with xorInit() when starting a chunk.
struct XorState {
  int64_t t;        // last timestamp
  uint64_t tDelta;  // last timestamp delta (wrapping, as in Go)
  uint64_t vbits;   // bits of the last value
  uint32_t bitLen;  // bits written after the 2-byte header
  uint16_t count;   // samples in the chunk (mirrors the header)
  uint8_t leading;  // leading zeros of the current XOR window, 0xff before the first window
  uint8_t trailing;
};
static_assert(sizeof(XorState) == 32, "XorState is meant to stay compact");

// A chunk holds at most this many samples: the header count is a uint16.
constexpr uint32_t kXorMaxSamples = 0xffff;
// Bytes that must be writable past xorChunkLength() before xorAppendRaw(): a sample takes at most 20
// bytes and the writer stores whole 64-bit words.
constexpr size_t kXorAppendSlack = 32;

inline size_t xorChunkLength(const XorState& s) { return 2 + (static_cast<size_t>(s.bitLen) + 7) / 8; }

// Starts an empty chunk: the state is reset and buf holds the 2-byte header only.
void xorInit(XorState& s, std::vector<uint8_t>& buf);
inline void xorInitState(XorState& s) {
  s = XorState{};
  s.leading = 0xff;
}

// Appends one sample to the chunk at `chunk` (header included), which must have xorChunkLength(s) +
// kXorAppendSlack writable bytes and hold the bytes previously written with `s`. The caller checks
// s.count < kXorMaxSamples first. Bytes past the new length that the writer touched are left zero.
void xorAppendRaw(XorState& s, uint8_t* chunk, int64_t t, double v);

// Appends one sample to a chunk kept in a vector (resized to the exact chunk length afterwards).
// Returns false, changing nothing, when the chunk already holds kXorMaxSamples samples.
bool xorAppend(XorState& s, std::vector<uint8_t>& buf, int64_t t, double v);

namespace xordetail {

inline uint64_t loadBe64(const uint8_t* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  w = __builtin_bswap64(w);
#endif
  return w;
}

// Reads bits MSB first from [data, data+n); bits past the end read as zero, and the caller checks
// overrun() once per sample (a sample reads at most 150 bits, so pos cannot run away).
struct BitReader {
  const uint8_t* data;
  size_t n;
  uint64_t pos;  // in bits

  // The next 64 bits at pos, zero-filled past the end; at least 57 of them are real stream bits when
  // pos is inside the stream.
  inline uint64_t window() const {
    const size_t i = static_cast<size_t>(pos >> 3);
    uint64_t w;
    if (i + 8 <= n) [[likely]] {
      w = loadBe64(data + i);
    } else {
      w = 0;
      for (size_t k = 0; k < 8; k++) w = (w << 8) | (i + k < n ? data[i + k] : 0);
    }
    return w << (pos & 7);
  }
  // k in [1, 57].
  inline uint64_t read(unsigned k) {
    const uint64_t r = window() >> (64 - k);
    pos += k;
    return r;
  }
  // k in [1, 64].
  inline uint64_t readWide(unsigned k) {
    if (k <= 56) return read(k);
    const uint64_t hi = read(32);
    return (hi << (k - 32)) | read(k - 32);
  }
  inline bool overrun() const { return pos > static_cast<uint64_t>(n) * 8; }
};

}  // namespace xordetail

// Decodes a chunk, calling sink(int64_t t, uint64_t valueBits) for each sample in order. Returns nullptr
// on success or a static message describing why the chunk is malformed; samples already passed to the
// sink stay valid. Bytes after the last sample are ignored, as Prometheus does.
template <class Sink>
const char* xorDecode(const uint8_t* chunk, size_t len, Sink&& sink) {
  if (len < 2) return "XOR chunk shorter than its 2-byte header";
  const uint32_t count = (static_cast<uint32_t>(chunk[0]) << 8) | chunk[1];
  if (count == 0) return nullptr;
  const uint8_t* data = chunk + 2;
  const size_t n = len - 2;

  size_t bytePos = 0;
  int64_t t;
  if (readVarint(data, n, &bytePos, &t) != VarintStatus::kOk) return "XOR chunk: bad first timestamp varint";
  if (n - bytePos < 8) return "XOR chunk truncated in the first value";
  uint64_t vbits = xordetail::loadBe64(data + bytePos);
  bytePos += 8;
  sink(t, vbits);
  if (count == 1) return nullptr;

  uint64_t tDelta;
  if (readUvarint(data, n, &bytePos, &tDelta) != VarintStatus::kOk) {
    return "XOR chunk: bad second timestamp delta uvarint";
  }
  t = static_cast<int64_t>(static_cast<uint64_t>(t) + tDelta);

  xordetail::BitReader br{data, n, static_cast<uint64_t>(bytePos) * 8};
  unsigned leading = 0;
  unsigned trailing = 0;
  for (uint32_t i = 1;; i++) {
    if (i > 1) {
      const uint64_t w = br.window();
      int64_t dod;
      if (!(w >> 63)) [[likely]] {
        br.pos += 1;
        dod = 0;
      } else if (!((w >> 62) & 1)) {
        int64_t b = static_cast<int64_t>((w >> (64 - 2 - 14)) & 0x3fff);
        if (b > (1 << 13)) b -= 1 << 14;
        dod = b;
        br.pos += 16;
      } else if (!((w >> 61) & 1)) {
        int64_t b = static_cast<int64_t>((w >> (64 - 3 - 17)) & 0x1ffff);
        if (b > (1 << 16)) b -= 1 << 17;
        dod = b;
        br.pos += 20;
      } else if (!((w >> 60) & 1)) {
        int64_t b = static_cast<int64_t>((w >> (64 - 4 - 20)) & 0xfffff);
        if (b > (1 << 19)) b -= 1 << 20;
        dod = b;
        br.pos += 24;
      } else {
        br.pos += 4;
        dod = static_cast<int64_t>(br.readWide(64));
      }
      tDelta += static_cast<uint64_t>(dod);
      t = static_cast<int64_t>(static_cast<uint64_t>(t) + tDelta);
    }
    // The value: 0 = unchanged, 10 = XOR in the previous window, 11 = new window (5 bits leading zeros,
    // 6 bits significant bits, 0 meaning 64).
    const uint64_t w = br.window();
    if (w >> 63) {
      unsigned mbits;
      if (!((w >> 62) & 1)) {
        br.pos += 2;
        mbits = 64 - leading - trailing;
      } else {
        leading = static_cast<unsigned>((w >> 57) & 31);
        mbits = static_cast<unsigned>((w >> 51) & 63);
        br.pos += 13;
        if (mbits == 0) mbits = 64;
        if (leading + mbits > 64) return "XOR chunk: value window wider than 64 bits";
        trailing = 64 - leading - mbits;
      }
      vbits ^= br.readWide(mbits) << trailing;
    } else {
      br.pos += 1;
    }
    if (br.overrun()) [[unlikely]]
      return "XOR chunk truncated: fewer samples than its header count";
    sink(t, vbits);
    if (i + 1 == count) return nullptr;
  }
}

// The sample count from the header (0 for a buffer shorter than the header).
inline uint32_t xorHeaderCount(const uint8_t* chunk, size_t len) {
  return len < 2 ? 0 : (static_cast<uint32_t>(chunk[0]) << 8) | chunk[1];
}

// An upper bound on the samples a chunk of len bytes can really hold, whatever its header claims: the
// first sample takes 9 bytes, each later one at least 2 bits. Use it to size buffers for untrusted input.
inline uint32_t xorPlausibleCount(const uint8_t* chunk, size_t len) {
  const uint32_t header = xorHeaderCount(chunk, len);
  if (header == 0) return 0;
  if (len < 2 + 9) return 1;
  const size_t bound = 1 + ((len - 2 - 9) * 8 + 8) / 2;
  return bound < header ? static_cast<uint32_t>(bound) : header;
}

}  // namespace promshard
