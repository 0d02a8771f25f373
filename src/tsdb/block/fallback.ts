// TEMPORARY TypeScript stand-ins for addon functions that have not landed in src/native/binding.ts yet
// (see ./native-ops.ts, which prefers the addon). Correct but not fast; to be deleted once the addon
// exports crc32c, xorEncode/xorDecode/xorDecodeInto and the postings set operations.

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32C (Castagnoli) with Go's crc32.Update semantics. */
export function crc32c(buf: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

const TWO32 = 4294967296;
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer); // little-endian hosts: [lo, hi]

class BitReader {
  private pos: number; // bit position
  private readonly end: number; // in bits
  constructor(
    private readonly buf: Uint8Array,
    startByte: number,
  ) {
    this.pos = startByte * 8;
    this.end = buf.length * 8;
  }
  bit(): number {
    if (this.pos >= this.end) throw new RangeError('XOR chunk: bit stream ends early');
    const b = (this.buf[this.pos >>> 3] >>> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return b;
  }
  /** Up to 32 bits, most significant first, as an unsigned number. */
  bits(n: number): number {
    if (this.pos + n > this.end) throw new RangeError('XOR chunk: bit stream ends early');
    let v = 0;
    for (let i = 0; i < n; i++) {
      v = v * 2 + ((this.buf[this.pos >>> 3] >>> (7 - (this.pos & 7))) & 1);
      this.pos++;
    }
    return v;
  }
  uvarint(): number {
    let x = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.bits(8);
      x += (b & 0x7f) * mul;
      if (b < 0x80) return x;
      mul *= 128;
    }
    throw new RangeError('XOR chunk: varint overflow');
  }
  varint(): number {
    const u = this.uvarint();
    return u % 2 === 1 ? -(u + 1) / 2 : u / 2;
  }
}

/** Decodes a whole XOR chunk, calling `emit` with each sample (t, value bits lo/hi). */
function decodeAll(chunk: Uint8Array, emit: (t: number, lo: number, hi: number) => void): void {
  if (chunk.length < 2) throw new RangeError('XOR chunk: shorter than its 2-byte header');
  const n = (chunk[0] << 8) | chunk[1];
  if (n === 0) return;
  const r = new BitReader(chunk, 2);
  let t = r.varint();
  let hi = r.bits(32);
  let lo = r.bits(32);
  emit(t, lo, hi);
  if (n === 1) return;
  let delta = r.uvarint();
  let leading = 0;
  let trailing = 0;
  const readValue = () => {
    if (r.bit() === 0) return;
    if (r.bit() === 1) {
      leading = r.bits(5);
      let sig = r.bits(6);
      if (sig === 0) sig = 64;
      trailing = 64 - leading - sig;
      if (trailing < 0) throw new RangeError('XOR chunk: bad leading/significant bits');
    }
    const sig = 64 - leading - trailing;
    let xh = 0;
    let xl = 0;
    if (sig > 32) {
      xh = r.bits(sig - 32);
      xl = r.bits(32);
    } else {
      xl = r.bits(sig);
    }
    if (trailing >= 32) {
      xh = trailing >= 64 ? 0 : (xl << (trailing - 32)) >>> 0;
      xl = 0;
    } else if (trailing > 0) {
      xh = ((xh << trailing) | (xl >>> (32 - trailing))) >>> 0;
      xl = (xl << trailing) >>> 0;
    }
    hi = (hi ^ xh) >>> 0;
    lo = (lo ^ xl) >>> 0;
  };
  t += delta;
  readValue();
  emit(t, lo, hi);
  for (let i = 2; i < n; i++) {
    let dod = 0;
    if (r.bit() === 1) {
      let ones = 1;
      while (ones < 4 && r.bit() === 1) ones++;
      const sz = ones === 1 ? 14 : ones === 2 ? 17 : ones === 3 ? 20 : 64;
      if (sz === 64) {
        const h = r.bits(32);
        const l = r.bits(32);
        dod = (h | 0) * TWO32 + l;
      } else {
        dod = r.bits(sz);
        if (dod > 2 ** (sz - 1)) dod -= 2 ** sz;
      }
    }
    delta += dod;
    t += delta;
    readValue();
    emit(t, lo, hi);
  }
}

export function xorDecode(
  chunk: Uint8Array,
  mint = -Infinity,
  maxt = Infinity,
): { t: Float64Array; v: Float64Array } {
  const n = chunk.length >= 2 ? (chunk[0] << 8) | chunk[1] : 0;
  const t = new Float64Array(n);
  const v = new Float64Array(n);
  const k = xorDecodeInto(chunk, mint, maxt, t, v, 0);
  return { t: t.slice(0, k), v: v.slice(0, k) };
}

export function xorDecodeInto(
  chunk: Uint8Array,
  mint: number,
  maxt: number,
  outT: Float64Array,
  outV: Float64Array,
  at: number,
): number {
  let k = at;
  const vv = new Uint32Array(outV.buffer, outV.byteOffset, outV.length * 2);
  decodeAll(chunk, (t, lo, hi) => {
    if (t < mint || t > maxt) return;
    if (k >= outT.length || k >= outV.length) throw new RangeError('xorDecodeInto: output too small');
    outT[k] = t;
    vv[2 * k] = lo;
    vv[2 * k + 1] = hi;
    k++;
  });
  return k - at;
}

class BitWriter {
  buf = new Uint8Array(64);
  pos = 0; // bits
  private ensure(nbits: number): void {
    const need = (this.pos + nbits + 7) >>> 3;
    if (need > this.buf.length) {
      const nb = new Uint8Array(Math.max(need, this.buf.length * 2));
      nb.set(this.buf);
      this.buf = nb;
    }
  }
  bits(v: number, n: number): void {
    this.ensure(n);
    for (let i = n - 1; i >= 0; i--) {
      const b = Math.floor(v / 2 ** i) & 1;
      if (b) this.buf[this.pos >>> 3] |= 0x80 >>> (this.pos & 7);
      this.pos++;
    }
  }
  uvarint(x: number): void {
    while (x >= 0x80) {
      this.bits((x % 128) | 0x80, 8);
      x = Math.floor(x / 128);
    }
    this.bits(x, 8);
  }
}

function clz64(hi: number, lo: number): number {
  return hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
}
function ctz32(x: number): number {
  return x === 0 ? 32 : 31 - Math.clz32(x & -x);
}
function ctz64(hi: number, lo: number): number {
  return lo !== 0 ? ctz32(lo) : 32 + ctz32(hi);
}

function bitRange(x: number, n: number): boolean {
  return -(2 ** (n - 1) - 1) <= x && x <= 2 ** (n - 1);
}

/** Encodes samples [start, end) as one Prometheus XOR chunk (2-byte count, then the bit stream). */
export function xorEncode(t: Float64Array, v: Float64Array, start = 0, end = t.length): Uint8Array {
  const n = end - start;
  if (n < 0 || n > 0xffff) throw new RangeError('xorEncode: 0..65535 samples per chunk');
  const w = new BitWriter();
  w.bits(n, 16);
  if (n === 0) return w.buf.slice(0, 2);
  let leading = 0xff;
  let trailing = 0;
  let pt = 0;
  let pdelta = 0;
  let phi = 0;
  let plo = 0;
  for (let i = start; i < end; i++) {
    const ts = t[i];
    f64[0] = v[i];
    const lo = u32[0];
    const hi = u32[1];
    if (i === start) {
      w.uvarint(ts >= 0 ? ts * 2 : -ts * 2 - 1);
      w.bits(hi, 32);
      w.bits(lo, 32);
    } else {
      const delta = ts - pt;
      if (i === start + 1) {
        w.uvarint(delta);
      } else {
        const dod = delta - pdelta;
        if (dod === 0) w.bits(0, 1);
        else if (bitRange(dod, 14)) {
          w.bits(0b10, 2);
          w.bits(dod < 0 ? dod + 2 ** 14 : dod, 14);
        } else if (bitRange(dod, 17)) {
          w.bits(0b110, 3);
          w.bits(dod < 0 ? dod + 2 ** 17 : dod, 17);
        } else if (bitRange(dod, 20)) {
          w.bits(0b1110, 4);
          w.bits(dod < 0 ? dod + 2 ** 20 : dod, 20);
        } else {
          w.bits(0b1111, 4);
          const h = Math.floor(dod / TWO32);
          w.bits(h >>> 0, 32);
          w.bits(dod - h * TWO32, 32);
        }
      }
      // value
      const xh = (hi ^ phi) >>> 0;
      const xl = (lo ^ plo) >>> 0;
      if (xh === 0 && xl === 0) {
        w.bits(0, 1);
      } else {
        w.bits(1, 1);
        let nl = clz64(xh, xl);
        const nt = ctz64(xh, xl);
        if (nl >= 32) nl = 31;
        let l: number;
        let tr: number;
        if (leading !== 0xff && nl >= leading && nt >= trailing) {
          w.bits(0, 1);
          l = leading;
          tr = trailing;
        } else {
          leading = nl;
          trailing = nt;
          l = nl;
          tr = nt;
          w.bits(1, 1);
          w.bits(l, 5);
          const sig = 64 - l - tr;
          w.bits(sig === 64 ? 0 : sig, 6);
        }
        const sig = 64 - l - tr;
        // (xh:xl) >> tr, written as `sig` bits
        let sh: number;
        let sl: number;
        if (tr >= 32) {
          sh = 0;
          sl = xh >>> (tr - 32);
        } else if (tr > 0) {
          sh = xh >>> tr;
          sl = ((xl >>> tr) | (xh << (32 - tr))) >>> 0;
        } else {
          sh = xh;
          sl = xl;
        }
        if (sig > 32) {
          w.bits(sh, sig - 32);
          w.bits(sl, 32);
        } else {
          w.bits(sl, sig);
        }
      }
      pdelta = delta;
    }
    pt = ts;
    phi = hi;
    plo = lo;
  }
  return w.buf.slice(0, (w.pos + 7) >>> 3);
}

export function intersect(lists: Uint32Array[]): Uint32Array {
  if (lists.length === 0) return new Uint32Array(0);
  const sorted = [...lists].sort((a, b) => a.length - b.length);
  let acc = sorted[0];
  for (let k = 1; k < sorted.length && acc.length > 0; k++) {
    const b = sorted[k];
    const out = new Uint32Array(acc.length);
    let i = 0;
    let j = 0;
    let n = 0;
    while (i < acc.length && j < b.length) {
      if (acc[i] === b[j]) {
        out[n++] = acc[i];
        i++;
        j++;
      } else if (acc[i] < b[j]) i++;
      else j++;
    }
    acc = out.subarray(0, n);
  }
  return acc.slice();
}

function union2(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      out[n++] = a[i++];
      j++;
    } else if (a[i] < b[j]) out[n++] = a[i++];
    else out[n++] = b[j++];
  }
  while (i < a.length) out[n++] = a[i++];
  while (j < b.length) out[n++] = b[j++];
  return out.slice(0, n);
}

export function union(lists: Uint32Array[]): Uint32Array {
  if (lists.length === 0) return new Uint32Array(0);
  let level = lists;
  while (level.length > 1) {
    const next: Uint32Array[] = [];
    for (let i = 0; i < level.length; i += 2)
      next.push(i + 1 < level.length ? union2(level[i], level[i + 1]) : level[i]);
    level = next;
  }
  return level[0].slice();
}

export function difference(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(a.length);
  let j = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    while (j < b.length && b[j] < a[i]) j++;
    if (j < b.length && b[j] === a[i]) continue;
    out[n++] = a[i];
  }
  return out.slice(0, n);
}
