// Which blocks to compact next, as Prometheus 2.42's LeveledCompactor plans: first any overlapping
// blocks; otherwise, leaving out the newest block, the first group of blocks that fills (or lies wholly
// before the newest block within) an aligned range of the next level; otherwise one large block with
// many tombstones, to be rewritten without the deleted data.
import type { BlockMeta } from '../block/meta.js';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
export const DEFAULT_BLOCK_DURATION = 2 * HOUR_MS;
export const DEFAULT_RETENTION = 15 * DAY_MS;

/** Prometheus' ExponentialBlockRanges: minSize, minSize*stepSize, ... (steps values). */
export function exponentialBlockRanges(minSize: number, steps: number, stepSize: number): number[] {
  const out: number[] = [];
  let cur = minSize;
  for (let i = 0; i < steps; i++) {
    out.push(cur);
    cur *= stepSize;
  }
  return out;
}

/**
 * The compaction ranges Prometheus uses for its flags: 2h x3 per level (10 levels), cut at the max block
 * duration, which defaults to 10% of the retention time capped at 31 days.
 */
export function compactionRanges(
  opts: { minBlockDuration?: number; maxBlockDuration?: number; retentionMs?: number } = {},
): number[] {
  const min = opts.minBlockDuration ?? DEFAULT_BLOCK_DURATION;
  const max = opts.maxBlockDuration ?? Math.min((opts.retentionMs ?? DEFAULT_RETENTION) / 10, 31 * DAY_MS);
  const ranges = exponentialBlockRanges(min, 10, 3);
  const cut = ranges.findIndex((r) => r > max);
  return cut < 0 ? ranges : ranges.slice(0, Math.max(1, cut));
}

function alignedStart(t: number, tr: number): number {
  return t >= 0 ? tr * Math.floor(t / tr) : tr * Math.floor((t - tr + 1) / tr);
}

/** Groups of consecutive blocks that fall into the same aligned range of size tr. */
export function splitByRange(ds: readonly BlockMeta[], tr: number): BlockMeta[][] {
  const out: BlockMeta[][] = [];
  for (let i = 0; i < ds.length; ) {
    const t0 = alignedStart(ds[i].minTime, tr);
    if (ds[i].maxTime > t0 + tr) {
      i++;
      continue;
    }
    const group: BlockMeta[] = [];
    for (; i < ds.length; i++) {
      if (ds[i].maxTime > t0 + tr) break;
      group.push(ds[i]);
    }
    if (group.length > 0) out.push(group);
  }
  return out;
}

function selectOverlapping(ds: readonly BlockMeta[]): BlockMeta[] {
  if (ds.length < 2) return [];
  const out: BlockMeta[] = [];
  let globalMaxt = ds[0].maxTime;
  for (let i = 1; i < ds.length; i++) {
    const d = ds[i];
    if (d.minTime < globalMaxt) {
      if (out.length === 0) out.push(ds[i - 1]);
      out.push(d);
    } else if (out.length > 0) break;
    if (d.maxTime > globalMaxt) globalMaxt = d.maxTime;
  }
  return out;
}

function selectDirs(ds: readonly BlockMeta[], ranges: readonly number[]): BlockMeta[] {
  if (ranges.length < 2 || ds.length < 1) return [];
  const highTime = ds[ds.length - 1].minTime;
  for (const iv of ranges.slice(1)) {
    for (const p of splitByRange(ds, iv)) {
      if (p.some((m) => m.compaction.failed)) continue;
      const mint = p[0].minTime;
      const maxt = p[p.length - 1].maxTime;
      if ((maxt - mint === iv || maxt <= highTime) && p.length > 1) return p;
    }
  }
  return [];
}

/** The blocks to compact together next (ULIDs), or [] when there is nothing to do. */
export function plan(metas: readonly BlockMeta[], ranges: readonly number[]): string[] {
  const ds = [...metas].sort((a, b) => a.minTime - b.minTime);
  const overlapping = selectOverlapping(ds);
  if (overlapping.length > 0) return overlapping.map((m) => m.ulid);
  // The newest block is left alone, giving backups a window to pick it up.
  const older = ds.slice(0, -1);
  const sel = selectDirs(older, ranges);
  if (sel.length > 0) return sel.map((m) => m.ulid);
  // A large enough block with more than 5% of its series deleted, or one deleted entirely.
  for (let i = older.length - 1; i >= 0; i--) {
    const m = older[i];
    const tomb = m.stats.numTombstones ?? 0;
    if (m.maxTime - m.minTime < ranges[Math.floor(ranges.length / 2)]) {
      if (tomb > 0 && tomb >= m.stats.numSeries) return [m.ulid];
      break;
    }
    if (tomb / (m.stats.numSeries + 1) > 0.05) return [m.ulid];
  }
  return [];
}
