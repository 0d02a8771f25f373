// A block select's answer as columns: no object per series. Series k's labels are the symbol refs
// labelRefs[labelStart[k] .. labelStart[k + 1]) (name, value, ...) into `symbols` (the block's symbol
// table), and its samples are t/v[start[k] .. start[k + 1]). A shard replies from this directly; the
// SeriesData form (materialize) costs about as much as decoding for a select of 100k series: two views
// and a label set per series, and their garbage collection.
import type { Label } from '../../shared/labels.js';
import type { SeriesData } from '../../shared/storage.js';

export interface SelectColumns {
  readonly symbols: readonly string[];
  readonly labelRefs: Uint32Array;
  readonly labelStart: Uint32Array;
  readonly start: Uint32Array;
  readonly t: Float64Array;
  readonly v: Float64Array;
}

export function seriesCount(c: SelectColumns): number {
  return c.start.length - 1;
}

export function labelsAt(c: SelectColumns, k: number): Label[] {
  const { symbols, labelRefs } = c;
  const l0 = c.labelStart[k];
  const out = new Array<Label>((c.labelStart[k + 1] - l0) >>> 1);
  for (let j = 0; j < out.length; j++)
    out[j] = { name: symbols[labelRefs[l0 + 2 * j]], value: symbols[labelRefs[l0 + 2 * j + 1]] };
  return out;
}

/** The columns as SeriesData, each series' samples a view into the shared t and v. */
export function materialize(c: SelectColumns): SeriesData[] {
  const n = seriesCount(c);
  const out = new Array<SeriesData>(n);
  for (let k = 0; k < n; k++) {
    const s = c.start[k];
    const e = c.start[k + 1];
    out[k] = { labels: labelsAt(c, k), t: c.t.subarray(s, e), v: c.v.subarray(s, e) };
  }
  return out;
}

/** No series (new arrays each time: a reply transfers them). */
export function emptyColumns(): SelectColumns {
  return {
    symbols: [],
    labelRefs: new Uint32Array(0),
    labelStart: new Uint32Array(1),
    start: new Uint32Array(1),
    t: new Float64Array(0),
    v: new Float64Array(0),
  };
}
