import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Matcher } from '../src/shared/matchers.js';
import { ShardDb } from '../src/tsdb/shard-db.js';
import { bitsOf, HeadModel, makeBatch, type TestSeries } from './tsdb-helpers.js';

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
});
