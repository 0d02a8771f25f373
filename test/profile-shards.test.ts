// Shard profiling against a real promshard (the built CLI, 2 real shard workers) under remote-write load:
// /api/v1/status/shards and the per-shard section of /api/v1/status/tsdb (JSON shape, Prometheus'
// envelope), and POST /api/v1/admin/profile (valid .cpuprofile files with nodes and samples per thread).
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runIngestLoad } from '../src/bench/ingest-loadgen.js';
import { type ManagedServer, startServer } from '../src/bench/servers.js';
import { bucketQuantile } from '../src/profile/shard-status.js';
import { LATENCY_BUCKETS_MS } from '../src/shared/counters.js';

let server: ManagedServer;
/** Each load continues where the last one stopped, so no sample is out of order. */
let nextT0 = Date.now() - 3600_000;

async function load(url: string, durationS: number) {
  const done = await runIngestLoad(
    {
      url: `${url}/api/v1/write`,
      series: 3000,
      perRequest: 500,
      concurrency: 2,
      durationS,
      rounds: 0,
      churn: 0,
      metrics: 10,
      t0: nextT0,
      intervalMs: 15_000,
    },
    () => {},
    async () => {},
  );
  nextT0 = done.lastTimestamp + 15_000;
  return done;
}

beforeAll(async () => {
  server = await startServer('promshard', { shards: 2 });
  const d = await load(server.url, 1.5);
  expect(d.errors).toBe(0);
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

const num = expect.any(Number);
const latency = {
  count: num,
  p50: expect.anything(),
  p90: expect.anything(),
  p99: expect.anything(),
  mean: expect.anything(),
};

function checkShape(d: Record<string, unknown>) {
  expect(d).toEqual(
    expect.objectContaining({
      time: num,
      windowSeconds: num,
      shardCount: 2,
      totals: expect.objectContaining({
        series: 3000,
        samplesPerSecond: num,
        queueDepth: num,
        walBytes: num,
      }),
      mainThread: expect.objectContaining({ rssBytes: num, heapUsedBytes: num }),
      skew: expect.objectContaining({
        series: { maxOverMean: num, maxShard: num },
        samplesPerSecond: expect.objectContaining({ maxOverMean: expect.anything() }),
        eventLoopUtilization: expect.any(Object),
        hotShard: expect.toSatisfy((x: unknown) => x === null || typeof x === 'number'),
        reason: expect.any(String),
      }),
    }),
  );
  const shards = d.shards as Record<string, unknown>[];
  expect(shards).toHaveLength(2);
  shards.forEach((s, i) => {
    expect(s).toEqual(
      expect.objectContaining({
        shard: i,
        series: num,
        samplesAppended: num,
        samplesPerSecond: num,
        batchesPerSecond: num,
        appendLatencyMs: expect.objectContaining(latency),
        queueDepth: num,
        walBytes: num,
        walSegments: num,
        headChunks: num,
        headChunkBytes: num,
        blocks: num,
        blockBytes: num,
        compactions: num,
        gcSecondsTotal: num,
        gcFraction: num,
        threadId: num,
      }),
    );
    expect(s.series as number).toBeGreaterThan(0);
    expect(s.walBytes as number).toBeGreaterThan(0);
    expect(s.headChunks as number).toBeGreaterThan(0);
    expect(s.threadId as number).toBeGreaterThan(0);
    expect(s.rejected).toEqual({
      outOfOrder: 0,
      duplicateTimestamp: 0,
      outOfBounds: 0,
      tooFarInFuture: 0,
      invalidSamples: 0,
    });
  });
  // The series split between shards adds up; their ELU is reported once the workers have written it.
  expect((shards[0].series as number) + (shards[1].series as number)).toBe(3000);
}

describe('status/shards', () => {
  it('answers the per-shard figures in the success envelope, with rates while load runs', async () => {
    const during = load(server.url, 2.5);
    await new Promise((r) => setTimeout(r, 1800));
    const res = await fetch(`${server.url}/api/v1/status/shards`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const body = (await res.json()) as { status: string; data: Record<string, unknown> };
    expect(body.status).toBe('success');
    checkShape(body.data);
    const totals = body.data.totals as {
      samplesPerSecond: number;
      appendLatencyMs: { count: number; p99: number };
    };
    expect(totals.samplesPerSecond).toBeGreaterThan(0);
    expect(totals.appendLatencyMs.count).toBeGreaterThan(0);
    expect(totals.appendLatencyMs.p99).toBeGreaterThan(0);
    for (const s of body.data.shards as { eventLoopUtilization: number | null }[]) {
      expect(s.eventLoopUtilization).not.toBeNull();
      expect(s.eventLoopUtilization!).toBeGreaterThanOrEqual(0);
      expect(s.eventLoopUtilization!).toBeLessThanOrEqual(1);
    }
    expect((await during).errors).toBe(0);
  });

  it('is a section of status/tsdb beside Prometheus fields', async () => {
    const body = (await (await fetch(`${server.url}/api/v1/status/tsdb`)).json()) as {
      status: string;
      data: { headStats: unknown; seriesCountByMetricName: unknown; shards: Record<string, unknown> };
    };
    expect(body.status).toBe('success');
    expect(body.data.headStats).toBeDefined();
    expect(body.data.seriesCountByMetricName).toBeDefined();
    checkShape(body.data.shards);
  });

  it('estimates percentiles from the latency buckets as histogram_quantile does', () => {
    const buckets = new Array(LATENCY_BUCKETS_MS.length + 1).fill(0);
    expect(bucketQuantile(0.5, buckets)).toBeNull();
    // 10 observations in (0.05, 0.1], cumulative.
    for (let b = 1; b < buckets.length; b++) buckets[b] = 10;
    expect(bucketQuantile(0.5, buckets)).toBeCloseTo(0.075, 6);
    // Everything beyond the last finite bound answers that bound.
    const inf = new Array(LATENCY_BUCKETS_MS.length + 1).fill(0);
    inf[inf.length - 1] = 3;
    expect(bucketQuantile(0.99, inf)).toBe(LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1]);
  });
});

describe('admin/profile', () => {
  it('writes a .cpuprofile per thread (main and each shard) with nodes and samples, and a summary', async () => {
    const during = load(server.url, 2);
    const res = await fetch(`${server.url}/api/v1/admin/profile?seconds=1.5`, { method: 'POST' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      status: string;
      data: {
        dir: string;
        summary: string;
        summaryFile: string;
        threads: {
          thread: string;
          file: string;
          samples: number;
          top: { functionName: string; selfMs: number }[];
        }[];
      };
    };
    await during;
    expect(body.status).toBe('success');
    const names = body.data.threads.map((t) => t.thread);
    expect(names).toEqual(['main', 'shard-0', 'shard-1']);
    for (const t of body.data.threads) {
      expect(t.file.endsWith(`${t.thread}.cpuprofile`)).toBe(true);
      const p = JSON.parse(readFileSync(t.file, 'utf8')) as {
        nodes: { id: number; callFrame: { functionName: string } }[];
        samples: number[];
        timeDeltas: number[];
        startTime: number;
        endTime: number;
      };
      expect(p.nodes.length).toBeGreaterThan(1);
      expect(p.samples.length).toBeGreaterThan(100);
      expect(p.timeDeltas).toHaveLength(p.samples.length);
      expect(p.endTime - p.startTime).toBeGreaterThan(1_000_000); // microseconds
      const ids = new Set(p.nodes.map((n) => n.id));
      for (const s of p.samples) expect(ids.has(s)).toBe(true);
      expect(t.samples).toBe(p.samples.length);
    }
    expect(existsSync(body.data.summaryFile)).toBe(true);
    expect(body.data.summary).toMatch(/== shard-1: \d+ samples/);
    expect(readFileSync(body.data.summaryFile, 'utf8')).toBe(body.data.summary);
  }, 60_000);

  it('refuses a bad duration with a bad_data error', async () => {
    for (const s of ['0', '-1', 'abc', '301']) {
      const res = await fetch(`${server.url}/api/v1/admin/profile?seconds=${s}`, { method: 'POST' });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { status: string; errorType: string; error: string };
      expect(body).toEqual(expect.objectContaining({ status: 'error', errorType: 'bad_data' }));
      expect(body.error).toMatch(/invalid parameter "seconds"/);
    }
  });
});
