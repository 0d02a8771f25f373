// remote_write under load across a receiver outage: promshard's sender pointed at a real Prometheus 2.42
// receiver that is stopped while a load generator writes into promshard, then started again after the outage.
//   node dist/bench/run.js remote-outage [--series=100000] [--rounds=30] [--outage=30]
// Reports what promshard ingested, what arrived at Prometheus, what the sender dropped, and how long the
// delivery took after the receiver came back. Needs `prometheus` on PATH.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort, startServer } from '../src/bench/servers.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function arg(args: string[], k: string, d: string): string {
  const a = args.find((x) => x.startsWith(`--${k}=`));
  return a === undefined ? d : a.slice(k.length + 3);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Prometheus restarts on the same data and port, which startServer (a fresh directory each time) does not do. */
async function waitReady(url: string, proc: ChildProcess): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${url}: server exited early`);
    try {
      if ((await fetch(`${url}/-/ready`)).status === 200) return;
    } catch {}
    if (Date.now() > deadline) throw new Error(`${url}: not ready`);
    await sleep(200);
  }
}

function startPrometheus(dir: string, port: number): ChildProcess {
  return spawn(
    'prometheus',
    [
      `--config.file=${path.join(dir, 'prom.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'prom-data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-remote-write-receiver',
    ],
    { stdio: 'ignore' },
  );
}

async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await Promise.race([exited, sleep(30_000)]);
  if (proc.exitCode === null) proc.kill('SIGKILL');
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n'))
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  return sum;
}

async function countAtPrometheus(url: string, at: number): Promise<number> {
  const q = encodeURIComponent('sum(count_over_time({job="remote_write_bench"}[1h]))');
  const r = (await (await fetch(`${url}/api/v1/query?query=${q}&time=${at / 1000}`)).json()) as {
    data?: { result: { value: [number, string] }[] };
  };
  return Number(r.data?.result[0]?.value[1] ?? 0);
}

export default async function run(args: string[]): Promise<void> {
  try {
    execFileSync('which', ['prometheus']);
  } catch {
    console.log('prometheus is not on PATH: remote-outage needs it as the receiver');
    return;
  }
  const series = Number(arg(args, 'series', '100000'));
  const rounds = Number(arg(args, 'rounds', '30'));
  const outageMs = Number(arg(args, 'outage', '30')) * 1000;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'promshard-outage-'));
  const promPort = await freePort();
  const promUrl = `http://127.0.0.1:${promPort}`;
  writeFileSync(path.join(dir, 'prom.yml'), 'global:\n  scrape_interval: 1h\n');
  const ps = await startServer('promshard', {
    configYaml: `global:\n  scrape_interval: 1h\nremote_write:\n  - url: ${promUrl}/api/v1/write\n`,
    adminApi: false,
  });
  const psUrl = ps.url;
  let prom = startPrometheus(dir, promPort);
  try {
    await waitReady(promUrl, prom);
    // Recent timestamps, one 15 s step per round, all within the receiver's head window.
    const t0 = Date.now() - rounds * 15_000;
    const gen = spawn(
      process.execPath,
      [
        path.join(here, 'remote-write-loadgen.js'),
        `--url=${psUrl}/api/v1/write`,
        `--series=${series}`,
        '--per-request=2000',
        '--in-flight=4',
        `--rounds=${rounds}`,
        `--t0=${t0}`,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const it = createInterface({ input: gen.stdout! })[Symbol.asyncIterator]();
    await it.next();
    await stop(prom);
    const down = Date.now();
    console.log(`receiver stopped; writing ${series} series x ${rounds} rounds into promshard`);
    gen.stdin!.write('go\n');
    const done = JSON.parse((await it.next()).value as string) as { totalMs: number; errors: number };
    gen.stdin!.end();
    const ingested = await metric(psUrl, 'prometheus_tsdb_head_samples_appended_total');
    console.log(
      `load sent in ${(done.totalMs / 1000).toFixed(1)} s (${done.errors} errors); promshard appended ${ingested}`,
    );
    await sleep(Math.max(0, down + outageMs - Date.now()));
    prom = startPrometheus(dir, promPort);
    await waitReady(promUrl, prom);
    const up = Date.now();
    console.log(`receiver back after ${((up - down) / 1000).toFixed(1)} s`);
    const want = series * rounds;
    let got = 0;
    const deadline = up + 600_000;
    while (Date.now() < deadline) {
      got = await countAtPrometheus(promUrl, t0 + rounds * 15_000);
      if (got >= want) break;
      await sleep(2000);
    }
    const dropped = await metric(psUrl, 'prometheus_remote_storage_samples_dropped_total');
    const failed = await metric(psUrl, 'prometheus_remote_storage_samples_failed_total');
    console.log(
      `arrived at Prometheus ${got} of ${want} (${((100 * got) / want).toFixed(2)}%), ${((Date.now() - up) / 1000).toFixed(1)} s after it came back; sender dropped ${dropped}, failed ${failed}`,
    );
  } finally {
    await ps.stop();
    await stop(prom);
    rmSync(dir, { recursive: true, force: true });
  }
}
