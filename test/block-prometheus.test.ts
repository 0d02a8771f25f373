// Prometheus 2.42 itself serving a block written by our writer: it must answer the fixture's 21
// reference queries exactly as it did over its own block.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BlockReader } from '../src/tsdb/block/reader.js';
import { writeBlock } from '../src/tsdb/block/writer.js';
import { mergeBlocks } from '../src/tsdb/compact/merge.js';
import { FIXTURE_DIR, haveFixture, loadExpected, toInput } from './block-fixture.js';

const havePrometheus = (process.env.PATH ?? '')
  .split(delimiter)
  .some((d) => d !== '' && existsSync(join(d, 'prometheus')));
if (!havePrometheus) console.log('skipping the Prometheus serving case: prometheus is not on PATH');

const work = mkdtempSync(join(tmpdir(), 'promshard-block-prom-'));
let child: ChildProcess | undefined;
afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface RefCase {
  note: string;
  request: { method: string; path: string; params: Record<string, string | number | string[]> };
  status: number;
  response: unknown;
}

/** Starts Prometheus 2.42 on `data` and checks the fixture's 21 reference answers against it. */
async function serveAndCompare(data: string): Promise<void> {
  const cfg = join(work, 'prometheus.yml');
  writeFileSync(cfg, 'global:\n  scrape_interval: 15s\n');
  const port = await freePort();
  let log = '';
  child = spawn(
    'prometheus',
    [
      `--config.file=${cfg}`,
      `--storage.tsdb.path=${data}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stderr!.on('data', (b) => {
    log += b;
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`prometheus exited: ${log}`);
      try {
        if ((await fetch(`${base}/-/ready`)).ok) break;
      } catch {}
      if (Date.now() > deadline) throw new Error(`prometheus not ready: ${log}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const ref = JSON.parse(readFileSync(join(FIXTURE_DIR, 'reference-queries.json'), 'utf8')) as {
      cases: RefCase[];
    };
    expect(ref.cases.length).toBe(21);
    for (const c of ref.cases) {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(c.request.params)) {
        for (const x of Array.isArray(v) ? v : [v]) qs.append(k, String(x));
      }
      const res = await fetch(`${base}${c.request.path}?${qs}`, { method: c.request.method });
      expect(res.status, c.note).toBe(c.status);
      expect(await res.json(), c.note).toEqual(c.response);
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child!.once('exit', r));
  }
}

describe.skipIf(!havePrometheus || !haveFixture)('Prometheus 2.42 serving our blocks', () => {
  it('answers the reference queries exactly as over its own block', async () => {
    const exp = loadExpected();
    const data = join(work, 'data');
    await writeBlock(data, toInput(exp.series), { minTime: exp.minTime, maxTime: exp.maxTime + 1 });
    await serveAndCompare(data);
  });

  it('does so over the merge of two overlapping blocks holding the data in parts', async () => {
    const exp = loadExpected();
    const staging = join(work, 'staging');
    const cutA = exp.minTime + 4_200_000; // block A: samples before T0+70m
    const cutB = exp.minTime + 3_000_000; // block B: samples from T0+50m on (20 minutes overlap)
    const part = (keep: (t: number) => boolean) =>
      exp.series
        .map((s) => {
          const idx = Array.from(s.t.keys()).filter((i) => keep(s.t[i]));
          return {
            labels: s.labels,
            t: Float64Array.from(idx, (i) => s.t[i]),
            v: Float64Array.from(idx, (i) => s.v[i]),
          };
        })
        .filter((s) => s.t.length > 0);
    const a = await writeBlock(staging, toInput(part((t) => t < cutA)), {
      minTime: exp.minTime,
      maxTime: cutA,
    });
    const b = await writeBlock(staging, toInput(part((t) => t >= cutB)), {
      minTime: cutB,
      maxTime: exp.maxTime + 1,
    });
    const readers = [BlockReader.open(join(staging, a.ulid)), BlockReader.open(join(staging, b.ulid))];
    const data = join(work, 'merged');
    const merged = await mergeBlocks(data, readers);
    for (const r of readers) r.close();
    expect(merged!.stats.numSamples).toBe(2700);
    expect(merged!.compaction.level).toBe(2);
    await serveAndCompare(data);
  });
});
