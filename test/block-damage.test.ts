// Hostile files: random bit flips, byte garbage and truncations of every file of the fixture block (and
// of a block from our writer). Opening and reading must either work or throw a BlockCorruptionError
// naming the block, never another error or a crash. PROMSHARD_DAMAGE_RUNS sets the number of cases.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rng } from '../src/shared/seeded-random.js';
import { BlockCorruptionError } from '../src/tsdb/block/errors.js';
import { BlockReader } from '../src/tsdb/block/reader.js';
import { FIXTURE_BLOCK, FIXTURE_ULID, haveFixture } from './block-fixture.js';

const RUNS = Number(process.env.PROMSHARD_DAMAGE_RUNS ?? 400);
const work = mkdtempSync(join(tmpdir(), 'promshard-block-damage-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function exercise(dir: string): void {
  const b = BlockReader.open(dir);
  try {
    b.labelNames();
    for (const n of b.labelNames()) b.labelValues(n);
    b.postings([{ type: '=~', name: '__name__', value: '.+' }]);
    b.select([{ type: '=', name: 'job', value: 'fixture' }], -Infinity, Infinity);
    b.series([[{ type: '!=', name: 'shape', value: 'x' }]], 0, Infinity);
    b.labelValues('instance', [[{ type: '=~', name: '__name__', value: '.*' }]]);
    for (const _ of b.storedSeries()) {
      // walk every series and chunk
    }
  } finally {
    b.close();
  }
}

describe.skipIf(!haveFixture)('damaged blocks', () => {
  it(`never crash and always name the block (${RUNS} cases)`, () => {
    const r = rng(42);
    const files = ['index', 'chunks/000001', 'tombstones', 'meta.json'];
    const originals = new Map(files.map((f) => [f, readFileSync(join(FIXTURE_BLOCK, f))]));
    const dir = join(work, FIXTURE_ULID);
    cpSync(FIXTURE_BLOCK, dir, { recursive: true });
    exercise(dir);
    let detected = 0;
    for (let run = 0; run < RUNS; run++) {
      for (const f of files) writeFileSync(join(dir, f), originals.get(f)!);
      const f = files[Math.floor(r() * (run % 5 === 0 ? 4 : 2))];
      const buf = Buffer.from(originals.get(f)!);
      const mode = Math.floor(r() * 3);
      let out: Buffer;
      if (mode === 0) {
        const n = 1 + Math.floor(r() * 4);
        for (let i = 0; i < n; i++) buf[Math.floor(r() * buf.length)] ^= 1 << Math.floor(r() * 8);
        out = buf;
      } else if (mode === 1) {
        const at = Math.floor(r() * buf.length);
        const len = 1 + Math.floor(r() * 16);
        for (let i = at; i < Math.min(buf.length, at + len); i++) buf[i] = Math.floor(r() * 256);
        out = buf;
      } else {
        out = buf.subarray(0, Math.floor(r() * buf.length));
      }
      writeFileSync(join(dir, f), out);
      try {
        exercise(dir);
      } catch (err) {
        if (!(err instanceof BlockCorruptionError)) {
          throw new Error(
            `run ${run} (${f}, mode ${mode}): not a BlockCorruptionError: ${(err as Error).stack}`,
          );
        }
        expect(err.block).toBe(FIXTURE_ULID);
        detected++;
      }
    }
    // Most damage is caught (some lands in bytes nothing reads, such as padding or the old label index).
    expect(detected).toBeGreaterThan(RUNS / 2);
    expect(readdirSync(dir).sort()).toEqual(['chunks', 'index', 'meta.json', 'tombstones']);
  });
});
