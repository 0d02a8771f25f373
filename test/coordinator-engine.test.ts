import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStorage, type StorageEngine } from '../src/coordinator/index.js';
import { type AppendRequest, NO_REF } from '../src/shared/ingest.js';
import type { Labels } from '../src/shared/labels.js';
import { compileMatchers, hasNonEmptyMatcher } from '../src/shared/matchers.js';
import { quiet, useEngineFixture } from './support/engine-fixture.js';
import {
  bitsOf,
  HeadModel,
  randomMatchers,
  randomRound,
  rng,
  seriesPool,
  type TestSeries,
} from './tsdb-helpers.js';

const fx = useEngineFixture('promshard-engine-');
const tmp = (): string => fx.tmp();

async function open(dir: string, shards: number): Promise<StorageEngine> {
  const e = await openStorage(dir, { shards, logger: quiet });
  fx.track(e);
  return e;
}

function toRequest(batch: readonly TestSeries[]): AppendRequest {
  const series: string[][] = [];
  const starts = [0];
  const t: number[] = [];
  const v: number[] = [];
  const vs: Float64Array[] = [];
  for (const s of batch) {
    // Unsorted on purpose for every other series: the coordinator sorts.
    const flat = s.labels.flatMap((l) => [l.name, l.value]);
    series.push(series.length % 2 === 0 ? flat : reversePairs(flat));
    t.push(...s.t);
    vs.push(s.v);
    starts.push(t.length);
  }
  const vv = new Float64Array(t.length);
  let at = 0;
  for (const a of vs) {
    vv.set(a, at);
    at += a.length;
  }
  void v;
  return { series, sampleStart: Uint32Array.from(starts), t: Float64Array.from(t), v: vv };
}

function reversePairs(flat: string[]): string[] {
  const out: string[] = [];
  for (let i = flat.length - 2; i >= 0; i -= 2) out.push(flat[i], flat[i + 1]);
  return out;
}

const key = (l: Labels) => JSON.stringify(l);

describe('storage engine (coordinator + shard workers)', () => {
  it('answers like the model, with 1 and with 3 shards', async () => {
    const now = Date.now();
    const r = rng(11);
    const pool = seriesPool(60, r);
    const one = await open(tmp(), 1);
    const three = await open(tmp(), 3);
    const model = new HeadModel();
    let tBase = now - 3 * 3600_000;
    for (let round = 0; round < 50; round++) {
      const batch = randomRound(pool, r, tBase, now);
      const want = model.append(batch, now);
      for (const e of [one, three]) {
        const o = await e.append(toRequest(batch));
        expect([
          o.appended,
          o.duplicatesIgnored,
          o.outOfOrder,
          o.duplicateTimestamp,
          o.outOfBounds,
          o.tooFarInFuture,
        ]).toEqual(want.slice(0, 6));
        expect(o.invalidSeries).toBe(0);
      }
      tBase += Math.floor(r() * 200_000);
    }
    let checked = 0;
    for (let q = 0; q < 120; q++) {
      const ms = randomMatchers(r);
      const mint = now - 4 * 3600_000 + Math.floor(r() * 4 * 3600_000);
      const maxt = r() < 0.3 ? Number.POSITIVE_INFINITY : mint + Math.floor(r() * 3 * 3600_000);
      if (!hasNonEmptyMatcher(compileMatchers(ms))) {
        await expect(one.select(ms, mint, maxt)).rejects.toThrow(/non-empty matcher/);
        continue;
      }
      const want = model.select(ms, mint, maxt).map((s) => ({ labels: key(s.labels), t: s.t, bits: s.bits }));
      for (const e of [one, three]) {
        const got = (await e.select(ms, mint, maxt)).map((s) => ({
          labels: key(s.labels),
          t: Array.from(s.t),
          bits: bitsOf(s.v),
        }));
        expect(got).toEqual(want);
      }
      const sets = [ms];
      const wantSeries = model.seriesIn(sets, mint, maxt).map(key);
      const names = [
        ...new Set(model.seriesIn(sets, mint, maxt).flatMap((l) => l.map((x) => x.name))),
      ].sort();
      for (const e of [one, three]) {
        expect((await e.series(sets, mint, maxt)).map(key)).toEqual(wantSeries);
        expect(await e.labelNames(sets, mint, maxt)).toEqual(names);
      }
      expect(await three.labelValues('instance', [], mint, maxt)).toEqual(
        await one.labelValues('instance', [], mint, maxt),
      );
      expect(await three.labelNames([], mint, maxt)).toEqual(await one.labelNames([], mint, maxt));
      checked++;
    }
    expect(checked).toBeGreaterThan(50);
    // Each of the 3 shards got some series, and the counters add up to what was appended.
    const figs = three.figures();
    expect(figs.every((f) => f.series > 0)).toBe(true);
    const total = figs.reduce((a, f) => a + f.samplesAppended, 0);
    expect(total).toBe([...model.series.values()].reduce((a, s) => a + s.t.length, 0));
    expect(figs.every((f) => f.walBytes > 0 && f.queuedBatches === 0)).toBe(true);
  });

  it('routes series by the refs an earlier append answered, without their labels', async () => {
    const e = await open(tmp(), 2);
    const now = Date.now();
    const names = ['r_a', 'r_b', 'r_c'];
    const first = await e.append({
      series: names.map((n) => ['__name__', n, 'job', 'refs']),
      refs: new Float64Array(3).fill(NO_REF),
      sampleStart: Uint32Array.of(0, 1, 2, 3),
      t: Float64Array.of(now, now, now),
      v: Float64Array.of(1, 2, 3),
    });
    expect(first.appended).toBe(3);
    const refs = first.refs!;
    expect([...refs].every((r) => r > 0)).toBe(true);
    expect(new Set(refs).size).toBe(3);
    const second = await e.append({
      series: [[], [], [], ['__name__', 'r_d', 'job', 'refs']],
      refs: Float64Array.of(refs[0], refs[1], refs[2], NO_REF),
      sampleStart: Uint32Array.of(0, 1, 2, 3, 4),
      t: Float64Array.of(now + 1, now + 1, now + 1, now + 1),
      v: Float64Array.of(10, 20, 30, 40),
    });
    expect(second.appended).toBe(4);
    expect([...second.refs!].slice(0, 3)).toEqual([...refs]);
    expect(second.refs![3]).toBeGreaterThan(0);
    const got = await e.select([{ type: '=', name: 'job', value: 'refs' }], now - 1, now + 1);
    expect(got.map((s) => [s.labels.find((l) => l.name === '__name__')?.value, [...s.v]])).toEqual([
      ['r_a', [1, 10]],
      ['r_b', [2, 20]],
      ['r_c', [3, 30]],
      ['r_d', [40]],
    ]);
    // Refs that no append answered are refused per series, the rest is stored.
    const bad = await e.append({
      series: [[], [], [], []],
      refs: Float64Array.of(0.5, 2 * 4294967296 + 1, 4294967296, refs[0]),
      sampleStart: Uint32Array.of(0, 1, 2, 3, 4),
      t: Float64Array.of(now + 2, now + 2, now + 2, now + 2),
      v: new Float64Array(4),
    });
    expect(bad.appended).toBe(1);
    expect(bad.invalidSeries).toBe(3);
    expect(bad.errors.join('\n')).toMatch(/series 0: invalid series ref 0.5/);
    expect([...bad.refs!]).toEqual([NO_REF, NO_REF, NO_REF, refs[0]]);
  });

  it('refuses bad series before they reach a shard, and keeps working', async () => {
    const e = await open(tmp(), 2);
    const now = Date.now();
    const bad: AppendRequest = {
      series: [
        ['__name__', 'ok', 'b', '1', 'a', '2'],
        ['__name__', 'x', '', 'v'],
        ['__name__', 'x', 'a', '1', 'a', '2'],
        ['__name__', 'x', 'z', 'bad\ud800'],
        ['__name__', 'x'],
        ['1abc', 'v'],
        [],
        ['__name__', 'odd', 'a'],
      ],
      sampleStart: Uint32Array.of(0, 1, 2, 3, 4, 5, 6, 7, 8),
      t: Float64Array.of(now, now, now, now, Number.NaN, now, now, now),
      v: new Float64Array(8),
    };
    const o = await e.append(bad);
    expect(o.appended).toBe(1);
    expect(o.invalidSeries).toBe(7);
    expect(o.errors.join('\n')).toMatch(/series 1: empty label name/);
    expect(o.errors.join('\n')).toMatch(/series 2: duplicate label name a/);
    expect(o.errors.join('\n')).toMatch(/series 3: invalid UTF-8/);
    expect(o.errors.join('\n')).toMatch(/series 4: invalid timestamp NaN/);
    expect(o.errors.join('\n')).toMatch(/series 5: invalid label name "1abc"/);
    expect(o.errors.join('\n')).toMatch(/series 6: series has no labels/);
    expect(o.errors.join('\n')).toMatch(/series 7: labels must be name\/value pairs/);
    await expect(
      e.append({
        series: [['a', 'b']],
        sampleStart: Uint32Array.of(0, 5),
        t: new Float64Array(1),
        v: new Float64Array(1),
      }),
    ).rejects.toThrow(/sampleStart/);
    // A broken batch sent straight to a shard is refused by the shard, which keeps working.
    const internals = e as unknown as {
      request(s: number, m: unknown, tr?: ArrayBuffer[]): Promise<unknown>;
    };
    const junk = new ArrayBuffer(64);
    new Uint32Array(junk).fill(0xffffffff);
    await expect(internals.request(0, { op: 'append', id: 999_999, batch: junk }, [junk])).rejects.toThrow(
      /batch/,
    );
    const ok = await e.append({
      series: [['__name__', 'after']],
      sampleStart: Uint32Array.of(0, 1),
      t: Float64Array.of(now),
      v: Float64Array.of(3),
    });
    expect(ok.appended).toBe(1);
    const sel = await e.select(
      [{ type: '=~', name: '__name__', value: 'ok|after' }],
      0,
      Number.POSITIVE_INFINITY,
    );
    expect(sel.map((s) => s.labels)).toEqual([
      [{ name: '__name__', value: 'after' }],
      [
        { name: '__name__', value: 'ok' },
        { name: 'a', value: '2' },
        { name: 'b', value: '1' },
      ],
    ]);
    await expect(e.select([{ type: '=~', name: 'a', value: '(' }], 0, 1)).rejects.toThrow(
      /regular expression/,
    );
    await expect(e.select([{ type: '=~', name: 'a', value: '.*' }], 0, 1)).rejects.toThrow(
      /non-empty matcher/,
    );
    expect(e.failed).toBeNull();
  });

  it('reopens with the data, checks promshard.json and refuses another shard count', async () => {
    const dir = tmp();
    const e = await openStorage(dir, { shards: 2, logger: quiet });
    const now = Date.now();
    const req: AppendRequest = {
      series: Array.from({ length: 100 }, (_, i) => ['__name__', 'm', 'i', String(i)]),
      sampleStart: Uint32Array.from({ length: 101 }, (_, i) => i * 2),
      t: Float64Array.from({ length: 200 }, (_, k) => now - 1000 + (k % 2) * 500),
      v: Float64Array.from({ length: 200 }, (_, k) => k),
    };
    expect((await e.append(req)).appended).toBe(200);
    await e.close();
    expect(JSON.parse(readFileSync(join(dir, 'promshard.json'), 'utf8'))).toMatchObject({
      formatVersion: 1,
      shards: 2,
    });
    await expect(openStorage(dir, { shards: 3, logger: quiet })).rejects.toThrow(
      /created with 2 shards.*--storage\.tsdb\.shards=2/,
    );
    const again = await open(dir, 2);
    expect(again.replay.every((r) => r.damage === null && r.series > 0)).toBe(true);
    const sel = await again.select(
      [{ type: '=', name: '__name__', value: 'm' }],
      0,
      Number.POSITIVE_INFINITY,
    );
    expect(sel.length).toBe(100);
    expect(sel.every((s) => s.t.length === 2)).toBe(true);
  });

  it('cuts blocks in the shards and answers the same before and after, and after a restart', async () => {
    const dir = tmp();
    const e = await openStorage(dir, { shards: 2, logger: quiet });
    const now = Date.now();
    const n = 30;
    const start = now - 5 * 3600_000;
    const minutes = 300;
    const series = Array.from({ length: n }, (_, i) => ['__name__', 'cut', 'i', String(i)]);
    for (let m = 0; m < minutes; m += 10) {
      const k = 10;
      const t = new Float64Array(n * k);
      const v = new Float64Array(n * k);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < k; j++) {
          t[i * k + j] = start + (m + j) * 60_000;
          v[i * k + j] = (m + j) * i;
        }
      }
      const o = await e.append({
        series,
        sampleStart: Uint32Array.from({ length: n + 1 }, (_, i) => i * k),
        t,
        v,
      });
      expect(o.appended).toBe(n * k);
    }
    const q = async (eng: StorageEngine) =>
      (await eng.select([{ type: '=', name: '__name__', value: 'cut' }], 0, Number.POSITIVE_INFINITY)).map(
        (x) => ({
          l: key(x.labels),
          t: Array.from(x.t),
          v: Array.from(x.v),
        }),
      );
    const before = await q(e);
    expect(before.length).toBe(n);
    expect(before.every((x) => x.t.length === minutes)).toBe(true);
    expect(await e.cutBlocks()).toBeGreaterThanOrEqual(2);
    expect(e.figures().reduce((a, f) => a + f.blocksCut, 0)).toBeGreaterThanOrEqual(2);
    expect(await q(e)).toEqual(before);
    await e.close();
    const again = await open(dir, 2);
    expect(await q(again)).toEqual(before);
    expect(await again.labelValues('i', [], 0, Number.POSITIVE_INFINITY)).toHaveLength(n);
  });

  it('fails loudly when a shard dies: pending and later calls reject with the reason', async () => {
    const errors: string[] = [];
    let notified: Error | null = null;
    const e = await openStorage(tmp(), {
      shards: 2,
      logger: { warn: () => {}, error: (m) => errors.push(m) },
      onFailure: (err) => {
        notified = err;
      },
    });
    fx.track(e);
    const internals = e as unknown as { shards: { worker: { terminate(): Promise<number> } }[] };
    const pending = e.select([{ type: '=', name: 'a', value: 'b' }], 0, 1);
    await internals.shards[1].worker.terminate();
    // The select may have been answered before the thread stopped; if not, it must fail with the reason.
    const outcome = await pending.then(
      () => 'answered',
      (err: Error) => err.message,
    );
    expect(outcome).toMatch(/answered|shard 1 died/);
    expect(e.failed?.message).toMatch(/shard 1 died/);
    expect(notified).not.toBeNull();
    expect(errors.join('\n')).toMatch(/shard 1 died/);
    await expect(e.labelNames([], 0, 1)).rejects.toThrow(/shard 1 died/);
    await expect(
      e.append({
        series: [['a', 'b']],
        sampleStart: Uint32Array.of(0, 1),
        t: Float64Array.of(Date.now()),
        v: Float64Array.of(1),
      }),
    ).rejects.toThrow(/shard 1 died/);
  });
});
