// WAL micro-benchmarks (issues 3 and 8), with tinybench: the cost per sample of logging an appended batch
// (columnar samples record + page/fragment framing + CRC32C + one write() into the page cache) and of
// replaying it (framing checks + CRC32C + record decode).
//
//   npx promshard bench micro/wal        or   node dist/bench/run.js wal [--batch 2000] [--time 1000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bench } from 'tinybench';
import { readWal, WalWriter } from '../src/tsdb/wal.js';
import { decodeSamplesRecord, encodeSamplesRecord } from '../src/tsdb/wal-records.js';

function flag(args: string[], name: string, def: number): number {
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return def;
  const raw = args[i].includes('=') ? args[i].slice(args[i].indexOf('=') + 1) : args[i + 1];
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${raw}`);
  return n;
}

export default async function run(args: string[]): Promise<void> {
  const batch = flag(args, 'batch', 2000);
  const time = flag(args, 'time', 1000);
  const refs = new Uint32Array(batch);
  const t = new Float64Array(batch);
  const v = new Float64Array(batch);
  const codes = new Uint8Array(batch);
  for (let i = 0; i < batch; i++) {
    refs[i] = i * 7;
    t[i] = 1_700_000_000_000 + i;
    v[i] = i * 1.5;
  }
  const dir = mkdtempSync(join(tmpdir(), 'promshard-wal-bench-'));
  try {
    const wal = WalWriter.open(join(dir, 'append'), 16 * 1024 * 1024);
    const bench = new Bench({ time });
    bench.add(`log a batch of ${batch} samples (encode + frame + crc32c + write)`, () => {
      wal.log([encodeSamplesRecord(refs, t, v, codes, batch)]);
    });
    await bench.run();
    wal.close();

    // Replay what was just written.
    let samples = 0;
    const replay = new Bench({ time, iterations: 3 });
    replay.add('replay the log (frame checks + crc32c + decode)', () => {
      samples = 0;
      readWal(join(dir, 'append'), (rec) => {
        samples += decodeSamplesRecord(rec).refs.length;
      });
    });
    await replay.run();

    const rows = [
      ...bench.tasks.map((task) => ({ task, perIteration: batch })),
      ...replay.tasks.map((task) => ({ task, perIteration: samples })),
    ];
    console.log(`WAL micro-benchmarks (${batch} samples per batch; replayed ${samples} samples)`);
    for (const { task, perIteration } of rows) {
      const r = task.result;
      if (r?.state !== 'completed') {
        console.log(`  ${task.name}: ${r?.state ?? 'not run'}`);
        continue;
      }
      const p50Ms = r.latency.p50 ?? r.latency.mean;
      console.log(
        `  ${task.name}: ${((p50Ms * 1e6) / perIteration).toFixed(1)} ns/sample (p50 ${p50Ms.toFixed(3)} ms per iteration)`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
