/**
 * Functions over range vectors (promql/functions.go of Prometheus 2.42). Each one reads the samples
 * t[lo..hi), v[lo..hi) of one series' window directly from its columns and returns the value, or
 * undefined for "no output at this step".
 */
import { QueryError } from './api.js';

export interface Window {
  /** Start and end of the selected range (ms): [rangeEnd - range, rangeEnd]. */
  rangeStart: number;
  rangeEnd: number;
  rangeMs: number;
  /** The evaluation timestamp of this step (ms). */
  stepT: number;
  /** Scalar arguments at this step, in argument order (the range vector excluded). */
  args: number[];
}

export type RangeFn = (
  t: Float64Array,
  v: Float64Array,
  lo: number,
  hi: number,
  w: Window,
) => number | undefined;

/** Neumaier-compensated summation step, as Prometheus' kahanSumInc. */
export function kahanInc(inc: number, sum: number, c: number, out: Float64Array): void {
  const t = sum + inc;
  if (Math.abs(sum) >= Math.abs(inc)) c += sum - t + inc;
  else c += inc - t + sum;
  out[0] = t;
  out[1] = c;
}

const kb = new Float64Array(2);

function extrapolatedRate(
  t: Float64Array,
  v: Float64Array,
  lo: number,
  hi: number,
  w: Window,
  isCounter: boolean,
  isRate: boolean,
): number | undefined {
  const n = hi - lo;
  if (n < 2) return undefined;
  let result = v[hi - 1] - v[lo];
  if (isCounter) {
    let last = 0;
    for (let i = lo; i < hi; i++) {
      const x = v[i];
      if (x < last) result += last;
      last = x;
    }
  }
  let durationToStart = (t[lo] - w.rangeStart) / 1000;
  const durationToEnd = (w.rangeEnd - t[hi - 1]) / 1000;
  const sampledInterval = (t[hi - 1] - t[lo]) / 1000;
  const avgBetween = sampledInterval / (n - 1);
  if (isCounter && result > 0 && v[lo] >= 0) {
    const durationToZero = sampledInterval * (v[lo] / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  const threshold = avgBetween * 1.1;
  let extrapolateTo = sampledInterval;
  extrapolateTo += durationToStart < threshold ? durationToStart : avgBetween / 2;
  extrapolateTo += durationToEnd < threshold ? durationToEnd : avgBetween / 2;
  // 2.42 (since native histograms) scales by one factor: (extrapolated / sampled) / range seconds.
  let factor = extrapolateTo / sampledInterval;
  if (isRate) factor /= w.rangeMs / 1000;
  return result * factor;
}

function instantValue(
  t: Float64Array,
  v: Float64Array,
  lo: number,
  hi: number,
  isRate: boolean,
): number | undefined {
  if (hi - lo < 2) return undefined;
  const last = v[hi - 1];
  const prev = v[hi - 2];
  let result = isRate && last < prev ? last : last - prev;
  const interval = t[hi - 1] - t[hi - 2];
  if (interval === 0) return undefined;
  if (isRate) result /= interval / 1000;
  return result;
}

const lr = new Float64Array(2);

/** Least-squares fit with x = seconds since interceptTime; writes slope and intercept into lr. */
function linearRegression(
  t: Float64Array,
  v: Float64Array,
  lo: number,
  hi: number,
  interceptTime: number,
): void {
  let n = 0;
  let sumX = 0;
  let cX = 0;
  let sumY = 0;
  let cY = 0;
  let sumXY = 0;
  let cXY = 0;
  let sumX2 = 0;
  let cX2 = 0;
  const initY = v[lo];
  let constY = true;
  for (let i = lo; i < hi; i++) {
    const y = v[i];
    if (constY && i > lo && y !== initY) constY = false;
    n += 1;
    const x = (t[i] - interceptTime) / 1000;
    kahanInc(x, sumX, cX, kb);
    sumX = kb[0];
    cX = kb[1];
    kahanInc(y, sumY, cY, kb);
    sumY = kb[0];
    cY = kb[1];
    kahanInc(x * y, sumXY, cXY, kb);
    sumXY = kb[0];
    cXY = kb[1];
    kahanInc(x * x, sumX2, cX2, kb);
    sumX2 = kb[0];
    cX2 = kb[1];
  }
  if (constY) {
    if (!Number.isFinite(initY) && !Number.isNaN(initY)) {
      lr[0] = Number.NaN;
      lr[1] = Number.NaN;
    } else {
      lr[0] = 0;
      lr[1] = initY;
    }
    return;
  }
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  lr[0] = slope;
  lr[1] = sumY / n - (slope * sumX) / n;
}

/** Prometheus' quantile over a list of values (sorts `values` in place, NaN first). */
export function quantileOf(q: number, values: Float64Array | number[]): number {
  const n = values.length;
  if (n === 0) return Number.NaN;
  if (q < 0) return Number.NEGATIVE_INFINITY;
  if (q > 1) return Number.POSITIVE_INFINITY;
  if (Number.isNaN(q)) return Number.NaN;
  const arr = values instanceof Float64Array ? values : Float64Array.from(values);
  arr.sort();
  // Float64Array.sort puts NaN last; Prometheus' order puts NaN first.
  let nan = 0;
  for (let i = n - 1; i >= 0 && Number.isNaN(arr[i]); i--) nan++;
  const sorted =
    nan === 0 ? arr : Float64Array.from([...new Array(nan).fill(Number.NaN), ...arr.subarray(0, n - nan)]);
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return sorted[lower] * (1 - weight) + sorted[upper] * weight;
}

function calcTrendValue(i: number, tf: number, s0: number, s1: number, b: number): number {
  if (i === 0) return b;
  return tf * (s1 - s0) + (1 - tf) * b;
}

export const RANGE_FUNCTIONS: Record<string, RangeFn> = {
  rate: (t, v, lo, hi, w) => extrapolatedRate(t, v, lo, hi, w, true, true),
  increase: (t, v, lo, hi, w) => extrapolatedRate(t, v, lo, hi, w, true, false),
  delta: (t, v, lo, hi, w) => extrapolatedRate(t, v, lo, hi, w, false, false),
  irate: (t, v, lo, hi) => instantValue(t, v, lo, hi, true),
  idelta: (t, v, lo, hi) => instantValue(t, v, lo, hi, false),
  deriv: (t, v, lo, hi) => {
    if (hi - lo < 2) return undefined;
    linearRegression(t, v, lo, hi, t[lo]);
    return lr[0];
  },
  predict_linear: (t, v, lo, hi, w) => {
    if (hi - lo < 2) return undefined;
    linearRegression(t, v, lo, hi, w.stepT);
    return lr[0] * w.args[0] + lr[1];
  },
  holt_winters: (_t, v, lo, hi, w) => {
    const sf = w.args[0];
    const tf = w.args[1];
    if (!(sf > 0 && sf < 1)) {
      throw new QueryError(
        'execution',
        `invalid smoothing factor. Expected: 0 < sf < 1, got: ${sf.toFixed(6)}`,
      );
    }
    if (!(tf > 0 && tf < 1)) {
      throw new QueryError('execution', `invalid trend factor. Expected: 0 < tf < 1, got: ${tf.toFixed(6)}`);
    }
    const l = hi - lo;
    if (l < 2) return undefined;
    let s0 = 0;
    let s1 = v[lo];
    let b = v[lo + 1] - v[lo];
    for (let i = 1; i < l; i++) {
      const x = sf * v[lo + i];
      b = calcTrendValue(i - 1, tf, s0, s1, b);
      const y = (1 - sf) * (s1 + b);
      s0 = s1;
      s1 = x + y;
    }
    return s1;
  },
  changes: (_t, v, lo, hi) => {
    if (hi - lo < 1) return undefined;
    let changes = 0;
    let prev = v[lo];
    for (let i = lo + 1; i < hi; i++) {
      const cur = v[i];
      if (!(cur === prev || (Number.isNaN(cur) && Number.isNaN(prev)))) changes++;
      prev = cur;
    }
    return changes;
  },
  resets: (_t, v, lo, hi) => {
    if (hi - lo < 1) return undefined;
    let resets = 0;
    let prev = v[lo];
    for (let i = lo + 1; i < hi; i++) {
      const cur = v[i];
      if (cur < prev) resets++;
      prev = cur;
    }
    return resets;
  },
  avg_over_time: (_t, v, lo, hi) => {
    if (hi - lo < 1) return undefined;
    let mean = 0;
    let count = 0;
    let c = 0;
    for (let i = lo; i < hi; i++) {
      const x = v[i];
      count++;
      if (mean === Number.POSITIVE_INFINITY || mean === Number.NEGATIVE_INFINITY) {
        if ((x === Number.POSITIVE_INFINITY || x === Number.NEGATIVE_INFINITY) && mean > 0 === x > 0)
          continue;
        if (Number.isFinite(x)) continue;
      }
      kahanInc(x / count - mean / count, mean, c, kb);
      mean = kb[0];
      c = kb[1];
    }
    if (mean === Number.POSITIVE_INFINITY || mean === Number.NEGATIVE_INFINITY) return mean;
    return mean + c;
  },
  count_over_time: (_t, _v, lo, hi) => (hi - lo < 1 ? undefined : hi - lo),
  sum_over_time: (_t, v, lo, hi) => {
    if (hi - lo < 1) return undefined;
    let sum = 0;
    let c = 0;
    for (let i = lo; i < hi; i++) {
      kahanInc(v[i], sum, c, kb);
      sum = kb[0];
      c = kb[1];
    }
    if (sum === Number.POSITIVE_INFINITY || sum === Number.NEGATIVE_INFINITY) return sum;
    return sum + c;
  },
  min_over_time: (_t, v, lo, hi) => {
    if (hi - lo < 1) return undefined;
    let m = v[lo];
    for (let i = lo; i < hi; i++) if (v[i] < m || Number.isNaN(m)) m = v[i];
    return m;
  },
  max_over_time: (_t, v, lo, hi) => {
    if (hi - lo < 1) return undefined;
    let m = v[lo];
    for (let i = lo; i < hi; i++) if (v[i] > m || Number.isNaN(m)) m = v[i];
    return m;
  },
  last_over_time: (_t, v, lo, hi) => (hi - lo < 1 ? undefined : v[hi - 1]),
  present_over_time: (_t, _v, lo, hi) => (hi - lo < 1 ? undefined : 1),
  quantile_over_time: (_t, v, lo, hi, w) => {
    if (hi - lo < 1) return undefined;
    return quantileOf(w.args[0], v.slice(lo, hi));
  },
  stddev_over_time: (_t, v, lo, hi) => {
    if (hi - lo < 1) return undefined;
    return Math.sqrt(variance(v, lo, hi));
  },
  stdvar_over_time: (_t, v, lo, hi) => {
    if (hi - lo < 1) return undefined;
    return variance(v, lo, hi);
  },
};

function variance(v: Float64Array, lo: number, hi: number): number {
  let count = 0;
  let mean = 0;
  let cMean = 0;
  let aux = 0;
  let cAux = 0;
  for (let i = lo; i < hi; i++) {
    const x = v[i];
    count++;
    const delta = x - (mean + cMean);
    kahanInc(delta / count, mean, cMean, kb);
    mean = kb[0];
    cMean = kb[1];
    kahanInc(delta * (x - (mean + cMean)), aux, cAux, kb);
    aux = kb[0];
    cAux = kb[1];
  }
  return (aux + cAux) / count;
}

/**
 * rate/increase/delta of one series at every step, in one monomorphic loop: window cursors move forward,
 * and the counter-reset correction only walks a window that holds a reset (a prefix count says which).
 * `ends[k]` is the range end at step k. Same arithmetic as extrapolatedRate.
 */
export function extrapolatedRateSeries(
  t: Float64Array,
  v: Float64Array,
  ends: Float64Array,
  rangeMs: number,
  isCounter: boolean,
  isRate: boolean,
  outV: Float64Array,
  outHas: Uint8Array,
): number {
  const len = t.length;
  let resets: Int32Array | null = null;
  if (isCounter) {
    for (let j = 1; j < len; j++) {
      if (v[j] < v[j - 1]) {
        resets = new Int32Array(len);
        let c = 0;
        for (let i = 1; i < len; i++) {
          if (v[i] < v[i - 1]) c++;
          resets[i] = c;
        }
        break;
      }
    }
  }
  let lo = 0;
  let hi = 0;
  let maxWindow = 0;
  const n = ends.length;
  const rangeSec = rangeMs / 1000;
  for (let k = 0; k < n; k++) {
    const end = ends[k];
    const start = end - rangeMs;
    if (hi > 0 && t[hi - 1] > end) {
      hi = 0;
      lo = 0;
    }
    while (hi < len && t[hi] <= end) hi++;
    while (lo < hi && t[lo] < start) lo++;
    const cnt = hi - lo;
    if (cnt > maxWindow) maxWindow = cnt;
    if (cnt < 2) continue;
    const first = v[lo];
    const lastV = v[hi - 1];
    let result = lastV - first;
    if (resets !== null && resets[hi - 1] !== resets[lo]) {
      let last = 0;
      for (let i = lo; i < hi; i++) {
        const x = v[i];
        if (x < last) result += last;
        last = x;
      }
    }
    const tFirst = t[lo];
    const tLast = t[hi - 1];
    let durationToStart = (tFirst - start) / 1000;
    const durationToEnd = (end - tLast) / 1000;
    const sampledInterval = (tLast - tFirst) / 1000;
    const avgBetween = sampledInterval / (cnt - 1);
    if (isCounter && result > 0 && first >= 0) {
      const durationToZero = sampledInterval * (first / result);
      if (durationToZero < durationToStart) durationToStart = durationToZero;
    }
    const threshold = avgBetween * 1.1;
    let extrapolateTo = sampledInterval;
    extrapolateTo += durationToStart < threshold ? durationToStart : avgBetween / 2;
    extrapolateTo += durationToEnd < threshold ? durationToEnd : avgBetween / 2;
    let factor = extrapolateTo / sampledInterval;
    if (isRate) factor /= rangeSec;
    outV[k] = result * factor;
    outHas[k] = 1;
  }
  return maxWindow;
}
