import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BlockReader } from '../src/tsdb/block/reader.js';
import { newUlid, ulidTime } from '../src/tsdb/block/ulid.js';
import { TMP_SUFFIX, writeBlock } from '../src/tsdb/block/writer.js';
import {
  bitsOf,
  FIXTURE_BLOCK,
  FIXTURE_DIR,
  FIXTURE_ULID,
  haveFixture,
  loadExpected,
  toInput,
} from './block-fixture.js';

const work = mkdtempSync(join(tmpdir(), 'promshard-block-writer-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((d) => d !== '' && existsSync(join(d, cmd)));
}
const havePromtool = onPath('promtool');
if (!havePromtool) console.log('skipping promtool cases: promtool is not on PATH');

describe('ULIDs', () => {
  it('are Crockford base32 with the wall-clock time, increasing within a process', () => {
    const now = Date.now();
    const ids = Array.from({ length: 1000 }, () => newUlid());
    for (const id of ids) expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    for (let i = 1; i < ids.length; i++) expect(ids[i] > ids[i - 1]).toBe(true);
    expect(Math.abs(ulidTime(ids[0]) - now)).toBeLessThan(60_000);
    // The fixture's ULID was made by Prometheus at snapshot time: 2026-11-24T14:28:07.640Z.
    expect(new Date(ulidTime('01M86Z9XTRD0SGF6Y09HFAD5T5')).toISOString()).toBe('2026-11-24T14:28:07.640Z');
  });
});

describe.skipIf(!haveFixture)('writing expected.json as a block', () => {
  const exp = haveFixture ? loadExpected() : { minTime: 0, maxTime: 0, series: [] };
  let ulid = '';

  it('reads back exactly what was written', async () => {
    const meta = await writeBlock(work, toInput(exp.series), {
      minTime: exp.minTime,
      maxTime: exp.maxTime + 1,
      promshard: { shard: 0 },
    });
    ulid = meta.ulid;
    expect(readdirSync(work)).toEqual([ulid]);
    expect(readdirSync(work).some((n) => n.endsWith(TMP_SUFFIX))).toBe(false);
    expect(meta.stats).toEqual({ numSamples: 2700, numSeries: 9, numChunks: 9 * 3 });
    const b = BlockReader.open(join(work, ulid));
    try {
      expect(b.meta).toEqual(meta);
      expect(b.select([], -Infinity, Infinity).length).toBe(9); // no matchers: every series
      const all = b.select([{ type: '=~', name: '__name__', value: '.+' }], -Infinity, Infinity);
      expect(all.map((s) => s.labels)).toEqual(exp.series.map((s) => s.labels));
      for (let i = 0; i < all.length; i++) {
        expect(Array.from(all[i].t)).toEqual(Array.from(exp.series[i].t));
        expect(bitsOf(all[i].v)).toEqual(bitsOf(exp.series[i].v));
      }
      expect(b.postings([{ type: '=', name: 'job', value: 'fixture' }]).length).toBe(9);
      expect(b.labelNames()).toEqual(['__name__', 'instance', 'job', 'path', 'quote', 'shape', 'utf8']);
    } finally {
      b.close();
    }
    // The same layout as Prometheus' own index: symbols, series, label indices, postings, tables, TOC.
    const ours = readFileSync(join(work, ulid, 'index'));
    expect(ours.subarray(0, 5)).toEqual(Buffer.from([0xba, 0xaa, 0xd7, 0x00, 0x02]));
  });

  it("rewrites Prometheus' own block byte for byte (index, chunks, tombstones, meta.json)", async () => {
    // The fixture's chunks as Prometheus cut them, written again by our writer under the same ULID.
    const src = BlockReader.open(FIXTURE_BLOCK);
    const dir = join(work, 'identical');
    try {
      const input = [...src.storedSeries()].map((s) => ({
        labels: s.labels,
        chunks: s.chunks.map((c) => ({ mint: c.mint, maxt: c.maxt, data: c.data })),
      }));
      await writeBlock(dir, input, { minTime: src.meta.minTime, maxTime: src.meta.maxTime, ulid: src.ulid });
    } finally {
      src.close();
    }
    for (const f of ['index', join('chunks', '000001'), 'tombstones', 'meta.json']) {
      expect(readFileSync(join(dir, FIXTURE_ULID, f)).equals(readFileSync(join(FIXTURE_BLOCK, f))), f).toBe(
        true,
      );
    }
  });

  it('splits chunks over several segment files and reads them back', async () => {
    const dir = join(work, 'segments');
    const meta = await writeBlock(dir, toInput(exp.series), {
      minTime: exp.minTime,
      maxTime: exp.maxTime + 1,
      segmentSize: 2048,
    });
    const segs = readdirSync(join(dir, meta.ulid, 'chunks'));
    expect(segs.length).toBeGreaterThan(4);
    expect(segs[0]).toBe('000001');
    const b = BlockReader.open(join(dir, meta.ulid));
    try {
      const all = b.select([], -Infinity, Infinity);
      expect(all.map((s) => s.labels)).toEqual(exp.series.map((s) => s.labels));
      for (let i = 0; i < all.length; i++) {
        expect(Array.from(all[i].t)).toEqual(Array.from(exp.series[i].t));
        expect(bitsOf(all[i].v)).toEqual(bitsOf(exp.series[i].v));
      }
    } finally {
      b.close();
    }
    if (havePromtool) {
      const db = join(work, 'segments-copy');
      cpSync(dir, db, { recursive: true });
      mkdirSync(join(db, 'wal'));
      const dump = execFileSync('promtool', ['tsdb', 'dump', db], { encoding: 'utf8', maxBuffer: 64 << 20 });
      expect(dump).toBe(readFileSync(join(FIXTURE_DIR, 'promtool-dump.txt'), 'utf8'));
    }
  });

  it.skipIf(!havePromtool)('promtool tsdb list, analyze and dump read it back to the same samples', () => {
    const db = join(work, 'promtool-copy');
    mkdirSync(join(db, 'wal'), { recursive: true });
    cpSync(join(work, ulid), join(db, ulid), { recursive: true });
    const list = execFileSync('promtool', ['tsdb', 'list', db], { encoding: 'utf8' });
    const row = list.split('\n').find((l) => l.startsWith(ulid));
    expect(row, list).toBeDefined();
    expect(row!.split(/\s{2,}|\t/).map((s) => s.trim())).toEqual(
      expect.arrayContaining([ulid, String(exp.minTime), String(exp.maxTime + 1), '2700', '27', '9']),
    );
    // analyze: the same figures as for Prometheus' own block, apart from the block ID and the chunk
    // fullness histogram (chunk cutting is the head's choice); equal-count lines come in map order.
    const analyze = execFileSync('promtool', ['tsdb', 'analyze', '--extended', db, ulid], {
      encoding: 'utf8',
    });
    const sections = (text: string) =>
      text
        .replace(/^Block ID: .*$/m, '')
        .split(/\n(?=\S[^\n]*:\n)/)
        .filter((sec) => !sec.startsWith('Compaction analysis'))
        .map((sec) =>
          sec
            .split('\n')
            .filter((l) => l !== '')
            .sort(),
        );
    expect(sections(analyze)).toEqual(sections(readFileSync(join(FIXTURE_DIR, 'analyze.txt'), 'utf8')));
    const dump = execFileSync('promtool', ['tsdb', 'dump', db], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const want = readFileSync(join(FIXTURE_DIR, 'promtool-dump.txt'), 'utf8');
    expect(dump.split('\n').length).toBe(want.split('\n').length);
    expect(dump).toBe(want);
  });
});
