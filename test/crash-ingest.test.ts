// Crash test: a child process ingests through the coordinator and logs every acknowledged batch; it is
// killed with SIGKILL at random moments. After each kill the data directory is reopened and every
// acknowledged sample must be there, exactly once. 5 rounds here; PROMSHARD_CRASH_ROUNDS=20 for the long run.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, it } from 'vitest';
import { openStorage } from '../src/coordinator/index.js';
import { rng } from './tsdb-helpers.js';

const root = resolve(import.meta.dirname, '..');
const ROUNDS = Number(process.env.PROMSHARD_CRASH_ROUNDS ?? 5);
const SERIES = 64;

const CHILD = `
import { openSync, writeSync } from 'node:fs';
const { openStorage } = await import(process.env.ENGINE_URL);
const dir = process.env.DATA_DIR;
const ack = openSync(process.env.ACK_LOG, 'a');
const eng = await openStorage(dir, { shards: 2, logger: { warn: (m) => console.error(m), error: (m) => console.error(m) } });
process.stdout.write('ready\\n');
const n = ${SERIES};
const series = Array.from({ length: n }, (_, i) => ['__name__', 'crash', 'series', String(i)]);
const sampleStart = Uint32Array.from({ length: n + 1 }, (_, i) => i);
let last = 0;
for (;;) {
  let t = Date.now();
  while (t <= last) { await new Promise((r) => setImmediate(r)); t = Date.now(); }
  last = t;
  const o = await eng.append({ series, sampleStart, t: new Float64Array(n).fill(t), v: new Float64Array(n).fill(t % 1000003) });
  writeSync(ack, o.appended === n ? t + '\\n' : 'BAD ' + t + ' ' + JSON.stringify(o) + '\\n');
}
`;

function startChild(
  dir: string,
  ackLog: string,
): { child: ChildProcess; ready: Promise<void>; exited: Promise<void> } {
  const script = join(dir, 'child.mjs');
  writeFileSync(script, CHILD);
  const child = spawn(process.execPath, [script], {
    env: {
      ...process.env,
      ENGINE_URL: pathToFileURL(join(root, 'dist', 'src', 'coordinator', 'index.js')).href,
      DATA_DIR: dir,
      ACK_LOG: ackLog,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const ready = new Promise<void>((res, rej) => {
    child.stdout?.on('data', (d) => {
      if (String(d).includes('ready')) res();
    });
    child.once('exit', (code, sig) =>
      rej(new Error(`child exited (${code ?? sig}) before ready: ${stderr}`)),
    );
  });
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  return { child, ready, exited };
}

it(`keeps every acknowledged sample across ${ROUNDS} kill -9 of the ingesting process`, async () => {
  if (!existsSync(join(root, 'dist', 'src', 'coordinator', 'index.js'))) {
    throw new Error('dist/ is missing: run `npx tsc -p tsconfig.json` (npm test does) first');
  }
  const dir = mkdtempSync(join(tmpdir(), 'promshard-crash-'));
  const ackLog = join(dir, 'acks.log');
  const r = rng(Number(process.env.PROMSHARD_CRASH_SEED ?? Date.now() % 100000));
  try {
    let totalAcked = 0;
    const stats: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const { child, ready, exited } = startChild(dir, ackLog);
      await ready;
      await new Promise((res) => setTimeout(res, 150 + Math.floor(r() * 900)));
      child.kill('SIGKILL');
      await exited;

      const lines = existsSync(ackLog) ? readFileSync(ackLog, 'utf8').split('\n') : [];
      // The last line may be cut by the kill; only whole lines are acknowledgements.
      const acked = lines.slice(0, -1).filter((l) => l !== '');
      expect(acked.filter((l) => l.startsWith('BAD'))).toEqual([]);
      const ackedT = acked.map(Number);
      totalAcked = ackedT.length;

      const eng = await openStorage(dir, { shards: 2, logger: { warn: () => {}, error: () => {} } });
      try {
        for (const rep of eng.replay)
          expect(rep.damage, `round ${round}: WAL damage after kill -9`).toBeNull();
        const sel = await eng.select(
          [{ type: '=', name: '__name__', value: 'crash' }],
          0,
          Number.POSITIVE_INFINITY,
        );
        if (ackedT.length > 0) expect(sel.length).toBe(SERIES);
        const problems: string[] = [];
        for (const s of sel) {
          const t = s.t;
          for (let i = 1; i < t.length; i++)
            if (!(t[i] > t[i - 1])) problems.push(`sample stored twice or out of order at ${t[i]}`);
          for (let i = 0; i < t.length; i++)
            if (s.v[i] !== t[i] % 1000003) problems.push(`wrong value at ${t[i]}`);
          const have = new Set(t);
          const missing = ackedT.filter((x) => !have.has(x));
          if (missing.length > 0)
            problems.push(`${JSON.stringify(s.labels)} lost ${missing.length} acknowledged samples`);
        }
        expect(problems.slice(0, 5), `round ${round}`).toEqual([]);
        stats.push(
          `round ${round}: ${ackedT.length} batches acknowledged, replay ${eng.replay.map((x) => x.ms.toFixed(0)).join('+')} ms`,
        );
      } finally {
        await eng.close();
      }
    }
    console.log(stats.join('\n'));
    expect(totalAcked).toBeGreaterThan(ROUNDS);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
