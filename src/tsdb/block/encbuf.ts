const TWO32 = 4294967296;
const utf8 = new TextEncoder();

/** A growable byte buffer for building index sections, tombstones and chunk records. */
export class Encbuf {
  buf: Uint8Array;
  len = 0;
  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
  }

  reset(): void {
    this.len = 0;
  }

  private grow(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const nb = new Uint8Array(Math.max(this.len + n, this.buf.length * 2));
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
  }

  get bytes(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  u8(v: number): void {
    this.grow(1);
    this.buf[this.len++] = v;
  }

  be32(v: number): void {
    this.grow(4);
    const b = this.buf;
    const p = this.len;
    b[p] = v >>> 24;
    b[p + 1] = v >>> 16;
    b[p + 2] = v >>> 8;
    b[p + 3] = v;
    this.len += 4;
  }

  /** Overwrites 4 bytes at `at` (a length field written before its section). */
  be32At(at: number, v: number): void {
    const b = this.buf;
    b[at] = v >>> 24;
    b[at + 1] = v >>> 16;
    b[at + 2] = v >>> 8;
    b[at + 3] = v;
  }

  be64(v: number): void {
    const hi = Math.floor(v / TWO32);
    this.be32(hi >>> 0);
    this.be32((v - hi * TWO32) >>> 0);
  }

  uvarint(x: number): void {
    this.grow(10);
    const b = this.buf;
    while (x >= 0x80) {
      b[this.len++] = (x % 128) | 0x80;
      x = Math.floor(x / 128);
    }
    b[this.len++] = x;
  }

  varint(x: number): void {
    this.uvarint(x >= 0 ? x * 2 : -x * 2 - 1);
  }

  put(bytes: Uint8Array): void {
    this.grow(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }

  uvarintBytes(bytes: Uint8Array): void {
    this.uvarint(bytes.length);
    this.put(bytes);
  }

  uvarintString(s: string): void {
    this.uvarintBytes(utf8.encode(s));
  }

  zeros(n: number): void {
    this.grow(n);
    this.buf.fill(0, this.len, this.len + n);
    this.len += n;
  }
}

export function uvarintSize(x: number): number {
  let n = 1;
  while (x >= 0x80) {
    x = Math.floor(x / 128);
    n++;
  }
  return n;
}
