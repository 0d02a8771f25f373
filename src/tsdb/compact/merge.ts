// Merging blocks into one (compaction, tombstone cleaning): series merged by label set, chunks in time
// order, overlapping chunks re-encoded, deleted samples removed. Chunks that need no change are copied
// as they are (views into the parents' mapped segments, never decoded).
import { compareLabels, type Labels } from '../../shared/labels.js';
import { ENCODING_XOR } from '../block/chunks.js';
import type { BlockDesc, BlockMeta } from '../block/meta.js';
import { ops } from '../block/native-ops.js';
import type { BlockReader, StoredSeries } from '../block/reader.js';
import type { Interval } from '../block/tombstones.js';
import { type ChunkInput, type SeriesInput, writeBlock } from '../block/writer.js';

/** Samples per chunk when re-encoding, as Prometheus cuts head chunks. */
export const SAMPLES_PER_CHUNK = 120;

type StoredChunk = StoredSeries['chunks'][number];

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
  for (let i = 0; i < plain.length; i++) {
    const c = plain[i];
    const overlapPrev = i > 0 && plain[i - 1].maxt >= c.mint;
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

/** K-way merge of the blocks' series by label set. */
function* mergeSeries(blocks: readonly BlockReader[]): Generator<{ labels: Labels; parts: StoredSeries[] }> {
  const its = blocks.map((b) => b.storedSeries());
  const heads: (StoredSeries | undefined)[] = its.map((it) => it.next().value ?? undefined);
  for (;;) {
    let min: Labels | undefined;
    for (const h of heads) if (h && (!min || compareLabels(h.labels, min) < 0)) min = h.labels;
    if (!min) return;
    const parts: StoredSeries[] = [];
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i];
      if (h && compareLabels(h.labels, min) === 0) {
        parts.push(h);
        heads[i] = its[i].next().value ?? undefined;
      }
    }
    yield { labels: min, parts };
  }
}

export interface MergeOptions {
  /** Range of the new block; defaults to the union of the parents' ranges. */
  minTime?: number;
  maxTime?: number;
  promshard?: BlockMeta['promshard'];
  segmentSize?: number;
  /** Compaction level of the result; defaults to max(parent levels) + 1. */
  level?: number;
}

/**
 * Reads `blocks` and writes their merge as one new block under `parentDir` (tombstones applied).
 * Returns its meta, or null when nothing is left (every sample deleted): then no block is written.
 * The parents are not touched: deleting them once the new block is in place is the caller's step.
 */
export async function mergeBlocks(
  parentDir: string,
  blocks: readonly BlockReader[],
  opts: MergeOptions = {},
): Promise<BlockMeta | null> {
  if (blocks.length === 0) throw new RangeError('mergeBlocks: no blocks');
  const minTime = opts.minTime ?? Math.min(...blocks.map((b) => b.meta.minTime));
  const maxTime = opts.maxTime ?? Math.max(...blocks.map((b) => b.meta.maxTime));
  const series: SeriesInput[] = [];
  for (const { labels, parts } of mergeSeries(blocks)) {
    const chunks = mergeSeriesChunks(
      parts.map((p) => ({ chunks: p.chunks, deleted: p.deleted })),
      minTime,
      maxTime,
    );
    if (chunks.length > 0) series.push({ labels, chunks });
  }
  if (series.length === 0) return null;
  const sources = [...new Set(blocks.flatMap((b) => b.meta.compaction.sources))].sort();
  const parents: BlockDesc[] = blocks.map((b) => ({
    ulid: b.ulid,
    minTime: b.meta.minTime,
    maxTime: b.meta.maxTime,
  }));
  return writeBlock(parentDir, series, {
    minTime,
    maxTime,
    level: opts.level ?? Math.max(...blocks.map((b) => b.meta.compaction.level)) + 1,
    sources,
    parents,
    promshard: opts.promshard ?? blocks[0].meta.promshard,
    segmentSize: opts.segmentSize,
  });
}
