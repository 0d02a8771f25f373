/**
 * Runs Prometheus 2.42's own PromQL test scripts (../shared/conformance/promql/*.test) against our engine
 * over the in-memory Queryable, with the upstream float tolerance, plus the upstream runner's two extra checks:
 * the range-mode cross-check (each instant eval at T also runs as a range query T-1m..T+1m step 1m) and the
 * @-modifier variants (selectors pinned to T with @, evaluated at other times).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { QueryValue } from '../src/promql/api.js';
import { Engine } from '../src/promql/engine.js';
import { parseExpr } from '../src/promql/parser.js';
import { printExpr } from '../src/promql/printer.js';
import { formatLabels, labelsKey } from '../src/shared/labels.js';
import { MemoryQueryable } from './support/memory-queryable.js';
import type { Command, Expected } from './support/promql-script.js';
import { almostEqual, parseScript } from './support/promql-script.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.resolve(repo, '../shared/conformance/promql');

/** Cases that cannot pass yet: "file:line" -> reason. Printed by every run; must shrink to empty. */
const SKIP: ReadonlyMap<string, string> = new Map<string, string>([]);

interface Outcome {
  file: string;
  line: number;
  ok: boolean;
  skipped: boolean;
  detail: string;
}

function describeValue(v: QueryValue): string {
  switch (v.type) {
    case 'scalar':
      return `scalar ${v.v}`;
    case 'string':
      return `string ${JSON.stringify(v.v)}`;
    case 'vector':
      return `vector [${v.samples.map((s) => `${formatLabels(s.labels)} ${s.v}`).join(', ')}]`;
    case 'matrix':
      return `matrix of ${v.series.length} series`;
  }
}

/** Compares a result with the expectation; returns an error text or null. */
function compare(exp: Expected, got: QueryValue, ordered: boolean): string | null {
  if (exp.kind === 'scalar') {
    if (got.type !== 'scalar') return `expected scalar ${exp.value}, got ${describeValue(got)}`;
    return almostEqual(exp.value, got.v) ? null : `expected scalar ${exp.value}, got ${got.v}`;
  }
  if (got.type !== 'vector') return `expected a vector, got ${describeValue(got)}`;
  if (got.samples.length !== exp.samples.length) {
    return `expected ${exp.samples.length} samples, got ${got.samples.length}: ${describeValue(got)}`;
  }
  const byKey = new Map<string, { v: number; pos: number }>();
  got.samples.forEach((s, pos) => {
    byKey.set(labelsKey(s.labels), { v: s.v, pos });
  });
  for (let i = 0; i < exp.samples.length; i++) {
    const e = exp.samples[i];
    const g = byKey.get(labelsKey(e.labels));
    if (g === undefined) return `missing ${formatLabels(e.labels)}; got ${describeValue(got)}`;
    if (!almostEqual(e.value, g.v)) return `${formatLabels(e.labels)}: expected ${e.value}, got ${g.v}`;
    if (ordered && g.pos !== i)
      return `${formatLabels(e.labels)}: expected at position ${i + 1}, got ${g.pos + 1}`;
  }
  return null;
}

/** The range-mode cross-check: the point at T of a range query T-1m..T+1m, step 1m. */
function pointAt(v: QueryValue, t: number): QueryValue {
  if (v.type !== 'matrix') return v;
  const samples: { labels: (typeof v.series)[number]['labels']; t: number; v: number }[] = [];
  for (const s of v.series) {
    for (let i = 0; i < s.t.length; i++) if (s.t[i] === t) samples.push({ labels: s.labels, t, v: s.v[i] });
  }
  return { type: 'vector', samples };
}

/** Functions whose result depends on the evaluation time: upstream makes no @ variants for them. */
const AT_UNSAFE =
  /\b(time|timestamp|predict_linear|minute|hour|day_of_week|day_of_month|day_of_year|days_in_month|month|year)\s*\(/;

/**
 * The upstream runner's @-modifier variants: every selector and subquery without @ pinned to T, the
 * result checked at -10T, 0, T/5, T, 10T (or -1s, 0, 1s when T is 0), instant and range mode.
 */
function atVariants(expr: string, t: number): { expr: string; times: number[] } | null {
  if (AT_UNSAFE.test(expr)) return null;
  const pinned = printExpr(parseExpr(expr), { pinAt: t });
  const times = t === 0 ? [-1000, 0, 1000] : [-10 * t, 0, Math.trunc(t / 5), t, 10 * t];
  return { expr: pinned, times };
}

async function check(
  engine: Engine,
  expr: string,
  t: number,
  mode: 'eval' | 'eval_ordered' | 'eval_fail',
  expected: Expected,
): Promise<string | null> {
  if (mode === 'eval_fail') {
    try {
      const v = await engine.instantQuery(expr, t);
      return `expected an error, got ${describeValue(v)}`;
    } catch (e) {
      if ((e as { kind?: string }).kind === 'bad_data')
        return `parse error instead of an evaluation error: ${e}`;
      return null;
    }
  }
  const v = await engine.instantQuery(expr, t);
  const d = compare(expected, v, mode === 'eval_ordered');
  if (d !== null) return d;
  const r = await engine.rangeQuery(expr, t - 60_000, t + 60_000, 60_000);
  if (mode === 'eval_ordered') return null;
  let p = pointAt(r, t);
  if (expected.kind === 'scalar' && p.type === 'vector') {
    p = { type: 'scalar', t, v: p.samples.length > 0 ? p.samples[0].v : Number.NaN };
  }
  const rd = compare(expected, p, false);
  return rd === null ? null : `range mode: ${rd}`;
}

async function runFile(file: string, cmds: Command[]): Promise<Outcome[]> {
  const store = new MemoryQueryable();
  const engine = new Engine(store, { maxSamples: 10_000, timeoutMs: 100_000 });
  const out: Outcome[] = [];
  for (const c of cmds) {
    if (c.kind === 'clear') {
      store.clear();
      continue;
    }
    if (c.kind === 'load') {
      for (const s of c.series) store.append(s.labels, s.t, s.v);
      continue;
    }
    const skipReason = SKIP.get(`${file}:${c.line}`);
    let detail: string | null = null;
    try {
      detail = await check(engine, c.expr, c.timeMs, c.mode, c.expected);
      const variants = detail === null ? atVariants(c.expr, c.timeMs) : null;
      if (variants !== null) {
        for (const t of variants.times) {
          variantRuns++;
          const d = await check(engine, variants.expr, t, c.mode, c.expected);
          if (d !== null) {
            detail = `@ variant ${variants.expr} at ${t} ms: ${d}`;
            break;
          }
        }
      }
    } catch (e) {
      detail = `error: ${(e as Error).message}`;
    }
    out.push({
      file,
      line: c.line,
      ok: detail === null,
      skipped: skipReason !== undefined,
      detail: detail === null ? '' : `${c.expr}: ${detail}`,
    });
  }
  return out;
}

let variantRuns = 0;

const files = existsSync(dir)
  ? readdirSync(dir)
      .filter((f) => f.endsWith('.test'))
      .sort()
  : [];
const all: Outcome[] = [];

describe('PromQL conformance (Prometheus 2.42 testdata)', () => {
  if (files.length === 0) {
    it.skip(`skipped: ${dir} is absent`, () => {});
    console.log(`promql conformance: skipped, ${dir} is absent`);
    return;
  }
  for (const file of files) {
    it(file, async () => {
      const cmds = parseScript(readFileSync(path.join(dir, file), 'utf8'));
      const res = await runFile(file, cmds);
      all.push(...res);
      const failures = res.filter((r) => !r.ok && !r.skipped);
      const unexpected = res.filter((r) => r.ok && r.skipped);
      const passed = res.filter((r) => r.ok).length;
      console.log(`${file}: ${passed}/${res.length} pass`);
      for (const f of failures) console.log(`  FAIL ${f.file}:${f.line} ${f.detail}`);
      for (const u of unexpected) console.log(`  skip list entry passes now, remove it: ${u.file}:${u.line}`);
      expect(failures.map((f) => `${f.file}:${f.line} ${f.detail}`)).toEqual([]);
      expect(unexpected.map((u) => `${u.file}:${u.line}`)).toEqual([]);
    });
  }
  afterAll(() => {
    const passed = all.filter((r) => r.ok).length;
    console.log(
      `promql conformance: ${passed}/${all.length} pass (each with the range-mode cross-check; ${variantRuns} @-modifier variant runs); skip list (${SKIP.size}):`,
    );
    for (const [k, reason] of SKIP) console.log(`  skip ${k}: ${reason}`);
  });
});
