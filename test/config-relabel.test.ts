import { describe, expect, it } from 'vitest';
import {
  compileAnchored,
  compileRelabelConfigs,
  expandTemplate,
  relabel,
  sortedPairs,
} from '../src/config/relabel.js';
import type { RelabelConfig } from '../src/config/types.js';

function rc(p: Partial<RelabelConfig>): RelabelConfig {
  return {
    sourceLabels: [],
    separator: ';',
    regex: '(.*)',
    modulus: 0,
    targetLabel: '',
    replacement: '$1',
    action: 'replace',
    ...p,
  };
}

function run(input: Record<string, string>, cfgs: Partial<RelabelConfig>[]): Record<string, string> | null {
  const m = new Map(Object.entries(input));
  if (!relabel(m, compileRelabelConfigs(cfgs.map(rc)))) return null;
  const pairs = sortedPairs(m);
  const out: Record<string, string> = {};
  for (let i = 0; i < pairs.length; i += 2) out[pairs[i]] = pairs[i + 1];
  return out;
}

// Cases follow Prometheus' model/relabel/relabel_test.go and the configuration documentation.
describe('relabel actions as Prometheus 2.42', () => {
  it('replace: regex groups, anchoring, no match leaves labels alone', () => {
    expect(
      run({ a: 'foo', b: 'bar', c: 'baz' }, [
        { sourceLabels: ['a'], regex: 'f(.*)', targetLabel: 'd', replacement: 'ch${1}-ch${1}' },
      ]),
    ).toEqual({ a: 'foo', b: 'bar', c: 'baz', d: 'choo-choo' });
    expect(
      run({ a: 'foo', b: 'bar' }, [
        { sourceLabels: ['a', 'b'], regex: 'f(.*);(.*)r', targetLabel: 'a', replacement: 'b${1}${2}m' },
      ]),
    ).toEqual({ a: 'boobam', b: 'bar' });
    // Anchored: "o" alone does not match "foo".
    expect(
      run({ a: 'foo' }, [{ sourceLabels: ['a'], regex: 'o', targetLabel: 'b', replacement: 'x' }]),
    ).toEqual({ a: 'foo' });
    // An empty result deletes the target label.
    expect(
      run({ a: 'foo', b: 'x' }, [
        { sourceLabels: ['a'], regex: '(f).*', targetLabel: 'b', replacement: '$2' },
      ]),
    ).toEqual({
      a: 'foo',
    });
    // Default regex with an empty source sets the replacement as is.
    expect(run({}, [{ sourceLabels: ['missing'], targetLabel: 'x', replacement: 'static' }])).toEqual({
      x: 'static',
    });
    // Target label from the template; an invalid expansion leaves the set unchanged.
    expect(
      run({ a: 'some-name-value' }, [
        { sourceLabels: ['a'], regex: 'some-([^-]+)-([^,]+)', targetLabel: '${1}', replacement: '${2}' },
      ]),
    ).toEqual({
      a: 'some-name-value',
      name: 'value',
    });
    expect(
      run({ a: 'some-1-value' }, [
        { sourceLabels: ['a'], regex: 'some-([^-]+)-([^,]+)', targetLabel: '${1}', replacement: '${2}' },
      ]),
    ).toEqual({
      a: 'some-1-value',
    });
    // Go's $1x is the group named "1x": it expands to nothing.
    expect(
      run({ a: 'foo' }, [{ sourceLabels: ['a'], regex: '(.*)', targetLabel: 'b', replacement: '$1x' }]),
    ).toEqual({ a: 'foo' });
    expect(
      run({ a: 'foo' }, [
        { sourceLabels: ['a'], regex: '(?P<n>.*)', targetLabel: 'b', replacement: '${n}_$$' },
      ]),
    ).toEqual({
      a: 'foo',
      b: 'foo_$',
    });
  });

  it('keep and drop', () => {
    expect(run({ a: 'foo' }, [{ sourceLabels: ['a'], regex: '.*o.*', action: 'drop' }])).toBeNull();
    expect(run({ a: 'foo' }, [{ sourceLabels: ['a'], regex: 'f', action: 'drop' }])).toEqual({ a: 'foo' });
    expect(run({ a: 'foo' }, [{ sourceLabels: ['a'], regex: 'no-match', action: 'keep' }])).toBeNull();
    expect(run({ a: 'foo' }, [{ sourceLabels: ['a'], regex: 'f.*', action: 'keep' }])).toEqual({ a: 'foo' });
    // A missing source label is the empty string, which the default regex matches.
    expect(run({ a: 'foo' }, [{ sourceLabels: ['b'], action: 'keep', regex: '' }])).toEqual({ a: 'foo' });
  });

  it('keepequal and dropequal', () => {
    expect(run({ a: 'x', b: 'x' }, [{ sourceLabels: ['a'], targetLabel: 'b', action: 'keepequal' }])).toEqual(
      { a: 'x', b: 'x' },
    );
    expect(
      run({ a: 'x', b: 'y' }, [{ sourceLabels: ['a'], targetLabel: 'b', action: 'keepequal' }]),
    ).toBeNull();
    expect(
      run({ a: 'x', b: 'x' }, [{ sourceLabels: ['a'], targetLabel: 'b', action: 'dropequal' }]),
    ).toBeNull();
    expect(run({ a: 'x', b: 'y' }, [{ sourceLabels: ['a'], targetLabel: 'b', action: 'dropequal' }])).toEqual(
      { a: 'x', b: 'y' },
    );
  });

  it('hashmod: md5 of the joined values, last 8 bytes big-endian, modulo', () => {
    // relabel_test.go: {a: foo, b: bar, c: baz}, source c, modulus 1000 -> 976.
    expect(
      run({ a: 'foo', b: 'bar', c: 'baz' }, [
        { sourceLabels: ['c'], targetLabel: 'd', modulus: 1000, action: 'hashmod' },
      ]),
    ).toEqual({
      a: 'foo',
      b: 'bar',
      c: 'baz',
      d: '976',
    });
    // A large modulus keeps the full width of the 64-bit hash (exact up to 2^53 here).
    expect(
      run({ a: 'foo', b: 'bar', c: 'baz' }, [
        { sourceLabels: ['c'], targetLabel: 'd', modulus: 2 ** 53, action: 'hashmod' },
      ])?.d,
    ).toMatch(/^\d+$/);
  });

  it('labelmap, labeldrop, labelkeep', () => {
    expect(
      run({ a: 'foo', __meta_my_bar: 'aaa', __meta_my_baz: 'bbb', __meta_other: 'ccc' }, [
        { regex: '__meta_my_(.+)', action: 'labelmap', replacement: '$1' },
      ]),
    ).toEqual({
      a: 'foo',
      __meta_my_bar: 'aaa',
      __meta_my_baz: 'bbb',
      __meta_other: 'ccc',
      bar: 'aaa',
      baz: 'bbb',
    });
    expect(run({ a: 'foo', b: 'bar', c: 'baz' }, [{ regex: '(b.*)', action: 'labeldrop' }])).toEqual({
      a: 'foo',
      c: 'baz',
    });
    expect(run({ a: 'foo', b: 'bar', c: 'baz' }, [{ regex: '(b.*)', action: 'labelkeep' }])).toEqual({
      b: 'bar',
    });
  });

  it('lowercase and uppercase', () => {
    expect(
      run({ foo: 'bAr123Foo' }, [{ sourceLabels: ['foo'], targetLabel: 'foo_lower', action: 'lowercase' }]),
    ).toEqual({
      foo: 'bAr123Foo',
      foo_lower: 'bar123foo',
    });
    expect(
      run({ foo: 'bAr123Foo' }, [{ sourceLabels: ['foo'], targetLabel: 'foo_upper', action: 'uppercase' }]),
    ).toEqual({
      foo: 'bAr123Foo',
      foo_upper: 'BAR123FOO',
    });
  });

  it('applies configs in order and stops at a drop', () => {
    expect(
      run({ __address__: 'h:1', env: 'Prod' }, [
        { sourceLabels: ['env'], targetLabel: 'env', action: 'lowercase' },
        { sourceLabels: ['env'], regex: 'prod', action: 'keep' },
        { sourceLabels: ['__address__'], regex: '(.*):.*', targetLabel: 'host' },
      ]),
    ).toEqual({ __address__: 'h:1', env: 'prod', host: 'h' });
  });
});

describe('RE2 translation and Go templates', () => {
  it('translates the common RE2 forms', () => {
    expect(compileAnchored('(?i)foo').test('FOO')).toBe(true);
    expect(compileAnchored('(?P<x>a)b').exec('ab')?.groups?.x).toBe('a');
    expect(compileAnchored('[[:digit:]]+').test('123')).toBe(true);
    expect(compileAnchored('a\\z').test('a')).toBe(true);
    expect(compileAnchored('foo|bar').test('foobar')).toBe(false);
    expect(compileAnchored('foo|bar').test('bar')).toBe(true);
    expect(() => compileAnchored('a(')).toThrow(/error parsing regexp/);
  });

  it('expands like regexp.Expand', () => {
    const m = /^(?<word>a)(b)$/.exec('ab')!;
    expect(expandTemplate('$1-$2-${1}x-$word-${word}-$$-$-$9-${', m)).toBe('a-b-ax-a-a-$-$--${');
  });
});
