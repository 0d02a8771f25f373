// `promshard top --once` against a real promshard (built CLI, 2 shard workers) with data in it; and the
// admin profile endpoint refused without --web.enable-admin-api.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runIngestLoad } from '../src/bench/ingest-loadgen.js';
import { type ManagedServer, startServer } from '../src/bench/servers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let server: ManagedServer;

beforeAll(async () => {
  server = await startServer('promshard', { shards: 2 });
  await runIngestLoad(
    {
      url: `${server.url}/api/v1/write`,
      series: 1000,
      perRequest: 250,
      concurrency: 2,
      durationS: 30,
      rounds: 3,
      churn: 0,
      metrics: 5,
      t0: Date.now() - 600_000,
      intervalMs: 15_000,
    },
    () => {},
    async () => {},
  );
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

describe('promshard top --once', () => {
  it('prints one frame with totals and a row per shard', () => {
    const r = spawnSync(
      process.execPath,
      [path.join(root, 'dist', 'src', 'cli.js'), 'top', '--once', `--url=${server.url}`],
      {
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toContain(`promshard top - ${server.url}`);
    expect(lines[0]).toContain('2 shards');
    expect(r.stdout).toMatch(/Series 1,000 /);
    expect(r.stdout).toMatch(/hot shard: /);
    const header = lines.findIndex((l) => /SHARD\s+SERIES\s+SAMPLES\/S/.test(l));
    expect(header).toBeGreaterThan(0);
    const rows = lines.slice(header + 1);
    expect(rows).toHaveLength(2);
    const series = rows.map((l) => Number(l.trim().split(/\s+/)[1].replace(/,/g, '')));
    expect(series[0] + series[1]).toBe(1000);
    // No escape codes in --once output (it is for scripts and logs).
    expect(r.stdout).not.toContain('\x1b[');
  });

  it('refreshes: --count=2 prints two frames and ends', () => {
    const r = spawnSync(
      process.execPath,
      [
        path.join(root, 'dist', 'src', 'cli.js'),
        'top',
        '--count=2',
        '--interval=200ms',
        `--url=${server.url}`,
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(r.status).toBe(0);
    expect(r.stdout.match(/^promshard top - /gm)).toHaveLength(2);
  });

  it('exits 1 with a message when the server is unreachable', () => {
    const r = spawnSync(
      process.execPath,
      [path.join(root, 'dist', 'src', 'cli.js'), 'top', '--once', '--url=http://127.0.0.1:1'],
      {
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/promshard top: /);
  });
});

describe('admin/profile without --web.enable-admin-api', () => {
  it('is refused as Prometheus refuses its admin endpoints', async () => {
    const other = await startServer('promshard', { shards: 1, adminApi: false });
    try {
      const res = await fetch(`${other.url}/api/v1/admin/profile?seconds=1`, { method: 'POST' });
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({
        status: 'error',
        errorType: 'unavailable',
        error: 'admin APIs disabled',
      });
    } finally {
      await other.stop();
    }
  }, 60_000);
});
