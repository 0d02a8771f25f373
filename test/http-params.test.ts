import { describe, expect, it } from 'vitest';
import {
  formatPromDuration,
  MAX_TIME_MS,
  MIN_TIME_MS,
  parseDurationNs,
  parseMatchersParam,
  parseMetricSelector,
  parsePromDuration,
  parseTime,
  parseTimeParam,
} from '../src/http/params.js';

describe('parseTime (answers observed from Prometheus 2.42)', () => {
  it.each([
    ['1.5', 1500],
    ['1700000520.05', 1700000520050],
    ['.5', 500],
    ['1e3', 1_000_000],
    ['-0.5', -500],
    ['-0.0005', -1],
    ['0.0095', 10],
    ['1.0005', 1000],
    ['2023-01-01T00:00:00.1234Z', 1672531200123],
    ['2023-01-01T00:00:00+01:00', 1672527600000],
    ['2023-11-14T22:00:00Z', 1699999200000],
    ['-292273086-05-16T16:47:06Z', MIN_TIME_MS],
    ['292277025-08-18T07:12:54.999999999Z', MAX_TIME_MS],
  ])('%s -> %d ms', (s, ms) => {
    expect(parseTime(s)).toBe(ms);
  });

  it.each([
    'abc',
    '',
    '0x10',
    '1_000',
    '2023-01-01t00:00:00Z',
    '2023-02-30T00:00:00Z',
    '2023-01-01T24:00:00Z',
    'Inf',
  ])('refuses %j', (s) => {
    expect(() => parseTime(s)).toThrow(`cannot parse ${JSON.stringify(s)} to a valid timestamp`);
  });

  it('wraps errors of optional parameters and applies defaults', () => {
    expect(parseTimeParam(undefined, 'start', 7)).toBe(7);
    expect(parseTimeParam('', 'start', 7)).toBe(7);
    expect(() => parseTimeParam('x', 'start', 0)).toThrow(
      `Invalid time value for 'start': cannot parse "x" to a valid timestamp`,
    );
  });
});

describe('durations', () => {
  it('parses float seconds and Prometheus durations to nanoseconds', () => {
    expect(parseDurationNs('15')).toBe(15e9);
    expect(parseDurationNs('0.5')).toBe(5e8);
    expect(parseDurationNs('1m30s')).toBe(90e9);
    expect(parseDurationNs('1d')).toBe(86400e9);
    expect(() => parseDurationNs('1h1d')).toThrow('cannot parse "1h1d" to a valid duration');
    expect(() => parseDurationNs('x')).toThrow('cannot parse "x" to a valid duration');
    expect(() => parseDurationNs('1e300')).toThrow(
      'cannot parse "1e300" to a valid duration. It overflows int64',
    );
  });
  it('parses and prints model.Duration', () => {
    expect(parsePromDuration('5m')).toBe(300_000);
    expect(parsePromDuration('1h30m')).toBe(5_400_000);
    expect(parsePromDuration('2w')).toBe(14 * 86_400_000);
    expect(parsePromDuration('1y')).toBe(365 * 86_400_000);
    expect(parsePromDuration('100ms')).toBe(100);
    expect(parsePromDuration('0')).toBe(0);
    expect(() => parsePromDuration('')).toThrow('empty duration string');
    expect(() => parsePromDuration('5x')).toThrow('not a valid duration string: "5x"');
    expect(() => parsePromDuration('1.5h')).toThrow('not a valid duration string: "1.5h"');
    expect(() => parsePromDuration('300000y')).toThrow('duration out of range');
    expect(formatPromDuration(300_000)).toBe('5m');
    expect(formatPromDuration(15 * 86_400_000)).toBe('15d');
    expect(formatPromDuration(14 * 86_400_000)).toBe('2w');
    expect(formatPromDuration(5_400_000)).toBe('1h30m');
    expect(formatPromDuration(0)).toBe('0s');
  });
});

describe('parseMetricSelector', () => {
  it('parses names, matchers, quotes and escapes', () => {
    expect(parseMetricSelector('up')).toEqual([{ type: '=', name: '__name__', value: 'up' }]);
    expect(parseMetricSelector(' up { job = "a" , x!~\'b.*\', y=~`\\d`, z!="q\\"\\n\\u00e9",} ')).toEqual([
      { type: '=', name: '__name__', value: 'up' },
      { type: '=', name: 'job', value: 'a' },
      { type: '!~', name: 'x', value: 'b.*' },
      { type: '=~', name: 'y', value: '\\d' },
      { type: '!=', name: 'z', value: 'q"\né' },
    ]);
    expect(parseMetricSelector('{__name__=~"a:b"}')).toEqual([
      { type: '=~', name: '__name__', value: 'a:b' },
    ]);
  });

  // Messages as Prometheus 2.42 answered them for the same inputs.
  it.each([
    ['{', '1:2: parse error: unexpected end of input inside braces'],
    ['up{', '1:4: parse error: unexpected end of input inside braces'],
    ['up{a="b"}[5m]', '1:10: parse error: unexpected "["'],
    ['sum(up)', '1:4: parse error: unexpected "("'],
    ['up{a="\\q"}', "1:6: parse error: unknown escape sequence U+0071 'q'"],
    ['up{a="b}', '1:6: parse error: unterminated quoted string'],
    ['up{a!}', "1:5: parse error: unexpected character after '!' inside braces: '}'"],
    ['up{1a="b"}', "1:4: parse error: unexpected character inside braces: '1'"],
    ['1', '1:1: parse error: unexpected number "1"'],
    ['foo bar', '1:5: parse error: unexpected identifier "bar"'],
    ['', '1:1: parse error: no expression found in input'],
  ])('%j -> %s', (s, msg) => {
    expect(() => parseMetricSelector(s)).toThrow(msg);
  });

  it('refuses an invalid regex at the matcher', () => {
    expect(() => parseMetricSelector('up{a=~"("}')).toThrow(/^1:4: parse error: error parsing regexp/);
  });

  it('needs one matcher that does not match the empty string per set', () => {
    expect(() => parseMatchersParam(['{a=~".*"}'])).toThrow(
      'match[] must contain at least one non-empty matcher',
    );
    expect(() => parseMatchersParam(['{}'])).toThrow('match[] must contain at least one non-empty matcher');
    expect(parseMatchersParam(['up', '{a="b",c=""}'])).toHaveLength(2);
  });
});
