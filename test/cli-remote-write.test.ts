// promshard's remote_write across a restart: the destination is down while promshard ingests and stops;
// after the restart everything ingested still arrives (read back from the storage from the saved watermark).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import snappy from 'snappy';
import { afterAll, describe, expect, it } from 'vitest';
import { WriteDecoder } from '../src/remote/write-decode.js';
import { encodeWriteRequest } from '../src/remote/write-encode.js';
import { labelsFromObject } from '../src/shared/labels.js';
import { freePort, waitFor } from './support/prometheus-proc.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(repo, 'dist', 'src', 'cli.js');
const built = existsSync(cli) && existsSync(path.join(repo, 'dist', 'workers', 'shard.js'));
if (!built) console.log('skipping the remote_write restart test: run `npm run build:ts` first');

const tmp = mkdtempSync(path.join(os.tmpdir(), 'promshard-rwrestart-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(!built)('remote_write across a promshard restart with the destination down', () => {
  let proc: ChildProcess | undefined;
  afterAll(() => {
    if (proc && proc.exitCode === null) proc.kill('SIGKILL');
  });

  it('delivers everything ingested once the destination is back', async () => {
    let down = true;
    const got = new Map<string, Set<number>>();
    const dec = new WriteDecoder();
    const rx = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        if (down) {
          res.writeHead(503).end('down\n');
          return;
        }
        const d = dec.decode(snappy.uncompressSync(Buffer.concat(chunks), { asBuffer: true }) as Buffer);
        d.request.series.forEach((flat, i) => {
          const key = flat.join(',');
          const set = got.get(key) ?? new Set<number>();
          for (let k = d.request.sampleStart[i]; k < d.request.sampleStart[i + 1]; k++)
            set.add(d.request.t[k]);
          got.set(key, set);
        });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => rx.listen(0, '127.0.0.1', r));
    const rxUrl = `http://127.0.0.1:${(rx.address() as { port: number }).port}/push`;
    const cfg = path.join(tmp, 'p.yml');
    writeFileSync(
      cfg,
      `remote_write:\n  - url: ${rxUrl}\n    queue_config:\n      batch_send_deadline: 100ms\n      min_backoff: 50ms\n      max_backoff: 200ms\n`,
    );
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const args = [
      cli,
      `--config.file=${cfg}`,
      `--storage.tsdb.path=${path.join(tmp, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.shards=2',
      '--web.enable-remote-write-receiver',
      '--storage.remote.flush-deadline=1s',
    ];
    let log = '';
    const start = async () => {
      proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      proc.stdout?.on('data', (d) => {
        log += d;
      });
      proc.stderr?.on('data', (d) => {
        log += d;
      });
      try {
        await waitFor(
          async () => {
            if (proc?.exitCode !== null) throw new Error(`exited with ${proc?.exitCode}`);
            return (await fetch(`${base}/-/ready`)).status === 200;
          },
          30_000,
          'promshard ready',
        );
      } catch (e) {
        throw new Error(`${(e as Error).message}\n${log}`);
      }
    };
    const push = async (t0: number, n: number) => {
      const series = Array.from({ length: 30 }, (_, i) => ({
        labels: labelsFromObject({ __name__: 'restart_test', i: String(i) }),
        t: Float64Array.from({ length: n }, (_, k) => t0 + k * 1000),
        v: Float64Array.from({ length: n }, (_, k) => i + k),
      }));
      const r = await fetch(`${base}/api/v1/write`, {
        method: 'POST',
        body: snappy.compressSync(Buffer.from(encodeWriteRequest(series))),
      });
      expect(r.status).toBe(204);
    };

    await start();
    const t0 = Date.now() - 120_000;
    await push(t0, 10);
    await new Promise((r) => setTimeout(r, 1000)); // the sender retries against 503 meanwhile
    const exited = new Promise<number | null>((r) => proc!.once('exit', (c) => r(c)));
    proc!.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(got.size).toBe(0);
    expect(
      readdirSync(path.join(tmp, 'data', 'remote-write')).filter((f) => f.endsWith('.json')),
    ).toHaveLength(1);

    down = false;
    await start();
    await push(t0 + 10_000, 5);
    const total = () => [...got.values()].reduce((n, s) => n + s.size, 0);
    await waitFor(
      async () => total() === 30 * 15 || undefined,
      30_000,
      `450 samples at the destination (have ${total()})`,
    );
    for (const [key, set] of got) {
      expect(key).toMatch(/^__name__,restart_test,i,\d+$/);
      expect(set.size).toBe(15);
    }
    expect(log).toContain('Resuming remote_write from where it stopped');
    const exited2 = new Promise<number | null>((r) => proc!.once('exit', (c) => r(c)));
    proc!.kill('SIGTERM');
    expect(await exited2).toBe(0);
    rx.close();
  });
});
