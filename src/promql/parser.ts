/**
 * PromQL parsing: the official lezer grammar (@prometheus-io/lezer-promql) gives the syntax tree, which is
 * converted here into our typed AST with the checks of Prometheus 2.42's parser (promql/parser/parse.go).
 * The lezer grammar is newer than 2.42, so constructs 2.42 does not know are refused here.
 */
import type { SyntaxNode } from '@lezer/common';
import { parser as lezer } from '@prometheus-io/lezer-promql';
import type { Matcher, MatchType } from '../shared/matchers.js';
import { CompiledMatcher, hasNonEmptyMatcher } from '../shared/matchers.js';
import type {
  AggregateExpr,
  AggregateOp,
  AtModifier,
  BinaryExpr,
  BinaryOp,
  Call,
  Cardinality,
  Expr,
  FunctionDef,
  MatrixSelector,
  NumberLiteral,
  PosRange,
  SubqueryExpr,
  ValueType,
  VectorMatching,
  VectorSelector,
} from './ast.js';
import { documentedType, exprType, isComparisonOp, isSetOp } from './ast.js';
import { FUNCTIONS } from './function-defs.js';

/** Deepest syntax tree we convert; deeper inputs are refused rather than risking the JS stack. */
export const MAX_PARSE_DEPTH = 2500;
/** Longest query text accepted. */
export const MAX_QUERY_LENGTH = 1 << 20;

export class ParseError extends Error {
  constructor(
    readonly query: string,
    readonly pos: number,
    readonly detail: string,
  ) {
    super(`${positionString(query, pos)} parse error: ${detail}`);
    this.name = 'ParseError';
  }
}

function positionString(query: string, pos: number): string {
  if (pos < 0 || pos > query.length) return 'invalid position:';
  let line = 1;
  let lastBreak = -1;
  for (let i = 0; i < pos; i++) {
    if (query.charCodeAt(i) === 10) {
      line++;
      lastBreak = i;
    }
  }
  return `${line}:${pos - lastBreak}:`;
}

const AGGREGATE_OPS = new Set<string>([
  'sum',
  'avg',
  'min',
  'max',
  'count',
  'group',
  'stddev',
  'stdvar',
  'topk',
  'bottomk',
  'quantile',
  'count_values',
]);

const BINARY_OPS: Record<string, BinaryOp> = {
  Pow: '^',
  Mul: '*',
  Div: '/',
  Mod: '%',
  Atan2: 'atan2',
  Add: '+',
  Sub: '-',
  Eql: '==',
  Gte: '>=',
  Gtr: '>',
  Lte: '<=',
  Lss: '<',
  Neq: '!=',
  And: 'and',
  Unless: 'unless',
  Or: 'or',
};

/** holt_winters was renamed in the newer grammar; it is swapped for a same-length name the grammar knows. */
const HOLT_WINTERS = 'holt_winters';
const HOLT_STANDIN = 'count_values';

function substituteHoltWinters(q: string): { text: string; spots: Set<number> } {
  const spots = new Set<number>();
  if (!q.includes(HOLT_WINTERS) && !q.includes('.')) return { text: q, spots };
  let out = '';
  let i = 0;
  let quote = '';
  while (i < q.length) {
    const c = q[i];
    if (quote !== '') {
      out += c;
      if (c === '\\' && quote !== '`' && i + 1 < q.length) {
        out += q[i + 1];
        i += 2;
        continue;
      }
      if (c === quote) quote = '';
      i++;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      quote = c;
      out += c;
      i++;
      continue;
    }
    // `2.` and `1./6.`: Prometheus reads a number with a trailing dot, the grammar does not; the dot
    // becomes a space, which keeps every position.
    if (
      c === '.' &&
      i > 0 &&
      /[0-9]/.test(q[i - 1]) &&
      !/[0-9eE]/.test(q[i + 1] ?? '') &&
      /(^|[^A-Za-z0-9_:.])[0-9]+$/.test(q.slice(Math.max(0, i - 64), i))
    ) {
      out += ' ';
      i++;
      continue;
    }
    if (
      q.startsWith(HOLT_WINTERS, i) &&
      (i === 0 || !/[A-Za-z0-9_:]/.test(q[i - 1])) &&
      /^\s*\(/.test(q.slice(i + HOLT_WINTERS.length, i + HOLT_WINTERS.length + 64))
    ) {
      spots.add(i);
      out += HOLT_STANDIN;
      i += HOLT_WINTERS.length;
      continue;
    }
    out += c;
    i++;
  }
  return { text: out, spots };
}

/** Parses a PromQL expression into the typed AST, or throws a ParseError. */
export function parseExpr(query: string): Expr {
  if (query.length > MAX_QUERY_LENGTH) {
    throw new ParseError(
      query,
      0,
      `query is too long (${query.length} characters, limit ${MAX_QUERY_LENGTH})`,
    );
  }
  const { text, spots } = substituteHoltWinters(query);
  let tree: ReturnType<typeof lezer.parse>;
  try {
    tree = lezer.parse(text);
  } catch (e) {
    // The grammar's tree builder recurses; some very long inputs exhaust the stack.
    if (e instanceof RangeError) throw tooComplex(query);
    throw e;
  }
  const top = tree.topNode;
  checkSyntax(query, top);
  const p = new Converter(query, spots);
  const first = top.firstChild;
  if (first === null) throw new ParseError(query, 0, 'no expression found in input');
  try {
    return p.expr(first, 0);
  } catch (e) {
    // Recursion over a very deep tree (e.g. a long right-associative `^` chain).
    if (e instanceof RangeError) throw tooComplex(query);
    throw e;
  }
}

/** Finds the first error node and the tree depth without recursion, and reports what Prometheus would. */
function checkSyntax(query: string, top: SyntaxNode): void {
  const cursor = top.cursor();
  let depth = 0;
  let maxDepth = 0;
  let error: { from: number; to: number } | null = null;
  for (;;) {
    if (cursor.type.isError && error === null) error = { from: cursor.from, to: cursor.to };
    if (cursor.firstChild()) {
      depth++;
      if (depth > maxDepth) maxDepth = depth;
      continue;
    }
    while (!cursor.nextSibling()) {
      if (!cursor.parent()) {
        depth = -1;
        break;
      }
      depth--;
    }
    if (depth < 0) break;
  }
  if (error !== null) {
    // The grammar gives up on very deep nesting or very long operator chains with a bare error node; say why.
    const c = complexity(query);
    if (c.nesting > MAX_NESTING || c.operators > MAX_OPERATORS) throw tooComplex(query);
    throw syntaxError(query, error.from, error.to);
  }
  if (maxDepth > MAX_PARSE_DEPTH) {
    throw new ParseError(query, 0, `expression nesting is too deep (limit ${MAX_PARSE_DEPTH} levels)`);
  }
  if (query.trim() === '') throw new ParseError(query, 0, 'no expression found in input');
}

/**
 * The grammar (lezer) cuts trees deeper than it can recurse through: about 300 chained binary operations
 * with modifiers, 1,100 without, 1,400 nested calls, 2,800 nested parentheses. When it reports an error on
 * a query beyond these sizes, the size is the likely cause, and we say so.
 */
const MAX_NESTING = 1000;
const MAX_OPERATORS = 250;

function tooComplex(query: string): ParseError {
  const c = complexity(query);
  return new ParseError(
    query,
    0,
    `query is too complex to parse: ${c.nesting} nested brackets and ${c.operators} operators (the parser handles about ${MAX_NESTING} levels of nesting and ${MAX_OPERATORS} chained operators)`,
  );
}

/** Bracket nesting depth and operator count outside string literals (a linear scan). */
function complexity(q: string): { nesting: number; operators: number } {
  let depth = 0;
  let nesting = 0;
  let operators = 0;
  let quote = '';
  for (let i = 0; i < q.length; i++) {
    const c = q[i];
    if (quote !== '') {
      if (c === '\\' && quote !== '`') i++;
      else if (c === quote) quote = '';
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '(' || c === '[' || c === '{') {
      depth++;
      if (depth > nesting) nesting = depth;
    } else if (c === ')' || c === ']' || c === '}') depth--;
    else if ('+-*/%^<>=!'.includes(c)) operators++;
  }
  return { nesting, operators };
}

const KEYWORD_TOKENS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
]);
const OPERATOR_WORDS = new Set(['and', 'or', 'unless', 'atan2']);

/** What the token before `pos` sets up (Prometheus' "in <context>, expected <what>" messages). */
function errorContext(query: string, pos: number): { ctx: string; expected: string } | null {
  const before = query.slice(0, pos).trimEnd();
  const word = /([A-Za-z_]+)$/.exec(before)?.[1]?.toLowerCase();
  if (word === 'offset') return { ctx: 'offset', expected: 'duration' };
  if (word === 'by' || word === 'without') return { ctx: 'grouping opts', expected: '"("' };
  if (before.endsWith('@')) return { ctx: '@', expected: 'timestamp' };
  if (/[=~]$/.test(before) && unclosed(before) === '{') return { ctx: 'label matching', expected: 'string' };
  if (/offset\s*-$/i.test(before)) return { ctx: 'offset', expected: 'duration' };
  return null;
}

/** A string literal's problem as Prometheus' lexer words it, or null if it is fine. */
function stringProblem(rest: string): string | null {
  const q = rest[0];
  let i = 1;
  while (i < rest.length && rest[i] !== q) {
    if (rest[i] === '\n' && q !== '`') return 'unterminated quoted string';
    if (rest[i] === '\\' && q !== '`') {
      const e = rest[i + 1] ?? '';
      if (!/[abfnrtv\\'"xuU0-7]/.test(e) || (e === "'" && q === '"') || (e === '"' && q === "'")) {
        const cp = e.codePointAt(0) ?? 0;
        return `unknown escape sequence U+${cp.toString(16).toUpperCase().padStart(4, '0')} '${e}'`;
      }
      i += 2;
      continue;
    }
    i++;
  }
  return i >= rest.length ? 'unterminated quoted string' : null;
}

function syntaxError(query: string, from: number, _to: number): ParseError {
  // Strings first: a bad one makes the grammar fail somewhere later.
  {
    let quote = '';
    let start = -1;
    for (let i = 0; i < query.length && i <= from; i++) {
      const c = query[i];
      if (quote !== '') {
        if (c === '\\' && quote !== '`') i++;
        else if (c === quote) quote = '';
        continue;
      }
      if (c === '"' || c === "'" || c === '`') {
        quote = c;
        start = i;
        const problem = stringProblem(query.slice(i));
        if (problem !== null) return new ParseError(query, i, problem);
      }
    }
    void start;
  }
  // Skip whitespace to the offending token.
  let pos = from;
  while (pos < query.length && /\s/.test(query[pos])) pos++;
  const context = errorContext(query, pos);
  const inCtx = context === null ? '' : ` in ${context.ctx}, expected ${context.expected}`;
  if (pos >= query.length) {
    if (context !== null) return new ParseError(query, query.length, `unexpected end of input${inCtx}`);
    const open = unclosed(query);
    if (open === '(') return new ParseError(query, query.length, 'unclosed left parenthesis');
    if (open === '{') return new ParseError(query, query.length, 'unexpected end of input inside braces');
    if (open === '[') return new ParseError(query, query.length, 'unclosed left bracket');
    return new ParseError(query, query.length, 'unexpected end of input');
  }
  const rest = query.slice(pos);
  if (unclosed(query.slice(0, pos)) === '{' && /^[0-9]/.test(rest)) {
    return new ParseError(query, pos, `unexpected character inside braces: '${rest[0]}'`);
  }
  let m = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(rest);
  if (m !== null) {
    const lower = m[0].toLowerCase();
    if (KEYWORD_TOKENS.has(lower)) return new ParseError(query, pos, `unexpected <${lower}>`);
    if (OPERATOR_WORDS.has(lower)) return new ParseError(query, pos, `unexpected <op:${lower}>`);
    // An identifier directly followed by "(" that the grammar refused is a call to an unknown function.
    if (/^\s*\(/.test(rest.slice(m[0].length))) {
      return new ParseError(query, pos, `unknown function with name ${JSON.stringify(m[0])}`);
    }
    return new ParseError(query, pos, `unexpected identifier ${JSON.stringify(m[0])}${inCtx}`);
  }
  if (rest[0] === '(') {
    const before = query.slice(0, pos);
    const prevIdent = /([A-Za-z_:][A-Za-z0-9_:]*)\s*$/.exec(before);
    if (
      prevIdent !== null &&
      !/^(by|without|on|ignoring|group_left|group_right|bool|and|or|unless)$/i.test(prevIdent[1])
    ) {
      return new ParseError(
        query,
        before.length - prevIdent[0].length,
        `unknown function with name "${prevIdent[1]}"`,
      );
    }
    return new ParseError(query, pos, `unexpected left parenthesis '('${inCtx}`);
  }
  m = /^[0-9.][0-9a-zA-Z.]*/.exec(rest);
  if (m !== null) {
    // Inside a range, a number without a unit.
    if (unclosed(query.slice(0, pos)) === '[') {
      const d = /^[0-9]+/.exec(rest)?.[0] ?? m[0];
      if (/^[0-9]+$/.test(m[0])) return new ParseError(query, pos, 'missing unit character in duration');
      return new ParseError(query, pos, `bad duration syntax: ${JSON.stringify(d)}`);
    }
    return new ParseError(query, pos, `unexpected number ${JSON.stringify(m[0])}${inCtx}`);
  }
  const c = rest[0];
  if (c === '!' && rest[1] !== '=') {
    return new ParseError(query, pos, `unexpected character after '!': '${rest[1] ?? ''}'`);
  }
  const op = /^(==|!=|<=|>=|[-+*/%^<>])/.exec(rest);
  if (op !== null) return new ParseError(query, pos, `unexpected <op:${op[1]}>${inCtx}`);
  if (c === '=') return new ParseError(query, pos, `unexpected "="${inCtx}`);
  // Prometheus reports closing brackets one character late (its lexer has consumed them).
  if (c === ')') return new ParseError(query, pos + 1, `unexpected right parenthesis ')'${inCtx}`);
  if (c === ']') return new ParseError(query, pos + 1, `unexpected right bracket ']'${inCtx}`);
  if (c === '}') return new ParseError(query, pos + 1, `unexpected right brace '}'${inCtx}`);
  const names: Record<string, string> = {
    ',': 'comma ","',
    '{': 'left brace "{"',
    '[': 'left bracket "["',
    ':': 'colon ":"',
    '@': '<@>',
  };
  if (names[c] !== undefined) return new ParseError(query, pos, `unexpected ${names[c]}${inCtx}`);
  return new ParseError(query, pos, `unexpected character: ${JSON.stringify(c)}`);
}

function hasOpen(s: string, open: string, close: string): boolean {
  let n = 0;
  for (const c of s) {
    if (c === open) n++;
    else if (c === close) n--;
  }
  return n > 0;
}

/** The innermost bracket left open at the end of the text (ignoring strings), or ''. */
function unclosed(q: string): string {
  const stack: string[] = [];
  let quote = '';
  for (let i = 0; i < q.length; i++) {
    const c = q[i];
    if (quote !== '') {
      if (c === '\\' && quote !== '`') i++;
      else if (c === quote) quote = '';
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '#') {
      while (i < q.length && q[i] !== '\n') i++;
    } else if (c === '(' || c === '{' || c === '[') stack.push(c);
    else if (c === ')' || c === '}' || c === ']') stack.pop();
  }
  if (quote !== '') return quote;
  return stack.length > 0 ? stack[stack.length - 1] : '';
}

const DURATION_RE = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const DURATION_UNITS = [365 * 86400000, 7 * 86400000, 86400000, 3600000, 60000, 1000, 1];

/** Prometheus' model.ParseDuration: `1h30m`, largest unit first; returns ms or null. */
export function parseDuration(s: string): number | null {
  if (s === '0') return 0;
  if (s === '') return null;
  const m = DURATION_RE.exec(s);
  if (m === null) return null;
  let total = 0;
  for (let i = 0; i < 7; i++) {
    const g = m[i + 1];
    if (g !== undefined) total += Number(g) * DURATION_UNITS[i];
  }
  if (!Number.isSafeInteger(total)) return null;
  return total;
}

/** Go's strconv.ParseInt(s, 0, 64) then ParseFloat, as the 2.42 lexer reads number literals. */
export function parseNumber(text: string): number | null {
  const t = text;
  const sign = t[0] === '-' ? -1 : 1;
  const body = t[0] === '-' || t[0] === '+' ? t.slice(1) : t;
  if (/^0[xX][0-9a-fA-F]+$/.test(body)) return sign * Number.parseInt(body.slice(2), 16);
  if (/^0[0-7]+$/.test(body)) return sign * Number.parseInt(body.slice(1), 8);
  const lower = body.toLowerCase();
  if (lower === 'inf' || lower === 'infinity') return sign * Number.POSITIVE_INFINITY;
  if (lower === 'nan') return Number.NaN;
  if (/^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(body)) return sign * Number(body);
  return null;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  "'": "'",
  '"': '"',
};

/** Unquotes a PromQL string literal as Go's strconv.Unquote (single quotes allowed for any length). */
export function unquoteString(s: string): string | null {
  if (s.length < 2) return null;
  const q = s[0];
  if (s[s.length - 1] !== q) return null;
  const body = s.slice(1, -1);
  if (q === '`') return body.includes('`') ? null : body;
  if (q !== '"' && q !== "'") return null;
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === q || c === '\n') return null;
    if (c !== '\\') {
      out += c;
      continue;
    }
    i++;
    if (i >= body.length) return null;
    const e = body[i];
    if (SIMPLE_ESCAPES[e] !== undefined) {
      if ((e === "'" && q === '"') || (e === '"' && q === "'")) return null;
      out += SIMPLE_ESCAPES[e];
    } else if (e === 'x' || e === 'u' || e === 'U') {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + n);
      if (hex.length !== n || !/^[0-9a-fA-F]+$/.test(hex)) return null;
      const code = Number.parseInt(hex, 16);
      if (e === 'x') {
        // \xNN is a raw byte; decode runs of bytes as UTF-8 where they form valid sequences.
        out += String.fromCharCode(code);
      } else {
        if (code > 0x10ffff || (code >= 0xd800 && code < 0xe000)) return null;
        out += String.fromCodePoint(code);
      }
      i += n;
    } else if (e >= '0' && e <= '7') {
      const oct = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(oct)) return null;
      const code = Number.parseInt(oct, 8);
      if (code > 255) return null;
      out += String.fromCharCode(code);
      i += 2;
    } else {
      return null;
    }
  }
  return out;
}

type FlatItem =
  | { t: 'operand'; expr: Expr }
  | { t: 'op'; op: BinaryOp; opNode: SyntaxNode; returnBool: boolean; matchClause: SyntaxNode | null }
  | { t: 'prefix'; sign: '-' | '+'; pos: number }
  | { t: 'postfix'; node: SyntaxNode };

/** Binding strength of binary operators (generated_parser.y's %left/%right order). */
const PRECEDENCE: Record<BinaryOp, number> = {
  or: 1,
  and: 2,
  unless: 2,
  '==': 3,
  '!=': 3,
  '>': 3,
  '<': 3,
  '>=': 3,
  '<=': 3,
  '+': 4,
  '-': 4,
  '*': 5,
  '/': 5,
  '%': 5,
  atan2: 5,
  '^': 6,
};

class Converter {
  constructor(
    private readonly q: string,
    private readonly holtSpots: ReadonlySet<number>,
  ) {}

  private text(n: SyntaxNode): string {
    return this.q.slice(n.from, n.to);
  }

  private err(pos: number, msg: string): ParseError {
    return new ParseError(this.q, pos, msg);
  }

  private pos(n: SyntaxNode): PosRange {
    return { start: n.from, end: n.to };
  }

  private children(n: SyntaxNode): SyntaxNode[] {
    const out: SyntaxNode[] = [];
    for (let c = n.firstChild; c !== null; c = c.nextSibling) out.push(c);
    return out;
  }

  expr(n: SyntaxNode, depth: number): Expr {
    const d = depth + 1;
    switch (n.name) {
      case 'NumberDurationLiteral':
        return /^\s*[-+]/.test(this.text(n)) ? this.chain(n, d) : this.numberLiteral(n);
      case 'StringLiteral': {
        const v = unquoteString(this.text(n));
        if (v === null) throw this.err(n.from, stringProblem(this.text(n)) ?? 'invalid quoted string');
        return { kind: 'string', value: v, pos: this.pos(n) };
      }
      case 'VectorSelector':
        return this.vectorSelector(n);
      case 'MatrixSelector':
      case 'SubqueryExpr':
      case 'OffsetExpr':
      case 'StepInvariantExpr':
      case 'UnaryExpr':
      case 'BinaryExpr':
        return this.chain(n, d);
      case 'ParenExpr': {
        const inner = this.expr(this.exprChild(n), d);
        return { kind: 'paren', expr: inner, type: exprType(inner), pos: this.pos(n) };
      }
      case 'FunctionCall':
        return this.call(n, d);
      case 'AggregateExpr':
        return this.aggregate(n, d);
      default:
        throw this.err(n.from, `unexpected ${this.text(n).slice(0, 40) || n.name}`);
    }
  }

  private exprChild(n: SyntaxNode): SyntaxNode {
    for (let c = n.firstChild; c !== null; c = c.nextSibling) {
      if (c.type.isError) throw syntaxError(this.q, c.from, c.to);
      if (c.type.is('Expr')) return c;
    }
    throw this.err(n.from, 'expected expression');
  }

  private numberLiteral(n: SyntaxNode): Expr {
    const t = this.text(n).replace(/\s+/g, '');
    const v = parseNumber(t);
    if (v === null) {
      const bare = t.replace(/^[+-]/, '');
      if (parseDuration(bare) !== null) throw this.err(n.from, `unexpected duration ${JSON.stringify(bare)}`);
      throw this.err(n.from, `bad number or duration syntax: ${JSON.stringify(t)}`);
    }
    return { kind: 'number', value: v, pos: this.pos(n) };
  }

  private duration(n: SyntaxNode, what: string): number {
    // 2.42 durations are plain literals with units: no arithmetic, no step()/range().
    const lit = n.name === 'NumberDurationLiteralInDurationContext' ? n : n.firstChild;
    if (lit === null || lit.name !== 'NumberDurationLiteralInDurationContext' || lit.nextSibling !== null) {
      throw this.err(n.from, `unexpected ${JSON.stringify(this.text(n))} in ${what}, expected duration`);
    }
    const t = this.text(lit);
    const d = parseDuration(t);
    if (d === null) {
      if (/^[0-9]+$/.test(t)) {
        if (what === 'offset')
          throw this.err(lit.from, `unexpected number ${JSON.stringify(t)} in offset, expected duration`);
        throw this.err(lit.from, 'missing unit character in duration');
      }
      throw this.err(lit.from, `bad duration syntax: ${JSON.stringify(t)}`);
    }
    return d;
  }

  private vectorSelector(n: SyntaxNode): VectorSelector {
    let name = '';
    const matchers: Matcher[] = [];
    for (let c = n.firstChild; c !== null; c = c.nextSibling) {
      if (c.name === 'Identifier') {
        name = this.text(c);
      } else if (c.name === 'LabelMatchers') {
        for (let m = c.firstChild; m !== null; m = m.nextSibling) {
          if (m.name !== 'UnquotedLabelMatcher') {
            throw this.err(
              m.from,
              `unexpected ${JSON.stringify(this.text(m))} in label matching, expected label name`,
            );
          }
          const ln = m.getChild('LabelName');
          const op = m.getChild('MatchOp');
          const sl = m.getChild('StringLiteral');
          if (ln === null || op === null || sl === null) throw this.err(m.from, 'invalid label matcher');
          const value = unquoteString(this.text(sl));
          if (value === null)
            throw this.err(sl.from, stringProblem(this.text(sl)) ?? 'invalid quoted string');
          const type = this.text(op) as MatchType;
          if (type === '=~' || type === '!~') {
            try {
              new CompiledMatcher({ type, name: this.text(ln), value });
            } catch (e) {
              throw this.err(sl.from, `error parsing regexp: ${(e as Error).message}`);
            }
          }
          matchers.push({ type, name: this.text(ln), value });
        }
      } else if (c.type.isError) {
        throw syntaxError(this.q, c.from, c.to);
      }
    }
    if (name !== '') {
      for (const m of matchers) {
        if (m.name === '__name__') {
          throw this.err(
            n.from,
            `metric name must not be set twice: ${JSON.stringify(name)} or ${JSON.stringify(m.value)}`,
          );
        }
      }
      matchers.push({ type: '=', name: '__name__', value: name });
    }
    if (!hasNonEmptyMatcher(matchers.map((m) => new CompiledMatcher(m)))) {
      throw this.err(n.from, 'vector selector must contain at least one non-empty matcher');
    }
    return { kind: 'vectorSelector', name, matchers, offset: 0, at: null, pos: this.pos(n) };
  }

  /**
   * Binary operators, unary signs and the postfix modifiers (`[range]`, `[range:step]`, `offset`, `@`) of one
   * unparenthesised chain. The grammar gives the postfix modifiers the lowest precedence (`a + b @ 1 % 2`
   * becomes `((a + b) @ 1) % 2`), Prometheus the highest; so the chain is flattened (iteratively) and rebuilt
   * here by precedence climbing with Prometheus' rules: postfix binds tightest, then `^` (right-assoc),
   * then unary signs, `* / % atan2`, `+ -`, comparisons, `and unless`, `or`.
   */
  private chain(root: SyntaxNode, d: number): Expr {
    const items: FlatItem[] = [];
    const stack: (SyntaxNode | FlatItem)[] = [root];
    while (stack.length > 0) {
      const x = stack.pop() as SyntaxNode | FlatItem;
      if ('t' in x) {
        items.push(x);
        continue;
      }
      if (x.type.isError) throw syntaxError(this.q, x.from, x.to);
      switch (x.name) {
        case 'BinaryExpr': {
          const kids = this.children(x);
          let opNode: SyntaxNode | null = null;
          let rhsNode: SyntaxNode | null = null;
          let returnBool = false;
          let matchClause: SyntaxNode | null = null;
          for (let i = 1; i < kids.length; i++) {
            const c = kids[i];
            if (c.type.isError) throw syntaxError(this.q, c.from, c.to);
            if (opNode === null && BINARY_OPS[c.name] !== undefined) opNode = c;
            else if (c.name === 'BoolModifier') returnBool = true;
            else if (c.name === 'MatchingModifierClause') matchClause = c;
            else if (c.name === 'FillModifier')
              throw this.err(c.from, `unexpected ${JSON.stringify(this.text(c))}`);
            else if (c.type.is('Expr')) rhsNode = c;
          }
          if (opNode === null || rhsNode === null) throw this.err(x.from, 'invalid binary expression');
          stack.push(rhsNode);
          stack.push({ t: 'op', op: BINARY_OPS[opNode.name], opNode, returnBool, matchClause });
          stack.push(kids[0]);
          break;
        }
        case 'OffsetExpr':
        case 'StepInvariantExpr':
        case 'MatrixSelector':
        case 'SubqueryExpr':
          stack.push({ t: 'postfix', node: x });
          stack.push(this.exprChild(x));
          break;
        case 'UnaryExpr': {
          const op = x.getChild('UnaryOp');
          stack.push(this.exprChild(x));
          stack.push({ t: 'prefix', sign: op !== null && this.text(op) === '-' ? '-' : '+', pos: x.from });
          break;
        }
        case 'NumberDurationLiteral': {
          const text = this.text(x);
          const lead = text.trimStart();
          if (lead[0] === '-' || lead[0] === '+') {
            const at = x.from + (text.length - lead.length);
            items.push({ t: 'prefix', sign: lead[0] === '-' ? '-' : '+', pos: at });
            const num = this.numberLiteral(x) as NumberLiteral;
            const abs = lead[0] === '-' ? -num.value : num.value;
            items.push({
              t: 'operand',
              expr: { kind: 'number', value: abs, pos: { start: at + 1, end: x.to } },
            });
          } else {
            items.push({ t: 'operand', expr: this.numberLiteral(x) });
          }
          break;
        }
        default:
          items.push({ t: 'operand', expr: this.expr(x, d) });
      }
    }
    const st = { i: 0 };
    const e = this.climb(items, st, 0);
    if (st.i !== items.length) throw this.err(root.from, 'invalid expression');
    return e;
  }

  private climb(items: FlatItem[], st: { i: number }, minPrec: number): Expr {
    let lhs = this.unaryOrPrimary(items, st);
    for (;;) {
      const it = items[st.i];
      if (it === undefined || it.t !== 'op') break;
      const prec = PRECEDENCE[it.op];
      if (prec < minPrec) break;
      st.i++;
      const rhs = this.climb(items, st, it.op === '^' ? prec : prec + 1);
      lhs = this.binaryChecked(it.op, lhs, rhs, it.returnBool, it.matchClause, it.opNode);
    }
    return lhs;
  }

  private unaryOrPrimary(items: FlatItem[], st: { i: number }): Expr {
    const it = items[st.i];
    if (it === undefined) throw this.err(this.q.length, 'unexpected end of input');
    if (it.t === 'prefix') {
      st.i++;
      // A sign binds like `*`: looser than `^`, so -2^2 is -(2^2).
      const inner = this.climb(items, st, PRECEDENCE['^']);
      const t = exprType(inner);
      if (t !== 'scalar' && t !== 'vector') {
        throw this.err(
          it.pos,
          `unary expression only allowed on expressions of type scalar or instant vector, got ${JSON.stringify(documentedType(t))}`,
        );
      }
      const pos = { start: it.pos, end: inner.pos.end };
      if (inner.kind === 'number') {
        return { kind: 'number', value: it.sign === '-' ? -inner.value : inner.value, pos };
      }
      return { kind: 'unary', op: it.sign, expr: inner, type: t, pos };
    }
    if (it.t !== 'operand') throw this.err(this.itemPos(it), 'unexpected operator');
    st.i++;
    let e = it.expr;
    for (;;) {
      const p = items[st.i];
      if (p === undefined || p.t !== 'postfix') break;
      st.i++;
      e = this.applyPostfix(e, p.node);
    }
    return e;
  }

  private itemPos(it: FlatItem): number {
    switch (it.t) {
      case 'op':
        return it.opNode.from;
      case 'prefix':
        return it.pos;
      case 'postfix':
        return it.node.from;
      case 'operand':
        return it.expr.pos.start;
    }
  }

  private applyPostfix(e: Expr, n: SyntaxNode): Expr {
    const pos = { start: e.pos.start, end: n.to };
    switch (n.name) {
      case 'MatrixSelector': {
        const dur = n.getChild('DurationExpr');
        if (dur === null) throw this.err(n.from, 'missing range');
        if (e.kind !== 'vectorSelector') {
          // Prometheus points at the range's "[".
          throw this.err(this.q.lastIndexOf('[', dur.from), 'ranges only allowed for vector selectors');
        }
        if (e.offset !== 0) throw this.err(e.pos.start, 'no offset modifiers allowed before range');
        if (e.at !== null) throw this.err(e.pos.start, 'no @ modifiers allowed before range');
        return { kind: 'matrixSelector', vs: e, range: this.duration(dur, 'range'), pos };
      }
      case 'SubqueryExpr': {
        const durs = n.getChildren('DurationExpr');
        const range = this.duration(durs[0], 'subquery range');
        const step = durs.length > 1 ? this.duration(durs[1], 'subquery step') : 0;
        const t = exprType(e);
        if (t !== 'vector') {
          throw this.err(
            e.pos.start,
            `subquery is only allowed on instant vector, got ${documentedType(t)} instead`,
          );
        }
        return { kind: 'subquery', expr: e, range, step, offset: 0, at: null, pos };
      }
      case 'OffsetExpr': {
        const ms = this.offsetDuration(n);
        const target = this.modifierTarget(e);
        if (target === null) {
          throw this.err(
            e.pos.start,
            'offset modifier must be preceded by an instant vector selector or range vector selector or a subquery',
          );
        }
        if (target.offset !== 0) throw this.err(e.pos.start, 'offset may not be set multiple times');
        target.offset = ms;
        return e;
      }
      case 'StepInvariantExpr': {
        const at = this.atModifier(n);
        const target = this.modifierTarget(e);
        if (target === null) {
          throw this.err(
            e.pos.start,
            '@ modifier must be preceded by an instant vector selector or range vector selector or a subquery',
          );
        }
        if (target.at !== null) throw this.err(e.pos.start, '@ <timestamp> may not be set multiple times');
        target.at = at;
        return e;
      }
      default:
        throw this.err(n.from, `unexpected ${n.name}`);
    }
  }

  /** The selector an offset or @ applies to, or null. */
  private modifierTarget(e: Expr): VectorSelector | SubqueryExpr | null {
    if (e.kind === 'vectorSelector' || e.kind === 'subquery') return e;
    if (e.kind === 'matrixSelector') return e.vs;
    return null;
  }

  private offsetDuration(n: SyntaxNode): number {
    const od = n.getChild('OffsetDurationExpr');
    if (od === null) throw this.err(n.to, 'unexpected end of input');
    let sign = 1;
    let cur: SyntaxNode | null = od;
    const op = od.getChild('UnaryOp');
    if (op !== null) {
      if (this.text(op) === '-') sign = -1;
      cur = od.getChild('OffsetDurationExpr');
      if (cur !== null && cur.getChild('UnaryOp') !== null) {
        throw this.err(cur.from, 'unexpected sign in offset duration');
      }
    }
    if (cur === null) throw this.err(od.from, 'invalid offset');
    return sign * this.duration(cur, 'offset');
  }

  private atModifier(n: SyntaxNode): AtModifier {
    const pre = n.getChild('AtModifierPreprocessors');
    if (pre !== null) return { kind: pre.firstChild?.name === 'AtStart' ? 'start' : 'end' };
    const lit = n.getChild('NumberDurationLiteral');
    if (lit === null) throw this.err(n.to, 'unexpected end of input');
    const t = this.text(lit).replace(/\s+/g, '');
    const v = parseNumber(t);
    if (v === null) throw this.err(lit.from, `unexpected ${JSON.stringify(t)} in @, expected timestamp`);
    const ms = v * 1000;
    if (!Number.isFinite(ms) || Math.abs(ms) > 9.223372036854775e18) {
      throw this.err(lit.from, `timestamp out of bounds for @ modifier: ${fmtFloat(v)}`);
    }
    return { kind: 'time', ms: Math.round(ms) };
  }

  private groupingLabels(n: SyntaxNode): string[] {
    const out: string[] = [];
    for (let c = n.firstChild; c !== null; c = c.nextSibling) {
      if (c.name === 'LabelName') out.push(this.text(c));
      else if (c.type.isError) throw syntaxError(this.q, c.from, c.to);
      else
        throw this.err(c.from, `unexpected ${JSON.stringify(this.text(c))} in grouping opts, expected label`);
    }
    return out;
  }

  private binaryChecked(
    op: BinaryOp,
    lhs: Expr,
    rhs: Expr,
    returnBool: boolean,
    matchClause: SyntaxNode | null,
    opNode: SyntaxNode,
  ): BinaryExpr {
    const lt = exprType(lhs);
    const rt = exprType(rhs);
    const opPos = opNode.from;
    const pos: PosRange = { start: lhs.pos.start, end: rhs.pos.end };

    let card: Cardinality = 'one-to-one';
    let labels: string[] = [];
    let on = false;
    let include: string[] = [];
    let hasClause = false;
    if (matchClause !== null) {
      hasClause = true;
      const mk = this.children(matchClause);
      let seenGroup = false;
      for (const c of mk) {
        if (c.name === 'On') on = true;
        else if (c.name === 'Ignoring') on = false;
        else if (c.name === 'GroupLeft') {
          card = 'many-to-one';
          seenGroup = true;
        } else if (c.name === 'GroupRight') {
          card = 'one-to-many';
          seenGroup = true;
        } else if (c.name === 'GroupingLabels') {
          if (seenGroup) include = this.groupingLabels(c);
          else labels = this.groupingLabels(c);
        } else if (c.type.isError) throw syntaxError(this.q, c.from, c.to);
      }
    }

    if (returnBool && !isComparisonOp(op)) {
      throw this.err(opPos, 'bool modifier can only be used on comparison operators');
    }
    if (isComparisonOp(op) && !returnBool && lt === 'scalar' && rt === 'scalar') {
      throw this.err(opPos, 'comparisons between scalars must use BOOL modifier');
    }
    if (isSetOp(op) && card === 'one-to-one') card = 'many-to-many';
    if (on) {
      for (const l of labels) {
        if (include.includes(l))
          throw this.err(opPos, `label ${JSON.stringify(l)} must not occur in ON and GROUP clause at once`);
      }
    }
    if (lt !== 'scalar' && lt !== 'vector') {
      throw this.err(lhs.pos.start, 'binary expression must contain only scalar and instant vector types');
    }
    if (rt !== 'scalar' && rt !== 'vector') {
      throw this.err(rhs.pos.start, 'binary expression must contain only scalar and instant vector types');
    }
    let matching: VectorMatching | null = { card, labels, on, include };
    if (lt !== 'vector' || rt !== 'vector') {
      if (hasClause && labels.length > 0)
        throw this.err(pos.start, 'vector matching only allowed between instant vectors');
      if (hasClause && card !== 'one-to-one' && !isSetOp(op)) {
        throw this.err(pos.start, 'vector matching only allowed between instant vectors');
      }
      matching = null;
    } else if (isSetOp(op)) {
      if (card === 'one-to-many' || card === 'many-to-one')
        throw this.err(pos.start, `no grouping allowed for "${op}" operation`);
    }
    if ((lt === 'scalar' || rt === 'scalar') && isSetOp(op)) {
      throw this.err(pos.start, `set operator "${op}" not allowed in binary scalar expression`);
    }
    const type: ValueType = lt === 'scalar' && rt === 'scalar' ? 'scalar' : 'vector';
    return { kind: 'binary', op, lhs, rhs, returnBool, matching, type, pos };
  }

  private callArgs(body: SyntaxNode, d: number): Expr[] {
    const args: Expr[] = [];
    for (let c = body.firstChild; c !== null; c = c.nextSibling) {
      if (c.type.isError) throw syntaxError(this.q, c.from, c.to);
      if (c.type.is('Expr')) args.push(this.expr(c, d));
    }
    return args;
  }

  private expectType(e: Expr, want: ValueType, context: string): void {
    const got = exprType(e);
    if (got !== want) {
      throw this.err(
        e.pos.start,
        `expected type ${documentedType(want)} in ${context}, got ${documentedType(got)}`,
      );
    }
  }

  private call(n: SyntaxNode, d: number): Call {
    const id = n.getChild('FunctionIdentifier');
    const body = n.getChild('FunctionCallBody');
    if (id === null || body === null) throw this.err(n.from, 'invalid function call');
    const name = this.text(id);
    const func = FUNCTIONS.get(name);
    if (func === undefined || name === 'holt_winters') {
      throw this.err(n.from, `unknown function with name ${JSON.stringify(name)}`);
    }
    const args = this.callArgs(body, d);
    return this.checkCall(func, args, n);
  }

  private checkCall(func: FunctionDef, args: Expr[], n: SyntaxNode): Call {
    const nargs = func.argTypes.length;
    const pos = this.pos(n);
    if (func.variadic === 0) {
      if (nargs !== args.length) {
        throw this.err(
          n.from,
          `expected ${nargs} argument(s) in call to ${JSON.stringify(func.name)}, got ${args.length}`,
        );
      }
    } else {
      const na = nargs - 1;
      if (na > args.length) {
        throw this.err(
          n.from,
          `expected at least ${na} argument(s) in call to ${JSON.stringify(func.name)}, got ${args.length}`,
        );
      }
      const max = na + func.variadic;
      if (func.variadic > 0 && max < args.length) {
        throw this.err(
          n.from,
          `expected at most ${max} argument(s) in call to ${JSON.stringify(func.name)}, got ${args.length}`,
        );
      }
    }
    for (let i = 0; i < args.length; i++) {
      let k = i;
      if (k >= nargs) {
        if (func.variadic === 0) continue;
        k = nargs - 1;
      }
      this.expectType(args[i], func.argTypes[k], `call to function ${JSON.stringify(func.name)}`);
    }
    return { kind: 'call', func, args, pos };
  }

  private aggregate(n: SyntaxNode, d: number): Expr {
    const opNode = n.getChild('AggregateOp');
    const body = n.getChild('FunctionCallBody');
    if (opNode === null || body === null) throw this.err(n.from, 'invalid aggregation');
    if (this.holtSpots.has(opNode.from)) {
      if (n.getChild('AggregateModifier') !== null)
        throw this.err(n.from, 'unexpected grouping after function call');
      const func = FUNCTIONS.get('holt_winters');
      if (func === undefined) throw this.err(n.from, 'unknown function with name "holt_winters"');
      return this.checkCall(func, this.callArgs(body, d), n);
    }
    const opText = this.text(opNode).toLowerCase();
    if (!AGGREGATE_OPS.has(opText))
      throw this.err(n.from, `unknown function with name ${JSON.stringify(this.text(opNode))}`);
    const op = opText as AggregateOp;
    let grouping: string[] = [];
    let without = false;
    const mod = n.getChild('AggregateModifier');
    if (mod !== null) {
      without = mod.getChild('Without') !== null;
      const gl = mod.getChild('GroupingLabels');
      if (gl !== null) grouping = this.groupingLabels(gl);
    }
    const args = this.callArgs(body, d);
    if (args.length === 0) throw this.err(n.from, 'no arguments for aggregate expression provided');
    const withParam = op === 'topk' || op === 'bottomk' || op === 'quantile' || op === 'count_values';
    const want = withParam ? 2 : 1;
    if (args.length !== want) {
      throw this.err(
        n.from,
        `wrong number of arguments for aggregate expression provided, expected ${want}, got ${args.length}`,
      );
    }
    const expr = args[want - 1];
    const param = withParam ? args[0] : null;
    const et = exprType(expr);
    if (et !== 'vector') {
      throw this.err(
        expr.pos.start,
        `expected type instant vector in aggregation expression, got ${documentedType(et)}`,
      );
    }
    if (param !== null) {
      if (op === 'count_values') this.expectType(param, 'string', 'aggregation parameter');
      else this.expectType(param, 'scalar', 'aggregation parameter');
    }
    const agg: AggregateExpr = { kind: 'aggregate', op, expr, param, grouping, without, pos: this.pos(n) };
    return agg;
  }
}

/** Go's %f of a float64 (6 decimals). */
function fmtFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  return v.toFixed(6);
}
