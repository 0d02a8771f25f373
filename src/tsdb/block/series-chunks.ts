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
 * The chunks of one series gathered from several blocks (each list with its block's deleted
 * intervals), as the writer wants them: in time order, not overlapping, inside [minTime, maxTime),
 * deleted samples gone. Untouched chunks keep their bytes.
 */
export function mergeSeriesChunks(
  parts: { chunks: readonly StoredChunk[]; deleted: readonly Interval[] | undefined }[],
  minTime: number,
  maxTime: number,
): ChunkInput[] {
  // Chunks that need decoding go through `pending` (time-sorted samples), the rest pass through.
  const plain: ChunkInput[] = [];
  const toDecode: StoredChunk[] = [];
  const toDecodeDel: (readonly Interval[] | undefined)[] = [];
  for (const p of parts) {
    for (const c of p.chunks) {
      if (c.maxt < minTime || c.mint >= maxTime) continue;
      const del = p.deleted;
      if (del && coveredBy(del, c.mint, c.maxt)) continue;
      const partial = c.mint < minTime || c.maxt >= maxTime;
      if ((del && overlapsAny(del, c.mint, c.maxt)) || partial) {
        if (c.encoding !== ENCODING_XOR) continue; // cannot cut a non-XOR chunk; dropped like Prometheus' iterators would not serve it
        toDecode.push(c);
        toDecodeDel.push(del);
      } else {
        plain.push({ mint: c.mint, maxt: c.maxt, data: c.data, encoding: c.encoding });
      }
    }
  }
  plain.sort((a, b) => a.mint - b.mint);
  // Any plain chunk overlapping another one (or a decoded one) must be decoded too.
  const decodedRanges: { mint: number; maxt: number }[] = toDecode.map((c) => ({
    mint: c.mint,
    maxt: c.maxt,
  }));
  const keep: ChunkInput[] = [];
  let prevMaxt = -Infinity; // the latest end among the earlier chunks, not just the previous one
  for (let i = 0; i < plain.length; i++) {
    const c = plain[i];
    const overlapPrev = prevMaxt >= c.mint;
    prevMaxt = Math.max(prevMaxt, c.maxt);
    const overlapNext = i + 1 < plain.length && plain[i + 1].mint <= c.maxt;
    const overlapDecoded = decodedRanges.some((r) => r.mint <= c.maxt && c.mint <= r.maxt);
    if ((overlapPrev || overlapNext || overlapDecoded) && (c.encoding ?? ENCODING_XOR) === ENCODING_XOR) {
      toDecode.push({ mint: c.mint, maxt: c.maxt, encoding: ENCODING_XOR, data: c.data });
      toDecodeDel.push(undefined);
    } else keep.push(c);
  }
  if (toDecode.length === 0) return keep;

  // Decode, merge by time (the first sample seen for a timestamp wins), cut into new chunks.
  let total = 0;
  for (const c of toDecode) total += c.data.length >= 2 ? (c.data[0] << 8) | c.data[1] : 0;
  const t = new Float64Array(total);
  const v = new Float64Array(total);
  let n = 0;
  for (let i = 0; i < toDecode.length; i++) {
    const start = n;
    n += ops.xorDecodeInto(toDecode[i].data, minTime, maxTime - 1, t, v, n);
    const del = toDecodeDel[i];
    if (del) {
      const k = filterDeleted(t.subarray(start, n), v.subarray(start, n), n - start, del);
      n = start + k;
    }
  }
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => t[a] - t[b] || a - b);
  const mt = new Float64Array(n);
  const mv = new Float64Array(n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const k = order[i];
    if (m > 0 && mt[m - 1] === t[k]) continue;
    mt[m] = t[k];
    mv[m] = v[k];
    m++;
  }
  const reencoded: ChunkInput[] = [];
  encodeChunks(mt, mv, m, reencoded);
  return [...keep, ...reencoded].sort((a, b) => a.mint - b.mint);
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
  }
  const labelsOf = typeof labels === 'function' ? labels : (i: number) => (labels as readonly Labels[])[i];
  const out: SeriesInput[] = [];
  for (const [i, chunks] of per) {
    chunks.sort((a, b) => a.mint - b.mint);
    const clipped = mergeSeriesChunks([{ chunks, deleted: undefined }], minTime, maxTime);
    if (clipped.length > 0) out.push({ labels: labelsOf(i), chunks: clipped });
  }
  return out.sort((a, b) => compareLabels(a.labels, b.labels));
}
