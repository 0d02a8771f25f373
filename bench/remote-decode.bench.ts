// Remote-write request decoding on the main thread (snappy + protobuf -> AppendRequest columns).
//   node dist/bench/run.js remote-decode [--series=100000] [--per-request=2000]
// Reports ms per `series` samples (one sample per series, the remote-write bench's shape) for: snappy
// decompression, a first decode (every series new: labels decoded and validated), and decodes with the
// series cache warm (what every later round of a sender costs).
import snappy from 'snappy';
import { Bench } from 'tinybench';
import { WriteDecoder } from '../src/remote/write-decode.js';
import { encodeWriteRequest, type WriteSeries } from '../src/remote/write-encode.js';
import { labelsFromObject } from '../src/shared/labels.js';

function arg(args: string[], k: string, d: string): string {
  const a = args.find((x) => x.startsWith(`--${k}=`));
  return a === undefined ? d : a.slice(k.length + 3);
}

export default async function run(args: string[]): Promise<void> {
  const series = Number(arg(args, 'series', '100000'));
  const perRequest = Number(arg(args, 'per-request', '2000'));
  const t = Float64Array.of(Date.now());
  const compressed: Buffer[] = [];
  for (let start = 0; start < series; start += perRequest) {
    const batch: WriteSeries[] = [];
    for (let i = start; i < Math.min(series, start + perRequest); i++) {
      batch.push({
        labels: labelsFromObject({
          __name__: `bench_metric_${i % 100}`,
          instance: `host-${Math.floor(i / 100)}:9100`,
          job: 'remote_write_bench',
          series_id: String(i),
        }),
        t,
        v: Float64Array.of(i),
      });
    }
    compressed.push(snappy.compressSync(Buffer.from(encodeWriteRequest(batch))));
  }
  const raw = compressed.map((b) => snappy.uncompressSync(b, { asBuffer: true }) as Buffer);

  const cold = new WriteDecoder();
  const t0 = performance.now();
  for (const b of raw) cold.decode(b);
  const firstMs = performance.now() - t0;

  const warm = new WriteDecoder();
  for (const b of raw) warm.decode(b);
  const bench = new Bench({ iterations: 10, warmupIterations: 2 });
  bench
    .add(`snappy uncompress (${series} series)`, () => {
      for (const b of compressed) snappy.uncompressSync(b, { asBuffer: true });
    })
    .add(`decode, series cache warm (${series} series)`, () => {
      for (const b of raw) warm.decode(b);
    })
    .add(`decode without a series cache (${series} series)`, () => {
      const d = new WriteDecoder(undefined, 0);
      for (const b of raw) d.decode(b);
    });
  await bench.run();
  console.log(`first decode, every series new: ${firstMs.toFixed(1)} ms for ${series} series`);
  for (const task of bench.tasks) {
    const r = task.result as { latency?: { mean?: number; p50?: number } } | undefined;
    const mean = r?.latency?.mean ?? Number.NaN;
    console.log(`${task.name}: ${mean.toFixed(1)} ms (mean of 10 runs)`);
  }
}
