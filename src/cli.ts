#!/usr/bin/env node
// The `promshard` command. The server's flags follow Prometheus' names; subcommands come with their issues.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './shared/package-root.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

const HELP = `usage: promshard [<flags>] [<command>]

A Prometheus-compatible monitoring server: sharded TSDB, PromQL, scraping, remote write.

Flags:
  -h, --help                 Show this help.
      --version              Show the version.
`;

function main(argv: string[]): number {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(HELP);
    return 0;
  }
  if (argv.includes('--version')) {
    process.stdout.write(`promshard, version ${version()} (node ${process.version})\n`);
    return 0;
  }
  process.stderr.write(`promshard: unknown arguments: ${argv.join(' ')}\n`);
  return 2;
}

process.exitCode = main(process.argv.slice(2));
