// A plain TypeScript implementation of Prometheus' XOR chunk format (tsdb/chunkenc/xor.go), kept beside
// the addon as the reference its tests compare against and as the baseline of its benchmarks. The
// decoder is written for reasonable speed (32-bit windows, values as two uint32 halves); the encoder is
// written for obviousness (BigInt bits) and is not meant for hot paths.
import { FormatError } from './varint.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Decodes a chunk with mint <= t <= maxt into new typed arrays. Throws a FormatError on a malformed or
 * truncated chunk.
 */
export function xorDecodeReference(
  chunk: Uint8Array,
  mint = Number.NEGATIVE_INFINITY,
  maxt = Number.POSITIVE_INFINITY,
): { t: Float64Array; v: Float64Array } {
  if (chunk.length < 2) throw new FormatError('XOR chunk shorter than its 2-byte header');
  const count = (chunk[0] << 8) | chunk[1];
  const t = new Float64Array(count);
  const v = new Float64Array(count);
  const n = xorDecodeReferenceInto(chunk, mint, maxt, t, v);
  return { t: t.subarray(0, n), v: v.subarray(0, n) };
}

/** As xorDecodeReference, into caller-provided arrays of at least the header count; returns the count. */
export function xorDecodeReferenceInto(
  chunk: Uint8Array,
  mint: number,
  maxt: number,
  outT: Float64Array,
  outV: Float64Array,
): number {
  if (!LITTLE_ENDIAN) throw new Error('xorDecodeReference assumes a little-endian platform');
  if (chunk.length < 2) throw new FormatError('XOR chunk shorter than its 2-byte header');
  const count = (chunk[0] << 8) | chunk[1];
  if (count === 0) return 0;
  if (outT.length < count || outV.length < count)
    throw new RangeError('output arrays shorter than the chunk');
  const v32 = new Uint32Array(outV.buffer, outV.byteOffset, outV.length * 2);
  const data = chunk;
  const nbits = data.length * 8;
  let pos = 16; // bits, after the header

  // Reads n <= 32 bits MSB first as an unsigned number. Bytes past the end read as zero; the caller
  // checks pos against nbits once per sample.
  const read = (k: number): number => {
    let r = 0;
    while (k > 0) {
      const i = pos >>> 3;
      const off = pos & 7;
      const byte = i < data.length ? data[i] : 0;
      const avail = 8 - off;
      const take = Math.min(avail, k);
      r = r * (1 << take) + ((byte >>> (avail - take)) & ((1 << take) - 1));
      pos += take;
      k -= take;
    }
    return r;
  };

  // The first timestamp (varint) and the second delta (uvarint) are byte aligned.
  const uvarint = (): bigint => {
    let x = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      const p = pos >>> 3;
      if (p >= data.length) throw new FormatError('XOR chunk: truncated timestamp varint');
      const b = data[p];
      pos += 8;
      if (b < 0x80) {
        if (i === 9 && b > 1) throw new FormatError('XOR chunk: timestamp varint overflows 64 bits');
        return x | (BigInt(b) << shift);
      }
      x |= BigInt(b & 0x7f) << shift;
      shift += 7n;
    }
    throw new FormatError('XOR chunk: timestamp varint overflows 64 bits');
  };

  let out = 0;
  const zz = uvarint();
  let tBig = zz & 1n ? ~(zz >> 1n) : zz >> 1n;
  let ts = Number(tBig);
  if ((pos >>> 3) + 8 > data.length) throw new FormatError('XOR chunk truncated in the first value');
  let vhi = read(32) >>> 0;
  let vlo = read(32) >>> 0;
  if (ts >= mint && ts <= maxt) {
    outT[out] = ts;
    v32[2 * out] = vlo;
    v32[2 * out + 1] = vhi;
    out++;
  }
  if (count === 1) return out;

  // Timestamps are kept as numbers while they and their deltas stay within 2^53 (always, for real
  // data); past that the arithmetic switches to exact int64 BigInts, as the Go code wraps.
  let dBig = BigInt.asIntN(64, uvarint());
  tBig = BigInt.asIntN(64, tBig + dBig);
  let tDelta = Number(dBig);
  ts = Number(tBig);
  let big = !Number.isSafeInteger(tDelta) || !Number.isSafeInteger(ts);
  let leading = 0;
  let trailing = 0;
  for (let i = 1; i < count; i++) {
    if (i > 1) {
      let dod = 0;
      let dodBig = 0n;
      // The prefix: 0, 10, 110, 1110 or 1111 (at most 4 bits).
      let prefix = 0;
      while (prefix < 4 && read(1) === 1) prefix++;
      if (prefix > 0) {
        if (prefix === 1) {
          dod = read(14);
          if (dod > 1 << 13) dod -= 1 << 14;
        } else if (prefix === 2) {
          dod = read(17);
          if (dod > 1 << 16) dod -= 1 << 17;
        } else if (prefix === 3) {
          dod = read(20);
          if (dod > 1 << 19) dod -= 1 << 20;
        } else {
          const hi = read(32);
          const lo = read(32);
          dodBig = BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
          dod = Number(dodBig);
          if (!big && !Number.isSafeInteger(dod)) {
            big = true;
            dBig = BigInt(tDelta);
            tBig = BigInt(ts);
          }
        }
      }
      if (!big) {
        const nd = tDelta + dod;
        const nt = ts + nd;
        if (Number.isSafeInteger(nd) && Number.isSafeInteger(nt)) {
          tDelta = nd;
          ts = nt;
        } else {
          big = true;
          dBig = BigInt(tDelta);
          tBig = BigInt(ts);
          dodBig = BigInt(dod);
        }
      } else if (dodBig === 0n && dod !== 0) {
        dodBig = BigInt(dod);
      }
      if (big) {
        dBig = BigInt.asIntN(64, dBig + dodBig);
        tBig = BigInt.asIntN(64, tBig + dBig);
        ts = Number(tBig);
      }
    }
    if (read(1) === 1) {
      let mbits: number;
      if (read(1) === 0) {
        mbits = 64 - leading - trailing;
      } else {
        leading = read(5);
        mbits = read(6);
        if (mbits === 0) mbits = 64;
        if (leading + mbits > 64) throw new FormatError('XOR chunk: value window wider than 64 bits');
        trailing = 64 - leading - mbits;
      }
      let hi = 0;
      let lo: number;
      if (mbits > 32) {
        hi = read(mbits - 32);
        lo = read(32);
      } else {
        lo = read(mbits);
      }
      // Shift the significant bits left by `trailing` across the two halves.
      if (trailing >= 32) {
        hi = lo * 2 ** (trailing - 32);
        lo = 0;
      } else if (trailing > 0) {
        hi = hi * 2 ** trailing + Math.floor(lo / 2 ** (32 - trailing));
        lo = (lo * 2 ** trailing) % 2 ** 32;
      }
      vhi = (vhi ^ hi) >>> 0;
      vlo = (vlo ^ lo) >>> 0;
    }
    if (pos > nbits) throw new FormatError('XOR chunk truncated: fewer samples than its header count');
    if (ts >= mint && ts <= maxt) {
      outT[out] = ts;
      v32[2 * out] = vlo;
      v32[2 * out + 1] = vhi;
      out++;
    }
  }
  return out;
}

/**
 * Encodes samples as a Prometheus XOR chunk, bit by bit with BigInt: slow and obvious, for tests.
 * Timestamps must be integers (int64 milliseconds).
 */
export function xorEncodeReference(t: ArrayLike<number>, v: Float64Array): Uint8Array {
  if (t.length !== v.length) throw new RangeError('t and v lengths differ');
  if (t.length > 0xffff) throw new RangeError('a chunk holds at most 65535 samples');
  const bits: number[] = [];
  const put = (x: bigint, n: number) => {
    for (let i = n - 1; i >= 0; i--) bits.push(Number((x >> BigInt(i)) & 1n));
  };
  const putBytes = (bytes: number[]) => {
    for (const b of bytes) put(BigInt(b), 8);
  };
  const uvarintBytes = (x: bigint): number[] => {
    const out: number[] = [];
    x = BigInt.asUintN(64, x);
    while (x >= 0x80n) {
      out.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    out.push(Number(x));
    return out;
  };
  const dv = new DataView(new ArrayBuffer(8));
  const bitsOf = (x: number): bigint => {
    dv.setFloat64(0, x);
    return dv.getBigUint64(0);
  };
  const clz = (x: bigint): number => 64 - x.toString(2).length;
  const ctz = (x: bigint): number => {
    let n = 0;
    while ((x & 1n) === 0n) {
      x >>= 1n;
      n++;
    }
    return n;
  };
  const inRange = (x: bigint, n: number): boolean =>
    -((1n << BigInt(n - 1)) - 1n) <= x && x <= 1n << BigInt(n - 1);

  let prevT = 0n;
  let prevDelta = 0n;
  let prevV = 0n;
  let leading = 0xff;
  let trailing = 0;
  const writeValue = (vb: bigint) => {
    const delta = vb ^ prevV;
    if (delta === 0n) {
      put(0n, 1);
      return;
    }
    put(1n, 1);
    let l = clz(delta);
    const tr = ctz(delta);
    if (l >= 32) l = 31;
    if (leading !== 0xff && l >= leading && tr >= trailing) {
      put(0n, 1);
      put(delta >> BigInt(trailing), 64 - leading - trailing);
      return;
    }
    leading = l;
    trailing = tr;
    put(1n, 1);
    put(BigInt(l), 5);
    const sig = 64 - l - tr;
    put(BigInt(sig & 63), 6);
    put(delta >> BigInt(tr), sig);
  };
  for (let i = 0; i < t.length; i++) {
    if (!Number.isInteger(t[i])) throw new RangeError(`timestamp at index ${i} is not an integer`);
    const ti = BigInt(t[i]);
    const vb = bitsOf(v[i]);
    let delta = 0n;
    if (i === 0) {
      putBytes(uvarintBytes(ti >= 0n ? ti << 1n : ~(ti << 1n)));
      put(vb, 64);
    } else if (i === 1) {
      delta = BigInt.asUintN(64, ti - prevT);
      putBytes(uvarintBytes(delta));
      writeValue(vb);
    } else {
      delta = BigInt.asUintN(64, ti - prevT);
      const dod = BigInt.asIntN(64, delta - prevDelta);
      if (dod === 0n) put(0n, 1);
      else if (inRange(dod, 14)) {
        put(0b10n, 2);
        put(BigInt.asUintN(14, dod), 14);
      } else if (inRange(dod, 17)) {
        put(0b110n, 3);
        put(BigInt.asUintN(17, dod), 17);
      } else if (inRange(dod, 20)) {
        put(0b1110n, 4);
        put(BigInt.asUintN(20, dod), 20);
      } else {
        put(0b1111n, 4);
        put(BigInt.asUintN(64, dod), 64);
      }
      writeValue(vb);
    }
    prevT = ti;
    prevV = vb;
    prevDelta = delta;
  }
  const out = new Uint8Array(2 + Math.ceil(bits.length / 8));
  out[0] = t.length >> 8;
  out[1] = t.length & 0xff;
  for (let i = 0; i < bits.length; i++) if (bits[i]) out[2 + (i >> 3)] |= 0x80 >> (i & 7);
  return out;
}
