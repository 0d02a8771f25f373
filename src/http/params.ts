// Request parameters as Prometheus 2.42 parses them (web/api/v1/api.go, prometheus/common/model): times,
// durations, label names and `match[]` selectors, with Prometheus' error texts.
import type { Matcher, MatchType } from '../shared/matchers.js';
import { compileAnchored } from '../shared/matchers.js';

/** A parameter that failed to parse; the API answers 400 bad_data with this text. */
export class ParamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParamError';
  }
}

// Prometheus' defaults for an absent start/end: the extremes Go's time package can still format
// (time.Unix(math.MinInt64/1000+62135596801, 0) and time.Unix(math.MaxInt64/1000-62135596801, 999999999)).
const MIN_TIME_SEC = -9223309901257974;
const MAX_TIME_SEC = 9223309901257974;
/** The default `start` in milliseconds (not exactly representable: only ever compared against). */
export const MIN_TIME_MS = MIN_TIME_SEC * 1000;
export const MAX_TIME_MS = MAX_TIME_SEC * 1000 + 999;
const MIN_TIME_FORMATTED = '-292273086-05-16T16:47:06Z';
const MAX_TIME_FORMATTED = '292277025-08-18T07:12:54.999999999Z';

// Go's strconv.ParseFloat decimal syntax (hex floats, Inf and NaN are not useful as times and are refused).
const decimalFloat = /^[+-]?(?:\d+(?:_\d+)*\.?(?:\d+(?:_\d+)*)?|\.\d+(?:_\d+)*)(?:[eE][+-]?\d+)?$/;
const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** Go's math.Round: halves away from zero. */
function goRound(x: number): number {
  const r = Math.trunc(x);
  return Math.abs(x - r) >= 0.5 ? r + Math.sign(x) : r;
}

function parseFloatStrict(s: string): number | undefined {
  if (!decimalFloat.test(s)) return undefined;
  // Go accepts underscores only with a base prefix; a plain decimal with one is an error.
  if (s.includes('_')) return undefined;
  const f = Number(s);
  return Number.isFinite(f) ? f : undefined;
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * A time parameter in milliseconds: unix seconds with decimals (rounded to milliseconds as Prometheus
 * does) or RFC3339 with optional fraction. Throws `cannot parse "x" to a valid timestamp`.
 */
export function parseTime(s: string): number {
  const f = parseFloatStrict(s);
  if (f !== undefined) {
    // Prometheus: s, ns := math.Modf(t); ns = math.Round(ns*1000)/1000; time.Unix(s, int64(ns*1e9)).
    let sec = Math.trunc(f);
    const frac = goRound((f - sec) * 1000) / 1000;
    let nsec = Math.trunc(frac * 1e9);
    if (nsec < 0) {
      sec -= 1;
      nsec += 1e9;
    }
    if (Math.abs(sec) <= MAX_TIME_SEC) return sec * 1000 + Math.trunc(nsec / 1e6);
    throw new ParamError(`cannot parse ${goQuote(s)} to a valid timestamp`);
  }
  const m = rfc3339.exec(s);
  if (m !== null) {
    const year = +m[1];
    const month = +m[2];
    const day = +m[3];
    const hour = +m[4];
    const min = +m[5];
    const sec = +m[6];
    const ok = month >= 1 && month <= 12 && day >= 1 && day <= daysIn(year, month) && hour < 24 && min < 60;
    let offsetMin = 0;
    let offOk = true;
    if (m[8] !== 'Z') {
      const oh = +m[8].slice(1, 3);
      const om = +m[8].slice(4, 6);
      offOk = oh < 24 && om < 60;
      offsetMin = (m[8][0] === '-' ? -1 : 1) * (oh * 60 + om);
    }
    if (ok && offOk && sec < 60) {
      const ms = m[7] === undefined ? 0 : Math.trunc(+`${m[7]}000000000`.slice(0, 9) / 1e6);
      const d = new Date(0);
      d.setUTCFullYear(year, month - 1, day);
      d.setUTCHours(hour, min, sec, 0);
      return d.getTime() - offsetMin * 60_000 + ms;
    }
  }
  if (s === MIN_TIME_FORMATTED) return MIN_TIME_MS;
  if (s === MAX_TIME_FORMATTED) return MAX_TIME_MS;
  throw new ParamError(`cannot parse ${goQuote(s)} to a valid timestamp`);
}

/** An optional time parameter: the default when absent or empty, else `Invalid time value for '<name>': ...`. */
export function parseTimeParam(value: string | undefined, name: string, dflt: number): number {
  if (value === undefined || value === '') return dflt;
  try {
    return parseTime(value);
  } catch (e) {
    throw new ParamError(`Invalid time value for '${name}': ${(e as Error).message}`);
  }
}

// float64(math.MaxInt64) as Go compares it: 2^63.
const INT64_MAX = 2 ** 63;

/**
 * A duration parameter (step, timeout) in nanoseconds: float seconds or Prometheus' duration format.
 * Throws `cannot parse "x" to a valid duration`.
 */
export function parseDurationNs(s: string): number {
  const f = parseFloatStrict(s);
  if (f !== undefined) {
    const ns = f * 1e9;
    if (ns > INT64_MAX || ns < -INT64_MAX) {
      throw new ParamError(`cannot parse ${goQuote(s)} to a valid duration. It overflows int64`);
    }
    return Math.trunc(ns);
  }
  try {
    return parsePromDuration(s) * 1e6;
  } catch {
    throw new ParamError(`cannot parse ${goQuote(s)} to a valid duration`);
  }
}

const durationRe = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const DURATION_UNITS_MS = [
  365 * 24 * 3600_000,
  7 * 24 * 3600_000,
  24 * 3600_000,
  3600_000,
  60_000,
  1000,
  1,
] as const;
const MAX_DURATION_MS = Math.floor(INT64_MAX / 1e6);

/**
 * Prometheus' duration format (`1h30m`, `5m`, `15d`, `0`) in milliseconds, as prometheus/common's
 * model.ParseDuration, with its error texts.
 */
export function parsePromDuration(s: string): number {
  if (s === '0') return 0;
  if (s === '') throw new ParamError('empty duration string');
  const m = durationRe.exec(s);
  if (m === null) throw new ParamError(`not a valid duration string: ${goQuote(s)}`);
  let ms = 0;
  for (let i = 0; i < DURATION_UNITS_MS.length; i++) {
    const g = m[i + 1];
    if (g === undefined) continue;
    ms += Number(g) * DURATION_UNITS_MS[i];
  }
  if (ms > MAX_DURATION_MS) throw new ParamError('duration out of range');
  return ms;
}

/** model.Duration's String(): `5m`, `15d`, `2w`, `1h30m`, `0s`. */
export function formatPromDuration(ms: number): string {
  if (ms === 0) return '0s';
  let r = '';
  const units = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];
  for (let i = 0; i < units.length; i++) {
    const mult = DURATION_UNITS_MS[i];
    // Years and weeks only when exact, as Prometheus prints 90d rather than 12w6d.
    if (i < 2 && ms % mult !== 0) continue;
    const v = Math.floor(ms / mult);
    if (v > 0) {
      r += `${v}${units[i]}`;
      ms -= v * mult;
    }
  }
  return r;
}

/** Go's %q for the strings we quote in messages (ASCII-printable kept, the rest escaped like JSON). */
export function goQuote(s: string): string {
  return JSON.stringify(s);
}

const labelNameRe = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const metricNameRe = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** model.LabelNameRE. */
export function isValidLabelName(name: string): boolean {
  return labelNameRe.test(name);
}

export function isValidMetricName(name: string): boolean {
  return metricNameRe.test(name);
}

/**
 * Parses a series selector (`up`, `up{job="a"}`, `{__name__=~"x.*"}`) as PromQL's ParseMetricSelector
 * does, with its `line:col: parse error: ...` messages for the common mistakes.
 */
export function parseMetricSelector(input: string): Matcher[] {
  return new SelectorParser(input).parse();
}

class SelectorParser {
  private pos = 0;
  constructor(private readonly s: string) {}

  private fail(at: number, msg: string): never {
    throw new ParamError(`1:${at + 1}: parse error: ${msg}`);
  }

  private skipSpace(): void {
    while (this.pos < this.s.length) {
      const c = this.s[this.pos];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') this.pos++;
      else break;
    }
  }

  private ident(re: RegExp): string {
    re.lastIndex = this.pos;
    const m = re.exec(this.s);
    if (m === null) return '';
    this.pos += m[0].length;
    return m[0];
  }

  /** Describes the token at `at` the way PromQL's parser names it in "unexpected ..." messages. */
  private describe(at: number): string {
    const rest = this.s.slice(at);
    const num = /^[0-9.][0-9a-zA-Z_.+-]*/.exec(rest);
    if (num !== null && /^(?:\d|\.\d)/.test(rest)) return `number ${goQuote(num[0].replace(/[+-].*$/, ''))}`;
    const id = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(rest);
    if (id !== null) return `identifier ${goQuote(id[0])}`;
    if (rest[0] === '"' || rest[0] === "'" || rest[0] === '`') return 'string';
    return goQuote(rest.slice(0, rest.startsWith('!=') || rest.startsWith('==') ? 2 : 1));
  }

  parse(): Matcher[] {
    const out: Matcher[] = [];
    this.skipSpace();
    if (this.pos >= this.s.length) this.fail(0, 'no expression found in input');
    const nameStart = this.pos;
    const name = this.ident(/[a-zA-Z_:][a-zA-Z0-9_:]*/y);
    if (name !== '') out.push({ type: '=', name: '__name__', value: name });
    this.skipSpace();
    if (this.s[this.pos] === '{') {
      this.pos++;
      this.parseMatchers(out);
      this.skipSpace();
    } else if (name === '') {
      this.fail(nameStart, `unexpected ${this.describe(nameStart)}`);
    }
    if (this.pos < this.s.length) this.fail(this.pos, `unexpected ${this.describe(this.pos)}`);
    return out;
  }

  private parseMatchers(out: Matcher[]): void {
    for (;;) {
      this.skipSpace();
      if (this.pos >= this.s.length) this.fail(this.pos, 'unexpected end of input inside braces');
      if (this.s[this.pos] === '}') {
        this.pos++;
        return;
      }
      const nameAt = this.pos;
      const name = this.ident(/[a-zA-Z_][a-zA-Z0-9_]*/y);
      if (name === '') {
        const c = this.s[this.pos];
        if (c === '"' || c === "'" || c === '`' || c === ',' || c === '=' || c === '!') {
          this.fail(
            this.pos,
            `unexpected ${this.describe(this.pos)} in label matching, expected identifier or "}"`,
          );
        }
        this.fail(this.pos, `unexpected character inside braces: ${goRune(this.s, this.pos)}`);
      }
      this.skipSpace();
      const opAt = this.pos;
      let op: MatchType;
      if (this.s.startsWith('=~', this.pos)) op = '=~';
      else if (this.s.startsWith('!~', this.pos)) op = '!~';
      else if (this.s.startsWith('!=', this.pos)) op = '!=';
      else if (this.s[this.pos] === '=') op = '=';
      else if (this.s[this.pos] === '!') {
        if (this.pos + 1 >= this.s.length) this.fail(this.pos, 'unexpected end of input inside braces');
        this.fail(this.pos, `unexpected character after '!' inside braces: ${goRune(this.s, this.pos + 1)}`);
      } else if (this.pos >= this.s.length) {
        this.fail(this.pos, 'unexpected end of input inside braces');
      } else {
        this.fail(
          opAt,
          `unexpected ${this.describe(opAt)} in label matching, expected label matching operator`,
        );
      }
      this.pos += op.length;
      this.skipSpace();
      if (this.pos >= this.s.length) this.fail(this.pos, 'unexpected end of input inside braces');
      const q = this.s[this.pos];
      if (q !== '"' && q !== "'" && q !== '`') {
        if (/[a-zA-Z0-9_.,}]/.test(q)) {
          this.fail(this.pos, `unexpected ${this.describe(this.pos)} in label matching, expected string`);
        }
        this.fail(this.pos, `unexpected character inside braces: ${goRune(this.s, this.pos)}`);
      }
      const value = this.quoted();
      if (op === '=~' || op === '!~') {
        try {
          compileAnchored(value);
        } catch (e) {
          this.fail(nameAt, `error parsing regexp: ${(e as Error).message}`);
        }
      }
      out.push({ type: op, name, value });
      this.skipSpace();
      const c = this.s[this.pos];
      if (c === ',') {
        this.pos++;
      } else if (c !== '}') {
        if (this.pos >= this.s.length) this.fail(this.pos, 'unexpected end of input inside braces');
        this.fail(this.pos, `unexpected ${this.describe(this.pos)} in label matching, expected "," or "}"`);
      }
    }
  }

  /** A Go/PromQL string literal: "..." and '...' with escapes, `...` raw. */
  private quoted(): string {
    const start = this.pos;
    const q = this.s[this.pos++];
    let out = '';
    for (;;) {
      if (this.pos >= this.s.length) this.fail(start, 'unterminated quoted string');
      const c = this.s[this.pos++];
      if (c === q) return out;
      if (q === '`') {
        out += c;
        continue;
      }
      if (c === '\n') this.fail(start, 'unterminated quoted string');
      if (c !== '\\') {
        out += c;
        continue;
      }
      if (this.pos >= this.s.length) this.fail(start, 'unterminated quoted string');
      const e = this.s[this.pos++];
      switch (e) {
        case 'a':
          out += '\x07';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'v':
          out += '\v';
          break;
        case '\\':
          out += '\\';
          break;
        case '"':
        case "'":
          if (e !== q) this.fail(start, 'unknown escape sequence');
          out += e;
          break;
        case 'x':
        case 'u':
        case 'U': {
          const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
          const hex = this.s.slice(this.pos, this.pos + n);
          if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex))
            this.fail(start, 'illegal character in escape sequence');
          this.pos += n;
          const cp = Number.parseInt(hex, 16);
          if (e === 'x') out += String.fromCharCode(cp);
          else {
            if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))
              this.fail(start, 'escape sequence is invalid Unicode code point');
            out += String.fromCodePoint(cp);
          }
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            const oct = this.s.slice(this.pos - 1, this.pos + 2);
            if (!/^[0-7]{3}$/.test(oct)) this.fail(start, 'illegal character in escape sequence');
            const v = Number.parseInt(oct, 8);
            if (v > 255) this.fail(start, 'escape sequence is invalid Unicode code point');
            this.pos += 2;
            out += String.fromCharCode(v);
          } else {
            const cp = e.codePointAt(0)!;
            this.fail(
              start,
              `unknown escape sequence U+${cp.toString(16).toUpperCase().padStart(4, '0')} '${e}'`,
            );
          }
      }
    }
  }
}

function goRune(s: string, at: number): string {
  const cp = s.codePointAt(at);
  return cp === undefined ? "''" : `'${String.fromCodePoint(cp)}'`;
}

/**
 * The `match[]` values of a request: each parsed, and each set needing one matcher that does not match
 * the empty string (`match[] must contain at least one non-empty matcher`).
 */
export function parseMatchersParam(values: readonly string[]): Matcher[][] {
  const sets: Matcher[][] = [];
  for (const v of values) sets.push(parseMetricSelector(v));
  for (const set of sets) {
    let nonEmpty = false;
    for (const m of set) {
      if (!matchesEmpty(m)) {
        nonEmpty = true;
        break;
      }
    }
    if (!nonEmpty) throw new ParamError('match[] must contain at least one non-empty matcher');
  }
  return sets;
}

function matchesEmpty(m: Matcher): boolean {
  switch (m.type) {
    case '=':
      return m.value === '';
    case '!=':
      return m.value !== '';
    case '=~':
      return compileAnchored(m.value).test('');
    case '!~':
      return !compileAnchored(m.value).test('');
  }
}
