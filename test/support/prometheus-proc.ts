// Runs the real Prometheus 2.42 on loopback for comparison tests.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export function which(cmd: string): string | null {
  try {
    return execFileSync('which', [cmd], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
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

export interface PromProc {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  readonly proc: ChildProcess;
  log(): string;
  /** SIGTERM; removes the directory unless keepDir. */
  stop(keepDir?: boolean): Promise<void>;
}

export async function waitFor<T>(
  fn: () => Promise<T | undefined | false>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts Prometheus with the YAML config (given its own port); `setup` may fill the data dir first. */
export async function startPrometheus(
  configYaml: string | ((port: number) => string),
  extraArgs: string[] = [],
  setup?: (dataDir: string) => void,
  reuse?: { dir: string; port: number },
): Promise<PromProc> {
  const dir = reuse?.dir ?? mkdtempSync(path.join(os.tmpdir(), 'promshard-prom-'));
  const cfg = path.join(dir, 'prometheus.yml');
  const data = path.join(dir, 'data');
  setup?.(data);
  const port = reuse?.port ?? (await freePort());
  writeFileSync(cfg, typeof configYaml === 'string' ? configYaml : configYaml(port));
  let out = '';
  const proc = spawn(
    'prometheus',
    [
      `--config.file=${cfg}`,
      `--storage.tsdb.path=${data}`,
      `--web.listen-address=127.0.0.1:${port}`,
      ...extraArgs,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  proc.stdout?.on('data', (d) => {
    out += d;
  });
  proc.stderr?.on('data', (d) => {
    out += d;
  });
  const url = `http://127.0.0.1:${port}`;
  const p: PromProc = {
    port,
    url,
    dir,
    proc,
    log: () => out,
    stop: async (keepDir = false) => {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (proc.exitCode === null) proc.kill('SIGKILL');
      }
      if (!keepDir) rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor(async () => (await fetch(`${url}/-/ready`)).status === 200, 30_000, 'prometheus ready');
  } catch (e) {
    await p.stop();
    throw new Error(`${(e as Error).message}\n${out.slice(-2000)}`);
  }
  return p;
}
