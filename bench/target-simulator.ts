/**
 * A target simulator for scrape load tests: one process serving K targets on loopback ports (one port per
 * target, so that every target has its own instance label), each exposing M series in text format 0.0.4
 * whose values move like a real exporter's: counters that grow at their own rate (sometimes reset), gauges
 * that wander, and histograms (11 buckets + sum + count) whose buckets grow together. Bodies are rebuilt per
 * request from pre-rendered series text, so the simulator itself stays cheap.
 *
 * As a program: `node dist/bench/target-simulator.js --targets=1000 --series=1000 [--port=20000]
 * [--sd-file=targets.json]` prints (and writes) a file_sd JSON of its targets and serves until killed.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

export interface SimulatorOptions {
  targets: number;
  series: number;
  /** First port; targets use consecutive ports. 0 picks free ports. */
  port?: number;
  host?: string;
  /** Serve gzip when the client accepts it (Prometheus and promshard do). Default true. */
  gzip?: boolean;
}

export interface Simulator {
  readonly addresses: string[];
  /** Requests served so far. */
  readonly requests: () => number;
  close(): Promise<void>;
}

const BUCKETS = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '+Inf'];

/** The pre-rendered part of one target's exposition: one entry per sample line. */
interface Template {
  head: string[];
  /** 0 counter, 1 gauge, 2 histogram bucket/count/sum share the family's observation counter. */
  kind: Uint8Array;
  /** Per line: a rate (counter per second), or a bucket fraction, or a gauge phase. */
  param: Float64Array;
  /** Per line: index of its histogram family (for buckets, count and sum). */
  family: Int32Array;
  lines: string[];
}

function buildTemplate(target: number, series: number): Template {
  const lines: string[] = [];
  const kind: number[] = [];
  const param: number[] = [];
  const family: number[] = [];
  const head: string[] = [];
  let fam = 0;
  let i = 0;
  // Roughly: 50% counters, 30% gauges, 20% histogram lines.
  while (lines.length < series) {
    const group = i % 10;
    if (group < 5) {
      const name = `sim_requests_total`;
      if (i === 0) head.push(`# HELP ${name} Requests handled.\n# TYPE ${name} counter\n`);
      lines.push(`${name}{path="/api/v${i % 7}/item/${i}",code="${i % 13 === 0 ? 500 : 200}",method="GET"} `);
      kind.push(0);
      param.push(((target * 7919 + i * 104729) % 1000) / 100 + 0.01);
      family.push(-1);
    } else if (group < 8) {
      lines.push(`sim_queue_depth{queue="q${i}",shard="${i % 16}"} `);
      kind.push(1);
      param.push((target * 31 + i) % 360);
      family.push(-1);
    } else {
      const base = `sim_request_duration_seconds`;
      const lbl = `handler="/h${fam}"`;
      for (let b = 0; b < BUCKETS.length && lines.length < series; b++) {
        lines.push(`${base}_bucket{${lbl},le="${BUCKETS[b]}"} `);
        kind.push(2);
        param.push(b === BUCKETS.length - 1 ? 1 : 1 - Math.exp(-(b + 1) / 3));
        family.push(fam);
      }
      if (lines.length < series) {
        lines.push(`${base}_count{${lbl}} `);
        kind.push(2);
        param.push(1);
        family.push(fam);
      }
      if (lines.length < series) {
        lines.push(`${base}_sum{${lbl}} `);
        kind.push(3);
        param.push(0.12);
        family.push(fam);
      }
      fam++;
      i += 1;
      continue;
    }
    i++;
  }
  head.push('# TYPE sim_queue_depth gauge\n# TYPE sim_request_duration_seconds histogram\n');
  return {
    head,
    lines,
    kind: Uint8Array.from(kind),
    param: Float64Array.from(param),
    family: Int32Array.from(family),
  };
}

/** Renders the body of one target at time `now` (ms). */
function render(t: Template, target: number, now: number, started: number): string {
  const secs = (now - started) / 1000;
  // Counters reset once an hour per target (a restart), at a target-specific moment.
  const sinceReset = (secs + target * 37) % 3600;
  let out = t.head.join('');
  const n = t.lines.length;
  for (let i = 0; i < n; i++) {
    let v: number;
    switch (t.kind[i]) {
      case 0:
        v = Math.floor(t.param[i] * sinceReset);
        break;
      case 1:
        v = Math.round(50 + 40 * Math.sin((secs / 60 + t.param[i]) % 360));
        break;
      case 2:
        v = Math.floor((5 + ((t.family[i] * 13) % 7)) * sinceReset * t.param[i]);
        break;
      default:
        v = Math.round(t.param[i] * (5 + ((t.family[i] * 13) % 7)) * sinceReset * 1000) / 1000;
    }
    out += `${t.lines[i]}${v}\n`;
  }
  return out;
}

export async function startSimulator(opts: SimulatorOptions): Promise<Simulator> {
  const host = opts.host ?? '127.0.0.1';
  const gzip = opts.gzip ?? true;
  const started = Date.now();
  const servers: Server[] = [];
  const addresses: string[] = [];
  let requests = 0;
  for (let k = 0; k < opts.targets; k++) {
    const tpl = buildTemplate(k, opts.series);
    const server = createServer((req, res) => {
      requests++;
      if (!(req.url ?? '').startsWith('/metrics')) {
        res.writeHead(404);
        res.end();
        return;
      }
      const body = render(tpl, k, Date.now(), started);
      const headers: Record<string, string> = { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' };
      if (gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
        headers['content-encoding'] = 'gzip';
        res.writeHead(200, headers);
        res.end(gzipSync(body, { level: 1 }));
      } else {
        res.writeHead(200, headers);
        res.end(body);
      }
    });
    server.keepAliveTimeout = 120_000;
    const port = opts.port ? opts.port + k : 0;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    servers.push(server);
    addresses.push(`${host}:${(server.address() as AddressInfo).port}`);
  }
  return {
    addresses,
    requests: () => requests,
    async close() {
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((r) => {
              s.closeAllConnections();
              s.close(() => r());
            }),
        ),
      );
    },
  };
}

/** The file_sd JSON for a simulator's targets. */
export function fileSdJson(addresses: string[]): string {
  return JSON.stringify([{ targets: addresses, labels: { simulated: 'true' } }]);
}

function arg(args: string[], name: string, dflt: string): string {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : dflt;
}

export default async function run(args: string[]): Promise<void> {
  const sim = await startSimulator({
    targets: Number(arg(args, 'targets', '10')),
    series: Number(arg(args, 'series', '100')),
    port: Number(arg(args, 'port', '0')),
    gzip: arg(args, 'gzip', 'true') !== 'false',
  });
  const sd = fileSdJson(sim.addresses);
  const file = arg(args, 'sd-file', '');
  if (file) writeFileSync(file, sd);
  process.stdout.write(`${sd}\n`);
  process.on('SIGTERM', () => void sim.close().then(() => process.exit(0)));
  process.on('SIGINT', () => void sim.close().then(() => process.exit(0)));
}

if (process.argv[1]?.endsWith('target-simulator.js')) {
  await run(process.argv.slice(2));
}
