import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Matcher } from '../src/shared/matchers.js';
import { compileMatchers, hasNonEmptyMatcher } from '../src/shared/matchers.js';
import { ShardDb } from '../src/tsdb/shard-db.js';
import {
  bitsOf,
  HeadModel,
  makeBatch,
  randomMatchers,
  randomRound,
  rng,
  seriesPool,
  type TestSeries,
} from './tsdb-helpers.js';

const T0 = 1699999200000; // on a 2h boundary
const NOW = T0 + 6 * 3600_000;
const ALL: Matcher[] = [{ type: '=~', name: '__name__', value: '.+' }];
const dirs: string[] = [];
const quiet = { warn: () => {} };

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function dumpDb(db: ShardDb) {
  return db.select(ALL, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY).map((s) => ({
    labels: JSON.stringify(s.labels),
    t: Array.from(s.t),
    bits: bitsOf(s.v),
  }));
}

function modelDump(m: HeadModel) {
  return m
    .select(ALL, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY)
    .map((s) => ({ labels: JSON.stringify(s.labels), t: s.t, bits: s.bits }));
}

describe('shard database (head + blocks)', () => {
  it('cuts the oldest 2h into a block once the head spans 3h; reads and restarts see every sample once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'promshard-sharddb-'));
    dirs.push(dir);
    const db = await ShardDb.open(dir, 0, { now: () => NOW, logger: quiet });
    const model = new HeadModel();
    // 20 series, one sample a minute for 4h; one series stops after 30 minutes (its chunk stays open).
    for (let m = 0; m < 240; m++) {
      const batch: TestSeries[] = [];
      for (let i = 0; i < 20; i++) {
        if (i === 7 && m > 30) continue;
        batch.push({
          labels: [
            { name: '__name__', value: 'm' },
            { name: 'i', value: String(i) },
          ],
          t: [T0 + m * 60_000 + i],
          v: Float64Array.of(m * i),
        });
      }
      db.append(makeBatch(batch));
      model.append(batch, NOW);
    }
    const want = modelDump(model);
    expect(dumpDb(db)).toEqual(want);
    expect(await db.cutBlocks()).toBe(1);
    const blocks = readdirSync(dir).filter((n) => /^[0-9A-Z]{26}$/.test(n));
    expect(blocks).toHaveLength(1);
    expect(db.storage.head.range()[0]).toBeGreaterThanOrEqual(T0 + 7200_000);
    expect(dumpDb(db)).toEqual(want);
    expect(db.labelValues('i', [], Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY)).toHaveLength(20);
    expect(db.series([[{ type: '=', name: 'i', value: '7' }]], T0, T0 + 3600_000)).toHaveLength(1);
    // The cut range is closed to appends now.
    const late = db.append(
      makeBatch([{ labels: [{ name: '__name__', value: 'late' }], t: [T0 + 60_000], v: Float64Array.of(1) }]),
    );
    expect(late.counts[4]).toBe(1);
    await db.close();
    const again = await ShardDb.open(dir, 0, { now: () => NOW, logger: quiet });
    expect(dumpDb(again)).toEqual(want);
    expect(again.storage.head.minValidTime).toBe(T0 + 7200_000);
    await again.close();
  });

  it('matches the model through random appends, block cuts and a restart', async () => {
    for (const seed of [5, 6]) {
      const dir = mkdtempSync(join(tmpdir(), 'promshard-sharddb-'));
      dirs.push(dir);
      const now = T0 + 12 * 3600_000;
      let db = await ShardDb.open(dir, 0, { now: () => now, logger: quiet });
      const model = new HeadModel();
      const r = rng(seed);
      const pool = seriesPool(40, r);
      let tBase = T0;
      let cuts = 0;
      for (let round = 0; round < 120; round++) {
        const batch = randomRound(pool, r, tBase, now);
        const got = db.append(makeBatch(batch));
        const want = model.append(batch, now);
        expect(Array.from(got.counts).slice(0, 6), `seed ${seed} round ${round}`).toEqual(want.slice(0, 6));
        tBase += 200_000 + Math.floor(r() * 200_000);
        if (round % 15 === 14) {
          cuts += await db.cutBlocks();
          model.floor = db.storage.head.minValidTime;
        }
      }
      expect(cuts).toBeGreaterThan(0);
      const check = (d: ShardDb) => {
        for (let q = 0; q < 60; q++) {
          const ms = randomMatchers(r);
          if (!hasNonEmptyMatcher(compileMatchers(ms))) continue;
          const mint = T0 + Math.floor(r() * 10 * 3600_000) - 3600_000;
          const maxt = r() < 0.3 ? Number.POSITIVE_INFINITY : mint + Math.floor(r() * 4 * 3600_000);
          const got = d
            .select(ms, mint, maxt)
            .map((x) => ({ labels: JSON.stringify(x.labels), t: Array.from(x.t), bits: bitsOf(x.v) }));
          const want = model
            .select(ms, mint, maxt)
            .map((x) => ({ labels: JSON.stringify(x.labels), t: x.t, bits: x.bits }));
          expect(got, `seed ${seed} ${JSON.stringify(ms)} [${mint}, ${maxt}]`).toEqual(want);
        }
      };
      check(db);
      await db.close();
      db = await ShardDb.open(dir, 0, { now: () => now, logger: quiet });
      check(db);
      await db.close();
    }
  });
});
