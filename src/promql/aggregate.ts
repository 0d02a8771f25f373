/** Aggregation operators (Prometheus 2.42 engine.go `aggregation`), over step columns. */
import type { Labels } from '../shared/labels.js';
import { labelsKey } from '../shared/labels.js';
import { QueryError } from './api.js';
import type { AggregateOp } from './ast.js';
import type { StepSeries } from './value.js';
import { formatFloatF, formatFloatG, keepLabels, newStepSeries, setLabel, withoutLabels } from './value.js';

function groupLabels(ls: Labels, grouping: readonly string[], without: boolean): Labels {
  return without ? withoutLabels(ls, grouping) : keepLabels(ls, grouping);
}

function anyPresent(s: StepSeries): boolean {
  return s.has.includes(1);
}

export function aggregate(
  op: AggregateOp,
  series: readonly StepSeries[],
  grouping: readonly string[],
  without: boolean,
  param: Float64Array | string | null,
  n: number,
): StepSeries[] {
  if (op === 'count_values') return countValues(series, grouping, without, param as string, n);

  // Grouping is static: labels do not change across steps.
  const groupOf = new Int32Array(series.length).fill(-1);
  const groups: Labels[] = [];
  const keys = new Map<string, number>();
  for (let i = 0; i < series.length; i++) {
    const s = series[i];
    if (!anyPresent(s)) continue;
    const gl = groupLabels(s.labels, grouping, without);
    const key = labelsKey(gl);
    let g = keys.get(key);
    if (g === undefined) {
      g = groups.length;
      keys.set(key, g);
      groups.push(gl);
    }
    groupOf[i] = g;
  }
  if (op === 'topk' || op === 'bottomk') {
    return topBottomK(op, series, groupOf, groups.length, param as Float64Array, n);
  }
  if (op === 'quantile') return quantileAgg(series, groupOf, groups, param as Float64Array, n);
  const acc = new Accumulator(op, grouping, without, n);
  for (const s of series) acc.add(s.labels, s.v, s.has);
  return acc.result();
}

export type SimpleAggregateOp = 'sum' | 'avg' | 'min' | 'max' | 'count' | 'group' | 'stddev' | 'stdvar';

export function isSimpleAggregate(op: AggregateOp): op is SimpleAggregateOp {
  return (
    op === 'sum' ||
    op === 'avg' ||
    op === 'min' ||
    op === 'max' ||
    op === 'count' ||
    op === 'group' ||
    op === 'stddev' ||
    op === 'stdvar'
  );
}

/**
 * sum/avg/min/max/count/group/stddev/stdvar, fed one series at a time (so a range function's output can
 * stream into it without being materialised). Groups keep first-seen order; per group and step the state
 * lives in flat typed arrays, with 2.42's arithmetic (incremental mean, Welford variance).
 */
export class Accumulator {
  private readonly keys = new Map<string, number>();
  private readonly groups: Labels[] = [];
  private value: Float64Array = new Float64Array(0);
  private mean: Float64Array = new Float64Array(0);
  private count: Float64Array = new Float64Array(0);

  constructor(
    private readonly op: AggregateOp,
    private readonly grouping: readonly string[],
    private readonly without: boolean,
    private readonly n: number,
  ) {
    if (!isSimpleAggregate(op)) throw new QueryError('internal', `${op} does not stream`);
  }

  private group(labels: Labels): number {
    const gl = groupLabels(labels, this.grouping, this.without);
    const key = labelsKey(gl);
    let g = this.keys.get(key);
    if (g === undefined) {
      g = this.groups.length;
      this.keys.set(key, g);
      this.groups.push(gl);
      const need = this.groups.length * this.n;
      if (need > this.count.length) {
        const cap = Math.max(need, this.count.length * 2, 16 * this.n);
        const grow = (a: Float64Array): Float64Array => {
          const b = new Float64Array(cap);
          b.set(a);
          return b;
        };
        this.value = grow(this.value);
        this.mean = grow(this.mean);
        this.count = grow(this.count);
      }
    }
    return g;
  }

  add(labels: Labels, v: Float64Array, has: Uint8Array): void {
    const n = this.n;
    if (!has.includes(1)) return;
    const base = this.group(labels) * n;
    const value = this.value;
    const mean = this.mean;
    const count = this.count;
    // One tight loop per operator (a switch inside the loop costs more than the arithmetic).
    switch (this.op) {
      case 'sum':
        for (let k = 0; k < n; k++) {
          if (has[k] === 0) continue;
          const j = base + k;
          if (count[j] === 0) value[j] = v[k];
          else value[j] += v[k];
          count[j]++;
        }
        return;
      case 'count':
      case 'group':
        for (let k = 0; k < n; k++) {
          if (has[k] === 0) continue;
          const j = base + k;
          count[j]++;
          value[j] = this.op === 'count' ? count[j] : 1;
        }
        return;
      case 'min':
        for (let k = 0; k < n; k++) {
          if (has[k] === 0) continue;
          const j = base + k;
          const x = v[k];
          if (count[j] === 0 || value[j] > x || Number.isNaN(value[j])) value[j] = x;
          count[j]++;
        }
        return;
      case 'max':
        for (let k = 0; k < n; k++) {
          if (has[k] === 0) continue;
          const j = base + k;
          const x = v[k];
          if (count[j] === 0 || value[j] < x || Number.isNaN(value[j])) value[j] = x;
          count[j]++;
        }
        return;
      case 'avg':
        for (let k = 0; k < n; k++) {
          if (has[k] === 0) continue;
          const j = base + k;
          const x = v[k];
          if (count[j] === 0) {
            count[j] = 1;
            mean[j] = x;
            continue;
          }
          const cnt = ++count[j];
          const m = mean[j];
          if (m === Number.POSITIVE_INFINITY || m === Number.NEGATIVE_INFINITY) {
            if ((x === Number.POSITIVE_INFINITY || x === Number.NEGATIVE_INFINITY) && m > 0 === x > 0)
              continue;
            if (Number.isFinite(x)) continue;
          }
          mean[j] = m + (x / cnt - m / cnt);
        }
        return;
      default:
        // stddev, stdvar: Welford, as 2.42.
        for (let k = 0; k < n; k++) {
          if (has[k] === 0) continue;
          const j = base + k;
          const x = v[k];
          if (count[j] === 0) {
            count[j] = 1;
            mean[j] = x;
            value[j] = 0;
            continue;
          }
          const cnt = ++count[j];
          const delta = x - mean[j];
          mean[j] += delta / cnt;
          value[j] += delta * (x - mean[j]);
        }
    }
  }

  result(): StepSeries[] {
    const n = this.n;
    const out: StepSeries[] = [];
    for (let g = 0; g < this.groups.length; g++) {
      const o = newStepSeries(this.groups[g], n);
      const base = g * n;
      for (let k = 0; k < n; k++) {
        const c = this.count[base + k];
        if (c === 0) continue;
        o.has[k] = 1;
        switch (this.op) {
          case 'avg':
            o.v[k] = this.mean[base + k];
            break;
          case 'stdvar':
            o.v[k] = this.value[base + k] / c;
            break;
          case 'stddev':
            o.v[k] = Math.sqrt(this.value[base + k] / c);
            break;
          default:
            o.v[k] = this.value[base + k];
        }
      }
      out.push(o);
    }
    return out;
  }
}

/** Steps gathered at a time by quantileAgg: 100k series x 16 steps is a 12.8 MB scratch. */
const QUANTILE_STEP_BLOCK = 16;

/**
 * quantile by (...): per group and step, the values at the ranks the quantile needs, in 2.42's order (NaN
 * first, then ascending). Instead of sorting every group at every step (2.42's sort.Float64s), the values
 * of a block of steps are gathered series by series (sequential reads of each series' columns) and the one
 * or two ranks are found by quickselect: O(n) per group and step instead of O(n log n). The result is the
 * one a full sort gives, -0 before +0 included.
 */
function quantileAgg(
  series: readonly StepSeries[],
  groupOf: Int32Array,
  groups: Labels[],
  q: Float64Array,
  n: number,
): StepSeries[] {
  const out = groups.map((l) => newStepSeries(l, n));
  const G = groups.length;
  const size = new Int32Array(G);
  for (let i = 0; i < series.length; i++) if (groupOf[i] >= 0) size[groupOf[i]]++;
  const B = Math.min(QUANTILE_STEP_BLOCK, n);
  // Group g's values for block step b live at [base[g] * B + b * size[g], ... + fill[g * B + b]).
  const base = new Int32Array(G);
  let total = 0;
  for (let g = 0; g < G; g++) {
    base[g] = total;
    total += size[g];
  }
  const scratch = new Float64Array(total * B);
  const fill = new Int32Array(G * B);
  const nans = new Int32Array(G * B);
  for (let k0 = 0; k0 < n; k0 += B) {
    const k1 = Math.min(n, k0 + B);
    fill.fill(0);
    nans.fill(0);
    for (let i = 0; i < series.length; i++) {
      const g = groupOf[i];
      if (g < 0) continue;
      const v = series[i].v;
      const has = series[i].has;
      const gb = g * B;
      const off = base[g] * B;
      const sz = size[g];
      for (let k = k0; k < k1; k++) {
        if (has[k] === 0) continue;
        const b = k - k0;
        const x = v[k];
        if (Number.isNaN(x)) nans[gb + b]++;
        else scratch[off + b * sz + fill[gb + b]++] = x;
      }
    }
    for (let g = 0; g < G; g++) {
      const o = out[g];
      for (let k = k0; k < k1; k++) {
        const b = k - k0;
        const m = fill[g * B + b];
        const nan = nans[g * B + b];
        const count = m + nan;
        if (count === 0) continue;
        o.has[k] = 1;
        const qk = q[k];
        if (qk < 0) o.v[k] = Number.NEGATIVE_INFINITY;
        else if (qk > 1) o.v[k] = Number.POSITIVE_INFINITY;
        else if (Number.isNaN(qk)) o.v[k] = Number.NaN;
        else {
          const from = base[g] * B + b * size[g];
          const rank = qk * (count - 1);
          const lower = Math.max(0, Math.floor(rank));
          const upper = Math.min(count - 1, lower + 1);
          const weight = rank - Math.floor(rank);
          const lo = lower < nan ? Number.NaN : rankValue(scratch, from, m, lower - nan, false);
          const hi =
            upper < nan
              ? Number.NaN
              : rankValue(scratch, from, m, upper - nan, upper === lower + 1 && lower >= nan);
          o.v[k] = lo * (1 - weight) + hi * weight;
        }
      }
    }
  }
  return out;
}

/**
 * The value at rank r (0-based, ascending, -0 before +0) of a[from, from + m), which holds no NaN. The
 * range is reordered. With `afterSelect`, rank r - 1 was just selected in this range, so rank r is the
 * smallest value after it.
 */
function rankValue(a: Float64Array, from: number, m: number, r: number, afterSelect: boolean): number {
  let x: number;
  if (afterSelect) {
    x = Number.POSITIVE_INFINITY;
    for (let i = from + r; i < from + m; i++) if (a[i] < x) x = a[i];
  } else {
    let lo = from;
    let hi = from + m - 1;
    const k = from + r;
    while (hi > lo) {
      const mid = (lo + hi) >>> 1;
      // Median of three as the pivot.
      if (a[mid] < a[lo]) swap(a, mid, lo);
      if (a[hi] < a[lo]) swap(a, hi, lo);
      if (a[hi] < a[mid]) swap(a, hi, mid);
      const pivot = a[mid];
      let i = lo;
      let j = hi;
      while (i <= j) {
        while (a[i] < pivot) i++;
        while (a[j] > pivot) j--;
        if (i <= j) {
          swap(a, i, j);
          i++;
          j--;
        }
      }
      if (k <= j) hi = j;
      else if (k >= i) lo = i;
      else break;
    }
    x = a[k];
  }
  if (x !== 0) return x;
  // Zeros compare equal: in sorted order the -0s come before the +0s.
  let below = 0;
  for (let i = from; i < from + m; i++) {
    const y = a[i];
    if (y < 0 || (y === 0 && 1 / y < 0)) below++;
  }
  return r < below ? -0 : 0;
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

/**
 * topk/bottomk exactly as Prometheus 2.42 picks them: a Go container/heap per group (its array order
 * matters), where a NaN on top is always replaced, then sort.Sort(sort.Reverse(heap)) for the output order
 * (insertion sort for these small k, which keeps the heap's order among equal values).
 */
function topBottomK(
  op: 'topk' | 'bottomk',
  series: readonly StepSeries[],
  groupOf: Int32Array,
  G: number,
  param: Float64Array,
  n: number,
): StepSeries[] {
  for (let k = 0; k < n; k++) {
    const p = param[k];
    if (!(p <= 2 ** 63 && p >= -(2 ** 63))) {
      throw new QueryError('execution', `Scalar value ${formatFloatG(p)} overflows int64`);
    }
  }
  let maxGroup = 0;
  const sizes = new Int32Array(G);
  for (let i = 0; i < series.length; i++) if (groupOf[i] >= 0) sizes[groupOf[i]]++;
  for (let g = 0; g < G; g++) if (sizes[g] > maxGroup) maxGroup = sizes[g];
  let K = 0;
  for (let k = 0; k < n; k++) K = Math.max(K, Math.min(Math.trunc(param[k]), maxGroup));
  // With few groups, keep one heap per (group, step) and walk each series' columns once (cache-friendly);
  // the order of candidates per heap is unchanged, so the choice is the same.
  if (n > 1 && G * n * K <= 4_000_000) return topBottomKBySeries(op, series, groupOf, G, param, n, K);
  const top = op === 'topk';
  const outSeries: (StepSeries | null)[] = series.map(() => null);
  let lastOrder: number[] = [];
  const heaps: number[][] = Array.from({ length: G }, () => []);
  for (let k = 0; k < n; k++) {
    const p = param[k];
    if (!(p <= 2 ** 63 && p >= -(2 ** 63))) {
      throw new QueryError('execution', `Scalar value ${formatFloatG(p)} overflows int64`);
    }
    const kk = Math.trunc(p);
    if (!(kk >= 1)) {
      lastOrder = [];
      continue;
    }
    const vals = (i: number): number => series[i].v[k];
    // heap.Less: topk is a min-heap, bottomk a max-heap; NaN is always "less" (on top).
    const less = (h: number[], a: number, b: number): boolean => {
      const x = vals(h[a]);
      if (Number.isNaN(x)) return true;
      return top ? x < vals(h[b]) : x > vals(h[b]);
    };
    const swap = (h: number[], a: number, b: number): void => {
      const t = h[a];
      h[a] = h[b];
      h[b] = t;
    };
    const up = (h: number[], j0: number): void => {
      let j = j0;
      for (;;) {
        const i = Math.trunc((j - 1) / 2);
        if (i === j || !less(h, j, i)) break;
        swap(h, i, j);
        j = i;
      }
    };
    const down = (h: number[], i0: number, len: number): void => {
      let i = i0;
      for (;;) {
        const j1 = 2 * i + 1;
        if (j1 >= len) break;
        let j = j1;
        const j2 = j1 + 1;
        if (j2 < len && less(h, j2, j1)) j = j2;
        if (!less(h, j, i)) break;
        swap(h, i, j);
        i = j;
      }
    };
    for (const h of heaps) h.length = 0;
    for (let i = 0; i < series.length; i++) {
      const g = groupOf[i];
      if (g < 0 || series[i].has[k] === 0) continue;
      const h = heaps[g];
      const x = series[i].v[k];
      const t = h.length > 0 ? vals(h[0]) : 0;
      if (h.length < kk || (top ? t < x : t > x) || Number.isNaN(t)) {
        if (h.length === kk) {
          if (kk === 1) {
            h[0] = i;
            continue;
          }
          // heap.Pop: move the top to the end, restore, drop it.
          swap(h, 0, h.length - 1);
          down(h, 0, h.length - 1);
          h.pop();
        }
        h.push(i);
        up(h, h.length - 1);
      }
    }
    const order: number[] = [];
    for (let g = 0; g < G; g++) {
      const h = heaps[g];
      // sort.Sort(sort.Reverse(h)): Less'(a, b) = Less(b, a), insertion sort.
      for (let a = 1; a < h.length; a++) {
        for (let b = a; b > 0 && less(h, b - 1, b); b--) swap(h, b, b - 1);
      }
      for (const i of h) {
        let o = outSeries[i];
        if (o === null) {
          o = newStepSeries(series[i].labels, n);
          outSeries[i] = o;
        }
        o.has[k] = 1;
        o.v[k] = series[i].v[k];
        if (n === 1) order.push(i);
      }
    }
    lastOrder = order;
  }
  if (n === 1) return lastOrder.map((i) => outSeries[i] as StepSeries);
  return outSeries.filter((s): s is StepSeries => s !== null);
}

/** topBottomK with series as the outer loop: heaps for every (group, step) in one flat Int32Array. */
function topBottomKBySeries(
  op: 'topk' | 'bottomk',
  series: readonly StepSeries[],
  groupOf: Int32Array,
  G: number,
  param: Float64Array,
  n: number,
  K: number,
): StepSeries[] {
  const top = op === 'topk';
  const heap = new Int32Array(Math.max(1, G * n * K));
  const len = new Int32Array(G * n);
  const kks = new Int32Array(n);
  for (let k = 0; k < n; k++) kks[k] = Math.trunc(param[k]) >= 1 ? Math.min(Math.trunc(param[k]), K) : 0;
  let k = 0;
  let base = 0;
  // heap.Less at step k between heap slots a and b.
  const less = (a: number, b: number): boolean => {
    const x = series[heap[base + a]].v[k];
    if (Number.isNaN(x)) return true;
    const y = series[heap[base + b]].v[k];
    return top ? x < y : x > y;
  };
  const swap = (a: number, b: number): void => {
    const t = heap[base + a];
    heap[base + a] = heap[base + b];
    heap[base + b] = t;
  };
  const up = (j0: number): void => {
    let j = j0;
    for (;;) {
      const i = Math.trunc((j - 1) / 2);
      if (i === j || !less(j, i)) break;
      swap(i, j);
      j = i;
    }
  };
  const down = (i0: number, l: number): void => {
    let i = i0;
    for (;;) {
      const j1 = 2 * i + 1;
      if (j1 >= l) break;
      let j = j1;
      if (j1 + 1 < l && less(j1 + 1, j1)) j = j1 + 1;
      if (!less(j, i)) break;
      swap(i, j);
      i = j;
    }
  };
  for (let i = 0; i < series.length; i++) {
    const g = groupOf[i];
    if (g < 0) continue;
    const has = series[i].has;
    const v = series[i].v;
    for (k = 0; k < n; k++) {
      const kk = kks[k];
      if (kk === 0 || has[k] === 0) continue;
      const slot = g * n + k;
      base = slot * K;
      const l = len[slot];
      const x = v[k];
      if (l < kk) {
        heap[base + l] = i;
        len[slot] = l + 1;
        up(l);
        continue;
      }
      const t = series[heap[base]].v[k];
      if (!((top ? t < x : t > x) || Number.isNaN(t))) continue;
      if (kk === 1) {
        heap[base] = i;
        continue;
      }
      swap(0, l - 1);
      down(0, l - 1);
      heap[base + l - 1] = i;
      up(l - 1);
    }
  }
  const outSeries: (StepSeries | null)[] = series.map(() => null);
  for (k = 0; k < n; k++) {
    for (let g = 0; g < G; g++) {
      const slot = g * n + k;
      base = slot * K;
      const l = len[slot];
      for (let a = 1; a < l; a++) {
        for (let b = a; b > 0 && less(b - 1, b); b--) swap(b, b - 1);
      }
      for (let j = 0; j < l; j++) {
        const i = heap[base + j];
        let o = outSeries[i];
        if (o === null) {
          o = newStepSeries(series[i].labels, n);
          outSeries[i] = o;
        }
        o.has[k] = 1;
        o.v[k] = series[i].v[k];
      }
    }
  }
  return outSeries.filter((s): s is StepSeries => s !== null);
}

const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function countValues(
  series: readonly StepSeries[],
  grouping: readonly string[],
  without: boolean,
  label: string,
  n: number,
): StepSeries[] {
  if (!LABEL_NAME_RE.test(label))
    throw new QueryError('execution', `invalid label name ${JSON.stringify(label)}`);
  const byKey = new Map<string, StepSeries>();
  const out: StepSeries[] = [];
  const g = without ? grouping : [...grouping, label];
  for (let k = 0; k < n; k++) {
    for (const s of series) {
      if (s.has[k] === 0) continue;
      const ls = groupLabels(setLabel(s.labels, label, formatFloatF(s.v[k])), g, without);
      const key = labelsKey(ls);
      let o = byKey.get(key);
      if (o === undefined) {
        o = newStepSeries(ls, n);
        byKey.set(key, o);
        out.push(o);
      }
      if (o.has[k] === 0) {
        o.has[k] = 1;
        o.v[k] = 1;
      } else {
        o.v[k] += 1;
      }
    }
  }
  return out;
}
