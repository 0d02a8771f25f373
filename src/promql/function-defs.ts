import type { FunctionDef, ValueType } from './ast.js';

/** The functions of Prometheus 2.42 (promql/parser/functions.go): signatures only. */
const defs: FunctionDef[] = [];

function fn(name: string, argTypes: ValueType[], returnType: ValueType, variadic = 0): void {
  defs.push({ name, argTypes, returnType, variadic });
}

const V: ValueType = 'vector';
const M: ValueType = 'matrix';
const S: ValueType = 'scalar';
const STR: ValueType = 'string';

for (const name of [
  'abs',
  'acos',
  'acosh',
  'asin',
  'asinh',
  'atan',
  'atanh',
  'ceil',
  'cos',
  'cosh',
  'deg',
  'exp',
  'floor',
  'ln',
  'log10',
  'log2',
  'rad',
  'sgn',
  'sin',
  'sinh',
  'sqrt',
  'tan',
  'tanh',
  'absent',
  'sort',
  'sort_desc',
  'timestamp',
  'histogram_count',
  'histogram_sum',
]) {
  fn(name, [V], V);
}
for (const name of [
  'absent_over_time',
  'avg_over_time',
  'changes',
  'count_over_time',
  'delta',
  'deriv',
  'idelta',
  'increase',
  'irate',
  'last_over_time',
  'max_over_time',
  'min_over_time',
  'present_over_time',
  'rate',
  'resets',
  'stddev_over_time',
  'stdvar_over_time',
  'sum_over_time',
]) {
  fn(name, [M], V);
}
for (const name of [
  'day_of_month',
  'day_of_week',
  'day_of_year',
  'days_in_month',
  'hour',
  'minute',
  'month',
  'year',
]) {
  fn(name, [V], V, 1);
}
fn('clamp', [V, S, S], V);
fn('clamp_max', [V, S], V);
fn('clamp_min', [V, S], V);
fn('histogram_fraction', [S, S, V], V);
fn('histogram_quantile', [S, V], V);
fn('holt_winters', [M, S, S], V);
fn('label_replace', [V, STR, STR, STR, STR], V);
fn('label_join', [V, STR, STR, STR], V, -1);
fn('pi', [], S);
fn('predict_linear', [M, S], V);
fn('quantile_over_time', [S, M], V);
fn('round', [V, S], V, 1);
fn('scalar', [V], S);
fn('time', [], S);
fn('vector', [S], V);

export const FUNCTIONS: ReadonlyMap<string, FunctionDef> = new Map(defs.map((d) => [d.name, d]));
