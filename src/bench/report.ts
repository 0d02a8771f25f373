/** The summary table (median, p99, spread), the --compare ratios, and the saved JSON + markdown. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { MachineInfo } from './machine.js';
import type { MicroResult } from './micro.js';
import type { ScenarioResult } from './scenarios.js';
import { type Dist, spread } from './stats.js';

export interface BenchRun {
  version: 1;
  command: string[];
  machine: MachineInfo;
  startedAt: string;
  seconds: number;
  micro: MicroResult[];
  scenarios: ScenarioResult[];
}

export interface Row {
  benchmark: string;
  target: string;
  figure: string;
  median: number | null;
  p99: number | null;
  /** Relative: IQR / median for distributions, tinybench's rme for micro-benchmarks. */
  spread: number | null;
}

function distRow(benchmark: string, target: string, figure: string, d: Dist): Row {
  return {
    benchmark,
    target,
    figure,
    median: d.count > 0 ? d.p50 : null,
    p99: d.count > 0 ? d.p99 : null,
    spread: d.count > 0 ? spread(d) : null,
  };
}

export function rows(run: BenchRun): Row[] {
  const out: Row[] = [];
  for (const m of run.micro) {
    if (m.tasks.length === 0)
      out.push({
        benchmark: m.name,
        target: '',
        figure: `(no tinybench tasks; exit ${m.exitCode}, see its output)`,
        median: null,
        p99: null,
        spread: null,
      });
    for (const t of m.tasks)
      out.push({
        benchmark: m.name,
        target: t.bench,
        figure: `${t.task} (ms/op)`,
        median: t.p50,
        p99: t.p99,
        spread: t.rme / 100,
      });
  }
  for (const s of run.scenarios) {
    for (const t of s.targets) {
      const target = t.target === 'url' ? t.url : t.target;
      if (t.ingest) {
        out.push(distRow(s.name, target, 'samples accepted per second', t.ingest.perSecond));
        out.push(distRow(s.name, target, 'remote-write request ms', t.ingest.requestMs));
      }
      if (t.queries) {
        out.push(distRow(s.name, target, 'query latency ms (all)', t.queries.latencyMs));
        for (const q of t.queries.perQuery)
          out.push(
            distRow(
              s.name,
              target,
              `${q.name} (${q.kind}${q.weight ? `, ${q.weight}` : ''}) ms`,
              q.latencyMs,
            ),
          );
      }
      if (t.scrape) {
        out.push({
          benchmark: s.name,
          target,
          figure: 'scrape duration ms',
          median: t.scrape.scrapeDurationP50Ms,
          p99: t.scrape.scrapeDurationP99Ms,
          spread: null,
        });
      }
    }
  }
  return out;
}

function fmt(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '-';
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  if (a >= 100) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(digits);
}

function pct(x: number | null): string {
  return x === null || !Number.isFinite(x) ? '-' : `${(x * 100).toFixed(1)} %`;
}

function table(header: string[], body: string[][], markdown: boolean): string {
  if (markdown) {
    return [
      `| ${header.join(' | ')} |`,
      `|${header.map((_, i) => (i < 3 ? ' --- ' : ' ---: ')).join('|')}|`,
      ...body.map((r) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`),
    ].join('\n');
  }
  const w = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i < 3 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [line(header), line(w.map((n) => '-'.repeat(n))), ...body.map(line)].join('\n');
}

/** Per target: throughput, CPU and memory figures of the scenarios (not distributions). */
function figureLines(run: BenchRun, markdown: boolean): string {
  const body: string[][] = [];
  for (const s of run.scenarios) {
    for (const t of s.targets) {
      const target = t.target === 'url' ? t.url : `${t.target}${t.shards ? ` (${t.shards} shards)` : ''}`;
      const i = t.ingest;
      const sv = t.server;
      body.push([
        s.name,
        target,
        i ? fmt(i.samplesPerSecond) : t.scrape ? fmt(t.scrape.samplesPerSecond) : '-',
        sv ? fmt(sv.samplesPerCpuSecond) : '-',
        sv ? fmt(sv.cpuSeconds) : '-',
        sv ? fmt(sv.rssEndBytes / 1048576) : '-',
        sv ? fmt(sv.rssPerSeriesBytes) : '-',
        sv ? fmt(sv.diskBytesPerSample) : '-',
        t.queries ? fmt(t.queries.queriesPerSecond) : '-',
        String((i?.errors ?? 0) + (t.queries?.errors ?? 0)),
      ]);
    }
  }
  if (body.length === 0) return '';
  return table(
    [
      'scenario',
      'target',
      'samples/s',
      'samples/CPU-s',
      'CPU-s',
      'RSS MiB',
      'RSS B/series',
      'disk B/sample',
      'queries/s',
      'errors',
    ],
    body,
    markdown,
  );
}

function ratioLines(run: BenchRun, markdown: boolean): string {
  const parts: string[] = [];
  for (const s of run.scenarios) {
    if (!s.ratios) continue;
    parts.push(
      `${markdown ? '### ' : ''}${s.name}: promshard vs Prometheus 2.42 (ratio = promshard / prometheus)`,
      table(
        ['figure', 'better', 'promshard', 'prometheus', 'ratio'],
        s.ratios.map((r) => [
          r.figure,
          r.better,
          fmt(r.promshard),
          fmt(r.prometheus),
          r.ratio === null ? '-' : `${r.ratio.toFixed(2)}x`,
        ]),
        markdown,
      ),
    );
  }
  return parts.join('\n\n');
}

export function formatTable(run: BenchRun, markdown = false): string {
  const body = rows(run).map((r) => [
    r.benchmark,
    r.target,
    r.figure,
    fmt(r.median),
    fmt(r.p99),
    pct(r.spread),
  ]);
  const parts: string[] = [];
  if (body.length > 0)
    parts.push(table(['benchmark', 'target', 'figure', 'median', 'p99', 'spread'], body, markdown));
  const figures = figureLines(run, markdown);
  if (figures) parts.push(figures);
  const ratios = ratioLines(run, markdown);
  if (ratios) parts.push(ratios);
  for (const s of run.scenarios)
    for (const t of s.targets) {
      const e = t.ingest?.firstError || t.queries?.firstError;
      if (e) parts.push(`${s.name} ${t.target}: first error: ${e}`);
    }
  return `${parts.join('\n\n')}\n`;
}

export function markdownSummary(run: BenchRun): string {
  const m = run.machine;
  return [
    `# promshard bench: ${run.command.join(' ')}`,
    '',
    `${run.startedAt}, ${run.seconds.toFixed(0)} s. Machine: ${m.cpus} cpus (${m.cpuModel}), ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB, ${m.platform} ${m.kernel}, node ${m.node}, load average ${m.loadAverage.join(' ')}.`,
    '',
    'Spread: interquartile range / median for distributions; relative margin of error for tinybench tasks.',
    '',
    formatTable(run, true),
  ].join('\n');
}

/** Writes `<stamp>-<name>.json` and `.md` into dir; returns their paths. */
export function saveRun(run: BenchRun, dir: string, name: string): { json: string; md: string } {
  mkdirSync(dir, { recursive: true });
  const stamp = run.startedAt.replace(/[:.]/g, '-');
  const base = path.join(dir, `${stamp}-${name.replace(/[^A-Za-z0-9_.-]+/g, '_')}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(run, null, 2)}\n`);
  writeFileSync(`${base}.md`, markdownSummary(run));
  return { json: `${base}.json`, md: `${base}.md` };
}
