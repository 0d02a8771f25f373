// Property tests of the addon's XOR codec against the plain TypeScript reference, on seeded random data,
// and hostile input: truncated, mutated, garbage and crafted chunks must throw a JS error, never crash.
import { describe, expect, it } from 'vitest';
import {
  XorAppender,
  xorDecode,
  xorDecodeMany,
  xorEncode,
  xorEncodeMany,
  xorInfo,
} from '../src/native/binding.js';
import { xorDecodeReference, xorEncodeReference } from '../src/native/xor-reference.js';
import { bitsOf, fromBits, hexBits, rng, STALE_BITS } from './native-helpers.js';

type Rand = () => number;

function randBits(r: Rand): bigint {
  return (BigInt(Math.floor(r() * 2 ** 32)) << 32n) | BigInt(Math.floor(r() * 2 ** 32));
}

const EXTREMES = [
  0,
  -0,
  1,
  -1,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MIN_VALUE,
  -Number.MIN_VALUE,
  2.2250738585072014e-308,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  Number.NaN,
  fromBits(STALE_BITS),
  fromBits(0x7ff8000000000001n),
  fromBits(0xfff0000000000001n),
  2 ** 53,
  -(2 ** 53),
  Math.PI,
  1e-300,
  1e300,
];

/** Values in one of several shapes, switching shape in runs. */
function values(r: Rand, n: number): Float64Array {
  const v = new Float64Array(n);
  let shape = 0;
  let cur = 0;
  for (let i = 0; i < n; i++) {
    if (i === 0 || r() < 0.05) {
      shape = Math.floor(r() * 6);
      cur = r() < 0.5 ? Math.floor(r() * 1000) : r() * 1e6 - 5e5;
    }
    switch (shape) {
      case 0: // constant run
        break;
      case 1: // integer counter with resets
        cur = r() < 0.02 ? 0 : cur + Math.floor(r() * 20);
        break;
      case 2: // float counter
        cur += r() * 3.7;
        break;
      case 3: // noisy gauge
        cur = 21.5 + (r() - 0.5) * 0.01;
        break;
      case 4: // extremes and special values
        cur = EXTREMES[Math.floor(r() * EXTREMES.length)];
        break;
      default: // arbitrary bit patterns, NaN payloads included
        cur = fromBits(randBits(r));
    }
    v[i] = cur;
  }
  return v;
}

/** Timestamps exercising every delta-of-delta class, sometimes non-monotonic, sometimes near +-2^53. */
function timestamps(r: Rand, n: number): Float64Array {
  const t = new Float64Array(n);
  const mode = r();
  let cur =
    mode < 0.05 ? 2 ** 53 - 1e9 : mode < 0.1 ? -(2 ** 53) + 1 : 1_700_000_000_000 + Math.floor(r() * 1e6);
  const step = [1, 15_000, 60_000, 1000][Math.floor(r() * 4)];
  for (let i = 0; i < n; i++) {
    t[i] = cur;
    const k = r();
    let d = step;
    if (k < 0.5) d = step;
    else if (k < 0.7) d = step + Math.floor((r() - 0.5) * 10);
    else if (k < 0.8) d = step + Math.floor((r() - 0.5) * 16000);
    else if (k < 0.85) d = step + Math.floor((r() - 0.5) * 260_000);
    else if (k < 0.9) d = step + Math.floor((r() - 0.5) * 2_000_000);
    else if (k < 0.95) d = Math.floor(r() * 1e10);
    else if (k < 0.97)
      d = -Math.floor(r() * 1e6); // out of order: the codec does not forbid it
    else d = 0;
    cur = Math.max(-(2 ** 53), Math.min(2 ** 53, cur + d));
  }
  return t;
}

describe('XOR codec vs the TypeScript reference', () => {
  it('round-trips random series bit for bit and encodes the same bytes', () => {
    for (let seed = 1; seed <= 400; seed++) {
      const r = rng(seed);
      const n = seed % 10 === 0 ? Math.floor(r() * 3) : 1 + Math.floor(r() * 300);
      const t = timestamps(r, n);
      const v = values(r, n);
      const chunk = xorEncode(t, v);
      const ref = xorEncodeReference(t, v);
      expect(Buffer.from(chunk).equals(Buffer.from(ref)), `seed ${seed}`).toBe(true);
      const d = xorDecode(chunk);
      expect(Array.from(d.t), `seed ${seed}`).toEqual(Array.from(t));
      expect(hexBits(d.v), `seed ${seed}`).toEqual(hexBits(v));
      const rd = xorDecodeReference(chunk);
      expect(Array.from(rd.t)).toEqual(Array.from(t));
      expect(hexBits(rd.v)).toEqual(hexBits(v));
      const info = xorInfo(chunk);
      expect(info.count).toBe(n);
      if (n > 0) {
        expect(info.mint).toBe(t[0]);
        expect(info.maxt).toBe(t[n - 1]);
      } else {
        expect(info.mint).toBeNaN();
      }
    }
  });

  it('filters by [mint, maxt] exactly like a filter over all samples', () => {
    for (let seed = 1000; seed < 1200; seed++) {
      const r = rng(seed);
      const n = 1 + Math.floor(r() * 200);
      const t = timestamps(r, n);
      const v = values(r, n);
      const chunk = xorEncode(t, v);
      const a = t[Math.floor(r() * n)];
      const b = t[Math.floor(r() * n)];
      const mint = Math.min(a, b) + (r() < 0.3 ? 1 : 0);
      const maxt = Math.max(a, b);
      const keep = Array.from(t.keys()).filter((i) => t[i] >= mint && t[i] <= maxt);
      const d = xorDecode(chunk, mint, maxt);
      expect(Array.from(d.t)).toEqual(keep.map((i) => t[i]));
      expect(hexBits(d.v)).toEqual(hexBits(Float64Array.from(keep, (i) => v[i])));
      const rd = xorDecodeReference(chunk, mint, maxt);
      expect(Array.from(rd.t)).toEqual(keep.map((i) => t[i]));
    }
  });

  it('builds the same chunk from batches of any size, and appends all-or-nothing', () => {
    for (let seed = 2000; seed < 2100; seed++) {
      const r = rng(seed);
      const n = Math.floor(r() * 500);
      const t = timestamps(r, n);
      const v = values(r, n);
      const app = new XorAppender();
      let at = 0;
      while (at < n) {
        const end = Math.min(n, at + Math.floor(r() * 40));
        expect(app.append(t, v, at, end)).toBe(end);
        at = end;
      }
      expect(Buffer.from(app.bytes()).equals(Buffer.from(xorEncode(t, v)))).toBe(true);
      const bad = Float64Array.from(t);
      if (n > 2) {
        bad[n - 1] = 0.5;
        const before = app.count;
        app.reset();
        app.append(t, v, 0, 1);
        expect(() => app.append(bad, v, 1, n)).toThrow(RangeError);
        expect(app.count).toBe(1);
        expect(before).toBe(n);
        // A failed append leaves the chunk's bytes exactly as they were: carrying on gives the same chunk.
        expect(Buffer.from(app.bytes()).equals(Buffer.from(xorEncode(t, v, 0, 1)))).toBe(true);
        app.append(t, v, 1, 2);
        expect(() => app.append(bad, v, 2, n)).toThrow(/index/);
        expect(Buffer.from(app.bytes()).equals(Buffer.from(xorEncode(t, v, 0, 2)))).toBe(true);
        app.append(t, v, 2, n);
        expect(Buffer.from(app.bytes()).equals(Buffer.from(xorEncode(t, v)))).toBe(true);
      }
    }
  });

  it('encodes many chunks per call exactly like one call per chunk', () => {
    const r = rng(77);
    const n = 3000;
    const t = timestamps(r, n);
    const v = values(r, n);
    const cuts = [0];
    while (cuts[cuts.length - 1] < n) cuts.push(Math.min(n, cuts[cuts.length - 1] + Math.floor(r() * 200)));
    cuts.splice(3, 0, cuts[2]); // an empty chunk in the middle
    const { data, offsets } = xorEncodeMany(t, v, Uint32Array.from(cuts));
    expect(offsets.length).toBe(cuts.length);
    for (let c = 0; c + 1 < cuts.length; c++) {
      const want = xorEncode(t, v, cuts[c], cuts[c + 1]);
      expect(
        Buffer.from(data.subarray(offsets[c], offsets[c + 1])).equals(Buffer.from(want)),
        `chunk ${c}`,
      ).toBe(true);
    }
    expect(() => xorEncodeMany(t, v, Uint32Array.of(5, 2))).toThrow(RangeError);
    expect(() => xorEncodeMany(t, v, Uint32Array.of(0, n + 1))).toThrow(RangeError);
    expect(() => xorEncodeMany(t, v, new Uint32Array(0))).toThrow(RangeError);
    const bad = Float64Array.from(t);
    bad[10] = 1.5;
    expect(() => xorEncodeMany(bad, v, Uint32Array.of(0, 5, 20))).toThrow(RangeError);
  });

  it('keeps -0, NaN payloads and the stale marker', () => {
    const v = Float64Array.of(-0, 0, fromBits(STALE_BITS), Number.NaN, fromBits(0x7ff0000000000001n), -0);
    const t = Float64Array.of(0, 1, 2, 3, 4, 5);
    const d = xorDecode(xorEncode(t, v));
    expect(hexBits(d.v)).toEqual(hexBits(v));
    expect(bitsOf(d.v[2])).toBe(STALE_BITS);
  });

  it('holds at most 65535 samples per chunk', () => {
    const n = 65535;
    const t = Float64Array.from({ length: n + 1 }, (_, i) => i * 1000);
    const v = new Float64Array(n + 1).fill(1);
    const chunk = xorEncode(t, v, 0, n);
    expect(xorInfo(chunk).count).toBe(n);
    expect(xorDecode(chunk).t.length).toBe(n);
    expect(() => xorEncode(t, v)).toThrow(RangeError);
    const app = new XorAppender();
    app.append(t, v, 0, n);
    expect(() => app.append(t, v, n, n + 1)).toThrow(RangeError);
    expect(app.count).toBe(n);
  });

  it('rejects bad arguments with TypeError/RangeError', () => {
    const t = Float64Array.of(1, 2);
    const v = Float64Array.of(1, 2);
    expect(() => xorEncode(new Float32Array(2) as unknown as Float64Array, v)).toThrow(TypeError);
    expect(() => xorEncode(t, Float64Array.of(1))).toThrow(RangeError);
    expect(() => xorEncode(t, v, 2, 1)).toThrow(RangeError);
    expect(() => xorEncode(t, v, 0, 3)).toThrow(RangeError);
    expect(() => xorEncode(t, v, -1)).toThrow(RangeError);
    expect(() => xorEncode(t, v, 0.5)).toThrow(RangeError);
    for (const bad of [Number.NaN, 1.5, 2 ** 60, Number.POSITIVE_INFINITY]) {
      expect(() => xorEncode(Float64Array.of(1, bad), v)).toThrow(RangeError);
    }
    expect(() => xorDecode('abc' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => xorDecode(new Uint8Array(4), 'x' as unknown as number)).toThrow(TypeError);
    expect(() => xorDecodeMany(new Uint8Array(4), new Uint32Array([0, 5]), 0, 1, t, v, 0)).toThrow(
      RangeError,
    );
    expect(() => xorDecodeMany(new Uint8Array(4), new Uint32Array([3, 2]), 0, 1, t, v, 0)).toThrow(
      RangeError,
    );
    expect(() => xorDecodeMany(new Uint8Array(4), new Uint32Array([0]), 0, 1, t, v, 0)).toThrow(RangeError);
  });
});

/** Native and reference must agree on every input: both throw, or both give the same samples. */
function agree(chunk: Uint8Array, label: string): 'ok' | 'error' {
  let native: { t: Float64Array; v: Float64Array } | Error;
  let ref: { t: Float64Array; v: Float64Array } | Error;
  try {
    native = xorDecode(chunk);
  } catch (e) {
    native = e as Error;
  }
  try {
    ref = xorDecodeReference(chunk);
  } catch (e) {
    ref = e as Error;
  }
  if (native instanceof Error || ref instanceof Error) {
    expect(native instanceof Error, `${label}: native ${String(native)} vs ref ${String(ref)}`).toBe(true);
    expect(ref instanceof Error, `${label}: native threw ${String(native)}, ref did not`).toBe(true);
    expect((native as Error).message).toMatch(/^xorDecode: XOR chunk/);
    expect(() => xorInfo(chunk)).toThrow(/^xorInfo: XOR chunk/);
    return 'error';
  }
  expect(native.t.length, label).toBe(ref.t.length);
  expect(hexBits(native.v), label).toEqual(hexBits(ref.v));
  // Both compute int64 timestamps exactly (wrapping like Go) and round to the nearest double once.
  expect(Array.from(native.t), label).toEqual(Array.from(ref.t));
  expect(xorInfo(chunk).count).toBe(native.t.length);
  return 'ok';
}

describe('hostile XOR chunks', () => {
  it('throws on every truncation of valid chunks', () => {
    for (let seed = 1; seed <= 25; seed++) {
      const r = rng(seed);
      const n = 1 + Math.floor(r() * 150);
      const chunk = xorEncode(timestamps(r, n), values(r, n));
      for (let len = 0; len < chunk.length; len++) {
        expect(agree(chunk.subarray(0, len), `seed ${seed} len ${len}`)).toBe('error');
      }
    }
  });

  it('agrees with the reference on mutated chunks', () => {
    let errors = 0;
    let total = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const r = rng(seed);
      const n = 1 + Math.floor(r() * 150);
      const chunk = Uint8Array.from(xorEncode(timestamps(r, n), values(r, n)));
      for (let m = 0; m < 20; m++) {
        const c = Uint8Array.from(chunk);
        const flips = 1 + Math.floor(r() * 4);
        for (let f = 0; f < flips; f++) {
          const bit = Math.floor(r() * c.length * 8);
          c[bit >> 3] ^= 0x80 >> (bit & 7);
        }
        total++;
        if (agree(c, `seed ${seed} mutation ${m}`) === 'error') errors++;
      }
    }
    // Both outcomes must actually occur, or the test is not exercising the error paths.
    expect(errors).toBeGreaterThan(100);
    expect(total - errors).toBeGreaterThan(100);
  });

  it('agrees with the reference on random garbage', () => {
    for (let seed = 1; seed <= 3000; seed++) {
      const r = rng(seed);
      const c = new Uint8Array(Math.floor(r() * 64));
      for (let i = 0; i < c.length; i++) c[i] = Math.floor(r() * 256);
      agree(c, `garbage seed ${seed}`);
    }
  });

  it('throws on crafted chunks', () => {
    const crafted: [string, number[]][] = [
      ['empty buffer', []],
      ['1-byte buffer', [0]],
      ['count 65535, nothing else', [0xff, 0xff]],
      ['count 65535, one sample', [0xff, 0xff, 0, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0]],
      ['first varint of 11 bytes', [0, 1, ...new Array(11).fill(0x80), 0]],
      ['first varint 10th byte > 1', [0, 1, ...new Array(9).fill(0xff), 2, 0, 0, 0, 0, 0, 0, 0, 0]],
      ['first value truncated', [0, 1, 2, 0x3f, 0xf0, 0, 0]],
      ['second delta truncated', [0, 2, 2, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x80]],
      // Second sample: delta 1, value control 11, leading 31, sigbits 63 -> 94 > 64.
      [
        'value window wider than 64 bits',
        [0, 2, 2, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff],
      ],
    ];
    for (const [what, bytes] of crafted) {
      const c = Uint8Array.from(bytes);
      expect(() => xorDecode(c), what).toThrow(/XOR chunk/);
      expect(() => xorDecodeReference(c), what).toThrow(/XOR chunk/);
      expect(() => xorInfo(c), what).toThrow(/XOR chunk/);
    }
    // A count of zero is an empty chunk, whatever follows.
    expect(xorDecode(Uint8Array.of(0, 0, 0xff)).t.length).toBe(0);
  });
});
