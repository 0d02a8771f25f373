import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Labels, labelsFromObject } from '../src/shared/labels.js';
import type { SeriesData } from '../src/shared/storage.js';
import { ops } from '../src/tsdb/block/native-ops.js';
import { BlockReader } from '../src/tsdb/block/reader.js';
import type { SeriesInput } from '../src/tsdb/block/writer.js';
import { writeBlock } from '../src/tsdb/block/writer.js';
import { BlockStore } from '../src/tsdb/compact/block-store.js';
import { compactionRanges, DAY_MS, HOUR_MS, plan } from '../src/tsdb/compact/planner.js';
import { blocksBeyondRetention } from '../src/tsdb/compact/retention.js';
import { bitsOf, STALE } from './block-fixture.js';

const work = mkdtempSync(join(tmpdir(), 'promshard-compact-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let dirSeq = 0;
const newDir = () => {
  const d = join(work, `db${dirSeq++}`);
  mkdirSync(d);
  return d;
};
const havePromtool = (process.env.PATH ?? '')
  .split(delimiter)
  .some((d) => d !== '' && existsSync(join(d, 'promtool')));
if (!havePromtool) console.log('skipping promtool cases: promtool is not on PATH');

const STEP = 15_000;
const H2 = 2 * HOUR_MS;

/** Synthetic series: `n` series, samples every 15 s in [mint, maxt), value depending on (series, t). */
function makeData(n: number, mint: number, maxt: number, offset = 0, tag = 'x'): SeriesData[] {
  const out: SeriesData[] = [];
  for (let k = 0; k < n; k++) {
    const ts: number[] = [];
    for (let t = mint + offset; t < maxt; t += STEP) ts.push(t);
    const t = Float64Array.from(ts);
    const v = t.map((x) => (k % 3 === 0 ? x / 1000 : Math.sin(x + k) * 100));
    if (k === 1 && v.length > 5) v[5] = STALE;
    out.push({
      labels: labelsFromObject({ __name__: `m_${tag}`, i: String(k).padStart(4, '0'), job: 'j' }),
      t,
      v,
    });
  }
  return out;
}

function toSeriesInput(data: SeriesData[]): SeriesInput[] {
  return data.map((s) => {
    const chunks = [];
    for (let i = 0; i < s.t.length; i += 120) {
      const e = Math.min(s.t.length, i + 120);
      chunks.push({ mint: s.t[i], maxt: s.t[e - 1], data: ops.xorEncode(s.t, s.v, i, e) });
    }
    return { labels: s.labels, chunks };
  });
}

async function putBlock(dir: string, data: SeriesData[], mint: number, maxt: number): Promise<string> {
  return (await writeBlock(dir, toSeriesInput(data), { minTime: mint, maxTime: maxt })).ulid;
}

/** Concatenates/merges expected data by label set, dropping later duplicates of a timestamp. */
function union(...sets: SeriesData[][]): Map<string, { labels: Labels; t: number[]; bits: string[] }> {
  const m = new Map<string, { labels: Labels; pts: Map<number, string> }>();
  for (const set of sets) {
    for (const s of set) {
      const key = JSON.stringify(s.labels);
      let e = m.get(key);
      if (!e) {
        e = { labels: s.labels, pts: new Map() };
        m.set(key, e);
      }
      const bits = bitsOf(s.v);
      s.t.forEach((t, i) => {
        if (!e.pts.has(t)) e.pts.set(t, bits[i]);
      });
    }
  }
  const out = new Map<string, { labels: Labels; t: number[]; bits: string[] }>();
  for (const [k, e] of m) {
    const ts = [...e.pts.keys()].sort((a, b) => a - b);
    out.set(k, { labels: e.labels, t: ts, bits: ts.map((t) => e.pts.get(t)!) });
  }
  return out;
}

function expectSame(got: SeriesData[], want: ReturnType<typeof union>): void {
  expect(got.length).toBe(want.size);
  for (const s of got) {
    const w = want.get(JSON.stringify(s.labels));
    expect(w, JSON.stringify(s.labels)).toBeDefined();
    expect(Array.from(s.t)).toEqual(w!.t);
    expect(bitsOf(s.v)).toEqual(w!.bits);
  }
}

const ALL = [{ type: '=' as const, name: 'job', value: 'j' }];

describe('planner', () => {
  const meta = (ulid: string, minTime: number, maxTime: number, extra: object = {}) => ({
    ulid,
    minTime,
    maxTime,
    stats: { numSamples: 1, numSeries: 10, numChunks: 1 },
    compaction: { level: 1, sources: [ulid] },
    version: 1 as const,
    ...extra,
  });
  it('uses 2h x3 ranges up to 10% of retention or 31d', () => {
    expect(compactionRanges({ retentionMs: 15 * DAY_MS })).toEqual([2, 6, 18].map((h) => h * HOUR_MS));
    expect(compactionRanges({ retentionMs: 3650 * DAY_MS })).toEqual(
      [2, 6, 18, 54, 162, 486].map((h) => h * HOUR_MS),
    );
    expect(compactionRanges({ minBlockDuration: 1000, maxBlockDuration: 9000 })).toEqual([1000, 3000, 9000]);
  });
  it('merges three full 2h blocks into 6h, leaving the newest alone', () => {
    const r = compactionRanges();
    const ms = [
      meta('A', 0, H2),
      meta('B', H2, 2 * H2),
      meta('C', 2 * H2, 3 * H2),
      meta('D', 3 * H2, 4 * H2),
    ];
    expect(plan(ms, r)).toEqual(['A', 'B', 'C']);
    expect(plan(ms.slice(0, 3), r)).toEqual([]);
  });
  it('picks overlapping blocks first', () => {
    const ms = [meta('A', 0, H2), meta('B', H2, 2 * H2), meta('C', H2 + 5, 2 * H2 - 5)];
    expect(plan(ms, compactionRanges())).toEqual(['B', 'C']);
  });
  it('rewrites a large block with many tombstones', () => {
    const big = meta('A', 0, 18 * HOUR_MS, {
      stats: { numSamples: 1, numSeries: 10, numChunks: 1, numTombstones: 2 },
    });
    expect(plan([big, meta('B', 18 * HOUR_MS, 20 * HOUR_MS)], compactionRanges())).toEqual(['A']);
  });
});

describe('retention', () => {
  const rb = (ulid: string, minTime: number, maxTime: number, sizeBytes: number) => ({
    meta: {
      ulid,
      minTime,
      maxTime,
      stats: { numSamples: 0, numSeries: 0, numChunks: 0 },
      compaction: { level: 1, sources: [] },
      version: 1 as const,
    },
    sizeBytes,
  });
  const bs = [rb('A', 0, H2, 100), rb('B', H2, 2 * H2, 100), rb('C', 2 * H2, 3 * H2, 100)];
  it('by time, relative to the newest block', () => {
    expect(blocksBeyondRetention(bs, { retentionMs: H2 })).toEqual(['A']);
    expect(blocksBeyondRetention(bs, { retentionMs: 2 * H2 })).toEqual([]);
  });
  it('by size, oldest first, counting the head', () => {
    expect(blocksBeyondRetention(bs, { maxBytes: 250 })).toEqual(['A']);
    expect(blocksBeyondRetention(bs, { maxBytes: 250, extraBytes: 100 }).sort()).toEqual(['A', 'B']);
    expect(blocksBeyondRetention(bs, { maxBytes: 300 })).toEqual([]);
  });
});

describe('BlockStore', () => {
  it('compacts three 2h blocks into one 6h block and deletes them after', async () => {
    const dir = newDir();
    const parts = [0, 1, 2, 3].map((i) => makeData(20 - i * 3, i * H2, (i + 1) * H2));
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await putBlock(dir, parts[i], i * H2, (i + 1) * H2));
    const store = new BlockStore(dir, { ranges: compactionRanges() });
    await store.open();
    const before = store.select(ALL, 0, 4 * H2);
    const written = await store.compact();
    expect(written.length).toBe(1);
    const nb = store.get(written[0])!;
    expect(nb.meta.compaction.level).toBe(2);
    expect(nb.meta.compaction.sources).toEqual(ids.slice(0, 3).sort());
    expect(nb.meta.compaction.parents!.map((p) => p.ulid)).toEqual(ids.slice(0, 3));
    expect([nb.meta.minTime, nb.meta.maxTime]).toEqual([0, 3 * H2]);
    expect(readdirSync(dir).sort()).toEqual([ids[3], written[0]].sort());
    expectSame(store.select(ALL, 0, 4 * H2), union(...parts));
    expect(store.select(ALL, 0, 4 * H2).length).toBe(before.length);
    // Chunks that needed no change were copied, not re-encoded.
    expect(nb.meta.stats.numSamples).toBe(
      parts
        .slice(0, 3)
        .flat()
        .reduce((n, s) => n + s.t.length, 0),
    );
    await store.close();
  });

  it('serves the same samples, once each, while a compaction runs', async () => {
    const dir = newDir();
    // Over 1000 series, so that the merge yields to the event loop in the middle of its work.
    const parts = [0, 1, 2, 3].map((i) => makeData(1500, i * H2, (i + 1) * H2));
    for (let i = 0; i < 4; i++) await putBlock(dir, parts[i], i * H2, (i + 1) * H2);
    const pick = /^(000.|1499)$/;
    const wantSome = union(...parts.map((p) => p.filter((s) => pick.test(s.labels[1].value))));
    expect(wantSome.size).toBe(11);
    const total = parts.flat().reduce((n, s) => n + s.t.length, 0);
    const store = new BlockStore(dir, { ranges: compactionRanges() });
    await store.open();
    let done = false;
    const compaction = store.compact().finally(() => {
      done = true;
    });
    let reads = 0;
    const m = [{ type: '=~' as const, name: 'i', value: '000.|1499' }];
    while (!done) {
      expectSame(store.select(m, 0, 4 * H2), wantSome);
      reads++;
      await new Promise((r) => setImmediate(r));
    }
    await compaction;
    expect(reads).toBeGreaterThan(1);
    expectSame(store.select(m, 0, 4 * H2), wantSome);
    expect(store.select(ALL, 0, 4 * H2).reduce((n, s) => n + s.t.length, 0)).toBe(total);
    expect(store.blocks().length).toBe(2);
    await store.close();
  });

  it('merges overlapping blocks (re-encoding overlaps, first sample of a timestamp wins)', async () => {
    const dir = newDir();
    const a = makeData(10, 0, H2, 0, 'x');
    const b = makeData(12, 0, H2, 7_500, 'x'); // interleaved samples
    const c = makeData(5, 0, H2, 0, 'x').map((s) => ({ ...s, v: s.v.map((x) => x + 1) })); // duplicate timestamps
    const ua = await putBlock(dir, a, 0, H2);
    await putBlock(dir, b, 0, H2);
    await putBlock(dir, c, 0, H2);
    const store = new BlockStore(dir, { ranges: compactionRanges() });
    await store.open();
    const viaBlocks = store.select(ALL, 0, H2);
    const written = await store.compact();
    expect(written.length).toBe(1);
    const got = store.select(ALL, 0, H2);
    expect(got.length).toBe(12);
    for (const s of got) for (let i = 1; i < s.t.length; i++) expect(s.t[i]).toBeGreaterThan(s.t[i - 1]);
    // One sample per timestamp; for duplicates the older block (a, written first) wins, both when
    // reading the three blocks and after their merge.
    expectSame(got, union(a, b, c));
    expectSame(viaBlocks, union(a, b, c));
    expect(store.blocks().length).toBe(1);
    expect(existsSync(join(dir, ua))).toBe(false);
    await store.close();
  });

  it('leaves a parent found damaged during compaction out, reports it and compacts the rest', async () => {
    const dir = newDir();
    const parts = [0, 1, 2, 3, 4].map((i) => makeData(6, i * H2, (i + 1) * H2));
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await putBlock(dir, parts[i], i * H2, (i + 1) * H2));
    const fp = join(dir, ids[1], 'chunks', '000001');
    const fb = readFileSync(fp);
    fb[fb.length - 20] ^= 0x40;
    writeFileSync(fp, fb);
    const store = new BlockStore(dir, { ranges: compactionRanges() });
    await store.open();
    expect(store.corrupted.size).toBe(0); // found only when its chunks are read
    const written = await store.compact();
    expect(store.corrupted.get(ids[1])?.error).toMatch(/CRC32C mismatch/);
    expect(existsSync(join(dir, ids[1]))).toBe(true); // kept on disk for inspection, not served
    expect(written.length).toBeGreaterThanOrEqual(1);
    const got = store.select(ALL, 0, 5 * H2);
    expectSame(got, union(parts[0], parts[2], parts[3], parts[4]));
    await store.close();
  });

  it('deletes series with tombstones, hides them at once, and cleans them by rewriting the block', async () => {
    const dir = newDir();
    const data = makeData(10, 0, H2);
    const u = await putBlock(dir, data, 0, H2);
    // A field we do not model (2.42 writes compaction hints for out-of-order blocks) must survive.
    const metaPath = join(dir, u, 'meta.json');
    const raw = JSON.parse(readFileSync(metaPath, 'utf8'));
    raw.compaction.hints = ['from-out-of-order'];
    writeFileSync(metaPath, JSON.stringify(raw, null, '\t'));
    const store = new BlockStore(dir, {});
    await store.open();
    const del = [{ type: '=~' as const, name: 'i', value: '000[0-4]' }];
    const n = await store.deleteSeries(del, 30 * 60_000, 60 * 60_000);
    expect(n).toBe(5);
    const hidden = (got: SeriesData[]) => {
      for (const s of got) {
        const inDel = Number(s.labels.find((l) => l.name === 'i')!.value) < 5;
        for (const t of s.t) if (inDel) expect(t < 30 * 60_000 || t > 60 * 60_000).toBe(true);
      }
    };
    hidden(store.select(ALL, 0, H2));
    expect(store.get(u)!.meta.stats.numTombstones).toBe(5);
    const after = JSON.parse(readFileSync(metaPath, 'utf8'));
    expect(after.stats.numTombstones).toBe(5);
    expect(after.compaction.hints).toEqual(['from-out-of-order']);
    // Persisted: a new reader sees the tombstones.
    const again = BlockReader.open(join(dir, u));
    expect(again.numTombstones).toBe(5);
    hidden(again.select(ALL, 0, H2));
    again.close();
    const total = store.select(ALL, 0, H2).reduce((k, s) => k + s.t.length, 0);
    const cleaned = await store.cleanTombstones();
    expect(cleaned.length).toBe(1);
    expect(existsSync(join(dir, u))).toBe(false);
    const nb = store.get(cleaned[0])!;
    expect(nb.numTombstones).toBe(0);
    expect(nb.meta.stats.numSamples).toBe(total);
    hidden(store.select(ALL, 0, H2));
    expect(store.select(ALL, 0, H2).reduce((k, s) => k + s.t.length, 0)).toBe(total);
    await store.close();
  });

  it('applies retention by time and by size', async () => {
    const dir = newDir();
    const ids: string[] = [];
    for (let i = 0; i < 4; i++)
      ids.push(await putBlock(dir, makeData(5, i * H2, (i + 1) * H2), i * H2, (i + 1) * H2));
    const store = new BlockStore(dir, { retentionMs: 2 * H2 });
    await store.open();
    expect(await store.applyRetention()).toEqual([ids[0]]);
    expect(existsSync(join(dir, ids[0]))).toBe(false);
    const size = store.blocks()[0].sizeBytes;
    const bySize = new BlockStore(dir, { retentionBytes: size * 2 + 2000 });
    await store.close();
    await bySize.open();
    const gone = await bySize.applyRetention();
    expect(gone).toEqual([ids[1]]);
    expect(bySize.blocks().map((b) => b.ulid)).toEqual(ids.slice(2));
    await bySize.close();
  });

  it('snapshots with hard links', async () => {
    const dir = newDir();
    const u = await putBlock(dir, makeData(3, 0, H2), 0, H2);
    const store = new BlockStore(dir, {});
    await store.open();
    const snap = join(dir, 'snapshots', 'snap1');
    expect(await store.snapshot(snap)).toEqual([u]);
    expect(statSync(join(snap, u, 'index')).ino).toBe(statSync(join(dir, u, 'index')).ino);
    expect(statSync(join(snap, u, 'chunks', '000001')).ino).toBe(
      statSync(join(dir, u, 'chunks', '000001')).ino,
    );
    const r = BlockReader.open(join(snap, u));
    expect(r.select(ALL, 0, H2).length).toBe(3);
    r.close();
    await store.close();
  });

  it('reports a corrupted index, a truncated chunk file and a garbage meta.json by ULID and serves the rest', async () => {
    const dir = newDir();
    const good = makeData(4, 0, H2, 0, 'good');
    const ug = await putBlock(dir, good, 0, H2);
    const ui = await putBlock(dir, makeData(4, H2, 2 * H2, 0, 'badindex'), H2, 2 * H2);
    const uc = await putBlock(dir, makeData(4, 2 * H2, 3 * H2, 0, 'badchunks'), 2 * H2, 3 * H2);
    const um = await putBlock(dir, makeData(4, 3 * H2, 4 * H2, 0, 'badmeta'), 3 * H2, 4 * H2);
    const ul = await putBlock(dir, makeData(4, 4 * H2, 5 * H2, 0, 'lazy'), 4 * H2, 5 * H2);
    // Index: flip a byte inside the postings offset table (its CRC no longer matches).
    const ip = join(dir, ui, 'index');
    const ib = readFileSync(ip);
    ib[ib.length - 60] ^= 0xff;
    writeFileSync(ip, ib);
    // Chunks: cut the segment file short.
    const cp = join(dir, uc, 'chunks', '000001');
    truncateSync(cp, Math.floor(statSync(cp).size / 2));
    writeFileSync(join(dir, um, 'meta.json'), '{"ulid": 12, garbage');
    // A flipped bit inside a chunk's data: its CRC32C no longer matches.
    const uf = await putBlock(dir, makeData(4, 5 * H2, 6 * H2, 0, 'flipped'), 5 * H2, 6 * H2);
    const fp = join(dir, uf, 'chunks', '000001');
    const fb = readFileSync(fp);
    fb[40] ^= 0x10;
    writeFileSync(fp, fb);
    // A chunk whose bytes change after open: found at read time, the block is then dropped.
    const store = new BlockStore(dir, {});
    await store.open();
    expect([...store.corrupted.keys()].sort()).toEqual([ui, um].sort());
    expect(store.corrupted.get(ui)!.error).toContain(ui);
    expect(store.corrupted.get(ui)!.error).toMatch(/index/);
    expect(store.corrupted.get(um)!.error).toMatch(/meta\.json/);
    // The truncated segment passes open (its header is intact) and fails at the first read of it.
    const got = store.select(ALL, 0, 6 * H2);
    expect(store.corrupted.has(uc)).toBe(true);
    expect(store.corrupted.get(uf)!.error).toMatch(
      new RegExp(`block ${uf}: chunks: chunk ref \\d+: CRC32C mismatch`),
    );
    expect(store.corrupted.get(uc)!.error).toContain(uc);
    expect(store.corrupted.get(uc)!.error).toMatch(/chunk/);
    const names = new Set(got.map((s) => s.labels[0].value));
    expect([...names].sort()).toEqual(['m_good', 'm_lazy']);
    expectSame(
      got.filter((s) => s.labels[0].value === 'm_good'),
      union(good),
    );
    expect(store.blocks().map((b) => b.ulid)).toEqual([ug, ul]);
    const st = store.status();
    expect(st.blocks.map((b) => b.ulid)).toEqual([ug, ul]);
    expect(st.corrupted.map((c) => c.ulid).sort()).toEqual([ui, uc, um, uf].sort());
    expect(store.maxTime()).toBe(5 * H2);
    await store.close();
  });

  it('keeps the blocks of several shards in one directory apart', async () => {
    const dir = newDir();
    const s0 = new BlockStore(dir, { shard: 0, ranges: compactionRanges() });
    const s1 = new BlockStore(dir, { shard: 1, ranges: compactionRanges() });
    await s0.open();
    await s1.open();
    const d0 = makeData(3, 0, H2, 0, 'zero');
    const d1 = makeData(4, 0, H2, 0, 'one');
    const m0 = await s0.writeBlock(toSeriesInput(d0), { minTime: 0, maxTime: H2 });
    const m1 = await s1.writeBlock(toSeriesInput(d1), { minTime: 0, maxTime: H2 });
    expect(m1.promshard).toEqual({ shard: 1 });
    // A block without a promshard section (as from Prometheus) belongs to shard 0.
    const foreign = await putBlock(dir, makeData(2, H2, 2 * H2, 0, 'foreign'), H2, 2 * H2);
    // Another shard's temporary directory in progress must survive this shard's open().
    mkdirSync(join(dir, '01ZZZZZZZZZZZZZZZZZZZZZZZZ.shard-1.tmp-for-creation'));
    mkdirSync(join(dir, '01ZZZZZZZZZZZZZZZZZZZZZZZY.shard-0.tmp-for-creation'));
    await s0.close();
    await s1.close();
    const r0 = new BlockStore(dir, { shard: 0 });
    await r0.open();
    expect(r0.blocks().map((b) => b.ulid)).toEqual([m0.ulid, foreign]);
    expect(existsSync(join(dir, '01ZZZZZZZZZZZZZZZZZZZZZZZZ.shard-1.tmp-for-creation'))).toBe(true);
    expect(existsSync(join(dir, '01ZZZZZZZZZZZZZZZZZZZZZZZY.shard-0.tmp-for-creation'))).toBe(false);
    const r1 = new BlockStore(dir, { shard: 1 });
    await r1.open();
    expect(r1.blocks().map((b) => b.ulid)).toEqual([m1.ulid]);
    expect(existsSync(join(dir, '01ZZZZZZZZZZZZZZZZZZZZZZZZ.shard-1.tmp-for-creation'))).toBe(false);
    expectSame(r1.select(ALL, 0, 2 * H2), union(d1));
    // A garbage meta.json is reported once, by shard 0.
    const bad = await putBlock(dir, makeData(1, 2 * H2, 3 * H2), 2 * H2, 3 * H2);
    writeFileSync(join(dir, bad, 'meta.json'), 'garbage');
    const q0 = new BlockStore(dir, { shard: 0 });
    const q1 = new BlockStore(dir, { shard: 1 });
    await q0.open();
    await q1.open();
    expect([...q0.corrupted.keys()]).toEqual([bad]);
    expect(q1.corrupted.size).toBe(0);
    for (const s of [r0, r1, q0, q1]) await s.close();
  });

  it('cleans up after a crash: removes temporary dirs, deletes parents already compacted', async () => {
    const dir = newDir();
    const parts = [0, 1, 2, 3].map((i) => makeData(6, i * H2, (i + 1) * H2));
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await putBlock(dir, parts[i], i * H2, (i + 1) * H2));
    // Simulate a compaction that stopped after its rename but before deleting its parents.
    const copy = join(work, `copy${dirSeq}`);
    cpSync(dir, copy, { recursive: true });
    const s1 = new BlockStore(dir, { ranges: compactionRanges() });
    await s1.open();
    const [merged] = await s1.compact();
    await s1.close();
    for (const u of ids.slice(0, 3)) cpSync(join(copy, u), join(dir, u), { recursive: true });
    mkdirSync(join(dir, '01ZZZZZZZZZZZZZZZZZZZZZZZZ.tmp-for-creation'));
    const s2 = new BlockStore(dir, { ranges: compactionRanges() });
    await s2.open();
    expect(s2.blocks().map((b) => b.ulid)).toEqual([merged, ids[3]]);
    expect(readdirSync(dir).sort()).toEqual([merged, ids[3]].sort());
    expectSame(s2.select(ALL, 0, 4 * H2), union(...parts));
    await s2.close();
  });

  it.skipIf(!havePromtool)('promtool reads compacted and tombstoned blocks', async () => {
    const dir = newDir();
    const parts = [0, 1, 2, 3].map((i) => makeData(5, i * H2, (i + 1) * H2));
    for (let i = 0; i < 4; i++) await putBlock(dir, parts[i], i * H2, (i + 1) * H2);
    const store = new BlockStore(dir, { ranges: compactionRanges() });
    await store.open();
    await store.compact();
    await store.deleteSeries([{ type: '=', name: 'i', value: '0000' }], 0, 4 * H2);
    const want = store.select(ALL, 0, 4 * H2);
    await store.close();
    const db = join(work, `promtool${dirSeq++}`);
    cpSync(dir, db, { recursive: true });
    mkdirSync(join(db, 'wal'));
    const dump = execFileSync('promtool', ['tsdb', 'dump', db], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const lines = dump.trim().split('\n');
    expect(lines.length).toBe(want.reduce((n, s) => n + s.t.length, 0));
    expect(dump).not.toContain('i="0000"');
    const list = execFileSync('promtool', ['tsdb', 'list', db], { encoding: 'utf8' });
    expect(list.trim().split('\n').length).toBe(3); // header + 2 blocks
  });
});
