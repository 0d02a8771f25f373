/**
 * Character-level helpers shared by the text 0.0.4 and OpenMetrics 1.0 parsers: number parsing with Go's
 * strconv.ParseFloat results, label-block scanning and unescaping. Everything works on (string, start, end)
 * spans with charCodeAt, so nothing is allocated unless a value must be kept.
 */

export const NL = 10;
export const CR = 13;
export const SP = 32;
export const TAB = 9;
export const HASH = 35;
export const LBRACE = 123;
export const RBRACE = 125;
export const QUOTE = 34;
export const BACKSLASH = 92;
export const COMMA = 44;
export const EQ = 61;

/** Go's math.NaN() (bits 0x7ff8000000000001), what Prometheus stores for a `NaN` value. */
export const GO_NAN: number = (() => {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setBigUint64(0, 0x7ff8000000000001n);
  return dv.getFloat64(0);
})();

/** A parse failure with the 1-based line number of the offending line. */
export class ParseError extends Error {
  constructor(
    readonly line: number,
    detail: string,
  ) {
    super(`line ${line}: ${detail}`);
    this.name = 'ParseError';
  }
}

const POW10 = [
  1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17,
];
const POW10_BIG = [...POW10, 1e18, 1e19, 1e20, 1e21, 1e22];
const DECIMAL = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
const INF = /^[+-]?(?:inf|infinity)$/i;
const NAN = /^[+-]?nan$/i;

/** Set by parseFloatSpan: false when the span was not a number. */
export let floatOk = true;

/**
 * Parses body[s, e) as Go's strconv.ParseFloat(s, 64) would (decimal syntax, Inf, NaN). The common case,
 * up to 15 significant digits and a power of ten within 1e±22, is exact with one multiplication or division
 * (Clinger's fast path); anything else goes to Number() after a syntax check.
 */
export function parseFloatSpan(body: string, s: number, e: number): number {
  floatOk = true;
  let i = s;
  let neg = false;
  let c = body.charCodeAt(i);
  if (c === 45) {
    neg = true;
    i++;
  } else if (c === 43) i++;
  let m = 0;
  let sig = 0;
  let digits = 0;
  let exp = 0;
  for (; i < e; i++) {
    c = body.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    digits++;
    if (sig > 0 || c !== 0) {
      sig++;
      m = m * 10 + c;
    }
  }
  if (i < e && body.charCodeAt(i) === 46) {
    i++;
    for (; i < e; i++) {
      c = body.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      digits++;
      exp--;
      if (sig > 0 || c !== 0) {
        sig++;
        m = m * 10 + c;
      }
    }
  }
  if (digits > 0 && i < e && (body.charCodeAt(i) | 0x20) === 101) {
    i++;
    let eneg = false;
    c = body.charCodeAt(i);
    if (c === 45) {
      eneg = true;
      i++;
    } else if (c === 43) i++;
    let ev = 0;
    let ed = 0;
    for (; i < e; i++) {
      c = body.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      if (ev < 100000) ev = ev * 10 + c;
      ed++;
    }
    if (ed === 0) i = -1;
    exp += eneg ? -ev : ev;
  }
  if (i === e && digits > 0 && sig <= 15) {
    let r: number;
    if (exp === 0 || m === 0) r = m;
    else if (exp > 0 && exp <= 22) r = m * POW10_BIG[exp];
    else if (exp < 0 && exp >= -22) r = m / POW10_BIG[-exp];
    else return slowFloat(body, s, e);
    return neg ? -r : r;
  }
  return slowFloat(body, s, e);
}

function slowFloat(body: string, s: number, e: number): number {
  const t = body.substring(s, e);
  if (DECIMAL.test(t)) return Number(t);
  if (INF.test(t)) return t.charCodeAt(0) === 45 ? -Infinity : Infinity;
  if (NAN.test(t)) return GO_NAN;
  floatOk = false;
  return Number.NaN;
}

/** Set by parseIntSpan: false when the span was not an integer. */
export let intOk = true;

/** Parses an optionally negative decimal integer (a text-format timestamp in ms). */
export function parseIntSpan(body: string, s: number, e: number): number {
  intOk = true;
  let i = s;
  let neg = false;
  if (body.charCodeAt(i) === 45) {
    neg = true;
    i++;
  }
  if (i === e || e - i > 19) {
    intOk = false;
    return 0;
  }
  let v = 0;
  for (; i < e; i++) {
    const c = body.charCodeAt(i) - 48;
    if (c < 0 || c > 9) {
      intOk = false;
      return 0;
    }
    v = v * 10 + c;
  }
  if (e - s > 15) v = Number(body.substring(neg ? s + 1 : s, e));
  return neg ? -v : v;
}

// The hot functions below copy the character codes and CHAR_CLASS into local constants: V8 (Node 20) reads a
// module-level binding through its cell, with a hole check and an untagging, at every use inside a loop,
// while a local constant folds into the code (~5% of a cold parse of node_exporter).
/** Character classes: 1 label-name start, 2 label-name char, 4 metric-name start, 8 metric-name char. */
const CHAR_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const letter = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
  const digit = c >= 48 && c <= 57;
  CHAR_CLASS[c] = (letter ? 1 | 2 | 4 | 8 : 0) | (digit ? 2 | 8 : 0) | (c === 58 ? 4 | 8 : 0);
}

export function isNameStart(c: number): boolean {
  const CLASS = CHAR_CLASS;
  return c < 128 && (CLASS[c] & 1) !== 0;
}

export function isNameChar(c: number): boolean {
  const CLASS = CHAR_CLASS;
  return c < 128 && (CLASS[c] & 2) !== 0;
}

/** End of a metric name starting at i ([a-zA-Z_:][a-zA-Z0-9_:]*), or i when there is none. */
export function scanMetricName(body: string, i: number, end: number): number {
  const CLASS = CHAR_CLASS;
  if (i >= end) return i;
  let c = body.charCodeAt(i);
  if (c >= 128 || (CLASS[c] & 4) === 0) return i;
  i++;
  while (i < end) {
    c = body.charCodeAt(i);
    if (c >= 128 || (CLASS[c] & 8) === 0) break;
    i++;
  }
  return i;
}

/**
 * The hash of the span scanned by the last scanMetricNameHash / scanLabelBlock call (FNV-1a over its UTF-16
 * code units, blanks between a name and its `{` left out), computed while scanning for the scrape cache.
 */
export let spanHash = 0;

/** scanMetricName that also leaves the name's hash in spanHash. */
export function scanMetricNameHash(body: string, i: number, end: number): number {
  const CLASS = CHAR_CLASS;
  let h = 0x811c9dc5 | 0;
  if (i >= end) {
    spanHash = h;
    return i;
  }
  let c = body.charCodeAt(i);
  if (c >= 128 || (CLASS[c] & 4) === 0) {
    spanHash = h;
    return i;
  }
  h = Math.imul(h ^ c, 0x01000193);
  i++;
  while (i < end) {
    c = body.charCodeAt(i);
    if (c >= 128 || (CLASS[c] & 8) === 0) break;
    h = Math.imul(h ^ c, 0x01000193);
    i++;
  }
  spanHash = h;
  return i;
}

/**
 * scanMetricNameHash over the bytes of a body whose characters are all below 256 (`b[k]` is
 * `body.charCodeAt(k)`, see exposition.ts bodyBytes): a typed-array load is cheaper than charCodeAt, which
 * V8 dispatches on the string's representation at every character.
 */
export function scanMetricNameHashBytes(b: Uint8Array, i: number, end: number): number {
  const CLASS = CHAR_CLASS;
  let h = 0x811c9dc5 | 0;
  if (i >= end) {
    spanHash = h;
    return i;
  }
  let c = b[i];
  if (c >= 128 || (CLASS[c] & 4) === 0) {
    spanHash = h;
    return i;
  }
  h = Math.imul(h ^ c, 0x01000193);
  i++;
  while (i < end) {
    c = b[i];
    if (c >= 128 || (CLASS[c] & 8) === 0) break;
    h = Math.imul(h ^ c, 0x01000193);
    i++;
  }
  spanHash = h;
  return i;
}

/** End of a label name starting at i ([a-zA-Z_][a-zA-Z0-9_]*), or i when there is none. */
export function scanLabelName(body: string, i: number, end: number): number {
  const CLASS = CHAR_CLASS;
  if (i >= end) return i;
  let c = body.charCodeAt(i);
  if (c >= 128 || (CLASS[c] & 1) === 0) return i;
  let h = Math.imul((0x811c9dc5 | 0) ^ c, 0x01000193);
  i++;
  while (i < end) {
    c = body.charCodeAt(i);
    if (c >= 128 || (CLASS[c] & 2) === 0) break;
    h = Math.imul(h ^ c, 0x01000193);
    i++;
  }
  labelNameHash = h;
  return i;
}

/** FNV-1a hash of the name found by the last successful scanLabelName. */
let labelNameHash = 0;

/**
 * Given `{` at i, the index just past the matching `}`, honouring quotes and escapes; -1 when the line ends
 * first. It checks nothing else: the full grammar is checked by parseLabelBlock for series not in the cache.
 */
export function scanLabelBlock(body: string, i: number, end: number, seed = 0): number {
  const NL = 10,
    LBRACE = 123,
    RBRACE = 125,
    QUOTE = 34,
    BACKSLASH = 92;
  let h = Math.imul(seed ^ LBRACE, 0x01000193);
  i++;
  let inQuote = false;
  while (i < end) {
    const c = body.charCodeAt(i);
    if (c === NL) return -1;
    h = Math.imul(h ^ c, 0x01000193);
    if (inQuote) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inQuote = false;
    } else if (c === QUOTE) inQuote = true;
    else if (c === RBRACE) {
      spanHash = h;
      return i + 1;
    }
    i++;
  }
  return -1;
}

/** Unescapes a label value: `\\`, `\"` and `\n`; other backslash sequences stay as written (as Prometheus). */
export function unescapeLabelValue(body: string, s: number, e: number): string {
  const QUOTE = 34,
    BACKSLASH = 92;
  const raw = body.substring(s, e);
  if (raw.indexOf('\\') < 0) return raw;
  let out = '';
  let last = 0;
  for (let i = 0; i < raw.length; i++) {
    if (raw.charCodeAt(i) !== BACKSLASH || i + 1 >= raw.length) continue;
    const n = raw.charCodeAt(i + 1);
    const rep = n === BACKSLASH ? '\\' : n === QUOTE ? '"' : n === 110 ? '\n' : null;
    if (rep === null) continue;
    out += raw.substring(last, i) + rep;
    i++;
    last = i + 1;
  }
  return out + raw.substring(last);
}

/** Unescapes HELP text: `\\` and `\n` (and `\"` in OpenMetrics). */
export function unescapeHelp(text: string, quotes: boolean): string {
  const QUOTE = 34,
    BACKSLASH = 92;
  if (text.indexOf('\\') < 0) return text;
  let out = '';
  let last = 0;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) !== BACKSLASH || i + 1 >= text.length) continue;
    const n = text.charCodeAt(i + 1);
    const rep = n === BACKSLASH ? '\\' : n === 110 ? '\n' : quotes && n === QUOTE ? '"' : null;
    if (rep === null) continue;
    out += text.substring(last, i) + rep;
    i++;
    last = i + 1;
  }
  return out + text.substring(last);
}

const NO_PAIRS: readonly string[] = [];

/** Shares repeated strings of a target (SeriesCache implements it); hashes are FNV-1a as spanHash. */
export interface StringPool {
  intern(s: string): string;
  internSpan(body: string, s: number, e: number, h: number, own: (s: string) => string): string;
}

const NO_POOL: StringPool = {
  intern: (s) => s,
  internSpan: (body, s, e, _h, own) => own(body.substring(s, e)),
};

function skipBlanks(body: string, i: number, end: number, allow: boolean): number {
  const SP = 32,
    TAB = 9;
  if (!allow) return i;
  while (i < end) {
    const c = body.charCodeAt(i);
    if (c !== SP && c !== TAB) break;
    i++;
  }
  return i;
}

/**
 * The value body[vs, ve) (quotes excluded; vh its FNV-1a hash when not escaped): `pv` (the previous series'
 * value at this position) when equal, else a shared string for short values (they repeat across series), else
 * a copy of its own.
 */
function labelValue(
  body: string,
  vs: number,
  ve: number,
  vh: number,
  escaped: boolean,
  pv: string,
  own: (s: string) => string,
  strings: StringPool,
): string {
  if (!escaped && pv.length === ve - vs && body.startsWith(pv, vs)) return pv;
  if (escaped) {
    const value = unescapeLabelValue(body, vs, ve);
    return value.length < 13 ? strings.intern(value) : own(value);
  }
  return ve - vs < 13 ? strings.internSpan(body, vs, ve, vh, own) : own(body.substring(vs, ve));
}

/**
 * Parses a label block `{name="value",...}` spanning body[s, e) into `out` as flattened pairs. Returns null
 * on success or a description of the error. `lenient` allows blanks between tokens (text format).
 */
export function parseLabelBlock(
  body: string,
  s: number,
  e: number,
  out: string[],
  lenient: boolean,
  own: (s: string) => string = (x) => x,
  strings: StringPool = NO_POOL,
  prev: readonly string[] = NO_PAIRS,
): string | null {
  const QUOTE = 34,
    BACKSLASH = 92,
    COMMA = 44,
    EQ = 61;
  let i = s + 1;
  const close = e - 1;
  for (;;) {
    i = skipBlanks(body, i, close, lenient);
    if (i >= close) return null;
    const ne = scanLabelName(body, i, close);
    if (ne === i)
      return `invalid label name at ${JSON.stringify(body.substring(i, Math.min(close, i + 20)))}`;
    const nameHash = labelNameHash;
    // Consecutive series of a family mostly repeat the previous series' label names (and many values) at the
    // same positions: reuse those strings after a compare in place, without cutting or hashing a new one.
    const k = out.length;
    const pn = k < prev.length ? prev[k] : '';
    const name =
      pn.length === ne - i && body.startsWith(pn, i) ? pn : strings.internSpan(body, i, ne, nameHash, own);
    i = skipBlanks(body, ne, close, lenient);
    if (body.charCodeAt(i) !== EQ) return `expected "=" after label name ${JSON.stringify(name)}`;
    i = skipBlanks(body, i + 1, close, lenient);
    if (body.charCodeAt(i) !== QUOTE) return `expected a quoted value for label ${JSON.stringify(name)}`;
    const vs = i + 1;
    i = vs;
    let escaped = false;
    let vh = 0x811c9dc5 | 0;
    while (i < close) {
      const c = body.charCodeAt(i);
      if (c === BACKSLASH) {
        escaped = true;
        i += 2;
      } else if (c === QUOTE) break;
      else {
        vh = Math.imul(vh ^ c, 0x01000193);
        i++;
      }
    }
    if (i >= close) return `unterminated value for label ${JSON.stringify(name)}`;
    out.push(
      name,
      labelValue(body, vs, i, vh, escaped, k + 1 < prev.length ? prev[k + 1] : '', own, strings),
    );
    i = skipBlanks(body, i + 1, close, lenient);
    if (i >= close) return null;
    const c = body.charCodeAt(i);
    if (c !== COMMA) return `expected "," or "}" after the value of label ${JSON.stringify(name)}`;
    i++;
    // The text format allows a comma before `}`; OpenMetrics (2.42's parser) does not.
    if (!lenient && i >= close) return 'expected a label name after ","';
  }
}

/**
 * scanLabelBlock and parseLabelBlock in one pass over a label block starting with `{` at s, for a series that
 * is probably not in the cache yet (a target's first scrape): every character is read once instead of twice
 * (~5% of a cold parse). On a well-formed block it fills `out` exactly as parseLabelBlock would, leaves the
 * same hash as scanLabelBlock(body, s, end, seed) in spanHash and returns the same end (just past `}`).
 * It returns -1 on anything else, without describing the problem: the caller then runs the two-pass path,
 * which reports the error with its usual text and precedence. So it only needs to be no more lenient than
 * that path, never to reproduce its messages.
 *
 * It reads the characters from `b`, the body's bytes (every character below 256, `b[k]` is
 * `body.charCodeAt(k)`), and cuts and compares strings in `body`.
 */
export function parseLabelBlockOnePass(
  body: string,
  b: Uint8Array,
  s: number,
  end: number,
  seed: number,
  out: string[],
  lenient: boolean,
  own: (s: string) => string,
  strings: StringPool,
  prev: readonly string[],
): number {
  const NL = 10,
    SP = 32,
    TAB = 9,
    LBRACE = 123,
    RBRACE = 125,
    QUOTE = 34,
    BACKSLASH = 92,
    COMMA = 44,
    EQ = 61;
  const CLASS = CHAR_CLASS;
  // h hashes as scanLabelBlock: every code unit from `{` through `}`, except one right after a backslash
  // inside quotes (which scanLabelBlock steps over unread).
  let h = Math.imul(seed ^ LBRACE, 0x01000193);
  let i = s + 1;
  let c = 0;
  for (;;) {
    // Blanks, then `}` (the end) or a label name.
    c = i < end ? b[i] : NL;
    if (lenient) {
      while (c === SP || c === TAB) {
        h = Math.imul(h ^ c, 0x01000193);
        c = ++i < end ? b[i] : NL;
      }
    }
    if (c === RBRACE) break;
    if (c >= 128 || (CLASS[c] & 1) === 0) return -1;
    const ns = i;
    let nh = Math.imul((0x811c9dc5 | 0) ^ c, 0x01000193);
    h = Math.imul(h ^ c, 0x01000193);
    c = ++i < end ? b[i] : NL;
    while (c < 128 && (CLASS[c] & 2) !== 0) {
      nh = Math.imul(nh ^ c, 0x01000193);
      h = Math.imul(h ^ c, 0x01000193);
      c = ++i < end ? b[i] : NL;
    }
    const k = out.length;
    const pn = k < prev.length ? prev[k] : '';
    const name =
      pn.length === i - ns && body.startsWith(pn, ns) ? pn : strings.internSpan(body, ns, i, nh, own);
    if (lenient) {
      while (c === SP || c === TAB) {
        h = Math.imul(h ^ c, 0x01000193);
        c = ++i < end ? b[i] : NL;
      }
    }
    if (c !== EQ) return -1;
    h = Math.imul(h ^ c, 0x01000193);
    c = ++i < end ? b[i] : NL;
    if (lenient) {
      while (c === SP || c === TAB) {
        h = Math.imul(h ^ c, 0x01000193);
        c = ++i < end ? b[i] : NL;
      }
    }
    if (c !== QUOTE) return -1;
    h = Math.imul(h ^ c, 0x01000193);
    const vs = ++i;
    let escaped = false;
    let vh = 0x811c9dc5 | 0;
    for (;;) {
      if (i >= end) return -1;
      c = b[i];
      // A newline ends the line (scanLabelBlock: unterminated), unless escaped, which it steps over.
      if (c === NL) return -1;
      h = Math.imul(h ^ c, 0x01000193);
      if (c === BACKSLASH) {
        escaped = true;
        i += 2;
      } else if (c === QUOTE) break;
      else {
        vh = Math.imul(vh ^ c, 0x01000193);
        i++;
      }
    }
    // body[i] is the closing quote.
    out.push(
      name,
      labelValue(body, vs, i, vh, escaped, k + 1 < prev.length ? prev[k + 1] : '', own, strings),
    );
    c = ++i < end ? b[i] : NL;
    if (lenient) {
      while (c === SP || c === TAB) {
        h = Math.imul(h ^ c, 0x01000193);
        c = ++i < end ? b[i] : NL;
      }
    }
    if (c === RBRACE) break;
    if (c !== COMMA) return -1;
    h = Math.imul(h ^ c, 0x01000193);
    i++;
    // OpenMetrics (2.42) refuses a comma before `}`; the text format allows it (checked at the loop top).
    if (!lenient && i < end && b[i] === RBRACE) return -1;
  }
  // c is the closing `}` at i.
  spanHash = Math.imul(h ^ c, 0x01000193);
  return i + 1;
}

/** Skips spaces and tabs (and a CR before a newline). */
export function skipWs(body: string, i: number, end: number): number {
  const CR = 13,
    SP = 32,
    TAB = 9;
  while (i < end) {
    const c = body.charCodeAt(i);
    if (c !== SP && c !== TAB && c !== CR) break;
    i++;
  }
  return i;
}

/** End of a whitespace-delimited token. */
export function tokenEnd(body: string, i: number, end: number): number {
  const NL = 10,
    CR = 13,
    SP = 32,
    TAB = 9;
  while (i < end) {
    const c = body.charCodeAt(i);
    if (c === SP || c === TAB || c === NL || c === CR) break;
    i++;
  }
  return i;
}
