// The persisted blocks of one shard's data directory: loading them (a damaged block is reported and
// left out, the rest served), reading across them, and the background work on them: compaction,
// retention, deletion by tombstones, tombstone cleaning and snapshots. Runs in-process in the shard.
//
// Crash safety: a block becomes visible only by the rename of its `.tmp-for-creation` directory. A
// compaction deletes its parents only after the new block is in place; if the process dies before
// that, the next open() sees the parents listed in the new block's meta.json and deletes them then, so
// no sample is ever served twice. Leftover temporary directories are removed at open().
import { link, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { compareLabels, compareStrings, type Labels } from '../../shared/labels.js';
import type { Matcher } from '../../shared/matchers.js';
import type { SeriesData } from '../../shared/storage.js';
import { BlockCorruptionError } from '../block/errors.js';
import { ChunkMetas } from '../block/index-reader.js';
import { type BlockMeta, encodeMeta, isUlid, META_FILENAME, readMeta } from '../block/meta.js';
import { BlockReader } from '../block/reader.js';
import { materialize, type SelectColumns } from '../block/select-columns.js';
import {
  addTombstone,
  countTombstones,
  encodeTombstones,
  TOMBSTONES_FILENAME,
  type Tombstones,
} from '../block/tombstones.js';
import {
  fsyncDir,
  type SeriesInput,
  TMP_SUFFIX,
  type WriteBlockOptions,
  writeBlock,
} from '../block/writer.js';
import { mergeBlocks } from './merge.js';
import { plan } from './planner.js';
import { blocksBeyondRetention } from './retention.js';

export const DELETION_SUFFIX = '.tmp-for-deletion';

export interface CorruptBlock {
  /** The block's ULID (its directory name). */
  ulid: string;
  dir: string;
  error: string;
}

export type StoreLog = (
  level: 'info' | 'warn' | 'error',
  msg: string,
  fields?: Record<string, unknown>,
) => void;

export interface BlockStoreOptions {
  /** Compaction ranges (compactionRanges() of planner.ts); without them compact() does nothing. */
  ranges?: readonly number[];
  /** --storage.tsdb.retention.time in ms (0: off). */
  retentionMs?: number;
  /** --storage.tsdb.retention.size in bytes (0: off). */
  retentionBytes?: number;
  /** Our meta.json section for blocks this store writes, e.g. { shard: 2 }. */
  promshard?: BlockMeta['promshard'];
  /**
   * When several shards keep their blocks in one directory: this store's shard. It then loads only
   * blocks whose meta.json names this shard (blocks without a promshard section, e.g. copied from a
   * Prometheus, belong to shard 0), tags its temporary directories with `shard-N`, and cleans up only
   * its own leftovers (shard 0 also the untagged ones).
   */
  shard?: number;
  log?: StoreLog;
}

async function fileSize(p: string): Promise<number> {
  try {
    return (await stat(p)).size;
  } catch {
    return 0;
  }
}

/** Merges per-source lists of series (each sorted by labels) into one; samples in time order. */
export function mergeSeriesData(lists: readonly (readonly SeriesData[])[]): SeriesData[] {
  const nonEmpty = lists.filter((l) => l.length > 0);
  if (nonEmpty.length === 0) return [];
  if (nonEmpty.length === 1) return [...nonEmpty[0]];
  const idx = nonEmpty.map(() => 0);
  const out: SeriesData[] = [];
  for (;;) {
    let min: Labels | undefined;
    for (let i = 0; i < nonEmpty.length; i++) {
      const s = nonEmpty[i][idx[i]];
      if (s && (!min || compareLabels(s.labels, min) < 0)) min = s.labels;
    }
    if (!min) return out;
    const parts: SeriesData[] = [];
    for (let i = 0; i < nonEmpty.length; i++) {
      const s = nonEmpty[i][idx[i]];
      if (s && compareLabels(s.labels, min) === 0) {
        // A source without samples of this series (the head after a cut) adds nothing: the other
        // source's columns are kept as they are, not copied.
        if (s.t.length > 0 || parts.length === 0) parts.push(s);
        idx[i]++;
      }
    }
    if (parts.length > 1 && parts[0].t.length === 0) parts.shift();
    out.push(parts.length === 1 ? parts[0] : mergeSamples(min, parts));
  }
}

/** Samples of the same series from several sources, merged by time; the first source wins a tie. */
function mergeSamples(labels: Labels, parts: readonly SeriesData[]): SeriesData {
  let total = 0;
  for (const p of parts) total += p.t.length;
  const t = new Float64Array(total);
  const v = new Float64Array(total);
  const pos = parts.map(() => 0);
  let n = 0;
  for (;;) {
    let best = -1;
    for (let i = 0; i < parts.length; i++) {
      if (pos[i] < parts[i].t.length && (best < 0 || parts[i].t[pos[i]] < parts[best].t[pos[best]])) best = i;
    }
    if (best < 0) break;
    const ts = parts[best].t[pos[best]];
    if (n === 0 || t[n - 1] !== ts) {
      t[n] = ts;
      v[n] = parts[best].v[pos[best]];
      n++;
    }
    pos[best]++;
  }
  return { labels, t: t.subarray(0, n), v: v.subarray(0, n) };
}

export class BlockStore {
  private readonly open_ = new Map<string, BlockReader>();
  readonly corrupted = new Map<string, CorruptBlock>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly log: StoreLog;

  constructor(
    readonly dir: string,
    readonly opts: BlockStoreOptions = {},
  ) {
    this.log = opts.log ?? (() => {});
  }

  /** Runs background operations one at a time. */
  private serial<T>(f: () => Promise<T>): Promise<T> {
    const p = this.queue.then(f, f);
    this.queue = p.catch(() => {});
    return p;
  }

  /** Loads the directory's blocks; see the file comment for what it cleans up. */
  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const names = await readdir(this.dir);
    for (const n of names) {
      if (this.ownsTmp(n)) {
        this.log('info', 'removing an incomplete block directory', { dir: n });
        await rm(join(this.dir, n), { recursive: true, force: true });
      }
    }
    const loaded: BlockReader[] = [];
    for (const n of names) {
      if (!isUlid(n) || this.open_.has(n)) continue;
      // The owner first (meta.json alone): a damaged block is reported by its own shard only, and one
      // whose meta.json cannot be read by shard 0.
      let meta: BlockMeta;
      try {
        meta = readMeta(join(this.dir, n));
      } catch (err) {
        if (this.opts.shard === undefined || this.opts.shard === 0) this.markCorrupt(n, err);
        continue;
      }
      if (!this.owns(meta)) continue;
      try {
        if (meta.ulid !== n) {
          throw new BlockCorruptionError(
            n,
            META_FILENAME,
            `ulid ${meta.ulid} differs from the directory name`,
          );
        }
        loaded.push(BlockReader.open(join(this.dir, n)));
      } catch (err) {
        this.markCorrupt(n, err);
      }
    }
    // Parents of a loaded block are leftovers of a compaction that stopped before deleting them.
    const parents = new Set<string>();
    for (const b of loaded) for (const p of b.meta.compaction.parents ?? []) parents.add(p.ulid);
    for (const b of loaded) {
      if (parents.has(b.ulid) || b.meta.compaction.deletable) {
        this.log('info', 'deleting a block already compacted into another', { ulid: b.ulid });
        b.close();
        await this.deleteDir(b.ulid);
      } else this.open_.set(b.ulid, b);
    }
    for (const u of [...this.corrupted.keys()]) {
      if (parents.has(u)) {
        this.corrupted.delete(u);
        await this.deleteDir(u);
      }
    }
  }

  private get tag(): string | undefined {
    return this.opts.shard === undefined ? undefined : `shard-${this.opts.shard}`;
  }

  private owns(meta: BlockMeta): boolean {
    if (this.opts.shard === undefined) return true;
    const s = meta.promshard?.shard;
    return (typeof s === 'number' ? s : 0) === this.opts.shard;
  }

  /** A temporary directory this store may remove: its own, or any when it is not one shard of several. */
  private ownsTmp(name: string): boolean {
    if (!name.endsWith(TMP_SUFFIX) && !name.endsWith(DELETION_SUFFIX)) return false;
    const tag = this.tag;
    if (tag === undefined) return true;
    const stem = name.slice(0, name.lastIndexOf('.tmp-for-'));
    if (stem.endsWith(`.${tag}`)) return true;
    return this.opts.shard === 0 && isUlid(stem);
  }

  private markCorrupt(ulid: string, err: unknown): void {
    const msg = err instanceof Error ? err.message : String(err);
    this.corrupted.set(ulid, { ulid, dir: join(this.dir, ulid), error: msg });
    this.log('error', 'block left out: cannot be read', { ulid, err: msg });
  }

  /** Open blocks sorted by minTime. */
  blocks(): BlockReader[] {
    return [...this.open_.values()].sort(
      (a, b) => a.meta.minTime - b.meta.minTime || (a.ulid < b.ulid ? -1 : 1),
    );
  }

  /**
   * The end (exclusive) of the newest block, -Infinity without blocks: a head reopened after a restart
   * should refuse samples before it, as Prometheus sets the head's min valid time to it.
   */
  maxTime(): number {
    let m = -Infinity;
    for (const b of this.open_.values()) m = Math.max(m, b.meta.maxTime);
    return m;
  }

  /** What /api/v1/status/tsdb and the logs want to know about the blocks. */
  status(): {
    blocks: {
      ulid: string;
      minTime: number;
      maxTime: number;
      level: number;
      stats: BlockMeta['stats'];
      sizeBytes: number;
    }[];
    corrupted: CorruptBlock[];
  } {
    return {
      blocks: this.blocks().map((b) => ({
        ulid: b.ulid,
        minTime: b.meta.minTime,
        maxTime: b.meta.maxTime,
        level: b.meta.compaction.level,
        stats: { ...b.meta.stats },
        sizeBytes: b.sizeBytes,
      })),
      corrupted: [...this.corrupted.values()],
    };
  }

  get(ulid: string): BlockReader | undefined {
    return this.open_.get(ulid);
  }

  /** Runs a read over each block overlapping [mint, maxt]; a block found damaged is dropped and reported. */
  private each<T>(mint: number, maxt: number, f: (b: BlockReader) => T): T[] {
    const out: T[] = [];
    for (const b of this.blocks()) {
      if (b.meta.maxTime <= mint || b.meta.minTime > maxt) continue;
      try {
        out.push(f(b));
      } catch (err) {
        if (!(err instanceof BlockCorruptionError)) throw err;
        this.open_.delete(b.ulid);
        this.markCorrupt(b.ulid, err);
        // Unmapped only once a running compaction, which may hold views of it, is done.
        void this.serial(async () => b.close());
      }
    }
    return out;
  }

  select(matchers: readonly Matcher[], mint: number, maxt: number): SeriesData[] {
    return mergeSeriesData(this.selectColumns(matchers, mint, maxt).map(materialize));
  }

  /** Each overlapping block's select as columns, in block order (earlier blocks win a tie when merged). */
  selectColumns(matchers: readonly Matcher[], mint: number, maxt: number): SelectColumns[] {
    return this.each(mint, maxt, (b) => b.selectColumns(matchers, mint, maxt)).filter(
      (c) => c.start.length > 1,
    );
  }

  series(matcherSets: readonly (readonly Matcher[])[], mint: number, maxt: number): Labels[] {
    const lists = this.each(mint, maxt, (b) => b.series(matcherSets, mint, maxt));
    const seen = new Map<string, Labels>();
    for (const l of lists) for (const s of l) seen.set(JSON.stringify(s), s);
    return [...seen.values()].sort(compareLabels);
  }

  labelNames(matcherSets: readonly (readonly Matcher[])[], mint: number, maxt: number): string[] {
    const s = new Set<string>();
    for (const l of this.each(mint, maxt, (b) => b.labelNames(matcherSets))) for (const n of l) s.add(n);
    return [...s].sort(compareStrings);
  }

  labelValues(
    name: string,
    matcherSets: readonly (readonly Matcher[])[],
    mint: number,
    maxt: number,
  ): string[] {
    const s = new Set<string>();
    for (const l of this.each(mint, maxt, (b) => b.labelValues(name, matcherSets)))
      for (const n of l) s.add(n);
    return [...s].sort(compareStrings);
  }

  /** Writes a block (a head cut) into the directory and starts serving it. */
  writeBlock(series: readonly SeriesInput[], opts: WriteBlockOptions): Promise<BlockMeta> {
    return this.serial(async () => {
      const meta = await writeBlock(this.dir, series, {
        promshard: this.promshardSection,
        tmpTag: this.tag,
        ...opts,
      });
      this.open_.set(meta.ulid, BlockReader.open(join(this.dir, meta.ulid)));
      return meta;
    });
  }

  private get promshardSection(): BlockMeta['promshard'] {
    if (this.opts.promshard) return this.opts.promshard;
    return this.opts.shard === undefined ? undefined : { shard: this.opts.shard };
  }

  private async deleteDir(ulid: string): Promise<void> {
    const from = join(this.dir, ulid);
    const tmp = from + (this.tag ? `.${this.tag}` : '') + DELETION_SUFFIX;
    await rename(from, tmp);
    await rm(tmp, { recursive: true, force: true });
    await fsyncDir(this.dir);
  }

  private async deleteBlocks(ulids: readonly string[]): Promise<void> {
    for (const u of ulids) {
      const b = this.open_.get(u);
      this.open_.delete(u);
      b?.close();
      await this.deleteDir(u);
    }
  }

  /**
   * Compacts until the planner has nothing left: each round merges the planned blocks into one new
   * block, then deletes them. Returns the ULIDs of the blocks written.
   */
  compact(): Promise<string[]> {
    return this.serial(async () => {
      const written: string[] = [];
      const ranges = this.opts.ranges ?? [];
      if (ranges.length === 0) return written;
      for (;;) {
        const ulids = plan(
          this.blocks().map((b) => b.meta),
          ranges,
        );
        if (ulids.length === 0) return written;
        const parents = ulids.map((u) => this.open_.get(u)!);
        const t0 = performance.now();
        let meta: BlockMeta | null;
        try {
          meta = await mergeBlocks(this.dir, parents, { promshard: this.promshardSection, tmpTag: this.tag });
        } catch (err) {
          // A parent found damaged while merging is left out from now on (reported), and planning goes on.
          if (!(err instanceof BlockCorruptionError) || !this.open_.has(err.block)) throw err;
          const bad = this.open_.get(err.block)!;
          this.open_.delete(err.block);
          bad.close();
          this.markCorrupt(err.block, err);
          continue;
        }
        if (meta) {
          this.open_.set(meta.ulid, BlockReader.open(join(this.dir, meta.ulid)));
          written.push(meta.ulid);
        }
        await this.deleteBlocks(ulids);
        this.log('info', 'compacted blocks', {
          parents: ulids,
          ulid: meta?.ulid ?? null,
          samples: meta?.stats.numSamples ?? 0,
          ms: Math.round(performance.now() - t0),
        });
      }
    });
  }

  /** Deletes the blocks beyond retention (time and/or size); returns their ULIDs. */
  applyRetention(extraBytes = 0): Promise<string[]> {
    return this.serial(async () => {
      const bs = await Promise.all(
        this.blocks().map(async (b) => ({
          meta: b.meta,
          sizeBytes:
            b.sizeBytes +
            (await fileSize(join(b.dir, TOMBSTONES_FILENAME))) +
            (await fileSize(join(b.dir, META_FILENAME))),
        })),
      );
      const gone = blocksBeyondRetention(bs, {
        retentionMs: this.opts.retentionMs,
        maxBytes: this.opts.retentionBytes,
        extraBytes,
      });
      if (gone.length > 0) this.log('info', 'deleting blocks beyond retention', { ulids: gone });
      await this.deleteBlocks(gone);
      return gone;
    });
  }

  /**
   * Deletes the series matching `matchers` in [mint, maxt] (inclusive) by writing tombstones into the
   * blocks concerned: hidden at once, removed for good by the next compaction or cleanTombstones().
   */
  deleteSeries(matchers: readonly Matcher[], mint: number, maxt: number): Promise<number> {
    return this.serial(async () => {
      let added = 0;
      const cm = new ChunkMetas();
      for (const b of this.blocks()) {
        if (b.meta.maxTime <= mint || b.meta.minTime > maxt) continue;
        const refs = b.postings(matchers);
        const stones: Tombstones = new Map();
        for (const [ref, list] of b.tombstones)
          stones.set(
            ref,
            list.map((iv) => ({ ...iv })),
          );
        let changed = false;
        for (let i = 0; i < refs.length; i++) {
          b.index.series(refs[i], cm);
          for (let c = 0; c < cm.n; c++) {
            if (cm.maxt[c] >= mint && cm.mint[c] <= maxt) {
              const lo = Math.max(mint, cm.mint[0]);
              const hi = Math.min(maxt, cm.maxt[cm.n - 1]);
              addTombstone(stones, refs[i], { mint: lo, maxt: hi });
              changed = true;
              added++;
              break;
            }
          }
        }
        if (changed) await this.writeTombstones(b, stones);
      }
      return added;
    });
  }

  private async writeTombstones(b: BlockReader, stones: Tombstones): Promise<void> {
    const { writeFile, open: openFile } = await import('node:fs/promises');
    const put = async (name: string, data: Uint8Array | string) => {
      const tmp = join(b.dir, `${name}.tmp`);
      await writeFile(tmp, data);
      const fh = await openFile(tmp, 'r+');
      await fh.sync();
      await fh.close();
      await rename(tmp, join(b.dir, name));
    };
    await put(TOMBSTONES_FILENAME, encodeTombstones(stones));
    const n = countTombstones(stones);
    b.meta.stats.numTombstones = n;
    // Rewrite meta.json from its own text so fields we do not model (e.g. compaction hints) survive.
    let text: string;
    try {
      const raw = JSON.parse(await readFile(join(b.dir, META_FILENAME), 'utf8')) as Record<string, unknown>;
      const stats = (raw.stats ?? {}) as Record<string, unknown>;
      if (n > 0) stats.numTombstones = n;
      else delete stats.numTombstones;
      raw.stats = stats;
      text = JSON.stringify(raw, null, '\t');
    } catch {
      text = encodeMeta(b.meta);
    }
    await put(META_FILENAME, text);
    await fsyncDir(b.dir);
    b.tombstones = stones;
  }

  /** Rewrites every block that has tombstones without the deleted data. Returns the new ULIDs. */
  cleanTombstones(): Promise<string[]> {
    return this.serial(async () => {
      const out: string[] = [];
      for (const b of this.blocks()) {
        if (b.tombstones.size === 0) continue;
        const meta = await mergeBlocks(this.dir, [b], {
          minTime: b.meta.minTime,
          maxTime: b.meta.maxTime,
          level: b.meta.compaction.level,
          promshard: b.meta.promshard,
          tmpTag: this.tag,
        });
        if (meta) {
          this.open_.set(meta.ulid, BlockReader.open(join(this.dir, meta.ulid)));
          out.push(meta.ulid);
        }
        await this.deleteBlocks([b.ulid]);
      }
      return out;
    });
  }

  /** Hard-links every open block into `<dst>/<ulid>/` (the data of Prometheus' snapshot API). */
  snapshot(dst: string): Promise<string[]> {
    return this.serial(async () => {
      await mkdir(dst, { recursive: true });
      const out: string[] = [];
      for (const b of this.blocks()) {
        const to = join(dst, b.ulid);
        await mkdir(join(to, 'chunks'), { recursive: true });
        for (const f of [META_FILENAME, 'index', TOMBSTONES_FILENAME]) {
          try {
            await link(join(b.dir, f), join(to, f));
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || f !== TOMBSTONES_FILENAME) throw err;
          }
        }
        for (const seg of await readdir(join(b.dir, 'chunks')))
          await link(join(b.dir, 'chunks', seg), join(to, 'chunks', seg));
        await fsyncDir(to);
        out.push(b.ulid);
      }
      await fsyncDir(dst);
      return out;
    });
  }

  /** Waits for background work, then unmaps every block. */
  async close(): Promise<void> {
    await this.queue;
    for (const b of this.open_.values()) b.close();
    this.open_.clear();
  }
}
