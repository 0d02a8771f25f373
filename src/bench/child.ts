/** Load generators as child processes (JSON lines on stdout, a "go" line on stdin) and progress output. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { packageRoot } from '../shared/package-root.js';

export interface LoadChild<P, D> {
  ready: Promise<void>;
  go(): void;
  done: Promise<D>;
  onProgress(f: (p: P) => void): void;
  kill(): void;
}

/** Starts dist/src/bench/<module>.js with its arguments as JSON. */
export function startLoadChild<P, D>(module: string, args: unknown): LoadChild<P, D> {
  const proc = spawn(
    process.execPath,
    [join(packageRoot(), 'dist', 'src', 'bench', `${module}.js`), JSON.stringify(args)],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  proc.stderr.on('data', (d) => {
    stderr = (stderr + d.toString()).slice(-10_000);
  });
  let progress: (p: P) => void = () => {};
  let readyResolve!: () => void;
  let doneResolve!: (d: D) => void;
  let doneReject!: (e: Error) => void;
  const ready = new Promise<void>((r) => {
    readyResolve = r;
  });
  const done = new Promise<D>((res, rej) => {
    doneResolve = res;
    doneReject = rej;
  });
  const lines = createInterface({ input: proc.stdout });
  lines.on('line', (line) => {
    let m: { ready?: boolean; progress?: P; done?: D };
    try {
      m = JSON.parse(line);
    } catch {
      return;
    }
    if (m.ready) readyResolve();
    else if (m.progress !== undefined) progress(m.progress);
    else if (m.done !== undefined) doneResolve(m.done);
  });
  proc.on('exit', (code) => {
    const err = new Error(`${module} exited with code ${code}: ${stderr.trim()}`);
    doneReject(err);
  });
  // The ready promise must fail too when the child dies first.
  const readyOrDeath = Promise.race([ready, done.then(() => {})]);
  return {
    ready: readyOrDeath,
    go: () => proc.stdin.write('go\n'),
    done,
    onProgress: (f) => {
      progress = f;
    },
    kill: () => {
      if (proc.exitCode === null) proc.kill('SIGKILL');
    },
  };
}

/** Progress on stderr: a bar redrawn in place on a terminal, a line every 10 s otherwise. */
/**
 * The child side of startLoadChild's protocol: reads its arguments from argv, says `ready` when set up,
 * waits for the "go" line on stdin, reports progress, then `done` (or exits 1 with the stack on stderr).
 */
export function serveAsLoadChild<A, P, D>(
  run: (args: A, progress: (p: P) => void, whenReady: () => Promise<void>) => Promise<D>,
): void {
  const args = JSON.parse(process.argv[2] ?? '{}') as A;
  const rl = createInterface({ input: process.stdin });
  const go = new Promise<void>((resolve) => rl.once('line', () => resolve()));
  const write = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
  run(
    args,
    (p) => write({ progress: p }),
    async () => {
      write({ ready: true });
      await go;
    },
  ).then(
    (done) => {
      write({ done });
      rl.close();
    },
    (e: Error) => {
      process.stderr.write(`${e.stack}\n`);
      process.exit(1);
    },
  );
}

export class Progress {
  private lastLine = 0;
  private readonly tty = process.stderr.isTTY === true;

  constructor(
    private readonly label: string,
    private readonly totalS: number,
    private readonly quiet = false,
  ) {}

  update(elapsedS: number, detail: string): void {
    if (this.quiet) return;
    const frac = Math.min(1, this.totalS > 0 ? elapsedS / this.totalS : 0);
    if (this.tty) {
      const w = 30;
      const bar = '#'.repeat(Math.round(frac * w)).padEnd(w, '.');
      process.stderr.write(
        `\r${this.label} [${bar}] ${elapsedS.toFixed(0)}/${this.totalS.toFixed(0)} s  ${detail}\x1b[K`,
      );
    } else if (elapsedS - this.lastLine >= 10) {
      this.lastLine = elapsedS;
      process.stderr.write(`${this.label}: ${elapsedS.toFixed(0)}/${this.totalS.toFixed(0)} s  ${detail}\n`);
    }
  }

  end(): void {
    if (!this.quiet && this.tty) process.stderr.write('\n');
  }
}

export function log(quiet: boolean, msg: string): void {
  if (!quiet) process.stderr.write(`${msg}\n`);
}
