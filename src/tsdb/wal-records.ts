/**
 * WAL record encodings (see README.md). The first byte of a record is its kind.
 * - SERIES (1), Prometheus' encoding: per series an 8-byte big-endian ref, a uvarint label count, then
 *   each name and value as a uvarint length and UTF-8 bytes.
 * - SAMPLES_COLUMNAR (0x51), promshard's own: [0x51, 0, 0, 0, n: uint32 LE], n refs (uint32 LE, padded
 *   to a multiple of 8 bytes), n timestamps (float64 LE, integer ms), n values (float64 LE, bits as
 *   appended). Columns let replay hand a whole record to the head chunk store in one call.
 */
import { putUvarint, readUvarint } from '../shared/protocol-labels.js';

export const RECORD_SERIES = 1;
export const RECORD_SAMPLES_COLUMNAR = 0x51;
/** Checkpoint only: [0x52, 7 zero bytes] then HeadChunks.snapshot() bytes. */
export const RECORD_CHUNKS = 0x52;
/** Checkpoint only: [0x53, 7 zero bytes, minValidTime float64 LE]. */
export const RECORD_HEAD_META = 0x53;

export function encodeChunksRecord(snapshot: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + snapshot.length);
  out[0] = RECORD_CHUNKS;
  out.set(snapshot, 8);
  return out;
}

export function encodeHeadMetaRecord(minValidTime: number): Uint8Array {
  const out = new Uint8Array(16);
  out[0] = RECORD_HEAD_META;
  new DataView(out.buffer).setFloat64(8, minValidTime, true);
  return out;
}

export function decodeHeadMetaRecord(rec: Uint8Array): number {
  if (rec.length !== 16) throw new RangeError('head meta record: bad length');
  return new DataView(rec.buffer, rec.byteOffset, 16).getFloat64(8, true);
}

/** Counts the strings of a label byte form (2 per label). */
function countStrings(bytes: Uint8Array, start: number, end: number): number {
  const pos = [start];
  let n = 0;
  while (pos[0] < end) {
    const len = readUvarint(bytes, pos, end);
    if (len < 0) throw new RangeError('label bytes truncated');
    pos[0] += len;
    n++;
  }
  return n;
}

/** Encodes a series record for the given refs, their label bytes being bytes[starts[k], ends[k]). */
export function encodeSeriesRecord(
  refs: Uint32Array,
  bytes: Uint8Array,
  starts: ArrayLike<number>,
  ends: ArrayLike<number>,
): Uint8Array {
  let size = 1;
  for (let k = 0; k < refs.length; k++) size += 8 + 5 + (ends[k] - starts[k]);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  out[0] = RECORD_SERIES;
  let at = 1;
  for (let k = 0; k < refs.length; k++) {
    dv.setUint32(at, 0);
    dv.setUint32(at + 4, refs[k]);
    at += 8;
    at = putUvarint(out, at, countStrings(bytes, starts[k], ends[k]) / 2);
    out.set(bytes.subarray(starts[k], ends[k]), at);
    at += ends[k] - starts[k];
  }
  return out.subarray(0, at);
}

/** Calls fn(ref, rec, start, end) for each series of a series record; throws on malformed content. */
export function decodeSeriesRecord(
  rec: Uint8Array,
  fn: (ref: number, bytes: Uint8Array, start: number, end: number) => void,
): void {
  const dv = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
  const pos = [1];
  while (pos[0] < rec.length) {
    if (pos[0] + 8 > rec.length) throw new RangeError('series record: truncated ref');
    const hi = dv.getUint32(pos[0]);
    const ref = dv.getUint32(pos[0] + 4);
    if (hi !== 0 || ref === 0) throw new RangeError(`series record: ref ${hi * 2 ** 32 + ref} out of range`);
    pos[0] += 8;
    const n = readUvarint(rec, pos, rec.length);
    if (n < 0) throw new RangeError('series record: bad label count');
    const start = pos[0];
    for (let i = 0; i < 2 * n; i++) {
      const len = readUvarint(rec, pos, rec.length);
      if (len < 0 || pos[0] + len > rec.length) throw new RangeError('series record: truncated label');
      pos[0] += len;
    }
    fn(ref, rec, start, pos[0]);
  }
}

/** Encodes the samples whose code is 0 (appended) as a columnar samples record of `n` samples. */
export function encodeSamplesRecord(
  refs: Uint32Array,
  t: Float64Array,
  v: Float64Array,
  codes: Uint8Array,
  n: number,
): Uint8Array {
  const refBytes = (n * 4 + 7) & ~7;
  const buf = new ArrayBuffer(8 + refBytes + 16 * n);
  const head = new Uint8Array(buf, 0, 8);
  head[0] = RECORD_SAMPLES_COLUMNAR;
  new DataView(buf).setUint32(4, n, true);
  const r = new Uint32Array(buf, 8, n);
  const tt = new Float64Array(buf, 8 + refBytes, n);
  const vv = new Float64Array(buf, 8 + refBytes + 8 * n, n);
  if (n === refs.length) {
    r.set(refs);
    tt.set(t.subarray(0, n));
    vv.set(v.subarray(0, n));
  } else {
    let k = 0;
    for (let i = 0; i < refs.length; i++) {
      if (codes[i] === 0) {
        r[k] = refs[i];
        tt[k] = t[i];
        vv[k++] = v[i];
      }
    }
  }
  return new Uint8Array(buf);
}

export interface SamplesColumns {
  refs: Uint32Array;
  t: Float64Array;
  v: Float64Array;
}

/** Views a columnar samples record; rec must start at an 8-byte aligned offset of its buffer. */
export function decodeSamplesRecord(rec: Uint8Array): SamplesColumns {
  if (rec.length < 8) throw new RangeError('samples record: truncated header');
  const n = new DataView(rec.buffer, rec.byteOffset, 8).getUint32(4, true);
  const refBytes = (n * 4 + 7) & ~7;
  if (rec.length !== 8 + refBytes + 16 * n)
    throw new RangeError(`samples record: ${rec.length} bytes for ${n} samples`);
  const base = rec.byteOffset;
  return {
    refs: new Uint32Array(rec.buffer, base + 8, n),
    t: new Float64Array(rec.buffer, base + 8 + refBytes, n),
    v: new Float64Array(rec.buffer, base + 8 + refBytes + 8 * n, n),
  };
}
