// Small in-memory stand-ins for the HTTP tests: a storage that is both Queryable and Appendable (with
// Prometheus' append refusals), and an engine that evaluates bare selectors (enough to test the API).
import { parseMetricSelector } from '../../src/http/params.js';
import { type QueryEngine, QueryError, type QueryOptions, type QueryValue } from '../../src/promql/api.js';
import {
  type Appendable,
  type AppendOutcome,
  type AppendRequest,
  emptyOutcome,
} from '../../src/shared/ingest.js';
import { compareStrings, type Label, type Labels } from '../../src/shared/labels.js';
import type { Matcher } from '../../src/shared/matchers.js';
import { isStaleNaN, type Queryable, type SeriesData } from '../../src/shared/storage.js';
import { MemoryQueryable } from './memory-queryable.js';

/**
 * Samples live in a MemoryQueryable (typed-array columns, so stale markers keep their NaN bits); this adds
 * the Appendable side with Prometheus' refusals (out of order, duplicate timestamp, invalid labels).
 */
export class FakeStorage implements Queryable, Appendable {
  private readonly mem = new MemoryQueryable();
  appendCalls = 0;
  /** Makes the next append calls throw (to test retryable failures). */
  failAppends = 0;

  /** Values as a Float64Array: a plain array would canonicalise stale markers' NaN bits. */
  add(labels: Labels, t: readonly number[], v: Float64Array): void {
    this.mem.append(labels, t, v);
  }

  get numSeries(): number {
    return this.mem.numSeries;
  }

  get numSamples(): number {
    return this.mem.numSamples;
  }

  async append(req: AppendRequest): Promise<AppendOutcome> {
    this.appendCalls++;
    if (this.failAppends > 0) {
      this.failAppends--;
      throw new Error('storage unavailable');
    }
    const out = emptyOutcome();
    for (let i = 0; i < req.series.length; i++) {
      const flat = req.series[i];
      const labels: Label[] = [];
      for (let j = 0; j < flat.length; j += 2)
        if (flat[j + 1] !== '') labels.push({ name: flat[j], value: flat[j + 1] });
      labels.sort((a, b) => compareStrings(a.name, b.name));
      let bad = labels.length === 0;
      for (let j = 1; j < labels.length; j++) if (labels[j].name === labels[j - 1].name) bad = true;
      if (bad) {
        out.invalidSeries++;
        if (out.errors.length < 10) out.errors.push(`invalid labels ${JSON.stringify(flat)}`);
        continue;
      }
      for (let k = req.sampleStart[i]; k < req.sampleStart[i + 1]; k++) {
        const t = req.t[k];
        const last = this.mem.last(labels);
        if (last !== null && t < last.t) {
          out.outOfOrder++;
          if (out.errors.length < 10) out.errors.push('out of order sample');
          continue;
        }
        if (last !== null && t === last.t) {
          const prev = last.v[0];
          const same = Object.is(prev, req.v[k]) || (Number.isNaN(prev) && Number.isNaN(req.v[k]));
          if (same) out.duplicatesIgnored++;
          else {
            out.duplicateTimestamp++;
            if (out.errors.length < 10) out.errors.push('duplicate sample for timestamp');
          }
          continue;
        }
        this.mem.append(labels, req.t.subarray(k, k + 1), req.v.subarray(k, k + 1));
        out.appended++;
      }
    }
    return out;
  }

  select(matchers: readonly Matcher[], mint: number, maxt: number): Promise<SeriesData[]> {
    return this.mem.select(matchers, mint, maxt);
  }

  series(sets: readonly (readonly Matcher[])[], mint: number, maxt: number): Promise<Labels[]> {
    return this.mem.series(sets, mint, maxt);
  }

  labelNames(sets: readonly (readonly Matcher[])[], mint: number, maxt: number): Promise<string[]> {
    return this.mem.labelNames(sets, mint, maxt);
  }

  labelValues(
    name: string,
    sets: readonly (readonly Matcher[])[],
    mint: number,
    maxt: number,
  ): Promise<string[]> {
    return this.mem.labelValues(name, sets, mint, maxt);
  }
}

const LOOKBACK_MS = 5 * 60_000;

/**
 * Evaluates a bare selector (instant: latest sample within 5m, stale markers hide the series; range:
 * the same at each step). `__slow__` waits for the abort signal; `__fail__` is an execution error.
 */
export class FakeEngine implements QueryEngine {
  constructor(private readonly q: Queryable) {}

  private parse(query: string): Matcher[] {
    try {
      return parseMetricSelector(query);
    } catch (e) {
      throw new QueryError('bad_data', (e as Error).message);
    }
  }

  private async special(query: string, opts?: QueryOptions): Promise<void> {
    if (query === '__fail__') throw new QueryError('execution', 'found duplicate series for the match group');
    if (query === '__slow__') {
      await new Promise<void>((_resolve, reject) => {
        const sig = opts?.signal;
        if (sig === undefined) return;
        if (sig.aborted) reject(sig.reason);
        sig.addEventListener('abort', () => reject(sig.reason), { once: true });
      });
    }
  }

  async instantQuery(query: string, timeMs: number, opts?: QueryOptions): Promise<QueryValue> {
    await this.special(query, opts);
    const ms = this.parse(query);
    const data = await this.q.select(ms, timeMs - LOOKBACK_MS, timeMs);
    const samples = [];
    for (const s of data) {
      const v = s.v[s.v.length - 1];
      if (isStaleNaN(v)) continue;
      samples.push({ labels: s.labels, t: timeMs, v });
    }
    return { type: 'vector', samples };
  }

  async rangeQuery(
    query: string,
    startMs: number,
    endMs: number,
    stepMs: number,
    opts?: QueryOptions,
  ): Promise<QueryValue> {
    await this.special(query, opts);
    const ms = this.parse(query);
    const data = await this.q.select(ms, startMs - LOOKBACK_MS, endMs);
    const series = [];
    for (const s of data) {
      const ts: number[] = [];
      const vs: number[] = [];
      let j = 0;
      for (let t = startMs; t <= endMs; t += stepMs) {
        while (j + 1 < s.t.length && s.t[j + 1] <= t) j++;
        if (s.t[j] <= t && s.t[j] > t - LOOKBACK_MS && !isStaleNaN(s.v[j])) {
          ts.push(t);
          vs.push(s.v[j]);
        }
      }
      if (ts.length > 0)
        series.push({ labels: s.labels, t: Float64Array.from(ts), v: Float64Array.from(vs) });
    }
    return { type: 'matrix', series };
  }
}
