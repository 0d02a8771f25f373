import { describe, expect, it } from 'vitest';
import { compareLabels, compareStrings, formatLabels, labelsFromObject } from '../src/shared/labels.js';
import { CompiledMatcher, hasNonEmptyMatcher, matchLabels } from '../src/shared/matchers.js';
import { isStaleNaN, STALE_NAN } from '../src/shared/storage.js';

describe('labels', () => {
  it('orders strings by UTF-8 bytes, as Go does', () => {
    const s = ['b', 'a', '\u{1F600}', '\uFFFD', 'ab', ''];
    const byBytes = [...s].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect([...s].sort(compareStrings)).toEqual(byBytes);
  });
  it('builds canonical label sets and compares them', () => {
    const a = labelsFromObject({ job: 'x', __name__: 'up', empty: '' });
    expect(a.map((l) => l.name)).toEqual(['__name__', 'job']);
    expect(compareLabels(a, labelsFromObject({ __name__: 'up', job: 'y' }))).toBeLessThan(0);
    expect(formatLabels(a)).toBe('up{job="x"}');
  });
});

describe('matchers', () => {
  const ls = labelsFromObject({ __name__: 'up', job: 'node' });
  it('anchors regexes and treats a missing label as empty', () => {
    expect(matchLabels([new CompiledMatcher({ type: '=~', name: 'job', value: 'no' })], ls)).toBe(false);
    expect(matchLabels([new CompiledMatcher({ type: '=~', name: 'job', value: 'no.*' })], ls)).toBe(true);
    expect(matchLabels([new CompiledMatcher({ type: '=', name: 'missing', value: '' })], ls)).toBe(true);
    expect(hasNonEmptyMatcher([new CompiledMatcher({ type: '=~', name: 'job', value: '.*' })])).toBe(false);
  });
});

describe('stale marker', () => {
  it('keeps its bits through typed arrays and tells itself apart from NaN', () => {
    const col = new Float64Array(2);
    col[0] = STALE_NAN;
    col[1] = Number.NaN;
    expect(new BigUint64Array(col.buffer)[0]).toBe(0x7ff0000000000002n);
    expect(isStaleNaN(col[0])).toBe(true);
    expect(isStaleNaN(col[1])).toBe(false);
  });
});
