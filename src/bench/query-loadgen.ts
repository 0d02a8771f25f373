/**
 * The query load generator of `promshard bench query` and `mixed`, its own process like the ingest one:
 * arguments as JSON in argv[2]; {"ready":true}, waits for a stdin line, then `concurrency` clients each run
 * the query mix in turn (round robin, each client starting at its own offset) until the duration ends;
 * {"progress":...} each second, {"done":...} with every latency.
 *
 * A query file has one query per line: `instant <expr>` or `range <duration> <step> <expr>` (e.g.
 * `range 1h 60s sum(rate(x[5m]))`), optionally prefixed by `name:` on its own (`heavy_sum: instant ...`);
 * blank lines and lines starting with # are skipped. Range queries end at the evaluation time (now).
 */
import { Pool } from 'undici';
import { parseSeconds, UsageError } from './args.js';
import { serveAsLoadChild } from './child.js';

export interface BenchQuery {
  name: string;
  kind: 'instant' | 'range';
  expr: string;
  rangeS?: number;
  stepS?: number;
  /** Light (one or a few series) or heavy (many series); only for the report. */
  weight?: 'light' | 'heavy';
}

export interface QueryLoadArgs {
  url: string;
  concurrency: number;
  durationS: number;
  queries: BenchQuery[];
}

export interface QueryDone {
  seconds: number;
  total: number;
  errors: number;
  firstError: string;
  perQuery: { name: string; kind: string; ms: number[]; errors: number; firstError: string }[];
}

/** The built-in mix over the ingest scenario's data (bench_metric_0..99, 100 series per instance). */
export const BUILTIN_QUERIES: BenchQuery[] = [
  { name: 'one_series', kind: 'instant', weight: 'light', expr: 'bench_metric_1{instance="host-0:9100"}' },
  {
    name: 'rate_one_instance',
    kind: 'instant',
    weight: 'light',
    expr: 'sum(rate({__name__=~"bench_metric_.+", instance="host-1:9100"}[5m]))',
  },
  { name: 'sum_one_metric', kind: 'instant', weight: 'light', expr: 'sum(bench_metric_2)' },
  { name: 'topk_one_metric', kind: 'instant', weight: 'heavy', expr: 'topk(5, rate(bench_metric_3[5m]))' },
  { name: 'count_all', kind: 'instant', weight: 'heavy', expr: 'count({job="promshard_bench"})' },
  {
    name: 'range_one_series',
    kind: 'range',
    weight: 'light',
    rangeS: 3600,
    stepS: 60,
    expr: 'rate(bench_metric_4{instance="host-2:9100"}[5m])',
  },
  {
    name: 'range_sum_rate',
    kind: 'range',
    weight: 'heavy',
    rangeS: 3600,
    stepS: 60,
    expr: 'sum by (job) (rate(bench_metric_5[5m]))',
  },
  {
    name: 'range_quantile_all',
    kind: 'range',
    weight: 'heavy',
    rangeS: 3600,
    stepS: 300,
    expr: 'quantile(0.9, rate({__name__=~"bench_metric_1.", job="promshard_bench"}[5m]))',
  },
];

export function parseQueryFile(text: string, file: string): BenchQuery[] {
  const out: BenchQuery[] = [];
  text.split('\n').forEach((raw, i) => {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `${file}:${i + 1}`;
    let name = `q${out.length + 1}`;
    const named = /^([A-Za-z_][A-Za-z0-9_]*):\s+(.*)$/.exec(line);
    if (named) {
      name = named[1];
      line = named[2];
    }
    const m = /^(instant|range)\s+(.*)$/.exec(line);
    if (!m) throw new UsageError(`${where}: expected "instant <expr>" or "range <range> <step> <expr>"`);
    if (m[1] === 'instant') {
      if (m[2].trim() === '') throw new UsageError(`${where}: empty expression`);
      out.push({ name, kind: 'instant', expr: m[2].trim() });
      return;
    }
    const r = /^(\S+)\s+(\S+)\s+(.+)$/.exec(m[2]);
    if (!r) throw new UsageError(`${where}: expected "range <range> <step> <expr>"`);
    let rangeS: number;
    let stepS: number;
    try {
      rangeS = parseSeconds(r[1]);
      stepS = parseSeconds(r[2]);
    } catch (e) {
      throw new UsageError(`${where}: ${(e as Error).message}`);
    }
    if (!(stepS > 0) || !(rangeS > 0) || rangeS / stepS > 11_000)
      throw new UsageError(`${where}: range and step must be > 0 with at most 11,000 points`);
    out.push({ name, kind: 'range', expr: r[3].trim(), rangeS, stepS });
  });
  if (out.length === 0) throw new UsageError(`${file}: no queries`);
  return out;
}

export async function runQueryLoad(
  a: QueryLoadArgs,
  onProgress: (p: { elapsedS: number; total: number; errors: number }) => void,
  waitGo: () => Promise<void>,
): Promise<QueryDone> {
  await waitGo();
  const u = new URL(a.url);
  const base = u.pathname.replace(/\/+$/, '');
  const pool = new Pool(u.origin, { connections: a.concurrency, pipelining: 1 });
  const perQuery = a.queries.map((q) => ({
    name: q.name,
    kind: q.kind,
    ms: [] as number[],
    errors: 0,
    firstError: '',
  }));
  let total = 0;
  let errors = 0;
  let firstError = '';
  const started = performance.now();
  const deadline = started + a.durationS * 1000;
  const ticker = setInterval(
    () => onProgress({ elapsedS: Math.round((performance.now() - started) / 100) / 10, total, errors }),
    1000,
  );
  const client = async (c: number) => {
    let k = c % a.queries.length;
    while (performance.now() < deadline) {
      const q = a.queries[k];
      const stat = perQuery[k];
      k = (k + 1) % a.queries.length;
      const now = Date.now() / 1000;
      const params = new URLSearchParams({ query: q.expr });
      let path: string;
      if (q.kind === 'instant') {
        params.set('time', now.toFixed(3));
        path = `${base}/api/v1/query`;
      } else {
        params.set('start', (now - (q.rangeS ?? 3600)).toFixed(3));
        params.set('end', now.toFixed(3));
        params.set('step', String(q.stepS ?? 60));
        path = `${base}/api/v1/query_range`;
      }
      const rs = performance.now();
      let err = '';
      try {
        const res = await pool.request({
          path,
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: params.toString(),
        });
        const text = await res.body.text();
        if (res.statusCode !== 200) err = `${res.statusCode} ${text.slice(0, 300)}`;
        else if (!text.startsWith('{"status":"success"')) err = `not success: ${text.slice(0, 300)}`;
      } catch (e) {
        err = (e as Error).message;
      }
      total++;
      if (err === '') stat.ms.push(Math.round((performance.now() - rs) * 1000) / 1000);
      else {
        errors++;
        stat.errors++;
        if (stat.firstError === '') stat.firstError = err;
        if (firstError === '') firstError = `${q.name}: ${err}`;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: a.concurrency }, (_, c) => client(c)));
  } finally {
    clearInterval(ticker);
    await pool.close();
  }
  return { seconds: (performance.now() - started) / 1000, total, errors, firstError, perQuery };
}

if (process.argv[1]?.endsWith('query-loadgen.js')) serveAsLoadChild(runQueryLoad);
