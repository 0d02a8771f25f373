/**
 * Reader of Prometheus' PromQL test scripts (promql/testdata/*.test at v2.42.0), as described in
 * ../shared/conformance/README.md: load / clear / eval[_ordered|_fail] instant at <time> <expr>.
 */

import { parseDuration, parseNumber, unquoteString } from '../../src/promql/parser.js';
import type { Label, Labels } from '../../src/shared/labels.js';
import { compareStrings } from '../../src/shared/labels.js';
import { STALE_NAN_BITS } from '../../src/shared/storage.js';

export interface LoadSeries {
  labels: Labels;
  t: Float64Array;
  v: Float64Array;
}

export type Expected =
  | { kind: 'scalar'; value: number }
  | { kind: 'vector'; samples: { labels: Labels; value: number; line: number }[] };

export type Command =
  | { kind: 'load'; line: number; series: LoadSeries[] }
  | { kind: 'clear'; line: number }
  | {
      kind: 'eval';
      line: number;
      mode: 'eval' | 'eval_ordered' | 'eval_fail';
      timeMs: number;
      expr: string;
      expected: Expected;
    };

/** Parses `name{a="b", ...}` (only `=`) and returns the labels and the rest of the line. */
export function parseSeriesDesc(text: string): { labels: Labels; rest: string } {
  let i = 0;
  const labels: Label[] = [];
  const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(text);
  if (name !== null) {
    labels.push({ name: '__name__', value: name[0] });
    i = name[0].length;
  }
  if (text[i] === '{') {
    i++;
    for (;;) {
      while (/\s/.test(text[i] ?? '')) i++;
      if (text[i] === '}') {
        i++;
        break;
      }
      const ln = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(text.slice(i));
      if (ln === null) throw new Error(`bad label name at ${text.slice(i)}`);
      i += ln[0].length;
      while (/\s/.test(text[i] ?? '')) i++;
      if (text[i] !== '=') throw new Error(`expected = in ${text}`);
      i++;
      while (/\s/.test(text[i] ?? '')) i++;
      const q = text[i];
      let j = i + 1;
      while (j < text.length && text[j] !== q) j += text[j] === '\\' ? 2 : 1;
      const value = unquoteString(text.slice(i, j + 1));
      if (value === null) throw new Error(`bad label value in ${text}`);
      i = j + 1;
      if (ln[0] === '__name__') {
        const k = labels.findIndex((l) => l.name === '__name__');
        if (k >= 0) labels.splice(k, 1);
      }
      if (value !== '') labels.push({ name: ln[0], value });
      while (/\s/.test(text[i] ?? '')) i++;
      if (text[i] === ',') i++;
    }
  }
  labels.sort((a, b) => compareStrings(a.name, b.name));
  return { labels, rest: text.slice(i).trim() };
}

const NUM = '[+-]?(?:(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?|[iI][nN][fF]|[nN][aN][nN])';
const ITEM_RE = new RegExp(`^(${NUM})(?:([+-])(${NUM}))?x(\\d+)$`);

function num(s: string): number {
  const v = parseNumber(s);
  if (v === null) throw new Error(`bad number ${s}`);
  return v;
}

/** Expands the value list of a load line; returns values with per-step presence. */
export function expandValues(
  items: string[],
  intervalMs: number,
): { t: number[]; v: number[]; stale: number[] } {
  const t: number[] = [];
  const v: number[] = [];
  const stale: number[] = [];
  let step = 0;
  for (const item of items) {
    if (item === '_') {
      step++;
      continue;
    }
    const blank = /^_x(\d+)$/.exec(item);
    if (blank !== null) {
      step += Number(blank[1]);
      continue;
    }
    if (item.toLowerCase() === 'stale') {
      t.push(step * intervalMs);
      stale.push(v.length);
      v.push(Number.NaN);
      step++;
      continue;
    }
    const m = ITEM_RE.exec(item);
    if (m !== null) {
      let cur = num(m[1]);
      const d = m[2] === undefined ? 0 : num(m[3]) * (m[2] === '-' ? -1 : 1);
      const k = Number(m[4]);
      for (let i = 0; i <= k; i++) {
        t.push(step * intervalMs);
        v.push(cur);
        step++;
        cur += d;
      }
      continue;
    }
    t.push(step * intervalMs);
    v.push(num(item));
    step++;
  }
  return { t, v, stale };
}

export function parseScript(text: string): Command[] {
  const lines = text.split('\n').map((l) => {
    const s = l.trim();
    return s.startsWith('#') ? '' : s;
  });
  const cmds: Command[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line === '') {
      i++;
      continue;
    }
    const lineNo = i + 1;
    const word = line.split(/\s+/)[0].toLowerCase();
    if (word === 'clear') {
      cmds.push({ kind: 'clear', line: lineNo });
      i++;
      continue;
    }
    if (word === 'load') {
      const interval = parseDuration(line.split(/\s+/)[1]);
      if (interval === null) throw new Error(`line ${lineNo}: bad load interval`);
      const series = new Map<string, LoadSeries>();
      i++;
      while (i < lines.length && lines[i] !== '') {
        const { labels, rest } = parseSeriesDesc(lines[i]);
        const { t, v, stale } = expandValues(
          rest.split(/\s+/).filter((x) => x !== ''),
          interval,
        );
        const key = JSON.stringify(labels);
        series.set(key, { labels, t: Float64Array.from(t), v: vArray(v, stale) });
        i++;
      }
      cmds.push({ kind: 'load', line: lineNo, series: [...series.values()] });
      continue;
    }
    if (word.startsWith('eval')) {
      const m = /^(eval(?:_ordered|_fail)?)\s+instant\s+at\s+(\S+)\s+(.*)$/i.exec(line);
      if (m === null) throw new Error(`line ${lineNo}: cannot read ${line}`);
      const timeMs = parseDuration(m[2]);
      if (timeMs === null) throw new Error(`line ${lineNo}: bad time ${m[2]}`);
      const mode = m[1].toLowerCase() as 'eval' | 'eval_ordered' | 'eval_fail';
      i++;
      let expected: Expected = { kind: 'vector', samples: [] };
      const samples: { labels: Labels; value: number; line: number }[] = [];
      while (i < lines.length && lines[i] !== '') {
        const l = lines[i];
        const scalar = parseNumber(l);
        if (scalar !== null && !/\s/.test(l)) {
          expected = { kind: 'scalar', value: scalar };
          i++;
          break;
        }
        const { labels, rest } = parseSeriesDesc(l);
        samples.push({ labels, value: num(rest), line: i + 1 });
        i++;
      }
      if (expected.kind === 'vector') expected = { kind: 'vector', samples };
      cmds.push({ kind: 'eval', line: lineNo, mode, timeMs, expr: m[3], expected });
      continue;
    }
    throw new Error(`line ${lineNo}: unknown command ${line}`);
  }
  return cmds;
}

/** Values into a typed array; stale markers are written by bits (a plain Array would lose the NaN's bits). */
function vArray(v: number[], stale: number[]): Float64Array {
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i];
  const bits = new BigUint64Array(out.buffer);
  for (const i of stale) bits[i] = STALE_NAN_BITS;
  return out;
}

const MIN_NORMAL = 2.2250738585072014e-308;

/** The upstream runner's float comparison (README: "The upstream tolerance"). */
export function almostEqual(a: number, b: number): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || diff < MIN_NORMAL) return diff < 1e-6 * MIN_NORMAL;
  return diff / (Math.abs(a) + Math.abs(b)) < 1e-6;
}
