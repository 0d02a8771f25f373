// Block durations and retention end to end through the engine: real shard workers, real block files,
// short blocks (1 min) so that cuts, compaction and retention happen within a test.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type EngineOptions, openStorage, type StorageEngine } from '../src/coordinator/index.js';
import type { AppendRequest } from '../src/shared/ingest.js';
import { quiet, useEngineFixture } from './support/engine-fixture.js';

const fx = useEngineFixture('promshard-retention-');
const tmp = (): string => fx.tmp();

const MIN = 60_000;
/** A minute-aligned start, well in the past (no future-grace refusals). */
const T0 = Math.floor((Date.now() - 3 * 3_600_000) / (9 * MIN)) * 9 * MIN;
const STEP = 5_000;
const SERIES = 6;

async function open(dir: string, opts: EngineOptions): Promise<StorageEngine> {
  const e = await openStorage(dir, { shards: 2, logger: quiet, chunkRangeMs: MIN, ...opts });
  fx.track(e);
  return e;
}

/** One sample per series at each step of [from, to); value = t / 1000 + series index. */
function request(from: number, to: number): AppendRequest {
  const series: string[][] = [];
  const starts = [0];
  const t: number[] = [];
  const v: number[] = [];
  for (let s = 0; s < SERIES; s++) {
    series.push(['__name__', 'ret_test', 'i', String(s)]);
    for (let ts = from; ts < to; ts += STEP) {
      t.push(ts);
      v.push(ts / 1000 + s);
    }
    starts.push(t.length);
  }
  return { series, sampleStart: Uint32Array.from(starts), t: Float64Array.from(t), v: Float64Array.from(v) };
}

async function ingest(e: StorageEngine, from: number, to: number): Promise<void> {
  for (let at = from; at < to; at += MIN) {
    const r = await e.append(request(at, Math.min(to, at + MIN)));
    expect(r.errors).toEqual([]);
  }
}

interface DiskBlock {
  ulid: string;
  minTime: number;
  maxTime: number;
  level: number;
  shard: number;
}

function blocksOnDisk(dir: string): DiskBlock[] {
  const out: DiskBlock[] = [];
  for (const n of readdirSync(dir)) {
    if (!/^[0-9A-Z]{26}$/.test(n)) continue;
    const m = JSON.parse(readFileSync(join(dir, n, 'meta.json'), 'utf8'));
    out.push({
      ulid: n,
      minTime: m.minTime,
      maxTime: m.maxTime,
      level: m.compaction.level,
      shard: m.promshard?.shard ?? 0,
    });
  }
  return out.sort((a, b) => a.minTime - b.minTime || a.shard - b.shard);
}

async function allSamples(e: StorageEngine): Promise<Map<string, Float64Array>> {
  const sel = await e.select([{ type: '=', name: '__name__', value: 'ret_test' }], -1e15, 1e15);
  return new Map(sel.map((s) => [s.labels.find((l) => l.name === 'i')!.value, s.t]));
}

describe('block durations and retention through the shards', () => {
  it('cuts 1m blocks, compacts them up to the max block duration, keeps every sample', async () => {
    const dir = tmp();
    // Ranges 1m, 3m (9m would exceed the 3m max block duration); no retention.
    const e = await open(dir, { maxBlockDurationMs: 3 * MIN });
    await ingest(e, T0, T0 + 20 * MIN);
    const cut = await e.cutBlocks();
    expect(cut).toBeGreaterThanOrEqual(2 * 18);
    const blocks = blocksOnDisk(dir);
    expect(blocks.length).toBeGreaterThan(0);
    for (const b of blocks) expect(b.maxTime - b.minTime).toBeLessThanOrEqual(3 * MIN);
    // Compacted: most of the 18 cut minutes are in 3m level-2 blocks, each shard's blocks do not overlap.
    expect(
      blocks.filter((b) => b.level === 2 && b.maxTime - b.minTime === 3 * MIN).length,
    ).toBeGreaterThanOrEqual(2 * 5);
    for (const s of [0, 1]) {
      const mine = blocks.filter((b) => b.shard === s);
      for (let i = 1; i < mine.length; i++)
        expect(mine[i].minTime).toBeGreaterThanOrEqual(mine[i - 1].maxTime);
    }
    const got = await allSamples(e);
    expect(got.size).toBe(SERIES);
    for (const t of got.values()) {
      expect(t.length).toBe((20 * MIN) / STEP);
      expect(t[0]).toBe(T0);
    }
    // The same after a restart (blocks read back from disk, head from the WAL).
    await e.close();
    fx.untrack(e);
    const e2 = await open(dir, { maxBlockDurationMs: 3 * MIN });
    const again = await allSamples(e2);
    for (const t of again.values()) expect(t.length).toBe((20 * MIN) / STEP);
  });

  it('deletes whole blocks beyond the retention time, oldest first', async () => {
    const dir = tmp();
    const e = await open(dir, { maxBlockDurationMs: 3 * MIN, retentionMs: 6 * MIN });
    await ingest(e, T0, T0 + 30 * MIN);
    await e.cutBlocks();
    const blocks = blocksOnDisk(dir);
    expect(blocks.length).toBeGreaterThan(0);
    for (const s of [0, 1]) {
      const mine = blocks.filter((b) => b.shard === s);
      const newest = Math.max(...mine.map((b) => b.maxTime));
      // Every block kept ends within the retention time of the shard's newest block.
      for (const b of mine) expect(newest - b.maxTime).toBeLessThanOrEqual(6 * MIN);
    }
    const got = await allSamples(e);
    const oldestKept = Math.min(...blocks.map((b) => b.minTime));
    expect(oldestKept).toBeGreaterThan(T0 + 10 * MIN);
    for (const t of got.values()) {
      // Oldest data gone, newest intact and contiguous to the end.
      expect(t[0]).toBeGreaterThanOrEqual(oldestKept);
      expect(t[t.length - 1]).toBe(T0 + 30 * MIN - STEP);
      for (let i = 1; i < t.length; i++) expect(t[i] - t[i - 1]).toBe(STEP);
    }
  });

  it('deletes the oldest blocks beyond the retention size', async () => {
    const dir = tmp();
    const first = await open(dir, { maxBlockDurationMs: MIN });
    await ingest(first, T0, T0 + 12 * MIN);
    await first.cutBlocks();
    const all = blocksOnDisk(dir);
    expect(all.length).toBeGreaterThanOrEqual(2 * 9);
    await first.close();
    fx.untrack(first);
    // Room for about three blocks per shard: the oldest go when the shards reopen and run retention.
    const sizeOf = (u: string) => {
      let n = 0;
      const d = join(dir, u);
      for (const f of ['index', 'meta.json', 'tombstones'])
        if (existsSync(join(d, f))) n += statSize(join(d, f));
      for (const f of readdirSync(join(d, 'chunks'))) n += statSize(join(d, 'chunks', f));
      return n;
    };
    const biggest = Math.max(...all.map((b) => sizeOf(b.ulid)));
    // The limit is for the whole directory, WAL included: each of the 2 shards gets half.
    const wal = Math.max(dirBytes(join(dir, 'wal', 'shard-0')), dirBytes(join(dir, 'wal', 'shard-1')));
    const perShard = Math.floor(3.5 * biggest) + wal;
    const e = await open(dir, { maxBlockDurationMs: MIN, retentionBytes: 2 * perShard });
    // As Prometheus on open, each shard applies retention right after it starts, without a cut or a tick.
    const deadline = Date.now() + 30_000;
    const shrunk = () =>
      [0, 1].every(
        (s) =>
          blocksOnDisk(dir).filter((b) => b.shard === s).length < all.filter((b) => b.shard === s).length,
      );
    while (!shrunk() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(shrunk()).toBe(true);
    await e.cutBlocks();
    const kept = blocksOnDisk(dir);
    for (const s of [0, 1]) {
      const before = all.filter((b) => b.shard === s);
      const after = kept.filter((b) => b.shard === s);
      expect(after.length).toBeGreaterThanOrEqual(2);
      expect(after.length).toBeLessThan(before.length);
      const used = after.reduce((n, b) => n + sizeOf(b.ulid), 0) + dirBytes(join(dir, 'wal', `shard-${s}`));
      expect(used).toBeLessThanOrEqual(perShard);
      // The newest blocks stay, the oldest go.
      expect(after.map((b) => b.ulid)).toEqual(before.slice(before.length - after.length).map((b) => b.ulid));
    }
  });
});

function statSize(p: string): number {
  return statSync(p).size;
}

function dirBytes(d: string): number {
  let n = 0;
  for (const f of readdirSync(d, { withFileTypes: true }))
    n += f.isDirectory() ? dirBytes(join(d, f.name)) : statSize(join(d, f.name));
  return n;
}
