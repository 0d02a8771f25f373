// The remote-write load generator, run as its own process by remote-write.bench.ts so that its CPU is not
// counted against the server. It pre-encodes every request, prints "ready", waits for "go" on stdin, sends
// the rounds with N requests in flight, and prints one JSON line with the results.
import { createInterface } from 'node:readline';
import snappy from 'snappy';
import { Pool } from 'undici';
import { encodeWriteRequest, type WriteSeries } from '../src/remote/write-encode.js';
import { labelsFromObject } from '../src/shared/labels.js';

interface Args {
  url: string;
  series: number;
  perRequest: number;
  inFlight: number;
  rounds: number;
  t0: number;
}

function parseArgs(argv: string[]): Args {
  const get = (k: string, d?: string) => {
    const a = argv.find((x) => x.startsWith(`--${k}=`));
    if (a === undefined && d === undefined) throw new Error(`--${k} is required`);
    return a === undefined ? (d as string) : a.slice(k.length + 3);
  };
  return {
    url: get('url'),
    series: Number(get('series', '100000')),
    perRequest: Number(get('per-request', '2000')),
    inFlight: Number(get('in-flight', '4')),
    rounds: Number(get('rounds', '10')),
    t0: Number(get('t0')),
  };
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const labels = Array.from({ length: a.series }, (_, i) =>
    labelsFromObject({
      __name__: `bench_metric_${i % 100}`,
      instance: `host-${Math.floor(i / 100)}:9100`,
      job: 'remote_write_bench',
      series_id: String(i),
    }),
  );
  // rounds x requests, each request a contiguous block of series with one sample each.
  const requests: Buffer[][] = [];
  let bytes = 0;
  for (let r = 0; r < a.rounds; r++) {
    const round: Buffer[] = [];
    const t = Float64Array.of(a.t0 + r * 15_000);
    for (let start = 0; start < a.series; start += a.perRequest) {
      const batch: WriteSeries[] = [];
      for (let i = start; i < Math.min(a.series, start + a.perRequest); i++) {
        batch.push({ labels: labels[i], t, v: Float64Array.of(i * 0.5 + r) });
      }
      const body = snappy.compressSync(Buffer.from(encodeWriteRequest(batch)));
      bytes += body.length;
      round.push(body);
    }
    requests.push(round);
  }
  process.stdout.write(
    `${JSON.stringify({ ready: true, requests: a.rounds * requests[0].length, bytes })}\n`,
  );
  const rl = createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => rl.once('line', () => resolve()));

  const u = new URL(a.url);
  const pool = new Pool(u.origin, { connections: a.inFlight, pipelining: 1 });
  const roundMs: number[] = [];
  let errors = 0;
  let firstError = '';
  const started = performance.now();
  for (const round of requests) {
    const rs = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < round.length) {
        const body = round[next++];
        const res = await pool.request({
          path: u.pathname,
          method: 'POST',
          headers: {
            'content-type': 'application/x-protobuf',
            'content-encoding': 'snappy',
            'x-prometheus-remote-write-version': '0.1.0',
          },
          body,
        });
        const text = await res.body.text();
        if (res.statusCode !== 204) {
          errors++;
          if (firstError === '') firstError = `${res.statusCode} ${text.trim()}`;
        }
      }
    };
    await Promise.all(Array.from({ length: a.inFlight }, worker));
    roundMs.push(performance.now() - rs);
  }
  const totalMs = performance.now() - started;
  await pool.close();
  process.stdout.write(`${JSON.stringify({ done: true, totalMs, roundMs, errors, firstError })}\n`);
  rl.close();
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
