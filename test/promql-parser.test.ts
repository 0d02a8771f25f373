import { describe, expect, it } from 'vitest';
import { ParseError, parseExpr } from '../src/promql/parser.js';
import { printExpr } from '../src/promql/printer.js';

function err(q: string): string {
  try {
    parseExpr(q);
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
}

describe('PromQL parser', () => {
  it('reports syntax errors as Prometheus 2.42 does (line:col)', () => {
    // Messages observed from prometheus 2.42's /api/v1/query.
    expect(err('sum(')).toBe('1:5: parse error: unclosed left parenthesis');
    expect(err('foo bar')).toBe('1:5: parse error: unexpected identifier "bar"');
    expect(err('1 + 1 + ')).toBe('1:9: parse error: unexpected end of input');
    expect(err('x{')).toBe('1:3: parse error: unexpected end of input inside braces');
    expect(err('foo(x)')).toBe('1:1: parse error: unknown function with name "foo"');
  });

  it('applies the type checks', () => {
    expect(err('rate(x)')).toBe(
      '1:6: parse error: expected type range vector in call to function "rate", got instant vector',
    );
    expect(err('sum by (a) (x) and bool y')).toBe(
      '1:16: parse error: bool modifier can only be used on comparison operators',
    );
    expect(err('1 > 2')).toContain('comparisons between scalars must use BOOL modifier');
    expect(err('1 and x')).toContain('set operator "and" not allowed in binary scalar expression');
    expect(err('x and on(a) group_left y')).toContain('no grouping allowed for "and" operation');
    expect(err('1 + on(a) x')).toContain('vector matching only allowed between instant vectors');
    expect(err('round(x, 1, 2)')).toContain('expected at most 2 argument(s) in call to "round", got 3');
    expect(err('label_join(x, "a")')).toContain(
      'expected at least 3 argument(s) in call to "label_join", got 2',
    );
    expect(err('topk(x)')).toContain(
      'wrong number of arguments for aggregate expression provided, expected 2, got 1',
    );
    expect(err('sum(x[5m])')).toContain(
      'expected type instant vector in aggregation expression, got range vector',
    );
    expect(err('(x)[5m]')).toContain('ranges only allowed for vector selectors');
    expect(err('x offset 1m offset 2m')).toContain('offset may not be set multiple times');
    expect(err('(x + y) offset 1m')).toContain('offset modifier must be preceded by');
    expect(err('x @ 1 @ 2')).toContain('@ <timestamp> may not be set multiple times');
    expect(err('{a=~".*"}')).toContain('vector selector must contain at least one non-empty matcher');
    expect(err('-"a"')).toContain(
      'unary expression only allowed on expressions of type scalar or instant vector',
    );
    expect(err('rate(x[5m])[1m]')).toContain('ranges only allowed for vector selectors');
    expect(err('x[5m][1m:]')).toContain('subquery is only allowed on instant vector, got range vector');
  });

  it('builds the AST: precedence, durations, modifiers, literals', () => {
    const e = parseExpr('-2^---1*3');
    expect(e.kind).toBe('binary');
    const off = parseExpr('x offset 1h30m');
    expect(off.kind === 'vectorSelector' && off.offset).toBe(5400000);
    const at = parseExpr('rate(x[5m] offset -1m @ end())');
    expect(at.kind === 'call' && at.args[0].kind === 'matrixSelector' && at.args[0].vs.offset).toBe(-60000);
    expect(parseExpr('010')).toMatchObject({ kind: 'number', value: 8 });
    expect(parseExpr('0x1F')).toMatchObject({ kind: 'number', value: 31 });
    expect(parseExpr('"a\\nb"')).toMatchObject({ kind: 'string', value: 'a\nb' });
    expect(parseExpr('holt_winters(x[1m], 0.1, 0.2)')).toMatchObject({
      kind: 'call',
      func: { name: 'holt_winters' },
    });
    expect(parseExpr('x[5m:]')).toMatchObject({ kind: 'subquery', range: 300000, step: 0 });
    expect(parseExpr('a + on(b) group_left(c) d')).toMatchObject({
      matching: { card: 'many-to-one', labels: ['b'], on: true, include: ['c'] },
    });
  });

  it('refuses pathological inputs with a limit error, quickly', () => {
    expect(err(Array(8000).fill('1').join('+'))).toContain('query is too complex');
    expect(err(`${'('.repeat(40000)}1${')'.repeat(40000)}`)).toContain('query is too complex');
    expect(parseExpr(Array(900).fill('1').join('+')).kind).toBe('binary');
    expect(parseExpr(`${'('.repeat(900)}1${')'.repeat(900)}`).kind).toBe('paren');
  });

  it('never throws anything but a ParseError on random token soup', () => {
    const tokens = [
      'sum',
      'by',
      '(',
      ')',
      'x',
      '{',
      '}',
      'a="b"',
      '[5m]',
      '[5m:1m]',
      'offset',
      '1m',
      '@',
      '5',
      '+',
      '-',
      '*',
      '/',
      '^',
      '==',
      'bool',
      'on',
      'ignoring',
      'group_left',
      'and',
      'or',
      'unless',
      'rate',
      'topk',
      ',',
      '"s"',
      'start()',
      'end()',
      '1.5',
      'Inf',
      'NaN',
      '#c\n',
      'holt_winters',
      'label_replace',
      '[',
      ']',
      ':',
      '=~',
    ];
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let parsed = 0;
    for (let i = 0; i < 3000; i++) {
      const len = 1 + rand(12);
      let q = '';
      for (let j = 0; j < len; j++) q += `${tokens[rand(tokens.length)]} `;
      try {
        parseExpr(q);
        parsed++;
      } catch (e) {
        if (!(e instanceof ParseError)) throw new Error(`${q}: ${e}`);
        expect(e.message).toMatch(/^\d+:\d+: parse error: /);
      }
    }
    expect(parsed).toBeGreaterThan(0);
  });

  it('prints ASTs back to PromQL that parses to the same tree, with optional @ pinning', () => {
    const qs = [
      'sum by (job) (rate(x{a=~"b.*", c!="d"}[5m] offset 1m))',
      'a + on(b) group_left(c) d * -2 ^ 3',
      'topk(3, x) or ignoring(le) y > bool 1',
      'max_over_time((rate(x[1m] @ end()))[10m:30s] offset -5m)',
      'label_replace(up, "a", "$1", "b", "(.*)\\\\d")',
      'count_values("v", x) unless x @ 100.5',
      '-x % 1.5e-3',
      'holt_winters(x[1h30m], 0.1, 0.9)',
    ];
    for (const q of qs) {
      const once = printExpr(parseExpr(q));
      expect(printExpr(parseExpr(once))).toBe(once);
    }
    expect(printExpr(parseExpr('rate(x[5m]) + y'), { pinAt: 3_000_000 })).toBe(
      '(rate(x[5m] @ 3000.000)) + (y @ 3000.000)',
    );
    // Inside a pinned subquery nothing more is pinned.
    expect(printExpr(parseExpr('max_over_time(x[5m:])'), { pinAt: 60_000 })).toBe(
      'max_over_time((x)[5m:] @ 60.000)',
    );
  });
});
