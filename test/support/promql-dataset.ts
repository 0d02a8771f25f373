/**
 * A deterministic data set for comparing our engine with Prometheus 2.42: counters with resets, gauges,
 * classic histograms, scrape jitter, a series ended by a stale marker, a series that just stops, and
 * special values. Values are written straight into typed arrays (stale markers by their bits).
 */
import type { Label, Labels } from '../../src/shared/labels.js';
import { compareStrings } from '../../src/shared/labels.js';
import { STALE_NAN_BITS } from '../../src/shared/storage.js';

export interface DataSeries {
  labels: Labels;
  t: Float64Array;
  v: Float64Array;
}

function labels(obj: Record<string, string>): Labels {
  const out: Label[] = Object.entries(obj).map(([name, value]) => ({ name, value }));
  out.sort((a, b) => compareStrings(a.name, b.name));
  return out;
}

import { rng } from '../../src/shared/seeded-random.js';

export { rng };

/**
 * Series over [start, start + duration] at `intervalMs`, with up to 400 ms of jitter per sample.
 * start should be a whole second.
 */
export function makeDataset(start: number, duration: number, intervalMs = 15_000): DataSeries[] {
  const rand = rng(42);
  const n = Math.floor(duration / intervalMs) + 1;
  const out: DataSeries[] = [];
  const times = (jitter: boolean): Float64Array => {
    const t = new Float64Array(n);
    for (let i = 0; i < n; i++) t[i] = start + i * intervalMs + (jitter ? Math.floor(rand() * 400) : 0);
    return t;
  };
  // Counters: http_requests_total by job/instance/method/code, one with resets.
  const jobs = ['api', 'web', 'db'];
  for (const job of jobs) {
    for (let inst = 0; inst < 3; inst++) {
      for (const method of ['GET', 'POST']) {
        const t = times(true);
        const v = new Float64Array(n);
        let x = Math.floor(rand() * 1000);
        const resetAt = job === 'web' && inst === 1 ? Math.floor(n / 2) : -1;
        for (let i = 0; i < n; i++) {
          if (i === resetAt) x = 0;
          x += Math.floor(rand() * (method === 'GET' ? 50 : 10));
          v[i] = x;
        }
        out.push({
          labels: labels({
            __name__: 'http_requests_total',
            job,
            instance: `10.0.0.${inst}:9090`,
            method,
            code: '200',
          }),
          t,
          v,
        });
      }
    }
  }
  // Gauges.
  for (const job of jobs) {
    for (let inst = 0; inst < 2; inst++) {
      const t = times(true);
      const v = new Float64Array(n);
      let x = 20 + rand() * 10;
      for (let i = 0; i < n; i++) {
        x += (rand() - 0.5) * 2;
        v[i] = Math.round(x * 1000) / 1000;
      }
      out.push({ labels: labels({ __name__: 'temperature_celsius', job, instance: `host-${inst}` }), t, v });
    }
  }
  // Classic histograms.
  const les = ['0.05', '0.1', '0.25', '0.5', '1', '2.5', '+Inf'];
  for (const job of ['api', 'web']) {
    const counts = new Float64Array(les.length);
    const cols = les.map(() => new Float64Array(n));
    const t = times(false);
    let sum = 0;
    const sumCol = new Float64Array(n);
    const countCol = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const obs = Math.floor(rand() * 20);
      for (let o = 0; o < obs; o++) {
        const x = rand() ** 2 * 3;
        sum += x;
        for (let b = 0; b < les.length; b++) if (x <= Number(les[b]) || les[b] === '+Inf') counts[b]++;
      }
      for (let b = 0; b < les.length; b++) cols[b][i] = counts[b];
      sumCol[i] = sum;
      countCol[i] = counts[les.length - 1];
    }
    les.forEach((le, b) => {
      out.push({
        labels: labels({ __name__: 'request_duration_seconds_bucket', job, le }),
        t: t.slice(),
        v: cols[b],
      });
    });
    out.push({ labels: labels({ __name__: 'request_duration_seconds_sum', job }), t: t.slice(), v: sumCol });
    out.push({
      labels: labels({ __name__: 'request_duration_seconds_count', job }),
      t: t.slice(),
      v: countCol,
    });
  }
  // A series that ends with a stale marker at two thirds, and one that just stops at one third.
  {
    const m = Math.floor((2 * n) / 3);
    const t = times(false).slice(0, m + 1);
    const v = new Float64Array(m + 1);
    for (let i = 0; i < m; i++) v[i] = i;
    new BigUint64Array(v.buffer)[m] = STALE_NAN_BITS;
    out.push({ labels: labels({ __name__: 'up', job: 'batch', instance: 'b1' }), t, v });
    const k = Math.floor(n / 3);
    const t2 = times(false).slice(0, k);
    const v2 = new Float64Array(k).fill(1);
    out.push({ labels: labels({ __name__: 'up', job: 'batch', instance: 'b2' }), t: t2, v: v2 });
    const t3 = times(false);
    out.push({
      labels: labels({ __name__: 'up', job: 'api', instance: 'a1' }),
      t: t3,
      v: new Float64Array(n).fill(1),
    });
  }
  // Special values.
  {
    const t = times(false);
    const v = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      v[i] =
        i % 17 === 5 ? Number.NaN : i % 23 === 7 ? Number.POSITIVE_INFINITY : i % 29 === 3 ? -0.5 : i * 0.25;
    }
    out.push({ labels: labels({ __name__: 'odd_values', kind: 'special' }), t, v });
  }
  return out;
}
