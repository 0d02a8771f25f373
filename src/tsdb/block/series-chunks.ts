// Bringing a series' chunks into the shape the block writer wants: in time order, not overlapping,
// inside the block's range, deleted samples gone. Chunks that need no change keep their bytes; the
// others are decoded, merged by time and re-encoded by the addon. Used by compaction (chunks of several
// blocks), tombstone cleaning and the head cut (head chunks that stick out of the block's range).
import type { Labels } from '../../shared/labels.js';
import { compareLabels } from '../../shared/labels.js';
import { ENCODING_XOR } from './chunks.js';
import { ops } from './native-ops.js';
import type { StoredSeries } from './reader.js';
import type { Interval } from './tombstones.js';
import type { ChunkInput, SeriesInput } from './writer.js';

/** Samples per chunk when re-encoding, as Prometheus cuts head chunks. */
export const SAMPLES_PER_CHUNK = 120;

export type StoredChunk = StoredSeries['chunks'][number];

function overlapsAny(del: readonly Interval[], mint: number, maxt: number): boolean {
  for (const iv of del) if (iv.mint <= maxt && mint <= iv.maxt) return true;
  return false;
}

function coveredBy(del: readonly Interval[], mint: number, maxt: number): boolean {
  for (const iv of del) if (iv.mint <= mint && maxt <= iv.maxt) return true;
  return false;
}

function encodeChunks(t: Float64Array, v: Float64Array, n: number, out: ChunkInput[]): void {
  for (let i = 0; i < n; i += SAMPLES_PER_CHUNK) {
    const end = Math.min(n, i + SAMPLES_PER_CHUNK);
    out.push({ mint: t[i], maxt: t[end - 1], data: ops.xorEncode(t, v, i, end) });
  }
}

/** Drops samples inside `del` from (t, v) in place; returns the new length. */
function filterDeleted(t: Float64Array, v: Float64Array, n: number, del: readonly Interval[]): number {
  let w = 0;
  for (let r = 0; r < n; r++) {
    const ts = t[r];
    let gone = false;
    for (const iv of del) {
      if (ts >= iv.mint && ts <= iv.maxt) {
        gone = true;
        break;
      }
    }
    if (gone) continue;
    t[w] = ts;
    v[w] = v[r];
    w++;
  }
  return w;
}

/**
 * The chunks of one series gathered from several sources (each list with its deleted intervals), as
 * the writer wants them: in time order, not overlapping, inside [minTime, maxTime), deleted samples
 * gone. Chunks are grouped by overlapping time ranges; a group of one chunk that needs no change keeps
 * its bytes, any other group is decoded, merged by time (for equal timestamps the earlier source in
 * `parts` wins) and re-encoded. Non-XOR chunks that would need decoding are dropped.
 */
export function mergeSeriesChunks(
  parts: { chunks: readonly StoredChunk[]; deleted: readonly Interval[] | undefined }[],
  minTime: number,
  maxTime: number,
): ChunkInput[] {
  // Fast path (a head cut, or a series found in one block only): nothing to cut, merge or delete.
  if (parts.length === 1 && !parts[0].deleted) {
    const cs = parts[0].chunks;
    let ok = true;
    let prev = -Infinity;
    for (const c of cs) {
      if (c.mint <= prev || c.mint < minTime || c.maxt >= maxTime || c.mint > c.maxt) {
        ok = false;
        break;
      }
      prev = c.maxt;
    }
    if (ok) return cs.map((c) => ({ mint: c.mint, maxt: c.maxt, data: c.data, encoding: c.encoding }));
  }
  interface Cand {
    c: StoredChunk;
    part: number;
    must: boolean;
  }
  const cands: Cand[] = [];
  for (let pi = 0; pi < parts.length; pi++) {
    const del = parts[pi].deleted;
    for (const c of parts[pi].chunks) {
      if (c.maxt < minTime || c.mint >= maxTime) continue;
      if (del && coveredBy(del, c.mint, c.maxt)) continue;
      const must =
        c.mint < minTime || c.maxt >= maxTime || (del !== undefined && overlapsAny(del, c.mint, c.maxt));
      cands.push({ c, part: pi, must });
    }
  }
  cands.sort((x, y) => x.c.mint - y.c.mint || x.part - y.part);
  const out: ChunkInput[] = [];
  for (let i = 0; i < cands.length; ) {
    let j = i + 1;
    let gMax = cands[i].c.maxt;
    while (j < cands.length && cands[j].c.mint <= gMax) {
      gMax = Math.max(gMax, cands[j].c.maxt);
      j++;
    }
    if (j === i + 1 && !cands[i].must) {
      const c = cands[i].c;
      out.push({ mint: c.mint, maxt: c.maxt, data: c.data, encoding: c.encoding });
    } else {
      const group = cands.slice(i, j).filter((x) => x.c.encoding === ENCODING_XOR);
      reencodeGroup(group, parts, minTime, maxTime, out);
    }
    i = j;
  }
  return out;
}

// Reused decode/merge columns: re-encoding runs synchronously and xorEncode copies what it encodes, so
// one set per thread serves every group (allocating them per series made compaction GC-bound).
let cols: Float64Array[] = [];
function scratch(n: number): Float64Array[] {
  if (cols.length === 0 || cols[0].length < n) {
    const cap = Math.max(n, 4096);
    cols = [new Float64Array(cap), new Float64Array(cap), new Float64Array(cap), new Float64Array(cap)];
  }
  return cols;
}

/** Decodes a group of overlapping chunks, merges them by time and appends the re-encoded chunks. */
function reencodeGroup(
  group: { c: StoredChunk; part: number }[],
  parts: { deleted: readonly Interval[] | undefined }[],
  minTime: number,
  maxTime: number,
  out: ChunkInput[],
): void {
  if (group.length === 0) return;
  // One sorted run per source: a source's chunks do not overlap each other.
  group.sort((x, y) => x.part - y.part || x.c.mint - y.c.mint);
  let total = 0;
  for (const g of group) total += g.c.data.length >= 2 ? (g.c.data[0] << 8) | g.c.data[1] : 0;
  const [t, v, tm, vm] = scratch(total);
  const runStart: number[] = [];
  let n = 0;
  for (let k = 0; k < group.length; k++) {
    if (k === 0 || group[k].part !== group[k - 1].part) runStart.push(n);
    const start = n;
    n += ops.xorDecodeInto(group[k].c.data, minTime, maxTime - 1, t, v, n);
    const del = parts[group[k].part].deleted;
    if (del) n = start + filterDeleted(t.subarray(start, n), v.subarray(start, n), n - start, del);
  }
  runStart.push(n);
  let mt: Float64Array;
  let mv: Float64Array;
  let m: number;
  if (runStart.length === 2) {
    mt = t;
    mv = v;
    m = n;
  } else {
    // K-way merge of the runs (k is small: the number of sources); ties go to the earlier source.
    const k = runStart.length - 1;
    const pos = runStart.slice(0, k);
    const end = runStart.slice(1);
    mt = tm;
    mv = vm;
    m = 0;
    for (;;) {
      let best = -1;
      for (let r = 0; r < k; r++) if (pos[r] < end[r] && (best < 0 || t[pos[r]] < t[pos[best]])) best = r;
      if (best < 0) break;
      const ts = t[pos[best]];
      if (m === 0 || mt[m - 1] !== ts) {
        mt[m] = ts;
        mv[m] = v[pos[best]];
        m++;
      }
      pos[best]++;
    }
  }
  encodeChunks(mt, mv, m, out);
}

/** What a head's chunk export gives (HeadChunks.exportChunks of src/native/binding.ts). */
export interface HeadChunkExportLike {
  index: Uint32Array;
  mint: Float64Array;
  maxt: Float64Array;
  offsets: Uint32Array;
  data: Uint8Array;
}

/**
 * Writer input for a head cut: the exported chunks (chunk k belongs to series number index[k]; its
 * labels are labels[index[k]] or labels(index[k])), clipped to [minTime, maxTime) (chunks sticking out
 * are re-encoded), sorted by label set; series left without samples are dropped. The chunk bytes are
 * views into exp.data. Fits Head.exportChunks of src/tsdb/head.ts: pass its `chunks` and `labels`.
 */
export function seriesFromHeadExport(
  exp: HeadChunkExportLike,
  labels: readonly Labels[] | ((i: number) => Labels),
  minTime: number,
  maxTime: number,
): SeriesInput[] {
  const steps = headExportSteps(exp, labels, minTime, maxTime);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * seriesFromHeadExport giving the event loop a turn whenever `pause` returns a promise (a shard keeps
 * appending while it cuts a block: re-encoding the open chunks of 100k series takes seconds).
 */
export async function seriesFromHeadExportAsync(
  exp: HeadChunkExportLike,
  labels: readonly Labels[] | ((i: number) => Labels),
  minTime: number,
  maxTime: number,
  pause: () => Promise<void> | undefined,
): Promise<SeriesInput[]> {
  const steps = headExportSteps(exp, labels, minTime, maxTime);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    const p = pause();
    if (p !== undefined) await p;
  }
}

function* headExportSteps(
  exp: HeadChunkExportLike,
  labels: readonly Labels[] | ((i: number) => Labels),
  minTime: number,
  maxTime: number,
): Generator<void, SeriesInput[], void> {
  const per = new Map<number, StoredChunk[]>();
  for (let k = 0; k < exp.index.length; k++) {
    const i = exp.index[k];
    if (Array.isArray(labels) && i >= labels.length) {
      throw new RangeError(`seriesFromHeadExport: chunk ${k} names series ${i} of ${labels.length}`);
    }
    let list = per.get(i);
    if (!list) {
      list = [];
      per.set(i, list);
    }
    list.push({
      mint: exp.mint[k],
      maxt: exp.maxt[k],
      encoding: ENCODING_XOR,
      data: exp.data.subarray(exp.offsets[k], exp.offsets[k + 1]),
    });
    if ((k & 1023) === 1023) yield;
  }
  const labelsOf = typeof labels === 'function' ? labels : (i: number) => (labels as readonly Labels[])[i];
  const out: SeriesInput[] = [];
  let n = 0;
  for (const [i, chunks] of per) {
    chunks.sort((a, b) => a.mint - b.mint);
    const clipped = mergeSeriesChunks([{ chunks, deleted: undefined }], minTime, maxTime);
    if (clipped.length > 0) out.push({ labels: labelsOf(i), chunks: clipped });
    if ((++n & 255) === 0) yield;
  }
  return yield* sortSteps(out, (a, b) => compareLabels(a.labels, b.labels));
}

/**
 * A stable merge sort that yields between steps of ~1024 comparisons' worth: sorting 50k series by labels
 * takes ~100 ms, too long to hold a shard that is appending.
 */
function* sortSteps<T>(a: T[], cmp: (x: T, y: T) => number): Generator<void, T[], void> {
  const RUN = 512;
  const n = a.length;
  for (let i = 0; i < n; i += RUN) {
    const run = a.slice(i, i + RUN).sort(cmp);
    for (let k = 0; k < run.length; k++) a[i + k] = run[k];
    yield;
  }
  let src = a;
  let dst: T[] = new Array(n);
  for (let width = RUN; width < n; width *= 2) {
    let work = 0;
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        dst[k++] = cmp(src[j], src[i]) < 0 ? src[j++] : src[i++];
        if ((++work & 1023) === 0) yield;
      }
      while (i < mid) dst[k++] = src[i++];
      while (j < hi) dst[k++] = src[j++];
    }
    [src, dst] = [dst, src];
  }
  return src;
}
