// quantile by (...) selects ranks with quickselect over gathered step blocks: its answers must be exactly
// those of sorting every group at every step (quantileOf, 2.42's order: NaN first, -0 before +0).
import { describe, expect, it } from 'vitest';
import { aggregate } from '../src/promql/aggregate.js';
import { quantileOf } from '../src/promql/range-functions.js';
import type { StepSeries } from '../src/promql/value.js';
import { labelsFromObject } from '../src/shared/labels.js';
import { rng } from '../src/shared/seeded-random.js';

describe('quantile aggregation', () => {
  it.each([1, 2, 3, 4, 5, 6])('equals a full sort per group and step (seed %i)', (seed) => {
    const r = rng(seed);
    const n = 1 + Math.floor(r() * 40);
    const count = Math.floor(r() * 300);
    const groups = 1 + Math.floor(r() * 6);
    // Few distinct values (ties, zeros of both signs, NaN, infinities) or many.
    const pool = [0, -0, Number.NaN, 1, -1, 2, Infinity, -Infinity, 0.5, 3];
    const series: StepSeries[] = [];
    for (let i = 0; i < count; i++) {
      const v = new Float64Array(n);
      const has = new Uint8Array(n);
      for (let k = 0; k < n; k++) {
        has[k] = r() < 0.8 ? 1 : 0;
        v[k] =
          seed % 2 === 0 ? pool[Math.floor(r() * pool.length)] : r() < 0.05 ? Number.NaN : (r() - 0.5) * 100;
      }
      series.push({
        labels: labelsFromObject({ __name__: 'x', g: String(i % groups), i: String(i) }),
        v,
        has,
      });
    }
    const q = new Float64Array(n);
    const qs = [0, 1, 0.5, 0.9, 0.99, 0.25, -0.5, 1.5, Number.NaN, 0.333];
    for (let k = 0; k < n; k++) q[k] = qs[k % qs.length];
    const out = aggregate('quantile', series, ['g'], false, q, n);
    for (const o of out) {
      const g = o.labels.find((l) => l.name === 'g')?.value;
      const members = series.filter((s) => s.labels.find((l) => l.name === 'g')?.value === g);
      for (let k = 0; k < n; k++) {
        const vals = members.filter((s) => s.has[k] === 1).map((s) => s.v[k]);
        expect(o.has[k]).toBe(vals.length > 0 ? 1 : 0);
        if (vals.length === 0) continue;
        const want = quantileOf(q[k], vals);
        if (!Object.is(o.v[k], want)) expect([k, q[k], o.v[k]]).toEqual([k, q[k], want]);
      }
    }
  });
});
