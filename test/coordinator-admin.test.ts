// Deletion, tombstones, snapshots and TSDB status through the engine: real shard workers, real files,
// 1-minute blocks so that a cut, compaction and tombstone cleaning happen within a test; promtool reads
// the snapshot when it is installed.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type EngineOptions, openStorage, type StorageEngine } from '../src/coordinator/index.js';
import type { AppendRequest } from '../src/shared/ingest.js';
import type { Matcher } from '../src/shared/matchers.js';
import { Head } from '../src/tsdb/head.js';
import { ShardStorage } from '../src/tsdb/shard-storage.js';
import { quiet, useEngineFixture } from './support/engine-fixture.js';

const fx = useEngineFixture('promshard-admin-');
const tmp = (): string => fx.tmp();

const MIN = 60_000;
const T0 = Math.floor((Date.now() - 3 * 3_600_000) / (9 * MIN)) * 9 * MIN;
const STEP = 5_000;
const SERIES = 6;
const NAME = 'adm_test';

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}
const havePromtool = onPath('promtool');
if (!havePromtool) console.log('coordinator-admin: skipping the promtool checks: promtool is not on PATH');

async function open(dir: string, opts: EngineOptions = {}): Promise<StorageEngine> {
  const e = await openStorage(dir, {
    shards: 2,
    logger: quiet,
    chunkRangeMs: MIN,
    maxBlockDurationMs: 3 * MIN,
    ...opts,
  });
  fx.track(e);
  return e;
}

async function reopen(dir: string, e: StorageEngine): Promise<StorageEngine> {
  await e.close();
  fx.untrack(e);
  return open(dir);
}

function request(from: number, to: number): AppendRequest {
  const series: string[][] = [];
  const starts = [0];
  const t: number[] = [];
  const v: number[] = [];
  for (let s = 0; s < SERIES; s++) {
    series.push(['__name__', NAME, 'i', String(s)]);
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

const sel = (i?: string): Matcher[] => [
  { type: '=', name: '__name__', value: NAME },
  ...(i === undefined ? [] : [{ type: '=' as const, name: 'i', value: i }]),
];

/** Series i -> timestamps, over all time. */
async function samples(e: StorageEngine): Promise<Map<string, number[]>> {
  const got = await e.select(sel(), -1e15, 1e15);
  return new Map(got.map((s) => [s.labels.find((l) => l.name === 'i')!.value, Array.from(s.t)]));
}

function expected(from: number, to: number): number[] {
  const out: number[] = [];
  for (let t = from; t < to; t += STEP) out.push(t);
  return out;
}

/** The state after deleting series 1 entirely and series 2 from T0+5m on. */
async function checkDeleted(e: StorageEngine, end: number): Promise<void> {
  const got = await samples(e);
  expect([...got.keys()].sort()).toEqual(['0', '2', '3', '4', '5']);
  expect(got.get('2')).toEqual(expected(T0, T0 + 5 * MIN));
  for (const i of ['0', '3', '4', '5']) expect(got.get(i)).toEqual(expected(T0, end));
  const series = await e.series([sel()], -1e15, 1e15);
  expect(series.map((l) => l.find((x) => x.name === 'i')!.value).sort()).toEqual(['0', '2', '3', '4', '5']);
  expect(await e.labelValues('i', [], -1e15, 1e15)).toEqual(['0', '2', '3', '4', '5']);
  // Series 2 has nothing left after T0+5m: not listed for that range.
  const late = await e.series([sel('2')], T0 + 6 * MIN, 1e15);
  expect(late).toEqual([]);
}

function metas(dir: string): { ulid: string; numTombstones?: number; shard: number }[] {
  return readdirSync(dir)
    .filter((n) => /^[0-9A-Z]{26}$/.test(n))
    .map((n) => {
      const m = JSON.parse(readFileSync(join(dir, n, 'meta.json'), 'utf8'));
      return { ulid: n, numTombstones: m.stats.numTombstones, shard: m.promshard?.shard ?? 0 };
    });
}

describe('deletion, tombstones and snapshots through the shards', () => {
  it('hides deleted samples at once, keeps them hidden across restarts, cuts and tombstone cleaning', async () => {
    const dir = tmp();
    let e = await open(dir);
    await ingest(e, T0, T0 + 12 * MIN);
    expect(await e.cutBlocks()).toBeGreaterThan(0);
    // Blocks hold the first ~10 minutes, the head the rest: both deletions span blocks and head.
    await e.deleteSeries(sel('1'), -1e15, 1e15);
    await e.deleteSeries(sel('2'), T0 + 5 * MIN, 1e15);
    await checkDeleted(e, T0 + 12 * MIN);
    expect(metas(dir).some((m) => (m.numTombstones ?? 0) > 0)).toBe(true);

    // Restart: block tombstones from disk, head tombstones from the WAL checkpoint written at close.
    e = await reopen(dir, e);
    await checkDeleted(e, T0 + 12 * MIN);

    // Appends after the deletion stay visible (the head's tombstones end at its last sample then).
    await ingest(e, T0 + 12 * MIN, T0 + 16 * MIN);
    const got = await samples(e);
    expect(got.get('1')).toEqual(expected(T0 + 12 * MIN, T0 + 16 * MIN));
    expect(got.get('2')).toEqual([...expected(T0, T0 + 5 * MIN), ...expected(T0 + 12 * MIN, T0 + 16 * MIN)]);

    // The head cut moves the deleted head range into blocks (as their tombstones): still hidden.
    expect(await e.cutBlocks()).toBeGreaterThan(0);
    const after = await samples(e);
    expect(after).toEqual(got);
    const status = await e.tsdbStatus();
    expect(status.shardStatus.reduce((n, s) => n + s.headSeriesWithTombstones, 0)).toBe(0);

    // clean_tombstones rewrites the blocks without the deleted data: no tombstones left, same answers.
    await e.cleanTombstones();
    expect(metas(dir).filter((m) => (m.numTombstones ?? 0) > 0)).toEqual([]);
    expect(await samples(e)).toEqual(got);
    e = await reopen(dir, e);
    expect(await samples(e)).toEqual(got);
  });

  it('replays a tombstone record from the WAL after a crash (no checkpoint)', () => {
    const dir = tmp();
    const s = ShardStorage.open(dir, { chunkRangeMs: MIN });
    const labels = new TextEncoder().encode('\u0008__name__\u0001x\u0001i\u00011');
    const batch = {
      nSeries: 1,
      hashes: new Uint32Array([1, 2]),
      labelStart: Uint32Array.of(0, labels.length),
      labelBytes: labels,
      sampleStart: Uint32Array.of(0, 10),
      t: Float64Array.from({ length: 10 }, (_, k) => T0 + k * STEP),
      v: Float64Array.from({ length: 10 }, (_, k) => k),
    };
    expect(s.append(batch).counts[0]).toBe(10);
    const refs = s.head.postingsFor([{ type: '=', name: 'i', value: '1' }]);
    s.deleteRefs(refs, T0 + 2 * STEP, T0 + 5 * STEP);
    const before = s.head.select([{ type: '=', name: '__name__', value: 'x' }], -1e15, 1e15);
    expect(Array.from(before.t.subarray(0, before.counts[0]))).toEqual(
      [0, 1, 6, 7, 8, 9].map((k) => T0 + k * STEP),
    );
    s.close(false); // as after kill -9: segments only, no checkpoint
    const r = ShardStorage.open(dir, { chunkRangeMs: MIN });
    const again = r.head.select([{ type: '=', name: '__name__', value: 'x' }], -1e15, 1e15);
    expect(Array.from(again.t.subarray(0, again.counts[0]))).toEqual(Array.from(before.t.subarray(0, 6)));
    // A checkpoint carries the tombstones too.
    r.checkpoint();
    r.close(false);
    const c = ShardStorage.open(dir, { chunkRangeMs: MIN });
    const third = c.head.select([{ type: '=', name: '__name__', value: 'x' }], -1e15, 1e15);
    expect(third.counts[0]).toBe(6);
    c.close(false);
    expect(new Head().tombstones.size).toBe(0);
  });

  it('reports damaged blocks per shard in the TSDB status and serves the rest', async () => {
    const dir = tmp();
    let e = await open(dir);
    await ingest(e, T0, T0 + 8 * MIN);
    await e.cutBlocks();
    const victim = metas(dir).find((m) => m.shard === 1)!;
    // Damaged while the server is down: the shard reports it at the next start.
    await e.close();
    fx.untrack(e);
    writeFileSync(join(dir, victim.ulid, 'index'), 'garbage');
    e = await open(dir);
    const status = await e.tsdbStatus();
    const damaged = status.shardStatus.flatMap((x) =>
      x.damagedBlocks.map((d) => ({ shard: x.shard, ulid: d.ulid })),
    );
    expect(damaged).toEqual([{ shard: 1, ulid: victim.ulid }]);
    expect(status.shardStatus[1].blocks.map((b) => b.ulid)).not.toContain(victim.ulid);
    // Everything else is served: the series of shard 0 completely.
    const got = await samples(e);
    expect(got.size).toBe(SERIES);
  });

  it('snapshots every shard (head included) into one directory that promtool reads', async () => {
    const dir = tmp();
    const e = await open(dir);
    await ingest(e, T0, T0 + 8 * MIN);
    await e.cutBlocks();
    await e.deleteSeries(sel('3'), -1e15, 1e15);
    const want = await samples(e);
    expect(want.has('3')).toBe(false);

    const withHead = join(dir, 'snapshots', 'with-head');
    const noHead = join(dir, 'snapshots', 'no-head');
    mkdirSync(withHead, { recursive: true });
    mkdirSync(noHead, { recursive: true });
    await e.snapshot(withHead, true);
    await e.snapshot(noHead, false);
    const blocks = metas(dir);
    expect(
      metas(noHead)
        .map((m) => m.ulid)
        .sort(),
    ).toEqual(blocks.map((m) => m.ulid).sort());
    // The head of each shard adds one block.
    expect(metas(withHead).length).toBe(blocks.length + 2);

    // The snapshot is a Prometheus data directory: open it as promshard would, all samples are there.
    const copy = join(tmp(), 'copy');
    cpSync(withHead, copy, { recursive: true });
    // promtool opens a data directory with its WAL; a snapshot has none.
    mkdirSync(join(copy, 'wal'));
    const { BlockStore } = await import('../src/tsdb/compact/block-store.js');
    const store = new BlockStore(copy);
    await store.open();
    const fromSnap = store.select(sel(), -1e15, 1e15);
    expect(
      new Map(fromSnap.map((s) => [s.labels.find((l) => l.name === 'i')!.value, Array.from(s.t)])),
    ).toEqual(want);
    await store.close();

    const status = await e.tsdbStatus();
    expect(status.headStats.numSeries).toBe(SERIES);
    expect(status.seriesCountByMetricName).toEqual([{ name: NAME, value: SERIES }]);
    expect(status.labelValueCountByLabelName).toContainEqual({ name: 'i', value: SERIES });
    expect(status.seriesCountByLabelValuePair).toContainEqual({ name: `__name__=${NAME}`, value: SERIES });
    expect(status.shardStatus.map((s) => s.shard)).toEqual([0, 1]);
    expect(status.shardStatus.reduce((n, s) => n + s.blocks.length, 0)).toBe(blocks.length);
    expect(status.shardStatus.reduce((n, s) => n + s.headStats.numSeries, 0)).toBe(SERIES);

    if (!havePromtool) {
      console.log('coordinator-admin: promtool is not on PATH, snapshot not checked with promtool');
      return;
    }
    const list = execFileSync('promtool', ['tsdb', 'list', copy], { encoding: 'utf8' });
    for (const m of metas(withHead)) expect(list).toContain(m.ulid);
    const dump = execFileSync('promtool', ['tsdb', 'dump', copy], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const fromDump = new Map<string, number[]>();
    for (const line of dump.split('\n')) {
      const m = /^\{__name__="adm_test", i="(\d)"\} (\S+) (\d+)$/.exec(line);
      if (m === null) continue;
      const ts = Number(m[3]);
      expect(Number(m[2])).toBe(ts / 1000 + Number(m[1]));
      const list = fromDump.get(m[1]) ?? [];
      list.push(ts);
      fromDump.set(m[1], list);
    }
    // promtool dumps block by block (overlapping shard blocks each in turn): compare sorted sets.
    for (const l of fromDump.values()) l.sort((a, b) => a - b);
    expect(fromDump).toEqual(want);
  });
});
