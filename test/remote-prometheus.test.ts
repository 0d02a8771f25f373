// A real Prometheus 2.42 remote-writes what it scrapes to us, and another federates from us.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/http/app.js';
import { federateRoutes } from '../src/http/federate.js';
import { remoteReadRoutes } from '../src/remote/read-handler.js';
import { remoteWriteRoutes } from '../src/remote/write-handler.js';
import { labelsFromObject, labelsKey } from '../src/shared/labels.js';
import { FakeEngine, FakeStorage } from './support/http-fakes.js';
import { type PromProc, startPrometheus, waitFor, which } from './support/prometheus-proc.js';

const havePrometheus = which('prometheus') !== null;
if (!havePrometheus) console.log('skipping real-Prometheus tests: `prometheus` is not on PATH');

interface Matrix {
  metric: Record<string, string>;
  values: [number, string][];
}

describe.skipIf(!havePrometheus)('with a real Prometheus 2.42', () => {
  let storage: FakeStorage;
  let app: FastifyInstance;
  let base: string;
  let sender: PromProc | undefined;
  let federator: PromProc | undefined;
  let reader: PromProc | undefined;

  beforeAll(async () => {
    storage = new FakeStorage();
    app = buildApp({
      queryable: storage,
      engine: new FakeEngine(storage),
      appendable: storage,
      routes: [
        remoteWriteRoutes({ enabled: true }),
        remoteReadRoutes({ externalLabels: () => labelsFromObject({ from: 'promshard' }) }),
        federateRoutes({ externalLabels: () => labelsFromObject({ from: 'promshard' }) }),
      ],
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await sender?.stop();
    await federator?.stop();
    await reader?.stop();
    await app?.close();
  });

  it('receives everything a Prometheus remote-writes while it scrapes itself', async () => {
    sender = await startPrometheus(
      (port) => `
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: prom
    static_configs:
      - targets: ['127.0.0.1:${port}']
remote_write:
  - url: ${base}/api/v1/write
    queue_config:
      batch_send_deadline: 500ms
      min_backoff: 100ms
`,
    );
    const up = [{ type: '=' as const, name: '__name__', value: 'up' }];
    const newest = await waitFor(
      async () => {
        const s = await storage.select(up, 0, Date.now() + 60_000);
        return s.length > 0 && s[0].t.length >= 5 ? s[0].t[s[0].t.length - 1] : undefined;
      },
      60_000,
      'five scrapes of up to arrive',
    );
    // Everything Prometheus stored up to the newest timestamp we have must be here, sample for sample.
    const res = await fetch(
      `${sender.url}/api/v1/query?query=${encodeURIComponent('{job="prom"}[1h]')}&time=${newest / 1000}`,
    );
    const body = (await res.json()) as { data: { result: Matrix[] } };
    const theirs = body.data.result;
    expect(theirs.length).toBeGreaterThan(100);
    let samples = 0;
    let missing = 0;
    for (const s of theirs) {
      const labels = labelsFromObject(s.metric);
      const ours = await storage.select(
        labels.map((l) => ({ type: '=' as const, name: l.name, value: l.value })),
        0,
        newest,
      );
      const mine = ours.find((o) => labelsKey(o.labels) === labelsKey(labels));
      const have = new Map<number, number>();
      if (mine) for (let i = 0; i < mine.t.length; i++) have.set(mine.t[i], mine.v[i]);
      for (const [t, v] of s.values) {
        samples++;
        const ms = Math.round(t * 1000);
        if (!have.has(ms)) missing++;
        else if (v !== 'NaN') expect(String(have.get(ms))).toBe(String(Number(v)));
      }
    }
    console.log(
      `remote write from Prometheus 2.42: ${theirs.length} series, ${samples} samples compared, ${missing} missing`,
    );
    expect(samples).toBeGreaterThan(500);
    expect(missing).toBe(0);
  });

  it('is federated by a Prometheus', async () => {
    federator = await startPrometheus(`
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: federate
    honor_labels: true
    metrics_path: /federate
    params:
      'match[]': ['{job="prom"}']
    static_configs:
      - targets: ['${base.replace('http://', '')}']
`);
    const fed = await (await fetch(`${base}/federate?match[]=${encodeURIComponent('{job="prom"}')}`)).text();
    const ourSeries = fed.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
    expect(ourSeries).toBeGreaterThan(100);
    const got = await waitFor(
      async () => {
        const r = (await (
          await fetch(
            `${federator!.url}/api/v1/query?query=${encodeURIComponent('count({job="prom",from="promshard"})')}`,
          )
        ).json()) as { data: { result: { value: [number, string] }[] } };
        const n = r.data.result.length > 0 ? Number(r.data.result[0].value[1]) : 0;
        return n >= ourSeries - 20 ? n : undefined;
      },
      30_000,
      'the federating Prometheus to hold our series',
    );
    console.log(`federation: we served ${ourSeries} series, the federating Prometheus holds ${got}`);
    const up = (await (
      await fetch(`${federator!.url}/api/v1/query?query=${encodeURIComponent('up{job="prom"}')}`)
    ).json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    expect(up.data.result[0].metric.from).toBe('promshard');
    // The federation target itself is up.
    const self = (await (await fetch(`${federator!.url}/api/v1/query?query=up{job="federate"}`)).json()) as {
      data: { result: { value: [number, string] }[] };
    };
    expect(self.data.result[0].value[1]).toBe('1');
  });

  it('is read by a Prometheus through remote_read', async () => {
    reader = await startPrometheus(`
global:
  scrape_interval: 1h
remote_read:
  - url: ${base}/api/v1/read
    read_recent: true
`);
    const r = (await (
      await fetch(`${reader.url}/api/v1/query?query=${encodeURIComponent('count({job="prom"})')}`)
    ).json()) as {
      status: string;
      data: { result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    expect(r.status).toBe('success');
    const n = Number(r.data.result[0]?.value[1] ?? 0);
    const ours = await storage.series(
      [[{ type: '=', name: 'job', value: 'prom' }]],
      Date.now() - 300_000,
      Date.now(),
    );
    console.log(
      `remote read: a Prometheus 2.42 reading from us counts ${n} series of job="prom" (we hold ${ours.length})`,
    );
    expect(n).toBeGreaterThan(100);
    const up = (await (
      await fetch(`${reader.url}/api/v1/query?query=${encodeURIComponent('up{job="prom"}')}`)
    ).json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    expect(up.data.result[0].metric.from).toBe('promshard');
    expect(up.data.result[0].value[1]).toBe('1');
  });
});
