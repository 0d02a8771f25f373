import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import type { TargetsProvider } from '../src/http/providers.js';
import { parseSDFile } from '../src/scrape/file-sd.js';
import { ScrapeManager } from '../src/scrape/manager.js';
import { registerScrapeMetrics } from '../src/scrape/metrics.js';
import { scrapeOffset } from '../src/scrape/target.js';
import {
  type Appendable,
  type AppendOutcome,
  type AppendRequest,
  emptyOutcome,
} from '../src/shared/ingest.js';
import { isStaleNaN } from '../src/shared/storage.js';

class MemoryAppendable implements Appendable {
  readonly series = new Map<string, { t: number[]; v: Float64Array[] }>();
  async append(req: AppendRequest): Promise<AppendOutcome> {
    const o = emptyOutcome();
    for (let i = 0; i < req.series.length; i++) {
      const l = req.series[i];
      let key = '';
      for (let j = 0; j < l.length; j += 2) key += `${l[j]}=${JSON.stringify(l[j + 1])},`;
      let s = this.series.get(key);
      if (!s) {
        s = { t: [], v: [] };
        this.series.set(key, s);
      }
      for (let k = req.sampleStart[i]; k < req.sampleStart[i + 1]; k++) {
        s.t.push(req.t[k]);
        s.v.push(req.v.slice(k, k + 1));
        o.appended++;
      }
    }
    return o;
  }
  find(...parts: string[]) {
    const out = [];
    for (const [key, s] of this.series) if (parts.every((p) => key.includes(p))) out.push({ key, ...s });
    return out;
  }
}

/** Each path /t/<name> serves `<name>_metric 1` plus whatever `extra[name]` says. */
let server: Server;
let port = 0;
const extra: Record<string, string> = {};

beforeAll(async () => {
  server = createServer((req, res) => {
    const name = (req.url ?? '').split('?')[0].split('/').pop() ?? 'x';
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(`# TYPE ${name}_metric gauge\n${name}_metric 1\n${extra[name] ?? ''}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(20);
  }
}

describe('scrape manager', () => {
  it('scrapes static and file-discovered targets and reports them for /api/v1/targets', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'promshard-sd-'));
    const sd = join(dir, 'targets.json');
    writeFileSync(
      sd,
      JSON.stringify([
        { targets: [`127.0.0.1:${port}`], labels: { team: 'a', __metrics_path__: '/t/filea' } },
      ]),
    );
    const app = new MemoryAppendable();
    const m = new ScrapeManager(app, { hostname: 'promshard-host' });
    // The HTTP API's provider interface is implemented as is (checked by the type checker).
    const provider: TargetsProvider = m;
    void provider;
    await m.applyConfig(
      parseConfig(`
scrape_configs:
  - job_name: static
    scrape_interval: 200ms
    scrape_timeout: 200ms
    metrics_path: /t/static
    static_configs: [{targets: ['127.0.0.1:${port}'], labels: {env: dev}}]
  - job_name: files
    scrape_interval: 200ms
    scrape_timeout: 200ms
    file_sd_configs: [{files: ['${dir}/*.json']}]
    relabel_configs: [{regex: __meta_(.*), action: labelmap, replacement: m_$1}]
`),
    );
    try {
      await until(() => m.loops().length === 2 && m.loops().every((l) => l.health === 'up'));
      const { activeTargets, droppedTargets } = m.targets();
      expect(droppedTargets).toEqual([]);
      const st = activeTargets.find((t) => t.scrapePool === 'static')!;
      expect(st).toMatchObject({
        labels: { env: 'dev', instance: `127.0.0.1:${port}`, job: 'static' },
        scrapeUrl: `http://127.0.0.1:${port}/t/static`,
        globalUrl: `http://promshard-host:${port}/t/static`,
        health: 'up',
        lastError: '',
        scrapeInterval: '200ms',
        scrapeTimeout: '200ms',
      });
      expect(st.discoveredLabels).toMatchObject({
        __address__: `127.0.0.1:${port}`,
        __metrics_path__: '/t/static',
        job: 'static',
      });
      const ft = activeTargets.find((t) => t.scrapePool === 'files')!;
      expect(ft.labels).toEqual({ instance: `127.0.0.1:${port}`, job: 'files', team: 'a', m_filepath: sd });
      expect(ft.discoveredLabels.__meta_filepath).toBe(sd);
      expect(app.find('__name__="filea_metric"', 'm_filepath=')).toHaveLength(1);
      expect(m.metadataList().find((x) => x.metric === 'static_metric')).toMatchObject({
        type: 'gauge',
        target: { job: 'static' },
      });
      const tm = m
        .targetMetadata()
        .find((x) => x.target.some((l) => l.name === 'job' && l.value === 'static'))!;
      expect(tm.metadata).toEqual([{ metric: 'static_metric', type: 'gauge', help: '', unit: '' }]);
      expect(m.activeTargets().find((t) => t.scrapePool === 'static')).toMatchObject({
        scrapeIntervalSeconds: 0.2,
        health: 'up',
      });
      expect(m.metadata().filea_metric).toEqual([{ type: 'gauge', help: '', unit: '' }]);

      // A new file target appears; the old one is removed and gets stale markers.
      const tmp = join(dir, 'next.tmp');
      writeFileSync(
        tmp,
        JSON.stringify([{ targets: [`127.0.0.1:${port}`], labels: { __metrics_path__: '/t/fileb' } }]),
      );
      renameSync(tmp, sd);
      await until(() => app.find('__name__="fileb_metric"').length === 1);
      await until(() => {
        const s = app.find('__name__="filea_metric"')[0];
        return isStaleNaN(s.v[s.v.length - 1][0]);
      });
      const up = app.find('__name__="up"', 'team="a"')[0];
      await until(() => isStaleNaN(up.v[up.v.length - 1][0]));
    } finally {
      await m.stop();
    }
  });

  it('refuses a bad reload and keeps scraping; a good reload loses no cycle', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'promshard-reload-'));
    const file = join(dir, 'prometheus.yml');
    const cfg = (rule: string) => `
scrape_configs:
  - job_name: r
    scrape_interval: 300ms
    scrape_timeout: 300ms
    metrics_path: /t/reload
    static_configs: [{targets: ['127.0.0.1:${port}']}]
${rule}
  - job_name: gone
    scrape_interval: 200ms
    scrape_timeout: 200ms
    metrics_path: /t/gone
    static_configs: [{targets: ['127.0.0.1:${port}']}]
`;
    writeFileSync(file, cfg(''));
    const app = new MemoryAppendable();
    const m = new ScrapeManager(app);
    await m.reloadFromFile(file);
    try {
      await until(() => (app.find('__name__="up"', 'job="r"')[0]?.t.length ?? 0) >= 3);
      writeFileSync(file, `${cfg('')}\n  - job_name: r\n`);
      await expect(m.reloadFromFile(file)).rejects.toThrow(/found multiple scrape configs with job name "r"/);
      writeFileSync(file, 'scrape_configs:\n  - job_name: x\n    scrape_interval: nope\n');
      await expect(m.reloadFromFile(file)).rejects.toThrow(/line 3: .*scrape_interval/);
      expect(m.currentConfig?.scrapeConfigs.map((s) => s.jobName)).toEqual(['r', 'gone']);
      const before = app.find('__name__="up"', 'job="r"')[0].t.length;
      await sleep(500);
      expect(app.find('__name__="up"', 'job="r"')[0].t.length).toBeGreaterThan(before);

      // Change job r (a metric relabel rule) and remove job gone.
      writeFileSync(
        file,
        cfg(
          '    metric_relabel_configs: [{source_labels: [__name__], target_label: relabelled, replacement: yes}]',
        ).replace(/\n {2}- job_name: gone[\s\S]*$/, '\n'),
      );
      await m.reloadFromFile(file);
      await until(() => app.find('__name__="reload_metric"', 'relabelled="yes"').length === 1);
      await sleep(600);
      const up = app.find('__name__="up"', 'job="r"')[0];
      const gaps = up.t.slice(1).map((t, i) => t - up.t[i]);
      // Every cycle kept: no gap of two intervals (a lost cycle) around the reload.
      expect(Math.max(...gaps)).toBeLessThan(2 * 300 - 10);
      // The unrelabelled series got a stale marker (the new rule changed its labels).
      const old = app.find('__name__="reload_metric"').filter((s) => !s.key.includes('relabelled'))[0];
      expect(isStaleNaN(old.v[old.v.length - 1][0])).toBe(true);
      // The removed job's series go stale.
      await until(() => {
        const g = app.find('__name__="gone_metric"')[0];
        return isStaleNaN(g.v[g.v.length - 1][0]);
      });
    } finally {
      await m.stop();
    }
  });

  it('hands file-discovered targets over on reload without scraping them twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'promshard-sdreload-'));
    writeFileSync(
      join(dir, 't.json'),
      JSON.stringify([{ targets: [`127.0.0.1:${port}`], labels: { __metrics_path__: '/t/sdr' } }]),
    );
    const cfg = (extra: string) =>
      parseConfig(`
scrape_configs:
  - job_name: sdr
    scrape_interval: 300ms
    scrape_timeout: 300ms
    file_sd_configs: [{files: ['${dir}/*.json']}]
${extra}`);
    const app = new MemoryAppendable();
    const m = new ScrapeManager(app);
    await m.applyConfig(cfg(''));
    try {
      await until(() => (app.find('__name__="up"', 'job="sdr"')[0]?.t.length ?? 0) >= 2);
      await m.applyConfig(cfg('    honor_labels: true\n'));
      expect(m.loops()).toHaveLength(1);
      const up = app.find('__name__="up"', 'job="sdr"')[0];
      const before = up.t.length;
      await sleep(1500);
      // One loop per target: about five scrapes in 1.5 s, not ten.
      expect(up.t.length - before).toBeLessThanOrEqual(7);
      expect(up.t.length - before).toBeGreaterThanOrEqual(3);
      expect(m.loops()).toHaveLength(1);
      // The target was handed over, not stopped: none of its series got a stale marker.
      for (const ser of app.find('job="sdr"')) expect(ser.v.some((v) => isStaleNaN(v[0]))).toBe(false);
    } finally {
      await m.stop();
    }
  });

  it('exposes its figures as prom-client metrics', async () => {
    const app = new MemoryAppendable();
    const m = new ScrapeManager(app);
    const registry = new Registry();
    registerScrapeMetrics(registry, m);
    extra.met = 'met_other 2\n';
    await m.applyConfig(
      parseConfig(`
scrape_configs:
  - job_name: met
    scrape_interval: 200ms
    scrape_timeout: 200ms
    sample_limit: 1
    metrics_path: /t/met
    static_configs: [{targets: ['127.0.0.1:${port}']}]
`),
    );
    try {
      await until(() => m.totals.scrapes >= 2);
      const text = await registry.metrics();
      expect(text).toMatch(/prometheus_target_scrapes_exceeded_sample_limit_total [1-9]/);
      expect(text).toMatch(/prometheus_sd_discovered_targets\{config="met",name="scrape"\} 1/);
      expect(text).toMatch(/promshard_scrapes_failed_total [1-9]/);
      expect(text).toMatch(/promshard_scrape_cache_series 2/);
    } finally {
      await m.stop();
    }
  });

  it('fails every target of a job over target_limit', async () => {
    const app = new MemoryAppendable();
    const m = new ScrapeManager(app);
    await m.applyConfig(
      parseConfig(`
scrape_configs:
  - job_name: lim
    scrape_interval: 200ms
    scrape_timeout: 200ms
    target_limit: 1
    static_configs: [{targets: ['127.0.0.1:${port}', 'localhost:${port}']}]
`),
    );
    try {
      await until(() => m.loops().length === 2 && m.loops().every((l) => l.health === 'down'));
      expect(m.loops()[0].lastError).toBe('target_limit exceeded (number of targets: 2, limit: 1)');
    } finally {
      await m.stop();
    }
  });

  it('keeps scraping other targets on time while one target trickles its body slowly', async () => {
    const slow = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      let i = 0;
      const timer = setInterval(() => {
        res.write(`slow_metric{i="${i}"} ${i}\n`);
        if (++i === 15) {
          clearInterval(timer);
          res.end();
        }
      }, 100);
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    const slowPort = (slow.address() as AddressInfo).port;
    const app = new MemoryAppendable();
    const m = new ScrapeManager(app);
    await m.applyConfig(
      parseConfig(`
scrape_configs:
  - job_name: slow
    scrape_interval: 3s
    scrape_timeout: 3s
    static_configs: [{targets: ['127.0.0.1:${slowPort}']}]
  - job_name: fast
    scrape_interval: 100ms
    scrape_timeout: 100ms
    metrics_path: /t/fast
    static_configs: [{targets: ['127.0.0.1:${port}']}]
`),
    );
    try {
      const slowLoop = () => m.loops().find((l) => l.target.labels.includes('slow'))!;
      await until(() => slowLoop().stats.scrapes >= 1, 10_000);
      expect(slowLoop().health).toBe('up');
      expect(slowLoop().lastScrapeDuration).toBeGreaterThan(1);
      const fast = app.find('__name__="up"', 'job="fast"')[0];
      // While the slow scrape took 1.5 s, the fast target kept scraping (no gap near the slow scrape's length).
      const gaps = fast.t.slice(1).map((t, i) => t - fast.t[i]);
      expect(fast.t.length).toBeGreaterThan(5);
      expect(Math.max(...gaps)).toBeLessThan(1000);
    } finally {
      await m.stop();
      slow.closeAllConnections();
      await new Promise((r) => slow.close(r));
    }
  });

  it('reads file_sd in YAML and refuses bad SD files clearly', () => {
    const groups = parseSDFile(
      "- targets: ['a:1', 'b:2']\n  labels: {x: y}\n- targets: ['c:3']\n",
      '/sd/t.yml',
    );
    expect(groups).toEqual([
      { targets: ['a:1', 'b:2'], labels: { x: 'y', __meta_filepath: '/sd/t.yml' }, source: '/sd/t.yml:0' },
      { targets: ['c:3'], labels: { __meta_filepath: '/sd/t.yml' }, source: '/sd/t.yml:1' },
    ]);
    expect(parseSDFile('', '/sd/empty.yml')).toEqual([]);
    expect(() => parseSDFile('{"targets": []}', '/sd/t.json')).toThrow(/expected a list of target groups/);
    expect(() => parseSDFile('[{"targets": ["a:1"], "labels": {"1x": "y"}}]', '/sd/t.json')).toThrow(
      /not a valid label name/,
    );
    expect(() => parseSDFile('[{"targets": ["http://a:1"]}]', '/sd/t.json')).toThrow(/not a valid hostname/);
    expect(() => parseSDFile('[{"targets": ["a:1"], "extra": 1}]', '/sd/t.json')).toThrow(
      /field extra not found/,
    );
    expect(() => parseSDFile('[{"targets": [', '/sd/t.json')).toThrow();
  });

  it('spreads targets over the interval by their hash, stably', () => {
    const now = 1_700_000_000_123;
    const a = scrapeOffset(123456789n, 10_000, now);
    expect(a).toBeGreaterThanOrEqual(0);
    expect(a).toBeLessThanOrEqual(10_000);
    // Pinned to absolute time: asked a second later, the target keeps the same phase.
    const b = scrapeOffset(123456789n, 10_000, now + 1000);
    expect((now + a) % 10_000).toBe((now + 1000 + b) % 10_000);
    const phases = new Set<number>();
    for (let h = 0n; h < 50n; h++)
      phases.add((now + scrapeOffset(h * 7919n * 104729n, 10_000, now)) % 10_000);
    expect(phases.size).toBe(50);
  });
});
