import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Matcher } from '../src/shared/matchers.js';
import { BatchBuilder, viewBatch } from '../src/shared/protocol.js';
import { encodeLabels, hash64 } from '../src/shared/protocol-labels.js';
import { ShardStorage } from '../src/tsdb/shard-storage.js';
import { listSegments, PAGE_SIZE, segmentName } from '../src/tsdb/wal.js';
import {
  bitsOf,
  HeadModel,
  makeBatch,
  randomRound,
  rng,
  seriesPool,
  type TestSeries,
} from './tsdb-helpers.js';

const T0 = 1699999200000;
const NOW = T0 + 10 * 3600_000;
const ALL: Matcher[] = [{ type: '=~', name: '__name__', value: '.+' }];
const dirs: string[] = [];
const quiet = { warn: (m: string) => warnings.push(m) };
let warnings: string[] = [];

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'promshard-wal-'));
  dirs.push(d);
  return d;
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  warnings = [];
});

function dump(s: ShardStorage) {
  const sel = s.head.select(ALL, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY);
  const out: Record<string, { t: number[]; bits: bigint[] }> = {};
  let off = 0;
  for (let k = 0; k < sel.refs.length; k++) {
    const n = sel.counts[k];
    out[JSON.stringify(s.head.registry.labels(sel.refs[k]))] = {
      t: Array.from(sel.t.subarray(off, off + n)),
      bits: bitsOf(sel.v.subarray(off, off + n)),
    };
    off += n;
  }
  return out;
}

function modelDump(m: HeadModel) {
  const out: Record<string, { t: number[]; bits: bigint[] }> = {};
  for (const s of m.select(ALL, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY)) {
    out[JSON.stringify(s.labels)] = { t: s.t, bits: s.bits };
  }
  return out;
}

/** Appends random rounds (some large, to span pages) and records the WAL position after each. */
function fill(dir: string, rounds: number, segmentSize: number, seed = 7) {
  const r = rng(seed);
  const s = ShardStorage.open(dir, { now: () => NOW, segmentSize, logger: quiet });
  const pool = seriesPool(300, r);
  const batches: TestSeries[][] = [];
  const ends: { segment: number; offset: number }[] = [];
  let tBase = T0;
  for (let i = 0; i < rounds; i++) {
    const b = randomRound(pool, r, tBase, NOW);
    if (i % 7 === 3) {
      // A large batch: one record spanning several pages.
      for (let k = 0; k < 200; k++) {
        const t = Array.from({ length: 20 }, (_, j) => tBase + 1000 + j * 100);
        b.push({ labels: pool[k], t, v: Float64Array.from(t, (_, j) => j + k) });
      }
    }
    s.append(makeBatch(b));
    batches.push(b);
    ends.push(s.wal.position());
    tBase += 30_000;
  }
  return { s, batches, ends };
}

function modelOf(batches: TestSeries[][]): HeadModel {
  const m = new HeadModel();
  for (const b of batches) m.append(b, NOW);
  return m;
}

describe('WAL', () => {
  it('replays into exactly the same head, across pages and segments', () => {
    const dir = tmp();
    const { s, batches } = fill(dir, 40, 4 * PAGE_SIZE);
    const before = dump(s);
    s.close(false);
    expect(listSegments(dir).length).toBeGreaterThan(3);
    expect(before).toEqual(modelDump(modelOf(batches)));
    const again = ShardStorage.open(dir, { now: () => NOW, segmentSize: 4 * PAGE_SIZE, logger: quiet });
    expect(again.replay.damage).toBeNull();
    expect(warnings).toEqual([]);
    expect(dump(again)).toEqual(before);
    expect(again.head.seriesCount).toBe(s.head.seriesCount);
    // Refs survive: a series created after replay gets the next ref and a new segment.
    again.close(false);
    const third = ShardStorage.open(dir, { now: () => NOW, segmentSize: 4 * PAGE_SIZE, logger: quiet });
    expect(dump(third)).toEqual(before);
    third.close();
  });

  it('cuts a torn tail back to the last whole record and keeps everything before it', () => {
    const dir = tmp();
    const { s, batches, ends } = fill(dir, 12, 64 * PAGE_SIZE);
    // No close(): as after kill -9. Tear the last record in half.
    const last = ends[ends.length - 1];
    const prev = ends[ends.length - 2];
    expect(last.segment).toBe(prev.segment);
    const path = join(dir, segmentName(last.segment));
    truncateSync(path, prev.offset + Math.floor((last.offset - prev.offset) / 2));
    void s;
    const again = ShardStorage.open(dir, { now: () => NOW, logger: quiet });
    expect(again.replay.damage?.reason).toMatch(/torn/);
    // The cut lands at the end of the last whole record: the batch's series record may have survived.
    expect(again.replay.damage?.offset).toBeGreaterThanOrEqual(prev.offset);
    expect(again.replay.damage?.offset).toBeLessThan(last.offset);
    expect(warnings.join('\n')).toMatch(/cut \d+ bytes/);
    expect(dump(again)).toEqual(modelDump(modelOf(batches.slice(0, -1))));
    // The cut log now replays cleanly, and the shard keeps working.
    again.append(
      makeBatch([{ labels: [{ name: '__name__', value: 'after' }], t: [NOW], v: Float64Array.of(5) }]),
    );
    again.close();
    warnings = [];
    const third = ShardStorage.open(dir, { now: () => NOW, logger: quiet });
    expect(third.replay.damage).toBeNull();
    expect(Object.keys(dump(third))).toContain(JSON.stringify([{ name: '__name__', value: 'after' }]));
    third.close();
  });

  it('cuts at a flipped byte mid-log: keeps the records before it, reports and deletes what follows', () => {
    const dir = tmp();
    const { s, batches, ends } = fill(dir, 40, 4 * PAGE_SIZE);
    s.close(false);
    const segs = listSegments(dir);
    expect(segs.length).toBeGreaterThan(3);
    // Flip a byte in the middle of the second segment.
    const target = segs[1];
    const path = join(dir, segmentName(target));
    const buf = readFileSync(path);
    let at = Math.floor(buf.length / 2);
    while (buf[at] === 0) at++; // hit record bytes, not padding
    buf[at] ^= 0x5a;
    writeFileSync(path, buf);
    // The damaged batch is the first whose end lies past the flipped byte.
    let k = 0;
    while (ends[k].segment < target || (ends[k].segment === target && ends[k].offset <= at)) k++;
    const again = ShardStorage.open(dir, { now: () => NOW, segmentSize: 4 * PAGE_SIZE, logger: quiet });
    const d = again.replay.damage;
    expect(d?.segment).toBe(target);
    expect(d?.segmentsRemoved).toEqual(segs.slice(2));
    expect(warnings.length).toBe(1);
    const got = dump(again);
    const lo = modelDump(modelOf(batches.slice(0, k)));
    // A batch is a series record then a samples record: damage in the second keeps the first (series
    // without samples, which select leaves out), so the head equals the model after k batches.
    expect(got).toEqual(lo);
    again.close();
  });

  it('logs the series a refused batch created before its bad series, so later refs replay right', () => {
    const dir = tmp();
    const s = ShardStorage.open(dir, { now: () => NOW, logger: quiet });
    const good = encodeLabels([{ name: '__name__', value: 'good' }]);
    const bad = Uint8Array.of(8, 95, 95, 110, 97, 109, 101, 95, 95, 2, 0xc3, 0x28); // __name__ = invalid UTF-8
    const b = new BatchBuilder();
    const h = new Uint32Array(2);
    for (const bytes of [good, bad]) {
      hash64(bytes, 0, bytes.length, h, 0);
      b.add(h[0], h[1], bytes, 0, 1, Float64Array.of(NOW - 1000), Float64Array.of(1));
    }
    expect(() => s.append(viewBatch(b.finish()))).toThrow(/series 1/);
    s.append(
      makeBatch([{ labels: [{ name: '__name__', value: 'later' }], t: [NOW], v: Float64Array.of(2) }]),
    );
    s.append(makeBatch([{ labels: [{ name: '__name__', value: 'good' }], t: [NOW], v: Float64Array.of(3) }]));
    const before = dump(s);
    s.close();
    const again = ShardStorage.open(dir, { now: () => NOW, logger: quiet });
    expect(again.replay.damage).toBeNull();
    expect(dump(again)).toEqual(before);
    expect(Object.keys(before).sort()).toEqual([
      JSON.stringify([{ name: '__name__', value: 'good' }]),
      JSON.stringify([{ name: '__name__', value: 'later' }]),
    ]);
    again.close();
  });

  it('checkpoints: the head survives as chunks, covered segments go, later records replay on top', () => {
    const dir = tmp();
    const { s, batches } = fill(dir, 30, 4 * PAGE_SIZE);
    s.head.truncate(Number.NEGATIVE_INFINITY);
    const written = s.checkpoint();
    expect(written).toBeGreaterThan(0);
    const segsAfter = listSegments(dir);
    expect(segsAfter.length).toBe(1); // only the segment opened by the checkpoint's cut
    expect(readdirSync(dir).filter((n) => n.startsWith('checkpoint.'))).toHaveLength(1);
    // More data after the checkpoint, then a crash (no close).
    const more: TestSeries[] = [
      { labels: [{ name: '__name__', value: 'late' }], t: [NOW - 10], v: Float64Array.of(9) },
    ];
    s.append(makeBatch(more));
    const before = dump(s);
    expect(before).toEqual(modelDump(modelOf([...batches, more])));
    const again = ShardStorage.open(dir, { now: () => NOW, segmentSize: 4 * PAGE_SIZE, logger: quiet });
    expect(again.replay.damage).toBeNull();
    expect(dump(again)).toEqual(before);
    // Appends continue the restored open chunks (same encoder state): add one sample to every series.
    const next = Object.keys(before).map((k) => ({
      labels: JSON.parse(k),
      t: [NOW],
      v: Float64Array.of(1.5),
    }));
    const r = again.append(makeBatch(next));
    expect(r.counts[0]).toBe(next.length);
    const after = dump(again);
    again.close(); // checkpoints again
    const third = ShardStorage.open(dir, { now: () => NOW, segmentSize: 4 * PAGE_SIZE, logger: quiet });
    expect(dump(third)).toEqual(after);
    expect(third.replay.samples).toBe(0); // everything came from the checkpoint's chunks
    third.close();
  });

  it('a checkpoint written in slices while appends go on restores every sample once', async () => {
    const dir = tmp();
    const s = ShardStorage.open(dir, { now: () => NOW, logger: quiet });
    // Three groups of 1024 series, so the checkpoint pauses twice between them.
    const series: TestSeries[] = Array.from({ length: 3000 }, (_, i) => ({
      labels: [
        { name: '__name__', value: 'm' },
        { name: 'i', value: String(i) },
      ],
      t: [T0, T0 + 15_000],
      v: Float64Array.of(i, i + 1),
    }));
    s.append(makeBatch(series));
    let pauses = 0;
    const written = await s.checkpointAsync(Number.NEGATIVE_INFINITY, () => {
      // Between groups: every series gets a sample (some already copied, some not yet), and a new series.
      const k = ++pauses;
      const next = series.map((x) => ({
        labels: x.labels,
        t: [T0 + (1 + k) * 15_000],
        v: Float64Array.of(k),
      }));
      next.push({ labels: [{ name: '__name__', value: `new${k}` }], t: [T0], v: Float64Array.of(k) });
      const r = s.append(makeBatch(next));
      expect(r.counts[0]).toBe(next.length);
      return Promise.resolve();
    });
    expect(written).toBeGreaterThan(0);
    expect(pauses).toBe(2);
    expect(s.checkpointing).toBe(false);
    const before = dump(s);
    // A crash (no close): the checkpoint plus the segment after it.
    const again = ShardStorage.open(dir, { now: () => NOW, logger: quiet });
    expect(again.replay.damage).toBeNull();
    expect(dump(again)).toEqual(before);
    again.close();
  });

  it('truncating checkpoint drops old chunks and keeps refusing samples older than the cut', () => {
    const dir = tmp();
    const s = ShardStorage.open(dir, { now: () => NOW, logger: quiet });
    const t = Array.from({ length: 300 }, (_, i) => T0 + i * 15_000);
    s.append(
      makeBatch([{ labels: [{ name: '__name__', value: 'x' }], t, v: Float64Array.from(t, (_, i) => i) }]),
    );
    s.checkpoint(T0 + 240 * 15_000);
    s.close(false);
    const again = ShardStorage.open(dir, { now: () => NOW, logger: quiet });
    expect(again.head.minValidTime).toBe(T0 + 240 * 15_000);
    const sel = again.head.select(ALL, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY);
    expect(Array.from(sel.counts)).toEqual([60]);
    again.close();
  });

  it('refuses nothing on an empty directory and writes segment 00000000 first', () => {
    const dir = tmp();
    const s = ShardStorage.open(dir, { now: () => NOW });
    expect(s.replay.records).toBe(0);
    s.close();
    // Nothing was written, so close() wrote no checkpoint.
    expect(listSegments(dir)).toEqual([0]);
  });
});
