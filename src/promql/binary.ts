/** Binary operators (Prometheus 2.42 engine.go: VectorBinop, VectorAnd/Or/Unless, VectorscalarBinop). */
import type { Labels } from '../shared/labels.js';
import { getLabel, labelsKey, METRIC_NAME } from '../shared/labels.js';
import { QueryError } from './api.js';
import type { BinaryOp, VectorMatching } from './ast.js';
import { isComparisonOp } from './ast.js';
import { goPow } from './functions.js';
import type { StepSeries } from './value.js';
import {
  checkNoDuplicates,
  deleteLabels,
  dropMetricName,
  keepLabels,
  newStepSeries,
  SeriesBuilder,
  setLabel,
} from './value.js';

let keepOut = true;

/** The value of `l op r`; sets keepOut to false when a comparison filters the sample out. */
function elem(op: BinaryOp, l: number, r: number): number {
  keepOut = true;
  switch (op) {
    case '+':
      return l + r;
    case '-':
      return l - r;
    case '*':
      return l * r;
    case '/':
      return l / r;
    case '%':
      return l % r;
    case '^':
      return goPow(l, r);
    case 'atan2':
      return Math.atan2(l, r);
    case '==':
      keepOut = l === r;
      return l;
    case '!=':
      keepOut = l !== r;
      return l;
    case '>':
      keepOut = l > r;
      return l;
    case '<':
      keepOut = l < r;
      return l;
    case '>=':
      keepOut = l >= r;
      return l;
    case '<=':
      keepOut = l <= r;
      return l;
    default:
      throw new QueryError(
        'internal',
        `operator ${op} not allowed for operations between vectors and scalars`,
      );
  }
}

/** 2.42's shouldDropMetricName: arithmetic drops the name, but atan2 keeps it. */
function dropsName(op: BinaryOp): boolean {
  return op === '+' || op === '-' || op === '*' || op === '/' || op === '%' || op === '^';
}

export function scalarScalar(op: BinaryOp, a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const v = elem(op, a[i], b[i]);
    out[i] = isComparisonOp(op) ? (keepOut ? 1 : 0) : v;
  }
  return out;
}

export function vectorScalar(
  op: BinaryOp,
  series: readonly StepSeries[],
  scalar: Float64Array,
  swap: boolean,
  returnBool: boolean,
): StepSeries[] {
  const cmp = isComparisonOp(op);
  const drop = dropsName(op) || returnBool;
  const out: StepSeries[] = [];
  for (const s of series) {
    const o = newStepSeries(drop ? dropMetricName(s.labels) : s.labels, s.v.length);
    let any = false;
    for (let k = 0; k < s.v.length; k++) {
      if (s.has[k] === 0) continue;
      let lv = s.v[k];
      let rv = scalar[k];
      if (swap) {
        const t = lv;
        lv = rv;
        rv = t;
      }
      let value = elem(op, lv, rv);
      let keep = keepOut;
      if (cmp && swap) value = rv;
      if (returnBool) {
        value = keep ? 1 : 0;
        keep = true;
      }
      if (!keep) continue;
      o.has[k] = 1;
      o.v[k] = value;
      any = true;
    }
    if (any) out.push(o);
  }
  if (drop) checkNoDuplicates(out);
  return out;
}

/** The matching signature of a series: its on(...) labels, or all but ignoring(...) labels and the name. */
function signature(ls: Labels, m: VectorMatching): string {
  if (m.on) return labelsKey(keepLabels(ls, m.labels));
  return labelsKey(ls.filter((l) => l.name !== METRIC_NAME && !m.labels.includes(l.name)));
}

function resultMetric(lhs: Labels, rhs: Labels, op: BinaryOp, m: VectorMatching): Labels {
  let ls = lhs;
  if (dropsName(op)) ls = dropMetricName(ls);
  if (m.card === 'one-to-one') {
    ls = m.on ? keepLabels(ls, m.labels) : deleteLabels(ls, m.labels);
  }
  for (const name of m.include) {
    ls = setLabel(ls, name, getLabel(rhs, name));
  }
  return ls;
}

/** Prometheus' labels.Labels.String(): `{a="b", c="d"}`, the metric name as a plain label. */
function labelsString(ls: Labels): string {
  return `{${ls.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(', ')}}`;
}

function matchLabelsString(ls: Labels, m: VectorMatching): string {
  const sub = m.on
    ? keepLabels(ls, m.labels)
    : ls.filter((l) => !m.labels.includes(l.name) && l.name !== METRIC_NAME);
  return labelsString(sub);
}

export function vectorVector(
  op: BinaryOp,
  lhsIn: readonly StepSeries[],
  rhsIn: readonly StepSeries[],
  m: VectorMatching,
  returnBool: boolean,
  n: number,
): StepSeries[] {
  if (op === 'and' || op === 'or' || op === 'unless') return setOperation(op, lhsIn, rhsIn, m, n);
  if (m.card === 'many-to-many')
    throw new QueryError('internal', 'many-to-many only allowed for set operators');
  let lhs = lhsIn;
  let rhs = rhsIn;
  const swapped = m.card === 'one-to-many';
  if (swapped) {
    lhs = rhsIn;
    rhs = lhsIn;
  }
  // Static signature groups of the "one" side.
  const rightBySig = new Map<string, number[]>();
  for (let j = 0; j < rhs.length; j++) {
    const sig = signature(rhs[j].labels, m);
    const list = rightBySig.get(sig);
    if (list === undefined) rightBySig.set(sig, [j]);
    else list.push(j);
  }
  const lhsSig = lhs.map((s) => signature(s.labels, m));
  const builder = new SeriesBuilder(n);
  // Result labels per (lhs, rhs) pair, cached.
  const cache = new Map<number, { labels: Labels; key: string }>();
  const cmp = isComparisonOp(op);
  const matched = new Map<string, Set<string> | null>();
  const dupGroups = [...rightBySig.values()].filter((l) => l.length > 1);
  for (let k = 0; k < n; k++) {
    // A duplicate on the "one" side at this step is a many-to-many error.
    for (const list of dupGroups) {
      let first = -1;
      for (const j of list) {
        if (rhs[j].has[k] === 0) continue;
        if (first < 0) {
          first = j;
          continue;
        }
        const side = swapped ? 'left' : 'right';
        throw new QueryError(
          'execution',
          `found duplicate series for the match group ${matchLabelsString(rhs[j].labels, m)} on the ${side} hand-side of the operation: [${labelsString(rhs[j].labels)}, ${labelsString(rhs[first].labels)}];many-to-many matching not allowed: matching labels must be unique on one side`,
        );
      }
    }
    matched.clear();
    for (let i = 0; i < lhs.length; i++) {
      const ls = lhs[i];
      if (ls.has[k] === 0) continue;
      const cands = rightBySig.get(lhsSig[i]);
      if (cands === undefined) continue;
      let j = -1;
      for (const c of cands) {
        if (rhs[c].has[k] !== 0) {
          j = c;
          break;
        }
      }
      if (j < 0) continue;
      let vl = ls.v[k];
      let vr = rhs[j].v[k];
      if (swapped) {
        const t = vl;
        vl = vr;
        vr = t;
      }
      let value = elem(op, vl, vr);
      let keep = keepOut;
      if (returnBool) {
        value = keep ? 1 : 0;
        keep = true;
      }
      if (!keep) continue;
      void cmp;
      const ck = i * (rhs.length + 1) + j;
      let res = cache.get(ck);
      if (res === undefined) {
        let labels = resultMetric(ls.labels, rhs[j].labels, op, m);
        if (returnBool) labels = dropMetricName(labels);
        res = { labels, key: labelsKey(labels) };
        cache.set(ck, res);
      }
      const sig = lhsSig[i];
      const seen = matched.get(sig);
      if (m.card === 'one-to-one') {
        if (seen !== undefined) {
          throw new QueryError(
            'execution',
            'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)',
          );
        }
        matched.set(sig, null);
      } else {
        if (seen === undefined) matched.set(sig, new Set([res.key]));
        else if (seen?.has(res.key)) {
          throw new QueryError(
            'execution',
            'multiple matches for labels: grouping labels must ensure unique results',
          );
        } else seen?.add(res.key);
      }
      SeriesBuilder.put(builder.get(res.labels, res.key), k, value);
    }
  }
  return builder.list;
}

function setOperation(
  op: 'and' | 'or' | 'unless',
  lhs: readonly StepSeries[],
  rhs: readonly StepSeries[],
  m: VectorMatching,
  n: number,
): StepSeries[] {
  const lsig = lhs.map((s) => signature(s.labels, m));
  const rsig = rhs.map((s) => signature(s.labels, m));
  const out: StepSeries[] = [];
  if (op === 'and' || op === 'unless') {
    const rightBySig = new Map<string, number[]>();
    for (let j = 0; j < rsig.length; j++) {
      const l = rightBySig.get(rsig[j]);
      if (l === undefined) rightBySig.set(rsig[j], [j]);
      else l.push(j);
    }
    for (let i = 0; i < lhs.length; i++) {
      const s = lhs[i];
      const cands = rightBySig.get(lsig[i]) ?? [];
      const o = newStepSeries(s.labels, n);
      let any = false;
      for (let k = 0; k < n; k++) {
        if (s.has[k] === 0) continue;
        let found = false;
        for (const j of cands) {
          if (rhs[j].has[k] !== 0) {
            found = true;
            break;
          }
        }
        if (found === (op === 'and')) {
          o.has[k] = 1;
          o.v[k] = s.v[k];
          any = true;
        }
      }
      if (any) out.push(o);
    }
    return out;
  }
  // or: all of lhs, plus rhs series whose signature is absent from lhs at that step.
  const leftBySig = new Map<string, number[]>();
  for (let i = 0; i < lsig.length; i++) {
    const l = leftBySig.get(lsig[i]);
    if (l === undefined) leftBySig.set(lsig[i], [i]);
    else l.push(i);
  }
  for (const s of lhs) if (s.has.includes(1)) out.push(s);
  for (let j = 0; j < rhs.length; j++) {
    const s = rhs[j];
    const cands = leftBySig.get(rsig[j]) ?? [];
    const o = newStepSeries(s.labels, n);
    let any = false;
    for (let k = 0; k < n; k++) {
      if (s.has[k] === 0) continue;
      let found = false;
      for (const i of cands) {
        if (lhs[i].has[k] !== 0) {
          found = true;
          break;
        }
      }
      if (!found) {
        o.has[k] = 1;
        o.v[k] = s.v[k];
        any = true;
      }
    }
    if (any) out.push(o);
  }
  checkNoDuplicates(out);
  return out;
}
