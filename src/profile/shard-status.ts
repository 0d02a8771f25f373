/**
 * Shard profiling figures for `/api/v1/status/shards`, the per-shard section of `/api/v1/status/tsdb`
 * and `promshard top`: the shared counters (src/shared/counters.ts) read once a second, with rates,
 * append latency percentiles and event-loop utilisation over the last few seconds, and the skew between
 * shards (a hot shard takes far more than its share of samples or of CPU).
 */
import { performance } from 'node:perf_hooks';
import { LATENCY_BUCKETS_MS, type ShardFigures } from '../shared/counters.js';

/** What the sampler reads: the storage engine (src/coordinator) has this shape. */
export interface ShardFiguresSource {
  readonly shardCount: number;
  figures(): ShardFigures[];
}

export interface LatencySummary {
  /** Appends (batches) observed in the window. */
  count: number;
  /** Milliseconds, estimated from the histogram as Prometheus' histogram_quantile does; null: no appends. */
  p50: number | null;
  p90: number | null;
  p99: number | null;
  mean: number | null;
}

export interface ShardStatus {
  shard: number;
  series: number;
  samplesAppended: number;
  samplesPerSecond: number;
  batchesPerSecond: number;
  rejected: {
    outOfOrder: number;
    duplicateTimestamp: number;
    outOfBounds: number;
    tooFarInFuture: number;
    invalidSamples: number;
  };
  appendLatencyMs: LatencySummary;
  /** Batches sent to the shard and not yet answered. */
  queueDepth: number;
  walBytes: number;
  walSegments: number;
  checkpoints: number;
  headChunks: number;
  headChunkBytes: number;
  blocks: number;
  blockBytes: number;
  blocksCut: number;
  compactions: number;
  gcSecondsTotal: number;
  /** Share of the window the shard's thread spent in GC (0..1). */
  gcFraction: number;
  /** Event-loop utilisation of the shard's thread over the window (0..1); null before its first report. */
  eventLoopUtilization: number | null;
  threadId: number;
}

export interface SkewFigure {
  /** Largest shard value divided by the mean over shards (1 = perfectly even); null when all are 0. */
  maxOverMean: number | null;
  /** The shard with the largest value. */
  maxShard: number | null;
}

export interface ShardsStatus {
  /** Wall clock (ms) of the newest reading. */
  time: number;
  /** Seconds the rates, latencies and utilisations cover. */
  windowSeconds: number;
  shardCount: number;
  shards: ShardStatus[];
  totals: {
    series: number;
    samplesAppended: number;
    samplesPerSecond: number;
    queueDepth: number;
    walBytes: number;
    headChunks: number;
    blocks: number;
    blockBytes: number;
    appendLatencyMs: LatencySummary;
  };
  mainThread: {
    eventLoopUtilization: number | null;
    rssBytes: number;
    heapUsedBytes: number;
  };
  skew: {
    series: SkewFigure;
    samplesPerSecond: SkewFigure;
    eventLoopUtilization: SkewFigure;
    /**
     * A shard taking at least 1.5x the mean of samples/s or of event-loop time (and busy enough to
     * matter: > 100 samples/s, or > 20 % utilisation), else null.
     */
    hotShard: number | null;
    reason: string;
  };
}

interface Reading {
  at: number;
  wall: number;
  figures: ShardFigures[];
  mainElu: { idle: number; active: number };
}

/** Percentile from cumulative bucket counts (LATENCY_BUCKETS_MS then +Inf), linear within a bucket. */
export function bucketQuantile(q: number, cumulative: readonly number[]): number | null {
  const total = cumulative[cumulative.length - 1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let b = 0;
  while (b < cumulative.length - 1 && cumulative[b] < rank) b++;
  // The +Inf bucket: the highest finite bound, as histogram_quantile answers.
  if (b >= LATENCY_BUCKETS_MS.length) return LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1];
  const lo = b === 0 ? 0 : LATENCY_BUCKETS_MS[b - 1];
  const hi = LATENCY_BUCKETS_MS[b];
  const below = b === 0 ? 0 : cumulative[b - 1];
  const inBucket = cumulative[b] - below;
  if (inBucket <= 0) return hi;
  return lo + ((hi - lo) * (rank - below)) / inBucket;
}

function latency(buckets: readonly number[], sumMicros: number): LatencySummary {
  const count = buckets[buckets.length - 1] ?? 0;
  return {
    count,
    p50: round3(bucketQuantile(0.5, buckets)),
    p90: round3(bucketQuantile(0.9, buckets)),
    p99: round3(bucketQuantile(0.99, buckets)),
    mean: count > 0 ? round3(sumMicros / 1000 / count) : null,
  };
}

function round3(x: number | null): number | null {
  return x === null ? null : Math.round(x * 1000) / 1000;
}

function skewOf(values: readonly (number | null)[]): SkewFigure {
  let max = -1;
  let maxShard: number | null = null;
  let sum = 0;
  let n = 0;
  values.forEach((v, i) => {
    if (v === null) return;
    sum += v;
    n++;
    if (v > max) {
      max = v;
      maxShard = i;
    }
  });
  if (n === 0 || sum <= 0) return { maxOverMean: null, maxShard: null };
  return { maxOverMean: Math.round((max / (sum / n)) * 1000) / 1000, maxShard };
}

/**
 * Reads the counters every second (an unref'd timer) and keeps the last `windowSeconds` of readings, so
 * each answer is a difference over a few seconds rather than since the start.
 */
export class ShardStatusSampler {
  private readonly readings: Reading[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly source: ShardFiguresSource,
    private readonly windowSeconds = 5,
  ) {}

  start(): this {
    if (this.timer === null) {
      this.take();
      this.timer = setInterval(() => this.take(), 1000);
      this.timer.unref();
    }
    return this;
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private read(): Reading {
    const elu = performance.eventLoopUtilization();
    return {
      at: performance.now(),
      wall: Date.now(),
      figures: this.source.figures(),
      mainElu: { idle: elu.idle, active: elu.active },
    };
  }

  private take(): void {
    this.readings.push(this.read());
    const cutoff = performance.now() - this.windowSeconds * 1000 - 500;
    while (this.readings.length > 2 && this.readings[0].at < cutoff) this.readings.shift();
  }

  /** The figures now, with rates over the window (since the oldest kept reading). */
  status(): ShardsStatus {
    const now = this.read();
    const old = this.readings[0] ?? now;
    const dt = Math.max((now.at - old.at) / 1000, 1e-9);
    const haveWindow = now.at - old.at >= 200;
    const shards: ShardStatus[] = now.figures.map((f, i) => {
      const o = old.figures[i] ?? f;
      const buckets = f.latencyBuckets.map((c, b) => (haveWindow ? c - o.latencyBuckets[b] : c));
      const sum = haveWindow ? f.appendLatencySumMicros - o.appendLatencySumMicros : f.appendLatencySumMicros;
      const dActive = f.eluActiveMicros - o.eluActiveMicros;
      const dIdle = f.eluIdleMicros - o.eluIdleMicros;
      return {
        shard: i,
        series: f.series,
        samplesAppended: f.samplesAppended,
        samplesPerSecond: haveWindow ? Math.round((f.samplesAppended - o.samplesAppended) / dt) : 0,
        batchesPerSecond: haveWindow ? Math.round(((f.batches - o.batches) / dt) * 10) / 10 : 0,
        rejected: {
          outOfOrder: f.outOfOrder,
          duplicateTimestamp: f.duplicateTimestamp,
          outOfBounds: f.outOfBounds,
          tooFarInFuture: f.tooFarInFuture,
          invalidSamples: f.invalidSamples,
        },
        appendLatencyMs: latency(buckets, sum),
        queueDepth: Math.max(0, f.queuedBatches),
        walBytes: f.walBytes,
        walSegments: f.walSegments,
        checkpoints: f.checkpoints,
        headChunks: f.chunks,
        headChunkBytes: f.headChunkBytes,
        blocks: f.blocks,
        blockBytes: f.blockBytes,
        blocksCut: f.blocksCut,
        compactions: f.compactions,
        gcSecondsTotal: f.gcMicros / 1e6,
        gcFraction: haveWindow ? Math.round(((f.gcMicros - o.gcMicros) / 1e6 / dt) * 1000) / 1000 : 0,
        eventLoopUtilization:
          dActive + dIdle > 0
            ? Math.round((dActive / (dActive + dIdle)) * 1000) / 1000
            : f.eluActiveMicros + f.eluIdleMicros > 0
              ? Math.round((f.eluActiveMicros / (f.eluActiveMicros + f.eluIdleMicros)) * 1000) / 1000
              : null,
        threadId: f.threadId,
      };
    });
    const allBuckets = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
    let allSum = 0;
    now.figures.forEach((f, i) => {
      const o = old.figures[i] ?? f;
      for (let b = 0; b < allBuckets.length; b++)
        allBuckets[b] += haveWindow ? f.latencyBuckets[b] - o.latencyBuckets[b] : f.latencyBuckets[b];
      allSum += haveWindow ? f.appendLatencySumMicros - o.appendLatencySumMicros : f.appendLatencySumMicros;
    });
    const sumOf = (k: 'series' | 'samplesAppended' | 'samplesPerSecond' | 'queueDepth' | 'walBytes') =>
      shards.reduce((n, s) => n + s[k], 0);
    const mainActive = now.mainElu.active - old.mainElu.active;
    const mainIdle = now.mainElu.idle - old.mainElu.idle;
    const mem = process.memoryUsage();

    const rate = skewOf(shards.map((s) => s.samplesPerSecond));
    const elu = skewOf(shards.map((s) => s.eventLoopUtilization));
    let hotShard: number | null = null;
    let reason = '';
    const meanRate = sumOf('samplesPerSecond') / Math.max(1, shards.length);
    if (shards.length > 1 && rate.maxOverMean !== null && rate.maxOverMean >= 1.5 && meanRate * 1.5 > 100) {
      hotShard = rate.maxShard;
      reason = `shard ${hotShard} appends ${rate.maxOverMean}x the mean samples/s`;
    } else if (
      shards.length > 1 &&
      elu.maxOverMean !== null &&
      elu.maxOverMean >= 1.5 &&
      elu.maxShard !== null &&
      (shards[elu.maxShard].eventLoopUtilization ?? 0) > 0.2
    ) {
      hotShard = elu.maxShard;
      reason = `shard ${hotShard} is busy ${elu.maxOverMean}x the mean event-loop time`;
    }
    return {
      time: now.wall,
      windowSeconds: haveWindow ? Math.round(dt * 100) / 100 : 0,
      shardCount: shards.length,
      shards,
      totals: {
        series: sumOf('series'),
        samplesAppended: sumOf('samplesAppended'),
        samplesPerSecond: sumOf('samplesPerSecond'),
        queueDepth: sumOf('queueDepth'),
        walBytes: sumOf('walBytes'),
        headChunks: shards.reduce((n, s) => n + s.headChunks, 0),
        blocks: shards.reduce((n, s) => n + s.blocks, 0),
        blockBytes: shards.reduce((n, s) => n + s.blockBytes, 0),
        appendLatencyMs: latency(allBuckets, allSum),
      },
      mainThread: {
        eventLoopUtilization:
          mainActive + mainIdle > 0 ? Math.round((mainActive / (mainActive + mainIdle)) * 1000) / 1000 : null,
        rssBytes: mem.rss,
        heapUsedBytes: mem.heapUsed,
      },
      skew: {
        series: skewOf(shards.map((s) => s.series)),
        samplesPerSecond: rate,
        eventLoopUtilization: elu,
        hotShard,
        reason,
      },
    };
  }
}
