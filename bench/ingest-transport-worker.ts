// Echo worker for bench/ingest-transport.bench.ts: answers each batch with a small typed array, either
// as a plain worker_threads message handler or as a piscina task function (the default export).
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { move } from 'piscina';

function work(buf: ArrayBuffer): Float64Array {
  const v = new Float64Array(buf);
  const out = new Float64Array(7);
  out[0] = v.length > 0 ? v[0] : 0;
  return out;
}

if (!isMainThread && (workerData as { plain?: boolean } | undefined)?.plain === true && parentPort !== null) {
  const port = parentPort;
  port.on('message', (m: { id: number; buf: ArrayBuffer }) => {
    const out = work(m.buf);
    port.postMessage({ id: m.id, out }, [out.buffer as ArrayBuffer]);
  });
}

export default function task(buf: ArrayBuffer): unknown {
  return move(work(buf));
}
