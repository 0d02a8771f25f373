/** Aggregation operators (Prometheus 2.42 engine.go `aggregation`), over step columns. */
import type { Labels } from '../shared/labels.js';
import { labelsKey } from '../shared/labels.js';
import { QueryError } from './api.js';
import type { AggregateOp } from './ast.js';
import { quantileOf } from './range-functions.js';
import type { StepSeries } from './value.js';
import { formatFloatF, keepLabels, newStepSeries, setLabel, withoutLabels } from './value.js';

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
  if (op === 'topk' || op === 'bottomk')
    return topBottomK(op, series, groupOf, groups.length, param as Float64Array, n);
  if (op === 'quantile') return quantileAgg(series, groupOf, groups, param as Float64Array, n);

  const G = groups.length;
  const value = new Float64Array(G * n);
  const mean = new Float64Array(G * n);
  const count = new Float64Array(G * n);
  for (let i = 0; i < series.length; i++) {
    const g = groupOf[i];
    if (g < 0) continue;
    const s = series[i];
    const base = g * n;
    for (let k = 0; k < n; k++) {
      if (s.has[k] === 0) continue;
      const x = s.v[k];
      const j = base + k;
      const c = count[j];
      if (c === 0) {
        count[j] = 1;
        value[j] = op === 'stddev' || op === 'stdvar' ? 0 : op === 'group' || op === 'count' ? 1 : x;
        mean[j] = x;
        continue;
      }
      const cnt = c + 1;
      count[j] = cnt;
      switch (op) {
        case 'sum':
          value[j] += x;
          break;
        case 'avg': {
          const m = mean[j];
          if (m === Number.POSITIVE_INFINITY || m === Number.NEGATIVE_INFINITY) {
            if ((x === Number.POSITIVE_INFINITY || x === Number.NEGATIVE_INFINITY) && m > 0 === x > 0) break;
            if (Number.isFinite(x)) break;
          }
          mean[j] = m + (x / cnt - m / cnt);
          break;
        }
        case 'count':
          value[j] = cnt;
          break;
        case 'group':
          break;
        case 'min':
          if (value[j] > x || Number.isNaN(value[j])) value[j] = x;
          break;
        case 'max':
          if (value[j] < x || Number.isNaN(value[j])) value[j] = x;
          break;
        case 'stddev':
        case 'stdvar': {
          const delta = x - mean[j];
          mean[j] += delta / cnt;
          value[j] += delta * (x - mean[j]);
          break;
        }
        default:
          throw new QueryError('internal', `unknown aggregation ${op}`);
      }
    }
  }
  const out: StepSeries[] = [];
  for (let g = 0; g < G; g++) {
    const o = newStepSeries(groups[g], n);
    const base = g * n;
    for (let k = 0; k < n; k++) {
      const c = count[base + k];
      if (c === 0) continue;
      o.has[k] = 1;
      switch (op) {
        case 'avg':
          o.v[k] = mean[base + k];
          break;
        case 'stdvar':
          o.v[k] = value[base + k] / c;
          break;
        case 'stddev':
          o.v[k] = Math.sqrt(value[base + k] / c);
          break;
        default:
          o.v[k] = value[base + k];
      }
    }
    out.push(o);
  }
  return out;
}

function quantileAgg(
  series: readonly StepSeries[],
  groupOf: Int32Array,
  groups: Labels[],
  q: Float64Array,
  n: number,
): StepSeries[] {
  const out = groups.map((l) => newStepSeries(l, n));
  const vals: number[][] = groups.map(() => []);
  for (let k = 0; k < n; k++) {
    for (const v of vals) v.length = 0;
    for (let i = 0; i < series.length; i++) {
      const g = groupOf[i];
      if (g < 0 || series[i].has[k] === 0) continue;
      vals[g].push(series[i].v[k]);
    }
    for (let g = 0; g < groups.length; g++) {
      if (vals[g].length === 0) continue;
      out[g].has[k] = 1;
      out[g].v[k] = quantileOf(q[k], vals[g]);
    }
  }
  return out;
}

function topBottomK(
  op: 'topk' | 'bottomk',
  series: readonly StepSeries[],
  groupOf: Int32Array,
  G: number,
  param: Float64Array,
  n: number,
): StepSeries[] {
  const top = op === 'topk';
  /** a ranks strictly before b: larger for topk, smaller for bottomk; NaN always last. */
  const before = (a: number, b: number): boolean => {
    if (Number.isNaN(a)) return false;
    if (Number.isNaN(b)) return true;
    return top ? a > b : a < b;
  };
  const sizes = new Int32Array(G);
  for (let i = 0; i < series.length; i++) if (groupOf[i] >= 0) sizes[groupOf[i]]++;
  const outSeries: (StepSeries | null)[] = series.map(() => null);
  let lastOrder: number[] = [];
  // Per group, the best k so far at this step, kept sorted (best first); equal values keep arrival order.
  const best: Int32Array[] = [];
  const cnt = new Int32Array(G);
  for (let k = 0; k < n; k++) {
    const kk = Math.trunc(param[k]);
    if (!(kk >= 1)) {
      lastOrder = [];
      continue;
    }
    cnt.fill(0);
    for (let g = 0; g < G; g++) {
      const cap = Math.min(kk, sizes[g]);
      if (best[g] === undefined || best[g].length < cap) best[g] = new Int32Array(cap);
    }
    for (let i = 0; i < series.length; i++) {
      const g = groupOf[i];
      if (g < 0 || series[i].has[k] === 0) continue;
      const x = series[i].v[k];
      const b = best[g];
      const cap = Math.min(kk, sizes[g]);
      let c = cnt[g];
      if (c === cap) {
        if (!before(x, series[b[c - 1]].v[k])) continue;
        c--; // drop the worst
      }
      let pos = c;
      while (pos > 0 && before(x, series[b[pos - 1]].v[k])) {
        b[pos] = b[pos - 1];
        pos--;
      }
      b[pos] = i;
      cnt[g] = c + 1;
    }
    const order: number[] = [];
    for (let g = 0; g < G; g++) {
      const b = best[g];
      for (let j = 0; j < cnt[g]; j++) {
        const i = b[j];
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
