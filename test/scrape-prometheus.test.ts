/**
 * promshard and the real Prometheus 2.42 scrape the same targets (the real exposition fixtures served on
 * 127.0.0.1) with the same config: target relabelling with every action, metric relabelling, honor_labels.
 * The targets' labels and URLs, and the series stored, must be the same.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { ScrapeManager } from '../src/scrape/manager.js';
import {
  type Appendable,
  type AppendOutcome,
  type AppendRequest,
  emptyOutcome,
} from '../src/shared/ingest.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const fixtures = join(resolve(repo, '../shared'), 'fixtures', 'exposition');
const havePrometheus = spawnSync('prometheus', ['--version'], { stdio: 'ignore' }).status === 0;
const haveFixtures = existsSync(fixtures);
if (!havePrometheus) console.log('skipping the Prometheus comparison: prometheus is not on PATH');
if (!haveFixtures) console.log(`skipping the Prometheus comparison: ${fixtures} is absent`);

class SeriesSet implements Appendable {
  readonly keys = new Set<string>();
  /** The last value of each series (by its canonical JSON). */
  readonly last = new Map<string, number>();
  async append(req: AppendRequest): Promise<AppendOutcome> {
    for (let i = 0; i < req.series.length; i++) {
      const l = req.series[i];
      const o: Record<string, string> = {};
      for (let j = 0; j < l.length; j += 2) o[l[j]] = l[j + 1];
      const k = JSON.stringify(o);
      this.keys.add(k);
      this.last.set(k, req.v[req.sampleStart[i]]);
    }
    const out = emptyOutcome();
    out.appended = req.t.length;
    return out;
  }
}

function canon(o: Record<string, string>): string {
  const sorted: Record<string, string> = {};
  for (const k of Object.keys(o).sort()) sorted[k] = o[k];
  return JSON.stringify(sorted);
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return p;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!havePrometheus || !haveFixtures)('same config, same targets as Prometheus 2.42', () => {
  let server: Server;
  let port = 0;
  let prom: ChildProcess | null = null;
  let promPort = 0;
  let dataDir = '';
  let config = '';

  beforeAll(async () => {
    const bodies: Record<string, [string, string]> = {
      '/node': ['node-exporter-1.5.0.txt', 'text/plain; version=0.0.4; charset=utf-8'],
      '/self': ['prometheus-2.42-self.txt', 'text/plain; version=0.0.4; charset=utf-8'],
      '/push': ['pushgateway-1.5.1-metrics.txt', 'text/plain; version=0.0.4; charset=utf-8'],
      '/om': [
        'python-client-0.16-openmetrics.txt',
        'application/openmetrics-text; version=1.0.0; charset=utf-8',
      ],
      '/py': ['python-client-0.16-text-0.0.4.txt', 'text/plain; version=0.0.4; charset=utf-8'],
    };
    server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      const b = bodies[path];
      if (!b) {
        res.writeHead(404);
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': b[1] });
      res.end(readFileSync(join(fixtures, b[0])));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
    const t = `127.0.0.1:${port}`;
    config = `
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: fixtures
    static_configs:
      - targets: ['${t}']
        labels: {__metrics_path__: /node, team: Storage, __meta_zone: eu-1, kind: n}
      - targets: ['${t}']
        labels: {__metrics_path__: /self, team: Frontend, __meta_zone: us-2, kind: s}
      - targets: ['${t}']
        labels: {__metrics_path__: /om, team: x, kind: same, other: same}
      - targets: ['${t}']
        labels: {__metrics_path__: /py, team: y, kind: a, other: b}
      - targets: ['${t}']
        labels: {__metrics_path__: /dropped-by-keep, team: drop-me}
      - targets: ['noport.invalid']
        labels: {__metrics_path__: /absent, team: z, kind: z}
    params: {module: [m1, m2]}
    relabel_configs:
      - {source_labels: [team], regex: drop-me, action: drop}
      - {source_labels: [team], target_label: team_lower, action: lowercase}
      - {source_labels: [team], target_label: team_upper, action: uppercase}
      - {source_labels: [__address__, __metrics_path__], modulus: 8, target_label: shard, action: hashmod}
      - {source_labels: [__metrics_path__], regex: '/(.*)', target_label: path_name, replacement: 'p_\${1}'}
      - {regex: '__meta_(.*)', action: labelmap, replacement: 'meta_$1'}
      - {source_labels: [kind], target_label: other, action: dropequal}
      - {source_labels: [team], target_label: team, action: keepequal}
      - {regex: 'kind', action: labeldrop}
      - {regex: '__.*|job|instance|team.*|shard|path_name|meta_.*|other', action: labelkeep}
      - {source_labels: [__param_module], target_label: module}
    metric_relabel_configs:
      - {source_labels: [__name__], regex: 'node_cpu_.*|go_memstats_.*', action: drop}
      - {source_labels: [__name__, collector], separator: '@', regex: 'node_scrape_collector_success@(.*)', target_label: coll, replacement: 'c_$1'}
      - {regex: 'le', action: labeldrop}
  - job_name: push
    honor_labels: true
    metrics_path: /push
    static_configs: [{targets: ['${t}']}]
  - job_name: push_not_honored
    metrics_path: /push
    static_configs: [{targets: ['${t}']}]
  - job_name: limited
    metrics_path: /node
    sample_limit: 100
    metric_relabel_configs: [{source_labels: [__name__], regex: 'go_.*', action: drop}]
    static_configs: [{targets: ['${t}']}]
  - job_name: broken
    metrics_path: /missing
    static_configs: [{targets: ['${t}']}]
`;
    promPort = await freePort();
    dataDir = mkdtempSync(join(tmpdir(), 'promshard-prom-'));
    writeFileSync(join(dataDir, 'prometheus.yml'), config);
    prom = spawn(
      'prometheus',
      [
        `--config.file=${join(dataDir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dataDir, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      { stdio: 'ignore' },
    );
  });

  afterAll(async () => {
    prom?.kill('SIGTERM');
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function promGet(path: string): Promise<any> {
    const r = await fetch(`http://127.0.0.1:${promPort}${path}`);
    return (await r.json()) as any;
  }

  it('gives the same targets, labels, URLs and series', async () => {
    const app = new SeriesSet();
    const m = new ScrapeManager(app);
    await m.applyConfig(parseConfig(config));
    try {
      // Wait for Prometheus to be up and to have scraped every target a few times.
      const deadline = Date.now() + 60_000;
      for (;;) {
        if (Date.now() > deadline) throw new Error('Prometheus did not scrape in time');
        try {
          const r = await promGet('/api/v1/query?query=count(count_over_time(up[1m])%20>=%203)');
          if (r.status === 'success' && Number(r.data.result[0]?.value[1] ?? 0) >= 6) break;
        } catch {
          // not listening yet
        }
        await sleep(300);
      }
      await sleep(1500);

      const ours = m.targets();
      const theirs = (await promGet('/api/v1/targets')).data;
      const key = (t: { scrapeUrl: string; labels: Record<string, string> }) =>
        `${t.scrapeUrl} ${canon(t.labels)}`;
      // discoveredLabels are compared only for jobs without relabel_configs: 2.42 shows a mangled label set
      // for relabelled targets (its builder reuses the pre-relabel slice), promshard the labels as discovered.
      const disc = (pool: string, d: Record<string, string>) => (pool === 'fixtures' ? '' : canon(d));
      const ourActive = ours.activeTargets.map((t) => ({
        url: t.scrapeUrl,
        labels: canon(t.labels),
        disc: disc(t.scrapePool, t.discoveredLabels),
        pool: t.scrapePool,
        health: t.health,
      }));
      const theirActive = theirs.activeTargets.map((t: any) => ({
        url: t.scrapeUrl,
        labels: canon(t.labels),
        disc: disc(t.scrapePool, t.discoveredLabels),
        pool: t.scrapePool,
        health: t.health,
      }));
      const byKey = (a: { url: string; labels: string }, b: { url: string; labels: string }) =>
        `${a.url}${a.labels}` < `${b.url}${b.labels}` ? -1 : 1;
      expect(ourActive.sort(byKey)).toEqual(theirActive.sort(byKey));
      expect(ours.droppedTargets.map((t) => t.discoveredLabels.__metrics_path__).sort()).toEqual(
        theirs.droppedTargets.map((t: any) => t.discoveredLabels.__metrics_path__).sort(),
      );
      void key;

      // Series: everything Prometheus stored for these jobs, labels included.
      const r = await promGet(`/api/v1/series?match[]=${encodeURIComponent('{job=~".+"}')}`);
      const theirSeries = new Set<string>((r.data as Record<string, string>[]).map(canon));
      const ourSeries = new Set([...app.keys].map((k) => canon(JSON.parse(k))));
      const missing = [...theirSeries].filter((s) => !ourSeries.has(s));
      const extra = [...ourSeries].filter((s) => !theirSeries.has(s));
      expect(missing).toEqual([]);
      expect(extra).toEqual([]);
      expect(ourSeries.size).toBeGreaterThan(900);

      // The same up and sample counts, target by target (a sample limit and a 404 included).
      let compared = 0;
      for (const q of [
        'up',
        'scrape_samples_scraped',
        'scrape_samples_post_metric_relabeling',
        'scrape_series_added',
      ]) {
        const res = await promGet(`/api/v1/query?query=${q}`);
        for (const s of res.data.result as { metric: Record<string, string>; value: [number, string] }[]) {
          const loop = m
            .loops()
            .find((l) => canon(Object.fromEntries(pairs(l.target.labels))) === canon(withoutName(s.metric)));
          expect(loop, `a loop for ${JSON.stringify(s.metric)}`).toBeDefined();
          if (q === 'up') expect(loop!.health === 'up' ? '1' : '0').toBe(s.value[1]);
          const ours = app.last.get(JSON.stringify(JSON.parse(canon(s.metric))));
          // scrape_series_added is 0 on both sides once the first scrape is past.
          expect(`${q} ${ours}`).toBe(`${q} ${s.value[1]}`);
          compared++;
        }
      }
      expect(compared).toBe(4 * 8);
      const limited = m.loops().find((l) => l.target.labels.includes('limited'))!;
      expect(limited.lastError).toBe('sample limit exceeded');
    } finally {
      await m.stop();
    }
  });
});

function pairs(flat: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i], flat[i + 1]]);
  return out;
}

function withoutName(m: Record<string, string>): Record<string, string> {
  const o = { ...m };
  delete o.__name__;
  return o;
}

const haveNodeExporter =
  spawnSync('prometheus-node-exporter', ['--version'], { stdio: 'ignore' }).status === 0;
if (!haveNodeExporter)
  console.log('skipping the node_exporter test: prometheus-node-exporter is not on PATH');

describe.skipIf(!haveNodeExporter)('a real node_exporter', () => {
  it('is scraped without errors, twice, the second time from the cache', async () => {
    const port = await freePort();
    const ne = spawn('prometheus-node-exporter', [`--web.listen-address=127.0.0.1:${port}`], {
      stdio: 'ignore',
    });
    const app = new SeriesSet();
    const m = new ScrapeManager(app);
    try {
      const deadline = Date.now() + 20_000;
      for (;;) {
        try {
          if ((await fetch(`http://127.0.0.1:${port}/metrics`)).ok) break;
        } catch {
          // not up yet
        }
        if (Date.now() > deadline) throw new Error('node_exporter did not start');
        await sleep(100);
      }
      await m.applyConfig(
        parseConfig(`scrape_configs:
  - job_name: node
    scrape_interval: 1s
    static_configs: [{targets: ['127.0.0.1:${port}']}]
`),
      );
      const loop = () => m.loops()[0];
      const end = Date.now() + 15_000;
      while ((loop()?.stats.scrapes ?? 0) < 2 && Date.now() < end) await sleep(100);
      expect(loop().stats.scrapes).toBeGreaterThanOrEqual(2);
      expect(loop().lastError).toBe('');
      expect(loop().health).toBe('up');
      expect(loop().stats.failed).toBe(0);
      expect(app.keys.size).toBeGreaterThan(200);
      expect(loop().cache.metadata.get('node_cpu_seconds_total')?.type).toBe('counter');
    } finally {
      await m.stop();
      ne.kill('SIGTERM');
    }
  });
});
