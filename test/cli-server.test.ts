// Runs the built CLI (dist/src/cli.js): flags and exit codes, then a real server over the sharded storage
// and the PromQL engine: remote write in, queries out, SIGHUP reload, SIGTERM, restart with the data kept.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import snappy from 'snappy';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeWriteRequest } from '../src/remote/write-encode.js';
import { labelsFromObject } from '../src/shared/labels.js';
import { BAD, encodeBad } from './support/http-bad-requests.js';
import { freePort, waitFor } from './support/prometheus-proc.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(repo, 'dist', 'src', 'cli.js');
const built = existsSync(cli) && existsSync(path.join(repo, 'dist', 'workers', 'shard.js'));
if (!built) console.log('skipping CLI tests: run `npm run build:ts` first (dist/src/cli.js is absent)');

function runCli(args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'promshard-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(!built)('the promshard CLI', () => {
  it('prints help and version', () => {
    const h = runCli(['--help']);
    expect(h.code).toBe(0);
    expect(h.out).toContain('--[no-]web.enable-remote-write-receiver');
    expect(h.out).toContain('--storage.tsdb.shards');
    const v = runCli(['--version']);
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/^promshard, version \d+\.\d+\.\d+/);
  });

  it.each([
    [['--nope'], "promshard: error: unknown long flag '--nope', try --help"],
    [
      ['--query.timeout=soon'],
      `promshard: error: invalid value "soon" for flag '--query.timeout': not a valid duration string: "soon", try --help`,
    ],
    [
      ['--web.listen-address'],
      "promshard: error: expected argument for flag '--web.listen-address', try --help",
    ],
    [['--storage.tsdb.shards=x'], `promshard: error: invalid value "x" for flag '--storage.tsdb.shards'`],
  ])('exits 2 for %j', (args, msg) => {
    const r = runCli(args);
    expect(r.code).toBe(2);
    expect(r.err).toContain(msg);
    expect(r.out).toBe('');
  });

  it('exits 1 with the reason when a given config file is missing or invalid', () => {
    const r = runCli([
      `--config.file=${path.join(tmp, 'missing.yml')}`,
      `--storage.tsdb.path=${path.join(tmp, 'd0')}`,
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('cannot read config file');
    const bad = path.join(tmp, 'bad.yml');
    writeFileSync(bad, 'global:\n  scrape_interval: often\n');
    const r2 = runCli([`--config.file=${bad}`, `--storage.tsdb.path=${path.join(tmp, 'd0')}`]);
    expect(r2.code).toBe(1);
  });
});

describe.skipIf(!built)('the server run by the CLI', () => {
  let proc: ChildProcess | undefined;
  let log = '';
  afterAll(() => {
    if (proc && proc.exitCode === null) proc.kill('SIGKILL');
  });

  async function start(args: string[], fixedPort?: number): Promise<string> {
    const port = fixedPort ?? (await freePort());
    log = '';
    proc = spawn(process.execPath, [cli, `--web.listen-address=127.0.0.1:${port}`, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout?.on('data', (d) => {
      log += d;
    });
    proc.stderr?.on('data', (d) => {
      log += d;
    });
    const base = `http://127.0.0.1:${port}`;
    try {
      await waitFor(
        async () => {
          if (proc?.exitCode !== null) throw new Error(`the server exited with ${proc?.exitCode}`);
          return (await fetch(`${base}/-/ready`)).status === 200;
        },
        60_000,
        'server ready',
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${log}`);
    }
    return base;
  }

  async function stop(signal: NodeJS.Signals): Promise<number | null> {
    const p = proc!;
    const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
    p.kill(signal);
    return exited;
  }

  it('ingests remote writes, answers PromQL, reloads on SIGHUP, stops on SIGTERM and keeps the data', async () => {
    try {
      await ingestScenario();
    } catch (e) {
      // The server's own log says why a wait timed out.
      throw new Error(`${(e as Error).message}\n--- server log ---\n${log.slice(-4000)}`);
    }
  });

  async function ingestScenario(): Promise<void> {
    const data = path.join(tmp, 'data');
    const cfg = path.join(tmp, 'prometheus.yml');
    // A remote_write destination that counts what it receives.
    let received = 0;
    const rx = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const raw = snappy.uncompressSync(Buffer.concat(chunks), { asBuffer: true }) as Buffer;
        received += raw.toString('latin1').split('cli_test_total').length - 1;
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => rx.listen(0, '127.0.0.1', r));
    const rxUrl = `http://127.0.0.1:${(rx.address() as { port: number }).port}/push`;
    const port = await freePort();
    // It scrapes itself every second, as the built-in config does every 15 s.
    const scrapeCfg = `scrape_configs:\n  - job_name: self\n    scrape_interval: 1s\n    static_configs:\n      - targets: ['127.0.0.1:${port}']\n`;
    const rwCfg = `${scrapeCfg}remote_write:\n  - url: ${rxUrl}\n    queue_config:\n      batch_send_deadline: 100ms\n`;
    writeFileSync(cfg, `global:\n  scrape_interval: 15s\n  external_labels:\n    site: a\n${rwCfg}`);
    const args = [
      `--config.file=${cfg}`,
      `--storage.tsdb.path=${data}`,
      '--storage.tsdb.shards=2',
      '--web.enable-remote-write-receiver',
      '--web.enable-lifecycle',
    ];
    let base = await start(args, port);
    const now = Date.now() - 60_000;
    const series = Array.from({ length: 40 }, (_, i) => ({
      labels: labelsFromObject({ __name__: 'cli_test_total', job: 'cli', i: String(i) }),
      t: Float64Array.from({ length: 10 }, (_, k) => now - (9 - k) * 15_000),
      v: Float64Array.from({ length: 10 }, (_, k) => i * 100 + k),
    }));
    const body = snappy.compressSync(Buffer.from(encodeWriteRequest(series)));
    const w = await fetch(`${base}/api/v1/write`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' },
      body,
    });
    expect(w.status).toBe(204);
    const query = async (q: string) =>
      (await (
        await fetch(`${base}/api/v1/query?query=${encodeURIComponent(q)}&time=${now / 1000}`)
      ).json()) as {
        status: string;
        data: { result: { metric: Record<string, string>; value: [number, string] }[] };
      };
    expect((await query('sum(cli_test_total)')).data.result[0].value[1]).toBe(
      String(40 * 9 + (100 * (39 * 40)) / 2),
    );
    expect((await query('count(cli_test_total)')).data.result[0].value[1]).toBe('40');

    // SIGHUP reloads the config file.
    // 50+ bad requests against the real server (storage shards + PromQL engine): each answered with
    // Prometheus' error, nothing lost, the server still serving.
    let bad = 0;
    for (const [url, status, message] of BAD) {
      if (url.includes('__fail__')) continue; // a fake-engine trigger, a valid selector here
      const r = await fetch(base + encodeBad(url));
      const j = (await r.json()) as { status: string; error: string };
      expect([url, r.status, j.status]).toEqual([url, status, 'error']);
      if (!url.includes('query=up{') && !url.includes('query_exemplars')) expect(j.error).toBe(message);
      bad++;
    }
    const hostileWrites: (Buffer | string)[] = [
      '',
      'not snappy',
      snappy.compressSync(Buffer.from([0x0a, 0x05, 0x0a])),
      snappy.compressSync(Buffer.from([0xff, 0xff, 0xff])),
      Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0]),
      snappy.compressSync(Buffer.alloc(1000, 0x0a)),
    ];
    for (const b of hostileWrites) {
      const r = await fetch(`${base}/api/v1/write`, { method: 'POST', body: b });
      expect(r.status).toBe(400);
      bad++;
    }
    expect(bad).toBeGreaterThanOrEqual(50);
    expect((await query('count(cli_test_total)')).data.result[0].value[1]).toBe('40');
    expect((await query('sum(cli_test_total)')).data.result[0].value[1]).toBe(
      String(40 * 9 + (100 * (39 * 40)) / 2),
    );

    // Each series went out once per request with its 10 samples: 40 label sets seen by the receiver.
    await waitFor(async () => received >= 40 || undefined, 10_000, 'the remote_write destination to receive');
    writeFileSync(cfg, `global:\n  scrape_interval: 15s\n  external_labels:\n    site: b\n${rwCfg}`);
    proc!.kill('SIGHUP');
    await waitFor(
      async () => {
        const c = (await (await fetch(`${base}/api/v1/status/config`)).json()) as { data: { yaml: string } };
        return c.data.yaml.includes('site: b');
      },
      10_000,
      'the reloaded config',
    );
    // The self-scrape runs: a target in /api/v1/targets and `up` == 1.
    await waitFor(
      async () => {
        const r = (await (await fetch(`${base}/api/v1/query?query=up`)).json()) as {
          data: { result: { metric: Record<string, string>; value: [number, string] }[] };
        };
        return r.data.result.length === 1 && r.data.result[0].value[1] === '1' ? r : undefined;
      },
      30_000,
      'up == 1 from the self-scrape',
    );
    const targets = (await (await fetch(`${base}/api/v1/targets`)).json()) as {
      data: { activeTargets: { health: string; scrapePool: string; labels: Record<string, string> }[] };
    };
    expect(targets.data.activeTargets).toHaveLength(1);
    expect(targets.data.activeTargets[0]).toMatchObject({
      health: 'up',
      scrapePool: 'self',
      labels: { job: 'self' },
    });
    const meta = (await (
      await fetch(`${base}/api/v1/metadata?metric=prometheus_http_requests_total`)
    ).json()) as {
      data: Record<string, { type: string }[]>;
    };
    expect(meta.data.prometheus_http_requests_total[0].type).toBe('counter');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^promshard_shard_series\{shard="0"\} \d+$/m);
    expect(metrics).toMatch(/^promshard_shard_series\{shard="1"\} \d+$/m);
    expect(metrics).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(metrics).toMatch(/^prometheus_http_requests_total\{code="204",handler="\/api\/v1\/write"\} 1$/m);

    expect(await stop('SIGTERM')).toBe(0);
    expect(log).toContain('See you next time!');

    // Restart: the WAL brings every sample back.
    base = await start(args, port);
    expect((await query('count(cli_test_total)')).data.result[0].value[1]).toBe('40');
    expect((await query('sum(cli_test_total)')).data.result[0].value[1]).toBe(
      String(40 * 9 + (100 * (39 * 40)) / 2),
    );
    const fed = await (await fetch(`${base}/federate?match[]=cli_test_total`)).text();
    const head = Number(
      /^prometheus_tsdb_head_series (\d+)$/m.exec(await (await fetch(`${base}/metrics`)).text())?.[1],
    );
    expect(head).toBeGreaterThan(40);
    expect(fed).toContain('cli_test_total{i="0",job="cli",site="b"} 9 ');

    // /-/quit stops it too.
    const exited = new Promise<number | null>((r) => proc!.once('exit', (code) => r(code)));
    expect((await fetch(`${base}/-/quit`, { method: 'POST' })).status).toBe(200);
    expect(await exited).toBe(0);
    rx.close();
  }
});
