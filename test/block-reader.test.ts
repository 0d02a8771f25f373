import { describe, expect, it } from 'vitest';
import { BlockReader } from '../src/tsdb/block/reader.js';
import { bitsOf, FIXTURE_BLOCK, FIXTURE_ULID, haveFixture, loadExpected } from './block-fixture.js';

describe.skipIf(!haveFixture)('reading the Prometheus 2.42 fixture block', () => {
  it('reads meta.json', () => {
    const b = BlockReader.open(FIXTURE_BLOCK);
    try {
      expect(b.meta).toMatchObject({
        ulid: FIXTURE_ULID,
        minTime: 1699999200000,
        maxTime: 1700004954156,
        stats: { numSamples: 2700, numSeries: 9, numChunks: 28 },
        compaction: { level: 1, sources: [FIXTURE_ULID] },
        version: 1,
      });
      expect(b.numTombstones).toBe(0);
    } finally {
      b.close();
    }
  });

  it('returns exactly expected.json, bit for bit', () => {
    const exp = loadExpected();
    const b = BlockReader.open(FIXTURE_BLOCK);
    try {
      const got = b.select([{ type: '=', name: 'job', value: 'fixture' }], -Infinity, Infinity);
      expect(got.map((s) => s.labels)).toEqual(exp.series.map((s) => s.labels));
      for (let i = 0; i < got.length; i++) {
        expect(Array.from(got[i].t)).toEqual(Array.from(exp.series[i].t));
        expect(bitsOf(got[i].v)).toEqual(bitsOf(exp.series[i].v));
      }
      expect(got.reduce((n, s) => n + s.t.length, 0)).toBe(2700);
      // The stale marker and the ordinary NaN stay distinct.
      const special = got.find((s) => s.labels.some((l) => l.value === 'special'))!;
      const bits = bitsOf(special.v);
      expect(bits).toContain('7ff0000000000002');
      expect(bits).toContain('7ff8000000000001');
    } finally {
      b.close();
    }
  });

  it('resolves postings and label lookups', () => {
    const b = BlockReader.open(FIXTURE_BLOCK);
    try {
      expect(b.postings([{ type: '=', name: 'job', value: 'fixture' }]).length).toBe(9);
      expect(b.postings([{ type: '=', name: '__name__', value: 'fixture_requests_total' }]).length).toBe(2);
      expect(
        b.postings([
          { type: '=~', name: '__name__', value: 'fixture_.*' },
          { type: '!=', name: 'instance', value: 'a' },
        ]).length,
      ).toBe(8);
      expect(b.postings([{ type: '=', name: 'instance', value: '' }]).length).toBe(7);
      expect(b.postings([{ type: '!~', name: 'shape', value: '.+' }]).length).toBe(3);
      expect(b.postings([{ type: '=', name: 'nope', value: 'x' }]).length).toBe(0);
      expect(b.labelNames()).toEqual(['__name__', 'instance', 'job', 'path', 'quote', 'shape', 'utf8']);
      expect(b.labelValues('__name__').length).toBe(8);
      expect(b.labelValues('shape').length).toBe(6);
      expect(b.labelValues('utf8')).toEqual(['ünïcødé ✓ 日本']);
      expect(b.labelValues('quote')).toEqual(['say "hi"\\ok\nline2']);
      expect(b.labelNames([[{ type: '=', name: 'instance', value: 'a' }]])).toEqual([
        '__name__',
        'instance',
        'job',
      ]);
      expect(b.labelValues('instance', [[{ type: '=~', name: '__name__', value: '.*requests.*' }]])).toEqual([
        'a',
        'b',
      ]);
      const s = b.series([[{ type: '=', name: '__name__', value: 'fixture_requests_total' }]], 0, Infinity);
      expect(s.map((l) => l.map((x) => x.value).join(','))).toEqual([
        'fixture_requests_total,a,fixture',
        'fixture_requests_total,b,fixture',
      ]);
    } finally {
      b.close();
    }
  });

  it('decodes into columns from a caller-provided allocator', () => {
    const b = BlockReader.open(FIXTURE_BLOCK);
    try {
      const m = [{ type: '=' as const, name: 'job', value: 'fixture' }];
      const pool = { t: new Float64Array(5000), v: new Float64Array(5000) };
      let asked = 0;
      const viaPool = b.select(m, -Infinity, Infinity, (n) => {
        asked = n;
        return pool;
      });
      expect(asked).toBe(2700);
      expect(viaPool[0].t.buffer).toBe(pool.t.buffer);
      const fresh = b.select(m, -Infinity, Infinity);
      expect(viaPool.map((s) => [s.labels, Array.from(s.t), bitsOf(s.v)])).toEqual(
        fresh.map((s) => [s.labels, Array.from(s.t), bitsOf(s.v)]),
      );
      expect(() =>
        b.select(m, -Infinity, Infinity, () => ({ t: new Float64Array(1), v: new Float64Array(1) })),
      ).toThrow(/fewer than 2700/);
    } finally {
      b.close();
    }
  });

  it('limits select to [mint, maxt] inclusive', () => {
    const exp = loadExpected();
    const b = BlockReader.open(FIXTURE_BLOCK);
    try {
      const mint = 1699999200000 + 15_000 * 10;
      const maxt = 1699999200000 + 15_000 * 200;
      const got = b.select([{ type: '=', name: '__name__', value: 'fixture_constant_runs' }], mint, maxt);
      expect(got.length).toBe(1);
      const e = exp.series[0];
      const want = Array.from(e.t).filter((t) => t >= mint && t <= maxt);
      expect(Array.from(got[0].t)).toEqual(want);
      expect(b.select([{ type: '=', name: 'job', value: 'fixture' }], 0, 1000)).toEqual([]);
    } finally {
      b.close();
    }
  });

  it('checks every chunk CRC and sample count', () => {
    const b = BlockReader.open(FIXTURE_BLOCK);
    try {
      let chunks = 0;
      for (const s of b.storedSeries()) {
        for (const c of s.chunks) {
          chunks++;
          expect(c.encoding).toBe(1);
          expect(c.mint).toBeGreaterThanOrEqual(b.meta.minTime);
          expect(c.maxt).toBeLessThan(b.meta.maxTime);
        }
      }
      expect(chunks).toBe(28);
    } finally {
      b.close();
    }
  });
});
