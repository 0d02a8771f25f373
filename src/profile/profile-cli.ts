/**
 * `promshard profile [--url=http://127.0.0.1:9090] [--seconds=10]`: asks a server (started with
 * --web.enable-admin-api) for V8 CPU profiles of its main thread and every shard worker
 * (POST /api/v1/admin/profile), then prints where the .cpuprofile files are and the top functions per thread.
 */
import { parseArgs, UsageError } from '../bench/args.js';

const USAGE = `usage: promshard profile [--url=URL] [--seconds=N]
  --url       the server (default http://127.0.0.1:9090), started with --web.enable-admin-api
  --seconds   how long to profile, 1..300 (default 10)
The .cpuprofile files (Chrome DevTools, speedscope) are written on the server under <data dir>/profiles/.
`;

export async function profileMain(argv: readonly string[]): Promise<number> {
  let flags: Record<string, unknown>;
  try {
    const p = parseArgs(
      argv,
      {
        url: { kind: 'url', default: 'http://127.0.0.1:9090', help: '' },
        seconds: { kind: 'number', default: 10, min: 0.1, max: 300, help: '' },
        help: { kind: 'bool', help: '' },
      },
      'profile',
    );
    if (p.positional.length > 0) throw new UsageError(`profile: unexpected argument ${p.positional[0]}`);
    flags = p.flags;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`promshard ${e.message}\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  if (flags.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const seconds = flags.seconds as number;
  process.stderr.write(`profiling ${flags.url} for ${seconds} s...\n`);
  try {
    const res = await fetch(`${flags.url}/api/v1/admin/profile?seconds=${seconds}`, {
      method: 'POST',
      signal: AbortSignal.timeout((seconds + 60) * 1000),
    });
    const body = (await res.json()) as {
      status: string;
      error?: string;
      data?: { dir: string; summary: string; threads: { thread: string; file: string }[] };
    };
    if (body.status !== 'success' || body.data === undefined) {
      process.stderr.write(`promshard profile: ${res.status} ${body.error ?? ''}\n`);
      return 1;
    }
    process.stdout.write(`profiles in ${body.data.dir} (on the server):\n`);
    for (const t of body.data.threads) process.stdout.write(`  ${t.thread.padEnd(10)} ${t.file}\n`);
    process.stdout.write(`\n${body.data.summary}`);
    return 0;
  } catch (e) {
    process.stderr.write(`promshard profile: ${(e as Error).message}\n`);
    return 1;
  }
}
