/**
 * The issue's real-peer check: the same config and the same simulated targets (bench/target-simulator.ts)
 * scraped by Prometheus 2.42 and by promshard side by side: the same series (target labels and relabelling
 * included), the same `up`, and per series the same number of samples within one scrape's worth.
 * PROMSHARD_SCRAPE_COMPARE_SECONDS makes the window longer (default 12 s).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../bench/target-simulator.js';
import { parseConfig } from '../src/config/load.js';
import { ScrapeManager } from '../src/scrape/manager.js';
import {
  type Appendable,
  type AppendOutcome,
  type AppendRequest,
  emptyOutcome,
} from '../src/shared/ingest.js';
import { isStaleNaN } from '../src/shared/storage.js';

const havePrometheus = spawnSync('prometheus', ['--version'], { stdio: 'ignore' }).status === 0;
if (!havePrometheus) console.log('skipping the simulated-targets comparison: prometheus is not on PATH');

class TimesBySeries implements Appendable {
  readonly series = new Map<string, { labels: Record<string, string>; t: number[]; stale: number }>();
  async append(req: AppendRequest): Promise<AppendOutcome> {
    for (let i = 0; i < req.series.length; i++) {
      const l = req.series[i];
      const key = l.join('\xff');
      let s = this.series.get(key);
      if (!s) {
        const labels: Record<string, string> = {};
        for (let j = 0; j < l.length; j += 2) labels[l[j]] = l[j + 1];
        s = { labels, t: [], stale: 0 };
        this.series.set(key, s);
      }
      for (let k = req.sampleStart[i]; k < req.sampleStart[i + 1]; k++) {
        if (isStaleNaN(req.v[k])) s.stale++;
        else s.t.push(req.t[k]);
      }
    }
    const o = emptyOutcome();
    o.appended = req.t.length;
    return o;
  }
}

function canon(o: Record<string, string>): string {
  return JSON.stringify(
    Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!havePrometheus)('simulated targets scraped by Prometheus 2.42 and promshard', () => {
  let sim: Simulator | null = null;
  let prom: ChildProcess | null = null;
  let dir = '';

  afterAll(async () => {
    prom?.kill('SIGTERM');
    await sim?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('stores the same series, up and sample counts', async () => {
    const windowS = Number(process.env.PROMSHARD_SCRAPE_COMPARE_SECONDS ?? '12');
    sim = await startSimulator({ targets: 12, series: 150 });
    dir = mkdtempSync(join(tmpdir(), 'promshard-simcmp-'));
    writeFileSync(
      join(dir, 'targets.json'),
      JSON.stringify([{ targets: sim.addresses, labels: { env: 'Sim' } }]),
    );
    const config = `
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: sim
    file_sd_configs: [{files: ['${join(dir, 'targets.json')}']}]
    relabel_configs:
      - {source_labels: [env], target_label: env, action: lowercase}
      - {source_labels: [__address__], modulus: 3, target_label: bucket, action: hashmod}
    metric_relabel_configs:
      - {source_labels: [__name__, le], separator: '@', regex: 'sim_request_duration_seconds_bucket@(0.0.*)', action: drop}
      - {source_labels: [queue], regex: 'q(.*)', target_label: queue_no, replacement: '$1'}
`;
    writeFileSync(join(dir, 'prometheus.yml'), config);
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const promPort = (s.address() as AddressInfo).port;
    await new Promise((r) => s.close(r));
    prom = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      { stdio: 'ignore' },
    );
    const get = async (path: string) =>
      (await (await fetch(`http://127.0.0.1:${promPort}${path}`)).json()) as any;
    const app = new TimesBySeries();
    const m = new ScrapeManager(app);
    await m.applyConfig(parseConfig(config));
    try {
      // Wait until Prometheus scrapes too, then let both run for the window.
      const deadline = Date.now() + 60_000;
      for (;;) {
        try {
          const r = await get('/api/v1/query?query=count(up)');
          if (Number(r.data?.result?.[0]?.value?.[1] ?? 0) === 12) break;
        } catch {
          // not up yet
        }
        if (Date.now() > deadline) throw new Error('Prometheus did not start scraping');
        await sleep(250);
      }
      await sleep(windowS * 1000 + 1500);
      const end = Date.now() - 1000;
      const endS = (end / 1000).toFixed(3);
      const w = `${windowS}s`;

      // A range vector at the top level: every sample of the window, with the series' full labels.
      const theirs = await get(`/api/v1/query?query=${encodeURIComponent(`{job="sim"}[${w}]`)}&time=${endS}`);
      const theirCounts = new Map<string, number>();
      for (const r of theirs.data.result as {
        metric: Record<string, string>;
        values: [number, string][];
      }[]) {
        theirCounts.set(canon(r.metric), r.values.length);
      }
      const ourCounts = new Map<string, number>();
      for (const sr of app.series.values()) {
        const n = sr.t.filter((t) => t > end - windowS * 1000 && t <= end).length;
        if (n > 0) ourCounts.set(canon(sr.labels), n);
      }
      expect(theirCounts.size).toBeGreaterThan(1000);
      const missing: string[] = [];
      const off: string[] = [];
      for (const [k, n] of theirCounts) {
        const ours = ourCounts.get(k);
        if (ours === undefined) missing.push(k);
        else if (Math.abs(ours - n) > 1) off.push(`${k}: prometheus ${n}, promshard ${ours}`);
      }
      expect(missing).toEqual([]);
      expect(off).toEqual([]);
      expect([...ourCounts.keys()].filter((k) => !theirCounts.has(k))).toEqual([]);

      // The same series names and labels (full sets, __name__ included).
      const series = await get(
        `/api/v1/series?match[]=${encodeURIComponent('{job="sim"}')}&start=${(end / 1000 - windowS).toFixed(3)}&end=${endS}`,
      );
      const theirSeries = new Set((series.data as Record<string, string>[]).map(canon));
      const ourSeries = new Set(
        [...app.series.values()].filter((x) => x.t.length > 0).map((x) => canon(x.labels)),
      );
      expect([...theirSeries].filter((x) => !ourSeries.has(x))).toEqual([]);
      expect([...ourSeries].filter((x) => !theirSeries.has(x))).toEqual([]);

      const up = await get('/api/v1/query?query=up');
      for (const r of up.data.result as { value: [number, string] }[]) expect(r.value[1]).toBe('1');
      for (const l of m.loops()) expect(l.health).toBe('up');
    } finally {
      await m.stop();
    }
  });
});
