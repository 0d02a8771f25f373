// The XOR codec against a real Prometheus 2.42 block: every chunk of chunks/000001 is parsed, its CRC32C
// checked, its samples compared bit for bit with expected.json, and its samples re-encoded to the same bytes.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  crc32c,
  XorAppender,
  xorDecode,
  xorDecodeInto,
  xorDecodeMany,
  xorEncode,
  xorInfo,
} from '../src/native/binding.js';
import { ByteReader } from '../src/native/varint.js';
import { xorDecodeReference, xorEncodeReference } from '../src/native/xor-reference.js';
import { bitsOf, chunkFile, fixtureSkipReason, hexBits, readFixtureExpected } from './native-helpers.js';

interface FileChunk {
  offset: number;
  encoding: number;
  data: Uint8Array;
  crc: number;
  crcInput: Uint8Array;
}

function readSegment(path: string): FileChunk[] {
  const buf = new Uint8Array(readFileSync(path));
  const r = new ByteReader(buf);
  expect(r.be32()).toBe(0x85bd40dd);
  expect(r.u8()).toBe(1);
  r.skip(3);
  const chunks: FileChunk[] = [];
  while (r.remaining > 0) {
    const offset = r.pos;
    const len = r.uvarint();
    const encStart = r.pos;
    const encoding = r.u8();
    const data = r.bytes(len);
    const crcInput = buf.subarray(encStart, r.pos);
    const crc = r.be32();
    chunks.push({ offset, encoding, data, crc, crcInput });
  }
  return chunks;
}

const skip = fixtureSkipReason();
if (skip) console.log(skip);

describe.skipIf(skip !== null)('Prometheus 2.42 block chunks', () => {
  const chunks = skip ? [] : readSegment(chunkFile);
  const expected = skip ? [] : readFixtureExpected();
  const allT = expected.flatMap((s) => s.t);
  const allBits = expected.flatMap((s) => s.bits);

  it('has 28 XOR chunks with valid CRC32C', () => {
    expect(chunks.length).toBe(28);
    for (const c of chunks) {
      expect(c.encoding).toBe(1);
      expect(crc32c(c.crcInput)).toBe(c.crc);
      // Continuing a CRC over two pieces gives the same value.
      expect(crc32c(c.crcInput.subarray(1), crc32c(c.crcInput.subarray(0, 1)))).toBe(c.crc);
    }
  });

  it('decodes every chunk bit for bit as expected.json, in file order', () => {
    let i = 0;
    for (const c of chunks) {
      const d = xorDecode(c.data);
      const want = allBits.slice(i, i + d.t.length).map((b) => b.toString(16).padStart(16, '0'));
      expect(Array.from(d.t)).toEqual(allT.slice(i, i + d.t.length));
      expect(hexBits(d.v)).toEqual(want);
      i += d.t.length;
    }
    expect(i).toBe(2700);
    // The stale marker and Prometheus' NaN keep their payloads.
    expect(allBits).toContain(0x7ff0000000000002n);
    expect(allBits).toContain(0x7ff8000000000001n);
  });

  it('reports the chunk sizes promtool sees and the same samples as the TS reference', () => {
    const counts = chunks.map((c) => xorInfo(c.data).count);
    expect(counts.slice(0, 7)).toEqual([120, 120, 60, 113, 42, 121, 24]);
    for (const c of chunks) {
      const info = xorInfo(c.data);
      const d = xorDecode(c.data);
      expect(info.mint).toBe(d.t[0]);
      expect(info.maxt).toBe(d.t[d.t.length - 1]);
      const r = xorDecodeReference(c.data);
      expect(Array.from(r.t)).toEqual(Array.from(d.t));
      expect(hexBits(r.v)).toEqual(hexBits(d.v));
    }
  });

  it('re-encodes each chunk to byte-identical data (xorEncode, XorAppender in batches, TS reference)', () => {
    for (const c of chunks) {
      const d = xorDecode(c.data);
      expect(Buffer.from(xorEncode(d.t, d.v)).equals(Buffer.from(c.data))).toBe(true);
      expect(Buffer.from(xorEncodeReference(d.t, d.v)).equals(Buffer.from(c.data))).toBe(true);
      const app = new XorAppender();
      for (let s = 0; s < d.t.length; s += 7) app.append(d.t, d.v, s, Math.min(d.t.length, s + 7));
      expect(app.count).toBe(d.t.length);
      expect(app.mint).toBe(d.t[0]);
      expect(app.maxt).toBe(d.t[d.t.length - 1]);
      expect(Buffer.from(app.bytes()).equals(Buffer.from(c.data))).toBe(true);
    }
  });

  it('decodes a time window, into caller arrays and many chunks per call', () => {
    const mint = 1699999200000 + 600_000;
    const maxt = 1699999200000 + 1_800_000;
    const wantT = allT.filter((t) => t >= mint && t <= maxt);
    const gotT: number[] = [];
    for (const c of chunks) gotT.push(...xorDecode(c.data, mint, maxt).t);
    expect(gotT).toEqual(wantT);

    // One buffer holding all chunks back to back, decoded in one call.
    const total = chunks.reduce((n, c) => n + c.data.length, 0);
    const data = new Uint8Array(total + 5);
    const ranges = new Uint32Array(chunks.length * 2);
    let off = 5;
    chunks.forEach((c, k) => {
      data.set(c.data, off);
      ranges[2 * k] = off;
      ranges[2 * k + 1] = off + c.data.length;
      off += c.data.length;
    });
    const outT = new Float64Array(3000);
    const outV = new Float64Array(3000);
    const counts = new Uint32Array(chunks.length);
    const n = xorDecodeMany(data, ranges, -Infinity, Infinity, outT, outV, 3, counts);
    expect(n).toBe(2700);
    expect(Array.from(outT.subarray(3, 3 + n))).toEqual(allT);
    expect(Array.from(outV.subarray(3, 3 + n), (x) => bitsOf(x))).toEqual(allBits);
    expect(Array.from(counts)).toEqual(chunks.map((c) => xorInfo(c.data).count));

    const w = xorDecodeMany(data, ranges, mint, maxt, outT, outV, 0);
    expect(Array.from(outT.subarray(0, w))).toEqual(wantT);

    // xorDecodeInto appends at an offset and refuses to overflow.
    const first = chunks[0];
    const k = xorDecodeInto(first.data, -Infinity, Infinity, outT, outV, 10);
    expect(k).toBe(120);
    expect(Array.from(outT.subarray(10, 130))).toEqual(allT.slice(0, 120));
    expect(() =>
      xorDecodeInto(first.data, -Infinity, Infinity, new Float64Array(119), new Float64Array(119), 0),
    ).toThrow(RangeError);
    expect(() => xorDecodeInto(first.data, -Infinity, Infinity, outT, outV, 2950)).toThrow(RangeError);
  });
});
