/**
 * Invalid UTF-8 in a scrape body, as Prometheus 2.42 treats it (checked against the real binary): a label value
 * (series or exemplar) holding invalid bytes fails the scrape with `invalid UTF-8 label value`, HELP text with
 * `help text is not a valid utf8 string`; in a text-format free comment they are ignored. Anywhere else (metric
 * names, values, TYPE/UNIT) 2.42's lexer refuses the line, and so does our parser on the U+FFFD that decoding
 * left there. Decoding with replacement stays the fast path: this scan runs only for bodies that `isUtf8`
 * finds invalid.
 */
import { isUtf8 } from 'node:buffer';

export interface Utf8Problem {
  /** 1-based line of the first invalid sequence that fails the scrape. */
  line: number;
  message: string;
}

/** Length of the valid UTF-8 sequence at p, or 0 when the bytes there are not one (Go's utf8 rules). */
function seqLen(b: Uint8Array, p: number): number {
  const c = b[p];
  if (c < 0x80) return 1;
  const n = b.length;
  const cont = (k: number): boolean => p + k < n && (b[p + k] & 0xc0) === 0x80;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    const c1 = b[p + 1];
    if (c === 0xe0 && c1 < 0xa0) return 0; // overlong
    if (c === 0xed && c1 > 0x9f) return 0; // surrogates
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    const c1 = b[p + 1];
    if (c === 0xf0 && c1 < 0x90) return 0;
    if (c === 0xf4 && c1 > 0x8f) return 0;
    return 4;
  }
  return 0;
}

const NL = 10;

function skipBlanks(b: Uint8Array, i: number, end: number): number {
  while (i < end && (b[i] === 0x20 || b[i] === 0x09)) i++;
  return i;
}

function startsWithAscii(b: Uint8Array, i: number, word: string): boolean {
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word.charCodeAt(k)) return false;
  return true;
}

/**
 * The first invalid UTF-8 sequence of `body` that fails a scrape of the given format, or null (valid body, or
 * invalid bytes only where 2.42 ignores them or where the parser reports the line itself).
 */
export function findUtf8Problem(body: Uint8Array, om: boolean): Utf8Problem | null {
  if (isUtf8(body)) return null;
  const n = body.length;
  let line = 1;
  let ls = 0;
  for (let p = 0; p < n; ) {
    const c = body[p];
    if (c === NL) {
      line++;
      ls = p + 1;
      p++;
      continue;
    }
    const k = seqLen(body, p);
    if (k > 0) {
      p += k;
      continue;
    }
    // Invalid bytes at p, on the line starting at ls.
    let le = body.indexOf(NL, p);
    if (le < 0) le = n;
    const s = om ? ls : skipBlanks(body, ls, le);
    if (body[s] === 0x23 /* # */) {
      const w = om ? s + 2 : skipBlanks(body, s + 1, le);
      const help =
        startsWithAscii(body, w, 'HELP') && (body[w + 4] === 0x20 || (!om && body[w + 4] === 0x09));
      if (help) return { line, message: 'help text is not a valid utf8 string' };
    } else {
      const brace = body.indexOf(0x7b /* { */, s);
      if (brace >= 0 && brace < p) return { line, message: 'invalid UTF-8 label value' };
    }
    // A free comment (2.42 ignores its bytes) or a place where the parser itself refuses U+FFFD: go on.
    p = le;
  }
  return null;
}
