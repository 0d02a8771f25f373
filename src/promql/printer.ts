/**
 * Prints an AST back as PromQL that parses to the same tree (operands parenthesised where precedence could
 * matter). `pinAt` adds `@ <seconds>` to every selector and subquery without one, except inside a subquery
 * that has an @, as Prometheus' test runner does for its @-modifier variants.
 */
import type { AtModifier, Expr, VectorSelector } from './ast.js';

export interface PrintOptions {
  /** Pin selectors and subqueries without @ to this time (ms). */
  pinAt?: number;
}

const UNITS: [string, number][] = [
  ['y', 365 * 86400000],
  ['w', 7 * 86400000],
  ['d', 86400000],
  ['h', 3600000],
  ['m', 60000],
  ['s', 1000],
  ['ms', 1],
];

/** Prometheus' duration form: `1h30m`, `500ms`, `0s`; negative with a leading `-`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = Math.abs(ms);
  let out = ms < 0 ? '-' : '';
  for (const [u, size] of UNITS) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${u}`;
      rest %= size;
    }
  }
  return out;
}

function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return 'Inf';
  if (v === Number.NEGATIVE_INFINITY) return '(-Inf)';
  return v < 0 || Object.is(v, -0) ? `(${v === 0 ? '-0' : String(v)})` : String(v);
}

function formatAt(at: AtModifier): string {
  if (at.kind === 'time') return ` @ ${(at.ms / 1000).toFixed(3)}`;
  return at.kind === 'start' ? ' @ start()' : ' @ end()';
}

function modifiers(offset: number, at: AtModifier | null, pin: number | undefined): string {
  let s = offset !== 0 ? ` offset ${formatDuration(offset)}` : '';
  if (at !== null) s += formatAt(at);
  else if (pin !== undefined) s += formatAt({ kind: 'time', ms: pin });
  return s;
}

function selector(vs: VectorSelector): string {
  const ms = vs.matchers.filter(
    (m) => !(vs.name !== '' && m.name === '__name__' && m.type === '=' && m.value === vs.name),
  );
  const inner = ms.map((m) => `${m.name}${m.type}${JSON.stringify(m.value)}`).join(', ');
  return ms.length === 0 ? vs.name : `${vs.name}{${inner}}`;
}

export function printExpr(e: Expr, opts: PrintOptions = {}): string {
  const pin = opts.pinAt;
  switch (e.kind) {
    case 'number':
      return formatNumber(e.value);
    case 'string':
      return JSON.stringify(e.value);
    case 'vectorSelector':
      return selector(e) + modifiers(e.offset, e.at, pin);
    case 'matrixSelector':
      return `${selector(e.vs)}[${formatDuration(e.range)}]${modifiers(e.vs.offset, e.vs.at, pin)}`;
    case 'subquery': {
      // Inside a subquery that carries an @ (its own or the pinned one), nothing more is pinned.
      const inner = printExpr(e.expr, {});
      const step = e.step !== 0 ? formatDuration(e.step) : '';
      return `(${inner})[${formatDuration(e.range)}:${step}]${modifiers(e.offset, e.at, pin)}`;
    }
    case 'call':
      return `${e.func.name}(${e.args.map((a) => printExpr(a, opts)).join(', ')})`;
    case 'aggregate': {
      const grouping = `${e.without ? 'without' : 'by'} (${e.grouping.join(', ')})`;
      const args =
        e.param !== null
          ? `${printExpr(e.param, opts)}, ${printExpr(e.expr, opts)}`
          : printExpr(e.expr, opts);
      return `${e.op} ${grouping} (${args})`;
    }
    case 'binary': {
      let mod = e.returnBool ? ' bool' : '';
      const m = e.matching;
      if (m !== null && (m.on || m.labels.length > 0)) {
        mod += ` ${m.on ? 'on' : 'ignoring'}(${m.labels.join(', ')})`;
      }
      if (m !== null && (m.card === 'many-to-one' || m.card === 'one-to-many')) {
        if (!m.on && m.labels.length === 0) mod += ' ignoring()';
        mod += ` ${m.card === 'many-to-one' ? 'group_left' : 'group_right'}(${m.include.join(', ')})`;
      }
      return `(${printExpr(e.lhs, opts)}) ${e.op}${mod} (${printExpr(e.rhs, opts)})`;
    }
    case 'unary':
      return `${e.op}(${printExpr(e.expr, opts)})`;
    case 'paren':
      // Operands are parenthesised where it matters, so the parentheses themselves need no printing.
      return printExpr(e.expr, opts);
  }
}
