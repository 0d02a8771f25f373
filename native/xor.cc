#include "xor.h"

#include <bit>

namespace promshard {
namespace {

inline void storeBe64(uint8_t* p, uint64_t w) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  w = __builtin_bswap64(w);
#endif
  std::memcpy(p, &w, 8);
}

// Writes the low n bits of value (n in [1, 57], value < 2^n) at bit position *bitLen of stream. The bits
// after them within the stored word are written as zero.
inline void writeBits(uint8_t* stream, uint32_t* bitLen, uint64_t value, unsigned n) {
  const size_t i = *bitLen >> 3;
  const unsigned off = *bitLen & 7;
  uint64_t w = off == 0 ? 0 : (static_cast<uint64_t>(stream[i]) << 56) & ~(~uint64_t{0} >> off);
  w |= value << (64 - off - n);
  storeBe64(stream + i, w);
  *bitLen += n;
}

// n in [1, 64]; value < 2^n.
inline void writeWide(uint8_t* stream, uint32_t* bitLen, uint64_t value, unsigned n) {
  if (n <= 56) {
    writeBits(stream, bitLen, value, n);
    return;
  }
  writeBits(stream, bitLen, value >> 32, n - 32);
  writeBits(stream, bitLen, value & 0xffffffffu, 32);
}

inline bool bitRange(int64_t x, unsigned nbits) {
  return -((int64_t{1} << (nbits - 1)) - 1) <= x && x <= (int64_t{1} << (nbits - 1));
}

inline void writeValue(XorState& s, uint8_t* stream, uint64_t vbits) {
  const uint64_t delta = vbits ^ s.vbits;
  if (delta == 0) {
    writeBits(stream, &s.bitLen, 0, 1);
    return;
  }
  unsigned leading = static_cast<unsigned>(std::countl_zero(delta));
  const unsigned trailing = static_cast<unsigned>(std::countr_zero(delta));
  if (leading >= 32) leading = 31;  // the window's leading count has 5 bits
  if (s.leading != 0xff && leading >= s.leading && trailing >= s.trailing) {
    writeBits(stream, &s.bitLen, 0b10, 2);
    writeWide(stream, &s.bitLen, delta >> s.trailing, 64 - s.leading - s.trailing);
    return;
  }
  s.leading = static_cast<uint8_t>(leading);
  s.trailing = static_cast<uint8_t>(trailing);
  const unsigned sigbits = 64 - leading - trailing;
  // 0b11, 5 bits leading, 6 bits significant bits (64 written as 0): 13 bits in one go.
  writeBits(stream, &s.bitLen, (uint64_t{0b11} << 11) | (uint64_t{leading} << 6) | (sigbits & 63), 13);
  writeWide(stream, &s.bitLen, delta >> trailing, sigbits);
}

}  // namespace

void xorInit(XorState& s, std::vector<uint8_t>& buf) {
  xorInitState(s);
  buf.assign(2, 0);
}

void xorAppendRaw(XorState& s, uint8_t* chunk, int64_t t, double v) {
  uint8_t* stream = chunk + 2;
  uint64_t vbits;
  std::memcpy(&vbits, &v, 8);
  uint64_t tDelta = 0;
  if (s.count == 0) {
    uint8_t tmp[kMaxVarintLen64];
    const size_t k = putVarint(tmp, t);
    for (size_t j = 0; j < k; j++) writeBits(stream, &s.bitLen, tmp[j], 8);
    writeWide(stream, &s.bitLen, vbits, 64);
  } else if (s.count == 1) {
    tDelta = static_cast<uint64_t>(t) - static_cast<uint64_t>(s.t);
    uint8_t tmp[kMaxVarintLen64];
    const size_t k = putUvarint(tmp, tDelta);
    for (size_t j = 0; j < k; j++) writeBits(stream, &s.bitLen, tmp[j], 8);
    writeValue(s, stream, vbits);
  } else {
    tDelta = static_cast<uint64_t>(t) - static_cast<uint64_t>(s.t);
    const int64_t dod = static_cast<int64_t>(tDelta - s.tDelta);
    const uint64_t ud = static_cast<uint64_t>(dod);
    if (dod == 0) {
      writeBits(stream, &s.bitLen, 0, 1);
    } else if (bitRange(dod, 14)) {
      writeBits(stream, &s.bitLen, (uint64_t{0b10} << 14) | (ud & 0x3fff), 16);
    } else if (bitRange(dod, 17)) {
      writeBits(stream, &s.bitLen, (uint64_t{0b110} << 17) | (ud & 0x1ffff), 20);
    } else if (bitRange(dod, 20)) {
      writeBits(stream, &s.bitLen, (uint64_t{0b1110} << 20) | (ud & 0xfffff), 24);
    } else {
      writeBits(stream, &s.bitLen, 0b1111, 4);
      writeWide(stream, &s.bitLen, ud, 64);
    }
    writeValue(s, stream, vbits);
  }
  s.t = t;
  s.vbits = vbits;
  s.tDelta = tDelta;
  s.count++;
  chunk[0] = static_cast<uint8_t>(s.count >> 8);
  chunk[1] = static_cast<uint8_t>(s.count);
}

bool xorAppend(XorState& s, std::vector<uint8_t>& buf, int64_t t, double v) {
  if (s.count >= kXorMaxSamples) return false;
  const size_t used = xorChunkLength(s);
  buf.resize(used + kXorAppendSlack);
  xorAppendRaw(s, buf.data(), t, v);
  buf.resize(xorChunkLength(s));
  return true;
}

}  // namespace promshard
