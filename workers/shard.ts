/**
 * A shard worker: wires src/tsdb's ShardStorage to the shard protocol (shared/protocol.ts). It owns the
 * shard's head and WAL; every request is answered, a bad one with an error, and the shard keeps working.
 */
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { ShardCounters } from '../src/shared/counters.js';
import type { Matcher } from '../src/shared/matchers.js';
import {
  type AppendReply,
  type ShardInit,
  type ShardRequest,
  type ShardResponse,
  type ShardStartup,
  viewBatch,
} from '../src/shared/protocol.js';
import { noteForeground, setBackgroundShare } from '../src/tsdb/block/yield.js';
import { CODE_COUNT } from '../src/tsdb/head.js';
import { ShardDb } from '../src/tsdb/shard-db.js';
import { shardWalDir } from '../src/tsdb/shard-storage.js';
import { listSegments } from '../src/tsdb/wal.js';

const init = workerData as ShardInit;
const port = parentPort;
if (port === null) throw new Error('workers/shard.ts must run as a worker thread');
const counters = new ShardCounters(init.counters, init.shards);
const me = init.shard;
const walDir = shardWalDir(init.dataDir, me);

const CODE_FIELDS = [
  'samplesAppended',
  'duplicatesIgnored',
  'outOfOrder',
  'duplicateTimestamp',
  'outOfBounds',
  'tooFarInFuture',
  'invalidSamples',
] as const;

let db: ShardDb;
try {
  db = await ShardDb.open(init.dataDir, me, {
    chunkRangeMs: init.chunkRangeMs,
    futureGraceMs: init.futureGraceMs,
    segmentSize: init.segmentSize,
    retentionMs: init.retentionMs,
    retentionBytes: init.retentionBytes,
    maxBlockDurationMs: init.maxBlockDurationMs,
    logger: { warn: (m) => console.warn(`promshard shard ${me}: ${m}`) },
    blockLog: (level, msg, fields) => {
      if (level !== 'info')
        console.warn(`promshard shard ${me}: ${msg} ${fields ? JSON.stringify(fields) : ''}`);
    },
  });
} catch (err) {
  const msg: ShardStartup = {
    op: 'fatal',
    error: `shard ${me}: cannot open ${walDir}: ${(err as Error).message}`,
  };
  port.postMessage(msg);
  process.exit(1);
}
const storage = db.storage;
counters.set(me, 'series', storage.head.seriesCount);
counters.set(me, 'replayedSamples', storage.replay.samples);
counters.set(me, 'replayMillis', storage.replay.ms);
counters.set(me, 'walBytes', storage.replay.bytes);
updateHeadFigures();
const ready: ShardStartup = { op: 'ready', replay: storage.replay };
port.postMessage(ready);

function updateHeadFigures(): void {
  const s = storage.head.chunks.stats();
  const blocks = db.blocks.blocks();
  let blockBytes = 0;
  for (const b of blocks) blockBytes += b.sizeBytes;
  counters.set(me, 'blocks', blocks.length);
  counters.set(me, 'blockBytes', blockBytes);
  counters.set(me, 'chunks', s.chunks);
  counters.set(me, 'headChunkBytes', s.bytes);
  counters.set(me, 'walSegments', listSegments(walDir).length);
}

counters.set(me, 'threadId', threadId);

// Event-loop utilisation of this thread, cumulative, for /api/v1/status/shards and `promshard top`.
const eluTimer = setInterval(() => {
  const elu = performance.eventLoopUtilization();
  counters.set(me, 'eluActiveMicros', elu.active * 1000);
  counters.set(me, 'eluIdleMicros', elu.idle * 1000);
  const h = getHeapStatistics();
  counters.set(me, 'heapUsedBytes', h.used_heap_size);
  counters.set(me, 'heapTotalBytes', h.total_heap_size);
  counters.set(me, 'externalBytes', h.external_memory);
}, 1000);
eluTimer.unref();

// Compactions run inside db.cutBlocks(); count the runs that wrote something.
const compact = db.blocks.compact.bind(db.blocks);
db.blocks.compact = async () => {
  const made = await compact();
  if (made.length > 0) counters.add(me, 'compactions', 1);
  return made;
};

let batchesSinceFigures = 0;
new PerformanceObserver((list) => {
  let us = 0;
  for (const e of list.getEntries()) us += e.duration * 1000;
  counters.add(me, 'gcMicros', us);
}).observe({ entryTypes: ['gc'] });

/**
 * A checkpoint folds the WAL into chunk state once the WAL since the last one exceeds this (or twice the
 * last checkpoint's size), which bounds both WAL size and replay time after kill -9.
 */
const CHECKPOINT_MIN_BYTES = 128 * 1024 * 1024;
let checkpointQueued = false;
let cutQueued = false;

/**
 * Freed batch buffers stay in glibc's heap unless trimmed, and resident memory is a target figure. But
 * malloc_trim walks every free chunk of the heap: at 500k series a shard it took ~110 ms, 2% of the thread
 * when run every 5 s. So the next trim waits until the last one is at most TRIM_SHARE of the time since.
 */
const TRIM_MIN_MS = 5000;
const TRIM_SHARE = 0.005;
let trimTimer: NodeJS.Timeout | undefined;
function scheduleTrim(afterMs: number): void {
  trimTimer = setTimeout(() => {
    if (closing) return;
    const t0 = performance.now();
    storage.head.chunks.trimMemory();
    scheduleTrim(Math.max(TRIM_MIN_MS, (performance.now() - t0) / TRIM_SHARE));
  }, afterMs).unref();
}
scheduleTrim(TRIM_MIN_MS);

function handle(req: ShardRequest): { result: unknown; transfer: ArrayBuffer[] } {
  switch (req.op) {
    case 'append': {
      const started = performance.now();
      const r = storage.append(viewBatch(req.batch));
      counters.set(me, 'series', storage.head.seriesCount);
      for (let c = 0; c < CODE_COUNT; c++) counters.add(me, CODE_FIELDS[c], r.counts[c]);
      counters.add(me, 'walBytes', r.walBytes);
      counters.add(me, 'batches', 1);
      counters.observeLatency(me, performance.now() - started);
      // stats() walks nothing (kept incrementally) but listing segments does; do it now and then.
      if (++batchesSinceFigures >= 16) {
        batchesSinceFigures = 0;
        updateHeadFigures();
      }
      const reply: AppendReply = { counts: r.counts, walBytes: r.walBytes, seriesRefs: r.seriesRefs };
      return {
        result: reply,
        transfer: [r.counts.buffer as ArrayBuffer, r.seriesRefs.buffer as ArrayBuffer],
      };
    }
    case 'select': {
      const { reply, transfer } = db.selectReply(req.matchers as Matcher[], req.mint, req.maxt);
      return { result: reply, transfer };
    }
    case 'series':
      return { result: db.series(req.matcherSets, req.mint, req.maxt), transfer: [] };
    case 'labelNames':
      return { result: db.labelNames(req.matcherSets, req.mint, req.maxt), transfer: [] };
    case 'labelValues':
      return {
        result: db.labelValues(req.name, req.matcherSets, req.mint, req.maxt),
        transfer: [],
      };
    case 'close':
      // Handled in the message listener (asynchronous).
      return { result: null, transfer: [] };
    case 'cutBlocks':
    case 'deleteSeries':
    case 'cleanTombstones':
    case 'snapshot':
      // Asynchronous: handled in the message listener.
      return { result: null, transfer: [] };
    case 'tsdbStatus': {
      const status = db.status();
      return { result: status, transfer: [status.pairCounts.buffer as ArrayBuffer] };
    }
    default:
      throw new Error(`unknown request ${(req as { op: string }).op}`);
  }
}

/** Cuts blocks from the head when it spans more than 1.5 block ranges; compaction and retention follow. */
async function cutBlocks(): Promise<number> {
  const n = await db.cutBlocks();
  // A total: concurrent calls (the append trigger, the timer, a request) each see the others' cuts.
  counters.set(me, 'blocksCut', db.blocksCutTotal);
  // Compaction and retention may have changed the blocks even without a cut.
  updateHeadFigures();
  return n;
}

/** Requests answered when their asynchronous work is done; null for the others (and for admin work once closing). */
function asyncRequest(req: ShardRequest): Promise<unknown> | null {
  switch (req.op) {
    case 'close':
      return closeDb();
    case 'cutBlocks':
      return cutBlocks();
    case 'deleteSeries':
      return closing ? null : db.deleteSeries(req.matchers as Matcher[], req.mint, req.maxt);
    case 'cleanTombstones':
      return closing ? null : db.cleanTombstones().finally(updateHeadFigures);
    case 'snapshot':
      return closing ? null : db.snapshot(req.dir, req.withHead);
    default:
      return null;
  }
}

/**
 * Block work (head cuts, compaction) takes at most this share of the shard thread while appends or queries
 * arrive (pauses between 10 ms slices), so ingestion keeps its rate; on an idle shard it runs at full speed.
 * PROMSHARD_BLOCK_WORK_SHARE overrides it. Measured with `node dist/bench/run.js ingest --compaction`.
 */
setBackgroundShare(Number(process.env.PROMSHARD_BLOCK_WORK_SHARE ?? 0.15));

// Prometheus checks for a head to compact every minute.
const cutTimer = setInterval(() => {
  cutBlocks().catch((err: Error) => console.error(`promshard shard ${me}: block cut failed: ${err.message}`));
}, 60_000);
cutTimer.unref();
// As Prometheus on open: blocks past retention go (and a head replayed past 1.5 block ranges is cut) at
// once, not a minute later. Deferred so that it does not hold up the shard's first answers.
setImmediate(() => {
  if (closing) return;
  cutBlocks().catch((err: Error) => console.error(`promshard shard ${me}: block cut failed: ${err.message}`));
});

let closing = false;

port.on('message', (req: ShardRequest) => {
  if (req.op === 'append') counters.add(me, 'queuedBatches', -1);
  noteForeground();
  const run = asyncRequest(req);
  if (run !== null) {
    // Asynchronous requests: answered when done; a close stops the timers and lets the thread end.
    run
      .then(
        (result) => port.postMessage({ id: req.id, ok: true, result } satisfies ShardResponse),
        (err: Error) =>
          port.postMessage({
            id: req.id,
            ok: false,
            error: `shard ${me}: ${err.message}`,
          } satisfies ShardResponse),
      )
      .finally(() => {
        if (req.op === 'close') port.close();
      });
    return;
  }
  if (closing) {
    port.postMessage({ id: req.id, ok: false, error: `shard ${me}: closing` } satisfies ShardResponse);
    return;
  }
  let msg: ShardResponse;
  let transfer: ArrayBuffer[] = [];
  try {
    const h = handle(req);
    msg = { id: req.id, ok: true, result: h.result };
    transfer = h.transfer;
  } catch (err) {
    msg = { id: req.id, ok: false, error: `shard ${me}: ${(err as Error).message}` };
  }
  port.postMessage(msg, transfer);
  if (
    req.op === 'append' &&
    !checkpointQueued &&
    !storage.checkpointing &&
    storage.wantsCheckpoint(CHECKPOINT_MIN_BYTES)
  ) {
    // After the reply is on its way: a checkpoint holds the shard for a while.
    checkpointQueued = true;
    setImmediate(() => {
      checkpointQueued = false;
      if (closing || storage.checkpointing) return;
      try {
        const bytes = storage.checkpoint();
        counters.add(me, 'checkpoints', 1);
        counters.set(me, 'checkpointBytes', bytes);
        updateHeadFigures();
      } catch (err) {
        console.error(`promshard shard ${me}: WAL checkpoint failed: ${(err as Error).message}`);
      }
    });
  }
  if (req.op === 'append' && !cutQueued && !closing && db.compactable()) {
    // As Prometheus' appender commit does: a head that became compactable is cut now, not at the next tick.
    cutQueued = true;
    setImmediate(() => {
      cutQueued = false;
      if (closing) return;
      cutBlocks().catch((err: Error) =>
        console.error(`promshard shard ${me}: block cut failed: ${err.message}`),
      );
    });
  }
});

async function closeDb(): Promise<null> {
  closing = true;
  clearInterval(cutTimer);
  clearTimeout(trimTimer);
  clearInterval(eluTimer);
  await db.close();
  updateHeadFigures();
  return null;
}
