/**
 * A shard's whole database: its head + WAL (ShardStorage) and its blocks (BlockStore of
 * src/tsdb/compact). Reads merge the two; cutBlocks() moves the oldest 2h of the head into a block once
 * the head spans more than 1.5 block ranges (as Prometheus 2.42 does), then truncates the head and
 * checkpoints the WAL, compacts and applies retention.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { compareLabels, compareStrings, type Labels, labelsKey } from '../shared/labels.js';
import type { Matcher } from '../shared/matchers.js';
import type { SeriesData } from '../shared/storage.js';
import { materialize } from './block/select-columns.js';
import { seriesFromHeadExport, seriesFromHeadExportAsync } from './block/series-chunks.js';
import type { Interval } from './block/tombstones.js';
import { type SeriesInput, writeBlock } from './block/writer.js';
import { maybeYield, setBackgroundShare } from './block/yield.js';
import { BlockStore, type CorruptBlock, mergeSeriesData, type StoreLog } from './compact/block-store.js';
import { compactionRanges } from './compact/planner.js';
import { DEFAULT_CHUNK_RANGE_MS, type SeriesBatch } from './head.js';
import { type ReplyWithTransfer, replyFromColumns, replyFromSeries } from './select-reply.js';
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

/** One shard's part of /api/v1/status/tsdb (the coordinator merges the shards). */
export interface ShardTsdbStatus {
  shard: number;
  headSeries: number;
  headChunks: number;
  /** The head's first and last sample time (NaN when empty). */
  headMinTime: number;
  headMaxTime: number;
  /** Head series with tombstones (deleted intervals not yet cut away). */
  headTombstones: number;
  /** Every label pair of the head's postings as name, value, ... with its series count. */
  pairs: string[];
  pairCounts: Uint32Array;
  blocks: ReturnType<BlockStore['status']>['blocks'];
  damagedBlocks: CorruptBlock[];
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

  /**
   * select() as a worker reply. A range that only one block holds is answered from the block's columns
   * as they are, without an object per series (for 100k series that saves about as much as decoding).
   */
  selectReply(matchers: readonly Matcher[], mint: number, maxt: number): ReplyWithTransfer {
    const head = this.headSelect(matchers, mint, maxt);
    if (this.blocks.blocks().length === 0) return replyFromSeries(head);
    const blocks = this.blocks.selectColumns(matchers, mint, maxt);
    if (head.length === 0 && blocks.length === 1) return replyFromColumns(blocks[0]);
    return replyFromSeries(mergeSeriesData([head, ...blocks.map(materialize)]));
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
    if (this.blocksHaveTombstones()) {
      // A block's index still lists deleted series: take the names from the series left.
      const names = new Set(head);
      for (const ls of this.blocks.series(matcherSets, mint, maxt)) for (const l of ls) names.add(l.name);
      return [...names].sort(compareStrings);
    }
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
    if (this.blocksHaveTombstones()) {
      const values = new Set(head);
      const sets = matcherSets.length > 0 ? matcherSets : [[{ type: '=~' as const, name, value: '.+' }]];
      for (const ls of this.blocks.series(sets, mint, maxt))
        for (const l of ls) if (l.name === name) values.add(l.value);
      return [...values].sort(compareStrings);
    }
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
  /** Blocks cut from the head since open. */
  blocksCutTotal = 0;
  private closed = false;

  /** True when the head spans more than 1.5 block ranges and no cut (or admin operation) runs. */
  compactable(): boolean {
    if (this.cutting !== null) return false;
    const [mint, maxt] = this.storage.head.range();
    return maxt - mint > (this.rangeMs * 3) / 2;
  }

  async cutBlocks(): Promise<number> {
    const before = this.blocksCutTotal;
    // A cut (or admin operation) already running is waited for, then the head is checked again: when
    // this resolves, the head is cut as far as it can be. Counts the blocks cut meanwhile too.
    while (this.cutting !== null) await this.cutting.catch(() => 0);
    if (this.closed) return this.blocksCutTotal - before;
    this.cutting = this.cutRun();
    try {
      await this.cutting;
    } finally {
      this.cutting = null;
    }
    return this.blocksCutTotal - before;
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
      this.markDeleted(input, start, end);
      if (input.length > 0) await this.blocks.writeBlock(input, { minTime: start, maxTime: end });
      // In slices: a checkpoint of a large head would otherwise hold the shard for a second or more.
      await this.storage.checkpointAsync(end, maybeYield);
      cut++;
      this.blocksCutTotal++;
    }
    // Also without a cut (Prometheus' db.run compacts and reloads blocks on its timer): blocks may wait
    // for compaction after a restart, and retention by size may have become due.
    await this.blocks.compact();
    // As Prometheus' size retention, the WAL counts against the limit too.
    await this.blocks.applyRetention(this.blocks.opts.retentionBytes ? dirBytes(this.storage.walDir) : 0);
    return cut;
  }

  private blocksHaveTombstones(): boolean {
    for (const b of this.blocks.blocks()) if (b.tombstones.size > 0) return true;
    return false;
  }

  /**
   * Runs `f` while no head cut runs (and none starts): admin operations must not race a cut that has
   * exported head chunks but not yet written their block.
   */
  private async exclusive<T>(f: () => Promise<T>): Promise<T> {
    while (this.cutting !== null) await this.cutting.catch(() => 0);
    if (this.closed) throw new Error('the shard database is closed');
    const p = f();
    this.cutting = p.then(
      () => 0,
      () => 0,
    );
    try {
      return await p;
    } finally {
      this.cutting = null;
    }
  }

  /** Records the head's deleted intervals in [start, end) on the block input of a head cut or snapshot. */
  private markDeleted(input: SeriesInput[], start: number, end: number): void {
    const head = this.storage.head;
    if (head.tombstones.size === 0) return;
    const byKey = new Map<string, Interval[]>();
    for (const [ref, list] of head.tombstones.entries()) {
      const clipped = list
        .filter((iv) => iv.maxt >= start && iv.mint < end)
        .map((iv) => ({ mint: Math.max(iv.mint, start), maxt: Math.min(iv.maxt, end - 1) }));
      if (clipped.length > 0) byKey.set(labelsKey(head.registry.labels(ref)), clipped);
    }
    if (byKey.size === 0) return;
    for (const s of input) {
      const d = byKey.get(labelsKey(s.labels));
      if (d !== undefined) s.deleted = d;
    }
  }

  /**
   * Deletes the samples of the series matching `matchers` in [mint, maxt] (inclusive): in the head by
   * tombstones logged to the WAL (hidden from every read as this returns; the cut that moves that range
   * into a block records them in its tombstones), in the blocks by BlockStore.deleteSeries. Returns the
   * number of series (head) and block series marked.
   */
  deleteSeries(matchers: readonly Matcher[], mint: number, maxt: number): Promise<number> {
    return this.exclusive(async () => {
      let n = 0;
      const head = this.storage.head;
      const [hmin, hmax] = head.range();
      // Clamped to the head's samples, as Prometheus does: later appends in the range stay visible.
      const lo = Math.max(mint, hmin);
      const hi = Math.min(maxt, hmax);
      if (!Number.isNaN(hmin) && lo <= hi) {
        const refs = head.postingsFor(matchers);
        this.storage.deleteRefs(refs, lo, hi);
        n += refs.length;
      }
      return n + (await this.blocks.deleteSeries(matchers, mint, maxt));
    });
  }

  /** Rewrites the blocks that have tombstones without the deleted data; returns the new blocks' ULIDs. */
  cleanTombstones(): Promise<string[]> {
    return this.exclusive(() => this.blocks.cleanTombstones());
  }

  /**
   * Hard-links this shard's blocks into `dir` (one directory per block, Prometheus' snapshot layout);
   * with `withHead`, the head's samples (after the newest block) are first written into `dir` as a block
   * of their own, as Prometheus' snapshot does. Returns the ULIDs placed in `dir`.
   */
  snapshot(dir: string, withHead: boolean): Promise<string[]> {
    return this.exclusive(async () => {
      const out = await this.blocks.snapshot(dir);
      if (!withHead) return out;
      const head = this.storage.head;
      const [hmin, hmax] = head.range();
      if (Number.isNaN(hmin)) return out;
      const mint = Math.max(hmin, this.blocks.maxTime());
      if (mint > hmax) return out;
      const e = head.exportChunks(mint, hmax, true);
      const input = seriesFromHeadExport(e.chunks, e.labels, mint, hmax + 1);
      this.markDeleted(input, mint, hmax + 1);
      if (input.length === 0) return out;
      const shard = this.blocks.opts.shard;
      const meta = await writeBlock(dir, input, {
        minTime: mint,
        maxTime: hmax + 1,
        promshard: shard === undefined ? undefined : { shard },
      });
      out.push(meta.ulid);
      return out;
    });
  }

  /** This shard's head and block figures for /api/v1/status/tsdb. */
  status(): ShardTsdbStatus {
    const head = this.storage.head;
    const [mint, maxt] = head.range();
    const pairs: string[] = [];
    const counts: number[] = [];
    for (const name of head.postings.names()) {
      for (const [value, e] of head.postings.values(name) ?? []) {
        pairs.push(name, value);
        counts.push(typeof e === 'number' ? 1 : e.view().length);
      }
    }
    const bs = this.blocks.status();
    return {
      shard: this.blocks.opts.shard ?? 0,
      headSeries: head.seriesCount,
      headChunks: head.chunks.stats().chunks,
      headMinTime: mint,
      headMaxTime: maxt,
      headTombstones: head.tombstones.size,
      pairs,
      pairCounts: Uint32Array.from(counts),
      blocks: bs.blocks,
      damagedBlocks: bs.corrupted,
    };
  }

  async close(): Promise<void> {
    // No cut or admin operation starts from now on; those waiting see `closed` when they wake.
    this.closed = true;
    // No appends to protect any more: a running cut finishes at full speed.
    setBackgroundShare(1);
    while (this.cutting !== null) await this.cutting.catch(() => undefined);
    this.storage.close();
    await this.blocks.close();
  }
}

/** Bytes of the files under dir (WAL segments and checkpoints); 0 for what cannot be read. */
function dirBytes(dir: string): number {
  let n = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    try {
      const st = statSync(join(dir, name));
      n += st.isDirectory() ? dirBytes(join(dir, name)) : st.size;
    } catch {
      // Removed meanwhile (a checkpoint replacing segments).
    }
  }
  return n;
}
