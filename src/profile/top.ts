/**
 * `promshard top`: a live terminal view of a server's shards, like top(1), read over plain HTTP from
 * /api/v1/status/shards (so it works against a remote server).
 *   promshard top [--url=http://127.0.0.1:9090] [--interval=1s] [--once] [--count=N]
 * Keys: q or Ctrl-C quits.
 */
import type { ShardsStatus } from './shard-status.js';

export class UsageError extends Error {}

export interface TopArgs {
  url: string;
  intervalMs: number;
  once: boolean;
  count: number;
}

export const TOP_USAGE = `usage: promshard top [--url=URL] [--interval=DURATION] [--once] [--count=N]
  --url        the server (default http://127.0.0.1:9090)
  --interval   refresh period, e.g. 1s, 500ms (default 1s)
  --once       print one frame and exit (no screen clearing)
  --count      exit after N frames
`;

function parseDurationMs(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(s);
  if (!m) throw new UsageError(`invalid duration ${JSON.stringify(s)} (e.g. 1s, 500ms)`);
  const n = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
  if (!(n >= 100 && n <= 3_600_000))
    throw new UsageError(`--interval must be between 100ms and 1h, got ${s}`);
  return n;
}

export function parseTopArgs(argv: readonly string[]): TopArgs | 'help' {
  const out: TopArgs = { url: 'http://127.0.0.1:9090', intervalMs: 1000, once: false, count: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') return 'help';
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(a);
    if (!m) throw new UsageError(`unexpected argument ${JSON.stringify(a)}`);
    const [, name, inline] = m;
    if (name === 'once') {
      if (inline !== undefined) throw new UsageError('--once takes no value');
      out.once = true;
      continue;
    }
    if (!['url', 'interval', 'count'].includes(name)) throw new UsageError(`unknown flag --${name}`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    switch (name) {
      case 'url': {
        let u: URL;
        try {
          u = new URL(value);
        } catch {
          throw new UsageError(`invalid --url ${JSON.stringify(value)}`);
        }
        if (u.protocol !== 'http:' && u.protocol !== 'https:')
          throw new UsageError(`--url must be http(s), got ${JSON.stringify(value)}`);
        out.url = value.replace(/\/+$/, '');
        break;
      }
      case 'interval':
        out.intervalMs = parseDurationMs(value);
        break;
      case 'count': {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 1)
          throw new UsageError(`--count must be a positive integer, got ${value}`);
        out.count = n;
        break;
      }
      default:
        throw new UsageError(`unknown flag --${name}`);
    }
  }
  return out;
}

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return `${n >= 100 || u === 0 ? n.toFixed(0) : n.toFixed(1)}${units[u]}`;
}

const num = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number | null) => (n === null ? '-' : n < 10 ? n.toFixed(2) : n.toFixed(1));
const pct = (n: number | null) => (n === null ? '-' : (n * 100).toFixed(0));
const ratio = (n: number | null) => (n === null ? '-' : `${n.toFixed(2)}x`);

/** One screen of figures (plain text, no escape codes). */
export function renderTop(s: ShardsStatus, url: string): string {
  const t = s.totals;
  const lines: string[] = [];
  const clock = new Date(s.time).toISOString().slice(11, 19);
  lines.push(
    `promshard top - ${url}  ${clock} UTC  ${s.shardCount} shard${s.shardCount === 1 ? '' : 's'}  window ${s.windowSeconds.toFixed(1)} s`,
  );
  lines.push(
    `Series ${num(t.series)}  samples/s ${num(t.samplesPerSecond)}  appended ${num(t.samplesAppended)}  queue ${t.queueDepth}  WAL ${bytes(t.walBytes)}  head chunks ${num(t.headChunks)}  blocks ${t.blocks} (${bytes(t.blockBytes)})`,
  );
  lines.push(
    `Append latency ms  p50 ${ms(t.appendLatencyMs.p50)}  p90 ${ms(t.appendLatencyMs.p90)}  p99 ${ms(t.appendLatencyMs.p99)}  mean ${ms(t.appendLatencyMs.mean)}   main thread ELU ${pct(s.mainThread.eventLoopUtilization)} %  RSS ${bytes(s.mainThread.rssBytes)}  heap ${bytes(s.mainThread.heapUsedBytes)}`,
  );
  lines.push(
    `Skew (max/mean)  samples/s ${ratio(s.skew.samplesPerSecond.maxOverMean)}  ELU ${ratio(s.skew.eventLoopUtilization.maxOverMean)}  series ${ratio(s.skew.series.maxOverMean)}   hot shard: ${s.skew.hotShard === null ? 'none' : `${s.skew.hotShard} (${s.skew.reason})`}`,
  );
  lines.push('');
  const header = [
    ['SHARD', 5],
    ['SERIES', 10],
    ['SAMPLES/S', 11],
    ['BATCH/S', 8],
    ['P50ms', 7],
    ['P99ms', 7],
    ['QUEUE', 6],
    ['ELU%', 5],
    ['GC%', 5],
    ['WAL', 9],
    ['CHUNKS', 10],
    ['BLOCKS', 7],
    ['COMPACT', 8],
    ['REJECTED', 9],
  ] as const;
  lines.push(header.map(([h, w]) => h.padStart(w)).join(' '));
  for (const sh of s.shards) {
    const r = sh.rejected;
    const rejected =
      r.outOfOrder + r.duplicateTimestamp + r.outOfBounds + r.tooFarInFuture + r.invalidSamples;
    const cells = [
      String(sh.shard) + (s.skew.hotShard === sh.shard ? '*' : ''),
      num(sh.series),
      num(sh.samplesPerSecond),
      sh.batchesPerSecond.toFixed(1),
      ms(sh.appendLatencyMs.p50),
      ms(sh.appendLatencyMs.p99),
      String(sh.queueDepth),
      pct(sh.eventLoopUtilization),
      (sh.gcFraction * 100).toFixed(1),
      bytes(sh.walBytes),
      num(sh.headChunks),
      String(sh.blocks),
      String(sh.compactions),
      num(rejected),
    ];
    lines.push(cells.map((c, i) => c.padStart(header[i][1])).join(' '));
  }
  return `${lines.join('\n')}\n`;
}

export async function fetchShards(url: string, timeoutMs = 5000): Promise<ShardsStatus> {
  const res = await fetch(`${url}/api/v1/status/shards`, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let body: { status?: string; data?: ShardsStatus; error?: string };
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${url}/api/v1/status/shards answered ${res.status}, not JSON: ${text.slice(0, 200)}`);
  }
  if (res.status !== 200 || body.status !== 'success' || body.data === undefined)
    throw new Error(
      `${url}/api/v1/status/shards answered ${res.status}: ${body.error ?? text.slice(0, 200)}`,
    );
  return body.data;
}

/** The `promshard top` command; returns the exit code. */
export async function topMain(argv: readonly string[]): Promise<number> {
  let args: TopArgs | 'help';
  try {
    args = parseTopArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`promshard top: error: ${e.message}\n${TOP_USAGE}`);
      return 2;
    }
    throw e;
  }
  if (args === 'help') {
    process.stdout.write(TOP_USAGE);
    return 0;
  }
  if (args.once) {
    try {
      process.stdout.write(renderTop(await fetchShards(args.url), args.url));
      return 0;
    } catch (e) {
      process.stderr.write(`promshard top: ${(e as Error).message}\n`);
      return 1;
    }
  }
  const tty = process.stdout.isTTY === true;
  let stop = false;
  let wake: (() => void) | null = null;
  const quit = () => {
    stop = true;
    wake?.();
  };
  process.once('SIGINT', quit);
  if (tty && process.stdin.isTTY) {
    process.stdin.setRawMode(true);
    process.stdin.resume();
    process.stdin.on('data', (d) => {
      const k = d.toString();
      if (k === 'q' || k === '\u0003') quit();
    });
  }
  let frames = 0;
  let failures = 0;
  try {
    while (!stop) {
      let frame: string;
      try {
        frame = renderTop(await fetchShards(args.url), args.url);
        failures = 0;
      } catch (e) {
        failures++;
        frame = `promshard top - ${args.url}: ${(e as Error).message} (retrying)\n`;
      }
      process.stdout.write(tty ? `\x1b[H\x1b[2J${frame}` : `${frame}\n`);
      frames++;
      if (args.count > 0 && frames >= args.count) break;
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, args.intervalMs);
      });
    }
  } finally {
    process.off('SIGINT', quit);
    if (tty && process.stdin.isTTY) {
      process.stdin.setRawMode(false);
      process.stdin.pause();
    }
  }
  return failures > 0 && args.count > 0 ? 1 : 0;
}
