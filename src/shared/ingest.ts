/**
 * The write interface that scraping and remote write use; the coordinator implements it over the shards.
 * A request is series-major: series i has the samples [sampleStart[i], sampleStart[i+1]) of t and v, in
 * time order. Timestamps are int64 milliseconds held exactly in a Float64Array; values keep their bits.
 */
export interface AppendRequest {
  /** Per series: its labels flattened as [name0, value0, name1, value1, ...]; the coordinator sorts and validates. */
  readonly series: readonly (readonly string[])[];
  /**
   * Optional, per series: the ref an earlier outcome gave it (AppendOutcome.refs), or NO_REF. A series
   * with a ref is routed by it alone and its labels may be empty, so a caller that remembers refs in typed
   * columns (as Prometheus' scrape cache remembers series refs) keeps no label objects per series.
   * Only for an Appendable whose `resolvesRefs` is true.
   */
  readonly refs?: Float64Array;
  /** series.length + 1 offsets into t and v. */
  readonly sampleStart: Uint32Array;
  readonly t: Float64Array;
  readonly v: Float64Array;
}

/** What happened to each sample of a request; rejected samples are counted by Prometheus' reasons. */
export interface AppendOutcome {
  appended: number;
  /** Same timestamp and same value as the stored sample: ignored without error, as Prometheus does. */
  duplicatesIgnored: number;
  outOfOrder: number;
  /** Same timestamp, other value. */
  duplicateTimestamp: number;
  /** Older than the head's appendable window. */
  outOfBounds: number;
  /** Further ahead of the wall clock than the allowed grace period. */
  tooFarInFuture: number;
  /** Series refused before reaching a shard (bad labels, NaN timestamps), with the first reasons. */
  invalidSeries: number;
  errors: string[];
  /** When the request carried refs: per series, the ref to send next time, or NO_REF (refused, unknown). */
  refs?: Float64Array;
}

/** "No ref known" in AppendRequest.refs and AppendOutcome.refs. */
export const NO_REF = -1;

export interface Appendable {
  append(req: AppendRequest): Promise<AppendOutcome>;
  /**
   * True when append understands AppendRequest.refs and answers AppendOutcome.refs. While false (or
   * absent) every series must carry its labels (a remote_write tee forwards them).
   */
  readonly resolvesRefs?: boolean;
}

export function emptyOutcome(): AppendOutcome {
  return {
    appended: 0,
    duplicatesIgnored: 0,
    outOfOrder: 0,
    duplicateTimestamp: 0,
    outOfBounds: 0,
    tooFarInFuture: 0,
    invalidSeries: 0,
    errors: [],
  };
}
