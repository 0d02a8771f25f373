/**
 * Servers under test: a promshard (`node dist/src/cli.js`) or a Prometheus 2.42 (`prometheus` on PATH),
 * each in its own process on a temp directory and a free loopback port, so their CPU (all threads, from
 * /proc/<pid>/stat), memory and bytes on disk are measured apart from the load generator's.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../shared/package-root.js';
import { cpuSeconds, dirBytes, memBytes } from './machine.js';

export type ServerKind = 'promshard' | 'prometheus';

export interface ManagedServer {
  readonly kind: ServerKind;
  readonly url: string;
  readonly pid: number;
  readonly dataDir: string;
  readonly dir: string;
  cpuSeconds(): number;
  rssBytes(): number;
  peakRssBytes(): number;
  diskBytes(): number;
  log(): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** The path of `prometheus`, or null when it is not installed. */
export function findPrometheus(): string | null {
  for (const p of (process.env.PATH ?? '').split(path.delimiter)) {
    const f = path.join(p, 'prometheus');
    try {
      execFileSync(f, ['--version'], { stdio: 'ignore', timeout: 10_000 });
      return f;
    } catch {}
  }
  return null;
}

export interface StartOptions {
  /** prometheus.yml contents (default: no scrape jobs, so only the load under test is measured). */
  configYaml?: string;
  /** promshard only: --storage.tsdb.shards. */
  shards?: number;
  /** --web.enable-admin-api (default true: the profile endpoint needs it). */
  adminApi?: boolean;
  /** Extra flags. */
  extraArgs?: string[];
}

export async function startServer(kind: ServerKind, opts: StartOptions = {}): Promise<ManagedServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `promshard-bench-${kind}-`));
  const dataDir = path.join(dir, 'data');
  mkdirSync(dataDir);
  const cfg = path.join(dir, 'prometheus.yml');
  writeFileSync(cfg, opts.configYaml ?? 'global:\n  scrape_interval: 15s\n');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const common = [
    `--config.file=${cfg}`,
    `--storage.tsdb.path=${dataDir}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--web.enable-remote-write-receiver',
    ...(opts.adminApi === false ? [] : ['--web.enable-admin-api']),
    ...(opts.extraArgs ?? []),
  ];
  let proc: ChildProcess;
  if (kind === 'promshard') {
    const args = [path.join(packageRoot(), 'dist', 'src', 'cli.js'), ...common];
    if (opts.shards !== undefined) args.push(`--storage.tsdb.shards=${opts.shards}`);
    proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } else {
    const bin = findPrometheus();
    if (bin === null) throw new Error('prometheus is not installed (not on PATH)');
    proc = spawn(bin, common, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  }
  let log = '';
  const keep = (d: Buffer) => {
    log = (log + d.toString()).slice(-20_000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const pid = proc.pid;
  if (pid === undefined) throw new Error(`cannot start ${kind}`);
  const server: ManagedServer = {
    kind,
    url,
    pid,
    dataDir,
    dir,
    cpuSeconds: () => cpuSeconds(pid),
    rssBytes: () => memBytes(pid, 'VmRSS'),
    peakRssBytes: () => memBytes(pid, 'VmHWM'),
    diskBytes: () => dirBytes(dataDir),
    log: () => log,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
        if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      await server.stop();
      throw new Error(`${kind} exited while starting:\n${log}`);
    }
    try {
      if ((await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2000) })).status === 200) break;
    } catch {}
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`${kind} not ready after 120 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return server;
}
