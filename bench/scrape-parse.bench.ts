/**
 * Parser throughput in samples/s on the node_exporter 1.5.0 fixture body (text 0.0.4, 507 samples, 566
 * comment lines): cold (a fresh scrape cache per parse: every series' labels parsed) and warm (the target's
 * cache from the previous scrape, as in a steady scrape loop), from a string and from the response bytes
 * (UTF-8 decode included). Also the OpenMetrics fixture. Targets: >= 2M samples/s cold, >= 10M warm.
 * Run after `npm run build:ts`: `node dist/bench/run.js scrape-parse [--time=ms]`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Bench } from 'tinybench';
import { ParsedSamples } from '../src/scrape/exposition.js';
import { parseOpenMetrics } from '../src/scrape/parse-openmetrics.js';
import { parseText } from '../src/scrape/parse-text.js';
import { SeriesCache } from '../src/scrape/series-cache.js';
import { packageRoot } from '../src/shared/package-root.js';

export default async function run(args: string[]): Promise<void> {
  const timeArg = args.find((a) => a.startsWith('--time='));
  const time = timeArg ? Number(timeArg.slice(7)) : 2000;
  const dir = join(resolve(packageRoot(), '../shared'), 'fixtures', 'exposition');
  const file = join(dir, 'node-exporter-1.5.0.txt');
  if (!existsSync(file)) {
    console.log(`scrape-parse: skipped, ${file} is absent`);
    return;
  }
  const bytes = readFileSync(file);
  const body = bytes.toString('utf8');
  const omBody = readFileSync(join(dir, 'python-client-0.16-openmetrics.txt'), 'utf8');
  const out = new ParsedSamples();
  const warm = new SeriesCache();
  const warmOm = new SeriesCache();
  if (parseText(body, out, warm) !== null) throw new Error('fixture did not parse');
  const samples = out.count;
  parseOpenMetrics(omBody, out, warmOm);
  const omSamples = out.count;

  const bench = new Bench({ time, warmup: true });
  bench
    .add('text cold (new cache per parse)', () => {
      parseText(body, out, new SeriesCache());
    })
    .add('text warm (cache of the previous scrape)', () => {
      parseText(body, out, warm);
    })
    .add('text warm incl. utf8 decode of the bytes', () => {
      parseText(bytes.toString('utf8'), out, warm);
    })
    .add('openmetrics cold', () => {
      parseOpenMetrics(omBody, out, new SeriesCache());
    })
    .add('openmetrics warm', () => {
      parseOpenMetrics(omBody, out, warmOm);
    });
  await bench.run();
  // CPU time per parse as well: steadier than wall time on a shared machine.
  const cpuPerParse = (f: () => void, n: number): number => {
    for (let i = 0; i < 100; i++) f();
    const u0 = process.cpuUsage();
    for (let i = 0; i < n; i++) f();
    const u = process.cpuUsage(u0);
    return (u.user + u.system) / n;
  };
  const coldCpu = cpuPerParse(() => parseText(body, out, new SeriesCache()), 2000);
  const warmCpu = cpuPerParse(() => parseText(body, out, warm), 10000);
  console.log(
    `scrape-parse: node_exporter fixture, ${samples} samples, ${bytes.length} bytes; openmetrics fixture ${omSamples} samples`,
  );
  for (const task of bench.tasks) {
    const r = task.result as { latency?: { mean: number; p99?: number } } | undefined;
    const mean = r?.latency?.mean;
    if (mean === undefined) {
      console.log(`  ${task.name}: no result`);
      continue;
    }
    const n = task.name.startsWith('openmetrics') ? omSamples : samples;
    const perSec = (n / mean) * 1000;
    console.log(
      `  ${task.name.padEnd(44)} ${(perSec / 1e6).toFixed(2)}M samples/s  (${(mean * 1000).toFixed(1)} us/parse)`,
    );
  }
  console.log(
    `  by CPU time: text cold ${(samples / coldCpu).toFixed(2)}M samples/s (${coldCpu.toFixed(1)} us), warm ${(samples / warmCpu).toFixed(2)}M samples/s (${warmCpu.toFixed(1)} us)`,
  );
}

if (process.argv[1]?.endsWith('scrape-parse.bench.js')) {
  await run(process.argv.slice(2));
}
