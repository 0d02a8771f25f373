/** Summary statistics for bench figures. */

export interface Dist {
  count: number;
  min: number;
  p10: number;
  p25: number;
  p50: number;
  p75: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of sorted values. */
function rank(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

export function distribution(values: ArrayLike<number>): Dist {
  const s = Float64Array.from(values).sort();
  let sum = 0;
  for (let i = 0; i < s.length; i++) sum += s[i];
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return {
    count: s.length,
    min: r(s[0] ?? Number.NaN),
    p10: r(rank(s, 0.1)),
    p25: r(rank(s, 0.25)),
    p50: r(rank(s, 0.5)),
    p75: r(rank(s, 0.75)),
    p90: r(rank(s, 0.9)),
    p99: r(rank(s, 0.99)),
    max: r(s[s.length - 1] ?? Number.NaN),
    mean: r(s.length > 0 ? sum / s.length : Number.NaN),
  };
}

/** The table's spread: interquartile range relative to the median ((p75 - p25) / p50). */
export function spread(d: Dist): number {
  return d.p50 > 0 ? (d.p75 - d.p25) / d.p50 : Number.NaN;
}
