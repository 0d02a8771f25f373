// Ingest through the coordinator with real shard workers, in scrape-like rounds (every series gets one
// new sample per round, 15 s apart), after the series exist. Reports samples/s, main-thread event-loop
// utilisation, resident memory per series with `--samples` samples in the head, and restart (replay) time.
//
//   node dist/bench/run.js ingest [--series 100000] [--rounds 20] [--shards 2] [--request 5000]
//                                 [--fill 120] [--restart] [--dir /tmp/x] [--interval 1000 --paced-rounds 10]
//   node dist/bench/run.js ingest --reopen /tmp/x [--shards 2]   (time open() of a kept directory)
//   node dist/bench/run.js ingest --fill 479 --kill9   (ingest in a child, kill -9 it, time the restart)
//   node dist/bench/run.js ingest --select-blocks [--series 100000] [--reps 5]
//       (a selector over every series x 2h from the shards' blocks through the coordinator: decode rate)
//   node dist/bench/run.js ingest --compaction [--series 100000] [--block-rounds 40]
//       (samples/s while the shards cut blocks, checkpoint and compact, against the rate just before)
// --fill N: fill every series to N samples first (memory figure at N samples; 480 = 2h at 15 s).
// --restart: close the engine and time open() (WAL replay) of what was ingested.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openStorage, type StorageEngine } from '../src/coordinator/index.js';
import type { AppendRequest } from '../src/shared/ingest.js';

function arg(args: string[], name: string, def: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
}

function makeRequests(nSeries: number, perRequest: number): AppendRequest[] {
  const out: AppendRequest[] = [];
  for (let start = 0; start < nSeries; start += perRequest) {
    const n = Math.min(perRequest, nSeries - start);
    const series: string[][] = [];
    for (let i = start; i < start + n; i++) {
      series.push([
        '__name__',
        `bench_metric_${i % 200}`,
        'instance',
        `host-${Math.floor(i / 200)}.example.com:9100`,
        'job',
        'node',
        'mode',
        ['idle', 'user', 'system', 'iowait'][i % 4],
      ]);
    }
    out.push({
      series,
      sampleStart: Uint32Array.from({ length: n + 1 }, (_, k) => k),
      t: new Float64Array(n),
      v: new Float64Array(n),
    });
  }
  return out;
}

/** One round: every series one sample at t; counters-like values. Returns samples appended. */
async function round(engine: StorageEngine, reqs: AppendRequest[], t: number, r: number): Promise<number> {
  const waits: Promise<{ appended: number }>[] = [];
  let idx = 0;
  for (const req of reqs) {
    req.t.fill(t);
    for (let k = 0; k < req.v.length; k++) req.v[k] = r * ((idx + k) % 97) + ((idx + k) % 7) * 0.25;
    idx += req.v.length;
    waits.push(engine.append(req));
  }
  let n = 0;
  for (const o of await Promise.all(waits)) n += o.appended;
  return n;
}

function mib(b: number): string {
  return `${(b / 1048576).toFixed(1)} MiB`;
}

/** Times open() of an existing directory: wall time, and CPU time of the whole process (all shards). */
async function reopen(dir: string, shards: number, expected: number): Promise<void> {
  const cpu0 = process.cpuUsage();
  const s0 = performance.now();
  const again = await openStorage(dir, { shards, logger: { warn: console.warn, error: console.error } });
  const ms = performance.now() - s0;
  const cpu = process.cpuUsage(cpu0);
  const replayed = again.replay.reduce((a, r) => a + r.samples, 0);
  console.log(
    `  restart: ready in ${ms.toFixed(0)} ms (process CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s), ` +
      `replayed ${replayed} samples of ${expected} (per shard ${again.replay.map((r) => r.ms.toFixed(0)).join(' + ')} ms)`,
  );
  await again.close();
}

/** Runs the ingest in a child process with --hold, kills it with SIGKILL once filled, times the reopen. */
async function kill9(args: string[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'promshard-bench-kill9-'));
  const childArgs = [
    process.argv[1],
    'ingest',
    ...args.filter((a) => a !== '--kill9'),
    '--dir',
    dir,
    '--hold',
  ];
  const child = spawn(process.execPath, childArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      out += d;
      if (out.includes('HOLD')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`ingest child exited with ${code} before filling`)));
  });
  child.kill('SIGKILL');
  await new Promise((res) => child.once('exit', res));
  console.log('  (kill -9 of the ingesting process)');
  await reopen(dir, arg(args, 'shards', 2), Number.NaN);
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Ingest rate while the shards cut blocks and compact (issue 4: >= 80% of the rate without). Blocks are
 * shortened to --block-rounds scrape intervals (chunkRangeMs) so a run holds several of them: setup cuts
 * two level-1 blocks; the timed call cuts two more, checkpoints the WAL and compacts the first three into
 * one of 3x the range, while rounds keep arriving. Rates are per round window: rounds completed while the
 * cut runs vs the same number of rounds just before it (no background work).
 */
async function duringCompaction(args: string[]): Promise<void> {
  const nSeries = arg(args, 'series', 100_000);
  const shards = arg(args, 'shards', 2);
  const perRequest = arg(args, 'request', 5000);
  const blockRounds = arg(args, 'block-rounds', 40);
  const reps = arg(args, 'reps', 2);
  const step = 15_000;
  const range = blockRounds * step;
  const dir = mkdtempSync(join(tmpdir(), 'promshard-bench-compact-'));
  const total = 9 * blockRounds + Math.ceil(4.6 * blockRounds) + 2 * blockRounds * reps + 10;
  // Aligned to 9 ranges, so the level-1 blocks fill the aligned ranges that compaction merges.
  const t0 = Math.floor((Date.now() - total * step) / (9 * range)) * 9 * range;
  const engine = await openStorage(dir, {
    shards,
    chunkRangeMs: range,
    logger: { warn: console.warn, error: console.error },
  });
  const reqs = makeRequests(nSeries, perRequest);
  console.log(
    `ingest during compaction: ${nSeries} series, ${shards} shards, blocks of ${blockRounds} samples/series (${range / 1000} s)`,
  );
  let r = 0;
  let ts = 0;
  let tLast = t0 - step;
  // Scrape rounds 15 s apart build the head; the measured rounds are 1 ms apart, so they append real new
  // samples without moving the head forward (the ingest here runs ~100x faster than scrape time, and
  // rounds 15 s apart would keep the shards cutting ever more blocks while they ingest).
  const scrape = async (k: number) => {
    while (ts < k) {
      tLast = Math.max(t0 + ts++ * step, tLast + 1);
      await round(engine, reqs, tLast, r++);
    }
  };
  const dense = async () => {
    tLast += 1;
    return round(engine, reqs, tLast, r++);
  };
  const cpuS = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1e6;
  const window = async (rounds: number) => {
    const c0 = process.cpuUsage();
    const s0 = performance.now();
    let n = 0;
    for (let k = 0; k < rounds; k++) n += await dense();
    const secs = (performance.now() - s0) / 1000;
    return { rate: n / secs, cpu: cpuS(process.cpuUsage(c0)), secs };
  };
  await scrape(Math.ceil(2.6 * blockRounds));
  let cs = performance.now();
  const first = await engine.cutBlocks();
  console.log(`  setup: ${r} rounds, cut ${first} blocks in ${(performance.now() - cs).toFixed(0)} ms`);
  for (let rep = 0; rep < reps; rep++) {
    // Two more ranges of head: the next cut writes two blocks, checkpoints, and compacts three into one.
    await scrape(ts + 2 * blockRounds);
    const before = engine.figures().reduce((a, f) => a + f.compactions, 0);
    const base1 = await window(40);
    let done = false;
    cs = performance.now();
    let cutMs = 0;
    const cut = engine.cutBlocks().then((b) => {
      cutMs = performance.now() - cs;
      done = true;
      return b;
    });
    const c0 = process.cpuUsage();
    const s0 = performance.now();
    let n = 0;
    let rounds = 0;
    while (!done) {
      n += await dense();
      rounds++;
    }
    const blocks = await cut;
    const secs = (performance.now() - s0) / 1000;
    const cpu = cpuS(process.cpuUsage(c0));
    const base2 = await window(40);
    const baseRate = (base1.rate + base2.rate) / 2;
    const compactions = engine.figures().reduce((a, f) => a + f.compactions, 0) - before;
    console.log(
      `  without: ${(base1.rate / 1e6).toFixed(2)} M samples/s before (CPU ${base1.cpu.toFixed(2)} s in ${base1.secs.toFixed(2)} s), ` +
        `${(base2.rate / 1e6).toFixed(2)} M after (CPU ${base2.cpu.toFixed(2)} s in ${base2.secs.toFixed(2)} s)\n` +
        `  during: ${rounds} rounds while the shards cut ${blocks} blocks, checkpointed and ran ${compactions} ` +
        `compactions in ${cutMs.toFixed(0)} ms: ${(n / secs / 1e6).toFixed(2)} M samples/s (CPU ${cpu.toFixed(2)} s in ${secs.toFixed(2)} s) ` +
        `= ${((n / secs / baseRate) * 100).toFixed(0)}% of the rate without`,
    );
  }
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Issue 4's read figure through the real path: ingest N series x 2h + 1h (scrape rounds 15 s apart) so
 * the shards cut a 2h block, then time engine.select({job="node"}) over the block's range: the shards
 * resolve postings, decode the chunks and transfer columns, the coordinator merges. Also a select over
 * 1 ms of the range (postings resolution and the round trip, almost no samples).
 */
async function selectBlocks(args: string[]): Promise<void> {
  const nSeries = arg(args, 'series', 100_000);
  const shards = arg(args, 'shards', 2);
  const reps = arg(args, 'reps', 5);
  const step = 15_000;
  const H2 = 7_200_000;
  const rounds = 760; // 3h10m: over 1.5 block ranges, so the oldest 2h is cut
  const dir = mkdtempSync(join(tmpdir(), 'promshard-bench-selblk-'));
  const t0 = Math.floor((Date.now() - rounds * step) / H2) * H2;
  const engine = await openStorage(dir, { shards, logger: { warn: console.warn, error: console.error } });
  const reqs = makeRequests(nSeries, arg(args, 'request', 5000));
  const s0 = performance.now();
  for (let r = 0; r < rounds; r++) await round(engine, reqs, t0 + r * step, r);
  await engine.cutBlocks();
  for (let i = 0; i < 600 && engine.figures().some((f) => f.blocks < 1); i++) {
    await new Promise((res) => setTimeout(res, 100));
  }
  const blocks = engine.figures().map((f) => f.blocks);
  console.log(
    `select from blocks: ${nSeries} series, ${shards} shards; ingested ${rounds} rounds in ${((performance.now() - s0) / 1000).toFixed(1)} s, blocks per shard ${blocks.join(',')}`,
  );
  const job = [{ type: '=', name: 'job', value: 'node' }] as const;
  for (const [what, mint, maxt] of [
    ['2h block range', t0, t0 + H2 - 1],
    ['1 ms of it', t0 + 60_000, t0 + 60_000],
  ] as const) {
    for (let rep = 0; rep < reps; rep++) {
      const c0 = process.cpuUsage();
      const w0 = performance.now();
      const res = await engine.select(job as unknown as Parameters<StorageEngine['select']>[0], mint, maxt);
      const ms = performance.now() - w0;
      const c = process.cpuUsage(c0);
      let n = 0;
      for (const x of res) n += x.t.length;
      console.log(
        `  ${what}: ${res.length} series, ${n} samples in ${ms.toFixed(1)} ms (process CPU ${((c.user + c.system) / 1000).toFixed(0)} ms) = ` +
          `${(n / ms / 1e3).toFixed(1)}M samples/s`,
      );
    }
  }
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
}

export default async function run(args: string[]): Promise<void> {
  if (args.includes('--select-blocks')) {
    await selectBlocks(args);
    return;
  }
  if (args.includes('--compaction')) {
    await duringCompaction(args);
    return;
  }
  if (args.includes('--kill9')) {
    await kill9(args);
    return;
  }
  const reopenAt = args.indexOf('--reopen');
  if (reopenAt >= 0) {
    await reopen(args[reopenAt + 1], arg(args, 'shards', 2), Number.NaN);
    return;
  }
  const nSeries = arg(args, 'series', 100_000);
  const rounds = arg(args, 'rounds', 20);
  const shards = arg(args, 'shards', 2);
  const perRequest = arg(args, 'request', 5000);
  const fill = arg(args, 'fill', 0);
  const restart = args.includes('--restart');
  const dirArg = args.indexOf('--dir');
  const dir = dirArg >= 0 ? args[dirArg + 1] : mkdtempSync(join(tmpdir(), 'promshard-bench-ingest-'));
  const totalRounds = 1 + Math.max(rounds, fill);
  const step = 15_000;
  const t0 = Date.now() - totalRounds * step;

  const engine = await openStorage(dir, { shards, logger: { warn: console.warn, error: console.error } });
  const reqs = makeRequests(nSeries, perRequest);
  // The baseline: running shards and the caller's label arrays (a scrape cache holds those anyway).
  globalThis.gc?.();
  await new Promise((res) => setTimeout(res, 100));
  const rssBefore = process.memoryUsage().rss;
  console.log(`ingest: ${nSeries} series, ${shards} shards, requests of ${perRequest} series, dir ${dir}`);

  // Round 0 creates the series.
  let s0 = performance.now();
  let appended = await round(engine, reqs, t0, 0);
  console.log(`  create ${nSeries} series: ${(performance.now() - s0).toFixed(0)} ms (${appended} samples)`);

  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  s0 = performance.now();
  let timed = 0;
  for (let r = 1; r <= rounds; r++) timed += await round(engine, reqs, t0 + r * step, r);
  const secs = (performance.now() - s0) / 1000;
  const elu = performance.eventLoopUtilization(elu0);
  const cpu = process.cpuUsage(cpu0);
  const cpuSecs = (cpu.user + cpu.system) / 1e6;
  const mainBusy = elu.active / 1000 / secs;
  console.log(
    `  ${rounds} rounds: ${timed} samples in ${secs.toFixed(2)} s = ${(timed / secs / 1e6).toFixed(2)} M samples/s; ` +
      `process CPU ${cpuSecs.toFixed(2)} s = ${(timed / cpuSecs / 1e6).toFixed(2)} M samples per CPU-second; ` +
      `main-thread ELU ${(elu.utilization * 100).toFixed(0)}% (${((elu.active / 1000 / timed) * 1e9).toFixed(0)} ns busy per sample, ` +
      `${(mainBusy * 100).toFixed(0)}% of wall time)`,
  );
  appended += timed;

  for (let r = rounds + 1; r <= fill; r++) appended += await round(engine, reqs, t0 + r * step, r);

  // Paced: one round per --interval ms (a scrape-like steady load) to report the main thread's ELU at a
  // given rate rather than at saturation.
  const interval = arg(args, 'interval', 0);
  if (interval > 0) {
    const paced = arg(args, 'paced-rounds', 10);
    const base = Math.max(rounds, fill);
    const e0 = performance.eventLoopUtilization();
    const p0 = performance.now();
    for (let r = 1; r <= paced; r++) {
      const started = performance.now();
      appended += await round(engine, reqs, t0 + (base + r) * step, base + r);
      const wait = interval - (performance.now() - started);
      if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    }
    const e = performance.eventLoopUtilization(e0);
    const secs = (performance.now() - p0) / 1000;
    console.log(
      `  paced: ${paced} rounds every ${interval} ms = ${((nSeries * paced) / secs / 1e3).toFixed(0)}k samples/s; ` +
        `main-thread ELU ${(e.utilization * 100).toFixed(1)}%`,
    );
  }
  const samplesPerSeries = Math.max(rounds, fill) + 1;
  // Steady state: shards return freed heap pages every 5 s (malloc_trim); wait for one pass.
  globalThis.gc?.();
  await new Promise((res) => setTimeout(res, 5500));
  const rss = process.memoryUsage().rss - rssBefore;
  const figs = engine.figures();
  const headBytes = figs.reduce((a, f) => a + f.headChunkBytes, 0);
  console.log(
    `  memory with ${samplesPerSeries} samples/series: RSS +${mib(rss)} = ${(rss / nSeries).toFixed(0)} B/series ` +
      `(head chunk bytes ${(headBytes / nSeries).toFixed(0)} B/series, ${figs.reduce((a, f) => a + f.chunks, 0)} chunks); ` +
      `WAL ${mib(figs.reduce((a, f) => a + f.walBytes, 0))}`,
  );
  const lat = figs[0].latencyBuckets;
  console.log(
    `  shard 0 append latency: ${figs[0].batches} batches, mean ${(figs[0].appendLatencySumMicros / figs[0].batches / 1000).toFixed(2)} ms, buckets ${lat.join(',')}`,
  );

  if (args.includes('--hold')) {
    console.log('HOLD');
    await new Promise(() => {}); // until killed
  }
  await engine.close();
  if (restart) {
    await reopen(dir, shards, appended);
    await reopen(dir, shards, appended);
  }
  if (dirArg < 0) rmSync(dir, { recursive: true, force: true });
}
