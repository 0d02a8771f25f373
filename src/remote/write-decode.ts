// Decodes a remote-write 1.0 WriteRequest (protobuf, already snappy-decompressed) straight into an
// AppendRequest's columns: one pass over the buffer, samples copied into typed arrays, labels as strings
// per series. Series with bad labels are refused here (with a reason) and the rest still go through.
//
// message WriteRequest { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3; }
// message TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; exemplars = 3; histograms = 4; }
// message Label        { string name = 1; string value = 2; }
// message Sample       { double value = 1; int64 timestamp = 2; }
import { isUtf8 } from 'node:buffer';
import type { AppendRequest } from '../shared/ingest.js';
import { ProtoError, ProtoReader, WIRE_I64, WIRE_LEN, WIRE_VARINT } from './protobuf.js';

export interface WriteDecodeLimits {
  /** Most labels a series may have (Prometheus has no limit by default; ours is a flag). */
  readonly maxLabelsPerSeries: number;
}

export const DEFAULT_WRITE_LIMITS: WriteDecodeLimits = { maxLabelsPerSeries: 1000 };

export interface DecodedWrite {
  /** The valid series with at least one sample. */
  readonly request: AppendRequest;
  /** Samples in the refused series. */
  readonly refusedSamples: number;
  readonly refusedSeries: number;
  /** The first reasons for refusals. */
  readonly errors: string[];
  /** Exemplars and native histograms present but not stored (no storage for them yet). */
  readonly ignoredExemplars: number;
  readonly ignoredHistograms: number;
}

const MAX_ERRORS = 5;
// The smallest encoded sample: Sample key + length + value key + 8 bytes (timestamp 0 omitted).
const MIN_SAMPLE_BYTES = 11;

function validName(buf: Uint8Array, start: number, end: number): boolean {
  if (start >= end) return false;
  for (let i = start; i < end; i++) {
    const c = buf[i];
    const alpha = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;
    if (!alpha && !(i > start && c >= 0x30 && c <= 0x39)) return false;
  }
  return true;
}

/** Decodes and validates; throws ProtoError for a malformed message (the request is then refused whole). */
export function decodeWriteRequest(
  buf: Uint8Array,
  limits: WriteDecodeLimits = DEFAULT_WRITE_LIMITS,
): DecodedWrite {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const cap = Math.floor(b.length / MIN_SAMPLE_BYTES) + 1;
  const t = new Float64Array(cap);
  const v = new Float64Array(cap);
  const vBytes = new Uint8Array(v.buffer);
  const series: string[][] = [];
  const starts: number[] = [0];
  const errors: string[] = [];
  let n = 0;
  let refusedSamples = 0;
  let refusedSeries = 0;
  let ignoredExemplars = 0;
  let ignoredHistograms = 0;

  const top = new ProtoReader(b);
  while (!top.done) {
    const key = top.key();
    if (key !== ((1 << 3) | WIRE_LEN)) {
      top.skip(key & 7);
      continue;
    }
    const tsEnd = top.lenEnd();
    const r = new ProtoReader(b, top.pos, tsEnd);
    top.pos = tsEnd;

    const seriesStart = n;
    const labels: string[] = [];
    let bad = '';
    let numLabels = 0;
    while (!r.done) {
      const k = r.key();
      const field = k >>> 3;
      const wire = k & 7;
      if (field === 1 && wire === WIRE_LEN) {
        const lEnd = r.lenEnd();
        let ns = 0;
        let ne = 0;
        let vs = 0;
        let ve = 0;
        const lr = new ProtoReader(b, r.pos, lEnd);
        while (!lr.done) {
          const lk = lr.key();
          if (lk === ((1 << 3) | WIRE_LEN)) {
            ne = lr.lenEnd();
            ns = lr.pos;
            lr.pos = ne;
          } else if (lk === ((2 << 3) | WIRE_LEN)) {
            ve = lr.lenEnd();
            vs = lr.pos;
            lr.pos = ve;
          } else lr.skip(lk & 7);
        }
        r.pos = lEnd;
        numLabels++;
        if (bad !== '') continue;
        if (!validName(b, ns, ne)) {
          bad =
            ns === ne
              ? 'empty label name'
              : isUtf8(b.subarray(ns, ne))
                ? `invalid label name: ${JSON.stringify(b.toString('utf8', ns, ne))}`
                : 'invalid UTF-8 in label name';
          continue;
        }
        if (ve === vs) continue; // empty values are dropped, as Prometheus does
        if (!isUtf8(b.subarray(vs, ve))) {
          bad = `invalid UTF-8 in the value of label ${JSON.stringify(b.toString('latin1', ns, ne))}`;
          continue;
        }
        labels.push(b.toString('latin1', ns, ne), b.toString('utf8', vs, ve));
      } else if (field === 2 && wire === WIRE_LEN) {
        const sEnd = r.lenEnd();
        let ts = 0;
        let vAt = -1;
        const sr = new ProtoReader(b, r.pos, sEnd);
        while (!sr.done) {
          const sk = sr.key();
          if (sk === ((1 << 3) | WIRE_I64)) {
            if (sr.pos + 8 > sEnd) throw new ProtoError('unexpected EOF');
            vAt = sr.pos;
            sr.pos += 8;
          } else if (sk === ((2 << 3) | WIRE_VARINT)) {
            ts = sr.int64();
          } else sr.skip(sk & 7);
        }
        r.pos = sEnd;
        if (n >= cap) throw new ProtoError('more samples than the body can hold');
        t[n] = ts;
        if (vAt >= 0) {
          // Byte copy: keeps NaN payloads (stale markers) bit for bit.
          const o = n * 8;
          for (let i = 0; i < 8; i++) vBytes[o + i] = b[vAt + i];
        } else v[n] = 0;
        n++;
      } else {
        if (field === 3 && wire === WIRE_LEN) ignoredExemplars++;
        else if (field === 4 && wire === WIRE_LEN) ignoredHistograms++;
        r.skip(wire);
      }
    }

    if (bad === '') {
      if (labels.length === 0) bad = 'series has no labels';
      else if (numLabels > limits.maxLabelsPerSeries) {
        bad = `series has ${numLabels} labels, more than the limit of ${limits.maxLabelsPerSeries}`;
      } else {
        const dup = duplicateName(labels);
        if (dup !== undefined) bad = `duplicate label name ${JSON.stringify(dup)}`;
      }
    }
    if (bad !== '') {
      refusedSeries++;
      refusedSamples += n - seriesStart;
      n = seriesStart;
      if (errors.length < MAX_ERRORS) errors.push(bad);
      continue;
    }
    if (n === seriesStart) continue; // no samples: nothing to store, no series created
    series.push(labels);
    starts.push(n);
  }

  return {
    request: { series, sampleStart: Uint32Array.from(starts), t: t.subarray(0, n), v: v.subarray(0, n) },
    refusedSamples,
    refusedSeries,
    errors,
    ignoredExemplars,
    ignoredHistograms,
  };
}

function duplicateName(flat: readonly string[]): string | undefined {
  const k = flat.length >>> 1;
  if (k <= 16) {
    for (let i = 0; i < flat.length; i += 2) {
      for (let j = i + 2; j < flat.length; j += 2) if (flat[i] === flat[j]) return flat[i];
    }
    return undefined;
  }
  const seen = new Set<string>();
  for (let i = 0; i < flat.length; i += 2) {
    if (seen.has(flat[i])) return flat[i];
    seen.add(flat[i]);
  }
  return undefined;
}
