import type { Labels } from './labels.js';
import type { Matcher } from './matchers.js';

/**
 * One series of a select: its labels and its samples as columns in time order. Timestamps are int64
 * milliseconds held exactly in a Float64Array; values keep their bit patterns (stale markers included).
 */
export interface SeriesData {
  readonly labels: Labels;
  readonly t: Float64Array;
  readonly v: Float64Array;
}

/**
 * The read interface the query engine and the HTTP API use. The coordinator implements it over the
 * shards; tests implement it in memory. Series come back sorted by label set (compareLabels).
 * Times are inclusive milliseconds.
 */
export interface Queryable {
  select(matchers: readonly Matcher[], mint: number, maxt: number): Promise<SeriesData[]>;
  /** Label sets of the series matching any of the matcher sets, with data in [mint, maxt]. */
  series(matcherSets: readonly (readonly Matcher[])[], mint: number, maxt: number): Promise<Labels[]>;
  /** Sorted label names, of all series or of those matching any of the matcher sets. */
  labelNames(matcherSets: readonly (readonly Matcher[])[], mint: number, maxt: number): Promise<string[]>;
  /** Sorted values of one label, of all series or of those matching any of the matcher sets. */
  labelValues(
    name: string,
    matcherSets: readonly (readonly Matcher[])[],
    mint: number,
    maxt: number,
  ): Promise<string[]>;
}

/** The stale marker Prometheus writes: a NaN with this exact bit pattern. */
export const STALE_NAN_BITS = 0x7ff0000000000002n;
const staleBuf = new DataView(new ArrayBuffer(8));
staleBuf.setBigUint64(0, STALE_NAN_BITS);
export const STALE_NAN: number = staleBuf.getFloat64(0);

/** True when `v` carries the stale marker's bits (a plain NaN is not stale). */
export function isStaleNaN(v: number): boolean {
  if (!Number.isNaN(v)) return false;
  staleBuf.setFloat64(0, v);
  return staleBuf.getBigUint64(0) === STALE_NAN_BITS;
}
