import { describe, expect, it } from 'vitest';
import { compileMatchers, hasNonEmptyMatcher } from '../src/shared/matchers.js';
import { STALE_NAN } from '../src/shared/storage.js';
import { Head } from '../src/tsdb/head.js';
import {
  bitsOf,
  HeadModel,
  makeBatch,
  randomMatchers,
  randomRound,
  rng,
  seriesPool,
} from './tsdb-helpers.js';

const T0 = 1699999200000; // on a 2h boundary
const lbl = (o: Record<string, string>) =>
  Object.keys(o)
    .sort()
    .map((name) => ({ name, value: o[name] }));

describe('head', () => {
  it('matches the reference model on random appends and queries', () => {
    for (const seed of [1, 2, 3, 4]) {
      const r = rng(seed);
      const now = T0 + 10 * 3600_000;
      const head = new Head({ now: () => now });
      const model = new HeadModel();
      const pool = seriesPool(40, r);
      let tBase = T0;
      for (let round = 0; round < 60; round++) {
        const batch = randomRound(pool, r, tBase, now);
        const res = head.append(makeBatch(batch));
        const want = model.append(batch, now);
        expect(Array.from(res.counts).slice(0, 6), `seed ${seed} round ${round}`).toEqual(want.slice(0, 6));
        tBase += Math.floor(r() * 120_000);
      }
      for (let q = 0; q < 150; q++) {
        const ms = randomMatchers(r);
        const mint = T0 + Math.floor(r() * 4 * 3600_000) - 3600_000;
        const maxt = r() < 0.3 ? Number.POSITIVE_INFINITY : mint + Math.floor(r() * 3 * 3600_000);
        const want = model.select(ms, mint, maxt);
        if (!hasNonEmptyMatcher(compileMatchers(ms))) continue;
        const sel = head.select(ms, mint, maxt);
        const got = [];
        let off = 0;
        for (let k = 0; k < sel.refs.length; k++) {
          const n = sel.counts[k];
          got.push({
            labels: head.registry.labels(sel.refs[k]),
            t: Array.from(sel.t.subarray(off, off + n)),
            bits: bitsOf(sel.v.subarray(off, off + n)),
          });
          off += n;
        }
        got.sort((a, b) => (JSON.stringify(a.labels) < JSON.stringify(b.labels) ? -1 : 1));
        want.sort((a, b) => (JSON.stringify(a.labels) < JSON.stringify(b.labels) ? -1 : 1));
        expect(got, `seed ${seed} query ${JSON.stringify(ms)} [${mint}, ${maxt}]`).toEqual(want);
        const sets = r() < 0.3 ? [] : [ms];
        const wantSeries = model.seriesIn(sets, mint, maxt);
        expect(
          head.series(sets, mint, maxt).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)),
        ).toEqual(wantSeries.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)));
        const names = new Set<string>();
        const jobs = new Set<string>();
        for (const s of wantSeries) {
          for (const l of s) {
            names.add(l.name);
            if (l.name === 'zone') jobs.add(l.value);
          }
        }
        expect(head.labelNames(sets, mint, maxt)).toEqual([...names].sort());
        expect(new Set(head.labelValues('zone', sets, mint, maxt))).toEqual(jobs);
      }
    }
  });

  it('cuts chunks as Prometheus does: 120, 120, 60 for 300 samples at 15s from a block boundary', () => {
    const head = new Head({ now: () => T0 + 3600_000 * 3 });
    const t = Array.from({ length: 300 }, (_, i) => T0 + i * 15_000);
    const v = Float64Array.from(t, (_, i) => i);
    head.append(makeBatch([{ labels: lbl({ __name__: 'x' }), t, v }]));
    const ex = head.exportChunks(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, true);
    const sizes = [];
    for (let k = 0; k < ex.chunks.index.length; k++) {
      const c = ex.chunks.data.subarray(ex.chunks.offsets[k], ex.chunks.offsets[k + 1]);
      sizes.push((c[0] << 8) | c[1]);
    }
    expect(sizes).toEqual([120, 120, 60]);
    expect(Array.from(ex.chunks.mint)).toEqual([T0, T0 + 120 * 15_000, T0 + 240 * 15_000]);
    // Crossing the 2h boundary cuts a chunk even when it is not full.
    const head2 = new Head({ now: () => T0 + 3600_000 * 3 });
    const t2 = [T0 + 7200_000 - 30_000, T0 + 7200_000 - 15_000, T0 + 7200_000, T0 + 7200_000 + 15_000];
    head2.append(makeBatch([{ labels: lbl({ __name__: 'x' }), t: t2, v: new Float64Array(4) }]));
    const ex2 = head2.exportChunks(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, true);
    expect(Array.from(ex2.chunks.mint)).toEqual([t2[0], t2[2]]);
    expect(Array.from(ex2.chunks.maxt)).toEqual([t2[1], t2[3]]);
    // Truncation drops closed chunks before a time and makes older samples out of bounds.
    expect(head.truncate(T0 + 240 * 15_000)).toBe(2);
    const sel = head.select([{ type: '=', name: '__name__', value: 'x' }], 0, Number.POSITIVE_INFINITY);
    expect(sel.counts[0]).toBe(60);
  });

  it('stores stale markers and NaN payloads bit-exactly', () => {
    const head = new Head({ now: () => T0 + 3600_000 });
    const v = Float64Array.of(1, STALE_NAN, 2, Number.NaN);
    head.append(makeBatch([{ labels: lbl({ __name__: 's' }), t: [T0, T0 + 1, T0 + 2, T0 + 3], v }]));
    const sel = head.select([{ type: '=', name: '__name__', value: 's' }], T0, T0 + 10);
    expect(bitsOf(sel.v)).toEqual(bitsOf(v));
    expect(bitsOf(sel.v)[1]).toBe(0x7ff0000000000002n);
  });

  it('applies the append rules with their reasons', () => {
    const now = T0 + 3600_000;
    const head = new Head({ now: () => now });
    const s = lbl({ __name__: 'r', job: 'x' });
    const a = head.append(
      makeBatch([
        { labels: s, t: [now - 1000, now - 1000, now - 1000, now - 2000], v: Float64Array.of(1, 1, 2, 3) },
      ]),
    );
    expect(Array.from(a.counts)).toEqual([1, 1, 1, 1, 0, 0, 0]);
    const b = head.append(
      makeBatch([
        {
          labels: s,
          t: [now - 2 * 3600_000, now + 11 * 60_000, now + 9 * 60_000],
          v: Float64Array.of(1, 1, 1),
        },
      ]),
    );
    // out of bounds (older than head maxt - 1h), too far in the future, then accepted within the grace.
    expect(Array.from(b.counts)).toEqual([1, 0, 0, 0, 1, 1, 0]);
  });
});
