// Prometheus 2.42's JSON wire forms: values, timestamps, label sets, query results and errors, written as
// strings straight from the typed arrays (no per-sample objects), in chunks so large results stream.
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

/** Collects small strings and hands them out in chunks of about this many characters. */
const CHUNK_CHARS = 64 * 1024;

/**
 * The success envelope of a query answer, as chunks: `{"status":"success","data":{"resultType":...,
 * "result":...}}` plus `warnings` when there are any. Matrices write every point from the columns.
 */
export function* renderQueryResult(value: QueryValue, warnings: readonly string[] = []): Generator<string> {
  let buf = `{"status":"success","data":{"resultType":"${value.type}","result":`;
  switch (value.type) {
    // Scalars and strings go through Go's encoding/json in 2.42 (promql.Scalar.MarshalJSON): the time as a
    // float64 of seconds, and a scalar's value in plain 'f' form without an exponent.
    case 'scalar':
      buf += `[${jsonSeconds(value.t)},"${formatValueF(value.v)}"]`;
      break;
    case 'string':
      buf += `[${jsonSeconds(value.t)},${jsonString(value.v)}]`;
      break;
    case 'vector': {
      buf += '[';
      const samples = value.samples;
      for (let i = 0; i < samples.length; i++) {
        const s = samples[i];
        buf += `${i > 0 ? ',' : ''}{"metric":${labelsJson(s.labels)},"value":[${formatTimestamp(s.t)},"${formatValue(s.v)}"]}`;
        if (buf.length >= CHUNK_CHARS) {
          yield buf;
          buf = '';
        }
      }
      buf += ']';
      break;
    }
    case 'matrix': {
      buf += '[';
      const series = value.series;
      for (let i = 0; i < series.length; i++) {
        const s = series[i];
        buf += `${i > 0 ? ',' : ''}{"metric":${labelsJson(s.labels)},"values":[`;
        const t = s.t;
        const v = s.v;
        for (let j = 0; j < t.length; j++) {
          buf += `${j > 0 ? ',' : ''}[${formatTimestamp(t[j])},"${formatValue(v[j])}"]`;
          if (buf.length >= CHUNK_CHARS) {
            yield buf;
            buf = '';
          }
        }
        buf += ']}';
      }
      buf += ']';
      break;
    }
  }
  buf += '}';
  if (warnings.length > 0) buf += `,"warnings":[${warnings.map(jsonString).join(',')}]`;
  yield `${buf}}`;
}

/** Renders an already small result chunked into one string (tests, small answers). */
export function renderToString(chunks: Iterable<string>): string {
  let s = '';
  for (const c of chunks) s += c;
  return s;
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
