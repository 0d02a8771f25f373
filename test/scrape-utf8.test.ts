import { describe, expect, it } from 'vitest';
import { findUtf8Problem } from '../src/scrape/utf8.js';

const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

describe('invalid UTF-8 in scrape bodies (as Prometheus 2.42)', () => {
  it('accepts valid bodies, including an encoded U+FFFD and 4-byte characters', () => {
    expect(findUtf8Problem(Buffer.from('a{l="x\u{fffd}y\u{1f600}"} 1\n'), false)).toBeNull();
  });

  it('refuses a label value with invalid bytes, naming the line', () => {
    expect(findUtf8Problem(bytes('a 1\n\nb{l="', [0xff], '"} 2\n'), false)).toEqual({
      line: 3,
      message: 'invalid UTF-8 label value',
    });
    expect(findUtf8Problem(bytes('a_total 1 # {t="', [0xc3], '"} 1\n# EOF\n'), true)).toEqual({
      line: 1,
      message: 'invalid UTF-8 label value',
    });
  });

  it('refuses HELP text with invalid bytes, ignores them in a text-format comment', () => {
    expect(findUtf8Problem(bytes('# HELP c x', [0xc3], '\nc 1\n'), false)?.message).toBe(
      'help text is not a valid utf8 string',
    );
    expect(findUtf8Problem(bytes('# HELP c x', [0xc3], '\nc 1\n# EOF\n'), true)?.message).toBe(
      'help text is not a valid utf8 string',
    );
    expect(findUtf8Problem(bytes('# note ', [0xff], '\nc 1\n'), false)).toBeNull();
    // A later bad label value is still found past an ignored comment.
    expect(findUtf8Problem(bytes('# note ', [0xff], '\nc{a="', [0xff], '"} 1\n'), false)?.line).toBe(2);
  });

  it('treats overlong forms, surrogates and truncated sequences as invalid (Go utf8.Valid)', () => {
    for (const bad of [
      [0xc0, 0x80],
      [0xe0, 0x80, 0x80],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xe2, 0x82],
    ]) {
      expect(findUtf8Problem(bytes('a{l="', bad, '"} 1\n'), false)?.message).toBe(
        'invalid UTF-8 label value',
      );
    }
  });

  it('leaves invalid bytes outside label values and HELP to the parser (null here)', () => {
    expect(findUtf8Problem(bytes('a', [0xff], ' 1\n'), false)).toBeNull();
  });
});
