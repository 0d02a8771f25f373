import http from 'node:http';
import type { FastifyInstance } from 'fastify';
import snappy from 'snappy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileRelabelConfigs } from '../src/config/relabel.js';
import { buildApp } from '../src/http/app.js';
import { DEFAULT_QUEUE, type Destination, RemoteWriteQueue, TeeAppendable } from '../src/remote/sender.js';
import { WriteDecoder } from '../src/remote/write-decode.js';
import { encodeWriteRequest } from '../src/remote/write-encode.js';
import { remoteWriteRoutes } from '../src/remote/write-handler.js';
import type { AppendRequest } from '../src/shared/ingest.js';
import { labelsFromObject } from '../src/shared/labels.js';
import { isStaleNaN, STALE_NAN } from '../src/shared/storage.js';
import { FakeEngine, FakeStorage } from './support/http-fakes.js';
import { type PromProc, startPrometheus, waitFor, which } from './support/prometheus-proc.js';

/** A receiver that records what arrives and answers with scripted statuses first. */
class Receiver {
  server: http.Server;
  url = '';
  script: number[] = [];
  /** Answers 503 to everything while set. */
  down = false;
  requests = 0;
  /** series key -> [t, v][] in arrival order */
  got = new Map<string, [number, number][]>();
  stale = 0;
  private dec = new WriteDecoder();

  constructor() {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        this.requests++;
        const status = this.down ? 503 : (this.script.shift() ?? 204);
        if (status === 204) {
          const d = this.dec.decode(
            snappy.uncompressSync(Buffer.concat(chunks), { asBuffer: true }) as Buffer,
          );
          d.request.series.forEach((flat, i) => {
            const key = flat.join(',');
            const list = this.got.get(key) ?? [];
            for (let k = d.request.sampleStart[i]; k < d.request.sampleStart[i + 1]; k++) {
              if (isStaleNaN(d.request.v[k])) this.stale++;
              list.push([d.request.t[k], d.request.v[k]]);
            }
            this.got.set(key, list);
          });
        }
        res.writeHead(status).end(status === 204 ? '' : 'nope\n');
      });
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}/receive`;
  }

  get samples(): number {
    let n = 0;
    for (const l of this.got.values()) n += l.length;
    return n;
  }
}

function request(series: { labels: Record<string, string>; t: number[]; v: number[] }[]): AppendRequest {
  const starts = [0];
  const t: number[] = [];
  const v: number[] = [];
  for (const s of series) {
    t.push(...s.t);
    v.push(...s.v);
    starts.push(t.length);
  }
  return {
    series: series.map((s) => labelsFromObject(s.labels).flatMap((l) => [l.name, l.value])),
    sampleStart: Uint32Array.from(starts),
    t: Float64Array.from(t),
    v: Float64Array.from(v),
  };
}

function dest(url: string, over: Partial<Destination> = {}): Destination {
  return {
    url,
    name: 'test',
    headers: {},
    timeoutMs: 5000,
    relabel: [],
    queue: {
      ...DEFAULT_QUEUE,
      shards: 3,
      maxSamplesPerSend: 50,
      batchSendDeadlineMs: 50,
      minBackoffMs: 10,
      maxBackoffMs: 40,
    },
    ...over,
  };
}

describe('remote write sender', () => {
  const rx = new Receiver();
  beforeAll(() => rx.start());
  afterAll(() => new Promise<void>((r) => rx.server.close(() => r())));

  it('delivers every sample, each series in order, with external labels; retries 5xx and 429; drops 400', async () => {
    rx.script = [500, 503, 429];
    const q = new RemoteWriteQueue(dest(rx.url), () => labelsFromObject({ cluster: 'c' }));
    const series = Array.from({ length: 20 }, (_, i) => ({
      labels: { __name__: 'm', i: String(i) },
      t: [] as number[],
      v: [] as number[],
    }));
    for (let round = 0; round < 30; round++) {
      q.enqueue(request(series.map((s) => ({ ...s, t: [1000 * round], v: [round] }))));
    }
    // A stale marker keeps its bits through the queue.
    const stale = request([{ labels: { __name__: 'm', i: '0' }, t: [30_000], v: [0] }]);
    stale.v[0] = STALE_NAN;
    q.enqueue(stale);
    // Resent or older samples (refused by the storage) are not sent again.
    q.enqueue(request([{ labels: { __name__: 'm', i: '1' }, t: [5000], v: [9] }]));
    await waitFor(async () => rx.samples === 601 || undefined, 10_000, 'all samples');
    expect(q.stats.retried).toBeGreaterThan(0);
    expect(rx.stale).toBe(1);
    for (const [key, list] of rx.got) {
      expect(key).toMatch(/^__name__,m,cluster,c,i,\d+$/);
      for (let k = 1; k < list.length; k++) expect(list[k][0]).toBeGreaterThan(list[k - 1][0]);
    }
    // A 400 drops the batch and counts it; later batches go through.
    rx.script = [400];
    q.enqueue(request([{ labels: { __name__: 'bad', i: 'x' }, t: [1], v: [1] }]));
    await waitFor(async () => q.stats.failed === 1 || undefined, 5000, 'the failed batch');
    q.enqueue(request([{ labels: { __name__: 'after', i: 'x' }, t: [1], v: [1] }]));
    await waitFor(
      async () => rx.got.has('__name__,after,cluster,c,i,x') || undefined,
      5000,
      'the next batch',
    );
    await q.close(1000);
  });

  it('owes what does not fit in its queue and reads it back from the storage: a long outage loses nothing', async () => {
    const run = async (withSource: boolean) => {
      const rx2 = new Receiver();
      await rx2.start();
      const storage = new FakeStorage();
      const d = dest(rx2.url);
      const q = new RemoteWriteQueue(
        { ...d, queue: { ...d.queue, capacity: 40 } },
        () => [],
        undefined,
        undefined,
        undefined,
        withSource ? storage : undefined,
      );
      const tee = new TeeAppendable(storage);
      tee.queues = [q];
      rx2.down = true;
      const t0 = Date.now() - 3_600_000;
      for (let round = 0; round < 50; round++) {
        const series = Array.from({ length: 20 }, (_, i) => ({
          labels: { __name__: 'owed', i: String(i) },
          t: [t0 + 1000 * round],
          v: [round + i / 100],
        }));
        await tee.append(request(series));
        await new Promise((r) => setTimeout(r, 2));
      }
      rx2.down = false;
      if (withSource) {
        await waitFor(async () => rx2.samples >= 1000 || undefined, 20_000, 'every sample');
        await q.caughtUp();
      } else {
        await waitFor(async () => q.pending === 0 || undefined, 20_000, 'the queue drained');
      }
      await q.close(1000);
      await new Promise<void>((r) => rx2.server.close(() => r()));
      return { q, rx2 };
    };
    const { q, rx2 } = await run(true);
    expect(q.stats.dropped).toBe(0);
    expect(rx2.samples).toBe(1000);
    expect(rx2.got.size).toBe(20);
    for (const [key, list] of rx2.got) {
      const i = Number(key.split(',').pop());
      expect(list.map(([, v]) => v)).toEqual(Array.from({ length: 50 }, (_, r) => r + i / 100));
      for (let k = 1; k < list.length; k++) expect(list[k][0]).toBeGreaterThan(list[k - 1][0]);
    }
    // Without the storage to read back from, the same outage drops (and counts) what did not fit.
    const without = await run(false);
    expect(without.q.stats.dropped).toBeGreaterThan(0);
    expect(without.rx2.samples + without.q.stats.dropped).toBe(1000);
  });

  it('applies write_relabel_configs and authorization headers', async () => {
    let auth = '';
    const server = http.createServer((req, res) => {
      auth = String(req.headers.authorization);
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    const q = new RemoteWriteQueue(
      dest(url, {
        headers: { authorization: 'Bearer s3cret' },
        relabel: compileRelabelConfigs([
          {
            sourceLabels: ['__name__'],
            separator: ';',
            regex: 'drop_.*',
            modulus: 0,
            targetLabel: '',
            replacement: '$1',
            action: 'drop',
          },
        ]),
      }),
      () => [],
    );
    q.enqueue(
      request([
        { labels: { __name__: 'drop_me' }, t: [1], v: [1] },
        { labels: { __name__: 'keep_me' }, t: [1], v: [1] },
      ]),
    );
    await waitFor(async () => q.stats.sent === 1 || undefined, 5000, 'one sample');
    expect(auth).toBe('Bearer s3cret');
    await q.close(1000);
    await new Promise<void>((r) => server.close(() => r()));
  });
});

const havePrometheus = which('prometheus') !== null;
if (!havePrometheus) console.log('skipping remote_write to Prometheus: `prometheus` is not on PATH');
const OUTAGE_MS = process.env.PROMSHARD_LONG_TESTS ? 30_000 : 5_000;

describe.skipIf(!havePrometheus)('remote_write to a real Prometheus 2.42 receiver', () => {
  let prom: PromProc;
  let app: FastifyInstance;
  let base: string;
  let queue: RemoteWriteQueue;
  const storage = new FakeStorage();

  beforeAll(async () => {
    prom = await startPrometheus('global:\n  scrape_interval: 1h\n', ['--web.enable-remote-write-receiver']);
    const tee = new TeeAppendable(storage);
    queue = new RemoteWriteQueue(
      dest(`${prom.url}/api/v1/write`, {
        queue: {
          ...DEFAULT_QUEUE,
          shards: 2,
          batchSendDeadlineMs: 200,
          minBackoffMs: 50,
          maxBackoffMs: 1000,
        },
      }),
      () => labelsFromObject({ sender: 'promshard' }),
    );
    tee.queues.push(queue);
    app = buildApp({
      queryable: storage,
      engine: new FakeEngine(storage),
      appendable: tee,
      routes: [remoteWriteRoutes({ enabled: true })],
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await queue?.close(1000);
    await app?.close();
    await prom?.stop();
  });

  async function push(round: number, now: number): Promise<void> {
    const series = Array.from({ length: 50 }, (_, i) => ({
      labels: labelsFromObject({ __name__: 'sender_test', i: String(i) }),
      t: Float64Array.of(now + round * 1000),
      v: Float64Array.of(round * 100 + i),
    }));
    const res = await fetch(`${base}/api/v1/write`, {
      method: 'POST',
      body: snappy.compressSync(Buffer.from(encodeWriteRequest(series))),
    });
    expect(res.status).toBe(204);
  }

  async function countAt(now: number): Promise<number> {
    const r = (await (
      await fetch(
        `${prom.url}/api/v1/query?query=${encodeURIComponent('count_over_time({__name__="sender_test",sender="promshard"}[1h])')}&time=${(now + 3_600_000) / 1000}`,
      )
    ).json()) as { data: { result: { value: [number, string] }[] } };
    return r.data.result.reduce((n, x) => n + Number(x.value[1]), 0);
  }

  it(`delivers everything ingested, also across a ${OUTAGE_MS / 1000} s receiver outage`, async () => {
    const now = Date.now() - 600_000;
    for (let round = 0; round < 10; round++) await push(round, now);
    await waitFor(
      async () => (await countAt(now)) === 500 || undefined,
      20_000,
      '500 samples at the receiver',
    );

    await prom.stop(true);
    const outageEnd = Date.now() + OUTAGE_MS;
    let round = 10;
    while (Date.now() < outageEnd) {
      await push(round++, now);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(queue.stats.retried).toBeGreaterThan(0);
    prom = await startPrometheus(
      'global:\n  scrape_interval: 1h\n',
      ['--web.enable-remote-write-receiver'],
      undefined,
      {
        dir: prom.dir,
        port: prom.port,
      },
    );
    const want = round * 50;
    await waitFor(
      async () => (await countAt(now)) === want || undefined,
      60_000,
      `${want} samples at the receiver`,
    );
    console.log(
      `remote_write sender: ${want} samples delivered, ${queue.stats.retried} sample-sends retried during a ${OUTAGE_MS / 1000} s outage, ${queue.stats.failed} failed`,
    );
    expect(queue.stats.failed).toBe(0);
    expect(queue.stats.dropped).toBe(0);
  });
});
