// Remote-write ingestion into a running server, promshard and Prometheus 2.42 in the same run.
//   node dist/bench/run.js remote-write [--series=100000] [--per-request=2000] [--in-flight=4] [--rounds=10]
//                                       [--targets=promshard,prometheus] [--shards=N]
// A load generator in another process (remote-write-loadgen.js) pre-encodes the requests: one new sample
// per series per round (15 s apart), 4 requests in flight. Reported per server: samples/s over the
// timed rounds, samples per CPU-second of the server process (utime+stime of all its threads from
// /proc/<pid>/stat), resident memory before and at peak (VmHWM), and resident bytes per series.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

function arg(args: string[], k: string, d: string): string {
  const a = args.find((x) => x.startsWith(`--${k}=`));
  return a === undefined ? d : a.slice(k.length + 3);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 (1-based); after the comm field they are at 11 and 12.
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function memKiB(pid: number, key: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

async function waitReady(url: string, proc: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited early:\n${log()}`);
    try {
      if ((await fetch(`${url}/-/ready`)).status === 200) return;
    } catch {}
    if (Date.now() > deadline) throw new Error(`server not ready:\n${log()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface Result {
  target: string;
  samples: number;
  wallS: number;
  samplesPerS: number;
  cpuS: number;
  samplesPerCpuS: number;
  rssBeforeMiB: number;
  rssPeakMiB: number;
  rssAfterMiB: number;
  bytesPerSeries: number;
  errors: number;
  firstError: string;
  roundMs: number[];
}

async function runOne(target: 'promshard' | 'prometheus', args: string[]): Promise<Result> {
  const series = Number(arg(args, 'series', '100000'));
  const perRequest = Number(arg(args, 'per-request', '2000'));
  const inFlight = Number(arg(args, 'in-flight', '4'));
  const rounds = Number(arg(args, 'rounds', '10'));
  const shards = arg(args, 'shards', String(os.availableParallelism()));
  const dir = mkdtempSync(path.join(os.tmpdir(), `promshard-rwbench-${target}-`));
  const cfg = path.join(dir, 'config.yml');
  writeFileSync(cfg, 'global:\n  scrape_interval: 15s\n');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const common = [
    `--config.file=${cfg}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--web.enable-remote-write-receiver',
  ];
  const proc =
    target === 'promshard'
      ? spawn(
          process.execPath,
          [path.join(root, 'dist', 'src', 'cli.js'), ...common, `--storage.tsdb.shards=${shards}`],
          {
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        )
      : spawn('prometheus', common, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout?.on('data', (d) => {
    log = (log + d).slice(-20_000);
  });
  proc.stderr?.on('data', (d) => {
    log = (log + d).slice(-20_000);
  });
  try {
    await waitReady(url, proc, () => log);
    const t0 = Date.now() - rounds * 15_000;
    const gen = spawn(
      process.execPath,
      [
        path.join(here, 'remote-write-loadgen.js'),
        `--url=${url}/api/v1/write`,
        `--series=${series}`,
        `--per-request=${perRequest}`,
        `--in-flight=${inFlight}`,
        `--rounds=${rounds}`,
        `--t0=${t0}`,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const lines = createInterface({ input: gen.stdout! });
    const it = lines[Symbol.asyncIterator]();
    const ready = JSON.parse((await it.next()).value as string) as { requests: number; bytes: number };
    const pid = proc.pid!;
    await new Promise((r) => setTimeout(r, 1000));
    const rssBefore = memKiB(pid, 'VmRSS');
    const cpu0 = cpuSeconds(pid);
    const w0 = performance.now();
    gen.stdin!.write('go\n');
    const done = JSON.parse((await it.next()).value as string) as {
      totalMs: number;
      roundMs: number[];
      errors: number;
      firstError: string;
    };
    const wallS = (performance.now() - w0) / 1000;
    const cpuS = cpuSeconds(pid) - cpu0;
    const rssPeak = memKiB(pid, 'VmHWM');
    const rssAfter = memKiB(pid, 'VmRSS');
    gen.stdin!.end();
    const samples = series * rounds;
    console.log(
      `${target}: ${ready.requests} requests (${(ready.bytes / 1048576).toFixed(1)} MiB snappy), load sent in ${(done.totalMs / 1000).toFixed(2)} s`,
    );
    return {
      target,
      samples,
      wallS,
      samplesPerS: samples / (done.totalMs / 1000),
      cpuS,
      samplesPerCpuS: samples / cpuS,
      rssBeforeMiB: rssBefore / 1024,
      rssPeakMiB: rssPeak / 1024,
      rssAfterMiB: rssAfter / 1024,
      bytesPerSeries: ((rssAfter - rssBefore) * 1024) / series,
      errors: done.errors,
      firstError: done.firstError,
      roundMs: done.roundMs.map((x) => Math.round(x)),
    };
  } finally {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
    if (proc.exitCode === null) proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

export default async function run(args: string[]): Promise<void> {
  const targets = arg(args, 'targets', 'promshard,prometheus').split(',') as ('promshard' | 'prometheus')[];
  const results: Result[] = [];
  for (const t of targets) {
    if (t === 'prometheus') {
      try {
        execFileSync('which', ['prometheus']);
      } catch {
        console.log('prometheus is not on PATH: skipping it');
        continue;
      }
    }
    results.push(await runOne(t, args));
  }
  console.log(
    'target      samples   samples/s  CPU-s  samples/CPU-s  RSS before  RSS peak  RSS after  RSS bytes/series  errors',
  );
  for (const r of results) {
    console.log(
      `${r.target.padEnd(10)} ${String(r.samples).padStart(8)} ${Math.round(r.samplesPerS).toString().padStart(11)} ${r.cpuS
        .toFixed(2)
        .padStart(
          6,
        )} ${Math.round(r.samplesPerCpuS).toString().padStart(14)} ${r.rssBeforeMiB.toFixed(0).padStart(7)} MiB ${r.rssPeakMiB
        .toFixed(0)
        .padStart(
          5,
        )} MiB ${r.rssAfterMiB.toFixed(0).padStart(6)} MiB ${Math.round(r.bytesPerSeries).toString().padStart(17)} ${r.errors}${r.firstError ? ` (${r.firstError})` : ''}`,
    );
  }
  const p = results.find((r) => r.target === 'promshard');
  const q = results.find((r) => r.target === 'prometheus');
  if (p && q) {
    console.log(
      `promshard / prometheus: samples per CPU-second x${(p.samplesPerCpuS / q.samplesPerCpuS).toFixed(2)} (target >= 1.5), RSS per series x${(p.bytesPerSeries / q.bytesPerSeries).toFixed(2)} (target <= 0.5)`,
    );
  }
  console.log(JSON.stringify(results));
}
