// The admin API and /api/v1/status/tsdb of the real CLI server over 2 shard workers: delete_series hides
// data at once and across a restart, clean_tombstones, snapshot (with and without the head) that promtool
// reads; retention/block-duration flags reach the shards (status shows short blocks).
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import snappy from 'snappy';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeWriteRequest } from '../src/remote/write-encode.js';
import { labelsFromObject } from '../src/shared/labels.js';
import { freePort, waitFor } from './support/prometheus-proc.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(repo, 'dist', 'src', 'cli.js');
const built = existsSync(cli) && existsSync(path.join(repo, 'dist', 'workers', 'shard.js'));
if (!built) console.log('skipping CLI admin tests: run `npm run build:ts` first (dist/src/cli.js is absent)');
const havePromtool = spawnSync('sh', ['-c', 'command -v promtool']).status === 0;
if (!havePromtool)
  console.log('cli-admin: promtool is not on PATH; the snapshot is not checked with promtool');

const tmp = mkdtempSync(path.join(os.tmpdir(), 'promshard-cli-admin-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(!built)('admin API of the server run by the CLI', () => {
  let proc: ChildProcess | undefined;
  let log = '';
  afterAll(() => {
    if (proc && proc.exitCode === null) proc.kill('SIGKILL');
  });

  async function start(args: string[]): Promise<string> {
    const port = await freePort();
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
    await waitFor(
      async () => {
        if (proc?.exitCode !== null) throw new Error(`the server exited with ${proc?.exitCode}\n${log}`);
        return (await fetch(`${base}/-/ready`)).status === 200;
      },
      60_000,
      'server ready',
    );
    return base;
  }

  async function stop(): Promise<void> {
    const p = proc!;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    await exited;
  }

  it('deletes series, cleans tombstones, snapshots and reports the TSDB status as 2.42', async () => {
    const data = path.join(tmp, 'data');
    const cfg = path.join(tmp, 'prometheus.yml');
    writeFileSync(cfg, 'global:\n  scrape_interval: 15s\nscrape_configs: []\n');
    const args = [
      `--config.file=${cfg}`,
      `--storage.tsdb.path=${data}`,
      '--storage.tsdb.shards=2',
      '--storage.tsdb.min-block-duration=1m',
      '--storage.tsdb.max-block-duration=3m',
      '--storage.tsdb.retention.time=1d',
      '--web.enable-remote-write-receiver',
      '--web.enable-admin-api',
    ];
    let base = await start(args);
    // An empty head, as 2.42 prints it (int64 sentinels for its time range).
    const emptyText = await (await fetch(`${base}/api/v1/status/tsdb`)).text();
    const emptyWant =
      '{"status":"success","data":{"headStats":{"numSeries":0,"numLabelPairs":0,"chunkCount":0,' +
      '"minTime":9223372036854775807,"maxTime":-9223372036854775808},"seriesCountByMetricName":[],' +
      '"labelValueCountByLabelName":[],"memoryInBytesByLabelName":[],"seriesCountByLabelValuePair":[],' +
      '"shardStatus":[';
    expect(emptyText.slice(0, emptyWant.length)).toBe(emptyWant);
    // 10 minutes of 15 s samples ending a minute ago, 20 series.
    const end = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
    const N = 40;
    const series = Array.from({ length: 20 }, (_, i) => ({
      labels: labelsFromObject({ __name__: 'adm_cli', job: i % 2 === 0 ? 'even' : 'odd', i: String(i) }),
      t: Float64Array.from({ length: N }, (_, k) => end - (N - 1 - k) * 15_000),
      v: Float64Array.from({ length: N }, (_, k) => i * 100 + k),
    }));
    const w = await fetch(`${base}/api/v1/write`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' },
      body: snappy.compressSync(Buffer.from(encodeWriteRequest(series))),
    });
    expect(w.status).toBe(204);
    const count = async (q: string, at = end) => {
      const j = (await (
        await fetch(`${base}/api/v1/query?query=${encodeURIComponent(q)}&time=${at / 1000}`)
      ).json()) as { data: { result: { value: [number, string] }[] } };
      return j.data.result.length === 0 ? 0 : Number(j.data.result[0].value[1]);
    };
    expect(await count('count(adm_cli)')).toBe(20);
    const post = (p: string, form: string) =>
      fetch(`${base}${p}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form,
      });

    // status/tsdb: Prometheus' shape plus the per-shard section.
    type Status = {
      headStats: {
        numSeries: number;
        chunkCount: number;
        minTime: number;
        maxTime: number;
        numLabelPairs: number;
      };
      seriesCountByMetricName: { name: string; value: number }[];
      labelValueCountByLabelName: { name: string; value: number }[];
      memoryInBytesByLabelName: { name: string; value: number }[];
      seriesCountByLabelValuePair: { name: string; value: number }[];
      shardStatus: {
        shard: number;
        headStats: { numSeries: number };
        blocks: { minTime: number; maxTime: number; level: number }[];
      }[];
    };
    const tsdbStatus = async () =>
      (await (await fetch(`${base}/api/v1/status/tsdb`)).json()) as { status: string; data: Status };
    // The 10 minutes make the head compactable with 1m blocks: each shard cuts at once (as Prometheus
    // does after an append), then compacts into 3m blocks (the max block duration).
    await waitFor(
      async () => {
        const s = (await tsdbStatus()).data;
        return s.shardStatus.every((x) => x.blocks.some((b) => b.maxTime - b.minTime === 3 * 60_000));
      },
      30_000,
      'blocks cut and compacted by the shards',
    );
    const st = await tsdbStatus();
    for (const sh of st.data.shardStatus) {
      for (const b of sh.blocks) expect(b.maxTime - b.minTime).toBeLessThanOrEqual(3 * 60_000);
      expect(sh.blocks.some((b) => b.level >= 2)).toBe(true);
    }
    expect(st.status).toBe('success');
    expect(st.data.headStats.numSeries).toBe(20);
    // The head holds what was not cut: at most 1.5 block ranges.
    expect(st.data.headStats.minTime).toBeGreaterThanOrEqual(end - 90_000);
    expect(st.data.headStats.maxTime).toBe(end);
    // __name__=adm_cli, job=even/odd, i=0..19
    expect(st.data.headStats.numLabelPairs).toBe(1 + 2 + 20);
    expect(st.data.seriesCountByMetricName).toEqual([{ name: 'adm_cli', value: 20 }]);
    expect(st.data.labelValueCountByLabelName[0]).toEqual({ name: 'i', value: 20 });
    expect(st.data.seriesCountByLabelValuePair[0]).toEqual({ name: '__name__=adm_cli', value: 20 });
    expect(st.data.seriesCountByLabelValuePair).toHaveLength(10);
    expect(st.data.memoryInBytesByLabelName).toContainEqual({ name: 'job', value: 10 * 4 + 10 * 3 });
    expect(st.data.shardStatus.map((s) => s.headStats.numSeries).reduce((a, b) => a + b)).toBe(20);

    // delete_series: matchers and a time range; 204 as Prometheus, hidden at once.
    const del = await post(
      '/api/v1/admin/tsdb/delete_series',
      `match[]=${encodeURIComponent('adm_cli{job="odd"}')}&start=${(end - 5 * 60_000) / 1000}&end=${end / 1000}`,
    );
    expect(del.status).toBe(204);
    expect(await count('count(adm_cli)')).toBe(10);
    expect(await count('count(adm_cli)', end - 6 * 60_000)).toBe(20);
    expect(await count('count(count_over_time(adm_cli{job="odd"}[20m]))')).toBe(10);
    expect(await count('sum(count_over_time(adm_cli{job="odd"}[20m]))')).toBe(10 * (N - 21));

    // Survives a restart (tombstones in the WAL/checkpoint).
    await stop();
    base = await start(args);
    expect(await count('count(adm_cli)')).toBe(10);
    expect(await count('sum(count_over_time(adm_cli{job="odd"}[20m]))')).toBe(10 * (N - 21));

    expect((await post('/api/v1/admin/tsdb/clean_tombstones', '')).status).toBe(204);

    // Snapshot with the head (the default): a directory of blocks under <data>/snapshots/<name>.
    const snap = await post('/api/v1/admin/tsdb/snapshot', '');
    expect(snap.status).toBe(200);
    const sj = (await snap.json()) as { status: string; data: { name: string } };
    expect(sj.status).toBe('success');
    expect(sj.data.name).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{16}$/);
    const sdir = path.join(data, 'snapshots', sj.data.name);
    const ulids = readdirSync(sdir).filter((n) => /^[0-9A-Z]{26}$/.test(n));
    expect(ulids.length).toBeGreaterThanOrEqual(2);
    // skip_head=true: only the blocks (none cut yet here), still a success.
    const snap2 = await post('/api/v1/admin/tsdb/snapshot', 'skip_head=true');
    expect(snap2.status).toBe(200);
    // 2.42's answers to bad admin requests.
    const badBool = await post('/api/v1/admin/tsdb/snapshot', 'skip_head=maybe');
    expect(badBool.status).toBe(400);
    expect(((await badBool.json()) as { errorType: string }).errorType).toBe('bad_data');
    const noMatch = await post('/api/v1/admin/tsdb/delete_series', '');
    expect(noMatch.status).toBe(400);
    expect(((await noMatch.json()) as { error: string }).error).toBe('no match[] parameter provided');

    if (havePromtool) {
      const copy = path.join(tmp, 'snapcopy');
      cpSync(sdir, copy, { recursive: true });
      mkdirSync(path.join(copy, 'wal'));
      const list = execFileSync('promtool', ['tsdb', 'list', copy], { encoding: 'utf8' });
      for (const u of ulids) expect(list).toContain(u);
      const dump = execFileSync('promtool', ['tsdb', 'dump', copy], {
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      });
      const lines = dump.split('\n').filter((l) => l.startsWith('{__name__="adm_cli"'));
      expect(lines.length).toBe(10 * N + 10 * (N - 21));
      expect(lines).toContain(`{__name__="adm_cli", i="3", job="odd"} 300 ${end - (N - 1) * 15_000}`);
      expect(lines.some((l) => l.endsWith(` ${end}`) && l.includes('job="odd"'))).toBe(false);
    }

    // Admin API disabled: 2.42's answer.
    await stop();
    base = await start(args.filter((a) => a !== '--web.enable-admin-api'));
    const off = await post('/api/v1/admin/tsdb/clean_tombstones', '');
    expect(off.status).toBe(500);
    expect(((await off.json()) as { errorType: string }).errorType).toBe('unavailable');
    await stop();
  }, 120_000);
});
