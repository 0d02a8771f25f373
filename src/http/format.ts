// Prometheus 2.42's JSON wire forms: values, timestamps, label sets, query results and errors. Query results
// are written as bytes straight from the typed arrays (no per-sample objects or strings), in chunks so
// large results stream.
import { Readable } from 'node:stream';
import type { QueryErrorKind, QueryValue } from '../promql/api.js';
import type { Labels } from '../shared/labels.js';

/**
 * A sample value as Prometheus writes it: Go's shortest `strconv.FormatFloat(v, 'f', -1, 64)`, switching
 * to `'e'` below 1e-6 and from 1e21. JS's shortest form uses the same thresholds and digits; only Go's
 * two-digit exponent (`1e-07`), `-0`, `+Inf` and `NaN` differ.
 */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const s = String(v);
  const e = s.indexOf('e');
  if (e < 0) return s;
  // "1e-7" -> "1e-07": Go pads the exponent to at least two digits.
  return s.length - e === 3 ? `${s.slice(0, e + 2)}0${s.slice(e + 2)}` : s;
}

/**
 * Go's `strconv.FormatFloat(v, 'f', -1, 64)`: the shortest digits that round-trip, written out without an
 * exponent (`0.0000001`, `1000000000000000000000`), as 2.42 renders scalar results.
 */
export function formatValueF(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const s = String(v);
  if (s.indexOf('e') < 0) return s;
  // toExponential() without an argument gives the shortest round-trip digits: d.ddde±x.
  const ex = v.toExponential();
  const neg = ex[0] === '-';
  const body = neg ? ex.slice(1) : ex;
  const e = body.indexOf('e');
  const digits = body.slice(0, e).replace('.', '');
  const exp = Number(body.slice(e + 1));
  let out: string;
  if (exp < 0) out = `0.${'0'.repeat(-exp - 1)}${digits}`;
  else if (digits.length <= exp + 1) out = digits + '0'.repeat(exp + 1 - digits.length);
  else out = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  return neg ? `-${out}` : out;
}

/**
 * Go's `strconv.FormatFloat(v, 'g', -1, 64)` as the text exposition format writes values (federation):
 * exponent form when the decimal exponent is below -4 or at least 6 (`1e+06`, `5.5578624e+07`).
 */
export function formatValueG(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const ex = v.toExponential();
  const e = ex.indexOf('e');
  const exp = Number(ex.slice(e + 1));
  if (exp < -4 || exp >= 6) {
    const sign = exp < 0 ? '-' : '+';
    const a = Math.abs(exp);
    return `${ex.slice(0, e)}e${sign}${a < 10 ? '0' : ''}${a}`;
  }
  return String(v);
}

/** A millisecond time as Go's encoding/json writes the float64 `t/1000` (scalar and string results). */
export function jsonSeconds(ms: number): string {
  const s = ms / 1000;
  return Object.is(s, -0) ? '0' : String(s);
}

/**
 * A millisecond timestamp as Prometheus writes it: seconds, then `.` and exactly three digits when the
 * milliseconds are not zero (Go's `marshalTimestamp`: `1700000520.500`, a JSON number).
 */
export function formatTimestamp(ms: number): string {
  let sign = '';
  if (ms < 0) {
    sign = '-';
    ms = -ms;
  }
  const sec = Math.trunc(ms / 1000);
  const frac = ms - sec * 1000;
  if (frac === 0) return sign + sec;
  const f = Math.trunc(frac);
  return `${sign}${sec}.${f < 10 ? '00' : f < 100 ? '0' : ''}${f}`;
}

const needsGoEscape = /[<>&\u2028\u2029]/;
const goEscapes = /[<>&\u2028\u2029]/g;
const goEscapeMap: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/**
 * A JSON string as Go's encoding/json writes it: HTML-safe (`<`, `>`, `&` as `\u00XX`) and with U+2028/9
 * escaped, so our bytes equal Prometheus' (the parsed content is the same either way).
 */
export function jsonString(s: string): string {
  const q = JSON.stringify(s);
  return needsGoEscape.test(q) ? q.replace(goEscapes, (c) => goEscapeMap[c]) : q;
}

/** A label set as a JSON object with keys in label order (Prometheus' labels are sorted by name). */
export function labelsJson(labels: Labels): string {
  if (labels.length === 0) return '{}';
  let s = '{';
  for (let i = 0; i < labels.length; i++) {
    if (i > 0) s += ',';
    s += `${jsonString(labels[i].name)}:${jsonString(labels[i].value)}`;
  }
  return `${s}}`;
}

// --- Query results: bytes written straight into Buffers ---------------------------------------------------
//
// A range answer can hold millions of points (11,111 series x 241 steps is ~95 MB of JSON). Every point is
// written as ASCII bytes into a Buffer: integers and short decimals digit by digit, timestamps from two
// integer halves, label names and values byte by byte when they need no escaping. Only values that need
// 16+ significant digits (most rates) go through String(v), whose characters are copied in. A full chunk is
// handed to the socket (or gzip) as it is and a fresh one is allocated, so nothing is copied or joined.

/** A chunk is handed out when it holds this many bytes. */
const CHUNK_BYTES = 256 * 1024;
/** Room kept free at the end of a chunk: more than one point needs ('[' ts ',"' value '"],'). */
const POINT_ROOM = 128;

/** "00".."99" as bytes, for writing two digits at a time. */
const DIGIT_PAIRS = Buffer.from(
  Array.from({ length: 100 }, (_, i) => (i < 10 ? `0${i}` : String(i))).join(''),
);
/** 10^0 .. 10^22: every one an exact double. */
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/** Writes ASCII into a growing sequence of Buffers (`take` hands out the filled part). */
class ByteWriter {
  buf: Buffer;
  pos = 0;

  constructor(size = CHUNK_BYTES + POINT_ROOM) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** True when the current chunk is full enough to hand out. */
  get full(): boolean {
    return this.pos >= CHUNK_BYTES;
  }

  /** The filled part of the current chunk; writing goes on in a new one. */
  take(): Buffer {
    const out = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(CHUNK_BYTES + POINT_ROOM);
    this.pos = 0;
    return out;
  }

  /** Makes room for n more bytes (a long label value can exceed a chunk: the chunk grows). */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  /** ASCII text (the caller has ensured room). */
  ascii(s: string): void {
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** Any text as UTF-8. */
  utf8(s: string): void {
    this.ensure(s.length * 3);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** A JSON string with Go's escaping; ASCII that needs none is copied byte by byte. */
  jsonString(s: string): void {
    this.ensure(s.length + 2);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = 0x22;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      // Printable ASCII except '"', '\\', '<', '>', '&'.
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c || c === 0x3c || c === 0x3e || c === 0x26) {
        this.utf8(jsonString(s));
        return;
      }
      buf[p++] = c;
    }
    buf[p++] = 0x22;
    this.pos = p;
  }

  /** A label set as a JSON object (Prometheus' labels are sorted by name). */
  labels(labels: Labels): void {
    this.ensure(2);
    this.buf[this.pos++] = 0x7b; // {
    for (let i = 0; i < labels.length; i++) {
      if (i > 0) {
        this.ensure(1);
        this.buf[this.pos++] = 0x2c; // ,
      }
      this.jsonString(labels[i].name);
      this.ensure(1);
      this.buf[this.pos++] = 0x3a; // :
      this.jsonString(labels[i].value);
    }
    this.ensure(1);
    this.buf[this.pos++] = 0x7d; // }
  }

  /** A non-negative integer below 2^53, in decimal. */
  uint(n: number): void {
    if (n < 4294967296) {
      this.u32(n >>> 0);
      return;
    }
    const hi = Math.floor(n / 1e9);
    this.uint(hi);
    this.padded(n - hi * 1e9, 9);
  }

  /** A 32-bit unsigned integer in decimal, two digits at a time from the end. */
  private u32(n: number): void {
    const len =
      n < 100000
        ? n < 100
          ? n < 10
            ? 1
            : 2
          : n < 1000
            ? 3
            : n < 10000
              ? 4
              : 5
        : n < 10000000
          ? n < 1000000
            ? 6
            : 7
          : n < 100000000
            ? 8
            : n < 1000000000
              ? 9
              : 10;
    this.pos += len;
    this.digitsBackward(n, this.pos);
  }

  /** n (below 10^width) with leading zeros to exactly `width` digits. */
  padded(n: number, width: number): void {
    const buf = this.buf;
    let p = this.pos + width;
    this.pos = p;
    for (let i = 0; i < width; i++) {
      const q = Math.floor(n / 10);
      buf[--p] = 48 + (n - q * 10);
      n = q;
    }
  }

  /** Writes the digits of a 32-bit n so that the last one lands just before `end`. */
  private digitsBackward(n: number, end: number): void {
    const buf = this.buf;
    let p = end;
    while (n >= 100) {
      const q = (n / 100) >>> 0;
      const r = (n - q * 100) << 1;
      buf[--p] = DIGIT_PAIRS[r + 1];
      buf[--p] = DIGIT_PAIRS[r];
      n = q;
    }
    if (n >= 10) {
      const r = n << 1;
      buf[--p] = DIGIT_PAIRS[r + 1];
      buf[--p] = DIGIT_PAIRS[r];
    } else buf[--p] = 48 + n;
  }

  /** A timestamp as formatTimestamp writes it (a JSON number of seconds with 3 decimals when needed). */
  timestamp(ms: number): void {
    if (!(ms > -9007199254740992 && ms < 9007199254740992)) {
      this.ascii(formatTimestamp(ms));
      return;
    }
    if (ms < 0) {
      this.buf[this.pos++] = 0x2d;
      ms = -ms;
    }
    const sec = Math.trunc(ms / 1000);
    const frac = ms - sec * 1000;
    this.uint(sec);
    if (frac !== 0) {
      this.buf[this.pos++] = 0x2e;
      this.padded(Math.trunc(frac), 3);
    }
  }

  /**
   * A value as formatValue writes it. Integers below 2^53 are written digit by digit (their shortest form
   * is all their digits). Other values between 1e-6 and 1e15 are tried as m / 10^k for k = 1, 2, ...
   * with m < 10^15: the first k where m / 10^k gives v back is the shortest round-trip form (with at most
   * 15 significant digits it is unique, so it is the one String(v) and Go print). Anything else, e.g.
   * 12.345666666666667, goes through formatValue.
   */
  value(v: number): void {
    const a = v < 0 ? -v : v;
    if (a < 9007199254740992 && a >= 1e-6) {
      if (v < 0) this.buf[this.pos++] = 0x2d;
      if (Number.isInteger(a)) {
        this.uint(a);
        return;
      }
      if (a < 1e15) {
        for (let k = 1; k < POW10.length; k++) {
          const p = POW10[k];
          const m = Math.round(a * p);
          if (m >= 1e15) break;
          if (m / p === a) {
            const ip = Math.floor(a);
            this.uint(ip);
            this.buf[this.pos++] = 0x2e;
            this.padded(m - ip * p, k);
            return;
          }
        }
      }
      v = a; // the sign is written: format the magnitude
    }
    this.ascii(formatValue(v));
  }
}

/**
 * Writes points of a matrix series from index j until the chunk is full (or has less than a point's room
 * left); returns the next index.
 */
function writePoints(w: ByteWriter, t: Float64Array, v: Float64Array, j: number): number {
  const n = t.length;
  const stop = Math.min(CHUNK_BYTES, w.buf.length - POINT_ROOM);
  for (; j < n; j++) {
    if (w.pos >= stop) return j;
    const buf = w.buf;
    if (j > 0) buf[w.pos++] = 0x2c; // ,
    buf[w.pos++] = 0x5b; // [
    w.timestamp(t[j]);
    buf[w.pos++] = 0x2c;
    buf[w.pos++] = 0x22; // "
    w.value(v[j]);
    buf[w.pos++] = 0x22;
    buf[w.pos++] = 0x5d; // ]
  }
  return n;
}

/**
 * The success envelope of a query answer, as Buffers of about 256 KiB: `{"status":"success","data":
 * {"resultType":...,"result":...}}` plus `warnings` when there are any. Matrices write every point from
 * the columns; the bytes equal Prometheus 2.42's.
 */
export function* renderQueryResult(value: QueryValue, warnings: readonly string[] = []): Generator<Buffer> {
  const w = new ByteWriter();
  w.ascii(`{"status":"success","data":{"resultType":"${value.type}","result":`);
  switch (value.type) {
    // Scalars and strings go through Go's encoding/json in 2.42 (promql.Scalar.MarshalJSON): the time as a
    // float64 of seconds, and a scalar's value in plain 'f' form without an exponent.
    case 'scalar':
      w.utf8(`[${jsonSeconds(value.t)},"${formatValueF(value.v)}"]`);
      break;
    case 'string':
      w.utf8(`[${jsonSeconds(value.t)},${jsonString(value.v)}]`);
      break;
    case 'vector': {
      w.buf[w.pos++] = 0x5b;
      const samples = value.samples;
      for (let i = 0; i < samples.length; i++) {
        const s = samples[i];
        w.ensure(POINT_ROOM);
        w.ascii(i > 0 ? ',{"metric":' : '{"metric":');
        w.labels(s.labels);
        w.ensure(POINT_ROOM);
        w.ascii(',"value":[');
        w.timestamp(s.t);
        w.ascii(',"');
        w.value(s.v);
        w.ascii('"]}');
        if (w.full) yield w.take();
      }
      w.ensure(1);
      w.buf[w.pos++] = 0x5d;
      break;
    }
    case 'matrix': {
      w.buf[w.pos++] = 0x5b;
      const series = value.series;
      for (let i = 0; i < series.length; i++) {
        const s = series[i];
        w.ensure(POINT_ROOM);
        w.ascii(i > 0 ? ',{"metric":' : '{"metric":');
        w.labels(s.labels);
        w.ensure(POINT_ROOM);
        w.ascii(',"values":[');
        const n = s.t.length;
        for (let j = writePoints(w, s.t, s.v, 0); j < n; j = writePoints(w, s.t, s.v, j)) yield w.take();
        w.ensure(POINT_ROOM);
        w.ascii(']}');
      }
      w.ensure(1);
      w.buf[w.pos++] = 0x5d;
      break;
    }
  }
  w.ensure(1);
  w.buf[w.pos++] = 0x7d;
  if (warnings.length > 0) w.utf8(`,"warnings":[${warnings.map(jsonString).join(',')}]`);
  w.ensure(1);
  w.buf[w.pos++] = 0x7d;
  yield w.take();
}

/**
 * A query answer ready to send: one Buffer when it fits in a chunk (most answers: sent with a length, no
 * stream), else a stream of the chunks.
 */
export function renderQueryBody(value: QueryValue, warnings: readonly string[] = []): Buffer | Readable {
  const chunks = renderQueryResult(value, warnings);
  const first = chunks.next();
  const second = chunks.next();
  if (second.done) return first.value as Buffer;
  return Readable.from(
    (function* () {
      yield first.value as Buffer;
      yield second.value;
      yield* chunks;
    })(),
    { objectMode: false, highWaterMark: CHUNK_BYTES },
  );
}

/** Joins rendered chunks into one string (tests, small answers). */
export function renderToString(chunks: Iterable<string | Uint8Array>): string {
  const parts: Buffer[] = [];
  for (const c of chunks)
    parts.push(typeof c === 'string' ? Buffer.from(c) : Buffer.from(c.buffer, c.byteOffset, c.byteLength));
  return Buffer.concat(parts).toString('utf8');
}

/** `{"status":"success","data":<data>}` for answers whose data is plain JSON (labels, status pages). */
export function successJson(dataJson: string, warnings: readonly string[] = []): string {
  const w = warnings.length > 0 ? `,"warnings":[${warnings.map(jsonString).join(',')}]` : '';
  return `{"status":"success","data":${dataJson}${w}}`;
}

/** A JSON array of strings (label names and values) with Go's escaping. */
export function stringArrayJson(values: readonly string[]): string {
  let s = '[';
  for (let i = 0; i < values.length; i++) s += (i > 0 ? ',' : '') + jsonString(values[i]);
  return `${s}]`;
}

/** A JSON array of label sets (`/api/v1/series`). */
export function labelSetsJson(sets: readonly Labels[]): string {
  let s = '[';
  for (let i = 0; i < sets.length; i++) s += (i > 0 ? ',' : '') + labelsJson(sets[i]);
  return `${s}]`;
}

/** The API's error types; `unavailable` and `not_found` exist in Prometheus beside the query kinds. */
export type ApiErrorType = QueryErrorKind | 'unavailable' | 'not_found';

/** The HTTP status Prometheus answers for each error type (`respondError`). */
export function statusForErrorType(type: ApiErrorType): number {
  switch (type) {
    case 'bad_data':
      return 400;
    case 'execution':
      return 422;
    case 'canceled':
    case 'timeout':
      return 503;
    case 'not_found':
      return 404;
    default:
      // internal, and unavailable (Prometheus' respondError has no case for it and falls to 500).
      return 500;
  }
}

/** An error the API answers with Prometheus' JSON shape. */
export class ApiError extends Error {
  constructor(
    readonly type: ApiErrorType,
    message: string,
    /** Overrides the status derived from the type (e.g. 404 for admin APIs when disabled is still 500 in 2.42). */
    readonly status: number = statusForErrorType(type),
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** `{"status":"error","errorType":"bad_data","error":"..."}` */
export function errorJson(type: ApiErrorType, message: string): string {
  return `{"status":"error","errorType":"${type}","error":${jsonString(message)}}`;
}
