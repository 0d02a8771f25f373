/**
 * The PromQL engine: Prometheus 2.42 semantics over the Queryable read interface. A query is parsed, every
 * selector's data is fetched once for the whole time range it needs, then the AST is evaluated over all
 * steps at once: every node yields step columns (StepSeries), never per-sample objects.
 */
import type { Labels } from '../shared/labels.js';
import { compareLabels, labelsKey } from '../shared/labels.js';
import type { Queryable, SeriesData } from '../shared/storage.js';
import { isStaleNaN } from '../shared/storage.js';
import { Accumulator, aggregate, isSimpleAggregate } from './aggregate.js';
import type { MatrixSeries, QueryEngine, QueryOptions, QueryStats, QueryValue, VectorSample } from './api.js';
import { QueryError } from './api.js';
import type { AtModifier, Call, Expr, SubqueryExpr, VectorSelector } from './ast.js';
import { exprType } from './ast.js';
import { scalarScalar, vectorScalar, vectorVector } from './binary.js';
import type { DatePart } from './functions.js';
import {
  absentLabels,
  datePart,
  histogramQuantile,
  labelJoin,
  labelReplace,
  MATH_FUNCTIONS,
  mapSeries,
} from './functions.js';
import { ParseError, parseExpr } from './parser.js';
import type { Window } from './range-functions.js';
import { extrapolatedRateSeries, RANGE_FUNCTIONS } from './range-functions.js';
import type { RawSeries, StepSeries, Value } from './value.js';
import {
  checkNoDuplicates,
  dropMetricName,
  dupLabelsetError,
  newStepSeries,
  newStepSeriesPool,
} from './value.js';

export interface EngineOptions {
  /** --query.lookback-delta, ms (default 5m). */
  lookbackDelta?: number;
  /** --query.max-samples (default 50,000,000). */
  maxSamples?: number;
  /** --query.timeout, ms (default 2m). */
  timeoutMs?: number;
  /** Default subquery step: the global evaluation interval, ms (default 1m). */
  defaultEvalInterval?: number;
}

export type { QueryStats };

const TOO_MANY_SAMPLES = 'query processing would load too many samples into memory in query execution';

interface Ctx {
  /** Step timestamps (ms). */
  ts: Float64Array;
}

function lowerBound(t: Float64Array, x: number, from = 0): number {
  let lo = from;
  let hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function unwrapParens(e: Expr): Expr {
  let x = e;
  while (x.kind === 'paren') x = x.expr;
  return x;
}

function countPresent(series: readonly StepSeries[]): number {
  let n = 0;
  for (const s of series) for (let i = 0; i < s.has.length; i++) n += s.has[i];
  return n;
}

export class Engine implements QueryEngine {
  readonly lookbackDelta: number;
  readonly maxSamples: number;
  readonly timeoutMs: number;
  readonly defaultEvalInterval: number;
  /** Stats of the last finished query (for tests and the API). */
  lastStats: QueryStats | null = null;

  constructor(
    readonly queryable: Queryable,
    opts: EngineOptions = {},
  ) {
    this.lookbackDelta = opts.lookbackDelta ?? 5 * 60 * 1000;
    this.maxSamples = opts.maxSamples ?? 50_000_000;
    this.timeoutMs = opts.timeoutMs ?? 2 * 60 * 1000;
    this.defaultEvalInterval = opts.defaultEvalInterval ?? 60 * 1000;
  }

  private parse(query: string): Expr {
    try {
      return parseExpr(query);
    } catch (e) {
      if (e instanceof ParseError) throw new QueryError('bad_data', e.message);
      throw e;
    }
  }

  async instantQuery(query: string, timeMs: number, opts?: QueryOptions): Promise<QueryValue> {
    const expr = this.parse(query);
    const ts = new Float64Array([timeMs]);
    const ev = new Evaluation(this, expr, timeMs, timeMs, opts);
    const v = await ev.run(ts);
    switch (v.type) {
      case 'scalar':
        return { type: 'scalar', t: timeMs, v: v.v[0] };
      case 'string':
        return { type: 'string', t: timeMs, v: v.s };
      case 'vector': {
        const samples: VectorSample[] = [];
        for (const s of v.series)
          if (s.has[0] !== 0) samples.push({ labels: s.labels, t: timeMs, v: s.v[0] });
        return { type: 'vector', samples };
      }
      case 'matrix':
        return {
          type: 'matrix',
          series: v.series.filter((s) => s.t.length > 0).map((s) => ({ labels: s.labels, t: s.t, v: s.v })),
        };
    }
  }

  async rangeQuery(
    query: string,
    startMs: number,
    endMs: number,
    stepMs: number,
    opts?: QueryOptions,
  ): Promise<QueryValue> {
    const expr = this.parse(query);
    const t = exprType(expr);
    if (t !== 'scalar' && t !== 'vector') {
      const name = t === 'matrix' ? 'range vector' : t;
      throw new QueryError(
        'bad_data',
        `invalid expression type "${name}" for range query, must be Scalar or instant Vector`,
      );
    }
    if (!(stepMs > 0))
      throw new QueryError('bad_data', 'zero or negative query resolution step widths are not accepted');
    if (endMs < startMs) throw new QueryError('bad_data', 'end timestamp must not be before start time');
    const n = Math.floor((endMs - startMs) / stepMs) + 1;
    const ts = new Float64Array(n);
    for (let i = 0; i < n; i++) ts[i] = startMs + i * stepMs;
    const ev = new Evaluation(this, expr, startMs, endMs, opts);
    const v = await ev.run(ts);
    if (v.type === 'scalar') {
      return { type: 'matrix', series: [{ labels: [], t: ts, v: v.v }] };
    }
    if (v.type !== 'vector') throw new QueryError('internal', `unexpected ${v.type} result of a range query`);
    return { type: 'matrix', series: toMatrix(v.series, ts) };
  }
}

/** Merges step series that share a label set (disjoint in time by construction). */
function mergeSameLabels(series: readonly StepSeries[], n: number): StepSeries[] {
  const byKey = new Map<string, number>();
  const out: StepSeries[] = [];
  for (const s of series) {
    const k = labelsKey(s.labels);
    const i = byKey.get(k);
    if (i === undefined) {
      byKey.set(k, out.length);
      out.push(s);
      continue;
    }
    const o = out[i];
    const merged = newStepSeries(s.labels, n);
    for (let j = 0; j < n; j++) {
      if (o.has[j]) {
        merged.has[j] = 1;
        merged.v[j] = o.v[j];
      } else if (s.has[j]) {
        merged.has[j] = 1;
        merged.v[j] = s.v[j];
      }
    }
    out[i] = merged;
  }
  return out;
}

/**
 * Step columns to a matrix: points where present, series merged by label set and sorted by labels. The
 * sort is stable, so series with the same labels are adjacent in their original order (the first one's
 * point wins at a step both have). A series present at every step keeps its value column and shares the
 * step timestamps (no copies: a range answer of 10k full series is 20k arrays fewer).
 */
function toMatrix(series: readonly StepSeries[], ts: Float64Array): MatrixSeries[] {
  const n = ts.length;
  const live = series.filter((s) => s.has.includes(1));
  live.sort((a, b) => compareLabels(a.labels, b.labels));
  const out: MatrixSeries[] = [];
  for (let a = 0; a < live.length; ) {
    let s = live[a];
    let b = a + 1;
    while (b < live.length && compareLabels(live[b].labels, s.labels) === 0) b++;
    if (b > a + 1) {
      const merged = newStepSeries(s.labels, n);
      for (let k = a; k < b; k++) {
        const o = live[k];
        for (let i = 0; i < n; i++) {
          if (merged.has[i] === 0 && o.has[i] !== 0) {
            merged.has[i] = 1;
            merged.v[i] = o.v[i];
          }
        }
      }
      s = merged;
    }
    a = b;
    let cnt = 0;
    for (let i = 0; i < n; i++) cnt += s.has[i];
    if (cnt === n) {
      out.push({ labels: s.labels, t: ts, v: s.v.length === n ? s.v : s.v.subarray(0, n) });
      continue;
    }
    const t = new Float64Array(cnt);
    const v = new Float64Array(cnt);
    let j = 0;
    for (let i = 0; i < n; i++) {
      if (s.has[i] === 0) continue;
      t[j] = ts[i];
      v[j] = s.v[i];
      j++;
    }
    out.push({ labels: s.labels, t, v });
  }
  return out;
}

/** The state of one query: fetched data, limits, and the evaluator. */
class Evaluation {
  private readonly data = new Map<VectorSelector, SeriesData[]>();
  private readonly rawCache = new Map<VectorSelector, RawSeries[]>();
  private readonly deadline: number;
  private readonly stats: QueryStats = {
    selects: 0,
    samplesLoaded: 0,
    peakSamples: 0,
    fetchMs: 0,
    evalMs: 0,
  };
  private checks = 0;

  constructor(
    private readonly engine: Engine,
    private readonly expr: Expr,
    private readonly start: number,
    private readonly end: number,
    private readonly opts: QueryOptions | undefined,
  ) {
    this.deadline = Date.now() + engine.timeoutMs;
  }

  async run(ts: Float64Array): Promise<Value> {
    const t0 = performance.now();
    const fetches: { vs: VectorSelector; mint: number; maxt: number }[] = [];
    this.plan(this.expr, ts[0], ts[ts.length - 1], fetches);
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const signal = this.opts?.signal;
    // The storage may be slow; the deadline and the caller's abort still end the query on time.
    const stop = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new QueryError('timeout', 'query timed out in expression evaluation')),
        Math.max(0, this.deadline - Date.now()),
      );
      onAbort = () => reject(new QueryError('canceled', 'query was canceled in expression evaluation'));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      if (signal?.aborted) throw new QueryError('canceled', 'query was canceled in expression evaluation');
      // Selectors with the same matchers and time range (`sum(x) / count(x)`) share one select: the
      // shards decode and send the data once.
      const shared = new Map<string, Promise<SeriesData[]>>();
      const selects = Promise.all(
        fetches.map((f) => {
          const key = `${f.mint},${f.maxt},${JSON.stringify(f.vs.matchers)}`;
          let p = shared.get(key);
          if (p === undefined) {
            p = this.engine.queryable.select(f.vs.matchers, f.mint, f.maxt);
            shared.set(key, p);
          } else this.stats.selects--;
          return p;
        }),
      );
      // A select that fails after the race is lost must not become an unhandled rejection.
      selects.catch(() => {});
      const results = await Promise.race([selects, stop]);
      const counted = new Set<SeriesData[]>();
      fetches.forEach((f, i) => {
        this.data.set(f.vs, results[i]);
        if (counted.has(results[i])) return;
        counted.add(results[i]);
        for (const s of results[i]) this.stats.samplesLoaded += s.t.length;
      });
    } finally {
      clearTimeout(timer);
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
    }
    this.stats.selects += fetches.length;
    const t1 = performance.now();
    this.stats.fetchMs = t1 - t0;
    this.check();
    let v: Value;
    try {
      v = this.eval(this.expr, { ts });
    } catch (e) {
      if (e instanceof RangeError && /call stack/i.test(e.message)) {
        throw new QueryError('execution', 'query is too deeply nested to evaluate');
      }
      throw e;
    }
    this.stats.evalMs = performance.now() - t1;
    this.engine.lastStats = this.stats;
    this.opts?.onStats?.(this.stats);
    return v;
  }

  private atTime(at: AtModifier): number {
    if (at.kind === 'time') return at.ms;
    return at.kind === 'start' ? this.start : this.end;
  }

  /** Collects the selectors with the time range each must read: [min step - offset - range/lookback, max step - offset]. */
  private plan(
    e: Expr,
    minT: number,
    maxT: number,
    out: { vs: VectorSelector; mint: number; maxt: number }[],
  ): void {
    switch (e.kind) {
      case 'vectorSelector': {
        const [a, b] = this.effectiveRange(e.at, e.offset, minT, maxT);
        out.push({ vs: e, mint: a - this.engine.lookbackDelta, maxt: b });
        return;
      }
      case 'matrixSelector': {
        const [a, b] = this.effectiveRange(e.vs.at, e.vs.offset, minT, maxT);
        out.push({ vs: e.vs, mint: a - e.range, maxt: b });
        return;
      }
      case 'subquery': {
        const [a, b] = this.effectiveRange(e.at, e.offset, minT, maxT);
        const step = e.step || this.engine.defaultEvalInterval;
        this.plan(e.expr, a - e.range - step, b, out);
        return;
      }
      case 'call':
        for (const x of e.args) this.plan(x, minT, maxT, out);
        return;
      case 'aggregate':
        if (e.param !== null) this.plan(e.param, minT, maxT, out);
        this.plan(e.expr, minT, maxT, out);
        return;
      case 'binary':
        this.plan(e.lhs, minT, maxT, out);
        this.plan(e.rhs, minT, maxT, out);
        return;
      case 'unary':
      case 'paren':
        this.plan(e.expr, minT, maxT, out);
        return;
      default:
        return;
    }
  }

  private effectiveRange(
    at: AtModifier | null,
    offset: number,
    minT: number,
    maxT: number,
  ): [number, number] {
    if (at !== null) {
      const t = this.atTime(at) - offset;
      return [t, t];
    }
    return [minT - offset, maxT - offset];
  }

  /** Timeout, cancellation; called once per series or step batch. */
  private check(): void {
    if ((++this.checks & 63) !== 0 && this.checks > 1) return;
    if (this.opts?.signal?.aborted)
      throw new QueryError('canceled', 'query was canceled in expression evaluation');
    if (Date.now() > this.deadline)
      throw new QueryError('timeout', 'query timed out in expression evaluation');
  }

  /**
   * The max-samples check, as 2.42 counts: the points a node produces (all steps of its output, or the
   * windows of a range function) plus the outputs its ancestors are still holding (the evaluated left side
   * of a binary operation while the right side is evaluated).
   */
  private account(points: number): void {
    const total = points + this.held;
    if (total > this.stats.peakSamples) this.stats.peakSamples = total;
    if (total > this.engine.maxSamples) throw new QueryError('execution', TOO_MANY_SAMPLES);
  }

  private held = 0;

  private pointsOf(v: Value): number {
    if (v.type === 'vector') return countPresent(v.series);
    if (v.type === 'matrix') {
      let n = 0;
      for (const s of v.series) n += s.t.length;
      return n;
    }
    return 0;
  }

  private vector(series: StepSeries[]): Value {
    this.account(countPresent(series));
    return { type: 'vector', series };
  }

  eval(e: Expr, ctx: Ctx): Value {
    this.check();
    const n = ctx.ts.length;
    switch (e.kind) {
      case 'number':
        return { type: 'scalar', v: new Float64Array(n).fill(e.value) };
      case 'string':
        return { type: 'string', s: e.value };
      case 'paren':
        return this.eval(e.expr, ctx);
      case 'vectorSelector':
        return this.vector(this.selectVector(e, ctx, false));
      case 'matrixSelector': {
        // Only reachable at the top level of an instant query.
        const te = e.vs.at !== null ? this.atTime(e.vs.at) - e.vs.offset : ctx.ts[0] - e.vs.offset;
        return this.windowMatrix(this.raw(e.vs), te - e.range, te);
      }
      case 'subquery': {
        const te = e.at !== null ? this.atTime(e.at) - e.offset : ctx.ts[0] - e.offset;
        return this.windowMatrix(this.subqueryRaw(e, ctx), te - e.range, te);
      }
      case 'unary': {
        const v = this.eval(e.expr, ctx);
        if (e.op === '+') return v;
        if (v.type === 'scalar') return { type: 'scalar', v: v.v.map((x) => -x) };
        if (v.type === 'vector') return this.vector(mapSeries(v.series, (x) => -x));
        throw new QueryError('internal', 'unary minus on a non-numeric value');
      }
      case 'binary':
        return this.binary(e, ctx);
      case 'aggregate': {
        let param: Float64Array | string | null = null;
        if (e.param !== null) {
          const p = this.eval(e.param, ctx);
          param = p.type === 'string' ? p.s : p.type === 'scalar' ? p.v : null;
        }
        // sum by (...) (rate(x[5m])) and the like: each series' result streams into the aggregation.
        const inner = unwrapParens(e.expr);
        if (
          isSimpleAggregate(e.op) &&
          inner.kind === 'call' &&
          RANGE_FUNCTIONS[inner.func.name] !== undefined
        ) {
          const acc = new Accumulator(e.op, e.grouping, e.without, n);
          this.rangeCall(inner, ctx, acc);
          return this.vector(acc.result());
        }
        if (isSimpleAggregate(e.op) && inner.kind === 'vectorSelector') {
          const acc = new Accumulator(e.op, e.grouping, e.without, n);
          this.selectVector(inner, ctx, false, acc);
          return this.vector(acc.result());
        }
        const v = this.eval(e.expr, ctx);
        if (v.type !== 'vector') throw new QueryError('internal', 'aggregation over a non-vector');
        return this.vector(aggregate(e.op, v.series, e.grouping, e.without, param, n));
      }
      case 'call':
        return this.call(e, ctx);
    }
  }

  private binary(e: Extract<Expr, { kind: 'binary' }>, ctx: Ctx): Value {
    const l = this.eval(e.lhs, ctx);
    const heldLeft = this.pointsOf(l);
    this.held += heldLeft;
    let r: Value;
    try {
      r = this.eval(e.rhs, ctx);
    } finally {
      this.held -= heldLeft;
    }
    if (l.type === 'scalar' && r.type === 'scalar')
      return { type: 'scalar', v: scalarScalar(e.op, l.v, r.v) };
    if (l.type === 'vector' && r.type === 'scalar') {
      return this.vector(vectorScalar(e.op, l.series, r.v, false, e.returnBool));
    }
    if (l.type === 'scalar' && r.type === 'vector') {
      return this.vector(vectorScalar(e.op, r.series, l.v, true, e.returnBool));
    }
    if (l.type === 'vector' && r.type === 'vector' && e.matching !== null) {
      return this.vector(vectorVector(e.op, l.series, r.series, e.matching, e.returnBool, ctx.ts.length));
    }
    throw new QueryError('internal', 'invalid operands of a binary expression');
  }

  /** The selector's samples, stale markers removed (range vectors skip them). */
  private raw(vs: VectorSelector): RawSeries[] {
    const cached = this.rawCache.get(vs);
    if (cached !== undefined) return cached;
    const out: RawSeries[] = [];
    for (const s of this.data.get(vs) ?? []) {
      let stale = 0;
      for (let i = 0; i < s.v.length; i++) if (Number.isNaN(s.v[i]) && isStaleNaN(s.v[i])) stale++;
      if (stale === 0) {
        out.push(s);
        continue;
      }
      const t = new Float64Array(s.t.length - stale);
      const v = new Float64Array(s.t.length - stale);
      let j = 0;
      for (let i = 0; i < s.v.length; i++) {
        if (Number.isNaN(s.v[i]) && isStaleNaN(s.v[i])) continue;
        t[j] = s.t[i];
        v[j] = s.v[i];
        j++;
      }
      out.push({ labels: s.labels, t, v });
    }
    this.rawCache.set(vs, out);
    return out;
  }

  private windowMatrix(series: readonly RawSeries[], from: number, to: number): Value {
    const out: RawSeries[] = [];
    let points = 0;
    for (const s of series) {
      const lo = lowerBound(s.t, from);
      const hi = lowerBound(s.t, to + 1, lo);
      if (hi <= lo) continue;
      points += hi - lo;
      out.push({ labels: s.labels, t: s.t.slice(lo, hi), v: s.v.slice(lo, hi) });
    }
    this.account(points);
    return { type: 'matrix', series: out };
  }

  /**
   * An instant vector selector at every step: the newest sample in [t - lookback, t] (closed, as 2.42),
   * none if it is a stale marker. With `timestamps`, the value is the sample's time in seconds.
   */
  private selectVector(
    vs: VectorSelector,
    ctx: Ctx,
    timestamps: boolean,
    sink: Accumulator | null = null,
  ): StepSeries[] {
    const ts = ctx.ts;
    const n = ts.length;
    const lookback = this.engine.lookbackDelta;
    const fixed = vs.at !== null ? this.atTime(vs.at) - vs.offset : null;
    const out: StepSeries[] = [];
    // Streaming into an aggregation: one reused pair of columns.
    const scratch = sink !== null ? newStepSeries([], n) : null;
    const data = this.data.get(vs) ?? [];
    // Otherwise the columns of all series in two allocations; a slot is reused when its series has no point.
    const pool = scratch === null ? newStepSeriesPool(data.length, n) : null;
    let slot = 0;
    for (const s of data) {
      this.check();
      const st = s.t;
      const sv = s.v;
      let o: StepSeries;
      if (scratch !== null) {
        scratch.has.fill(0);
        o = { labels: s.labels, v: scratch.v, has: scratch.has };
      } else {
        o = (pool as (i: number, labels: Labels) => StepSeries)(slot, s.labels);
      }
      let j = 0; // first index with time > te
      let any = false;
      for (let k = 0; k < n; k++) {
        const te = fixed ?? ts[k] - vs.offset;
        if (k === 0 || fixed === null) {
          if (j > 0 && st[j - 1] > te) j = lowerBound(st, te + 1);
          while (j < st.length && st[j] <= te) j++;
        }
        if (j === 0) continue;
        const i = j - 1;
        if (st[i] < te - lookback) continue;
        const x = sv[i];
        if (Number.isNaN(x) && isStaleNaN(x)) continue;
        o.has[k] = 1;
        o.v[k] = timestamps ? st[i] / 1000 : x;
        any = true;
      }
      if (!any) continue;
      if (sink !== null) sink.add(o.labels, o.v, o.has);
      else {
        out.push(o);
        slot++;
      }
    }
    return out;
  }

  /** Evaluates a subquery over every step it is needed at and returns its points as range-vector series. */
  private subqueryRaw(sq: SubqueryExpr, ctx: Ctx): RawSeries[] {
    const ts = ctx.ts;
    const first = sq.at !== null ? this.atTime(sq.at) - sq.offset : ts[0] - sq.offset;
    const last = sq.at !== null ? first : ts[ts.length - 1] - sq.offset;
    const step = sq.step || this.engine.defaultEvalInterval;
    // Go's integer division truncates toward zero; Prometheus aligns the start that way.
    let start = step * Math.trunc((first - sq.range) / step);
    if (start < first - sq.range) start += step;
    const count = last >= start ? Math.floor((last - start) / step) + 1 : 0;
    const inner = new Float64Array(count);
    for (let i = 0; i < count; i++) inner[i] = start + i * step;
    if (count === 0) return [];
    const v = this.eval(sq.expr, { ts: inner });
    if (v.type !== 'vector') throw new QueryError('internal', 'subquery over a non-vector');
    const out: RawSeries[] = [];
    // Series with the same labels (e.g. from both sides of `or` at different steps) are one series.
    for (const s of mergeSameLabels(v.series, count)) {
      let cnt = 0;
      for (let i = 0; i < count; i++) cnt += s.has[i];
      if (cnt === 0) continue;
      const t = new Float64Array(cnt);
      const vals = new Float64Array(cnt);
      let j = 0;
      for (let i = 0; i < count; i++) {
        if (s.has[i] === 0) continue;
        t[j] = inner[i];
        vals[j] = s.v[i];
        j++;
      }
      out.push({ labels: s.labels, t, v: vals });
    }
    return out;
  }

  private scalarArg(e: Expr, ctx: Ctx): Float64Array {
    const v = this.eval(e, ctx);
    if (v.type !== 'scalar') throw new QueryError('internal', 'expected a scalar argument');
    return v.v;
  }

  private vectorArg(e: Expr, ctx: Ctx): StepSeries[] {
    const v = this.eval(e, ctx);
    if (v.type !== 'vector') throw new QueryError('internal', 'expected an instant vector argument');
    return v.series;
  }

  private stringArg(e: Expr): string {
    const x = unwrapParens(e);
    if (x.kind !== 'string') throw new QueryError('internal', 'expected a string argument');
    return x.value;
  }

  private call(e: Call, ctx: Ctx): Value {
    const name = e.func.name;
    const ts = ctx.ts;
    const n = ts.length;
    if (RANGE_FUNCTIONS[name] !== undefined || name === 'absent_over_time') return this.rangeCall(e, ctx);
    const mathFn = MATH_FUNCTIONS[name];
    if (mathFn !== undefined) return this.vector(mapSeries(this.vectorArg(e.args[0], ctx), mathFn));
    switch (name) {
      case 'time':
        return { type: 'scalar', v: ts.map((t) => t / 1000) };
      case 'pi':
        return { type: 'scalar', v: new Float64Array(n).fill(Math.PI) };
      case 'scalar': {
        const series = this.vectorArg(e.args[0], ctx);
        const out = new Float64Array(n);
        for (let k = 0; k < n; k++) {
          let cnt = 0;
          let val = Number.NaN;
          for (const s of series) {
            if (s.has[k] === 0) continue;
            cnt++;
            val = s.v[k];
          }
          out[k] = cnt === 1 ? val : Number.NaN;
        }
        return { type: 'scalar', v: out };
      }
      case 'vector': {
        const v = this.scalarArg(e.args[0], ctx);
        const o = newStepSeries([], n);
        o.v.set(v);
        o.has.fill(1);
        return this.vector([o]);
      }
      case 'timestamp': {
        const arg = unwrapParens(e.args[0]);
        if (arg.kind === 'vectorSelector') {
          const series = this.selectVector(arg, ctx, true);
          return this.vector(mapSeries(series, (x) => x));
        }
        return this.vector(mapSeries(this.vectorArg(arg, ctx), (_x, k) => ts[k] / 1000));
      }
      case 'minute':
      case 'hour':
      case 'day_of_week':
      case 'day_of_month':
      case 'day_of_year':
      case 'days_in_month':
      case 'month':
      case 'year': {
        const part = name as DatePart;
        if (e.args.length === 0) {
          const o = newStepSeries([], n);
          for (let k = 0; k < n; k++) {
            o.has[k] = 1;
            o.v[k] = datePart(part, ts[k] / 1000);
          }
          return this.vector([o]);
        }
        return this.vector(mapSeries(this.vectorArg(e.args[0], ctx), (x) => datePart(part, x)));
      }
      case 'clamp': {
        const series = this.vectorArg(e.args[0], ctx);
        const lo = this.scalarArg(e.args[1], ctx);
        const hi = this.scalarArg(e.args[2], ctx);
        const out = mapSeries(series, (x, k) => Math.max(lo[k], Math.min(hi[k], x)));
        for (const s of out) for (let k = 0; k < n; k++) if (hi[k] < lo[k]) s.has[k] = 0;
        return this.vector(out);
      }
      case 'clamp_min': {
        const series = this.vectorArg(e.args[0], ctx);
        const lo = this.scalarArg(e.args[1], ctx);
        return this.vector(mapSeries(series, (x, k) => Math.max(lo[k], x)));
      }
      case 'clamp_max': {
        const series = this.vectorArg(e.args[0], ctx);
        const hi = this.scalarArg(e.args[1], ctx);
        return this.vector(mapSeries(series, (x, k) => Math.min(hi[k], x)));
      }
      case 'round': {
        const series = this.vectorArg(e.args[0], ctx);
        const to = e.args.length > 1 ? this.scalarArg(e.args[1], ctx) : new Float64Array(n).fill(1);
        return this.vector(
          mapSeries(series, (x, k) => {
            const inv = 1 / to[k];
            return Math.floor(x * inv + 0.5) / inv;
          }),
        );
      }
      case 'absent': {
        const series = this.vectorArg(e.args[0], ctx);
        const arg = unwrapParens(e.args[0]);
        const labels = absentLabels(arg.kind === 'vectorSelector' ? arg.matchers : null);
        const o = newStepSeries(labels, n);
        for (let k = 0; k < n; k++) {
          if (series.some((s) => s.has[k] !== 0)) continue;
          o.has[k] = 1;
          o.v[k] = 1;
        }
        return this.vector(o.has.includes(1) ? [o] : []);
      }
      case 'sort':
      case 'sort_desc': {
        const series = this.vectorArg(e.args[0], ctx);
        if (n !== 1) return this.vector(series);
        const present = series.filter((s) => s.has[0] !== 0);
        const desc = name === 'sort_desc';
        present.sort((a, b) => {
          const x = a.v[0];
          const y = b.v[0];
          const xn = Number.isNaN(x);
          const yn = Number.isNaN(y);
          if (xn || yn) return xn === yn ? 0 : xn ? 1 : -1;
          return desc ? y - x : x - y;
        });
        return this.vector(present);
      }
      case 'label_replace': {
        const series = this.vectorArg(e.args[0], ctx);
        return this.vector(
          labelReplace(
            series,
            this.stringArg(e.args[1]),
            this.stringArg(e.args[2]),
            this.stringArg(e.args[3]),
            this.stringArg(e.args[4]),
          ),
        );
      }
      case 'label_join': {
        const series = this.vectorArg(e.args[0], ctx);
        const srcs = e.args.slice(3).map((a) => this.stringArg(a));
        return this.vector(labelJoin(series, this.stringArg(e.args[1]), this.stringArg(e.args[2]), srcs));
      }
      case 'histogram_quantile': {
        const q = this.scalarArg(e.args[0], ctx);
        return this.vector(histogramQuantile(q, this.vectorArg(e.args[1], ctx), n));
      }
      case 'histogram_count':
      case 'histogram_sum':
      case 'histogram_fraction': {
        // Native histograms only: float samples give no output.
        for (const a of e.args) this.eval(a, ctx);
        return this.vector([]);
      }
      default:
        throw new QueryError('internal', `function ${name} is not implemented`);
    }
  }

  /** A function over a range vector (a range selector or a subquery), evaluated at every step with moving cursors. */
  private rangeCall(e: Call, ctx: Ctx, sink: Accumulator | null = null): Value {
    const name = e.func.name;
    const ts = ctx.ts;
    const n = ts.length;
    let mi = 0;
    for (let i = 0; i < e.args.length; i++) {
      const k = unwrapParens(e.args[i]).kind;
      if (k === 'matrixSelector' || k === 'subquery') {
        mi = i;
        break;
      }
    }
    const marg = unwrapParens(e.args[mi]);
    let series: readonly RawSeries[];
    let range: number;
    let offset: number;
    let at: AtModifier | null;
    let absentFrom: VectorSelector | null = null;
    if (marg.kind === 'matrixSelector') {
      series = this.raw(marg.vs);
      range = marg.range;
      offset = marg.vs.offset;
      at = marg.vs.at;
      absentFrom = marg.vs;
    } else if (marg.kind === 'subquery') {
      series = this.subqueryRaw(marg, ctx);
      range = marg.range;
      offset = marg.offset;
      at = marg.at;
    } else {
      throw new QueryError('internal', `expected a range vector argument to ${name}`);
    }
    const scalars: Float64Array[] = [];
    for (let i = 0; i < e.args.length; i++) if (i !== mi) scalars.push(this.scalarArg(e.args[i], ctx));
    const fixed = at !== null ? this.atTime(at) - offset : null;
    const rangeEnd = (k: number): number => fixed ?? ts[k] - offset;

    if (name === 'absent_over_time') {
      const present = new Uint8Array(n);
      for (const s of series) {
        let lo = 0;
        let hi = 0;
        for (let k = 0; k < n; k++) {
          const end = rangeEnd(k);
          while (hi < s.t.length && s.t[hi] <= end) hi++;
          while (lo < hi && s.t[lo] < end - range) lo++;
          if (hi > lo) present[k] = 1;
        }
      }
      const o = newStepSeries(absentLabels(absentFrom !== null ? absentFrom.matchers : null), n);
      for (let k = 0; k < n; k++) {
        if (present[k] === 0) {
          o.has[k] = 1;
          o.v[k] = 1;
        }
      }
      return this.vector(o.has.includes(1) ? [o] : []);
    }

    const fn = RANGE_FUNCTIONS[name];
    const w: Window = {
      rangeStart: 0,
      rangeEnd: 0,
      rangeMs: range,
      stepT: 0,
      args: new Array(scalars.length),
    };
    const keepName = name === 'last_over_time';
    const ends = new Float64Array(n);
    for (let k = 0; k < n; k++) ends[k] = rangeEnd(k);
    const isRateFamily = name === 'rate' || name === 'increase' || name === 'delta';
    // Streaming into an aggregation: one reused pair of columns instead of one per series.
    const pool = sink === null ? newStepSeriesPool(series.length, n) : newStepSeriesPool(1, n);
    const out: StepSeries[] = [];
    const seen = new Set<string>();
    let peak = 0;
    for (let si = 0; si < series.length; si++) {
      const s = series[si];
      this.check();
      const st = s.t;
      const o = pool(sink === null ? si : 0, keepName ? s.labels : dropMetricName(s.labels));
      if (sink !== null) {
        o.has.fill(0);
      }
      let any = false;
      if (isRateFamily) {
        peak += extrapolatedRateSeries(st, s.v, ends, range, name !== 'delta', name === 'rate', o.v, o.has);
        any = o.has.includes(1);
      } else {
        let lo = 0;
        let hi = 0;
        let maxWindow = 0;
        for (let k = 0; k < n; k++) {
          const end = ends[k];
          const start = end - range;
          if (hi > 0 && st[hi - 1] > end) {
            hi = lowerBound(st, end + 1);
            lo = 0;
          }
          while (hi < st.length && st[hi] <= end) hi++;
          while (lo < hi && st[lo] < start) lo++;
          if (hi - lo > maxWindow) maxWindow = hi - lo;
          w.rangeStart = start;
          w.rangeEnd = end;
          w.stepT = ts[k];
          for (let a = 0; a < scalars.length; a++) w.args[a] = scalars[a][k];
          const r = fn(st, s.v, lo, hi, w);
          if (r === undefined) continue;
          o.has[k] = 1;
          o.v[k] = r;
          any = true;
        }
        peak += maxWindow;
      }
      if (!any) continue;
      // Prometheus checks the whole result matrix for label sets that collide once the name is dropped.
      if (!keepName) {
        const key = labelsKey(o.labels);
        if (seen.has(key)) throw dupLabelsetError();
        seen.add(key);
      }
      if (sink !== null) sink.add(o.labels, o.v, o.has);
      else out.push(o);
    }
    this.account(peak);
    if (keepName) checkNoDuplicates(out);
    return this.vector(out);
  }
}

export type { Labels };
