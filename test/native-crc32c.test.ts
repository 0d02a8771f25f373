// crc32c against a plain TypeScript table implementation, and the TypeScript varint reader.
import { describe, expect, it } from 'vitest';
import { crc32c } from '../src/native/binding.js';
import { ByteReader, FormatError, putUvarint, putUvarintBig, putVarint } from '../src/native/varint.js';
import { rng } from './native-helpers.js';

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

function crcModel(buf: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (const b of buf) c = (TABLE[(c ^ b) & 0xff] ^ (c >>> 8)) >>> 0;
  return ~c >>> 0;
}

describe('crc32c', () => {
  it('has the standard check value', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    expect(crc32c(new Uint8Array(0), 1234)).toBe(1234);
  });

  it('matches the table model at every length, alignment and continuation', () => {
    const r = rng(7);
    const buf = new Uint8Array(5000);
    for (let i = 0; i < buf.length; i++) buf[i] = Math.floor(r() * 256);
    for (let len = 0; len < 300; len++) {
      for (const off of [0, 1, 3, 7]) {
        const b = buf.subarray(off, off + len);
        expect(crc32c(b)).toBe(crcModel(b));
      }
    }
    for (let i = 0; i < 50; i++) {
      const len = Math.floor(r() * 5000);
      const cut = Math.floor(r() * len);
      const b = buf.subarray(0, len);
      const whole = crcModel(b);
      expect(crc32c(b)).toBe(whole);
      expect(crc32c(b.subarray(cut), crc32c(b.subarray(0, cut)))).toBe(whole);
    }
  });

  it('rejects bad arguments', () => {
    expect(() => crc32c([1, 2] as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => crc32c(new Uint16Array(2) as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => crc32c(new Uint8Array(2), -1)).toThrow(RangeError);
    expect(() => crc32c(new Uint8Array(2), 2 ** 32)).toThrow(RangeError);
    expect(() => crc32c(new Uint8Array(2), 1.5)).toThrow(RangeError);
  });
});

describe('ByteReader varints', () => {
  it('round-trips uvarints and varints, including 64-bit ones', () => {
    const r = rng(11);
    for (let i = 0; i < 2000; i++) {
      const u = Math.floor(r() * 2 ** (r() * 53));
      const s = (r() < 0.5 ? -1 : 1) * Math.floor(r() * 2 ** (r() * 53)) + 0;
      const big = BigInt.asUintN(
        64,
        (BigInt(Math.floor(r() * 2 ** 32)) << 32n) | BigInt(Math.floor(r() * 2 ** 32)),
      );
      const out: number[] = [];
      putUvarint(out, u);
      putVarint(out, s);
      putUvarintBig(out, big);
      const rd = new ByteReader(Uint8Array.from(out));
      expect(rd.uvarint()).toBe(u);
      expect(rd.varint()).toBe(s);
      expect(rd.uvarintBig()).toBe(big);
      expect(rd.remaining).toBe(0);
    }
  });

  it('throws a FormatError on truncated, overlong and oversized varints', () => {
    const cases: [string, number[], (r: ByteReader) => unknown][] = [
      ['empty', [], (r) => r.uvarint()],
      ['truncated', [0x80, 0x80], (r) => r.uvarint()],
      ['11 bytes', [...new Array(10).fill(0x80), 0], (r) => r.uvarintBig()],
      ['10th byte > 1', [...new Array(9).fill(0xff), 2], (r) => r.uvarintBig()],
      ['above 2^53 as number', [...new Array(8).fill(0xff), 0x7f], (r) => r.uvarint()],
      ['be32 truncated', [1, 2, 3], (r) => r.be32()],
      ['bytes past end', [1, 2, 3], (r) => r.bytes(4)],
    ];
    for (const [what, bytes, read] of cases) {
      expect(() => read(new ByteReader(Uint8Array.from(bytes))), what).toThrow(FormatError);
    }
    // Reads stop at `end`, not at the end of the buffer.
    const rd = new ByteReader(Uint8Array.of(1, 2, 3, 4), 0, 2);
    expect(rd.be16()).toBe(0x0102);
    expect(() => rd.u8()).toThrow(FormatError);
    expect(() => new ByteReader(new Uint8Array(2), 1, 3)).toThrow(RangeError);
  });
});
