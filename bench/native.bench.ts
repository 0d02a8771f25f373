// Addon micro-benchmarks (issue 2), with tinybench: XOR decode/encode per sample (the addon and the pure
// TypeScript decoder side by side), postings set operations per input element, crc32c throughput.
//
//   npm run build && node dist/bench/run.js native [--rounds 3] [--time 1000] [--chunks 1000] [--json out.json]
//
// Each figure is the median over rounds of tinybench's median (p50) latency per task, divided by the
// work per iteration. Targets (issue 2, 2-core machine): decode <= 2 ns/sample, encode <= 6 ns/sample,
// intersection <= 1 ns per input element, crc32c >= 4 GB/s.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { Bench } from 'tinybench';
import {
  crc32c,
  difference,
  intersect,
  union,
  XorAppender,
  xorDecodeInto,
  xorDecodeMany,
  xorEncode,
  xorEncodeMany,
} from '../src/native/binding.js';
import { ByteReader } from '../src/native/varint.js';
import { xorDecodeReferenceInto } from '../src/native/xor-reference.js';
import { packageRoot } from '../src/shared/package-root.js';
import { rng } from '../src/shared/seeded-random.js';

interface ChunkSet {
  data: Uint8Array;
  ranges: Uint32Array;
  samples: number;
  chunks: Uint8Array[];
}

function chunkSet(chunks: Uint8Array[]): ChunkSet {
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const data = new Uint8Array(total);
  const ranges = new Uint32Array(chunks.length * 2);
  let off = 0;
  let samples = 0;
  const views: Uint8Array[] = [];
  chunks.forEach((c, i) => {
    data.set(c, off);
    ranges[2 * i] = off;
    ranges[2 * i + 1] = off + c.length;
    views.push(data.subarray(off, off + c.length));
    off += c.length;
    samples += (c[0] << 8) | c[1];
  });
  return { data, ranges, samples, chunks: views };
}

/** The chunks of the Prometheus 2.42 fixture block, or null without ../shared. */
function fixtureChunks(): Uint8Array[] | null {
  const path = resolve(
    packageRoot(),
    '../shared/fixtures/prometheus-2.42-block/01M86Z9XTRD0SGF6Y09HFAD5T5/chunks/000001',
  );
  if (!existsSync(path)) return null;
  const buf = new Uint8Array(readFileSync(path));
  const r = new ByteReader(buf, 8);
  const out: Uint8Array[] = [];
  while (r.remaining > 0) {
    const len = r.uvarint();
    r.skip(1);
    out.push(Uint8Array.from(r.bytes(len)));
    r.skip(4);
  }
  return out;
}

/**
 * Realistic 120-sample chunks at a 15 s scrape interval (20% of scrapes a few ms late, as a real
 * scraper's are): integer counters with varied rates and rare resets, and gauges (float random walks,
 * small-step temperatures, occasional constants).
 */
function syntheticSeries(
  kind: 'counter' | 'gauge',
  n: number,
  seed: number,
): { t: Float64Array; v: Float64Array }[] {
  const r = rng(seed);
  const out: { t: Float64Array; v: Float64Array }[] = [];
  for (let s = 0; s < n; s++) {
    const t = new Float64Array(120);
    const v = new Float64Array(120);
    const start = 1_700_006_400_000 + Math.floor(r() * 15_000);
    const rate = Math.floor(r() ** 3 * 1000);
    let cur = Math.floor(r() * 1e6);
    const shape = r();
    for (let i = 0; i < 120; i++) {
      t[i] = start + i * 15_000 + (r() < 0.2 ? Math.floor(r() * 5) : 0);
      if (kind === 'counter') {
        cur = r() < 0.002 ? 0 : cur + Math.floor(r() * rate);
      } else if (shape < 0.4) {
        cur += (r() - 0.5) * 100;
      } else if (shape < 0.8) {
        cur = Math.round((21.5 + (r() - 0.5) * 0.01) * 1000) / 1000;
      } else if (r() < 0.05) {
        cur = Math.floor(r() * 100);
      }
      v[i] = cur;
    }
    out.push({ t, v });
  }
  return out;
}

/** A sorted unique list of n values drawn from [0, universe). */
function sortedList(r: () => number, n: number, universe: number): Uint32Array {
  const a = new Uint32Array(n);
  // Evenly spread with random gaps keeps it unique and sorted without a big sort.
  const step = universe / n;
  for (let i = 0; i < n; i++) a[i] = Math.floor(i * step + r() * (step - 1));
  return a;
}

interface Row {
  name: string;
  unit: string;
  perIteration: number;
  values: number[];
  target?: { op: '<=' | '>='; value: number };
  transform?: (nsPerUnit: number) => number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function arg(args: string[], name: string, def: string): string {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
}

export default async function run(args: string[]): Promise<void> {
  const rounds = Number(arg(args, '--rounds', '3'));
  const time = Number(arg(args, '--time', '1000'));
  const jsonOut = arg(args, '--json', '');

  const load = () =>
    loadavg()
      .map((x) => x.toFixed(2))
      .join(' ');
  console.log(`cpus: ${cpus().length} x ${cpus()[0]?.model ?? '?'}; load average at start: ${load()}`);
  const fixture = fixtureChunks();
  const fx = fixture ? chunkSet(fixture) : null;
  if (!fx) console.log('note: ../shared fixtures absent, skipping the fixture-chunk rows');
  // 1000 chunks per set by default: the decoded columns (1.9 MB) stay mostly in cache, so the figure is the
  // decoder's and not the memory bandwidth left over by whatever else runs on the machine.
  const nChunks = Number(arg(args, '--chunks', '1000'));
  const counters = syntheticSeries('counter', nChunks, 1);
  const gauges = syntheticSeries('gauge', nChunks, 2);
  const counterSet = chunkSet(counters.map((s) => xorEncode(s.t, s.v)));
  const gaugeSet = chunkSet(gauges.map((s) => xorEncode(s.t, s.v)));
  const bytesPerSample = (cs: ChunkSet) => (cs.data.length / cs.samples).toFixed(2);
  console.log(
    `data: ${counterSet.samples} counter samples (${bytesPerSample(counterSet)} B/sample), ` +
      `${gaugeSet.samples} gauge samples (${bytesPerSample(gaugeSet)} B/sample)` +
      (fx ? `, fixture ${fx.samples} samples in ${fx.chunks.length} chunks` : ''),
  );
  const outT = new Float64Array(Math.max(nChunks * 120, 3000) + 1000);
  const outV = new Float64Array(outT.length);

  // Encode input: all samples of a set in one column pair, 120 per chunk.
  const flatten = (series: { t: Float64Array; v: Float64Array }[]) => {
    const t = new Float64Array(series.length * 120);
    const v = new Float64Array(series.length * 120);
    series.forEach((s, i) => {
      t.set(s.t, i * 120);
      v.set(s.v, i * 120);
    });
    return { t, v };
  };
  const counterCols = flatten(counters);
  const gaugeCols = flatten(gauges);

  // Postings inputs.
  const r = rng(3);
  const universe = 20_000_000;
  const a1m = sortedList(r, 1_000_000, universe);
  // b shares 10% of a's elements; the rest are odd offsets that a (built on its own grid) rarely has.
  const b1m = new Uint32Array(1_000_000);
  for (let i = 0; i < b1m.length; i++) b1m[i] = i % 10 === 0 ? a1m[i] : a1m[i] + 1;
  const small1k = sortedList(r, 1000, universe);
  for (let i = 0; i < small1k.length; i += 2) small1k[i] = a1m[i * 1000];
  small1k.sort();
  const lists16 = Array.from({ length: 16 }, () => sortedList(r, 65_536, universe));
  const crcSmall = new Uint8Array(64 * 1024).map((_, i) => (i * 131) & 0xff);
  const crcLarge = new Uint8Array(16 * 1024 * 1024).map((_, i) => (i * 7) & 0xff);
  const overlap = intersect([a1m, b1m]).length;
  console.log(
    `postings: |a|=|b|=1M with ${overlap} common; 1k list has ${intersect([small1k, a1m]).length} in a`,
  );

  const rows: Row[] = [];
  const add = (
    bench: Bench,
    name: string,
    unit: string,
    perIteration: number,
    fn: () => void,
    target?: Row['target'],
    transform?: Row['transform'],
  ) => {
    bench.add(name, fn);
    let row = rows.find((x) => x.name === name);
    if (!row) {
      row = { name, unit, perIteration, values: [], target, transform };
      rows.push(row);
    }
  };

  for (let round = 0; round < rounds; round++) {
    const bench = new Bench({ time, warmupTime: 200 });
    const decodeTarget = { op: '<=' as const, value: 2 };
    const many = (cs: ChunkSet) => () => {
      xorDecodeMany(cs.data, cs.ranges, -Infinity, Infinity, outT, outV, 0);
    };
    const each = (cs: ChunkSet) => () => {
      let at = 0;
      for (const c of cs.chunks) at += xorDecodeInto(c, -Infinity, Infinity, outT, outV, at);
    };
    const ts = (cs: ChunkSet) => () => {
      let at = 0;
      for (const c of cs.chunks) {
        at += xorDecodeReferenceInto(c, -Infinity, Infinity, outT.subarray(at), outV.subarray(at));
      }
    };
    if (fx) {
      add(bench, 'decode fixture, xorDecodeMany (1 call)', 'ns/sample', fx.samples, many(fx), decodeTarget);
      add(bench, 'decode fixture, xorDecodeInto per chunk', 'ns/sample', fx.samples, each(fx), decodeTarget);
      add(bench, 'decode fixture, pure TS decoder', 'ns/sample', fx.samples, ts(fx));
    }
    add(
      bench,
      'decode counters, xorDecodeMany (1 call)',
      'ns/sample',
      counterSet.samples,
      many(counterSet),
      decodeTarget,
    );
    add(
      bench,
      'decode counters, xorDecodeInto per chunk',
      'ns/sample',
      counterSet.samples,
      each(counterSet),
      decodeTarget,
    );
    add(bench, 'decode counters, pure TS decoder', 'ns/sample', counterSet.samples, ts(counterSet));
    add(
      bench,
      'decode gauges, xorDecodeMany (1 call)',
      'ns/sample',
      gaugeSet.samples,
      many(gaugeSet),
      decodeTarget,
    );
    add(
      bench,
      'decode gauges, xorDecodeInto per chunk',
      'ns/sample',
      gaugeSet.samples,
      each(gaugeSet),
      decodeTarget,
    );
    add(bench, 'decode gauges, pure TS decoder', 'ns/sample', gaugeSet.samples, ts(gaugeSet));

    const encodeTarget = { op: '<=' as const, value: 6 };
    const encode = (cols: { t: Float64Array; v: Float64Array }) => () => {
      for (let s = 0; s < cols.t.length; s += 120) xorEncode(cols.t, cols.v, s, s + 120);
    };
    const app = new XorAppender();
    const appendBatches = (cols: { t: Float64Array; v: Float64Array }) => () => {
      for (let s = 0; s < cols.t.length; s += 120) {
        app.reset();
        app.append(cols.t, cols.v, s, s + 120);
      }
    };
    const bounds = Uint32Array.from({ length: counters.length + 1 }, (_, i) => i * 120);
    add(
      bench,
      `encode counters, xorEncodeMany (${nChunks} chunks/call)`,
      'ns/sample',
      counterCols.t.length,
      () => xorEncodeMany(counterCols.t, counterCols.v, bounds),
      encodeTarget,
    );
    add(
      bench,
      `encode gauges, xorEncodeMany (${nChunks} chunks/call)`,
      'ns/sample',
      gaugeCols.t.length,
      () => xorEncodeMany(gaugeCols.t, gaugeCols.v, bounds),
      encodeTarget,
    );
    add(
      bench,
      'encode counters, xorEncode 120/call',
      'ns/sample',
      counterCols.t.length,
      encode(counterCols),
      encodeTarget,
    );
    add(
      bench,
      'encode gauges, xorEncode 120/call',
      'ns/sample',
      gaugeCols.t.length,
      encode(gaugeCols),
      encodeTarget,
    );
    add(
      bench,
      'encode gauges, XorAppender.append 120/call',
      'ns/sample',
      gaugeCols.t.length,
      appendBatches(gaugeCols),
      encodeTarget,
    );

    add(bench, 'intersect 1M x 1M, 10% overlap', 'ns/input elem', 2_000_000, () => intersect([a1m, b1m]), {
      op: '<=',
      value: 1,
    });
    add(bench, 'intersect 1k x 1M (galloping)', 'ns/call', 1, () => intersect([small1k, a1m]));
    add(bench, 'difference 1k - 1M (galloping)', 'ns/call', 1, () => difference(small1k, a1m));
    add(bench, 'union 16 x 64k', 'ns/input elem', 16 * 65_536, () => union(lists16));
    add(bench, 'difference 1M - 1M', 'ns/input elem', 2_000_000, () => difference(a1m, b1m));
    const gbps = (nsPerByte: number) => 1 / nsPerByte;
    add(
      bench,
      'crc32c 64 KiB',
      'GB/s',
      crcSmall.length,
      () => crc32c(crcSmall),
      { op: '>=', value: 4 },
      gbps,
    );
    add(
      bench,
      'crc32c 16 MiB',
      'GB/s',
      crcLarge.length,
      () => crc32c(crcLarge),
      { op: '>=', value: 4 },
      gbps,
    );

    await bench.run();
    for (const task of bench.tasks) {
      const res = task.result as { state: string; latency?: { p50: number } };
      const row = rows.find((x) => x.name === task.name);
      if (!row || res.state !== 'completed' || !res.latency) throw new Error(`${task.name}: ${res.state}`);
      row.values.push((res.latency.p50 * 1e6) / row.perIteration); // ms -> ns per unit
    }
    console.log(`round ${round + 1}/${rounds} done`);
  }

  const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
  const lines = ['| benchmark | median | unit | rounds | target |', '|---|---:|---|---|---|'];
  const json: Record<string, unknown>[] = [];
  for (const row of rows) {
    const vals = row.values.map((x) => (row.transform ? row.transform(x) : x));
    const m = median(vals);
    let target = '';
    if (row.target) {
      const ok = row.target.op === '<=' ? m <= row.target.value : m >= row.target.value;
      target = `${row.target.op} ${row.target.value}: ${ok ? 'met' : 'MISSED'}`;
    }
    lines.push(`| ${row.name} | ${fmt(m)} | ${row.unit} | ${vals.map(fmt).join(' / ')} | ${target} |`);
    json.push({ name: row.name, unit: row.unit, median: m, rounds: vals, target: row.target });
  }
  console.log(`load average at end: ${load()}`);
  console.log(lines.join('\n'));
  if (jsonOut)
    writeFileSync(jsonOut, JSON.stringify({ date: new Date().toISOString(), rows: json }, null, 2));
}
