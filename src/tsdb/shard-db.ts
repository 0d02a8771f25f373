/**
 * A shard's whole database: its head + WAL (ShardStorage) and its blocks (BlockStore of
 * src/tsdb/compact). Reads merge the two; cutBlocks() moves the oldest 2h of the head into a block once
 * the head spans more than 1.5 block ranges (as Prometheus 2.42 does), then truncates the head and
 * checkpoints the WAL, compacts and applies retention.
 */
import { compareLabels, compareStrings, type Labels } from '../shared/labels.js';
import type { Matcher } from '../shared/matchers.js';
import type { SeriesData } from '../shared/storage.js';
import { seriesFromHeadExportAsync } from './block/series-chunks.js';
import { maybeYield } from './block/yield.js';
import { BlockStore, mergeSeriesData, type StoreLog } from './compact/block-store.js';
import { compactionRanges } from './compact/planner.js';
import { DEFAULT_CHUNK_RANGE_MS, type SeriesBatch } from './head.js';
import {
  type ShardAppendResult,
  ShardStorage,
  type ShardStorageOptions,
  shardWalDir,
} from './shard-storage.js';

export interface ShardDbOptions extends ShardStorageOptions {
  /** --storage.tsdb.retention.time in ms (0: off). */
  retentionMs?: number;
  /** --storage.tsdb.retention.size in bytes (0: off). */
  retentionBytes?: number;
  /** --storage.tsdb.max-block-duration in ms (absent: 10% of retention, at most 31d). */
  maxBlockDurationMs?: number;
  blockLog?: StoreLog;
}

export class ShardDb {
  /** The running cutBlocks(), if any: close() waits for it (its checkpoint writes in slices). */
  private cutting: Promise<number> | null = null;

  private constructor(
    readonly storage: ShardStorage,
    readonly blocks: BlockStore,
    readonly rangeMs: number,
  ) {}

  static async open(dataDir: string, shard: number, opts: ShardDbOptions = {}): Promise<ShardDb> {
    const rangeMs = opts.chunkRangeMs ?? DEFAULT_CHUNK_RANGE_MS;
    const blocks = new BlockStore(dataDir, {
      shard,
      ranges: compactionRanges({
        minBlockDuration: rangeMs,
        maxBlockDuration: opts.maxBlockDurationMs,
        retentionMs: opts.retentionMs || undefined,
      }),
      retentionMs: opts.retentionMs ?? 0,
      retentionBytes: opts.retentionBytes ?? 0,
      log: opts.blockLog,
    });
    await blocks.open();
    // Samples the blocks already hold must not come back from the WAL (nor be appended again).
    let floor = Number.NEGATIVE_INFINITY;
    for (const b of blocks.blocks()) floor = Math.max(floor, b.meta.maxTime);
    const storage = ShardStorage.open(shardWalDir(dataDir, shard), {
      ...opts,
      minValidTime: Math.max(floor, opts.minValidTime ?? Number.NEGATIVE_INFINITY),
    });
    if (floor > storage.head.minValidTime) storage.head.minValidTime = floor;
    return new ShardDb(storage, blocks, rangeMs);
  }

  append(b: SeriesBatch): ShardAppendResult {
    return this.storage.append(b);
  }

  /** The head's series with samples in [mint, maxt], as SeriesData sorted by labels. */
  private headSelect(matchers: readonly Matcher[], mint: number, maxt: number): SeriesData[] {
    const head = this.storage.head;
    const sel = head.select(matchers, mint, maxt);
    const out: SeriesData[] = [];
    let off = 0;
    for (let k = 0; k < sel.refs.length; k++) {
      const n = sel.counts[k];
      out.push({
        labels: head.registry.labels(sel.refs[k]),
        t: sel.t.subarray(off, off + n),
        v: sel.v.subarray(off, off + n),
      });
      off += n;
    }
    return out.sort((a, b) => compareLabels(a.labels, b.labels));
  }

  select(matchers: readonly Matcher[], mint: number, maxt: number): SeriesData[] {
    const head = this.headSelect(matchers, mint, maxt);
    if (this.blocks.blocks().length === 0) return head;
    // The head is listed first: it wins a timestamp present in both (none should be).
    return mergeSeriesData([head, this.blocks.select(matchers, mint, maxt)]);
  }

  series(matcherSets: readonly (readonly Matcher[])[], mint: number, maxt: number): Labels[] {
    const head = this.storage.head.series(matcherSets, mint, maxt);
    if (this.blocks.blocks().length === 0) return head;
    const seen = new Map<string, Labels>();
    for (const l of [...head, ...this.blocks.series(matcherSets, mint, maxt)]) seen.set(JSON.stringify(l), l);
    return [...seen.values()].sort(compareLabels);
  }

  labelNames(matcherSets: readonly (readonly Matcher[])[], mint: number, maxt: number): string[] {
    const head = this.storage.head.labelNames(matcherSets, mint, maxt);
    if (this.blocks.blocks().length === 0) return head;
    return [...new Set([...head, ...this.blocks.labelNames(matcherSets, mint, maxt)])].sort(compareStrings);
  }

  labelValues(
    name: string,
    matcherSets: readonly (readonly Matcher[])[],
    mint: number,
    maxt: number,
  ): string[] {
    const head = this.storage.head.labelValues(name, matcherSets, mint, maxt);
    if (this.blocks.blocks().length === 0) return head;
    return [...new Set([...head, ...this.blocks.labelValues(name, matcherSets, mint, maxt)])].sort(
      compareStrings,
    );
  }

  /**
   * While the head spans more than 1.5 block ranges, writes its oldest aligned range as a block, then
   * truncates the head there and checkpoints the WAL; then compacts and applies retention. Appends may
   * run meanwhile: samples in the range being cut are already out of the appendable window. Returns the
   * number of blocks cut.
   */
  async cutBlocks(): Promise<number> {
    if (this.cutting !== null) return 0;
    this.cutting = this.cutRun();
    try {
      return await this.cutting;
    } finally {
      this.cutting = null;
    }
  }

  private async cutRun(): Promise<number> {
    let cut = 0;
    for (;;) {
      const [mint, maxt] = this.storage.head.range();
      if (Number.isNaN(mint) || maxt - mint <= (this.rangeMs * 3) / 2) break;
      const start = Math.floor(mint / this.rangeMs) * this.rangeMs;
      const end = start + this.rangeMs;
      const e = this.storage.head.exportChunks(start, end - 1, true);
      const input = await seriesFromHeadExportAsync(e.chunks, e.labels, start, end, maybeYield);
      if (input.length > 0) await this.blocks.writeBlock(input, { minTime: start, maxTime: end });
      // In slices: a checkpoint of a large head would otherwise hold the shard for a second or more.
      await this.storage.checkpointAsync(end, maybeYield);
      cut++;
    }
    // Also without a cut (Prometheus' db.run compacts and reloads blocks on its timer): blocks may wait
    // for compaction after a restart, and retention by size may have become due.
    await this.blocks.compact();
    await this.blocks.applyRetention();
    return cut;
  }

  async close(): Promise<void> {
    await this.cutting?.catch(() => undefined);
    this.storage.close();
    await this.blocks.close();
  }
}
