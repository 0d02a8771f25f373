// `promtool query instant|range|series|labels` against our HTTP API (the fixture data in memory, the real
// PromQL engine) give the same output as against a Prometheus 2.42 serving the fixture block.
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/http/app.js';
import { Engine } from '../src/promql/engine.js';
import { fixtureDir, haveFixture, loadStorage } from './support/http-fixture.js';
import { type PromProc, startPrometheus, which } from './support/prometheus-proc.js';

const havePromtool = which('promtool') !== null && which('prometheus') !== null;
if (!havePromtool) console.log('skipping promtool comparison: promtool/prometheus not on PATH');
if (!haveFixture) console.log('skipping promtool comparison: ../shared/fixtures is absent');

const T0 = 1_699_999_200;
const CASES: string[][] = [
  ['instant', '--time', String(T0 + 3000), '{job="fixture"}'],
  ['instant', '--time', String(T0 + 1000), 'count by (job) ({job="fixture"})'],
  ['instant', '--time', String(T0 + 1900), 'increase(fixture_requests_total[10m])'],
  ['instant', '--time', String(T0 + 150), 'sum(fixture_special_values)'],
  ['instant', '--time', String(T0 + 3000), 'fixture_jumps * 2'],
  ['instant', '--time', String(T0 + 3000), 'topk(3, {job="fixture"})'],
  ['instant', '--time', String(T0 + 3000), '"a string"'],
  ['instant', '--time', String(T0 + 3000), 'scalar(fixture_constant_runs)'],
  ['range', '--start', String(T0), '--end', String(T0 + 1620), '--step', '15s', 'fixture_special_values'],
  [
    'range',
    '--start',
    String(T0),
    '--end',
    String(T0 + 6000),
    '--step',
    '300s',
    'rate(fixture_requests_total[5m])',
  ],
  [
    'range',
    '--start',
    String(T0 + 2900),
    '--end',
    String(T0 + 3000),
    '--step',
    '5s',
    'fixture_special_values',
  ],
  ['series', '--match', '{job="fixture"}', '--start', String(T0), '--end', String(T0 + 6000)],
  [
    'series',
    '--match',
    'fixture_requests_total',
    '--match',
    '{shape="negative"}',
    '--start',
    String(T0),
    '--end',
    String(T0 + 6000),
  ],
  ['labels', '--start', String(T0), '--end', String(T0 + 6000), 'shape'],
  ['labels', '--start', String(T0), '--end', String(T0 + 6000), '__name__'],
  [
    'labels',
    '--match',
    'fixture_requests_total',
    '--start',
    String(T0),
    '--end',
    String(T0 + 6000),
    'instance',
  ],
];

describe.skipIf(!havePromtool || !haveFixture)('promtool against promshard and Prometheus 2.42', () => {
  let prom: PromProc;
  let app: FastifyInstance;
  let ours: string;

  beforeAll(async () => {
    prom = await startPrometheus(
      'global:\n  scrape_interval: 1h\n',
      ['--storage.tsdb.retention.time=100y'],
      (data) => {
        mkdirSync(data, { recursive: true });
        cpSync(
          path.join(fixtureDir, '01M86Z9XTRD0SGF6Y09HFAD5T5'),
          path.join(data, '01M86Z9XTRD0SGF6Y09HFAD5T5'),
          {
            recursive: true,
          },
        );
      },
    );
    const storage = loadStorage();
    app = buildApp({ queryable: storage, engine: new Engine(storage) });
    await app.listen({ host: '127.0.0.1', port: 0 });
    ours = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await prom?.stop();
    await app?.close();
  });

  // Asynchronous: our server runs in this process and must keep answering while promtool waits.
  function promtool(server: string, c: string[]): Promise<string> {
    const [cmd, ...rest] = c;
    const flags: string[] = [];
    const args: string[] = [];
    for (let i = 0; i < rest.length; i++) {
      if (rest[i].startsWith('--')) flags.push(`${rest[i]}=${rest[++i]}`);
      else args.push(rest[i]);
    }
    return new Promise((resolve) => {
      execFile(
        'promtool',
        ['query', cmd, ...flags, server, ...args],
        { encoding: 'utf8' },
        (err, stdout, stderr) => {
          resolve(err ? `exit ${err.code}\n${stdout}${stderr}` : stdout);
        },
      );
    });
  }

  for (const c of CASES) {
    it(c.join(' '), async () => {
      const theirs = await promtool(prom.url, c);
      const mine = await promtool(ours, c);
      expect(theirs.length).toBeGreaterThan(0);
      expect(mine).toBe(theirs);
    });
  }
});
