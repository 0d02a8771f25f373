// How a shard is driven: plain worker_threads (one Worker per shard, our own id -> promise map) against
// piscina (a pool of exactly one thread per shard, a task per batch). Each message transfers a batch
// buffer and gets a small reply, as an append does; 8 batches in flight per shard.
//
//   node dist/bench/run.js ingest-transport [--messages 20000] [--bytes 40000]
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';

function arg(args: string[], name: string, def: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
}

const workerFile = join(dirname(fileURLToPath(import.meta.url)), 'ingest-transport-worker.js');
const INFLIGHT = 8;

async function plain(messages: number, bytes: number): Promise<number> {
  const w = new Worker(workerFile, { workerData: { plain: true } });
  const pending = new Map<number, () => void>();
  w.on('message', (m: { id: number }) => {
    pending.get(m.id)?.();
    pending.delete(m.id);
  });
  let id = 0;
  const send = () =>
    new Promise<void>((resolve) => {
      const buf = new ArrayBuffer(bytes);
      const my = id++;
      pending.set(my, resolve);
      w.postMessage({ id: my, buf }, [buf]);
    });
  await send();
  const st = performance.now();
  for (let i = 0; i < messages; i += INFLIGHT) await Promise.all(Array.from({ length: INFLIGHT }, send));
  const ms = performance.now() - st;
  await w.terminate();
  return ms;
}

async function pooled(messages: number, bytes: number): Promise<number> {
  const pool = new Piscina({ filename: workerFile, minThreads: 1, maxThreads: 1 });
  const send = () => {
    const buf = new ArrayBuffer(bytes);
    return pool.run(Piscina.move(buf));
  };
  await send();
  const st = performance.now();
  for (let i = 0; i < messages; i += INFLIGHT) await Promise.all(Array.from({ length: INFLIGHT }, send));
  const ms = performance.now() - st;
  await pool.destroy();
  return ms;
}

export default async function run(args: string[]): Promise<void> {
  const messages = arg(args, 'messages', 20000);
  const bytes = arg(args, 'bytes', 40000);
  for (let rep = 0; rep < 2; rep++) {
    const a = await plain(messages, bytes);
    const b = await pooled(messages, bytes);
    console.log(
      `ingest-transport: ${messages} batches of ${bytes} B: worker_threads ${((a / messages) * 1000).toFixed(1)} us/batch, ` +
        `piscina ${((b / messages) * 1000).toFixed(1)} us/batch`,
    );
  }
}
