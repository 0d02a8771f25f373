import type { Labels } from '../../src/shared/labels.js';
import { compareLabels, compareStrings, labelsKey } from '../../src/shared/labels.js';
import type { CompiledMatcher, Matcher } from '../../src/shared/matchers.js';
import { compileMatchers, matchLabels } from '../../src/shared/matchers.js';
import type { Queryable, SeriesData } from '../../src/shared/storage.js';

interface MemSeries {
  labels: Labels;
  t: Float64Array;
  v: Float64Array;
  n: number;
}

/** First index i in t[0..n) with t[i] >= x. */
function lowerBound(t: Float64Array, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * An in-memory Queryable for tests: series with typed-array columns, matcher semantics of
 * src/shared/matchers.ts, results sorted by label set. Appending keeps each series in time order
 * (a sample at an existing timestamp replaces the old value, like the conformance runner's loads).
 */
export class MemoryQueryable implements Queryable {
  private readonly store = new Map<string, MemSeries>();
  private sorted: MemSeries[] | null = null;
  /** Number of select calls served (tests check the engine asks once per selector). */
  selectCalls = 0;

  clear(): void {
    this.store.clear();
    this.sorted = null;
  }

  /** Adds samples to a series (labels must be canonical: sorted, no empty values). */
  append(labels: Labels, t: ArrayLike<number>, v: ArrayLike<number>): void {
    const key = labelsKey(labels);
    let s = this.store.get(key);
    if (s === undefined) {
      s = {
        labels,
        t: new Float64Array(Math.max(16, t.length)),
        v: new Float64Array(Math.max(16, t.length)),
        n: 0,
      };
      this.store.set(key, s);
      this.sorted = null;
    }
    for (let i = 0; i < t.length; i++) this.appendOne(s, t[i], v[i]);
  }

  private appendOne(s: MemSeries, t: number, v: number): void {
    if (s.n > 0 && t <= s.t[s.n - 1]) {
      const i = lowerBound(s.t, s.n, t);
      if (i < s.n && s.t[i] === t) {
        s.v[i] = v;
        return;
      }
      this.grow(s);
      s.t.copyWithin(i + 1, i, s.n);
      s.v.copyWithin(i + 1, i, s.n);
      s.t[i] = t;
      s.v[i] = v;
      s.n++;
      return;
    }
    this.grow(s);
    s.t[s.n] = t;
    s.v[s.n] = v;
    s.n++;
  }

  private grow(s: MemSeries): void {
    if (s.n < s.t.length) return;
    const t = new Float64Array(s.t.length * 2);
    const v = new Float64Array(s.v.length * 2);
    t.set(s.t);
    v.set(s.v);
    s.t = t;
    s.v = v;
  }

  get numSeries(): number {
    return this.store.size;
  }

  get numSamples(): number {
    let n = 0;
    for (const s of this.store.values()) n += s.n;
    return n;
  }

  /** The newest sample of a series (its index in the columns), or null when the series has none. */
  last(labels: Labels): { t: number; v: Float64Array } | null {
    const s = this.store.get(labelsKey(labels));
    if (s === undefined || s.n === 0) return null;
    return { t: s.t[s.n - 1], v: s.v.subarray(s.n - 1, s.n) };
  }

  private all(): MemSeries[] {
    if (this.sorted === null) {
      this.sorted = [...this.store.values()].sort((a, b) => compareLabels(a.labels, b.labels));
    }
    return this.sorted;
  }

  private matching(sets: readonly (readonly Matcher[])[], mint: number, maxt: number): MemSeries[] {
    const compiled: CompiledMatcher[][] = sets.map((ms) => compileMatchers(ms));
    return this.all().filter((s) => {
      if (compiled.length > 0 && !compiled.some((ms) => matchLabels(ms, s.labels))) return false;
      const i = lowerBound(s.t, s.n, mint);
      return i < s.n && s.t[i] <= maxt;
    });
  }

  async select(matchers: readonly Matcher[], mint: number, maxt: number): Promise<SeriesData[]> {
    this.selectCalls++;
    const ms = compileMatchers(matchers);
    const out: SeriesData[] = [];
    for (const s of this.all()) {
      if (!matchLabels(ms, s.labels)) continue;
      const lo = lowerBound(s.t, s.n, mint);
      const hi = lowerBound(s.t, s.n, maxt + 1);
      if (hi <= lo) continue;
      out.push({ labels: s.labels, t: s.t.slice(lo, hi), v: s.v.slice(lo, hi) });
    }
    return out;
  }

  async series(sets: readonly (readonly Matcher[])[], mint: number, maxt: number): Promise<Labels[]> {
    return this.matching(sets, mint, maxt).map((s) => s.labels);
  }

  async labelNames(sets: readonly (readonly Matcher[])[], mint: number, maxt: number): Promise<string[]> {
    const names = new Set<string>();
    for (const s of this.matching(sets, mint, maxt)) for (const l of s.labels) names.add(l.name);
    return [...names].sort(compareStrings);
  }

  async labelValues(
    name: string,
    sets: readonly (readonly Matcher[])[],
    mint: number,
    maxt: number,
  ): Promise<string[]> {
    const values = new Set<string>();
    for (const s of this.matching(sets, mint, maxt)) {
      for (const l of s.labels) if (l.name === name) values.add(l.value);
    }
    return [...values].sort(compareStrings);
  }
}
