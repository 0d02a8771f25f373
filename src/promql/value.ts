import type { Label, Labels } from '../shared/labels.js';
import { compareStrings, labelsKey, METRIC_NAME } from '../shared/labels.js';
import { QueryError } from './api.js';

/**
 * An instant vector over all evaluation steps, column-major: one entry per series, its values at every step in
 * a Float64Array and a presence flag per step (a NaN is a value, so absence needs its own column).
 */
export interface StepSeries {
  readonly labels: Labels;
  readonly v: Float64Array;
  readonly has: Uint8Array;
}

/** A range vector series: samples in time order, stale markers already removed. */
export interface RawSeries {
  readonly labels: Labels;
  readonly t: Float64Array;
  readonly v: Float64Array;
}

export type Value =
  | { readonly type: 'vector'; readonly series: StepSeries[] }
  | { readonly type: 'scalar'; readonly v: Float64Array }
  | { readonly type: 'string'; readonly s: string }
  | { readonly type: 'matrix'; readonly series: RawSeries[] };

export function newStepSeries(labels: Labels, n: number): StepSeries {
  return { labels, v: new Float64Array(n), has: new Uint8Array(n) };
}

/**
 * Allocates the columns of up to `count` series in two buffers (one allocation instead of two per series);
 * returns a function that hands out series i's columns.
 */
export function newStepSeriesPool(count: number, n: number): (i: number, labels: Labels) => StepSeries {
  const v = new Float64Array(count * n);
  const has = new Uint8Array(count * n);
  return (i, labels) => ({
    labels,
    v: v.subarray(i * n, (i + 1) * n),
    has: has.subarray(i * n, (i + 1) * n),
  });
}

export function dropMetricName(ls: Labels): Labels {
  for (let i = 0; i < ls.length; i++) {
    if (ls[i].name === METRIC_NAME) return ls.slice(0, i).concat(ls.slice(i + 1));
  }
  return ls;
}

/** Only the named labels (Prometheus' Labels.WithLabels / Builder.Keep). */
export function keepLabels(ls: Labels, names: readonly string[]): Labels {
  return ls.filter((l) => names.includes(l.name));
}

/** Without the named labels and without the metric name (Labels.WithoutLabels). */
export function withoutLabels(ls: Labels, names: readonly string[]): Labels {
  return ls.filter((l) => l.name !== METRIC_NAME && !names.includes(l.name));
}

/** Sets (or with an empty value, deletes) one label, keeping the set sorted. */
export function setLabel(ls: Labels, name: string, value: string): Labels {
  const out: Label[] = [];
  let done = false;
  for (const l of ls) {
    if (!done && compareStrings(l.name, name) >= 0) {
      if (value !== '') out.push({ name, value });
      done = true;
      if (l.name === name) continue;
    }
    out.push(l);
  }
  if (!done && value !== '') out.push({ name, value });
  return out;
}

export function deleteLabels(ls: Labels, names: readonly string[]): Labels {
  return ls.filter((l) => !names.includes(l.name));
}

export function dupLabelsetError(): QueryError {
  return new QueryError('execution', 'vector cannot contain metrics with the same labelset');
}

/**
 * Collects output series by label set; a second value for the same series at the same step is the
 * "same labelset" error Prometheus raises after every step.
 */
export class SeriesBuilder {
  private readonly byKey = new Map<string, StepSeries>();
  readonly list: StepSeries[] = [];
  constructor(private readonly n: number) {}

  get(labels: Labels, key: string = labelsKey(labels)): StepSeries {
    let s = this.byKey.get(key);
    if (s === undefined) {
      s = newStepSeries(labels, this.n);
      this.byKey.set(key, s);
      this.list.push(s);
    }
    return s;
  }

  static put(s: StepSeries, step: number, v: number): void {
    if (s.has[step] !== 0) throw dupLabelsetError();
    s.has[step] = 1;
    s.v[step] = v;
  }
}

/** Checks that no two series share a label set at any step where both have a value. */
export function checkNoDuplicates(series: readonly StepSeries[]): void {
  const seen = new Map<string, StepSeries>();
  for (const s of series) {
    const k = labelsKey(s.labels);
    const o = seen.get(k);
    if (o === undefined) {
      seen.set(k, s);
      continue;
    }
    for (let i = 0; i < s.has.length; i++) if (s.has[i] !== 0 && o.has[i] !== 0) throw dupLabelsetError();
    // Merge so a third series is checked against both.
    const merged = newStepSeries(s.labels, s.has.length);
    for (let i = 0; i < s.has.length; i++) merged.has[i] = s.has[i] | o.has[i];
    seen.set(k, merged);
  }
}

/** Go's strconv.FormatFloat(v, 'f', -1, 64): shortest round-trip digits, never an exponent. */
export function formatFloatF(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  if (Object.is(v, -0)) return '-0';
  const s = String(v);
  const m = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (m === null) return s;
  const sign = m[1];
  const digits = m[2] + (m[3] ?? '');
  const exp = Number(m[4]) - (m[2].length - 1);
  // value = 0.digits... expressed as digits * 10^(exp - (digits.length-1)) relative to first digit
  const pointPos = m[2].length + Number(m[4]);
  if (pointPos <= 0) return `${sign}0.${'0'.repeat(-pointPos)}${digits}`;
  if (pointPos >= digits.length) return sign + digits + '0'.repeat(pointPos - digits.length);
  void exp;
  return `${sign}${digits.slice(0, pointPos)}.${digits.slice(pointPos)}`;
}

/** Go's strconv.FormatFloat(v, 'g', -1, 64), which is what `%v` prints for a float64. */
export function formatFloatG(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  // Shortest digits; exponent form when the decimal exponent is < -4 or >= 6 (strconv's eprec for -1).
  const x = Number(v.toExponential().split('e')[1]);
  if (x < -4 || x >= 6) {
    const [mant, ex] = v.toExponential().split('e');
    const n = Number(ex);
    return `${mant}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  return formatFloatF(v);
}
