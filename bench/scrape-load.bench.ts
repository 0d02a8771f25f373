/**
 * End-to-end scrape load: K simulated targets x M series (bench/target-simulator.ts, in a child process) at
 * a fixed interval, scraped by promshard's ScrapeManager in this process and, with --prometheus, by the real
 * Prometheus 2.42 at the same time (same targets, same interval, file_sd). Reports per scraper: samples/s,
 * scrape duration p50/p99, missed intervals, CPU-seconds per million samples, resident memory; and for
 * promshard the main-thread event-loop utilisation.
 *
 * `node dist/bench/run.js scrape-load [--targets=1000] [--series=1000] [--interval=10s] [--duration=120]
 *   [--storage=null|engine] [--shards=2] [--prometheus] [--heap-flags=on] [--heap-snapshot=FILE]
 *   [--warmup=2]` (intervals before the measurement starts)
 * --storage=engine appends into the real sharded StorageEngine (src/coordinator) in a temp dir; null counts
 * samples only (the scrape path alone). The issue's full run is --duration=600.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver, performance } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import { parseDuration } from '../src/config/duration.js';
import { parseConfig } from '../src/config/load.js';
import { ScrapeManager } from '../src/scrape/manager.js';
import {
  type Appendable,
  type AppendOutcome,
  type AppendRequest,
  emptyOutcome,
} from '../src/shared/ingest.js';
import { packageRoot } from '../src/shared/package-root.js';

function arg(args: string[], name: string, dflt: string): string {
  const a = args.find((x) => x === `--${name}` || x.startsWith(`--${name}=`));
  if (a === undefined) return dflt;
  return a.includes('=') ? a.slice(name.length + 3) : 'true';
}

class CountingAppendable implements Appendable {
  samples = 0;
  async append(req: AppendRequest): Promise<AppendOutcome> {
    const o = emptyOutcome();
    o.appended = req.t.length;
    this.samples += req.t.length;
    return o;
  }
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** utime+stime of a process in seconds, and its RSS in bytes, from /proc. */
function procStats(pid: number): { cpu: number; rss: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]);
  const rssPages = Number(f[21]);
  return { cpu: ticks / 100, rss: rssPages * 4096 };
}

/** Minor and major page faults of this process so far, from /proc. */
function pageFaults(): { minor: number; major: number } {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { minor: Number(f[7]), major: Number(f[9]) };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return p;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A 64 MiB young generation, for comparison only (`--heap-flags=on`): since the scrape path keeps refs instead of
 * label arrays it no longer cuts major GCs, and it costs about 110 MiB resident (src/scrape/README.md).
 */
const HEAP_FLAGS = ['--max-semi-space-size=64'];

export default async function run(args: string[]): Promise<void> {
  // V8's defaults unless --heap-flags=on asks to re-run this process with the larger young generation.
  const heapFlags = arg(args, 'heap-flags', 'off') === 'on';
  const flagged = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((a) =>
    a.startsWith('--max-semi-space-size'),
  );
  if (heapFlags && !flagged) {
    const child = spawn(process.execPath, [...HEAP_FLAGS, ...process.execArgv, ...process.argv.slice(1)], {
      stdio: 'inherit',
    });
    const code = await new Promise<number>((r) => child.on('exit', (c) => r(c ?? 1)));
    if (code !== 0) throw new Error(`scrape-load child exited with ${code}`);
    return;
  }
  const targets = Number(arg(args, 'targets', '1000'));
  const series = Number(arg(args, 'series', '1000'));
  const intervalText = arg(args, 'interval', '10s');
  const interval = parseDuration(intervalText) ?? 10_000;
  const duration = Number(arg(args, 'duration', '120')) * 1000;
  const storage = arg(args, 'storage', 'null');
  const withProm = arg(args, 'prometheus', 'false') === 'true';
  const dir = mkdtempSync(join(tmpdir(), 'promshard-scrape-load-'));
  const sdFile = join(dir, 'targets.json');
  const root = packageRoot();
  const children: ChildProcess[] = [];
  let engine: { close(): Promise<void> } | null = null;
  let shardFigures:
    | (() => {
        heapUsedBytes: number;
        heapTotalBytes: number;
        externalBytes: number;
        headChunkBytes: number;
        checkpoints: number;
      }[])
    | null = null;
  try {
    const sim = spawn(
      process.execPath,
      [
        join(root, 'dist', 'bench', 'target-simulator.js'),
        `--targets=${targets}`,
        `--series=${series}`,
        `--sd-file=${sdFile}`,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    children.push(sim);
    while (!existsSync(sdFile)) await sleep(100);
    await sleep(200);
    console.log(
      `scrape-load: ${targets} targets x ${series} series every ${intervalText} (simulator pid ${sim.pid}), ${duration / 1000}s`,
    );

    const config = `global:
  scrape_interval: ${intervalText}
  scrape_timeout: ${intervalText}
scrape_configs:
  - job_name: sim
    file_sd_configs: [{files: ['${sdFile}']}]
`;
    let prom: ChildProcess | null = null;
    let promPort = 0;
    if (withProm) {
      if (spawnSync('prometheus', ['--version'], { stdio: 'ignore' }).status !== 0) {
        console.log('  prometheus not on PATH: comparison skipped');
      } else {
        promPort = await freePort();
        writeFileSync(join(dir, 'prometheus.yml'), config);
        prom = spawn(
          'prometheus',
          [
            `--config.file=${join(dir, 'prometheus.yml')}`,
            `--storage.tsdb.path=${join(dir, 'prom-data')}`,
            `--web.listen-address=127.0.0.1:${promPort}`,
          ],
          { stdio: 'ignore' },
        );
        children.push(prom);
      }
    }

    let appendable: Appendable;
    let counted: CountingAppendable | null = null;
    if (storage === 'engine') {
      const mod = await import('../src/coordinator/index.js');
      const e = await mod.StorageEngine.open(join(dir, 'promshard-data'), {
        shards: Number(arg(args, 'shards', '2')),
      });
      engine = e;
      shardFigures = () => e.figures();
      appendable = e;
    } else {
      counted = new CountingAppendable();
      appendable = counted;
    }
    const durations: number[] = [];
    const cycles: number[] = [];
    let recording = false;
    let samples = 0;
    // When scrapes over 1 s happened (ms since the start of the measurement), to see whether they cluster.
    const slowAt: number[] = [];
    let measureStart = 0;
    const manager = new ScrapeManager(appendable, {
      onScrape: (d, _ok, cycle) => {
        if (recording) {
          durations.push(d);
          cycles.push(cycle);
          if (d > 1) slowAt.push(Date.now() - measureStart);
        }
      },
    });
    // Main-thread GC pauses by kind while recording.
    const gc = { minor: 0, minorMs: 0, major: 0, majorMs: 0, maxMs: 0 };
    const gcObs = new PerformanceObserver((list) => {
      if (!recording) return;
      for (const e of list.getEntries()) {
        const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0;
        if (kind === 1) {
          gc.minor++;
          gc.minorMs += e.duration;
        } else {
          gc.major++;
          gc.majorMs += e.duration;
        }
        gc.maxMs = Math.max(gc.maxMs, e.duration);
      }
    });
    gcObs.observe({ entryTypes: ['gc'] });
    await manager.applyConfig(parseConfig(config));
    // Warm up (every target's first, cold scrape creates its 1000 series, then the storage settles), then
    // measure. One interval was too short at 1000 x 1000: the first measured 10 s held every scrape over 1 s
    // (main-thread GC and ~30k page faults a second as the heap grew to its steady size).
    const warmup = Number(arg(args, 'warmup', '2'));
    await sleep(warmup * interval + 1000);
    const stepLoops = manager.loops();
    const missedBefore = stepLoops.reduce((a, l) => a + l.stats.missedIntervals, 0);
    const onScheduleBefore = stepLoops.reduce((a, l) => a + l.onSchedule, 0);
    const scrapesBefore = stepLoops.reduce((a, l) => a + l.stats.scrapes, 0);
    const appendedBefore = stepLoops.reduce((a, l) => a + l.stats.samplesAppended, 0);
    recording = true;
    const cpu0 = process.cpuUsage();
    const elu0 = performance.eventLoopUtilization();
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const prom0 = prom?.pid ? procStats(prom.pid) : null;
    const t0 = Date.now();
    measureStart = t0;
    let maxRss = 0;
    // Main-thread stalls: a 500 ms sleep that took 300 ms longer, with what the process did meanwhile.
    const stalls: string[] = [];
    let pf = pageFaults();
    let gcMs = 0;
    while (Date.now() - t0 < duration) {
      const s0 = Date.now();
      const c0 = process.cpuUsage();
      const gc0 = gc.minorMs + gc.majorMs;
      await sleep(500);
      const late = Date.now() - s0 - 500;
      const pf1 = pageFaults();
      gcMs = gc.minorMs + gc.majorMs - gc0;
      if (late > 300 && stalls.length < 40) {
        const c = process.cpuUsage(c0);
        stalls.push(
          `${((s0 - t0) / 1000).toFixed(0)}s +${late} ms (process CPU ${((c.user + c.system) / 1000).toFixed(0)} ms, main GC ${gcMs.toFixed(0)} ms, ${pf1.minor - pf.minor} minor faults, shard checkpoints so far ${shardFigures?.().reduce((a, f) => a + f.checkpoints, 0) ?? 0})`,
        );
      }
      pf = pf1;
      maxRss = Math.max(maxRss, process.memoryUsage().rss);
    }
    recording = false;
    const wall = (Date.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const elu = performance.eventLoopUtilization(elu0);
    delay.disable();
    const prom1 = prom?.pid ? procStats(prom.pid) : null;
    samples = stepLoops.reduce((a, l) => a + l.stats.samplesAppended, 0) - appendedBefore;
    const missed = stepLoops.reduce((a, l) => a + l.stats.missedIntervals, 0) - missedBefore;
    const onSchedule = stepLoops.reduce((a, l) => a + l.onSchedule, 0) - onScheduleBefore;
    const scrapesDone = stepLoops.reduce((a, l) => a + l.stats.scrapes, 0) - scrapesBefore;
    const failed = stepLoops.filter((l) => l.health !== 'up').length;
    durations.sort((a, b) => a - b);
    cycles.sort((a, b) => a - b);
    gcObs.disconnect();
    const cpuS = (cpu.user + cpu.system) / 1e6;
    console.log(
      `  promshard (storage=${storage}): ${(samples / wall / 1000).toFixed(1)}k samples/s, scrape duration p50 ${(quantile(durations, 0.5) * 1000).toFixed(1)} ms p99 ${(quantile(durations, 0.99) * 1000).toFixed(1)} ms (${durations.length} scrapes), missed intervals ${missed}, targets not up ${failed}`,
    );
    console.log(
      `    whole scrape cycle (fetch, parse, relabel, append to storage) p50 ${(quantile(cycles, 0.5) * 1000).toFixed(1)} ms p99 ${(quantile(cycles, 0.99) * 1000).toFixed(1)} ms; node ${process.execArgv.join(' ') || '(no flags)'}; GC ${gc.minor} minor ${gc.minorMs.toFixed(0)} ms, ${gc.major} major/incremental ${gc.majorMs.toFixed(0)} ms, longest pause ${gc.maxMs.toFixed(0)} ms`,
    );
    console.log(
      `    CPU ${cpuS.toFixed(1)} s over ${wall.toFixed(0)} s = ${(cpuS / (samples / 1e6)).toFixed(2)} CPU-s per million samples (process incl. shard threads), main-thread ELU ${(elu.utilization * 100).toFixed(1)}% (event-loop delay p99 ${(delay.percentile(99) / 1e6).toFixed(0)} ms, max ${(delay.max / 1e6).toFixed(0)} ms), max RSS ${(maxRss / 2 ** 20).toFixed(0)} MiB`,
    );
    console.log(
      `    scrape timestamps on the schedule (within --scrape.timestamp-tolerance 2 ms): ${onSchedule} of ${scrapesDone} (${((onSchedule / Math.max(1, scrapesDone)) * 100).toFixed(2)}%)`,
    );
    const snapshotFile = arg(args, 'heap-snapshot', '');
    if (snapshotFile !== '') console.log(`    main-thread heap snapshot: ${writeHeapSnapshot(snapshotFile)}`);
    if (stalls.length > 0) console.log(`    main-thread stalls over 300 ms: ${stalls.join('; ')}`);
    if (slowAt.length > 0) {
      const byTen = new Map<number, number>();
      for (const ms of slowAt)
        byTen.set(Math.floor(ms / 10_000) * 10, (byTen.get(Math.floor(ms / 10_000) * 10) ?? 0) + 1);
      console.log(
        `    scrapes over 1 s by 10 s window: ${[...byTen].map(([w, n]) => `${w}s: ${n}`).join(', ')}`,
      );
    }
    const mu = process.memoryUsage();
    console.log(
      `    main thread at the end: heap used ${(mu.heapUsed / 2 ** 20).toFixed(0)} MiB of ${(mu.heapTotal / 2 ** 20).toFixed(0)} MiB, external ${(mu.external / 2 ** 20).toFixed(0)} MiB (array buffers ${(mu.arrayBuffers / 2 ** 20).toFixed(0)} MiB), RSS ${(mu.rss / 2 ** 20).toFixed(0)} MiB`,
    );
    if (shardFigures) {
      const mib = (b: number) => (b / 2 ** 20).toFixed(0);
      console.log(
        `    shards at the end: ${shardFigures()
          .map(
            (f) =>
              `heap used ${mib(f.heapUsedBytes)} of ${mib(f.heapTotalBytes)} MiB, external ${mib(f.externalBytes)} MiB, head chunks ${mib(f.headChunkBytes)} MiB`,
          )
          .join('; ')}`,
      );
    }
    if (prom && prom0 && prom1) {
      const q = async (query: string) => {
        const r = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(query)}`);
        return (
          (await r.json()) as {
            data: { result: { value?: [number, string]; values?: [number, string][] }[] };
          }
        ).data.result;
      };
      const w = `${Math.floor(wall)}s`;
      const psamples = Number(
        (
          await q(
            `sum(sum_over_time(scrape_samples_post_metric_relabeling{job="sim"}[${w}])) + 5 * sum(count_over_time(up{job="sim"}[${w}]))`,
          )
        )[0]?.value?.[1] ?? 0,
      );
      const pd: number[] = [];
      for (const s of await q(`scrape_duration_seconds{job="sim"}[${w}]`))
        for (const [, v] of s.values ?? []) pd.push(Number(v));
      pd.sort((a, b) => a - b);
      const pdown = Number((await q(`count(up{job="sim"} == 0)`))[0]?.value?.[1] ?? 0);
      const pcpu = prom1.cpu - prom0.cpu;
      console.log(
        `  prometheus 2.42: ${(psamples / wall / 1000).toFixed(1)}k samples/s, scrape duration p50 ${(quantile(pd, 0.5) * 1000).toFixed(1)} ms p99 ${(quantile(pd, 0.99) * 1000).toFixed(1)} ms (${pd.length} scrapes), targets not up ${pdown}`,
      );
      console.log(
        `    CPU ${pcpu.toFixed(1)} s = ${(pcpu / (psamples / 1e6)).toFixed(2)} CPU-s per million samples, RSS ${(prom1.rss / 2 ** 20).toFixed(0)} MiB`,
      );
    }
    void counted;
    await manager.stop();
  } finally {
    for (const c of children) c.kill('SIGTERM');
    if (engine) await engine.close().catch(() => undefined);
    await sleep(500);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('scrape-load.bench.js')) {
  await run(process.argv.slice(2));
}
