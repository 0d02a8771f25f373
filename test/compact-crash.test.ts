// kill -9 during head cuts and compactions: a child process writes 2h blocks and compacts them in a
// loop and is killed at a random moment; reopening must find every acknowledged block's samples exactly
// once, no partial block, and no overlapping blocks. PROMSHARD_CRASH_RUNS sets the number of kills
// (default 4; use hundreds in a long run).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { BlockStore } from '../src/tsdb/compact/block-store.js';

const dist = resolve(import.meta.dirname, '..', 'dist', 'src', 'tsdb', 'compact', 'block-store.js');
const haveDist = existsSync(dist);
if (!haveDist) console.log(`skipping the crash test: ${dist} is absent (run \`npx tsc -p tsconfig.json\`)`);

const RUNS = Number(process.env.PROMSHARD_CRASH_RUNS ?? 4);
const H2 = 7_200_000;
const N_SERIES = 10;
const PER = 480;

const work = mkdtempSync(join(tmpdir(), 'promshard-compact-crash-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const childSrc = (root: string) => `
import { BlockStore } from ${JSON.stringify(pathToFileURL(join(root, 'src/tsdb/compact/block-store.js')).href)};
import { compactionRanges } from ${JSON.stringify(pathToFileURL(join(root, 'src/tsdb/compact/planner.js')).href)};
import { native } from ${JSON.stringify(pathToFileURL(join(root, 'src/native/binding.js')).href)};
const dir = process.argv[2];
const H2 = ${H2};
const store = new BlockStore(dir, { ranges: compactionRanges() });
await store.open();
let next = 0;
for (const b of store.blocks()) next = Math.max(next, b.meta.maxTime / H2);
for (let i = next; ; i++) {
  const series = [];
  for (let s = 0; s < ${N_SERIES}; s++) {
    const t = new Float64Array(${PER});
    const v = new Float64Array(${PER});
    for (let j = 0; j < ${PER}; j++) { t[j] = i * H2 + j * 15000; v[j] = i * 1000 + s + j; }
    const chunks = [];
    for (let j = 0; j < ${PER}; j += 120) chunks.push({ mint: t[j], maxt: t[j + 119], data: native.xorEncode(t, v, j, j + 120) });
    series.push({ labels: [{ name: '__name__', value: 'crash' }, { name: 's', value: String(s).padStart(2, '0') }], chunks });
  }
  await store.writeBlock(series, { minTime: i * H2, maxTime: (i + 1) * H2 });
  process.stdout.write('ack ' + i + '\\n');
  await store.compact();
}
`;

describe.skipIf(!haveDist)('kill -9 during head cuts and compactions', () => {
  it(`keeps a consistent state across ${RUNS} kills`, async () => {
    const root = resolve(import.meta.dirname, '..', 'dist');
    const script = join(work, 'child.mjs');
    writeFileSync(script, childSrc(root));
    const dir = join(work, 'data');
    let acked = -1;
    for (let run = 0; run < RUNS; run++) {
      const child: ChildProcess = spawn(process.execPath, [script, dir], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stderr!.on('data', (b) => {
        err += b;
      });
      child.stdout!.on('data', (b: Buffer) => {
        for (const m of b.toString().matchAll(/ack (\d+)/g)) acked = Math.max(acked, Number(m[1]));
      });
      // Let it get going, then kill it at a random point.
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 600));
      if (child.exitCode !== null) throw new Error(`child exited early: ${err}`);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));

      const store = new BlockStore(dir, {});
      await store.open();
      try {
        expect(store.corrupted.size, JSON.stringify([...store.corrupted.values()])).toBe(0);
        expect(readdirSync(dir).filter((n) => n.includes('.tmp'))).toEqual([]);
        const blocks = store.blocks();
        for (let i = 1; i < blocks.length; i++)
          expect(blocks[i].meta.minTime).toBeGreaterThanOrEqual(blocks[i - 1].meta.maxTime);
        const end = blocks.length ? blocks[blocks.length - 1].meta.maxTime : 0;
        expect(end / H2).toBeGreaterThanOrEqual(acked + 1);
        const got = store.select([{ type: '=', name: '__name__', value: 'crash' }], 0, end);
        expect(got.length).toBe(acked >= 0 ? N_SERIES : 0);
        for (const [s, sd] of got.entries()) {
          expect(sd.t.length).toBe((end / H2) * PER);
          for (let k = 0; k < sd.t.length; k++) {
            const i = Math.floor(k / PER);
            const j = k % PER;
            if (sd.t[k] !== i * H2 + j * 15000 || sd.v[k] !== i * 1000 + s + j) {
              throw new Error(`run ${run}: series ${s} sample ${k} is (${sd.t[k]}, ${sd.v[k]})`);
            }
          }
        }
      } finally {
        await store.close();
      }
    }
    expect(acked).toBeGreaterThan(0);
  });
});
