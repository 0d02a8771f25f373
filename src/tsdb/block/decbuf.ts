import { DecodeError } from './errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: false });
const TWO32 = 4294967296;

/**
 * A bounds-checked cursor over bytes read from disk. Every read checks that it stays inside
 * [start, end) and throws a DecodeError otherwise, so a damaged file can never cause an out-of-range
 * read. Numbers are JS numbers: 64-bit fields above 2^53 are reported as corrupt, not rounded.
 */
export class Decbuf {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    readonly start = 0,
    readonly end = buf.length,
    readonly what = 'data',
  ) {
    if (start < 0 || end > buf.length || start > end) {
      throw new DecodeError(`${what}: range [${start}, ${end}) outside ${buf.length} bytes`);
    }
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) {
      throw new DecodeError(
        `${this.what}: need ${n} bytes at offset ${this.pos}, section ends at ${this.end}`,
      );
    }
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }

  be32(): number {
    this.need(4);
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
  }

  be64(): number {
    const hi = this.be32();
    const lo = this.be32();
    if (hi >= 0x200000)
      throw new DecodeError(`${this.what}: 64-bit value too large at offset ${this.pos - 8}`);
    return hi * TWO32 + lo;
  }

  uvarint(): number {
    let x = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new DecodeError(`${this.what}: truncated varint at offset ${this.pos}`);
      const b = this.buf[this.pos++];
      if (b < 0x80) {
        x += b * mul;
        if (x > Number.MAX_SAFE_INTEGER) throw new DecodeError(`${this.what}: varint too large`);
        return x;
      }
      x += (b & 0x7f) * mul;
      mul *= 128;
    }
    throw new DecodeError(`${this.what}: varint overflow at offset ${this.pos}`);
  }

  varint(): number {
    const u = this.uvarint();
    return u % 2 === 1 ? -(u + 1) / 2 : u / 2;
  }

  bytes(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  uvarintBytes(): Uint8Array {
    return this.bytes(this.uvarint());
  }

  uvarintString(): string {
    return utf8.decode(this.uvarintBytes());
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
}

export function be32At(buf: Uint8Array, p: number): number {
  return ((buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]) >>> 0;
}

export function decodeUtf8(b: Uint8Array): string {
  return utf8.decode(b);
}
