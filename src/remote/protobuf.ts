// A minimal protobuf wire-format reader and writer over byte buffers, for the remote-write/read messages.
// Hand-written so decoding fills typed arrays directly (no message objects per sample).

export class ProtoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtoError';
  }
}

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

const TWO_63 = 2 ** 63;

/** Reads fields from buf[pos, end). Every length is checked against `end` before use. */
export class ProtoReader {
  pos: number;
  constructor(
    public buf: Uint8Array,
    start = 0,
    public end = buf.length,
  ) {
    this.pos = start;
  }

  /** Points the reader at buf[start, end) (one reader serves a whole decode). */
  reset(buf: Uint8Array, start: number, end: number): void {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** An unsigned varint as a number (exact below 2^53). */
  varint(): number {
    const buf = this.buf;
    let pos = this.pos;
    let b = 0;
    // Fast path for up to 4 bytes (28 bits) with bitwise ops.
    let result = 0;
    let shift = 0;
    for (; shift < 28; shift += 7) {
      if (pos >= this.end) throw new ProtoError('unexpected EOF');
      b = buf[pos++];
      result |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        return result >>> 0;
      }
    }
    let value = result >>> 0;
    let mul = 2 ** 28;
    for (let i = 4; i < 7; i++) {
      if (pos >= this.end) throw new ProtoError('unexpected EOF');
      b = buf[pos++];
      value += (b & 0x7f) * mul;
      if (b < 0x80) {
        this.pos = pos;
        return value;
      }
      mul *= 128;
    }
    // Beyond 49 bits a double would round: finish in BigInt (negative int64s take 10 bytes).
    let big = BigInt(value);
    let bigShift = 49n;
    for (let i = 7; i < 10; i++) {
      if (pos >= this.end) throw new ProtoError('unexpected EOF');
      b = buf[pos++];
      big |= BigInt(b & 0x7f) << bigShift;
      if (b < 0x80) {
        this.pos = pos;
        this.lastBig = big;
        return Number(big);
      }
      bigShift += 7n;
    }
    throw new ProtoError('integer overflow');
  }

  /** The exact value of the last varint longer than 7 bytes. */
  private lastBig = 0n;

  /** An int64 varint (two's complement) as a number; exact for |v| < 2^53. */
  int64(): number {
    const v = this.varint();
    return v >= TWO_63 ? Number(BigInt.asIntN(64, this.lastBig)) : v;
  }

  /** A field key: returns field number * 8 + wire type, or throws on a malformed key. */
  key(): number {
    const k = this.varint();
    if (k < 8) throw new ProtoError(`illegal tag ${k >>> 3} (wire type ${k & 7})`);
    return k;
  }

  /** The end offset of a length-delimited field starting at pos (after its length). */
  lenEnd(): number {
    const n = this.varint();
    const end = this.pos + n;
    if (end > this.end || end < this.pos) throw new ProtoError('unexpected EOF');
    return end;
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_I64:
        if (this.pos + 8 > this.end) throw new ProtoError('unexpected EOF');
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.pos = this.lenEnd();
        return;
      case WIRE_I32:
        if (this.pos + 4 > this.end) throw new ProtoError('unexpected EOF');
        this.pos += 4;
        return;
      default:
        throw new ProtoError(`illegal wireType ${wire}`);
    }
  }
}

/** Appends protobuf fields to a growing buffer. */
export class ProtoWriter {
  buf: Uint8Array;
  len = 0;
  private readonly f64 = new Float64Array(1);
  private readonly f64b = new Uint8Array(this.f64.buffer);

  constructor(initial = 1024) {
    this.buf = new Uint8Array(initial);
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }

  varint(v: number): void {
    this.ensure(10);
    if (v < 0) {
      // int64 two's complement: ten bytes, computed exactly in BigInt.
      let big = BigInt.asUintN(64, BigInt(Math.trunc(v)));
      while (big >= 0x80n) {
        this.buf[this.len++] = Number(big & 0x7fn) | 0x80;
        big >>= 7n;
      }
      this.buf[this.len++] = Number(big);
      return;
    }
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.len++] = v;
  }

  key(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  /** A double field (wire type 1), bits preserved (stale markers). */
  double(field: number, v: number): void {
    this.key(field, WIRE_I64);
    this.ensure(8);
    this.f64[0] = v;
    this.buf.set(this.f64b, this.len);
    this.len += 8;
  }

  /** Copies 8 value bytes straight from a Float64Array (keeps NaN payloads exactly). */
  doubleFrom(field: number, arr: Float64Array, i: number): void {
    this.key(field, WIRE_I64);
    this.ensure(8);
    this.buf.set(new Uint8Array(arr.buffer, arr.byteOffset + i * 8, 8), this.len);
    this.len += 8;
  }

  int64(field: number, v: number): void {
    this.key(field, WIRE_VARINT);
    this.varint(v);
  }

  bytes(field: number, b: Uint8Array): void {
    this.key(field, WIRE_LEN);
    this.varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  string(field: number, s: string): void {
    this.bytes(field, Buffer.from(s, 'utf8'));
  }

  /** Starts a length-delimited sub-message; returns a mark for `end`. Reserves 5 length bytes. */
  begin(field: number): number {
    this.key(field, WIRE_LEN);
    this.ensure(5);
    const mark = this.len;
    this.len += 5;
    return mark;
  }

  /** Finishes a sub-message: writes its length as a padded 5-byte varint (valid protobuf). */
  end(mark: number): void {
    let n = this.len - mark - 5;
    for (let i = 0; i < 4; i++) {
      this.buf[mark + i] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    this.buf[mark + 4] = n;
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}
