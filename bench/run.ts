// The benchmark dispatcher: `node dist/bench/run.js <name> [args...]` imports dist/bench/<name>.bench.js
// and awaits its default export with the remaining arguments; `--list` lists the benchmarks.
// (`npm run bench -- <name> [args...]` does the same.) Build first: `npm run build`.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const SUFFIX = '.bench.js';

function available(): string[] {
  return readdirSync(here)
    .filter((f) => f.endsWith(SUFFIX))
    .map((f) => f.slice(0, -SUFFIX.length))
    .sort();
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h') {
    console.log(
      `usage: node dist/bench/run.js <name> [args...] | --list\nbenchmarks: ${available().join(', ')}`,
    );
    return name ? 0 : 2;
  }
  if (name === '--list') {
    for (const b of available()) console.log(b);
    return 0;
  }
  if (!/^[A-Za-z0-9._-]+$/.test(name) || !available().includes(name)) {
    console.error(`unknown benchmark "${name}"; available: ${available().join(', ') || '(none built)'}`);
    return 2;
  }
  const mod = (await import(pathToFileURL(join(here, name + SUFFIX)).href)) as {
    default?: (args: string[]) => Promise<void>;
  };
  if (typeof mod.default !== 'function') {
    console.error(`${name}${SUFFIX} has no default export function run(args)`);
    return 2;
  }
  await mod.default(args);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err);
    process.exitCode = 1;
  },
);
