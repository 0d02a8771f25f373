/**
 * Live shard figures in one SharedArrayBuffer: each shard writes its own slots with Atomics, the main
 * thread reads them with Atomics (for /metrics and shard profiling) without a message round trip.
 * Slots are 64-bit integers (BigInt64Array), so counts never wrap.
 */

export const COUNTER_FIELDS = [
  'series',
  'samplesAppended',
  'duplicatesIgnored',
  'outOfOrder',
  'duplicateTimestamp',
  'outOfBounds',
  'tooFarInFuture',
  'invalidSamples',
  'walBytes',
  'walSegments',
  /** Batches sent to the shard and not yet answered (the main thread adds, the shard subtracts). */
  'queuedBatches',
  'batches',
  'chunks',
  'headChunkBytes',
  'appendLatencySumMicros',
  'replayedSamples',
  'replayMillis',
  /** Time the shard's thread spent in garbage collection. */
  'gcMicros',
  'checkpoints',
  'checkpointBytes',
  'blocksCut',
  /**
   * The shard thread's event loop, cumulative (performance.eventLoopUtilization() of the thread, written
   * once a second): utilisation over an interval is d(active) / (d(active) + d(idle)).
   */
  'eluActiveMicros',
  'eluIdleMicros',
  /** Persisted blocks the shard holds, and their bytes on disk. */
  'blocks',
  'blockBytes',
  /** Compaction runs that produced at least one block. */
  'compactions',
  /** The worker's threadId, so a profiler attached by the inspector can name the shard. */
  'threadId',
  /** The shard isolate's V8 heap (used and reserved), written with the ELU: resident memory is a target figure. */
  'heapUsedBytes',
  'heapTotalBytes',
  /** Memory outside that heap that V8 knows of (array buffers and addon-reported), written with the heap. */
  'externalBytes',
] as const;

export type CounterField = (typeof COUNTER_FIELDS)[number];

/** Upper bounds (ms) of the append latency histogram buckets; a last bucket takes the rest (+Inf). */
export const LATENCY_BUCKETS_MS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 1000] as const;

const FIELD_INDEX = Object.fromEntries(COUNTER_FIELDS.map((f, i) => [f, i])) as Record<CounterField, number>;
const STRIDE = COUNTER_FIELDS.length + LATENCY_BUCKETS_MS.length + 1;

export type ShardFigures = Record<CounterField, number> & {
  /** Cumulative counts per bucket of LATENCY_BUCKETS_MS, then +Inf (Prometheus histogram style). */
  latencyBuckets: number[];
};

export class ShardCounters {
  readonly slots: BigInt64Array;

  constructor(
    readonly buffer: SharedArrayBuffer,
    readonly shards: number,
  ) {
    this.slots = new BigInt64Array(buffer);
    if (this.slots.length < shards * STRIDE) throw new RangeError('counters buffer too small');
  }

  static create(shards: number): ShardCounters {
    return new ShardCounters(new SharedArrayBuffer(shards * STRIDE * 8), shards);
  }

  add(shard: number, field: CounterField, n: number): void {
    if (n !== 0) Atomics.add(this.slots, shard * STRIDE + FIELD_INDEX[field], BigInt(Math.round(n)));
  }

  set(shard: number, field: CounterField, n: number): void {
    Atomics.store(this.slots, shard * STRIDE + FIELD_INDEX[field], BigInt(Math.round(n)));
  }

  get(shard: number, field: CounterField): number {
    return Number(Atomics.load(this.slots, shard * STRIDE + FIELD_INDEX[field]));
  }

  observeLatency(shard: number, ms: number): void {
    let b = 0;
    while (b < LATENCY_BUCKETS_MS.length && ms > LATENCY_BUCKETS_MS[b]) b++;
    Atomics.add(this.slots, shard * STRIDE + COUNTER_FIELDS.length + b, 1n);
    Atomics.add(
      this.slots,
      shard * STRIDE + FIELD_INDEX.appendLatencySumMicros,
      BigInt(Math.round(ms * 1000)),
    );
  }

  read(shard: number): ShardFigures {
    const out = {} as ShardFigures;
    for (const f of COUNTER_FIELDS) out[f] = this.get(shard, f);
    const buckets: number[] = [];
    let cum = 0;
    for (let b = 0; b <= LATENCY_BUCKETS_MS.length; b++) {
      cum += Number(Atomics.load(this.slots, shard * STRIDE + COUNTER_FIELDS.length + b));
      buckets.push(cum);
    }
    out.latencyBuckets = buckets;
    return out;
  }
}
