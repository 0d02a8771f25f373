/**
 * What the main thread's heap costs a full garbage collection with a million scraped series: CPU time of a
 * full GC over 1M label arrays (as the scrape cache holds final label sets) alone, plus a WeakMap from each
 * array to a number that does not fit a small integer (as the coordinator's router remembers shard * 2^32 +
 * ref), plus a WeakMap to small integers, plus a Float64Array column instead. Explains the scrape-load bench's
 * GC pauses (src/scrape/README.md, known limits).
 * `node dist/bench/run.js scrape-gc [--series=1000000]`
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export default async function run(args: string[]): Promise<void> {
  const a = args.find((x) => x.startsWith('--series='));
  const n = a ? Number(a.slice(9)) : 1_000_000;
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const modes = ['arrays only', 'WeakMap to non-SMI numbers', 'WeakMap to SMIs', 'Float64Array column'];
  for (const mode of modes) {
    const arrays: string[][] = [];
    for (let i = 0; i < n; i++)
      arrays.push(['__name__', `m${i % 1000}`, 'instance', `h${i >> 10}`, 'job', 'sim', 'x', String(i)]);
    const wm = new WeakMap<string[], number>();
    let col: Float64Array | null = null;
    if (mode === modes[1]) for (let i = 0; i < n; i++) wm.set(arrays[i], (i & 1) * 4294967296 + i);
    if (mode === modes[2]) for (let i = 0; i < n; i++) wm.set(arrays[i], i * 2 + (i & 1));
    if (mode === modes[3]) {
      col = new Float64Array(n);
      for (let i = 0; i < n; i++) col[i] = (i & 1) * 4294967296 + i;
    }
    gc();
    gc();
    const cpu: number[] = [];
    for (let k = 0; k < 5; k++) {
      const u0 = process.cpuUsage();
      gc();
      const u = process.cpuUsage(u0);
      cpu.push((u.user + u.system) / 1000);
    }
    cpu.sort((x, y) => x - y);
    const heap = process.memoryUsage().heapUsed / 2 ** 20;
    console.log(
      `scrape-gc: ${n} label arrays, ${mode.padEnd(28)} full GC CPU median ${cpu[2].toFixed(0)} ms (min ${cpu[0].toFixed(0)}), heap used ${heap.toFixed(0)} MiB`,
    );
    // Keep everything alive through the measurement.
    if (arrays.length !== n || (mode === modes[1] && !wm.has(arrays[0])) || (col && col.length !== n))
      throw new Error('unreachable');
  }
}

if (process.argv[1]?.endsWith('scrape-gc.bench.js')) {
  await run(process.argv.slice(2));
}
