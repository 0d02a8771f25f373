// Bounds-checked readers for the byte formats Prometheus uses (Go's uvarint/varint, big-endian integers).
// Plain TypeScript: for one varint at a time a JS loop is cheaper than a call into the addon.

/** Thrown for bytes that do not hold what the reader was asked for (truncated or malformed input). */
export class FormatError extends Error {
  override name = 'FormatError';
}

/**
 * Reads a byte range front to back. Every read checks the remaining length and throws a FormatError
 * instead of reading past `end`.
 */
export class ByteReader {
  pos: number;
  readonly end: number;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    end = buf.length,
  ) {
    if (!(start >= 0 && start <= end && end <= buf.length)) {
      throw new RangeError(`ByteReader: range [${start}, ${end}) outside a buffer of ${buf.length} bytes`);
    }
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): void {
    if (this.end - this.pos < n) {
      throw new FormatError(
        `truncated ${what} at offset ${this.pos}: need ${n} bytes, have ${this.end - this.pos}`,
      );
    }
  }

  u8(): number {
    this.need(1, 'byte');
    return this.buf[this.pos++];
  }

  be16(): number {
    this.need(2, 'uint16');
    const b = this.buf;
    const p = this.pos;
    this.pos += 2;
    return (b[p] << 8) | b[p + 1];
  }

  be32(): number {
    this.need(4, 'uint32');
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
  }

  /** A big-endian uint64 as a number; throws when it exceeds 2^53 (not exactly representable). */
  be64(): number {
    const hi = this.be32();
    const lo = this.be32();
    if (hi > 0x1fffff) throw new FormatError(`uint64 at offset ${this.pos - 8} exceeds 2^53`);
    return hi * 0x100000000 + lo;
  }

  be64Big(): bigint {
    const hi = this.be32();
    const lo = this.be32();
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** Go's binary.Uvarint as a number; throws on truncation, overflow of 64 bits, or a value above 2^53. */
  uvarint(): number {
    const start = this.pos;
    let x = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new FormatError(`truncated uvarint at offset ${start}`);
      const b = this.buf[this.pos++];
      if (b < 0x80) {
        if (i === 9 && b > 1) throw new FormatError(`uvarint at offset ${start} overflows 64 bits`);
        x += b * mul;
        if (x > Number.MAX_SAFE_INTEGER) throw new FormatError(`uvarint at offset ${start} exceeds 2^53`);
        return x;
      }
      x += (b & 0x7f) * mul;
      mul *= 128;
    }
    throw new FormatError(`uvarint at offset ${start} overflows 64 bits`);
  }

  /** Go's binary.Uvarint as a bigint (all 64 bits). */
  uvarintBig(): bigint {
    const start = this.pos;
    let x = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new FormatError(`truncated uvarint at offset ${start}`);
      const b = this.buf[this.pos++];
      if (b < 0x80) {
        if (i === 9 && b > 1) throw new FormatError(`uvarint at offset ${start} overflows 64 bits`);
        return x | (BigInt(b) << shift);
      }
      x |= BigInt(b & 0x7f) << shift;
      shift += 7n;
    }
    throw new FormatError(`uvarint at offset ${start} overflows 64 bits`);
  }

  /** Go's binary.Varint (zig-zag) as a number; throws like uvarint() when |x| exceeds 2^53. */
  varint(): number {
    const start = this.pos;
    const u = this.uvarintBig();
    const x = u & 1n ? ~(u >> 1n) : u >> 1n;
    if (x > BigInt(Number.MAX_SAFE_INTEGER) || x < -BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new FormatError(`varint at offset ${start} exceeds 2^53 in magnitude`);
    }
    return Number(x);
  }

  varintBig(): bigint {
    const u = this.uvarintBig();
    return u & 1n ? ~(u >> 1n) : u >> 1n;
  }

  /** A view of the next n bytes (no copy). */
  bytes(n: number): Uint8Array {
    if (!(n >= 0)) throw new FormatError(`negative length ${n} at offset ${this.pos}`);
    this.need(n, `${n}-byte field`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  skip(n: number): void {
    this.need(n, `${n}-byte field`);
    this.pos += n;
  }
}

/** Appends Go's uvarint encoding of x (0 <= x <= 2^53) to out. */
export function putUvarint(out: number[], x: number): void {
  if (!(x >= 0 && x <= Number.MAX_SAFE_INTEGER) || !Number.isInteger(x)) {
    throw new RangeError(`putUvarint: ${x} is not an integer in [0, 2^53]`);
  }
  while (x >= 0x80) {
    out.push((x % 128) | 0x80);
    x = Math.floor(x / 128);
  }
  out.push(x);
}

/** Appends Go's varint (zig-zag) encoding of x (|x| <= 2^53) to out. */
export function putVarint(out: number[], x: number): void {
  if (!Number.isSafeInteger(x)) throw new RangeError(`putVarint: ${x} is not a safe integer`);
  if (Math.abs(x) < 2 ** 51) {
    putUvarint(out, x >= 0 ? x * 2 : -x * 2 - 1);
    return;
  }
  const b = BigInt(x);
  putUvarintBig(out, b >= 0n ? b << 1n : ~(b << 1n));
}

/** Appends Go's uvarint encoding of a 64-bit unsigned x to out. */
export function putUvarintBig(out: number[], x: bigint): void {
  x = BigInt.asUintN(64, x);
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
}
