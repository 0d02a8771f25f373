/**
 * The remote-write load generator of `promshard bench ingest` and `mixed`, run as its own process so its
 * CPU is not counted against the server. Protocol: arguments as JSON in argv[2]; prints {"ready":true},
 * waits for a line on stdin, then sends rounds (one sample for every active series per round, requests of
 * `perRequest` series, `concurrency` requests in flight, the next round after the last request of this one
 * so no series' samples arrive out of order), printing {"progress":...} each second and {"done":...} at the
 * end (duration reached, or `rounds` rounds sent).
 *
 * Data: series {__name__="bench_metric_<id % metrics>", instance="host-<id / 100>:9100",
 * job="promshard_bench", series_id="<id>"}; counter-like values; timestamps from `t0` 15 s apart per round
 * while that stays in the past, then the wall clock. Churn: each round the `churn` fraction of the oldest
 * series stop and as many new ones start (Prometheus' series churn, e.g. pods replaced).
 * Requests are built straight into protobuf bytes from per-series cached label bytes, then snappy.
 */
import snappy from 'snappy';
import { Pool } from 'undici';
import { serveAsLoadChild } from './child.js';

export interface IngestLoadArgs {
  url: string;
  series: number;
  perRequest: number;
  concurrency: number;
  durationS: number;
  /** 0 = unbounded (duration only). */
  rounds: number;
  /** Fraction of series replaced per round. */
  churn: number;
  metrics: number;
  t0: number;
  intervalMs: number;
}

export interface IngestProgress {
  elapsedS: number;
  samples: number;
  requests: number;
  errors: number;
  rounds: number;
}

export interface IngestDone {
  samplesSent: number;
  samplesAccepted: number;
  requests: number;
  errors: number;
  firstError: string;
  seconds: number;
  rounds: number;
  seriesCreated: number;
  lastTimestamp: number;
  /** Per-request latency in ms, as a compact list (the parent summarises). */
  requestMs: number[];
  /** Samples accepted in each one-second interval. */
  perSecond: number[];
  bodyBytes: number;
}

const enc = new TextEncoder();

function varintLen(n: number): number {
  let len = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

function putVarint(buf: Buffer, off: number, n: number): number {
  while (n >= 128) {
    buf[off++] = (n % 128) | 128;
    n = Math.floor(n / 128);
  }
  buf[off++] = n;
  return off;
}

function labelField(name: string, value: string): Buffer {
  const n = enc.encode(name);
  const v = enc.encode(value);
  const inner = 1 + varintLen(n.length) + n.length + 1 + varintLen(v.length) + v.length;
  const b = Buffer.allocUnsafe(1 + varintLen(inner) + inner);
  let o = 0;
  b[o++] = 0x0a;
  o = putVarint(b, o, inner);
  b[o++] = 0x0a;
  o = putVarint(b, o, n.length);
  b.set(n, o);
  o += n.length;
  b[o++] = 0x12;
  o = putVarint(b, o, v.length);
  b.set(v, o);
  return b;
}

/** The TimeSeries.labels fields of one series (names sorted). */
function seriesLabels(id: number, metrics: number): Buffer {
  return Buffer.concat([
    labelField('__name__', `bench_metric_${id % metrics}`),
    labelField('instance', `host-${Math.floor(id / 100)}:9100`),
    labelField('job', 'promshard_bench'),
    labelField('series_id', String(id)),
  ]);
}

export async function runIngestLoad(
  a: IngestLoadArgs,
  onProgress: (p: IngestProgress) => void,
  waitGo: () => Promise<void>,
): Promise<IngestDone> {
  const cache = new Map<number, Buffer>();
  let first = 0; // active series ids: [first, first + series)
  const labelsOf = (id: number) => {
    let b = cache.get(id);
    if (b === undefined) {
      b = seriesLabels(id, a.metrics);
      cache.set(id, b);
    }
    return b;
  };
  for (let id = 0; id < a.series; id++) labelsOf(id);
  let scratch = Buffer.allocUnsafe(1 << 20);

  /** One request: series ids [from, to) with one sample each at t. */
  const build = (from: number, to: number, t: number, round: number): Buffer => {
    const tLen = varintLen(t);
    const sampleLen = 1 + 8 + 1 + tLen;
    let need = 0;
    for (let id = from; id < to; id++) {
      const inner = labelsOf(id).length + 1 + varintLen(sampleLen) + sampleLen;
      need += 1 + varintLen(inner) + inner;
    }
    if (scratch.length < need) scratch = Buffer.allocUnsafe(need * 2);
    let o = 0;
    for (let id = from; id < to; id++) {
      const lb = labelsOf(id);
      const inner = lb.length + 1 + varintLen(sampleLen) + sampleLen;
      scratch[o++] = 0x0a;
      o = putVarint(scratch, o, inner);
      lb.copy(scratch, o);
      o += lb.length;
      scratch[o++] = 0x12;
      o = putVarint(scratch, o, sampleLen);
      scratch[o++] = 0x09;
      scratch.writeDoubleLE((round + 1) * ((id % 7) + 1), o);
      o += 8;
      scratch[o++] = 0x10;
      o = putVarint(scratch, o, t);
    }
    return snappy.compressSync(scratch.subarray(0, o));
  };

  await waitGo();
  const u = new URL(a.url);
  const pool = new Pool(u.origin, { connections: a.concurrency, pipelining: 1 });
  const requestMs: number[] = [];
  const perSecond: number[] = [];
  let samplesSent = 0;
  let samplesAccepted = 0;
  let requests = 0;
  let errors = 0;
  let firstError = '';
  let bodyBytes = 0;
  let rounds = 0;
  let seriesCreated = a.series;
  let lastT = 0;
  const started = performance.now();
  const deadline = started + a.durationS * 1000;
  let acceptedAtTick = 0;
  const ticker = setInterval(() => {
    perSecond.push(samplesAccepted - acceptedAtTick);
    acceptedAtTick = samplesAccepted;
    onProgress({
      elapsedS: Math.round((performance.now() - started) / 100) / 10,
      samples: samplesAccepted,
      requests,
      errors,
      rounds,
    });
  }, 1000);
  try {
    let t = a.t0;
    while (performance.now() < deadline && (a.rounds === 0 || rounds < a.rounds)) {
      const now = Date.now();
      t = rounds === 0 ? a.t0 : t + a.intervalMs <= now ? t + a.intervalMs : Math.max(t + 1, now);
      lastT = t;
      const round = rounds;
      let next = first;
      const end = first + a.series;
      const worker = async () => {
        while (next < end && performance.now() < deadline) {
          const from = next;
          const to = Math.min(end, from + a.perRequest);
          next = to;
          const body = build(from, to, t, round);
          bodyBytes += body.length;
          const rs = performance.now();
          try {
            const res = await pool.request({
              path: u.pathname + u.search,
              method: 'POST',
              headers: {
                'content-type': 'application/x-protobuf',
                'content-encoding': 'snappy',
                'x-prometheus-remote-write-version': '0.1.0',
              },
              body,
            });
            const text = await res.body.text();
            requestMs.push(Math.round((performance.now() - rs) * 1000) / 1000);
            requests++;
            samplesSent += to - from;
            if (res.statusCode >= 200 && res.statusCode < 300) samplesAccepted += to - from;
            else {
              errors++;
              if (firstError === '') firstError = `${res.statusCode} ${text.trim().slice(0, 300)}`;
            }
          } catch (e) {
            errors++;
            requests++;
            if (firstError === '') firstError = (e as Error).message;
          }
        }
      };
      await Promise.all(Array.from({ length: a.concurrency }, worker));
      rounds++;
      if (a.churn > 0) {
        const replace = Math.max(1, Math.round(a.series * a.churn));
        for (let id = first; id < first + replace; id++) cache.delete(id);
        first += replace;
        seriesCreated += replace;
      }
    }
  } finally {
    clearInterval(ticker);
    await pool.close();
  }
  perSecond.push(samplesAccepted - acceptedAtTick);
  return {
    samplesSent,
    samplesAccepted,
    requests,
    errors,
    firstError,
    seconds: (performance.now() - started) / 1000,
    rounds,
    seriesCreated,
    lastTimestamp: lastT,
    requestMs,
    perSecond,
    bodyBytes,
  };
}

// As a child process.
if (process.argv[1]?.endsWith('ingest-loadgen.js')) serveAsLoadChild(runIngestLoad);
