// `promshard bench`: every command refuses bad arguments with a clear message and exit code 2; --list;
// a short ingest scenario against a real promshard (started by the bench) gives the documented JSON shape.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../src/bench/args.js';
import { BUILTIN_QUERIES, parseQueryFile } from '../src/bench/query-loadgen.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist', 'src', 'cli.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'promshard-bench-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(args: string[], timeout = 60_000) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const badQueries = path.join(tmp, 'bad-queries.txt');
writeFileSync(badQueries, 'instant up\nnonsense here\n');

const BAD: [string[], RegExp][] = [
  [['bench'], /which benchmark/],
  [['bench', 'nosuch'], /no benchmark matches "nosuch"/],
  [['bench', '(unclosed'], /invalid filter/],
  [['bench', '--bogus'], /unknown flag --bogus/],
  [['bench', '--list', 'ingest'], /--list takes no benchmark name/],
  [['bench', 'ingest', 'query'], /one scenario or filter at a time/],
  [['bench', 'ingest', '--series=abc'], /--series must be an integer, got "abc"/],
  [['bench', 'ingest', '--series=0'], /--series must be >= 1/],
  [['bench', 'ingest', '--series'], /--series needs a value/],
  [['bench', 'ingest', '--churn=2'], /--churn must be <= 1/],
  [['bench', 'ingest', '--duration=soon'], /invalid duration "soon"/],
  [['bench', 'ingest', '--duration=2h'], /--duration must be <= 3600/],
  [['bench', 'ingest', '--url=ftp://x'], /--url must be an http\(s\) URL/],
  [['bench', 'ingest', '--url=not a url'], /--url is not a URL/],
  [['bench', 'ingest', '--compare=influxdb'], /--compare must be one of prometheus/],
  [
    ['bench', 'ingest', '--compare=prometheus', '--url=http://127.0.0.1:1'],
    /--url and --compare exclude each other/,
  ],
  [
    ['bench', 'ingest', '--url=http://127.0.0.1:1', '--shards=2'],
    /--shards applies to the promshard started here/,
  ],
  [['bench', 'ingest', '--targets=5'], /unknown flag --targets/],
  [['bench', 'ingest', '--', '--x'], /arguments after -- are for micro-benchmarks/],
  [['bench', 'query', '--query-concurrency=0'], /--query-concurrency must be >= 1/],
  [['bench', 'query', '--queries=/nonexistent/q.txt'], /cannot read --queries/],
  [['bench', 'query', `--queries=${badQueries}`], /bad-queries.txt:2: expected "instant <expr>"/],
  [['bench', 'query', '--series=10'], /unknown flag --series/],
  [['bench', 'mixed', '--concurrency=-1'], /--concurrency must be >= 1/],
  [['bench', 'mixed', '--prefill=maybe'], /--prefill takes true or false/],
  [['bench', 'scrape', '--targets=0'], /--targets must be >= 1/],
  [['bench', 'scrape', '--scrape-interval=fast'], /invalid duration "fast"/],
  [['bench', 'scrape', '--url=http://127.0.0.1:1'], /with --url, give --sd-file/],
  [['bench', 'scrape', '--sd-file=/tmp/x.json'], /--sd-file is for --url/],
  [['bench', 'micro/native', '--series=1'], /unknown flag --series/],
  [['top', '--bogus'], /unknown flag --bogus/],
  [['top', '--interval=0s'], /--interval must be between 100ms and 1h/],
  [['top', '--url=gopher://x'], /--url must be http\(s\)/],
  [['top', '--count=x'], /--count must be a positive integer/],
  [['top', 'extra'], /unexpected argument "extra"/],
  [['profile', '--seconds=0'], /--seconds must be >= 0.1/],
  [['profile', '--seconds=1000'], /--seconds must be <= 300/],
  [['profile', '--nope'], /unknown flag --nope/],
];

describe('bad arguments', () => {
  for (const [args, message] of BAD) {
    it(`${args.join(' ')} -> exit 2`, () => {
      const r = run(args);
      expect(r.stderr).toMatch(message);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
    });
  }
});

describe('--compare prometheus without prometheus installed', () => {
  it('says so and exits 2', () => {
    const r = spawnSync(process.execPath, [cli, 'bench', 'ingest', '--compare=prometheus', '--duration=1s'], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, PATH: tmp },
    });
    expect(r.stderr).toMatch(/--compare prometheus needs the prometheus binary \(2\.42\) on PATH/);
    expect(r.status).toBe(2);
  });
});

describe('micro-benchmark statistics capture', () => {
  it('records every tinybench task of a module run with the preload', () => {
    const script = path.join(tmp, 'tiny.bench.mjs');
    const tinybench = pathToFileURL(path.join(root, 'node_modules', 'tinybench', 'dist', 'index.js')).href;
    writeFileSync(
      script,
      `import { Bench } from ${JSON.stringify(tinybench)};
const b = new Bench({ name: 'tiny', time: 20, warmupTime: 5 });
b.add('sum', () => { let x = 0; for (let i = 0; i < 100; i++) x += i; return x; });
b.add('sqrt', () => Math.sqrt(Math.random()));
await b.run();
`,
    );
    const capture = path.join(tmp, 'captured.json');
    const hook = pathToFileURL(path.join(root, 'dist', 'src', 'bench', 'tinybench-capture.js')).href;
    const r = spawnSync(process.execPath, ['--import', hook, script], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, PROMSHARD_BENCH_CAPTURE: capture },
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const tasks = JSON.parse(readFileSync(capture, 'utf8'));
    expect(tasks.map((t: { task: string }) => t.task)).toEqual(['sum', 'sqrt']);
    for (const t of tasks) {
      expect(t.bench).toBe('tiny');
      expect(t.p50).toBeGreaterThan(0);
      expect(t.p99).toBeGreaterThanOrEqual(t.p50);
      expect(t.samples).toBeGreaterThan(0);
    }
  });
});

describe('bench --list', () => {
  it('lists the scenarios and the micro-benchmark modules', () => {
    const r = run(['bench', '--list', '--json']);
    expect(r.code).toBe(0);
    const names = JSON.parse(r.stdout) as { name: string; kind: string }[];
    for (const s of ['ingest', 'query', 'mixed', 'scrape'])
      expect(names).toContainEqual(expect.objectContaining({ name: s, kind: 'scenario' }));
    expect(names.some((n) => n.name === 'micro/native' && n.kind === 'micro')).toBe(true);
  });
});

describe('query files', () => {
  it('parses instant and range lines with names and comments', () => {
    const q = parseQueryFile('# mix\nlight: instant up\n\nrange 1h 30s sum(rate(x[5m]))\n', 'q.txt');
    expect(q).toEqual([
      { name: 'light', kind: 'instant', expr: 'up' },
      { name: 'q2', kind: 'range', expr: 'sum(rate(x[5m]))', rangeS: 3600, stepS: 30 },
    ]);
    expect(() => parseQueryFile('range 1h 0s up', 'q.txt')).toThrow(UsageError);
    expect(() => parseQueryFile('# nothing\n', 'q.txt')).toThrow(/no queries/);
    expect(BUILTIN_QUERIES.some((x) => x.kind === 'range' && x.weight === 'heavy')).toBe(true);
    expect(BUILTIN_QUERIES.some((x) => x.kind === 'instant' && x.weight === 'light')).toBe(true);
  });
});

describe('ingest scenario', () => {
  it('runs a short load against a promshard it starts and reports the JSON shape', () => {
    const out = path.join(tmp, 'results');
    const r = run(
      [
        'bench',
        'ingest',
        '--series=2000',
        '--per-request=500',
        '--duration=2s',
        '--shards=2',
        '--json',
        '--quiet',
        `--out=${out}`,
      ],
      120_000,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res.machine).toEqual(
      expect.objectContaining({
        cpus: expect.any(Number),
        memoryBytes: expect.any(Number),
        node: process.version,
      }),
    );
    expect(res.machine.loadAverage).toHaveLength(3);
    const t = res.scenarios[0].targets[0];
    expect(res.scenarios[0].name).toBe('ingest');
    expect(t.target).toBe('promshard');
    expect(t.shards).toBe(2);
    expect(t.ingest.errors).toBe(0);
    expect(t.ingest.samplesAccepted).toBeGreaterThan(0);
    expect(t.ingest.samplesAccepted).toBe(t.ingest.samplesSent);
    expect(t.ingest.requestMs.p99).toBeGreaterThan(0);
    expect(t.server.cpuSeconds).toBeGreaterThan(0);
    expect(t.server.diskBytes).toBeGreaterThan(0);
    const files = readdirSync(out);
    const json = files.find((f) => f.endsWith('-ingest.json'));
    const md = files.find((f) => f.endsWith('-ingest.md'));
    expect(json).toBeDefined();
    expect(md).toBeDefined();
    expect(JSON.parse(readFileSync(path.join(out, json!), 'utf8')).scenarios[0].name).toBe('ingest');
    expect(readFileSync(path.join(out, md!), 'utf8')).toMatch(
      /\| ingest \| promshard \| samples accepted per second \|/,
    );
  });
});
