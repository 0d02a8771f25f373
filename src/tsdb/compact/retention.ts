// Retention as Prometheus 2.42 applies it: whole blocks, oldest first.
import type { BlockMeta } from '../block/meta.js';

export interface RetentionBlock {
  meta: BlockMeta;
  /** Bytes on disk (index + chunks + tombstones + meta.json). */
  sizeBytes: number;
}

/**
 * ULIDs of the blocks to delete. By time: blocks whose maxTime lies more than `retentionMs` before the
 * newest block's maxTime. By size: walking from the newest block, the block at which the running total
 * (starting from `extraBytes`, e.g. the head and WAL) exceeds `maxBytes`, and every older block.
 * A limit of 0 or undefined is off.
 */
export function blocksBeyondRetention(
  blocks: readonly RetentionBlock[],
  opts: { retentionMs?: number; maxBytes?: number; extraBytes?: number },
): string[] {
  const sorted = [...blocks].sort((a, b) => b.meta.maxTime - a.meta.maxTime);
  const out = new Set<string>();
  if (opts.retentionMs && opts.retentionMs > 0) {
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[0].meta.maxTime - sorted[i].meta.maxTime > opts.retentionMs) {
        for (const b of sorted.slice(i)) out.add(b.meta.ulid);
        break;
      }
    }
  }
  if (opts.maxBytes && opts.maxBytes > 0) {
    let total = opts.extraBytes ?? 0;
    for (let i = 0; i < sorted.length; i++) {
      total += sorted[i].sizeBytes;
      if (total > opts.maxBytes) {
        for (const b of sorted.slice(i)) out.add(b.meta.ulid);
        break;
      }
    }
  }
  return [...out];
}
