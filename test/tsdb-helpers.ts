// Helpers for the storage suites: build batches from label objects, and a reference model of the head.
import type { Labels } from '../src/shared/labels.js';
import { compareLabels, labelsKey } from '../src/shared/labels.js';
import { compileMatchers, type Matcher, matchLabels } from '../src/shared/matchers.js';
import { BatchBuilder, type BatchView, viewBatch } from '../src/shared/protocol.js';
import { encodeLabels, hash64 } from '../src/shared/protocol-labels.js';

export interface TestSeries {
  labels: Labels;
  t: number[];
  v: Float64Array;
}

export function makeBatch(series: readonly TestSeries[]): BatchView {
  const b = new BatchBuilder();
  const h = new Uint32Array(2);
  for (const s of series) {
    const bytes = encodeLabels(s.labels);
    hash64(bytes, 0, bytes.length, h, 0);
    b.add(h[0], h[1], bytes, 0, s.t.length, Float64Array.from(s.t), s.v);
  }
  return viewBatch(b.finish());
}

export function bitsOf(v: Float64Array): bigint[] {
  return Array.from(new BigUint64Array(v.buffer, v.byteOffset, v.length));
}

interface ModelSeries {
  labels: Labels;
  t: number[];
  bits: bigint[];
}

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/** Prometheus 2.42's head append rules, sample by sample, as plainly as possible. */
export class HeadModel {
  readonly series = new Map<string, ModelSeries>();
  headMaxt: number | null = null;

  constructor(
    readonly rangeMs = 7200000,
    readonly graceMs = 600000,
    public floor = Number.NEGATIVE_INFINITY,
  ) {}

  /** Returns counts per code: appended, dupIgnored, ooo, dupTs, oob, future. */
  append(batch: readonly TestSeries[], now: number): number[] {
    const counts = [0, 0, 0, 0, 0, 0, 0];
    let windowSet = this.headMaxt !== null;
    let minValid = windowSet
      ? Math.max(this.floor, (this.headMaxt as number) - this.rangeMs / 2)
      : this.floor;
    for (const s of batch) {
      const key = labelsKey(s.labels);
      let ms = this.series.get(key);
      if (ms === undefined) {
        ms = { labels: s.labels, t: [], bits: [] };
        this.series.set(key, ms);
      }
      for (let i = 0; i < s.t.length; i++) {
        const t = s.t[i];
        f64[0] = s.v[i];
        const bits = u64[0];
        if (t > now + this.graceMs) {
          counts[5]++;
          continue;
        }
        if (!windowSet) {
          windowSet = true;
          minValid = Math.max(this.floor, t - this.rangeMs / 2);
        }
        if (t < minValid) {
          counts[4]++;
          continue;
        }
        const n = ms.t.length;
        if (n > 0) {
          if (t < ms.t[n - 1]) {
            counts[2]++;
            continue;
          }
          if (t === ms.t[n - 1]) {
            counts[ms.bits[n - 1] === bits ? 1 : 3]++;
            continue;
          }
        }
        ms.t.push(t);
        ms.bits.push(bits);
        counts[0]++;
        if (this.headMaxt === null || t > this.headMaxt) this.headMaxt = t;
      }
    }
    return counts;
  }

  select(
    matchers: readonly Matcher[],
    mint: number,
    maxt: number,
  ): { labels: Labels; t: number[]; bits: bigint[] }[] {
    const ms = compileMatchers(matchers);
    const out: { labels: Labels; t: number[]; bits: bigint[] }[] = [];
    for (const s of this.series.values()) {
      if (!matchLabels(ms, s.labels)) continue;
      const t: number[] = [];
      const bits: bigint[] = [];
      for (let i = 0; i < s.t.length; i++) {
        if (s.t[i] >= mint && s.t[i] <= maxt) {
          t.push(s.t[i]);
          bits.push(s.bits[i]);
        }
      }
      if (t.length > 0) out.push({ labels: s.labels, t, bits });
    }
    return out.sort((a, b) => compareLabels(a.labels, b.labels));
  }

  /** Series matching any set (all when none) with a sample in [mint, maxt]. */
  seriesIn(sets: readonly (readonly Matcher[])[], mint: number, maxt: number): Labels[] {
    const compiled = sets.map((s) => compileMatchers(s));
    const out: Labels[] = [];
    for (const s of this.series.values()) {
      if (s.t.length === 0) continue;
      if (compiled.length > 0 && !compiled.some((ms) => matchLabels(ms, s.labels))) continue;
      if (s.t[s.t.length - 1] < mint || s.t[0] > maxt) continue;
      out.push(s.labels);
    }
    return out.sort(compareLabels);
  }
}

export { rng } from '../src/shared/seeded-random.js';

const NAMES = ['m1', 'm2', 'm3'];
const JOBS = ['a', 'b', 'c'];
const ENVS = ['prod', 'dev', ''];
const ZONES = ['', 'ü-1', '日本', 'x"y\\z'];

/** A pool of distinct label sets (sorted, no empty values). */
export function seriesPool(n: number, r: () => number): Labels[] {
  const seen = new Set<string>();
  const out: Labels[] = [];
  while (out.length < n) {
    const obj: [string, string][] = [
      ['__name__', NAMES[Math.floor(r() * NAMES.length)]],
      ['instance', `i${Math.floor(r() * 20)}`],
      ['job', JOBS[Math.floor(r() * JOBS.length)]],
    ];
    const env = ENVS[Math.floor(r() * ENVS.length)];
    if (env !== '') obj.push(['env', env]);
    const zone = ZONES[Math.floor(r() * ZONES.length)];
    if (zone !== '') obj.push(['zone', zone]);
    obj.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    const labels = obj.map(([name, value]) => ({ name, value }));
    const key = labelsKey(labels);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(labels);
  }
  return out;
}

export const VALUE_POOL = (() => {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setBigUint64(0, 0x7ff0000000000002n);
  const stale = dv.getFloat64(0);
  dv.setBigUint64(0, 0x7ff8000000000001n);
  const promNaN = dv.getFloat64(0);
  return Float64Array.of(
    0,
    1,
    -1,
    0.5,
    1e300,
    -0,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    stale,
    promNaN,
    42,
  );
})();

/** One round of a scrape-like but hostile workload: in-order samples plus duplicates, OOO, OOB, future. */
export function randomRound(
  pool: readonly Labels[],
  r: () => number,
  tBase: number,
  now: number,
): TestSeries[] {
  const out: TestSeries[] = [];
  const n = 1 + Math.floor(r() * Math.min(pool.length, 25));
  for (let k = 0; k < n; k++) {
    const labels = pool[Math.floor(r() * pool.length)];
    const m = 1 + Math.floor(r() * 4);
    const t: number[] = [];
    const v = new Float64Array(m);
    let cur = tBase + Math.floor(r() * 5000);
    for (let i = 0; i < m; i++) {
      const dice = r();
      if (dice < 0.05)
        t.push(now + 3600_000 + Math.floor(r() * 1000)); // too far in the future
      else if (dice < 0.1)
        t.push(tBase - 3 * 3600_000); // out of bounds
      else if (dice < 0.2)
        t.push(cur - 20_000); // likely out of order
      else if (dice < 0.3)
        t.push(cur); // duplicate timestamp
      else {
        cur += 1 + Math.floor(r() * 20_000);
        t.push(cur);
      }
      v[i] = r() < 0.5 ? VALUE_POOL[Math.floor(r() * VALUE_POOL.length)] : Math.floor(r() * 1000) / 8;
    }
    out.push({ labels, t, v });
  }
  return out;
}

const REGEXES = ['a|b', 'i1.*', '.*', '.+', '', 'm[12]', 'ü.*', 'prod|', '日本', 'x".*'];

export function randomMatchers(r: () => number): Matcher[] {
  const n = 1 + Math.floor(r() * 3);
  const names = ['__name__', 'job', 'instance', 'env', 'zone', 'nope'];
  const values = ['m1', 'm2', 'a', 'b', 'i3', 'prod', 'dev', '', 'ü-1', '日本', 'x"y\\z'];
  const types = ['=', '!=', '=~', '!~'] as const;
  const out: Matcher[] = [];
  for (let i = 0; i < n; i++) {
    const type = types[Math.floor(r() * 4)];
    const name = names[Math.floor(r() * names.length)];
    const value =
      type === '=' || type === '!='
        ? values[Math.floor(r() * values.length)]
        : REGEXES[Math.floor(r() * REGEXES.length)];
    out.push({ type, name, value });
  }
  return out;
}
