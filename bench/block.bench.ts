// Block benchmarks (issue 4): block write throughput, postings resolution and decode rate of a selector
// over 100k series x 2h (one thread, and 2 shards in 2 worker threads), and disk bytes per sample on
// realistic data against Prometheus 2.42 (promtool tsdb create-blocks-from openmetrics) on the same samples.
//
//   npx tsc -p tsconfig.json && node dist/bench/run.js block [--series 100000] [--compare-series 5000]
//     [--reps 3] [--jitter 0.1] [--align 2] [--skip-compare] [--mix synthetic|node] [--only-compare]
//     [--only-select] [--keep]
// --keep: leave the work directory (its path is printed) for profiling the select on its blocks.
// --jitter J --align A: a share J of scrapes start 1-4 ms late; those up to A ms late are timestamped on the
// schedule, as both scrapers do (--scrape.timestamp-tolerance); --align 0 keeps every late timestamp.
// --mix node: the series of a real node_exporter 1.5 scrape (../shared/fixtures/exposition), scraped every
// 15 s with the way such values evolve (see generateNode); --only-compare: sections [1] and [1b] only.
//   (or: node -e "import('./dist/bench/block.bench.js').then((m) => m.default(process.argv.slice(1)))" -- ...)
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { native } from '../src/native/binding.js';
import { compareLabels, type Labels, labelsFromObject } from '../src/shared/labels.js';
import type { Matcher } from '../src/shared/matchers.js';
import { rng } from '../src/shared/seeded-random.js';
import { ops } from '../src/tsdb/block/native-ops.js';
import { BlockReader } from '../src/tsdb/block/reader.js';
import { seriesFromHeadExport } from '../src/tsdb/block/series-chunks.js';
import { type SeriesInput, writeBlock } from '../src/tsdb/block/writer.js';
import { BlockStore } from '../src/tsdb/compact/block-store.js';
import { mergeBlocks } from '../src/tsdb/compact/merge.js';
import { compactionRanges } from '../src/tsdb/compact/planner.js';
import { replyFromColumns } from '../src/tsdb/select-reply.js';

const T0 = 1_700_006_400_000; // on a 2h boundary
const H2 = 7_200_000;
const STEP = 15_000;

interface GenSeries {
  labels: Labels;
  t: Float64Array;
  v: Float64Array;
}

const BUCKETS = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '+Inf'];

let mix = 'synthetic';
/** --align: the scraper's timestamp tolerance in ms (see scrapeLateness). */
let align = 2;

interface ExpoSeries {
  labels: Record<string, string>;
  type: string;
  value: number;
}

/** The samples of a text-format exposition (the fixture is well-formed; this is no general parser). */
function parseExposition(text: string): ExpoSeries[] {
  const types = new Map<string, string>();
  const out: ExpoSeries[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      types.set(name, type);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = { __name__: m[1] };
    if (m[3])
      for (const l of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    const value = Number(m[4]);
    if (!Number.isFinite(value)) continue;
    const base = m[1].replace(/_(bucket|sum|count|total|created)$/, '');
    out.push({ labels, type: types.get(m[1]) ?? types.get(base) ?? 'untyped', value });
  }
  return out;
}

/**
 * node_exporter 1.5's own series (the fixture scrape), one copy per target, scraped every 15 s for 2h.
 * Values evolve as a host's do: counters with integer values grow by integer steps (idle ones often
 * not at all), float counters (CPU seconds: 2 decimals, USER_HZ) by 2-decimal steps; summary/histogram
 * _count integer steps and _sum float steps; gauges: most constant (info, limits, boot time, sizes),
 * some stepping now and then (memory in 4 KiB pages, filesystem free bytes, temperatures), a few
 * changing every scrape (load averages, Go heap figures); histogram buckets rarely change.
 */
function* generateNode(targets: number, seed: number, jitter: number, t0: number): Generator<GenSeries[]> {
  // dist/bench/ -> the checkout -> ../shared beside it.
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const path = join(root, '..', 'shared', 'fixtures', 'exposition', 'node-exporter-1.5.0.txt');
  const base = parseExposition(readFileSync(path, 'utf8'));
  const r = rng(seed);
  const n = Math.floor(H2 / STEP);
  for (let k = 0; k < targets; k++) {
    const instance = `host-${String(k).padStart(5, '0')}:9100`;
    const phase = Math.floor(r() * STEP);
    const t = new Float64Array(n);
    for (let i = 0; i < n; i++) t[i] = t0 + phase + i * STEP + scrapeLateness(r, jitter);
    const out: GenSeries[] = [];
    for (const s of base) {
      const v = new Float64Array(n);
      const name = s.labels.__name__;
      const integer = Number.isInteger(s.value);
      const counter = s.type === 'counter' || name.endsWith('_count') || name.endsWith('_sum');
      let x = s.value;
      if (counter || name.endsWith('_bucket')) {
        // Share of scrapes with activity and the step size.
        const active = name.endsWith('_bucket') ? 0.05 : r() < 0.3 ? 0 : 0.2 + r() * 0.8;
        const rate = integer ? 1 + Math.floor(r() * 50) : 0.01 + r() * 15;
        for (let i = 0; i < n; i++) {
          if (r() < active)
            x = integer ? x + 1 + Math.floor(r() * rate) : Math.round((x + r() * rate) * 100) / 100;
          v[i] = x;
        }
      } else {
        const kind = r();
        const every = kind < 0.6 ? 0 : kind < 0.9 ? 0.1 + r() * 0.2 : 1;
        const page = integer && Math.abs(x) >= 4096 && x % 4096 === 0;
        for (let i = 0; i < n; i++) {
          if (every > 0 && r() < every) {
            if (page) x += Math.floor((r() - 0.5) * 64) * 4096;
            else if (integer) x += r() < 0.5 ? -1 : 1;
            else x = Math.round(x * (1 + (r() - 0.5) * 0.02) * 1000) / 1000;
          }
          v[i] = x;
        }
      }
      out.push({ labels: labelsFromObject({ ...s.labels, instance, job: 'bench' }), t, v });
    }
    yield out;
  }
}

/**
 * How late a scrape's timestamp is on its schedule: a fraction `jitter` of scrapes start 1-4 ms late (a real
 * scraper's ticker on a loaded host), and the scraper timestamps those within its tolerance (`--align`, 2 ms
 * as Prometheus 2.42's and promshard's --scrape.timestamp-tolerance; 0 for none) on the schedule.
 */
function scrapeLateness(r: () => number, jitter: number): number {
  if (!(r() < jitter)) return 0;
  const late = 1 + Math.floor(r() * 4);
  return late <= align ? 0 : late;
}

/**
 * Realistic scrape data, 100 series per target at 15 s, shaped like node_exporter and instrumented apps:
 * 10 request counters (integer increments, idle half the time), 5 CPU-seconds counters (2-decimal float
 * increments), 10 memory gauges (4 KiB-page steps, changing in 30% of scrapes), 10 temperatures
 * (0.1 steps, changing in 20% of scrapes), 5 constants, 5 histograms x 12 series (10 cumulative buckets,
 * _sum, _count). A fraction `jitter` of the scrape timestamps are 1-4 ms late (a real scraper's ticker).
 * Yields one target's series at a time.
 */
function* generate(targets: number, seed = 1, jitter = 0.1, t0 = T0): Generator<GenSeries[]> {
  if (mix === 'node') {
    yield* generateNode(targets, seed, jitter, t0);
    return;
  }
  const r = rng(seed);
  const n = Math.floor(H2 / STEP);
  for (let k = 0; k < targets; k++) {
    const instance = `host-${String(k).padStart(5, '0')}:9100`;
    const phase = Math.floor(r() * STEP);
    const t = new Float64Array(n);
    for (let i = 0; i < n; i++) t[i] = t0 + phase + i * STEP + scrapeLateness(r, jitter);
    const out: GenSeries[] = [];
    const add = (obj: Record<string, string>, v: Float64Array) =>
      out.push({ labels: labelsFromObject({ ...obj, instance, job: 'bench' }), t, v });
    for (let c = 0; c < 10; c++) {
      const v = new Float64Array(n);
      let x = Math.floor(r() * 1e5);
      const rate = 1 + Math.floor(r() * 30);
      for (let i = 0; i < n; i++) {
        if (r() < 0.5) x += Math.floor(r() * rate);
        v[i] = x;
      }
      add(
        {
          __name__: 'app_requests_total',
          code: String([200, 201, 204, 301, 400, 401, 403, 404, 500, 503][c]),
        },
        v,
      );
    }
    for (let c = 0; c < 5; c++) {
      const v = new Float64Array(n);
      let x = Math.round(r() * 1e6) / 100;
      for (let i = 0; i < n; i++) {
        x = Math.round((x + r() * 15) * 100) / 100;
        v[i] = x;
      }
      add({ __name__: 'node_cpu_seconds_total', cpu: String(c), mode: 'user' }, v);
    }
    for (let g = 0; g < 25; g++) {
      const v = new Float64Array(n);
      if (g < 10) {
        let x = Math.floor(r() * 2e6) * 4096;
        for (let i = 0; i < n; i++) {
          if (r() < 0.3) x += Math.floor((r() - 0.5) * 256) * 4096;
          v[i] = x;
        }
        add({ __name__: 'node_memory_bytes', kind: `k${g}` }, v);
      } else if (g < 20) {
        let x = Math.round(200 + r() * 400);
        for (let i = 0; i < n; i++) {
          if (r() < 0.2) x += r() < 0.5 ? -1 : 1;
          v[i] = x / 10;
        }
        add({ __name__: 'node_hwmon_temp_celsius', sensor: `s${g}` }, v);
      } else {
        v.fill(g === 20 ? 1 : Math.floor(r() * 64));
        add({ __name__: 'node_info_value', item: `i${g}` }, v);
      }
    }
    for (let h = 0; h < 5; h++) {
      const name = `http_request_duration_seconds_h${h}`;
      const counts = new Float64Array(BUCKETS.length);
      let sum = 0;
      const cols = BUCKETS.map(() => new Float64Array(n));
      const sumCol = new Float64Array(n);
      const cntCol = new Float64Array(n);
      const rate = 1 + Math.floor(r() * 10);
      for (let i = 0; i < n; i++) {
        const obs = r() < 0.5 ? Math.floor(r() * rate) : 0;
        for (let o = 0; o < obs; o++) {
          const d = r() ** 3 * 3;
          sum += d;
          for (let b = 0; b < BUCKETS.length; b++)
            if (b === BUCKETS.length - 1 || d <= Number(BUCKETS[b])) counts[b]++;
        }
        for (let b = 0; b < BUCKETS.length; b++) cols[b][i] = counts[b];
        sumCol[i] = sum;
        cntCol[i] = counts[BUCKETS.length - 1];
      }
      BUCKETS.forEach((le, b) => {
        add({ __name__: `${name}_bucket`, le }, cols[b]);
      });
      add({ __name__: `${name}_sum` }, sumCol);
      add({ __name__: `${name}_count` }, cntCol);
    }
    yield out;
  }
}

function toInput(s: { labels: Labels; t: Float64Array; v: Float64Array }): SeriesInput {
  const chunks = [];
  for (let i = 0; i < s.t.length; i += 120) {
    const e = Math.min(s.t.length, i + 120);
    chunks.push({ mint: s.t[i], maxt: s.t[e - 1], data: ops.xorEncode(s.t, s.v, i, e) });
  }
  return { labels: s.labels, chunks };
}

function blockBytes(dir: string): { index: number; chunks: number; total: number } {
  const index = statSync(join(dir, 'index')).size;
  let chunks = 0;
  for (const f of readdirSync(join(dir, 'chunks'))) chunks += statSync(join(dir, 'chunks', f)).size;
  const total =
    index + chunks + statSync(join(dir, 'meta.json')).size + statSync(join(dir, 'tombstones')).size;
  return { index, chunks, total };
}

function arg(args: string[], name: string, def: number): number {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
}

const ms = (a: number, b: number) => (b - a).toFixed(1);
const fmt = (x: number) =>
  x >= 1e6 ? `${(x / 1e6).toFixed(1)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : `${x}`;

async function buildBlock(
  dir: string,
  targets: number,
  seed: number,
  jitter: number,
  start = T0,
): Promise<{ ulid: string; samples: number }> {
  const inputs: SeriesInput[] = [];
  let samples = 0;
  const t0 = performance.now();
  for (const target of generate(targets, seed, jitter, start)) {
    for (const s of target) {
      inputs.push(toInput(s));
      samples += s.t.length;
    }
  }
  const t1 = performance.now();
  inputs.sort((a, b) => compareLabels(a.labels, b.labels));
  const t2 = performance.now();
  const meta = await writeBlock(dir, inputs, { minTime: start, maxTime: start + H2 });
  const t3 = performance.now();
  console.log(
    `  generate+xorEncode ${ms(t0, t1)} ms, sort ${ms(t1, t2)} ms, writeBlock ${ms(t2, t3)} ms: ` +
      `${fmt(Math.round(samples / ((t3 - t2) / 1000)))} samples/s written (${fmt(inputs.length)} series, ${fmt(samples)} samples)`,
  );
  return { ulid: meta.ulid, samples };
}

/** Runs `selectors` against a block, returning timings (used in-thread and in the shard workers). */
function measureSelect(dir: string, matchers: Matcher[], reps: number, reuse = false, reply = false) {
  const b = BlockReader.open(dir);
  let cols = { t: new Float64Array(0), v: new Float64Array(0) };
  const pool = (n: number) => {
    if (cols.t.length < n) cols = { t: new Float64Array(n), v: new Float64Array(n) };
    return cols;
  };
  try {
    let best = Infinity;
    let samples = 0;
    let series = 0;
    let postingsMs = Infinity;
    for (let r = 0; r < reps; r++) {
      const p0 = performance.now();
      const p = b.postings(matchers);
      const p1 = performance.now();
      postingsMs = Math.min(postingsMs, p1 - p0);
      const s0 = performance.now();
      let counts: ArrayLike<number>;
      if (reply) {
        // What a shard does for a range one block holds: columns, then the worker reply from them.
        const cols = b.selectColumns(matchers, -Infinity, Infinity, reuse ? pool : undefined);
        counts = replyFromColumns(cols).reply.counts;
      } else {
        counts = b.select(matchers, -Infinity, Infinity, reuse ? pool : undefined).map((s) => s.t.length);
      }
      const s1 = performance.now();
      best = Math.min(best, s1 - s0);
      samples = 0;
      for (let i = 0; i < counts.length; i++) samples += counts[i];
      series = counts.length;
      if (p.length !== series) throw new Error(`postings ${p.length} != series ${series}`);
    }
    return { bestMs: best, postingsMs, samples, series };
  } finally {
    b.close();
  }
}

if (!isMainThread && workerData?.blockBench) {
  const { dir, matchers, reps } = workerData as { dir: string; matchers: Matcher[]; reps: number };
  // For lockstep rounds: one reader and one recycled pair of columns for the worker's life.
  let reader: BlockReader | undefined;
  let cols = { t: new Float64Array(0), v: new Float64Array(0) };
  const pool = (n: number) => {
    if (cols.t.length < n) cols = { t: new Float64Array(n), v: new Float64Array(n) };
    return cols;
  };
  parentPort!.on('message', (msg: boolean | { round: true; reuse: boolean }) => {
    if (typeof msg === 'boolean') {
      const t0 = performance.now();
      const r = measureSelect(dir, matchers, reps, msg, true);
      parentPort!.postMessage({ ...r, wallMs: performance.now() - t0 });
      return;
    }
    reader ??= BlockReader.open(dir);
    const t0 = performance.now();
    const c = reader.selectColumns(matchers, -Infinity, Infinity, msg.reuse ? pool : undefined);
    const samples = replyFromColumns(c).reply.t.length;
    parentPort!.postMessage({ ms: performance.now() - t0, samples });
  });
}

async function compareWithPrometheus(work: string, targets: number, jitter: number): Promise<void> {
  const havePromtool = (process.env.PATH ?? '')
    .split(delimiter)
    .some((d) => d !== '' && existsSync(join(d, 'promtool')));
  if (!havePromtool) {
    console.log('  skipped: promtool is not on PATH');
    return;
  }
  // OpenMetrics text of the same generator, fed to Prometheus' own block writer.
  mkdirSync(work, { recursive: true });
  const om = join(work, 'input.om');
  const lines: string[] = [];
  for (const target of generate(targets, 7, jitter)) {
    for (const s of target) {
      const name = s.labels.find((l) => l.name === '__name__')!.value;
      const rest = s.labels
        .filter((l) => l.name !== '__name__')
        .map((l) => `${l.name}="${l.value}"`)
        .join(',');
      for (let i = 0; i < s.t.length; i++)
        lines.push(`${name}{${rest}} ${s.v[i]} ${(s.t[i] / 1000).toFixed(3)}`);
    }
  }
  lines.push('# EOF', '');
  writeFileSync(om, lines.join('\n'));
  const promDir = join(work, 'prom');
  mkdirSync(promDir);
  const t0 = performance.now();
  execFileSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', '-q', om, promDir], {
    stdio: 'inherit',
  });
  const t1 = performance.now();
  const blocks = readdirSync(promDir).filter((n) => /^[0-9A-Z]{26}$/.test(n));
  if (blocks.length !== 1) {
    console.log(`  promtool wrote ${blocks.length} blocks; expected 1`);
    return;
  }
  // Read Prometheus' block with our reader and write exactly its samples with our writer.
  const theirs = BlockReader.open(join(promDir, blocks[0]));
  const all = theirs.select([{ type: '=', name: 'job', value: 'bench' }], -Infinity, Infinity);
  const ourDir = join(work, 'ours');
  mkdirSync(ourDir);
  const t2 = performance.now();
  const meta = await writeBlock(ourDir, all.map(toInput), {
    minTime: theirs.meta.minTime,
    maxTime: theirs.meta.maxTime,
  });
  const t3 = performance.now();
  const samples = theirs.meta.stats.numSamples;
  if (meta.stats.numSamples !== samples)
    throw new Error(`sample counts differ: ${meta.stats.numSamples} vs ${samples}`);
  const p = blockBytes(join(promDir, blocks[0]));
  const o = blockBytes(join(ourDir, meta.ulid));
  theirs.close();
  console.log(
    `  ${fmt(all.length)} series, ${fmt(samples)} samples; promtool create-blocks ${ms(t0, t1)} ms, ours writeBlock ${ms(t2, t3)} ms`,
  );
  console.log(
    `  Prometheus 2.42: ${(p.total / samples).toFixed(4)} bytes/sample (chunks ${(p.chunks / samples).toFixed(4)}, index ${(p.index / samples).toFixed(4)}), ${p.total} bytes`,
  );
  console.log(
    `  promshard:       ${(o.total / samples).toFixed(4)} bytes/sample (chunks ${(o.chunks / samples).toFixed(4)}, index ${(o.index / samples).toFixed(4)}), ${o.total} bytes`,
  );
  console.log(`  ratio ours/Prometheus: ${(o.total / p.total).toFixed(4)}`);
  console.log(
    `  chunks: Prometheus ${theirs.meta.stats.numChunks}, ours ${meta.stats.numChunks} (ours cut every 120 samples; ` +
      "given the same chunks the writer reproduces Prometheus' files byte for byte, see test/block-writer.test.ts)",
  );
}

/** Appends generated data to a HeadChunks scrape round by scrape round, then cuts a 2h block from it. */
async function headCut(dir: string, series: number, jitter: number): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const targets = Math.round(series / 100);
  const all: GenSeries[] = [];
  for (const target of generate(targets, 3, jitter)) all.push(...target);
  const n = all[0].t.length;
  const head = new native.HeadChunks();
  head.grow(all.length + 1);
  const refs = new Uint32Array(all.length);
  for (let i = 0; i < all.length; i++) refs[i] = i + 1;
  const t = new Float64Array(all.length);
  const v = new Float64Array(all.length);
  const codes = new Uint8Array(all.length);
  // Scrape rounds: every series' i-th sample, sorted by time as a scraper would deliver them.
  const order = Array.from(all.keys()).sort((a, b) => all[a].t[0] - all[b].t[0]);
  const a0 = performance.now();
  let appended = 0;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < order.length; k++) {
      const s = all[order[k]];
      refs[k] = order[k] + 1;
      t[k] = s.t[i];
      v[k] = s.v[i];
    }
    appended += head.append(refs, t, v, codes, -1e15, 1e15);
  }
  const a1 = performance.now();
  const allRefs = new Uint32Array(all.length);
  for (let i = 0; i < all.length; i++) allRefs[i] = i + 1;
  const c0 = performance.now();
  const exp = head.exportChunks(allRefs, T0, T0 + H2 - 1, true);
  const c1 = performance.now();
  const input = seriesFromHeadExport(exp, (i) => all[i].labels, T0, T0 + H2);
  const c2 = performance.now();
  const meta = await writeBlock(dir, input, { minTime: T0, maxTime: T0 + H2 });
  const c3 = performance.now();
  console.log(
    `  head append ${fmt(appended)} samples in ${ms(a0, a1)} ms (${fmt(Math.round(appended / ((a1 - a0) / 1000)))} samples/s, for reference)`,
  );
  console.log(
    `  cut: exportChunks ${ms(c0, c1)} ms, seriesFromHeadExport ${ms(c1, c2)} ms, writeBlock ${ms(c2, c3)} ms: ` +
      `${fmt(Math.round(meta.stats.numSamples / ((c3 - c0) / 1000)))} samples/s (${fmt(meta.stats.numSamples)} samples, ${fmt(meta.stats.numChunks)} chunks)`,
  );
}

/** Bytes per sample once 2h blocks are compacted to 18h (the index is then spread over 9x the samples). */
async function steadyState(dir: string, targets: number, jitter: number): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const store = new BlockStore(dir, { ranges: compactionRanges() });
  await store.open();
  const S0 = Math.ceil(T0 / 64_800_000) * 64_800_000; // on an 18h boundary, as compaction ranges are aligned
  for (let i = 0; i < 10; i++) {
    const inputs: SeriesInput[] = [];
    for (const target of generate(targets, 100 + i, jitter, S0 + i * H2))
      for (const s of target) inputs.push(toInput(s));
    inputs.sort((a, b) => compareLabels(a.labels, b.labels));
    await store.writeBlock(inputs, { minTime: S0 + i * H2, maxTime: S0 + (i + 1) * H2 });
  }
  const c0 = performance.now();
  await store.compact();
  const c1 = performance.now();
  for (const b of store.blocks()) {
    const size = blockBytes(b.dir);
    const hours = (b.meta.maxTime - b.meta.minTime) / 3_600_000;
    console.log(
      `  ${hours}h block (level ${b.meta.compaction.level}): ${(size.total / b.meta.stats.numSamples).toFixed(4)} bytes/sample ` +
        `(chunks ${(size.chunks / b.meta.stats.numSamples).toFixed(4)}, index ${(size.index / b.meta.stats.numSamples).toFixed(4)})`,
    );
  }
  console.log(`  (compaction 2h x9 -> 6h x3 -> 18h took ${ms(c0, c1)} ms)`);
  await store.close();
}

export default async function run(args: string[]): Promise<void> {
  const series = arg(args, '--series', 100_000);
  const compareSeries = arg(args, '--compare-series', 5_000);
  const reps = arg(args, '--reps', 3);
  const jitter = arg(args, '--jitter', 0.1);
  align = arg(args, '--align', 2);
  const mixAt = args.indexOf('--mix');
  if (mixAt >= 0) mix = args[mixAt + 1];
  const work = mkdtempSync(join(tmpdir(), 'promshard-block-bench-'));
  try {
    console.log(`block bench: addon ops, node ${process.version}`);
    console.log(
      `\n[1] disk bytes per sample vs Prometheus 2.42 (${compareSeries} series x 2h at 15 s, jitter ${jitter}, scrape timestamps aligned within ${align} ms)`,
    );
    if (args.includes('--skip-compare')) console.log('  skipped (--skip-compare)');
    else
      await compareWithPrometheus(
        join(work, 'cmp'),
        Math.max(1, Math.round(compareSeries / (mix === 'node' ? 1000 : 100))),
        jitter,
      );

    console.log(
      `\n[1b] the same data shape over 20h, compacted as Prometheus would (${compareSeries} series)`,
    );
    if (args.includes('--skip-compare')) console.log('  skipped (--skip-compare)');
    else
      await steadyState(
        join(work, 'steady'),
        Math.max(1, Math.round(compareSeries / (mix === 'node' ? 1000 : 100))),
        jitter,
      );
    if (args.includes('--only-compare')) return;

    console.log(`\n[2] write ${series} series x 2h as one block`);
    mkdirSync(join(work, 'one'), { recursive: true });
    const one = await buildBlock(join(work, 'one'), Math.round(series / 100), 1, jitter);
    const dir = join(work, 'one', one.ulid);
    const size = blockBytes(dir);
    console.log(
      `  ${(size.total / one.samples).toFixed(4)} bytes/sample (index ${fmt(size.index)} B, chunks ${fmt(size.chunks)} B)`,
    );

    const open0 = performance.now();
    const opened = BlockReader.open(dir);
    const open1 = performance.now();
    opened.close();
    console.log(`  BlockReader.open (mmap, TOC, symbols, postings offset table): ${ms(open0, open1)} ms`);

    console.log(`\n[3] selectors over the block, one thread (best of ${reps})`);
    const selectors: [string, Matcher[]][] = [
      ['{job="bench"}', [{ type: '=', name: 'job', value: 'bench' }]],
      ['{__name__="app_requests_total"}', [{ type: '=', name: '__name__', value: 'app_requests_total' }]],
      [
        '{__name__=~"http_.*_bucket", le!="+Inf"}',
        [
          { type: '=~', name: '__name__', value: 'http_.*_bucket' },
          { type: '!=', name: 'le', value: '+Inf' },
        ],
      ],
      [
        '{instance=~"host-0000.*", __name__!~"node_.*"}',
        [
          { type: '=~', name: 'instance', value: 'host-0000.*' },
          { type: '!~', name: '__name__', value: 'node_.*' },
        ],
      ],
    ];
    for (const [name, m] of selectors) {
      const r = measureSelect(dir, m, reps);
      console.log(
        `  ${name}: ${fmt(r.series)} series, postings ${r.postingsMs.toFixed(2)} ms, select ${r.bestMs.toFixed(1)} ms, ` +
          `${fmt(Math.round(r.samples / (r.bestMs / 1000)))} samples/s decoded (${fmt(r.samples)} samples)`,
      );
    }
    const rr = measureSelect(dir, selectors[0][1], reps, true);
    console.log(
      `  ${selectors[0][0]} with recycled output columns: select ${rr.bestMs.toFixed(1)} ms, ` +
        `${fmt(Math.round(rr.samples / (rr.bestMs / 1000)))} samples/s decoded`,
    );
    for (const reuse of [false, true]) {
      const rc = measureSelect(dir, selectors[0][1], reps, reuse, true);
      console.log(
        `  ${selectors[0][0]} as a shard replies (selectColumns + replyFromColumns), ${reuse ? 'recycled' : 'fresh'} ` +
          `columns: ${rc.bestMs.toFixed(1)} ms, ${fmt(Math.round(rc.samples / (rc.bestMs / 1000)))} samples/s decoded`,
      );
    }

    console.log(
      `\n[4] the same selector in 2 shards (2 worker threads, ${series / 2} series each, each building its reply as a shard does)`,
    );
    const shardDirs: string[] = [];
    for (let s = 0; s < 2; s++) {
      const d = join(work, `shard${s}`);
      mkdirSync(d);
      const b = await buildBlock(d, Math.round(series / 200), 10 + s, jitter);
      shardDirs.push(join(d, b.ulid));
    }
    const matchers: Matcher[] = [{ type: '=', name: 'job', value: 'bench' }];
    const workers = shardDirs.map(
      (d) =>
        new Worker(new URL(import.meta.url), { workerData: { blockBench: true, dir: d, matchers, reps } }),
    );
    await new Promise((r) => setTimeout(r, 300));
    for (const reuse of [false, true]) {
      const results = await Promise.all(
        workers.map(
          (w) =>
            new Promise<{ bestMs: number; samples: number; postingsMs: number; wallMs: number }>(
              (resolve, reject) => {
                w.once('message', resolve);
                w.once('error', reject);
                w.postMessage(reuse);
              },
            ),
        ),
      );
      const total = results.reduce((n, r) => n + r.samples, 0);
      const wall = Math.max(...results.map((r) => r.wallMs));
      console.log(
        `  ${reuse ? 'recycled' : 'fresh'} output columns; per shard: ` +
          results
            .map((r) => `best select ${r.bestMs.toFixed(1)} ms, postings ${r.postingsMs.toFixed(2)} ms`)
            .join('; '),
      );
      console.log(
        `  ${fmt(total)} samples per round, ${reps} rounds concurrently in both shards in ${wall.toFixed(0)} ms: ` +
          `${fmt(Math.round((total * reps) / (wall / 1000)))} samples/s decoded across 2 shards`,
      );
    }
    // Rounds in lockstep: both shards select at once, the round lasting until the slower one is done.
    // A first round (CRC checks of the chunks, the recycled pair's first touch) is not counted.
    const round = (reuse: boolean) =>
      Promise.all(
        workers.map(
          (w) =>
            new Promise<{ ms: number; samples: number }>((resolve, reject) => {
              w.once('error', reject);
              w.once('message', (m) => {
                w.off('error', reject);
                resolve(m);
              });
              w.postMessage({ round: true, reuse });
            }),
        ),
      );
    for (const reuse of [false, true]) {
      await round(reuse);
      const walls: number[] = [];
      let total = 0;
      for (let r = 0; r < 2 * reps; r++) {
        const t0 = performance.now();
        const rs = await round(reuse);
        walls.push(performance.now() - t0);
        total = rs.reduce((n, x) => n + x.samples, 0);
      }
      walls.sort((a, b) => a - b);
      const med = walls[walls.length >> 1];
      console.log(
        `  lockstep rounds, ${reuse ? 'recycled' : 'fresh'} columns: ${fmt(total)} samples a round; best ${walls[0].toFixed(0)} ms ` +
          `(${fmt(Math.round(total / (walls[0] / 1000)))} samples/s across 2 shards), median of ${walls.length} ${med.toFixed(0)} ms ` +
          `(${fmt(Math.round(total / (med / 1000)))} samples/s)`,
      );
    }
    for (const w of workers) await w.terminate();
    // --only-select: stop after the decode sections, for A/B runs of the select path.
    if (args.includes('--only-select')) return;

    const third = Math.max(1, Math.round(series / 300));
    console.log(`\n[5] compaction: 3 adjacent 2h blocks of ${third * 100} series into one 6h block`);
    const cdir = join(work, 'compact');
    mkdirSync(cdir);
    const adj: BlockReader[] = [];
    let adjSamples = 0;
    for (let i = 0; i < 3; i++) {
      const b = await buildBlock(cdir, third, 20, jitter, T0 + i * H2);
      adjSamples += b.samples;
      adj.push(BlockReader.open(join(cdir, b.ulid)));
    }
    const h5 = monitorEventLoopDelay({ resolution: 5 });
    h5.enable();
    const c0 = performance.now();
    const merged = await mergeBlocks(cdir, adj);
    const c1 = performance.now();
    h5.disable();
    console.log(
      `  mergeBlocks ${ms(c0, c1)} ms: ${fmt(Math.round(adjSamples / ((c1 - c0) / 1000)))} samples/s ` +
        `(chunks copied as they are; ${fmt(merged!.stats.numChunks)} chunks)`,
    );
    console.log(
      `  event loop blocked at most ${(h5.max / 1e6).toFixed(0)} ms at a time (p99 ${(h5.percentile(99) / 1e6).toFixed(0)} ms)`,
    );
    for (const b of adj) b.close();
    console.log(
      `\n[6] compaction: 2 overlapping 2h blocks of ${third * 100} series (every chunk re-encoded)`,
    );
    const odir = join(work, 'overlap');
    mkdirSync(odir);
    const ov: BlockReader[] = [];
    let ovSamples = 0;
    for (let i = 0; i < 2; i++) {
      const b = await buildBlock(odir, third, 30 + i, jitter);
      ovSamples += b.samples;
      ov.push(BlockReader.open(join(odir, b.ulid)));
    }
    const h6 = monitorEventLoopDelay({ resolution: 5 });
    h6.enable();
    const o0 = performance.now();
    const om = await mergeBlocks(odir, ov);
    const o1 = performance.now();
    h6.disable();
    console.log(
      `  mergeBlocks ${ms(o0, o1)} ms: ${fmt(Math.round(ovSamples / ((o1 - o0) / 1000)))} samples/s ` +
        `(${fmt(om!.stats.numSamples)} samples out, ${fmt(om!.stats.numChunks)} chunks)`,
    );
    console.log(
      `  event loop blocked at most ${(h6.max / 1e6).toFixed(0)} ms at a time (p99 ${(h6.percentile(99) / 1e6).toFixed(0)} ms)`,
    );
    for (const b of ov) b.close();

    console.log(`\n[7] head cut: ${series} series x 2h from the addon's HeadChunks to a block`);
    await headCut(join(work, 'headcut'), series, jitter);
  } finally {
    if (args.includes('--keep')) console.log(`\nkept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}
