// The PromQL bench's HTTP client, in a worker thread: it sends a range query, reads the whole answer
// (decompressed and decoded, as a client must) and reports the time from sending to the last byte.
// Running it off the main thread matters for promshard's side: its server runs in the bench process, and
// a client on the same event loop would add its own decoding of a 95 MB answer to the server's time,
// while Prometheus' server runs beside the client. Both sides are timed by this same client.
import { parentPort } from 'node:worker_threads';

export interface ClientRequest {
  id: number;
  url: string;
  query: string;
  start: number;
  end: number;
  step: number;
}

export type ClientReply = { id: number; ms: number; bytes: number } | { id: number; error: string };

async function once(r: ClientRequest): Promise<{ ms: number; bytes: number }> {
  const t0 = performance.now();
  const res = await fetch(`${r.url}/api/v1/query_range`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      query: r.query,
      start: String(r.start / 1000),
      end: String(r.end / 1000),
      step: String(r.step / 1000),
    }).toString(),
  });
  const text = await res.text();
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`${r.query}: ${res.status} ${text.slice(0, 200)}`);
  return { ms, bytes: text.length };
}

parentPort?.on('message', async (r: ClientRequest) => {
  let reply: ClientReply;
  try {
    let out: { ms: number; bytes: number };
    try {
      out = await once(r);
    } catch (e) {
      // A keep-alive connection the server closed just as it was reused: one retry (reported).
      console.log(`  (retrying after ${(e as Error).message})`);
      out = await once(r);
    }
    reply = { id: r.id, ...out };
  } catch (e) {
    reply = { id: r.id, error: (e as Error).message };
  }
  parentPort?.postMessage(reply);
});
