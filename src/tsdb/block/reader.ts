// A persisted block opened for reading: meta.json, the mapped index and chunk segments, tombstones.
// Runs in-process (inside a shard worker); knows nothing of workers, HTTP or PromQL.
import { join } from 'node:path';
import { compareStrings, type Labels } from '../../shared/labels.js';
import { type CompiledMatcher, compileMatchers, type Matcher } from '../../shared/matchers.js';
import type { SeriesData } from '../../shared/storage.js';
import { ChunkReader, type RawChunk } from './chunks.js';
import { BlockCorruptionError } from './errors.js';
import { binarySearch, ChunkMetas, INDEX_TOC_LEN, IndexReader } from './index-reader.js';
import { type BlockMeta, readMeta } from './meta.js';
import { ops } from './native-ops.js';
import { emptyColumns, materialize, type SelectColumns } from './select-columns.js';
import {
  countTombstones,
  type Interval,
  readTombstones,
  TOMBSTONES_FILENAME,
  type Tombstones,
} from './tombstones.js';

const EMPTY = new Uint32Array(0);

/**
 * Gives select() its output columns (at least n elements each), e.g. from a pool the caller recycles:
 * fresh memory costs page faults that are a large share of a big select.
 */
export type ColumnAllocator = (n: number) => { t: Float64Array; v: Float64Array };

/** One series as stored, for compaction and tools: labels, raw chunks (views) and deleted intervals. */
export interface StoredSeries {
  ref: number;
  labels: Labels;
  chunks: { mint: number; maxt: number; encoding: number; data: Uint8Array }[];
  deleted: readonly Interval[] | undefined;
}

export class BlockReader {
  readonly meta: BlockMeta;
  readonly index: IndexReader;
  readonly chunks: ChunkReader;
  tombstones: Tombstones;
  private readonly indexMap: ArrayBuffer;
  private readonly scratch = new ChunkMetas();
  private closed = false;

  private constructor(
    readonly dir: string,
    meta: BlockMeta,
  ) {
    this.meta = meta;
    const ulid = meta.ulid;
    let indexMap: ArrayBuffer | undefined;
    let chunks: ChunkReader | undefined;
    try {
      indexMap = ops.mmap(join(dir, 'index'));
      this.index = new IndexReader(new Uint8Array(indexMap));
      chunks = new ChunkReader(join(dir, 'chunks'));
      this.tombstones = readTombstones(join(dir, TOMBSTONES_FILENAME));
    } catch (err) {
      chunks?.close();
      if (indexMap) ops.munmap(indexMap);
      throw wrap(ulid, err, 'index');
    }
    this.indexMap = indexMap;
    this.chunks = chunks;
  }

  /** Opens the block in `dir`. Any damage is thrown as a BlockCorruptionError naming the block. */
  static open(dir: string): BlockReader {
    return new BlockReader(dir, readMeta(dir));
  }

  get ulid(): string {
    return this.meta.ulid;
  }

  get numTombstones(): number {
    return countTombstones(this.tombstones);
  }

  /** Disk bytes of the block's index and chunks (the figure retention by size adds up). */
  get sizeBytes(): number {
    return this.index.buf.length + this.chunks.totalBytes;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.chunks.close();
    ops.munmap(this.indexMap);
  }

  private guard<T>(what: string, f: () => T): T {
    if (this.closed) throw new Error(`block ${this.ulid}: closed`);
    try {
      return f();
    } catch (err) {
      throw wrap(this.ulid, err, what);
    }
  }

  /** Sorted series refs of the series matching all matchers (an absent label matches as ""). */
  postings(matchers: readonly Matcher[]): Uint32Array {
    return this.guard('index', () => this.postingsFor(compileMatchers(matchers)));
  }

  private postingsFor(ms: readonly CompiledMatcher[]): Uint32Array {
    const ix = this.index;
    const positives: Uint32Array[] = [];
    const negatives: Uint32Array[] = [];
    for (const m of ms) {
      const e = ix.valuesOf(m.name);
      if (!m.matchesEmpty()) {
        // Only series holding a matching (non-empty) value of this label.
        if (!e) return EMPTY;
        if (m.type === '=') {
          const i = binarySearch(e.values, m.value);
          if (i < 0) return EMPTY;
          positives.push(ix.readPostingsAt(e.offsets[i]));
          continue;
        }
        const lists: Uint32Array[] = [];
        for (let i = 0; i < e.values.length; i++)
          if (m.matches(e.values[i])) lists.push(ix.readPostingsAt(e.offsets[i]));
        if (lists.length === 0) return EMPTY;
        positives.push(lists.length === 1 ? lists[0] : ops.union(lists));
      } else {
        // The matcher accepts "", so series without the label match: exclude those whose value fails.
        if (!e) continue;
        const lists: Uint32Array[] = [];
        if (m.type === '!=') {
          const i = binarySearch(e.values, m.value);
          if (i >= 0) lists.push(ix.readPostingsAt(e.offsets[i]));
        } else {
          for (let i = 0; i < e.values.length; i++) {
            if (!m.matches(e.values[i])) lists.push(ix.readPostingsAt(e.offsets[i]));
          }
        }
        if (lists.length > 0) negatives.push(lists.length === 1 ? lists[0] : ops.union(lists));
      }
    }
    let base =
      positives.length === 0
        ? ix.allPostings()
        : positives.length === 1
          ? positives[0]
          : ops.intersect(positives);
    for (const n of negatives) {
      if (base.length === 0) break;
      base = ops.difference(base, n);
    }
    return base;
  }

  /**
   * Samples of the matching series in [mint, maxt] (inclusive), tombstones applied, series in label
   * order. The columns of all series are views into one pair of buffers (one transfer for a worker),
   * new ones unless `alloc` provides them.
   */
  select(matchers: readonly Matcher[], mint: number, maxt: number, alloc?: ColumnAllocator): SeriesData[] {
    return materialize(this.selectColumns(matchers, mint, maxt, alloc));
  }

  /** select() as columns, without an object per series (what a shard replies from). */
  selectColumns(
    matchers: readonly Matcher[],
    mint: number,
    maxt: number,
    alloc?: ColumnAllocator,
  ): SelectColumns {
    return this.guard('chunks', () => {
      if (mint > maxt || maxt < this.meta.minTime || mint >= this.meta.maxTime) return emptyColumns();
      const refs = this.postingsFor(compileMatchers(matchers));
      if (refs.length === 0) return emptyColumns();
      const ix = this.index;
      const cr = this.chunks;
      // The series walk (index entries, chunk lookup, CRCs) runs in the addon: per series in JS it cost
      // more than the decoding (native/block_plan.h).
      const plan = ops.blockPlan(
        ix.buf,
        ix.toc.series,
        ix.buf.length - INDEX_TOC_LEN,
        ix.symbols.length,
        refs,
        mint,
        maxt,
        cr.segments,
        cr.verifiedBitmaps,
      );
      const { keep, labelRefs, labelStart, chunkEnd, ranges, segOf, total } = plan;
      let T: Float64Array;
      let V: Float64Array;
      if (alloc) {
        ({ t: T, v: V } = alloc(total));
        if (T.length < total || V.length < total)
          throw new RangeError(`select: allocator gave fewer than ${total} slots`);
      } else {
        T = columns(total);
        V = columns(total);
      }
      const nChunks = segOf.length;
      const counts = new Uint32Array(nChunks);
      const segs = cr.segments;
      let at = 0;
      // Runs of chunks in the same segment go to the decoder in one call.
      for (let c = 0; c < nChunks; ) {
        let e = c + 1;
        while (e < nChunks && segOf[e] === segOf[c]) e++;
        at += ops.xorDecodeMany(
          segs[segOf[c]],
          ranges.subarray(2 * c, 2 * e),
          mint,
          maxt,
          T,
          V,
          at,
          counts.subarray(c, e),
        );
        c = e;
      }
      const n = keep.length;
      const start = new Uint32Array(n + 1);
      let pos = 0;
      let empty = false;
      for (let k = 0, c = 0; k < n; k++) {
        const s = pos;
        for (const ce = chunkEnd[k]; c < ce; c++) pos += counts[c];
        start[k + 1] = pos;
        if (pos === s) empty = true;
      }
      const cols = { symbols: ix.symbols, labelRefs, labelStart, start, t: T, v: V };
      if (!empty && this.tombstones.size === 0) return cols;
      return dropHidden(cols, (k) => this.tombstones.get(refs[keep[k]]));
    });
  }

  /** Label sets of the series matching any of the matcher sets with a chunk in [mint, maxt]. */
  series(matcherSets: readonly (readonly Matcher[])[], mint: number, maxt: number): Labels[] {
    return this.guard('index', () => {
      const refs = this.refsForSets(matcherSets);
      const cm = this.scratch;
      const out: Labels[] = [];
      for (let i = 0; i < refs.length; i++) {
        const labels = this.index.series(refs[i], cm);
        const del = this.tombstones.get(refs[i]);
        for (let c = 0; c < cm.n; c++) {
          if (cm.maxt[c] < mint || cm.mint[c] > maxt) continue;
          if (del && covered(del, Math.max(mint, cm.mint[c]), Math.min(maxt, cm.maxt[c]))) continue;
          out.push(labels);
          break;
        }
      }
      return out;
    });
  }

  private refsForSets(matcherSets: readonly (readonly Matcher[])[]): Uint32Array {
    if (matcherSets.length === 0) return this.index.allPostings();
    const lists = matcherSets.map((ms) => this.postingsFor(compileMatchers(ms)));
    return lists.length === 1 ? lists[0] : ops.union(lists);
  }

  /** Sorted label names, of all series or of those matching any of the matcher sets. */
  labelNames(matcherSets: readonly (readonly Matcher[])[] = []): string[] {
    return this.guard('index', () => {
      if (matcherSets.length === 0) return this.index.labelNames();
      const names = new Set<string>();
      const refs = this.refsForSets(matcherSets);
      for (let i = 0; i < refs.length; i++)
        for (const l of this.index.series(refs[i], undefined)) names.add(l.name);
      return [...names].sort(compareStrings);
    });
  }

  /** Sorted values of `name`, of all series or of those matching any of the matcher sets. */
  labelValues(name: string, matcherSets: readonly (readonly Matcher[])[] = []): string[] {
    return this.guard('index', () => {
      if (matcherSets.length === 0) return this.index.labelValues(name);
      const values = new Set<string>();
      const refs = this.refsForSets(matcherSets);
      for (let i = 0; i < refs.length; i++) {
        for (const l of this.index.series(refs[i], undefined)) if (l.name === name) values.add(l.value);
      }
      return [...values].sort(compareStrings);
    });
  }

  /** Every series as stored (chunks as zero-copy views), in index order. For compaction and tools. */
  *storedSeries(refs?: Uint32Array): Generator<StoredSeries> {
    const all = refs ?? this.guard('index', () => this.index.allPostings());
    const cm = this.scratch;
    for (let i = 0; i < all.length; i++) {
      const ref = all[i];
      const s = this.guard('chunks', () => {
        const labels = this.index.series(ref, cm);
        const chunks: StoredSeries['chunks'] = [];
        for (let c = 0; c < cm.n; c++) {
          const raw: RawChunk = this.chunks.chunk(cm.ref[c]);
          chunks.push({ mint: cm.mint[c], maxt: cm.maxt[c], encoding: raw.encoding, data: raw.data });
        }
        return { ref, labels, chunks, deleted: this.tombstones.get(ref) };
      });
      yield s;
    }
  }
}

/**
 * An output column without zero-filling (every element handed out is written by the decoder first):
 * at 48M samples per select, zeroing 768 MB of columns costs as much as a good part of the decoding.
 * Large columns are advised for transparent huge pages before their first touch: faulting fresh memory
 * in 4 KiB pages cost ~10 us a page on our VMs, 2 of the 2.8 s of a 48M-sample select. It stays an
 * ordinary V8 buffer rather than a mapping of the addon's own because the shard worker transfers it to
 * the main thread, and postMessage copies external buffers (measured end to end: 8.4M samples/s with
 * such a mapping against 27M with this; native/README.md).
 */
function columns(n: number): Float64Array {
  if (n < 512) return new Float64Array(n);
  const b = Buffer.allocUnsafeSlow(n * 8);
  if (n >= HUGE_COLUMN) ops.adviseHuge(b.buffer);
  return new Float64Array(b.buffer, b.byteOffset, n);
}

/**
 * Columns from 32 MiB (4M samples): glibc serves these with a fresh mmap of their own (its mmap
 * threshold never exceeds 32 MiB), so the advice covers untouched pages of this buffer only, never heap
 * memory that malloc would hand out again after the buffer is freed.
 */
const HUGE_COLUMN = 1 << 22;

/** True when [mint, maxt] lies entirely inside one deleted interval. */
function covered(del: readonly Interval[], mint: number, maxt: number): boolean {
  for (const iv of del) if (iv.mint <= mint && maxt <= iv.maxt) return true;
  return false;
}

/**
 * Removes deleted samples (intervals of `deletedOf(k)`) and then series left without samples, moving
 * what stays down in place: the columns come from this select alone.
 */
function dropHidden(
  c: SelectColumns & { labelRefs: Uint32Array; labelStart: Uint32Array; start: Uint32Array },
  deletedOf: (k: number) => readonly Interval[] | undefined,
): SelectColumns {
  const { labelRefs, labelStart, start, t: T, v: V } = c;
  const n = start.length - 1;
  let w = 0; // samples kept so far
  let lw = 0; // label refs kept so far
  let kk = 0; // series kept so far
  // Writes never pass reads (kk <= k, w <= start[k]); the bounds of series k are read before any
  // write can reach them.
  let s = start[0];
  let ls = labelStart[0];
  for (let k = 0; k < n; k++) {
    const e = start[k + 1];
    const le = labelStart[k + 1];
    const del = deletedOf(k);
    const m = del ? dropDeleted(T, V, s, e, del) : e - s;
    if (m > 0) {
      if (w !== s) {
        T.copyWithin(w, s, s + m);
        V.copyWithin(w, s, s + m);
      }
      w += m;
      if (lw !== ls) labelRefs.copyWithin(lw, ls, le);
      lw += le - ls;
      kk++;
      start[kk] = w;
      labelStart[kk] = lw;
    }
    s = e;
    ls = le;
  }
  start[0] = 0;
  labelStart[0] = 0;
  return {
    symbols: c.symbols,
    labelRefs: labelRefs.subarray(0, lw),
    labelStart: labelStart.subarray(0, kk + 1),
    start: start.subarray(0, kk + 1),
    t: T,
    v: V,
  };
}

/** Removes samples in deleted intervals from T/V[start, end) in place (kept ones move to start); returns
 * the new count. */
function dropDeleted(
  T: Float64Array,
  V: Float64Array,
  start: number,
  end: number,
  del: readonly Interval[],
): number {
  let w = start;
  for (let r = start; r < end; r++) {
    const t = T[r];
    let gone = false;
    for (const iv of del) {
      if (t >= iv.mint && t <= iv.maxt) {
        gone = true;
        break;
      }
    }
    if (gone) continue;
    if (w !== r) {
      T[w] = t;
      V[w] = V[r];
    }
    w++;
  }
  return w - start;
}

function wrap(ulid: string, err: unknown, file: string): Error {
  if (err instanceof BlockCorruptionError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  const m = /^(index|chunks?|tombstones)/.exec(msg);
  return new BlockCorruptionError(ulid, m ? (m[1] === 'chunk' ? 'chunks' : m[1]) : file, msg);
}
