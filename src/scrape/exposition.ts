/**
 * The parse loop shared by the text 0.0.4 (parse-text.ts) and OpenMetrics 1.0 (parse-openmetrics.ts) formats.
 * It walks the body once, writes each sample into reusable columns (value, timestamp, cache entry, line) and
 * parses label pairs only for series text it has not seen before. Errors are returned, never thrown, with the
 * line number of the offending line.
 */

import { bodyBytes } from './body-bytes.js';
import {
  floatOk,
  intOk,
  ParseError,
  parseFloatSpan,
  parseIntSpan,
  parseLabelBlock,
  parseLabelBlockOnePass,
  scanLabelBlock,
  scanMetricName,
  scanMetricNameHash,
  scanMetricNameHashBytes,
  skipWs,
  spanHash,
  tokenEnd,
  unescapeHelp,
} from './lexer.js';
import { detach, type MetricMetadata, type SeriesCache, setMetadataBuilder } from './series-cache.js';

export { ParseError } from './lexer.js';

/** Reusable output columns of one parse. Column contents past `count` are garbage. */
export class ParsedSamples {
  count = 0;
  v = new Float64Array(1024);
  /** Milliseconds, or NaN when the line had no timestamp. */
  t = new Float64Array(1024);
  /** The cache entry of each sample's series text. */
  entry = new Int32Array(1024);
  /** 1-based line of each sample. */
  line = new Uint32Array(1024);
  /** Entries created by this parse (series not seen before), in order. */
  newEntries: number[] = [];
  /** The number of HELP/TYPE/UNIT lines. */
  typeLines = 0;

  reset(): void {
    this.count = 0;
    this.newEntries.length = 0;
    this.typeLines = 0;
  }

  grow(): void {
    const n = this.v.length * 2;
    const v = new Float64Array(n);
    v.set(this.v);
    this.v = v;
    const t = new Float64Array(n);
    t.set(this.t);
    this.t = t;
    const e = new Int32Array(n);
    e.set(this.entry);
    this.entry = e;
    const l = new Uint32Array(n);
    l.set(this.line);
    this.line = l;
  }
}

const OM_TYPES = new Set([
  'counter',
  'gauge',
  'histogram',
  'gaugehistogram',
  'summary',
  'info',
  'stateset',
  'unknown',
]);

function lineEnd(body: string, i: number): number {
  const n = body.indexOf('\n', i);
  return n < 0 ? body.length : n;
}

function quoteSnippet(body: string, s: number, e: number): string {
  return JSON.stringify(body.substring(s, Math.min(e, s + 60)));
}

// Hot functions copy the character codes they compare with into local constants: V8 (Node 20) reads an
// imported or module-level binding through its cell, with a hole check, at every use (see lexer.ts).
/**
 * Parses a whole body. `om` selects OpenMetrics (timestamps in seconds, exemplars, UNIT, `# EOF`, strict
 * comments) over text 0.0.4. Returns null on success; on error, the samples before the bad line are in `out`.
 */
export function parseExposition(
  body: string,
  om: boolean,
  out: ParsedSamples,
  cache: SeriesCache,
): ParseError | null {
  try {
    return parseSlice(beginParse(body, out, cache, false), body, om, out, cache, Number.POSITIVE_INFINITY);
  } catch (err) {
    return internalError(err);
  }
}

/**
 * Like parseExposition, but a large body is parsed in slices of about `sliceChars` characters with the event
 * loop free in between, so that one huge target cannot stall other scrapes or the HTTP API.
 */
export async function parseExpositionAsync(
  body: string,
  om: boolean,
  out: ParsedSamples,
  cache: SeriesCache,
  sliceChars = 1 << 20,
): Promise<ParseError | null> {
  const st = beginParse(body, out, cache, true);
  for (;;) {
    let err: ParseError | null;
    try {
      err = parseSlice(st, body, om, out, cache, st.pos + sliceChars);
    } catch (e) {
      return internalError(e);
    }
    if (err !== null || st.done) return err;
    await new Promise((r) => setImmediate(r));
  }
}

function internalError(err: unknown): ParseError {
  // Defensive: the loop is written not to throw; if it ever does, report instead of crashing the scrape.
  return new ParseError(0, `internal parser error: ${err instanceof Error ? err.message : String(err)}`);
}

/** Where a parse stands between slices. */
interface ParseState {
  iter: number;
  /**
   * The cache was empty when the parse began (every series is new, so labels are parsed in one pass): the
   * body's bytes when every character is below 256 (bodyBytes); otherwise null.
   */
  bytes: Uint8Array | null;
  own: (s: string) => string;
  pos: number;
  line: number;
  guess: number;
  prev: number;
  sawEof: boolean;
  gapStart: number;
  gapLine: number;
  gapMeta: number;
  done: boolean;
}

/**
 * Characters per sample line assumed to size a target's new cache (SeriesCache.reserve). node_exporter 1.5
 * has 113 (its HELP/TYPE lines included); a lower guess over-sizes the cache's typed arrays (12 bytes per
 * series) rather than letting the first parse grow them several times.
 */
const CHARS_PER_SERIES_GUESS = 64;

function beginParse(body: string, out: ParsedSamples, cache: SeriesCache, async: boolean): ParseState {
  out.reset();
  if (cache.size === 0) cache.reserve(Math.min(body.length / CHARS_PER_SERIES_GUESS, 1 << 16));
  return {
    iter: ++cache.iter,
    bytes: cache.size === 0 ? bodyBytes(body, async) : null,
    // Strings cut from the body keep the whole body alive. On the first parse nearly all of the body ends up
    // in the cache anyway, so keeping that one body costs no more than copies and saves the copying; later
    // parses copy what they keep so that a changed series does not pin a whole new body.
    own: cache.size === 0 ? keepSlice : detach,
    pos: 0,
    line: 0,
    guess: cache.first,
    prev: -1,
    sawEof: false,
    gapStart: 0,
    gapLine: 0,
    gapMeta: 0,
    done: false,
  };
}

/** Parses lines from st.pos until the body ends or a line starts at or after `stopAt`. */
function parseSlice(
  st: ParseState,
  body: string,
  om: boolean,
  out: ParsedSamples,
  cache: SeriesCache,
  stopAt: number,
): ParseError | null {
  const NL = 10,
    CR = 13,
    SP = 32,
    TAB = 9,
    HASH = 35,
    LBRACE = 123;
  const iter = st.iter;
  const bytes = st.bytes;
  const own = st.own;
  // The label pairs of the last series this slice parsed (see parseLabelBlock's `prev`).
  let prevRaw: readonly string[] = NO_RAW;
  const len = body.length;
  // add() may grow the cache's integer columns: read again after each new entry.
  let { succ, lastIter, prefixLines, prefixMeta } = cache;
  const prefix = cache.prefix;
  let pos = st.pos;
  let line = st.line;
  let guess = st.guess;
  let prev = st.prev;
  let sawEof = st.sawEof;
  let n = out.count;
  let cap = out.v.length;
  // The gap: from the end of the previous sample line to the current position (comment and blank lines).
  let gapStart = st.gapStart;
  let gapLine = st.gapLine;
  let gapMeta = st.gapMeta;

  while (pos < len) {
    if (pos >= stopAt) {
      out.count = n;
      st.pos = pos;
      st.line = line;
      st.guess = guess;
      st.prev = prev;
      st.sawEof = sawEof;
      st.gapStart = gapStart;
      st.gapLine = gapLine;
      st.gapMeta = gapMeta;
      return null;
    }
    let e = -1;
    let i = pos;
    // Fast path: the predicted entry's prefix (the gap's comment lines and its series text) is unchanged.
    if (guess >= 0 && pos === gapStart) {
      const pre = prefix[guess];
      const a = pos + pre.length;
      if (a < len && body.substring(pos, a) === pre) {
        const nc = body.charCodeAt(a);
        if (om) {
          // OpenMetrics: exactly one space, then the value.
          if (nc === SP) {
            e = guess;
            i = a + 1;
            line += prefixLines[e] + 1;
            out.typeLines += prefixMeta[e];
          }
        } else if (nc === SP || nc === TAB) {
          // `foo {a="b"}` must not match the key `foo` (text format allows blanks before `{`).
          const b = skipWs(body, a, len);
          if (body.charCodeAt(b) !== LBRACE) {
            e = guess;
            i = b;
            line += prefixLines[e] + 1;
            out.typeLines += prefixMeta[e];
          }
        }
      }
    }

    if (e < 0) {
      line++;
      if (sawEof) return new ParseError(line, 'unexpected data after # EOF');
      let c = body.charCodeAt(pos);
      if (c === NL) {
        if (om) return new ParseError(line, 'unexpected empty line');
        pos++;
        continue;
      }
      if (!om && (c === SP || c === TAB || c === CR)) {
        pos = skipWs(body, pos, len);
        if (pos >= len) break;
        c = body.charCodeAt(pos);
        if (c === NL) {
          pos++;
          continue;
        }
      }
      if (c === HASH) {
        if (!om) {
          // A run of HELP/TYPE lines in their usual spelling, checked by one regular expression (native code)
          // instead of character by character; anything else is left to textComment below.
          META_RUN.lastIndex = pos;
          META_RUN.test(body);
          const runEnd = META_RUN.lastIndex;
          if (runEnd > pos) {
            let k = 1;
            for (let q = body.indexOf('\n', pos) + 1; q < runEnd; q = body.indexOf('\n', q) + 1) k++;
            line += k - 1;
            out.typeLines += k;
            gapMeta += k;
            pos = runEnd;
            continue;
          }
        }
        const le = lineEnd(body, pos);
        const res = om ? omComment(body, pos, le, null) : textComment(body, pos, le, null);
        if (typeof res === 'string') return new ParseError(line, res);
        if (res === EOF) {
          sawEof = true;
          // Only a final newline may follow.
          if (le < len && le + 1 < len) return new ParseError(line + 1, 'unexpected data after # EOF');
          setTail(cache, body, gapStart, pos, gapMeta, own);
          pos = le + 1;
          break;
        }
        if (res === META) {
          out.typeLines++;
          gapMeta++;
        }
        pos = le + 1;
        continue;
      }

      // A sample line whose series text was not predicted: find it in the map or parse its labels.
      i = pos;
      const ne = bytes !== null ? scanMetricNameHashBytes(bytes, i, len) : scanMetricNameHash(body, i, len);
      if (ne === i) return new ParseError(line, `expected a metric name, got ${quoteSnippet(body, i, len)}`);
      const nameHash = spanHash;
      let h = nameHash;
      let ke = ne;
      let lb = ne;
      if (!om) lb = skipWs(body, ne, len);
      let raw: string[] | null = null;
      let mname = '';
      if (bytes !== null) {
        // A first scrape: a lookup would miss for all but a repeated line, so parse the labels while
        // scanning the block instead of scanning it for the lookup and walking it again to parse it.
        // (A cold body with characters above 255 takes the two-pass path below.)
        const pn = prevRaw.length > 1 ? prevRaw[1] : '';
        mname =
          pn.length === ne - i && body.startsWith(pn, i) ? pn : cache.internSpan(body, i, ne, nameHash, own);
        raw = ['__name__', mname];
        if (body.charCodeAt(lb) === LBRACE) {
          ke = parseLabelBlockOnePass(body, bytes, lb, len, h, raw, !om, own, cache, prevRaw);
          // Not well-formed: the two-pass path below finds and reports the error.
          if (ke < 0) raw = null;
          else h = spanHash;
        }
      }
      if (raw === null && body.charCodeAt(lb) === LBRACE) {
        ke = scanLabelBlock(body, lb, len, h);
        if (ke < 0) return new ParseError(line, `unterminated label set in ${quoteSnippet(body, i, len)}`);
        h = spanHash;
      }
      const hit = cache.find(body, i, ke, h);
      let fresh = false;
      if (hit >= 0) e = hit;
      else {
        fresh = true;
        if (raw === null) {
          // The previous new series usually has the same name (a family's series come together).
          const pn = prevRaw.length > 1 ? prevRaw[1] : '';
          mname =
            pn.length === ne - i && body.startsWith(pn, i)
              ? pn
              : cache.internSpan(body, i, ne, nameHash, own);
          raw = ['__name__', mname];
          if (ke !== ne) {
            const err = parseLabelBlock(body, lb, ke, raw, !om, own, cache, prevRaw);
            if (err !== null) return new ParseError(line, err);
          }
        }
        prevRaw = raw;
        e = cache.add(own(body.substring(i, ke)), raw, h);
        ({ succ, lastIter, prefixLines, prefixMeta } = cache);
        out.newEntries.push(e);
      }
      const sc = body.charCodeAt(ke);
      if (sc !== SP && (om || sc !== TAB)) {
        if (ke >= len || sc === NL)
          return new ParseError(line, `expected a value after ${quoteSnippet(body, i, ke)}`);
        return new ParseError(
          line,
          `unexpected ${quoteSnippet(body, ke, ke + 1)} after the series ${quoteSnippet(body, i, ke)}`,
        );
      }
      if (fresh) prefix[e] = gapStart === i ? cache.keys[e] : own(body.substring(gapStart, ke));
      else {
        const pre = body.substring(gapStart, ke);
        if (prefix[e] !== pre) prefix[e] = own(pre);
      }
      prefixLines[e] = line - 1 - gapLine;
      prefixMeta[e] = gapMeta;
      i = om ? ke + 1 : skipWs(body, ke, len);
    }

    // Value, optional timestamp, optional exemplar (OpenMetrics), end of line.
    if (n === cap) {
      out.grow();
      cap = out.v.length;
    }
    if (om) {
      const r = omSampleTail(body, i, len, out, n);
      if (typeof r === 'string') return new ParseError(line, r);
      i = r;
    } else {
      const ve = tokenEnd(body, i, len);
      if (ve === i) return new ParseError(line, `expected a value after ${quoteSnippet(body, pos, i)}`);
      const v = parseFloatSpan(body, i, ve);
      if (!floatOk) return new ParseError(line, `invalid value ${quoteSnippet(body, i, ve)}`);
      i = skipWs(body, ve, len);
      let t = Number.NaN;
      let c = i < len ? body.charCodeAt(i) : NL;
      if (c !== NL && c !== HASH) {
        const te = tokenEnd(body, i, len);
        t = parseIntSpan(body, i, te);
        if (!intOk) return new ParseError(line, `invalid timestamp ${quoteSnippet(body, i, te)}`);
        i = skipWs(body, te, len);
        c = i < len ? body.charCodeAt(i) : NL;
      }
      if (c !== NL) {
        const what = c === HASH ? 'after the value' : 'at the end of the line';
        return new ParseError(line, `unexpected ${quoteSnippet(body, i, lineEnd(body, i))} ${what}`);
      }
      out.v[n] = v;
      out.t[n] = t;
    }
    pos = i + 1;
    gapStart = pos;
    gapLine = line;
    gapMeta = 0;

    out.entry[n] = e;
    out.line[n] = line;
    n++;
    out.count = n;
    lastIter[e] = iter;
    if (prev >= 0) succ[prev] = e;
    else cache.first = e;
    guess = succ[e];
    prev = e;
  }
  out.count = n;
  st.done = true;
  if (prev >= 0) succ[prev] = -1;
  if (om && !sawEof) return new ParseError(line, 'data does not end with # EOF');
  if (!sawEof) setTail(cache, body, gapStart, len, gapMeta, own);
  cache.metaIter = iter;
  cache.metaOm = om;
  return null;
}

/** Keeps the comment lines after the last sample when they describe families (their metadata). */
function setTail(
  cache: SeriesCache,
  body: string,
  s: number,
  e: number,
  metaLines: number,
  own: (s: string) => string,
): void {
  if (metaLines === 0) cache.tail = '';
  else if (cache.tail.length !== e - s || !body.startsWith(cache.tail, s))
    cache.tail = own(body.substring(s, e));
}

const EOF = 1;
const NO_RAW: readonly string[] = [];

function keepSlice(s: string): string {
  return s;
}

/**
 * Consecutive text-format HELP and TYPE lines in their common spelling (one space between the fields, a
 * newline at the end), each of which textComment accepts as META: a sticky match from a `#` ends just after
 * the last such line (or matches nothing).
 */
const META_RUN =
  /(?:# HELP [a-zA-Z_:][a-zA-Z0-9_:]*(?: [^\n]*)?\n|# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (?:counter|gauge|histogram|summary|untyped)\n){0,1024}/y;

/** A HELP, TYPE or UNIT line (as opposed to a free comment). */
const META = 2;

/** The family `name` in `meta`, created when new. */
function family(meta: Map<string, MetricMetadata>, name: string): MetricMetadata {
  let m = meta.get(name);
  if (m === undefined) {
    m = { type: 'unknown', help: '', unit: '' };
    meta.set(name, m);
  }
  return m;
}

/**
 * The metadata of HELP/TYPE/UNIT lines in `texts` (entry prefixes and the tail of the last parse, already
 * checked by it), later lines overriding earlier ones. The cache calls it when its metadata is asked for.
 */
function buildMetadata(texts: string[], om: boolean): Map<string, MetricMetadata> {
  const HASH = 35;
  const meta = new Map<string, MetricMetadata>();
  for (const text of texts) {
    let p = 0;
    while (p < text.length) {
      const le = lineEnd(text, p);
      const s = om ? p : skipWs(text, p, le);
      if (text.charCodeAt(s) === HASH) {
        if (om) omComment(text, s, le, meta);
        else textComment(text, s, le, meta);
      }
      p = le + 1;
    }
  }
  return meta;
}
setMetadataBuilder(buildMetadata);

/**
 * `# HELP`, `# TYPE` or any other comment in text 0.0.4: checks it and, given `meta`, records it there.
 * Returns META for a HELP/TYPE line, null for a free comment, or an error.
 */
function textComment(
  body: string,
  s: number,
  e: number,
  meta: Map<string, MetricMetadata> | null,
): typeof META | null | string {
  const CR = 13,
    SP = 32,
    TAB = 9;
  let i = skipWs(body, s + 1, e);
  // HELP or TYPE followed by a blank; anything else is a free comment.
  const c0 = body.charCodeAt(i);
  const isHelp = c0 === 72 && body.startsWith('HELP', i);
  const isType = !isHelp && c0 === 84 && body.startsWith('TYPE', i);
  if (!isHelp && !isType) return null;
  const ws = body.charCodeAt(i + 4);
  if (ws !== SP && ws !== TAB) return null;
  i = skipWs(body, i + 4, e);
  const ns = i;
  const ne = scanMetricName(body, i, e);
  if (
    ne === i ||
    (ne < e && body.charCodeAt(ne) !== SP && body.charCodeAt(ne) !== TAB && body.charCodeAt(ne) !== CR)
  ) {
    return `invalid metric name in ${isHelp ? 'HELP' : 'TYPE'} line ${quoteSnippet(body, s, e)}`;
  }
  // Any help text is valid: without a map to fill (a parse), a HELP line is done here.
  if (isHelp && meta === null) return META;
  i = skipWs(body, ne, e);
  let end = e;
  while (end > i && (body.charCodeAt(end - 1) === CR || (isType && body.charCodeAt(end - 1) === SP))) end--;
  if (isType) {
    const type = textType(body, i, end);
    if (type === null) return `invalid metric type ${quoteSnippet(body, i, end)}`;
    if (meta !== null) family(meta, body.substring(ns, ne)).type = type;
  } else if (meta !== null) {
    family(meta, body.substring(ns, ne)).help = unescapeHelp(body.substring(i, end), false);
  }
  return META;
}

function textType(body: string, s: number, e: number): string | null {
  const n = e - s;
  switch (body.charCodeAt(s)) {
    case 99:
      return n === 7 && body.startsWith('counter', s) ? 'counter' : null;
    case 103:
      return n === 5 && body.startsWith('gauge', s) ? 'gauge' : null;
    case 104:
      return n === 9 && body.startsWith('histogram', s) ? 'histogram' : null;
    case 115:
      return n === 7 && body.startsWith('summary', s) ? 'summary' : null;
    case 117:
      return n === 7 && body.startsWith('untyped', s) ? 'unknown' : null;
    default:
      return null;
  }
}

/** `# HELP`, `# TYPE`, `# UNIT` or `# EOF` in OpenMetrics; any other comment is an error there. */
function omComment(
  body: string,
  s: number,
  e: number,
  meta: Map<string, MetricMetadata> | null,
): typeof META | typeof EOF | string {
  const SP = 32;
  if (e - s === 5 && body.startsWith('# EOF', s)) return EOF;
  if (body.charCodeAt(s + 1) !== SP) return `invalid comment ${quoteSnippet(body, s, e)}`;
  const word = body.substring(s + 2, s + 6);
  if ((word !== 'HELP' && word !== 'TYPE' && word !== 'UNIT') || body.charCodeAt(s + 6) !== SP) {
    return `invalid comment ${quoteSnippet(body, s, e)} (OpenMetrics allows only HELP, TYPE, UNIT and EOF)`;
  }
  const i = s + 7;
  const ne = scanMetricName(body, i, e);
  if (ne === i || (ne < e && body.charCodeAt(ne) !== SP))
    return `invalid metric name in ${word} line ${quoteSnippet(body, s, e)}`;
  // The name must be followed by a space and the text (which may be empty), as Prometheus 2.42.
  if (ne === e) return `expected text in ${word}`;
  const name = body.substring(i, ne);
  const text = body.substring(ne + 1, e);
  if (word === 'TYPE') {
    if (!OM_TYPES.has(text)) return `invalid metric type ${JSON.stringify(text)}`;
    if (meta !== null) family(meta, name).type = text;
  } else if (word === 'UNIT') {
    if (text !== '' && !name.endsWith(`_${text}`))
      return `unit ${JSON.stringify(text)} is not a suffix of the metric ${JSON.stringify(name)}`;
    if (meta !== null) family(meta, name).unit = text;
  } else if (meta !== null) family(meta, name).help = unescapeHelp(text, true);
  return META;
}

/** End of an OpenMetrics token: anything up to a space or the end of the line (tabs and CRs included). */
function omTokenEnd(body: string, i: number, end: number): number {
  const NL = 10,
    SP = 32;
  while (i < end) {
    const c = body.charCodeAt(i);
    if (c === SP || c === NL) break;
    i++;
  }
  return i;
}

/**
 * The rest of an OpenMetrics sample line from its value: `value[ timestamp][ # {exemplar} value[ ts]]\n`,
 * single spaces only and nothing trailing, as Prometheus 2.42's lexer. Writes out.v[n] and out.t[n]; returns
 * the index of the line's newline or an error.
 */
function omSampleTail(body: string, i: number, len: number, out: ParsedSamples, n: number): number | string {
  const NL = 10,
    SP = 32,
    HASH = 35;
  const ve = omTokenEnd(body, i, len);
  if (ve === i) return 'expected a value after the series (one space, then the value)';
  const v = parseFloatSpan(body, i, ve);
  if (!floatOk) return `invalid value ${quoteSnippet(body, i, ve)}`;
  let t = Number.NaN;
  i = ve;
  if (body.charCodeAt(i) === SP && body.charCodeAt(i + 1) !== HASH) {
    const te = omTokenEnd(body, i + 1, len);
    if (te === i + 1)
      return `expected a timestamp or "# {" after the value, got ${quoteSnippet(body, i, lineEnd(body, i))}`;
    const ts = parseFloatSpan(body, i + 1, te);
    if (!floatOk || !Number.isFinite(ts)) return `invalid timestamp ${quoteSnippet(body, i + 1, te)}`;
    t = Math.trunc(ts * 1000);
    i = te;
  }
  if (body.charCodeAt(i) === SP && body.charCodeAt(i + 1) === HASH) {
    const r = skipExemplar(body, i + 1, len);
    if (typeof r === 'string') return r;
    i = r;
  }
  if (i < len && body.charCodeAt(i) !== NL) {
    return `unexpected ${quoteSnippet(body, i, lineEnd(body, i))} at the end of the line`;
  }
  out.v[n] = v;
  out.t[n] = t;
  return i;
}

/** Checks and skips an OpenMetrics exemplar `# {labels} value [timestamp]`; returns the index after it. */
function skipExemplar(body: string, i: number, len: number): number | string {
  const SP = 32,
    LBRACE = 123;
  if (body.charCodeAt(i + 1) !== SP || body.charCodeAt(i + 2) !== LBRACE)
    return 'invalid exemplar: expected "# {"';
  const lb = i + 2;
  const le = scanLabelBlock(body, lb, len);
  if (le < 0) return 'invalid exemplar: unterminated label set';
  const scratch: string[] = [];
  const err = parseLabelBlock(body, lb, le, scratch, false);
  if (err !== null) return `invalid exemplar: ${err}`;
  let runes = 0;
  for (let k = 0; k < scratch.length; k++) runes += scratch[k].length;
  if (runes > 128) return 'invalid exemplar: label set longer than 128 characters';
  if (body.charCodeAt(le) !== SP) return 'invalid exemplar: expected a value';
  let j = le + 1;
  const ve = omTokenEnd(body, j, len);
  parseFloatSpan(body, j, ve);
  if (ve === j || !floatOk) return `invalid exemplar value ${quoteSnippet(body, j, ve)}`;
  j = ve;
  if (body.charCodeAt(j) === SP) {
    const te = omTokenEnd(body, j + 1, len);
    const ts = parseFloatSpan(body, j + 1, te);
    if (te === j + 1 || !floatOk || !Number.isFinite(ts))
      return `invalid exemplar timestamp ${quoteSnippet(body, j + 1, te)}`;
    j = te;
  }
  return j;
}
