// Merging blocks into one (compaction, tombstone cleaning): series merged by label set, chunks in time
// order, overlapping chunks re-encoded, deleted samples removed. Chunks that need no change are copied
// as they are (views into the parents' mapped segments, never decoded).
import { compareLabels, type Labels } from '../../shared/labels.js';
import type { BlockDesc, BlockMeta } from '../block/meta.js';
import type { BlockReader, StoredSeries } from '../block/reader.js';
import { mergeSeriesChunks } from '../block/series-chunks.js';
import { type SeriesInput, writeBlock } from '../block/writer.js';
import { maybeYield } from '../block/yield.js';

export { mergeSeriesChunks, SAMPLES_PER_CHUNK } from '../block/series-chunks.js';

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
  tmpTag?: string;
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
    // Let the shard's event loop serve appends and queries while a large merge runs.
    const y = maybeYield();
    if (y) await y;
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
    tmpTag: opts.tmpTag,
  });
}
