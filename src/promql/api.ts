import type { Labels } from '../shared/labels.js';

/** A query's result, as the HTTP API renders it. Times are milliseconds. */
export type QueryValue =
  | { readonly type: 'scalar'; readonly t: number; readonly v: number }
  | { readonly type: 'string'; readonly t: number; readonly v: string }
  | { readonly type: 'vector'; readonly samples: readonly VectorSample[] }
  | { readonly type: 'matrix'; readonly series: readonly MatrixSeries[] };

export interface VectorSample {
  readonly labels: Labels;
  readonly t: number;
  readonly v: number;
}

export interface MatrixSeries {
  readonly labels: Labels;
  readonly t: Float64Array;
  readonly v: Float64Array;
}

/** Error kinds map to the HTTP API's `errorType` and status (bad_data 400, execution 422, timeout 503). */
export type QueryErrorKind = 'bad_data' | 'execution' | 'timeout' | 'canceled' | 'internal';

export class QueryError extends Error {
  constructor(
    readonly kind: QueryErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'QueryError';
  }
}

/** Figures of one query (for `stats=all`-style reporting and tests). */
export interface QueryStats {
  /** Storage selects made (one per selector). */
  selects: number;
  /** Samples the selects returned. */
  samplesLoaded: number;
  /** Largest number of points held at once (what the max-samples limit is checked against). */
  peakSamples: number;
  fetchMs: number;
  evalMs: number;
}

export interface QueryOptions {
  /** Aborts the query (client gone, server closing). */
  readonly signal?: AbortSignal;
  /** Called with the query's figures when it finishes successfully. */
  readonly onStats?: (stats: QueryStats) => void;
}

export interface QueryEngine {
  instantQuery(query: string, timeMs: number, opts?: QueryOptions): Promise<QueryValue>;
  rangeQuery(
    query: string,
    startMs: number,
    endMs: number,
    stepMs: number,
    opts?: QueryOptions,
  ): Promise<QueryValue>;
}
