#!/usr/bin/env node
// The `promshard` command: the server, with Prometheus' flag names (src/server/flags.ts).
import { FlagError, helpText, parseFlags } from './server/flags.js';
import { createLogger } from './server/log.js';

async function main(argv: string[]): Promise<number> {
  // Subcommands (src/bench/cli.ts, src/profile/): the bench suite, the live shard view, CPU profiles.
  if (argv[0] === 'bench') return (await import('./bench/cli.js')).benchMain(argv.slice(1));
  if (argv[0] === 'top') return (await import('./profile/top.js')).topMain(argv.slice(1));
  if (argv[0] === 'profile') return (await import('./profile/profile-cli.js')).profileMain(argv.slice(1));
  let parsed: ReturnType<typeof parseFlags>;
  try {
    parsed = parseFlags(argv);
  } catch (e) {
    if (e instanceof FlagError) {
      process.stderr.write(`promshard: error: ${e.message}, try --help\n`);
      return 2;
    }
    throw e;
  }
  if (parsed.kind === 'help') {
    process.stdout.write(helpText());
    return 0;
  }
  const { run, version } = await import('./server/main.js');
  if (parsed.kind === 'version') {
    process.stdout.write(
      `promshard, version ${version()}\n  node version:     ${process.version}\n  platform:         ${process.platform}/${process.arch}\n`,
    );
    return 0;
  }
  const flags = parsed.flags;
  const log = createLogger(flags.logLevel, flags.logFormat);
  log.info('Starting promshard', { version: version(), node: process.version });
  return run(flags, log);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Worker threads and sockets are closed by now; exit even if a stray handle lingers.
    setTimeout(() => process.exit(code), 2000).unref();
  },
  (e: unknown) => {
    process.stderr.write(`promshard: fatal: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
