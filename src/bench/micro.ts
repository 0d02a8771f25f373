/**
 * The benchmark modules under bench/ (`bench/<name>.bench.ts`, their owners' code) reached through
 * `promshard bench micro/<name>`: each runs in its own process through the dispatcher
 * (dist/bench/run.js), with a preload that records tinybench's statistics for the summary table.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../shared/package-root.js';
import type { CapturedTask } from './tinybench-capture.js';

const SUFFIX = '.bench.js';

export interface MicroInfo {
  name: string;
  description: string;
}

function benchDir(): string {
  return path.join(packageRoot(), 'dist', 'bench');
}

/** The first comment line of a module: what it measures. */
function describe(file: string): string {
  try {
    const text = readFileSync(file, 'utf8');
    for (const line of text.split('\n', 20)) {
      const m = /^\s*(?:\/\/|\/\*\*?|\*)\s*(.*?)\s*(?:\*\/)?$/.exec(line);
      if (m && m[1] !== '') return m[1];
    }
    return '';
  } catch {
    return '';
  }
}

export function listMicro(): MicroInfo[] {
  const dir = benchDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(SUFFIX))
    .sort()
    .map((f) => ({ name: `micro/${f.slice(0, -SUFFIX.length)}`, description: describe(path.join(dir, f)) }));
}

export interface MicroResult {
  name: string;
  exitCode: number;
  seconds: number;
  /** tinybench tasks it ran (empty for modules that measure without tinybench: see their output). */
  tasks: CapturedTask[];
  /** The module's own report (its stdout). */
  output: string;
}

export async function runMicro(name: string, args: readonly string[], quiet: boolean): Promise<MicroResult> {
  const mod = name.replace(/^micro\//, '');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'promshard-bench-capture-'));
  const capture = path.join(tmp, 'tasks.json');
  const hook = pathToFileURL(path.join(packageRoot(), 'dist', 'src', 'bench', 'tinybench-capture.js')).href;
  const started = performance.now();
  try {
    const proc = spawn(process.execPath, ['--import', hook, path.join(benchDir(), 'run.js'), mod, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PROMSHARD_BENCH_CAPTURE: capture },
    });
    let output = '';
    proc.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      if (!quiet) process.stderr.write(d);
    });
    proc.stderr.on('data', (d: Buffer) => {
      if (!quiet) process.stderr.write(d);
    });
    const exitCode = await new Promise<number>((resolve) => proc.on('exit', (c) => resolve(c ?? 1)));
    let tasks: CapturedTask[] = [];
    try {
      tasks = JSON.parse(readFileSync(capture, 'utf8')) as CapturedTask[];
    } catch {}
    return { name, exitCode, seconds: Math.round((performance.now() - started) / 10) / 100, tasks, output };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
