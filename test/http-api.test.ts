import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/http/app.js';
import type { AdminStorage } from '../src/http/providers.js';
import { BAD, encodeBad } from './support/http-bad-requests.js';
import { FakeEngine, type FakeStorage } from './support/http-fakes.js';
import { haveFixture, loadStorage, referenceCases } from './support/http-fixture.js';

let app: FastifyInstance;
let adminApp: FastifyInstance;
let base: string;
let adminBase: string;
let storage: FakeStorage;
let tmp: string;
const adminCalls: string[] = [];
let quitCalls = 0;
let reloadCalls = 0;

const T0 = 1_699_999_200; // seconds

async function get(
  url: string,
  init?: RequestInit,
): Promise<{
  status: number;
  body: string; // biome-ignore lint/suspicious/noExplicitAny: parsed JSON answers of many shapes
  json: () => any;
  headers: Headers;
}> {
  const res = await fetch(url, init);
  const body = await res.text();
  return { status: res.status, body, json: () => JSON.parse(body), headers: res.headers };
}

function qs(params: Record<string, string | number | string[]>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (Array.isArray(v)) for (const x of v) u.append(k, x);
    else u.append(k, String(v));
  }
  return u.toString();
}

beforeAll(async () => {
  storage = loadStorage();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'promshard-http-'));
  app = buildApp({
    queryable: storage,
    engine: new FakeEngine(storage),
    appendable: storage,
    flags: { 'query.lookback-delta': '5m', 'storage.tsdb.path': 'data/' },
    configYaml: () => 'global:\n  scrape_interval: 15s\n',
    registry: new Registry(),
    now: () => (T0 + 1000) * 1000,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const admin: AdminStorage = {
    async snapshot(dir, withHead) {
      adminCalls.push(`snapshot ${path.relative(tmp, dir).split(path.sep)[0]} ${withHead}`);
    },
    async deleteSeries(ms, mint, maxt) {
      adminCalls.push(`delete ${JSON.stringify(ms)} ${mint} ${maxt}`);
    },
    async cleanTombstones() {
      adminCalls.push('clean');
    },
  };
  adminApp = buildApp({
    queryable: storage,
    engine: new FakeEngine(storage),
    enableAdminApi: true,
    enableLifecycle: true,
    admin,
    storagePath: tmp,
    reload: async () => {
      reloadCalls++;
      if (reloadCalls === 2) throw new Error('bad config');
    },
    quit: () => {
      quitCalls++;
    },
  });
  await adminApp.listen({ host: '127.0.0.1', port: 0 });
  adminBase = `http://127.0.0.1:${(adminApp.server.address() as { port: number }).port}`;
});

afterAll(async () => {
  await app?.close();
  await adminApp?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('reference answers of Prometheus 2.42 (fixture block)', () => {
  const cases = referenceCases();
  if (!haveFixture) console.log('skipping reference cases: ../shared/fixtures is absent');
  // The fake engine evaluates bare selectors only; the series/labels endpoints go through the app as is.
  const supported = cases.filter(
    (c) =>
      !c.request.path.startsWith('/api/v1/query') ||
      /^[a-z_]*(\{[^}]*\})?$/.test(String(c.request.params.query)),
  );
  it.skipIf(!haveFixture)('has endpoint cases to run', () => {
    expect(supported.length).toBeGreaterThanOrEqual(9);
  });
  for (const c of supported) {
    it(`${c.request.path} ${JSON.stringify(c.request.params)}`, async () => {
      const params = Object.fromEntries(Object.entries(c.request.params).map(([k, v]) => [k, String(v)]));
      const r = await get(`${base}${c.request.path}?${qs(params)}`);
      expect(r.status).toBe(c.status);
      expect(r.json()).toEqual(c.response);
      // The same through a url-encoded POST where Prometheus accepts POST.
      if (!c.request.path.includes('/label/')) {
        const p = await get(`${base}${c.request.path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: qs(params),
        });
        expect(p.status).toBe(c.status);
        expect(p.json()).toEqual(c.response);
      }
    });
  }
});

describe('bad requests', () => {
  it.each(BAD)('%s -> %d', async (url, status, message) => {
    const r = await get(base + encodeBad(url));
    expect(r.status).toBe(status);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    const j = r.json();
    expect(j.status).toBe('error');
    expect(j.errorType).toBe(status === 400 ? 'bad_data' : 'execution');
    expect(j.error).toBe(message);
  });

  it('checks query_exemplars syntax with the PromQL parser', async () => {
    const r = await get(`${base}/api/v1/query_exemplars?${qs({ query: 'up{' })}`);
    expect(r.status).toBe(400);
    expect(r.json().error).toMatch(/^1:\d+: parse error: /);
    const ok = await get(`${base}/api/v1/query_exemplars?${qs({ query: 'rate(up[5m])' })}`);
    expect(ok.json()).toEqual({ status: 'success', data: [] });
  });

  it('answers plain 404 and 405 like Go', async () => {
    let r = await get(`${base}/api/v1/nonexistent`);
    expect([r.status, r.body]).toEqual([404, '404 page not found\n']);
    r = await get(`${base}/api/v1/query?query=1`, { method: 'PUT' });
    expect(r.status).toBe(405);
    r = await get(`${base}/api/v1/label/job/values`, { method: 'POST' });
    expect(r.status).toBe(405);
    r = await get(`${base}/api/v1/series`, { method: 'DELETE' });
    expect(r.status).toBe(500);
    expect(r.json()).toEqual({ status: 'error', errorType: 'internal', error: 'not implemented' });
  });

  it('times out a slow query with 503 timeout', async () => {
    const r = await get(`${base}/api/v1/query?query=__slow__&timeout=0.2`);
    expect(r.status).toBe(503);
    expect(r.json().errorType).toBe('timeout');
  });

  it('still holds all data and answers after 50+ bad requests and hostile bodies', async () => {
    const before = storage.numSamples;
    let count = 0;
    for (const [url] of BAD) {
      await get(base + encodeBad(url));
      count++;
    }
    const hostile: [string, RequestInit][] = [
      [
        '/api/v1/query',
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"up"}' },
      ],
      [
        '/api/v1/query',
        {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: '%%%=%zz&query=%',
        },
      ],
      [
        '/api/v1/query',
        {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'x'.repeat(11 * 1024 * 1024),
        },
      ],
      ['/api/v1/series', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '\u0000\u0001' }],
      ['/api/v1/query_range?query=up&start=1e308&end=1e308&step=1', {}],
      ['/api/v1/query_range?query=up&start=-1e20&end=1e20&step=1e15', {}],
      ['/api/v1/label/%ff%fe/values', {}],
      [`/api/v1/label/${'a'.repeat(70000)}/values`, {}],
      ['/api/v1/query?query=%E0%A4%A', {}],
      ['/api/v1/admin/tsdb/snapshot', { method: 'POST' }],
    ];
    for (const [url, init] of hostile) {
      const r = await get(base + url, init);
      expect(r.status).toBeGreaterThanOrEqual(200);
      expect(r.status).toBeLessThan(600);
      count++;
    }
    expect(count).toBeGreaterThanOrEqual(50);
    expect(storage.numSamples).toBe(before);
    const all = await get(`${base}/api/v1/series?${qs({ 'match[]': '{job="fixture"}' })}`);
    expect(all.status).toBe(200);
    expect(all.json().data.length).toBe(storage.numSeries);
    const q = await get(`${base}/api/v1/query?${qs({ query: '{job="fixture"}', time: T0 + 1000 })}`);
    expect(q.status).toBe(200);
    expect(q.json().data.result.length).toBeGreaterThan(0);
  });
});

describe('request handling', () => {
  it('takes the form body before the URL, like Go FormValue', async () => {
    const r = await get(`${base}/api/v1/query?query=nomatch&time=${T0 + 1000}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: qs({ query: '{job="fixture"}' }),
    });
    expect(r.status).toBe(200);
    expect(r.json().data.result.length).toBeGreaterThan(0);
  });

  it('accepts a 1 MB GET query string', async () => {
    const alternatives = Array.from({ length: 125_000 }, (_, i) => `x${i}`).join('|');
    const query = `{job=~"${alternatives}|fixture"}`;
    expect(query.length).toBeGreaterThan(700_000);
    const url = `${base}/api/v1/query?${qs({ query, time: T0 + 1000 })}`;
    expect(url.length).toBeGreaterThan(1_000_000);
    const r = await get(url);
    expect(r.status).toBe(200);
    expect(r.json().data.result.length).toBeGreaterThan(0);
  });

  it('defaults the instant query time to now', async () => {
    const r = await get(`${base}/api/v1/query?${qs({ query: '{job="fixture"}' })}`);
    expect(r.json().data.result[0].value[0]).toBe(T0 + 1000);
  });

  it('answers CORS preflight and headers', async () => {
    const r = await get(`${base}/api/v1/query`, { method: 'OPTIONS', headers: { origin: 'http://grafana' } });
    expect(r.status).toBe(204);
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('serves status pages', async () => {
    expect((await get(`${base}/api/v1/status/config`)).json()).toEqual({
      status: 'success',
      data: { yaml: 'global:\n  scrape_interval: 15s\n' },
    });
    expect((await get(`${base}/api/v1/status/flags`)).json().data['query.lookback-delta']).toBe('5m');
    const rt = (await get(`${base}/api/v1/status/runtimeinfo`)).json().data;
    expect(rt.CWD).toBe(process.cwd());
    expect(Object.keys((await get(`${base}/api/v1/status/buildinfo`)).json().data)).toEqual([
      'version',
      'revision',
      'branch',
      'buildUser',
      'buildDate',
      'goVersion',
    ]);
    const tsdb = (await get(`${base}/api/v1/status/tsdb`)).json().data;
    expect(tsdb.headStats.numSeries).toBe(storage.numSeries);
    expect(tsdb.seriesCountByMetricName.length).toBeGreaterThan(0);
    expect((await get(`${base}/api/v1/targets`)).json()).toEqual({
      status: 'success',
      data: { activeTargets: [], droppedTargets: [] },
    });
    expect((await get(`${base}/api/v1/targets/metadata`)).json()).toEqual({ status: 'success', data: [] });
    expect((await get(`${base}/api/v1/metadata`)).json()).toEqual({ status: 'success', data: {} });
  });

  it('answers the rules/alerts endpoints as 2.42 without rules', async () => {
    expect((await get(`${base}/api/v1/rules`)).json()).toEqual({ status: 'success', data: { groups: [] } });
    expect((await get(`${base}/api/v1/alerts`)).json()).toEqual({ status: 'success', data: { alerts: [] } });
    expect((await get(`${base}/api/v1/alertmanagers`)).json()).toEqual({
      status: 'success',
      data: { activeAlertmanagers: [], droppedAlertmanagers: [] },
    });
    expect((await get(`${base}/api/v1/rules?type=x`)).json().error).toBe(
      'invalid parameter "type": not supported value "x"',
    );
  });

  it('gzips answers when the client accepts it', async () => {
    const { gunzipSync } = await import('node:zlib');
    const http = await import('node:http');
    const raw = await new Promise<{ enc: string | undefined; body: Buffer }>((resolve, reject) => {
      http
        .get(
          `${base}/api/v1/series?match[]=${encodeURIComponent('{job="fixture"}')}`,
          { headers: { 'accept-encoding': 'gzip' } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () =>
              resolve({ enc: res.headers['content-encoding'], body: Buffer.concat(chunks) }),
            );
          },
        )
        .on('error', reject);
    });
    expect(raw.enc).toBe('gzip');
    expect(JSON.parse(gunzipSync(raw.body).toString()).data.length).toBe(storage.numSeries);
  });

  it('answers health, readiness and disabled lifecycle/admin as 2.42', async () => {
    expect((await get(`${base}/-/healthy`)).status).toBe(200);
    expect((await get(`${base}/-/ready`)).body).toBe('Prometheus Server is Ready.\n');
    const rl = await get(`${base}/-/reload`, { method: 'POST' });
    expect([rl.status, rl.body]).toEqual([403, 'Lifecycle API is not enabled.']);
    expect((await get(`${base}/-/reload`)).status).toBe(405);
    const snap = await get(`${base}/api/v1/admin/tsdb/snapshot`, { method: 'POST' });
    expect(snap.status).toBe(500);
    expect(snap.json()).toEqual({ status: 'error', errorType: 'unavailable', error: 'admin APIs disabled' });
  });

  it('exposes its HTTP metrics', async () => {
    const r = await get(`${base}/metrics`);
    expect(r.status).toBe(200);
    expect(r.body).toMatch(/prometheus_http_requests_total\{code="200",handler="\/api\/v1\/query"\} \d+/);
  });
});

describe('admin and lifecycle when enabled', () => {
  it('snapshots, deletes and cleans through the admin interface', async () => {
    const s = await get(`${adminBase}/api/v1/admin/tsdb/snapshot?skip_head=true`, { method: 'POST' });
    expect(s.status).toBe(200);
    const name = s.json().data.name as string;
    expect(name).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{16}$/);
    expect(adminCalls).toContain(`snapshot ${path.join('snapshots', name).split(path.sep)[0]} false`);
    const bad = await get(`${adminBase}/api/v1/admin/tsdb/snapshot?skip_head=x`, { method: 'POST' });
    expect(bad.json().error).toBe(
      'invalid parameter "skip_head": unable to parse boolean: strconv.ParseBool: parsing "x": invalid syntax',
    );
    const d = await get(
      `${adminBase}/api/v1/admin/tsdb/delete_series?${qs({ 'match[]': 'up', start: 1, end: 2 })}`,
      {
        method: 'POST',
      },
    );
    expect(d.status).toBe(204);
    expect(adminCalls).toContain(
      `delete ${JSON.stringify([{ type: '=', name: '__name__', value: 'up' }])} 1000 2000`,
    );
    expect((await get(`${adminBase}/api/v1/admin/tsdb/delete_series`, { method: 'POST' })).json().error).toBe(
      'no match[] parameter provided',
    );
    expect((await get(`${adminBase}/api/v1/admin/tsdb/clean_tombstones`, { method: 'PUT' })).status).toBe(
      204,
    );
    expect(adminCalls).toContain('clean');
  });

  it('reloads and quits', async () => {
    expect((await get(`${adminBase}/-/reload`, { method: 'POST' })).status).toBe(200);
    const failed = await get(`${adminBase}/-/reload`, { method: 'POST' });
    expect(failed.status).toBe(500);
    expect(failed.body).toContain('bad config');
    const q = await get(`${adminBase}/-/quit`, { method: 'PUT' });
    expect(q.status).toBe(200);
    await new Promise((r) => setImmediate(r));
    expect(quitCalls).toBe(1);
  });
});
