/**
 * End-to-end scenarios of `promshard bench`: ingest, query, mixed, scrape. Each runs its load in child
 * processes against a server: the one at --url (any Prometheus-compatible endpoint), else a promshard it
 * starts on a temp dir, and with --compare prometheus also a Prometheus 2.42 under the same load in the
 * same run (one after the other, so they do not share the CPUs). Every scenario ends by itself.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { packageRoot } from '../shared/package-root.js';
import { type FlagSpec, type FlagValues, UsageError } from './args.js';
import { log, Progress, startLoadChild } from './child.js';
import type { IngestDone, IngestLoadArgs, IngestProgress } from './ingest-loadgen.js';
import { type BenchQuery, BUILTIN_QUERIES, parseQueryFile, type QueryDone } from './query-loadgen.js';
import { findPrometheus, type ManagedServer, type ServerKind, startServer } from './servers.js';
import { type Dist, distribution } from './stats.js';

export const SCENARIOS = ['ingest', 'query', 'mixed', 'scrape'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export const SCENARIO_HELP: Record<ScenarioName, string> = {
  ingest: 'remote-write load generator: series, samples per request, concurrency, duration, churn',
  query: 'a query mix (instant and range, light and heavy; built in or --queries FILE) at a concurrency',
  mixed: 'ingest and queries at the same time',
  scrape: 'the target simulator scraped through a generated config (file_sd)',
};

const COMMON: Record<string, FlagSpec> = {
  url: {
    kind: 'url',
    help: 'run against this server instead of starting one (any Prometheus-compatible API)',
  },
  compare: {
    kind: 'string',
    choices: ['prometheus'],
    help: 'also start Prometheus 2.42 on a temp dir and run the same load on it; prints ratios',
  },
  shards: { kind: 'int', min: 1, max: 64, help: 'shards of the promshard started here (default: cpus)' },
  duration: { kind: 'duration', min: 1, max: 3600, default: 60, help: 'seconds of load (e.g. 60s, 2m)' },
};

const INGEST: Record<string, FlagSpec> = {
  series: { kind: 'int', min: 1, max: 50_000_000, default: 100_000, help: 'active series' },
  'per-request': {
    kind: 'int',
    min: 1,
    max: 1_000_000,
    default: 2000,
    help: 'samples (series) per remote-write request',
  },
  concurrency: { kind: 'int', min: 1, max: 1024, default: 4, help: 'requests in flight' },
  churn: {
    kind: 'number',
    min: 0,
    max: 1,
    default: 0,
    help: 'fraction of series replaced by new ones after each round (0.01 = 1 %)',
  },
  metrics: { kind: 'int', min: 1, max: 100_000, default: 100, help: 'metric names the series spread over' },
};

const QUERY: Record<string, FlagSpec> = {
  queries: { kind: 'string', help: 'query file: lines "instant <expr>" or "range <range> <step> <expr>"' },
  'query-concurrency': { kind: 'int', min: 1, max: 256, default: 4, help: 'queries in flight' },
  'prefill-series': {
    kind: 'int',
    min: 1,
    max: 10_000_000,
    default: 10_000,
    help: 'series written before querying',
  },
  'prefill-rounds': {
    kind: 'int',
    min: 1,
    max: 2000,
    default: 240,
    help: 'samples per prefilled series (15 s apart)',
  },
  prefill: { kind: 'bool', help: 'prefill data also with --url (always done for servers started here)' },
};

const SCRAPE: Record<string, FlagSpec> = {
  targets: { kind: 'int', min: 1, max: 10_000, default: 50, help: 'simulated targets' },
  'series-per-target': {
    kind: 'int',
    min: 1,
    max: 100_000,
    default: 1000,
    help: 'series each target exposes',
  },
  'scrape-interval': { kind: 'duration', min: 1, max: 300, default: 10, help: 'scrape interval' },
  'sd-file': {
    kind: 'string',
    help: 'with --url: where to write the file_sd JSON the server at --url reads',
  },
};

export const SCENARIO_FLAGS: Record<ScenarioName, Record<string, FlagSpec>> = {
  ingest: { ...COMMON, ...INGEST },
  query: { ...COMMON, ...QUERY, duration: { ...COMMON.duration, default: 30 } },
  mixed: { ...COMMON, ...INGEST, ...QUERY },
  scrape: { ...COMMON, ...SCRAPE },
};

export interface ServerFigures {
  cpuSeconds: number;
  samplesPerCpuSecond: number | null;
  rssIdleBytes: number;
  rssEndBytes: number;
  rssPeakBytes: number;
  /** (resident at the end - resident idle) / series created. */
  rssPerSeriesBytes: number | null;
  diskBytes: number;
  /** Bytes on disk (WAL, head chunks, blocks) per sample accepted. */
  diskBytesPerSample: number | null;
}

export interface IngestFigures {
  samplesSent: number;
  samplesAccepted: number;
  seconds: number;
  samplesPerSecond: number;
  /** Accepted samples per one-second interval. */
  perSecond: Dist;
  requestMs: Dist;
  requests: number;
  errors: number;
  firstError: string;
  seriesCreated: number;
  rounds: number;
  bodyBytes: number;
}

export interface QueryFigures {
  seconds: number;
  total: number;
  queriesPerSecond: number;
  errors: number;
  firstError: string;
  latencyMs: Dist;
  perQuery: {
    name: string;
    kind: string;
    weight?: string;
    latencyMs: Dist;
    errors: number;
    firstError: string;
  }[];
}

export interface ScrapeFigures {
  targets: number;
  seriesPerTarget: number;
  intervalS: number;
  samplesScraped: number | null;
  samplesPerSecond: number | null;
  up: number | null;
  scrapeDurationP50Ms: number | null;
  scrapeDurationP99Ms: number | null;
}

export interface TargetResult {
  target: ServerKind | 'url';
  url: string;
  shards?: number;
  ingest?: IngestFigures;
  queries?: QueryFigures;
  scrape?: ScrapeFigures;
  server?: ServerFigures;
}

export interface Ratio {
  figure: string;
  promshard: number | null;
  prometheus: number | null;
  /** promshard / prometheus. */
  ratio: number | null;
  better: 'higher' | 'lower';
}

export interface ScenarioResult {
  name: ScenarioName;
  params: FlagValues;
  targets: TargetResult[];
  ratios?: Ratio[];
}

function ingestFigures(d: IngestDone): IngestFigures {
  return {
    samplesSent: d.samplesSent,
    samplesAccepted: d.samplesAccepted,
    seconds: Math.round(d.seconds * 100) / 100,
    samplesPerSecond: Math.round(d.samplesAccepted / d.seconds),
    perSecond: distribution(d.perSecond.length > 2 ? d.perSecond.slice(0, -1) : d.perSecond),
    requestMs: distribution(d.requestMs),
    requests: d.requests,
    errors: d.errors,
    firstError: d.firstError,
    seriesCreated: d.seriesCreated,
    rounds: d.rounds,
    bodyBytes: d.bodyBytes,
  };
}

function queryFigures(d: QueryDone, queries: BenchQuery[]): QueryFigures {
  const all: number[] = [];
  for (const q of d.perQuery) for (const x of q.ms) all.push(x);
  return {
    seconds: Math.round(d.seconds * 100) / 100,
    total: d.total,
    queriesPerSecond: Math.round((d.total / d.seconds) * 10) / 10,
    errors: d.errors,
    firstError: d.firstError,
    latencyMs: distribution(all),
    perQuery: d.perQuery.map((q, i) => ({
      name: q.name,
      kind: q.kind,
      weight: queries[i]?.weight,
      latencyMs: distribution(q.ms),
      errors: q.errors,
      firstError: q.firstError,
    })),
  };
}

interface Ctx {
  flags: FlagValues;
  quiet: boolean;
}

function ingestArgs(f: FlagValues, url: string, durationS: number, t0: number): IngestLoadArgs {
  return {
    url: `${url}/api/v1/write`,
    series: f.series as number,
    perRequest: f['per-request'] as number,
    concurrency: f.concurrency as number,
    durationS,
    rounds: 0,
    churn: f.churn as number,
    metrics: f.metrics as number,
    t0,
    intervalMs: 15_000,
  };
}

async function runIngestChild(args: IngestLoadArgs, label: string, quiet: boolean): Promise<IngestDone> {
  const child = startLoadChild<IngestProgress, IngestDone>('ingest-loadgen', args);
  try {
    await child.ready;
    const bar = new Progress(label, args.durationS, quiet);
    let last = { s: 0, n: 0 };
    child.onProgress((p) => {
      const rate = (p.samples - last.n) / Math.max(0.001, p.elapsedS - last.s);
      last = { s: p.elapsedS, n: p.samples };
      bar.update(p.elapsedS, `${Math.round(rate).toLocaleString('en-US')} samples/s  ${p.errors} errors`);
    });
    child.go();
    const done = await child.done;
    bar.end();
    return done;
  } finally {
    child.kill();
  }
}

async function prefill(f: FlagValues, url: string, quiet: boolean): Promise<void> {
  const rounds = f['prefill-rounds'] as number;
  const series = f['prefill-series'] as number;
  log(quiet, `prefill: ${series} series x ${rounds} samples (15 s apart, ending now) into ${url}`);
  const d = await runIngestChild(
    {
      url: `${url}/api/v1/write`,
      series,
      perRequest: 2000,
      concurrency: 4,
      durationS: 600,
      rounds,
      churn: 0,
      metrics: 100,
      t0: Math.floor(Date.now() / 15_000) * 15_000 - rounds * 15_000,
      intervalMs: 15_000,
    },
    'prefill',
    quiet,
  );
  if (d.errors > 0) throw new Error(`prefill: ${d.errors} requests failed, first: ${d.firstError}`);
}

async function runQueryChild(url: string, f: FlagValues, queries: BenchQuery[], durationS: number) {
  const child = startLoadChild<{ elapsedS: number; total: number; errors: number }, QueryDone>(
    'query-loadgen',
    {
      url,
      concurrency: f['query-concurrency'] as number,
      durationS,
      queries,
    },
  );
  try {
    await child.ready;
    return { child, start: () => child.go() };
  } catch (e) {
    child.kill();
    throw e;
  }
}

function loadQueries(f: FlagValues): BenchQuery[] {
  const file = f.queries as string | undefined;
  if (file === undefined) return BUILTIN_QUERIES;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read --queries ${file}: ${(e as Error).message}`);
  }
  return parseQueryFile(text, file);
}

/** Checks the combination of flags before anything starts (exit code 2 on a mistake). */
export function checkScenarioFlags(name: ScenarioName, f: FlagValues): void {
  if (f.url !== undefined && f.compare !== undefined)
    throw new UsageError(
      `bench ${name}: --url and --compare exclude each other (--compare starts both servers)`,
    );
  if (f.url !== undefined && f.shards !== undefined)
    throw new UsageError(`bench ${name}: --shards applies to the promshard started here, not to --url`);
  if ((name === 'query' || name === 'mixed') && f.queries !== undefined) loadQueries(f);
  if (name === 'scrape' && f.url !== undefined && f['sd-file'] === undefined)
    throw new UsageError(
      'bench scrape: with --url, give --sd-file: the file_sd JSON path the server at --url scrapes',
    );
  if (name === 'scrape' && f.url === undefined && f['sd-file'] !== undefined)
    throw new UsageError('bench scrape: --sd-file is for --url; servers started here get a generated config');
}

/** Server-side figures around a load: CPU of all its threads, resident memory, bytes on disk. */
async function measured<T>(
  server: ManagedServer | null,
  load: () => Promise<T>,
  samples: (r: T) => { accepted: number; series: number },
): Promise<{ result: T; server?: ServerFigures }> {
  if (server === null) return { result: await load() };
  await new Promise((r) => setTimeout(r, 1000));
  const rssIdle = server.rssBytes();
  const disk0 = server.diskBytes();
  const cpu0 = server.cpuSeconds();
  const result = await load();
  const cpu = server.cpuSeconds() - cpu0;
  const rssEnd = server.rssBytes();
  const { accepted, series } = samples(result);
  const disk = server.diskBytes();
  return {
    result,
    server: {
      cpuSeconds: Math.round(cpu * 100) / 100,
      samplesPerCpuSecond: accepted > 0 && cpu > 0 ? Math.round(accepted / cpu) : null,
      rssIdleBytes: rssIdle,
      rssEndBytes: rssEnd,
      rssPeakBytes: server.peakRssBytes(),
      rssPerSeriesBytes: series > 0 ? Math.round((rssEnd - rssIdle) / series) : null,
      diskBytes: disk,
      // What the load added (a prefill's data is on disk before it).
      diskBytesPerSample: accepted > 0 ? Math.round(((disk - disk0) / accepted) * 100) / 100 : null,
    },
  };
}

async function instantValue(url: string, expr: string): Promise<number | null> {
  try {
    const res = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: expr })}`, {
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await res.json()) as { data?: { result?: { value: [number, string] }[] } };
    const v = body.data?.result?.[0]?.value?.[1];
    return v === undefined ? null : Number(v);
  } catch {
    return null;
  }
}

/** One scenario against one server (started here, or the --url one). */
async function runOn(name: ScenarioName, kind: ServerKind | 'url', ctx: Ctx): Promise<TargetResult> {
  const f = ctx.flags;
  const durationS = f.duration as number;
  const quiet = ctx.quiet;
  let server: ManagedServer | null = null;
  let sim: ChildProcess | null = null;
  let simDir = '';
  let url = f.url as string;
  let configYaml: string | undefined;
  const job = 'bench_scrape';
  try {
    if (name === 'scrape') {
      simDir = mkdtempSync(path.join(os.tmpdir(), 'promshard-bench-sim-'));
      const sdFile = (f['sd-file'] as string | undefined) ?? path.join(simDir, 'targets.json');
      sim = spawn(
        process.execPath,
        [
          path.join(packageRoot(), 'dist', 'bench', 'target-simulator.js'),
          `--targets=${f.targets}`,
          `--series=${f['series-per-target']}`,
          `--sd-file=${sdFile}`,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const first = await new Promise<string>((resolve, reject) => {
        const rl = createInterface({ input: sim!.stdout! });
        rl.once('line', resolve);
        sim!.once('exit', (c) => reject(new Error(`target simulator exited with code ${c}`)));
      });
      log(
        quiet,
        `target simulator: ${f.targets} targets x ${f['series-per-target']} series (${first.length} bytes of file_sd in ${sdFile})`,
      );
      const iv = f['scrape-interval'] as number;
      configYaml = `global:\n  scrape_interval: ${iv}s\n  scrape_timeout: ${Math.min(iv, 10)}s\nscrape_configs:\n  - job_name: ${job}\n    file_sd_configs:\n      - files: [${JSON.stringify(sdFile)}]\n        refresh_interval: 5s\n`;
      if (kind === 'url') log(quiet, `the server at ${url} must scrape it with:\n${configYaml}`);
    }
    if (kind !== 'url') {
      log(quiet, `starting ${kind}...`);
      server = await startServer(kind, {
        shards: kind === 'promshard' ? (f.shards as number | undefined) : undefined,
        configYaml,
      });
      url = server.url;
      log(quiet, `${kind} ready at ${url} (pid ${server.pid})`);
    }
    const out: TargetResult = { target: kind, url };
    if (kind === 'promshard') out.shards = (f.shards as number | undefined) ?? os.availableParallelism();

    if (name === 'ingest') {
      const t0 = Math.floor(Date.now() / 15_000) * 15_000 - 2 * 3600_000;
      const m = await measured(
        server,
        () => runIngestChild(ingestArgs(f, url, durationS, t0), `ingest ${kind}`, quiet),
        (d) => ({ accepted: d.samplesAccepted, series: d.seriesCreated }),
      );
      out.ingest = ingestFigures(m.result);
      out.server = m.server;
    } else if (name === 'query') {
      const queries = loadQueries(f);
      if (kind !== 'url' || f.prefill === true) await prefill(f, url, quiet);
      const q = await runQueryChild(url, f, queries, durationS);
      const m = await measured(
        server,
        async () => {
          const bar = new Progress(`query ${kind}`, durationS, quiet);
          q.child.onProgress((p) => bar.update(p.elapsedS, `${p.total} queries  ${p.errors} errors`));
          q.start();
          const d = await q.child.done;
          bar.end();
          return d;
        },
        () => ({ accepted: 0, series: 0 }),
      );
      q.child.kill();
      out.queries = queryFigures(m.result, queries);
      out.server = m.server;
    } else if (name === 'mixed') {
      const queries = loadQueries(f);
      if (kind !== 'url' || f.prefill === true) await prefill(f, url, quiet);
      const q = await runQueryChild(url, f, queries, durationS);
      // Ingest follows the clock from now (the prefill ends just before), so queries at "now" see the
      // data as it arrives and no series gets a sample older than its last prefilled one.
      const t0 = Date.now();
      const m = await measured(
        server,
        async () => {
          q.start();
          const [ing, qd] = await Promise.all([
            runIngestChild(ingestArgs(f, url, durationS, t0), `mixed ${kind}`, quiet),
            q.child.done,
          ]);
          return { ing, qd };
        },
        (r) => ({ accepted: r.ing.samplesAccepted, series: r.ing.seriesCreated }),
      );
      q.child.kill();
      out.ingest = ingestFigures(m.result.ing);
      out.queries = queryFigures(m.result.qd, queries);
      out.server = m.server;
    } else {
      // scrape: let the server scrape for the duration, then ask it what it scraped (PromQL, so it works
      // for any server), and measure the server's CPU and memory over the same time.
      const iv = f['scrape-interval'] as number;
      // Measure from the moment every target has been scraped once (service discovery and the
      // scrape offsets of each server take a while), so both servers are timed over full intervals.
      const warm = Date.now();
      while (Date.now() - warm < 120_000) {
        const n = await instantValue(url, `count(up{job="${job}"} == 1)`);
        if (n !== null && n >= (f.targets as number)) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      await new Promise((r) => setTimeout(r, iv * 1000));
      log(quiet, `all ${f.targets} targets up after ${((Date.now() - warm) / 1000).toFixed(1)} s; measuring`);
      let scraped: number | null = null;
      const m = await measured(
        server,
        async () => {
          const bar = new Progress(`scrape ${kind}`, durationS, quiet);
          const start = Date.now();
          while (Date.now() - start < durationS * 1000) {
            await new Promise((r) => setTimeout(r, 1000));
            bar.update((Date.now() - start) / 1000, '');
          }
          bar.end();
          const w = `${Math.round(durationS)}s`;
          scraped = await instantValue(url, `sum(sum_over_time(scrape_samples_scraped{job="${job}"}[${w}]))`);
          return scraped;
        },
        () => ({
          accepted: scraped ?? 0,
          series: (f.targets as number) * (f['series-per-target'] as number),
        }),
      );
      const w = `${Math.round(durationS)}s`;
      out.scrape = {
        targets: f.targets as number,
        seriesPerTarget: f['series-per-target'] as number,
        intervalS: iv,
        samplesScraped: m.result,
        samplesPerSecond: m.result === null ? null : Math.round(m.result / durationS),
        up: await instantValue(url, `avg(avg_over_time(up{job="${job}"}[${w}]))`),
        scrapeDurationP50Ms: msOf(
          await instantValue(
            url,
            `quantile(0.5, quantile_over_time(0.5, scrape_duration_seconds{job="${job}"}[${w}]))`,
          ),
        ),
        scrapeDurationP99Ms: msOf(
          await instantValue(
            url,
            `max(quantile_over_time(0.99, scrape_duration_seconds{job="${job}"}[${w}]))`,
          ),
        ),
      };
      out.server = m.server;
    }
    return out;
  } finally {
    if (sim !== null && sim.exitCode === null) sim.kill('SIGTERM');
    if (simDir !== '') rmSync(simDir, { recursive: true, force: true });
    await server?.stop();
  }
}

function msOf(s: number | null): number | null {
  return s === null ? null : Math.round(s * 1e6) / 1000;
}

function ratiosOf(a: TargetResult, b: TargetResult): Ratio[] {
  const r: Ratio[] = [];
  const add = (
    figure: string,
    x: number | null | undefined,
    y: number | null | undefined,
    better: 'higher' | 'lower',
  ) => {
    if (x == null && y == null) return;
    r.push({
      figure,
      promshard: x ?? null,
      prometheus: y ?? null,
      ratio: x != null && y != null && y !== 0 ? Math.round((x / y) * 1000) / 1000 : null,
      better,
    });
  };
  if (a.ingest && b.ingest) {
    add('samples/s (wall)', a.ingest.samplesPerSecond, b.ingest.samplesPerSecond, 'higher');
    add('remote-write request p50 ms', a.ingest.requestMs.p50, b.ingest.requestMs.p50, 'lower');
    add('remote-write request p99 ms', a.ingest.requestMs.p99, b.ingest.requestMs.p99, 'lower');
  }
  if (a.scrape && b.scrape) {
    add('samples scraped/s', a.scrape.samplesPerSecond, b.scrape.samplesPerSecond, 'higher');
    add('scrape duration p50 ms', a.scrape.scrapeDurationP50Ms, b.scrape.scrapeDurationP50Ms, 'lower');
    add('scrape duration p99 ms', a.scrape.scrapeDurationP99Ms, b.scrape.scrapeDurationP99Ms, 'lower');
  }
  if (a.server && b.server) {
    add('samples per CPU-second', a.server.samplesPerCpuSecond, b.server.samplesPerCpuSecond, 'higher');
    add('server CPU-seconds', a.server.cpuSeconds, b.server.cpuSeconds, 'lower');
    add('resident bytes per series', a.server.rssPerSeriesBytes, b.server.rssPerSeriesBytes, 'lower');
    add('resident MiB at end', a.server.rssEndBytes / 1048576, b.server.rssEndBytes / 1048576, 'lower');
    add('disk bytes per sample', a.server.diskBytesPerSample, b.server.diskBytesPerSample, 'lower');
  }
  if (a.queries && b.queries) {
    add('queries/s', a.queries.queriesPerSecond, b.queries.queriesPerSecond, 'higher');
    add('query latency p50 ms', a.queries.latencyMs.p50, b.queries.latencyMs.p50, 'lower');
    add('query latency p99 ms', a.queries.latencyMs.p99, b.queries.latencyMs.p99, 'lower');
    for (const qa of a.queries.perQuery) {
      const qb = b.queries.perQuery.find((x) => x.name === qa.name);
      if (qb) add(`${qa.name} p50 ms`, qa.latencyMs.p50, qb.latencyMs.p50, 'lower');
    }
  }
  return r;
}

export async function runScenario(
  name: ScenarioName,
  flags: FlagValues,
  quiet: boolean,
): Promise<ScenarioResult> {
  checkScenarioFlags(name, flags);
  const ctx: Ctx = { flags, quiet };
  const result: ScenarioResult = { name, params: { ...flags }, targets: [] };
  if (flags.url !== undefined) {
    result.targets.push(await runOn(name, 'url', ctx));
    return result;
  }
  if (flags.compare === 'prometheus' && findPrometheus() === null)
    throw new UsageError(
      `bench ${name}: --compare prometheus needs the prometheus binary (2.42) on PATH; install it (apt-get install prometheus) or drop --compare`,
    );
  result.targets.push(await runOn(name, 'promshard', ctx));
  if (flags.compare === 'prometheus') {
    result.targets.push(await runOn(name, 'prometheus', ctx));
    result.ratios = ratiosOf(result.targets[0], result.targets[1]);
  }
  return result;
}

/** For tests and docs: the scenario data file the query scenario writes when asked. */
export function writeBuiltinQueries(file: string): void {
  writeFileSync(
    file,
    BUILTIN_QUERIES.map((q) =>
      q.kind === 'instant'
        ? `${q.name}: instant ${q.expr}`
        : `${q.name}: range ${q.rangeS}s ${q.stepS}s ${q.expr}`,
    ).join('\n'),
  );
}
