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
#include <type_traits>
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

// Appends n samples with timestamps as doubles (int64 milliseconds, as they come from JavaScript). The
// chunk must have xorChunkLength(s) + 20 * n + kXorAppendSlack writable bytes, and s.count + n <=
// kXorMaxSamples. Returns n, or the index of the first timestamp that is not an integer within +-2^53;
// then nothing is appended (the state and the chunk's bytes up to its length are as before).
size_t xorAppendBatchMillis(XorState& s, uint8_t* chunk, const double* t, const double* v, size_t n);

// Appends one sample to a chunk kept in a vector (resized to the exact chunk length afterwards).
// Returns false, changing nothing, when the chunk already holds kXorMaxSamples samples.
bool xorAppend(XorState& s, std::vector<uint8_t>& buf, int64_t t, double v);

namespace xordetail {

// The decoder's helpers must inline into each instantiation of xorDecode: measured 30% slower when GCC
// declined to inline them into the addon's three decode loops.
#define PROMSHARD_ALWAYS_INLINE inline __attribute__((always_inline))

inline uint64_t loadBe64(const uint8_t* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  w = __builtin_bswap64(w);
#endif
  return w;
}

// A bit reader over [data, data+n) with a 64-bit register buffer: `buf` holds `cnt` valid bits,
// MSB-aligned, the rest zero. Refills load 8 bytes at once while they are inside the input and byte by
// byte (zeros past the end) near it, so reads never touch memory outside [data, data+n). Reading past
// the end yields zeros; the decoder checks overrun() once per sample (a sample reads at most 150 bits).
struct BitReader {
  const uint8_t* data;
  size_t n;
  size_t idx;  // next byte to load
  uint64_t buf;
  unsigned cnt;

  // Afterwards cnt >= 56.
  PROMSHARD_ALWAYS_INLINE void refill() {
    if (idx + 8 <= n) [[likely]] {
      buf |= loadBe64(data + idx) >> cnt;
      idx += (63 - cnt) >> 3;
      cnt |= 56;
    } else {
      while (cnt <= 56) {
        const uint64_t b = idx < n ? data[idx] : 0;
        buf |= b << (56 - cnt);
        idx++;
        cnt += 8;
      }
    }
  }
  PROMSHARD_ALWAYS_INLINE void skip(unsigned k) {  // k <= cnt, k < 64
    buf <<= k;
    cnt -= k;
  }
  PROMSHARD_ALWAYS_INLINE uint64_t take(unsigned k) {  // k in [1, 56], k <= cnt
    const uint64_t r = buf >> (64 - k);
    buf <<= k;
    cnt -= k;
    return r;
  }
  // Bits consumed so far, against the input's length in bits.
  PROMSHARD_ALWAYS_INLINE bool overrun() const { return idx * 8 - cnt > static_cast<uint64_t>(n) * 8; }
};

// Decodes one value (XOR against the previous): 0 = unchanged, 10 = XOR in the previous window,
// 11 = new window (5 bits leading zeros, 6 bits significant bits, 0 meaning 64). Needs br.cnt >= 32.
// Branchy on purpose: measured faster than a branch-free variant on counters and gauges.
PROMSHARD_ALWAYS_INLINE bool readValue(BitReader& br, uint64_t& vbits, unsigned& leading,
                                       unsigned& trailing) {
  if (!(br.buf >> 63)) {
    br.skip(1);
    return true;
  }
  unsigned mbits;
  if (!((br.buf >> 62) & 1)) {
    br.skip(2);
    mbits = 64 - leading - trailing;
  } else {
    const unsigned l = static_cast<unsigned>((br.buf >> 57) & 31);
    mbits = static_cast<unsigned>((br.buf >> 51) & 63);
    br.skip(13);
    if (mbits == 0) mbits = 64;
    if (l + mbits > 64) return false;
    leading = l;
    trailing = 64 - l - mbits;
  }
  if (mbits > br.cnt) br.refill();
  uint64_t payload;
  if (mbits <= 56) [[likely]] {
    payload = br.take(mbits);
  } else {
    const uint64_t hi = br.take(mbits - 32);
    br.refill();
    payload = (hi << 32) | br.take(32);
  }
  vbits ^= payload << trailing;
  return true;
}

}  // namespace xordetail

// Decodes a chunk, calling sink(int64_t t, uint64_t valueBits) for each sample in order. Returns nullptr
// on success or a static message describing why the chunk is malformed; samples already passed to the
// sink stay valid. Bytes after the last sample are ignored, as Prometheus does. A sink returning bool
// stops the decoding by returning false (e.g. past the end of a time window); the rest of the chunk is
// then not checked.
template <class Sink>
const char* xorDecode(const uint8_t* chunk, size_t len, Sink&& sink) {
  constexpr bool kCanStop = std::is_same_v<decltype(sink(int64_t{}, uint64_t{})), bool>;
  const auto emit = [&](int64_t ts, uint64_t vb) {
    if constexpr (kCanStop) {
      return sink(ts, vb);
    } else {
      sink(ts, vb);
      return true;
    }
  };
  using xordetail::BitReader;
  if (len < 2) return "XOR chunk shorter than its 2-byte header";
  const uint32_t count = (static_cast<uint32_t>(chunk[0]) << 8) | chunk[1];
  if (count == 0) return nullptr;
  const uint8_t* data = chunk + 2;
  const size_t n = len - 2;

  // The first sample and the second timestamp are byte aligned: varint t, 64-bit value, uvarint delta.
  size_t bytePos = 0;
  int64_t t;
  if (readVarint(data, n, &bytePos, &t) != VarintStatus::kOk) return "XOR chunk: bad first timestamp varint";
  if (n - bytePos < 8) return "XOR chunk truncated in the first value";
  uint64_t vbits = xordetail::loadBe64(data + bytePos);
  bytePos += 8;
  if (!emit(t, vbits) || count == 1) return nullptr;
  uint64_t tDelta;
  if (readUvarint(data, n, &bytePos, &tDelta) != VarintStatus::kOk) {
    return "XOR chunk: bad second timestamp delta uvarint";
  }
  t = static_cast<int64_t>(static_cast<uint64_t>(t) + tDelta);

  constexpr const char* kWide = "XOR chunk: value window wider than 64 bits";
  constexpr const char* kShort = "XOR chunk truncated: fewer samples than its header count";
  BitReader br{data, n, bytePos, 0, 0};
  unsigned leading = 0;
  unsigned trailing = 0;
  br.refill();
  if (!xordetail::readValue(br, vbits, leading, trailing)) return kWide;
  if (br.overrun()) return kShort;
  if (!emit(t, vbits)) return nullptr;

  for (uint32_t i = 2; i < count; i++) {
    if (br.cnt < 56) br.refill();
    // Delta of delta: 0, 10+14 bits, 110+17, 1110+20, 1111+64; signed, in [-(2^(n-1)-1), 2^(n-1)].
    if (!(br.buf >> 63)) [[likely]] {
      br.skip(1);
    } else {
      int64_t dod;
      if (!((br.buf >> 62) & 1)) {
        int64_t b = static_cast<int64_t>((br.buf >> (64 - 16)) & 0x3fff);
        if (b > (1 << 13)) b -= 1 << 14;
        dod = b;
        br.skip(16);
      } else if (!((br.buf >> 61) & 1)) {
        int64_t b = static_cast<int64_t>((br.buf >> (64 - 20)) & 0x1ffff);
        if (b > (1 << 16)) b -= 1 << 17;
        dod = b;
        br.skip(20);
      } else if (!((br.buf >> 60) & 1)) {
        int64_t b = static_cast<int64_t>((br.buf >> (64 - 24)) & 0xfffff);
        if (b > (1 << 19)) b -= 1 << 20;
        dod = b;
        br.skip(24);
      } else {
        br.skip(4);
        br.refill();
        const uint64_t hi = br.take(32);
        br.refill();
        dod = static_cast<int64_t>((hi << 32) | br.take(32));
        br.refill();
      }
      tDelta += static_cast<uint64_t>(dod);
    }
    t = static_cast<int64_t>(static_cast<uint64_t>(t) + tDelta);
    if (!xordetail::readValue(br, vbits, leading, trailing)) return kWide;
    if (br.overrun()) [[unlikely]]
      return kShort;
    if (!emit(t, vbits)) return nullptr;
  }
  return nullptr;
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
