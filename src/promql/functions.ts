/** Functions over instant vectors and scalars (promql/functions.go of Prometheus 2.42). */
import type { Labels } from '../shared/labels.js';
import { getLabel, labelsKey } from '../shared/labels.js';
import { re2ToJs } from '../shared/re2.js';
import { QueryError } from './api.js';
import type { StepSeries } from './value.js';
import {
  checkNoDuplicates,
  deleteLabels,
  dropMetricName,
  newStepSeries,
  SeriesBuilder,
  setLabel,
} from './value.js';

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/** Go's math.Frexp: x = frac * 2^exp with frac in [0.5, 1). */
function frexp(x: number): [number, number] {
  if (x === 0 || !Number.isFinite(x)) return [x, 0];
  let e = 0;
  let v = x;
  if (Math.abs(v) < 2.2250738585072014e-308) {
    v *= 2 ** 52;
    e = -52;
  }
  f64[0] = v;
  const hi = u32[1];
  e += ((hi >>> 20) & 0x7ff) - 1022;
  u32[1] = (hi & ~(0x7ff << 20)) | (1022 << 20);
  return [f64[0], e];
}

/** Go's math.Ldexp (frac * 2^exp), exact including subnormal results. */
function ldexp(frac: number, exp: number): number {
  let v = frac;
  let e = exp;
  while (e > 1000) {
    v *= 2 ** 1000;
    e -= 1000;
  }
  while (e < -1000) {
    v *= 2 ** -1000;
    e += 1000;
    if (v === 0) return v;
  }
  return v * 2 ** e;
}

/**
 * Go's math.Pow. Its special cases differ from JS `**` (1^NaN, (-1)^±Inf), and for integer exponents it
 * multiplies by repeated squaring, which can differ from V8's pow in the last bit; that bit matters to
 * `%` and comparisons, so integer powers follow Go's algorithm exactly.
 */
export function goPow(x: number, y: number): number {
  if (y === 0 || x === 1) return 1;
  if (y === 1) return x;
  if (Number.isNaN(x) || Number.isNaN(y)) return Number.NaN;
  if (x === 0 || !Number.isFinite(x) || !Number.isFinite(y)) {
    if (x === -1 && !Number.isFinite(y)) return 1;
    return x ** y;
  }
  if (y === 0.5) return Math.sqrt(x);
  if (y === -0.5) return 1 / Math.sqrt(x);
  const yi = Math.trunc(Math.abs(y));
  if (Math.abs(y) !== yi || yi >= 2 ** 53) return x ** y;
  let a1 = 1;
  let ae = 0;
  let [x1, xe] = frexp(x);
  for (let i = yi; i !== 0; i = Math.floor(i / 2)) {
    if (xe < -(1 << 12) || 1 << 12 < xe) {
      ae += xe;
      break;
    }
    if (i % 2 === 1) {
      a1 *= x1;
      ae += xe;
    }
    x1 *= x1;
    xe *= 2;
    if (x1 < 0.5) {
      x1 += x1;
      xe--;
    }
  }
  if (y < 0) {
    a1 = 1 / a1;
    ae = -ae;
  }
  return ldexp(a1, ae);
}

const DEG = 180 / Math.PI;
const RAD = Math.PI / 180;

export const MATH_FUNCTIONS: Record<string, (x: number) => number> = {
  abs: Math.abs,
  ceil: Math.ceil,
  floor: Math.floor,
  exp: Math.exp,
  sqrt: Math.sqrt,
  ln: Math.log,
  log2: Math.log2,
  log10: Math.log10,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
  sinh: Math.sinh,
  cosh: Math.cosh,
  tanh: Math.tanh,
  asinh: Math.asinh,
  acosh: Math.acosh,
  atanh: Math.atanh,
  deg: (x) => x * DEG,
  rad: (x) => x * RAD,
  sgn: (x) => (x < 0 ? -1 : x > 0 ? 1 : x),
};

/** Applies fn to every present value; the metric name is dropped unless keepName. */
export function mapSeries(
  series: readonly StepSeries[],
  fn: (x: number, step: number) => number,
  keepName = false,
): StepSeries[] {
  const out: StepSeries[] = [];
  for (const s of series) {
    const o = newStepSeries(keepName ? s.labels : dropMetricName(s.labels), s.v.length);
    for (let i = 0; i < s.v.length; i++) {
      if (s.has[i] === 0) continue;
      o.has[i] = 1;
      o.v[i] = fn(s.v[i], i);
    }
    out.push(o);
  }
  checkNoDuplicates(out);
  return out;
}

export type DatePart =
  | 'minute'
  | 'hour'
  | 'day_of_week'
  | 'day_of_month'
  | 'day_of_year'
  | 'days_in_month'
  | 'month'
  | 'year';

/** Calendar fields of a Unix time in seconds, in UTC, as Go's time package gives them. */
export function datePart(part: DatePart, seconds: number): number {
  if (!Number.isFinite(seconds)) return Number.NaN;
  const d = new Date(Math.trunc(seconds) * 1000);
  switch (part) {
    case 'minute':
      return d.getUTCMinutes();
    case 'hour':
      return d.getUTCHours();
    case 'day_of_week':
      return d.getUTCDay();
    case 'day_of_month':
      return d.getUTCDate();
    case 'day_of_year': {
      const start = Date.UTC(d.getUTCFullYear(), 0, 1);
      return Math.floor((d.getTime() - start) / 86400000) + 1;
    }
    case 'days_in_month':
      return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
    case 'month':
      return d.getUTCMonth() + 1;
    case 'year':
      return d.getUTCFullYear();
  }
}

const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Go regexp syntax to JS: named groups `(?P<name>` become `(?<name>`. */
export function goRegex(src: string): RegExp {
  return new RegExp(`^(?:${re2ToJs(src)})$`, 'u');
}

/** Go's Regexp.ExpandString for `$1`, `${1}`, `$name`, `${name}`, `$$`. */
export function expandTemplate(template: string, m: RegExpExecArray): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c !== '$' || i + 1 >= template.length) {
      out += c;
      continue;
    }
    const next = template[i + 1];
    if (next === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string;
    let end: number;
    if (next === '{') {
      const close = template.indexOf('}', i + 2);
      if (close < 0) {
        out += c;
        continue;
      }
      name = template.slice(i + 2, close);
      end = close;
      if (!/^[A-Za-z0-9_]+$/.test(name)) {
        out += c;
        continue;
      }
    } else {
      const mm = /^[A-Za-z0-9_]+/.exec(template.slice(i + 1));
      if (mm === null) {
        out += c;
        continue;
      }
      name = mm[0];
      end = i + name.length;
    }
    if (/^[0-9]+$/.test(name)) {
      const idx = Number(name);
      if (idx < m.length && m[idx] !== undefined) out += m[idx];
    } else if (m.groups?.[name] !== undefined) {
      out += m.groups[name];
    }
    i = end;
  }
  return out;
}

export function labelReplace(
  series: readonly StepSeries[],
  dst: string,
  repl: string,
  src: string,
  regexSrc: string,
): StepSeries[] {
  let re: RegExp;
  try {
    re = goRegex(regexSrc);
  } catch {
    throw new QueryError('execution', `invalid regular expression in label_replace(): ${regexSrc}`);
  }
  if (!LABEL_NAME_RE.test(dst)) {
    throw new QueryError('execution', `invalid destination label name in label_replace(): ${dst}`);
  }
  const out: StepSeries[] = [];
  for (const s of series) {
    const m = re.exec(getLabel(s.labels, src));
    let labels = s.labels;
    if (m !== null) {
      const res = expandTemplate(repl, m);
      labels = setLabel(deleteLabels(s.labels, [dst]), dst, res);
    }
    out.push({ labels, v: s.v, has: s.has });
  }
  checkNoDuplicates(out);
  return out;
}

export function labelJoin(
  series: readonly StepSeries[],
  dst: string,
  sep: string,
  srcs: readonly string[],
): StepSeries[] {
  for (const src of srcs) {
    if (!LABEL_NAME_RE.test(src))
      throw new QueryError('execution', `invalid source label name in label_join(): ${src}`);
  }
  if (!LABEL_NAME_RE.test(dst)) {
    throw new QueryError('execution', `invalid destination label name in label_join(): ${dst}`);
  }
  const out: StepSeries[] = [];
  for (const s of series) {
    const joined = srcs.map((src) => getLabel(s.labels, src)).join(sep);
    out.push({ labels: setLabel(s.labels, dst, joined), v: s.v, has: s.has });
  }
  checkNoDuplicates(out);
  return out;
}

interface Bucket {
  upper: number;
  count: number;
}

/** Prometheus' bucketQuantile over classic buckets (sorted here). */
export function bucketQuantile(q: number, buckets: Bucket[]): number {
  if (Number.isNaN(q)) return Number.NaN;
  if (q < 0) return Number.NEGATIVE_INFINITY;
  if (q > 1) return Number.POSITIVE_INFINITY;
  buckets.sort((a, b) => a.upper - b.upper);
  if (buckets[buckets.length - 1].upper !== Number.POSITIVE_INFINITY) return Number.NaN;
  // Coalesce buckets with the same upper bound.
  const bs: Bucket[] = [];
  for (const b of buckets) {
    const last = bs[bs.length - 1];
    if (last !== undefined && last.upper === b.upper) last.count += b.count;
    else bs.push({ upper: b.upper, count: b.count });
  }
  let max = Number.NEGATIVE_INFINITY;
  for (const b of bs) {
    if (b.count > max) max = b.count;
    else if (b.count < max) b.count = max;
  }
  if (bs.length < 2) return Number.NaN;
  const observations = bs[bs.length - 1].count;
  if (observations === 0) return Number.NaN;
  let rank = q * observations;
  // sort.Search over the first len-1 buckets.
  let lo = 0;
  let hi = bs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (bs[mid].count >= rank) hi = mid;
    else lo = mid + 1;
  }
  const b = lo;
  if (b === bs.length - 1) return bs[bs.length - 2].upper;
  if (b === 0 && bs[0].upper <= 0) return bs[0].upper;
  let start = 0;
  const end = bs[b].upper;
  let count = bs[b].count;
  if (b > 0) {
    start = bs[b - 1].upper;
    count -= bs[b - 1].count;
    rank -= bs[b - 1].count;
  }
  return start + (end - start) * (rank / count);
}

/** Go's strconv.ParseFloat for a bucket's `le` value; null when it does not parse. */
function parseLe(s: string): number | null {
  const t = s.trim() === s ? s : '';
  if (t === '') return null;
  const lower = t.toLowerCase();
  if (lower === '+inf' || lower === 'inf' || lower === '+infinity' || lower === 'infinity')
    return Number.POSITIVE_INFINITY;
  if (lower === '-inf' || lower === '-infinity') return Number.NEGATIVE_INFINITY;
  if (lower === 'nan') return Number.NaN;
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return Number(t);
  if (/^[+-]?0[xX][0-9a-fA-F]+$/.test(t)) return Number.parseInt(t, 16);
  return null;
}

export function histogramQuantile(q: Float64Array, series: readonly StepSeries[], n: number): StepSeries[] {
  // Group series by their labels without `le` (metric name kept in the key, dropped in the output).
  const groupOf: number[] = [];
  const uppers: number[] = [];
  const groups: Labels[] = [];
  const keys = new Map<string, number>();
  for (const s of series) {
    const le = parseLe(getLabel(s.labels, 'le'));
    if (le === null) {
      groupOf.push(-1);
      uppers.push(0);
      continue;
    }
    const key = labelsKey(deleteLabels(s.labels, ['le']));
    let g = keys.get(key);
    if (g === undefined) {
      g = groups.length;
      keys.set(key, g);
      groups.push(deleteLabels(s.labels, ['le', '__name__']));
    }
    groupOf.push(g);
    uppers.push(le);
  }
  const out = groups.map((l) => newStepSeries(l, n));
  const perGroup: Bucket[][] = groups.map(() => []);
  for (let step = 0; step < n; step++) {
    for (const b of perGroup) b.length = 0;
    for (let i = 0; i < series.length; i++) {
      const g = groupOf[i];
      if (g < 0 || series[i].has[step] === 0) continue;
      perGroup[g].push({ upper: uppers[i], count: series[i].v[step] });
    }
    for (let g = 0; g < groups.length; g++) {
      if (perGroup[g].length === 0) continue;
      out[g].has[step] = 1;
      out[g].v[step] = bucketQuantile(q[step], perGroup[g]);
    }
  }
  const res = out.filter((s) => s.has.includes(1));
  checkNoDuplicates(res);
  return res;
}

/** `absent()` labels: the equality matchers of a selector argument, minus names matched more than once. */
export function absentLabels(
  matchers: readonly { type: string; name: string; value: string }[] | null,
): Labels {
  if (matchers === null) return [];
  let ls: Labels = [];
  const empty: string[] = [];
  for (const m of matchers) {
    if (m.name === '__name__') continue;
    if (m.type === '=' && getLabel(ls, m.name) === '' && !ls.some((l) => l.name === m.name)) {
      ls = setLabel(ls, m.name, m.value);
    } else {
      empty.push(m.name);
    }
  }
  return deleteLabels(ls, empty);
}

/** One output series for vector(s) / absent(). */
export function constantSeries(labels: Labels, n: number): StepSeries {
  return newStepSeries(labels, n);
}

export { SeriesBuilder };
