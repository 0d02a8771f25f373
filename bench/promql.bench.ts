// PromQL benchmark (issue 5): `sum by (job) (rate(x[5m]))` over 10k and 100k series as a 1h range query at
// 15s step, and a 20-query mix, against Prometheus 2.42 loaded with the same data (remote write) in the same
// run. Our side is measured twice: the engine in-process over the in-memory Queryable, and through
// promshard's HTTP API (src/http buildApp, JSON rendering included) over the same store, which is what
// Prometheus' figure includes too.
//
// With --shards N the same data also goes into the real storage (coordinator + N shard worker threads)
// and the queries run over it too (the full promshard read path: fan-out, chunk decode, transfer, merge).
//
//   npx tsc -p tsconfig.json && node dist/bench/run.js promql [--series 10000,100000] [--reps 7]
//     [--mix-series 10000] [--shards 2] [--skip-prom] [--skip-http] [--client worker|inline] [--only REGEX]
//
// The HTTP client runs in a worker thread (promql-client.ts) and times each request itself: on this
// thread it would share the event loop with promshard's server and add its own decoding of the answer to
// promshard's figure only (Prometheus' server runs in its own process). --client inline restores that.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import snappy from 'snappy';
import { openStorage, type StorageEngine } from '../src/coordinator/index.js';
import { buildApp } from '../src/http/app.js';
import { Engine } from '../src/promql/engine.js';
import { encodeWriteRequest, type WriteSeries } from '../src/remote/write-encode.js';
import type { AppendRequest } from '../src/shared/ingest.js';
import { compareLabels, type Labels, labelsFromObject } from '../src/shared/labels.js';
import type { Matcher } from '../src/shared/matchers.js';
import { compileMatchers, matchLabels } from '../src/shared/matchers.js';
import type { Queryable, SeriesData } from '../src/shared/storage.js';
import type { ClientReply, ClientRequest } from './promql-client.js';

const STEP = 15_000;
const MIN = 60_000;

function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Gen {
  labels: Labels;
  t: Float64Array;
  v: Float64Array;
}

/** n counters x{job="job-<i%10>", instance="inst-<i>"} every 15s over [start, end]. */
function generate(n: number, start: number, end: number): Gen[] {
  const rand = rng(7);
  const k = Math.floor((end - start) / STEP) + 1;
  const out: Gen[] = [];
  for (let i = 0; i < n; i++) {
    const t = new Float64Array(k);
    const v = new Float64Array(k);
    let x = Math.floor(rand() * 1000);
    const rate = 1 + rand() * 20;
    for (let j = 0; j < k; j++) {
      t[j] = start + j * STEP;
      x += Math.floor(rand() * rate * 15);
      v[j] = x;
    }
    out.push({
      labels: labelsFromObject({ __name__: 'x', job: `job-${i % 10}`, instance: `inst-${i}` }),
      t,
      v,
    });
  }
  out.sort((a, b) => compareLabels(a.labels, b.labels));
  return out;
}

/** A read-only Queryable over generated columns; select returns views (no copies). */
class StaticQueryable implements Queryable {
  constructor(private readonly data: Gen[]) {}
  private match(ms: readonly Matcher[]): Gen[] {
    const c = compileMatchers(ms);
    return this.data.filter((s) => matchLabels(c, s.labels));
  }
  async select(ms: readonly Matcher[], mint: number, maxt: number): Promise<SeriesData[]> {
    const out: SeriesData[] = [];
    for (const s of this.match(ms)) {
      let lo = 0;
      while (lo < s.t.length && s.t[lo] < mint) lo++;
      let hi = lo;
      while (hi < s.t.length && s.t[hi] <= maxt) hi++;
      if (hi > lo) out.push({ labels: s.labels, t: s.t.subarray(lo, hi), v: s.v.subarray(lo, hi) });
    }
    return out;
  }
  async series(sets: readonly (readonly Matcher[])[]): Promise<Labels[]> {
    return sets.flatMap((ms) => this.match(ms).map((s) => s.labels));
  }
  async labelNames(): Promise<string[]> {
    return ['__name__', 'instance', 'job'];
  }
  async labelValues(name: string): Promise<string[]> {
    return [...new Set(this.data.map((s) => s.labels.find((l) => l.name === name)?.value ?? ''))].sort();
  }
}

const MIX = [
  'sum by (job) (rate(x[5m]))',
  'sum(rate(x[5m]))',
  'avg by (job) (x)',
  'max by (job) (irate(x[5m]))',
  'topk(5, rate(x[5m]))',
  'count by (job) (x)',
  'sum by (job) (increase(x[10m]))',
  'quantile by (job) (0.9, rate(x[5m]))',
  'x{job="job-3"}',
  'rate(x{job="job-1"}[5m])',
  'sum by (job) (rate(x[5m])) / on(job) group_left count by (job) (x)',
  'sum(x) / count(x)',
  'max_over_time(x{job="job-2"}[10m])',
  'avg_over_time(x{instance=~"inst-1.*"}[5m])',
  'sum by (job) (delta(x[5m]))',
  'x{job="job-4"} > 1000',
  'deriv(x{job="job-5"}[10m])',
  'sum by (job) (rate(x[5m])) > bool 1',
  'max_over_time(sum by (job) (rate(x[1m]))[10m:1m])',
  'count(x > 100)',
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function time(reps: number, fn: () => Promise<unknown>): Promise<number> {
  await fn(); // warm-up
  const xs: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    xs.push(performance.now() - t0);
  }
  return median(xs);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

interface Prom {
  url: string;
  stop(): Promise<void>;
}

async function startProm(): Promise<Prom> {
  const dir = mkdtempSync(join(tmpdir(), 'promshard-bench-prom-'));
  writeFileSync(join(dir, 'p.yml'), 'global:\n  scrape_interval: 1h\n');
  const port = await freePort();
  const proc = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'p.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-remote-write-receiver',
    ],
    { stdio: 'ignore' },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 150; i++) {
    try {
      if ((await fetch(`${url}/-/ready`)).status === 200) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    stop: async () => {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes the data in time order (5-minute windows, 5,000 series a request), as Prometheus' head wants it. */
async function remoteWrite(url: string, data: Gen[], start: number, end: number): Promise<void> {
  const window = 5 * MIN;
  for (let w = start; w <= end; w += window) {
    for (let i = 0; i < data.length; i += 5000) {
      const batch: WriteSeries[] = [];
      for (const s of data.slice(i, i + 5000)) {
        const a = Math.max(0, Math.ceil((w - s.t[0]) / STEP));
        const b = Math.min(s.t.length, Math.ceil((w + window - s.t[0]) / STEP));
        if (b > a) batch.push({ labels: s.labels, t: s.t, v: s.v, start: a, end: b });
      }
      const body = snappy.compressSync(Buffer.from(encodeWriteRequest(batch)));
      const res = await fetch(`${url}/api/v1/write`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' },
        body,
      });
      if (res.status !== 204) throw new Error(`remote write: ${res.status} ${await res.text()}`);
    }
  }
}

/** Appends the data to our storage in the same time-ordered batches (the head's appendable window). */
async function appendShards(
  storage: StorageEngine,
  data: Gen[],
  start: number,
  end: number,
): Promise<number> {
  const window = 5 * MIN;
  let appended = 0;
  for (let w = start; w <= end; w += window) {
    for (let i = 0; i < data.length; i += 5000) {
      const batch = data.slice(i, i + 5000);
      const series: string[][] = [];
      const ranges: [Gen, number, number][] = [];
      let total = 0;
      for (const s of batch) {
        const a = Math.max(0, Math.ceil((w - s.t[0]) / STEP));
        const b = Math.min(s.t.length, Math.ceil((w + window - s.t[0]) / STEP));
        if (b <= a) continue;
        series.push(s.labels.flatMap((l) => [l.name, l.value]));
        ranges.push([s, a, b]);
        total += b - a;
      }
      const t = new Float64Array(total);
      const v = new Float64Array(total);
      const sampleStart = new Uint32Array(series.length + 1);
      let at = 0;
      ranges.forEach(([s, a, b], j) => {
        sampleStart[j] = at;
        t.set(s.t.subarray(a, b), at);
        v.set(s.v.subarray(a, b), at);
        at += b - a;
      });
      sampleStart[series.length] = at;
      const req: AppendRequest = { series, sampleStart, t, v };
      const out = await storage.append(req);
      if (out.errors.length > 0) throw new Error(`append: ${out.errors[0]}`);
      appended += out.appended;
    }
  }
  return appended;
}

/** The HTTP client: a worker thread (see promql-client.ts), or this thread with --client inline. */
class Client {
  private readonly worker: Worker | null;
  private nextId = 0;
  private readonly pending = new Map<number, (r: ClientReply) => void>();

  constructor(inline: boolean) {
    this.worker = inline ? null : new Worker(new URL('./promql-client.js', import.meta.url));
    this.worker?.on('message', (r: ClientReply) => {
      this.pending.get(r.id)?.(r);
      this.pending.delete(r.id);
    });
  }

  /** Milliseconds from sending the query to the last byte of its answer. */
  async range(url: string, query: string, start: number, end: number, step: number): Promise<number> {
    if (this.worker === null) {
      const t0 = performance.now();
      await httpRangeInline(url, query, start, end, step);
      return performance.now() - t0;
    }
    const id = this.nextId++;
    const req: ClientRequest = { id, url, query, start, end, step };
    const r = await new Promise<ClientReply>((resolve) => {
      this.pending.set(id, resolve);
      this.worker?.postMessage(req);
    });
    if ('error' in r) throw new Error(r.error);
    return r.ms;
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
  }
}

async function httpRangeInline(
  url: string,
  q: string,
  start: number,
  end: number,
  step: number,
): Promise<number> {
  try {
    return await httpRangeOnce(url, q, start, end, step);
  } catch (e) {
    // A keep-alive connection the server closed just as it was reused: one retry (reported).
    console.log(`  (retrying after ${(e as Error).message})`);
    return httpRangeOnce(url, q, start, end, step);
  }
}

async function httpRangeOnce(
  url: string,
  q: string,
  start: number,
  end: number,
  step: number,
): Promise<number> {
  const res = await fetch(`${url}/api/v1/query_range`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      query: q,
      start: String(start / 1000),
      end: String(end / 1000),
      step: String(step / 1000),
    }).toString(),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${q}: ${res.status} ${text.slice(0, 200)}`);
  return text.length;
}

/** Median of the client's own figures (warm-up first), as time() does for in-process calls. */
async function timeClient(reps: number, fn: () => Promise<number>): Promise<number> {
  await fn();
  const xs: number[] = [];
  for (let i = 0; i < reps; i++) xs.push(await fn());
  return median(xs);
}

function havePrometheus(): boolean {
  try {
    execFileSync('which', ['prometheus'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export default async function run(args: string[]): Promise<void> {
  const sizes = arg(args, 'series', '10000,100000').split(',').map(Number);
  const reps = Number(arg(args, 'reps', '7'));
  const mixSeries = Number(arg(args, 'mix-series', '10000'));
  const withProm = !args.includes('--skip-prom') && havePrometheus();
  const withHttp = !args.includes('--skip-http');
  const shardCount = Number(arg(args, 'shards', '0'));
  const client = new Client(arg(args, 'client', 'worker') === 'inline');
  console.log(
    `HTTP client: ${arg(args, 'client', 'worker') === 'inline' ? 'this thread (--client inline)' : 'a worker thread'}`,
  );
  if (!withProm) console.log('prometheus: not compared (--skip-prom or not on PATH)');
  // Whole minutes; the data starts 5m before the queried hour so rate(x[5m]) has a full window at the start.
  const end = Math.floor(Date.now() / MIN) * MIN - MIN;
  const qStart = end - 60 * MIN;
  const dStart = qStart - 6 * MIN;
  console.log(`node ${process.version}; range ${new Date(qStart).toISOString()} + 1h, step 15s (241 steps)`);
  for (const n of sizes) {
    const t0 = performance.now();
    const data = generate(n, dStart, end);
    const store = new StaticQueryable(data);
    const engine = new Engine(store);
    console.log(
      `\n== ${n} series, ${(n * data[0].t.length) / 1e6}M samples (generated in ${(performance.now() - t0).toFixed(0)} ms)`,
    );
    let prom: Prom | null = null;
    let app: Awaited<ReturnType<typeof buildApp>> | null = null;
    let ourUrl = '';
    let storage: StorageEngine | null = null;
    let storageDir = '';
    let shardEngine: Engine | null = null;
    try {
      if (withProm) {
        prom = await startProm();
        const t1 = performance.now();
        await remoteWrite(prom.url, data, dStart, end);
        console.log(`prometheus loaded by remote write in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
      }
      if (shardCount > 0) {
        storageDir = mkdtempSync(join(tmpdir(), 'promshard-bench-store-'));
        storage = await openStorage(storageDir, {
          shards: shardCount,
          logger: { warn: () => {}, error: () => {} },
        });
        const t1 = performance.now();
        const n2 = await appendShards(storage, data, dStart, end);
        console.log(
          `promshard storage (${shardCount} shards) loaded ${n2} samples in ${((performance.now() - t1) / 1000).toFixed(1)} s`,
        );
        shardEngine = new Engine(storage);
      }
      if (withHttp) {
        // promshard's HTTP API over the real storage when there is one, else over the in-memory store.
        app = buildApp(
          storage !== null && shardEngine !== null
            ? { queryable: storage, engine: shardEngine }
            : { queryable: store, engine },
        );
        ourUrl = await app.listen({ port: 0, host: '127.0.0.1' });
      }
      const only = arg(args, 'only', '');
      const queries = (n === mixSeries ? MIX : MIX.slice(0, 1)).filter(
        (q) => only === '' || new RegExp(only).test(q),
      );
      console.log(
        `query | engine over memory ms${shardEngine ? ' | engine over shards ms' : ''} | promshard HTTP${storage ? ' (shards)' : ' (memory)'} ms | prometheus HTTP ms | HTTP ratio`,
      );
      const ratios: number[] = [];
      for (const q of queries) {
        const ours = await time(reps, () => engine.rangeQuery(q, qStart, end, STEP));
        const stats = engine.lastStats;
        const overShards = shardEngine
          ? await time(reps, () => (shardEngine as Engine).rangeQuery(q, qStart, end, STEP))
          : Number.NaN;
        const ourHttp = app
          ? await timeClient(reps, () => client.range(ourUrl, q, qStart, end, STEP))
          : Number.NaN;
        const theirs = prom
          ? await timeClient(reps, () => client.range((prom as Prom).url, q, qStart, end, STEP))
          : Number.NaN;
        ratios.push(ourHttp / theirs);
        console.log(
          `${q} | ${ours.toFixed(1)}${shardEngine ? ` | ${overShards.toFixed(1)}` : ''} | ${ourHttp.toFixed(1)} | ${theirs.toFixed(1)} | ${(ourHttp / theirs).toFixed(2)}` +
            (stats
              ? ` (memory: fetch ${stats.fetchMs.toFixed(1)} ms, eval ${stats.evalMs.toFixed(1)} ms)`
              : ''),
        );
      }
      if (ratios.length > 1) {
        console.log(
          `mix: median HTTP ratio ${median(ratios).toFixed(2)}, worst ${Math.max(...ratios).toFixed(2)}`,
        );
      }
    } finally {
      await app?.close();
      await prom?.stop();
      await storage?.close();
      if (storageDir !== '') rmSync(storageDir, { recursive: true, force: true });
    }
  }
  await client.close();
}
