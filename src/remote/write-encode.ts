// Encodes remote-write 1.0 WriteRequests (protobuf; the caller snappy-compresses) from columns.
import type { Labels } from '../shared/labels.js';
import { ProtoWriter } from './protobuf.js';

/** One series to send: labels and its samples [start, end) of the columns. */
export interface WriteSeries {
  readonly labels: Labels;
  readonly t: Float64Array;
  readonly v: Float64Array;
  readonly start?: number;
  readonly end?: number;
}

export function encodeWriteRequest(series: readonly WriteSeries[], w = new ProtoWriter(4096)): Uint8Array {
  for (const s of series) {
    const ts = w.begin(1);
    for (const l of s.labels) {
      const lm = w.begin(1);
      w.string(1, l.name);
      w.string(2, l.value);
      w.end(lm);
    }
    const end = s.end ?? s.t.length;
    for (let i = s.start ?? 0; i < end; i++) {
      const sm = w.begin(2);
      w.doubleFrom(1, s.v, i);
      if (s.t[i] !== 0) w.int64(2, s.t[i]);
      w.end(sm);
    }
    w.end(ts);
  }
  return w.finish();
}
