// The append request of one scrape, built in columns (no per-sample objects) and sent by series ref where
// the storage already knows the series.
import type { AppendRequest } from '../shared/ingest.js';

/** sampleStart for n series of one sample each: 0, 1, ..., n. */
function oneSamplePerSeries(n: number): Uint32Array {
  const a = new Uint32Array(n + 1);
  for (let i = 0; i <= n; i++) a[i] = i;
  return a;
}

/**
 * One append request under construction. With refs (the appendable resolves them), a series the storage
 * already knows goes by its ref alone; `owner` remembers what each position came from so that the refs of
 * the outcome can be kept: a cache entry (>= 0), synthetic series k (-2 - k), or nothing to keep (-1).
 */
export class RequestBuilder {
  readonly series: (readonly string[])[];
  readonly refs: Float64Array | undefined;
  readonly owner: Int32Array | undefined;
  readonly t: Float64Array;
  readonly v: Float64Array;
  n = 0;

  constructor(cap: number, byRef: boolean) {
    this.series = new Array(cap);
    this.t = new Float64Array(cap);
    this.v = new Float64Array(cap);
    this.refs = byRef ? new Float64Array(cap) : undefined;
    this.owner = byRef ? new Int32Array(cap) : undefined;
  }

  push(labels: readonly string[], ref: number, owner: number, t: number, v: number): void {
    const n = this.n++;
    this.series[n] = labels;
    this.t[n] = t;
    this.v[n] = v;
    if (this.refs !== undefined) {
      this.refs[n] = ref;
      this.owner![n] = owner;
    }
  }

  request(): AppendRequest {
    const n = this.n;
    this.series.length = n;
    return {
      series: this.series,
      sampleStart: oneSamplePerSeries(n),
      t: this.t.subarray(0, n),
      v: this.v.subarray(0, n),
      refs: this.refs?.subarray(0, n),
    };
  }
}
