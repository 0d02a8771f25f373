import type { Matcher } from '../shared/matchers.js';

/** The four PromQL value types, named as Prometheus' parser names them in its messages. */
export type ValueType = 'scalar' | 'vector' | 'matrix' | 'string';

export function documentedType(t: ValueType): string {
  switch (t) {
    case 'scalar':
      return 'scalar';
    case 'vector':
      return 'instant vector';
    case 'matrix':
      return 'range vector';
    case 'string':
      return 'string';
  }
}

/** Character offsets into the query text (half-open), for error messages. */
export interface PosRange {
  readonly start: number;
  readonly end: number;
}

/** `@ <time>` as parsed: a fixed time in ms, or the query's start()/end(). */
export type AtModifier = { readonly kind: 'time'; readonly ms: number } | { readonly kind: 'start' | 'end' };

export interface NumberLiteral {
  readonly kind: 'number';
  readonly value: number;
  readonly pos: PosRange;
}

export interface StringLiteral {
  readonly kind: 'string';
  readonly value: string;
  readonly pos: PosRange;
}

export interface VectorSelector {
  readonly kind: 'vectorSelector';
  readonly name: string;
  readonly matchers: readonly Matcher[];
  /** Offset in ms (positive looks back). */
  offset: number;
  at: AtModifier | null;
  readonly pos: PosRange;
}

export interface MatrixSelector {
  readonly kind: 'matrixSelector';
  readonly vs: VectorSelector;
  /** Range in ms. */
  readonly range: number;
  readonly pos: PosRange;
}

export interface SubqueryExpr {
  readonly kind: 'subquery';
  readonly expr: Expr;
  readonly range: number;
  /** Step in ms; 0 means the engine's default evaluation interval. */
  readonly step: number;
  offset: number;
  at: AtModifier | null;
  readonly pos: PosRange;
}

export interface FunctionDef {
  readonly name: string;
  readonly argTypes: readonly ValueType[];
  /** 0: fixed arity; n > 0: up to n trailing optional arguments; -1: unlimited repeats of the last type. */
  readonly variadic: number;
  readonly returnType: ValueType;
}

export interface Call {
  readonly kind: 'call';
  readonly func: FunctionDef;
  readonly args: readonly Expr[];
  readonly pos: PosRange;
}

export type AggregateOp =
  | 'sum'
  | 'avg'
  | 'min'
  | 'max'
  | 'count'
  | 'group'
  | 'stddev'
  | 'stdvar'
  | 'topk'
  | 'bottomk'
  | 'quantile'
  | 'count_values';

export interface AggregateExpr {
  readonly kind: 'aggregate';
  readonly op: AggregateOp;
  readonly expr: Expr;
  readonly param: Expr | null;
  readonly grouping: readonly string[];
  readonly without: boolean;
  readonly pos: PosRange;
}

export type ArithOp = '+' | '-' | '*' | '/' | '%' | '^' | 'atan2';
export type CompareOp = '==' | '!=' | '>' | '<' | '>=' | '<=';
export type SetOp = 'and' | 'or' | 'unless';
export type BinaryOp = ArithOp | CompareOp | SetOp;

export type Cardinality = 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';

export interface VectorMatching {
  readonly card: Cardinality;
  /** Labels of on(...) or ignoring(...). */
  readonly labels: readonly string[];
  /** True for on(...), false for ignoring(...) or no clause. */
  readonly on: boolean;
  /** Extra labels of group_left(...) / group_right(...). */
  readonly include: readonly string[];
}

export interface BinaryExpr {
  readonly kind: 'binary';
  readonly op: BinaryOp;
  readonly lhs: Expr;
  readonly rhs: Expr;
  readonly returnBool: boolean;
  /** Null unless both sides are instant vectors. */
  readonly matching: VectorMatching | null;
  /** Result type, computed once at construction (long chains must not recurse to find it). */
  readonly type: ValueType;
  readonly pos: PosRange;
}

export interface UnaryExpr {
  readonly kind: 'unary';
  readonly op: '-' | '+';
  readonly expr: Expr;
  readonly type: ValueType;
  readonly pos: PosRange;
}

export interface ParenExpr {
  readonly kind: 'paren';
  readonly expr: Expr;
  readonly type: ValueType;
  readonly pos: PosRange;
}

export type Expr =
  | NumberLiteral
  | StringLiteral
  | VectorSelector
  | MatrixSelector
  | SubqueryExpr
  | Call
  | AggregateExpr
  | BinaryExpr
  | UnaryExpr
  | ParenExpr;

export function isComparisonOp(op: BinaryOp): op is CompareOp {
  return op === '==' || op === '!=' || op === '>' || op === '<' || op === '>=' || op === '<=';
}

export function isSetOp(op: BinaryOp): op is SetOp {
  return op === 'and' || op === 'or' || op === 'unless';
}

/** The static type of an expression, as Prometheus' `Expr.Type()`. */
export function exprType(e: Expr): ValueType {
  switch (e.kind) {
    case 'number':
      return 'scalar';
    case 'string':
      return 'string';
    case 'vectorSelector':
      return 'vector';
    case 'matrixSelector':
    case 'subquery':
      return 'matrix';
    case 'call':
      return e.func.returnType;
    case 'aggregate':
      return 'vector';
    case 'binary':
    case 'unary':
    case 'paren':
      return e.type;
  }
}
