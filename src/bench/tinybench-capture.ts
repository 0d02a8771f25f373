/**
 * Preloaded (`node --import`) into a micro-benchmark's process by `promshard bench`: records every
 * tinybench task's latency statistics when its Bench finishes and writes them, as JSON, to the file in
 * PROMSHARD_BENCH_CAPTURE at exit. The benchmark modules stay as their owners wrote them.
 */
import { writeFileSync } from 'node:fs';
import { Bench } from 'tinybench';

export interface CapturedTask {
  bench: string;
  task: string;
  /** Latency per iteration in ms. */
  p50: number;
  p99: number;
  mean: number;
  /** Relative margin of error of the mean, in percent. */
  rme: number;
  samples: number;
  opsPerSecond: number;
}

const file = process.env.PROMSHARD_BENCH_CAPTURE;
if (file) {
  const captured: CapturedTask[] = [];
  const record = (b: Bench) => {
    for (const t of b.tasks) {
      const r = t.result as unknown as {
        latency?: { p50: number; p99: number; mean: number; rme: number; samplesCount: number };
        throughput?: { mean: number };
      };
      if (r?.latency === undefined) continue;
      captured.push({
        bench: b.name ?? '',
        task: t.name,
        p50: r.latency.p50,
        p99: r.latency.p99,
        mean: r.latency.mean,
        rme: r.latency.rme,
        samples: r.latency.samplesCount,
        opsPerSecond: r.throughput?.mean ?? 0,
      });
    }
  };
  const proto = Bench.prototype as unknown as {
    run: (...a: unknown[]) => Promise<unknown>;
    runSync: (...a: unknown[]) => unknown;
  };
  const run = proto.run;
  proto.run = async function (this: Bench, ...a: unknown[]) {
    const r = await run.apply(this, a);
    record(this);
    return r;
  };
  const runSync = proto.runSync;
  proto.runSync = function (this: Bench, ...a: unknown[]) {
    const r = runSync.apply(this, a);
    record(this);
    return r;
  };
  process.on('exit', () => writeFileSync(file, JSON.stringify(captured)));
}
