/**
 * `promshard bench`: one entry to every benchmark.
 *   promshard bench --list
 *   promshard bench <scenario> [scenario flags] [output flags]     ingest | query | mixed | scrape
 *   promshard bench <filter> [output flags] [-- module args]       micro-benchmarks (bench/*.bench.ts) and
 *                                                                  scenarios whose name matches the regex
 * Output: progress on stderr, the summary table (median, p99, spread) on stdout, or the whole result as
 * JSON with --json; saved under bench/results/ as JSON (with the machine's description) and markdown.
 * Bad arguments: a message and exit code 2.
 */
import path from 'node:path';
import { packageRoot } from '../shared/package-root.js';
import { type FlagSpec, type FlagValues, flagHelp, parseArgs, UsageError } from './args.js';
import { machineInfo } from './machine.js';
import { listMicro, type MicroResult, runMicro } from './micro.js';
import { type BenchRun, formatTable, saveRun } from './report.js';
import {
  runScenario,
  SCENARIO_FLAGS,
  SCENARIO_HELP,
  SCENARIOS,
  type ScenarioName,
  type ScenarioResult,
} from './scenarios.js';

const OUTPUT: Record<string, FlagSpec> = {
  list: { kind: 'bool', help: 'list the benchmarks and exit' },
  json: { kind: 'bool', help: 'print the result as JSON on stdout instead of the table' },
  out: { kind: 'string', help: 'directory for the saved results (default bench/results)' },
  save: { kind: 'bool', default: true, help: 'save results (--no-save: do not)' },
  quiet: { kind: 'bool', help: 'no progress output' },
  help: { kind: 'bool', help: 'this help' },
};

function usage(): string {
  const scen = SCENARIOS.map((s) => `  ${s.padEnd(8)} ${SCENARIO_HELP[s]}`).join('\n');
  const common = ['url', 'compare', 'shards', 'duration'];
  const flags = [
    `scenario flags (every scenario):\n${flagHelp(Object.fromEntries(common.map((k) => [k, SCENARIO_FLAGS.ingest[k]])))}`,
    ...SCENARIOS.map(
      (s) =>
        `${s} flags:\n${flagHelp(Object.fromEntries(Object.entries(SCENARIO_FLAGS[s]).filter(([k]) => !common.includes(k) || (k === 'duration' && s !== 'ingest'))))}`,
    ),
  ].join('\n');
  return `usage:
  promshard bench --list
  promshard bench <scenario> [flags]          run one end-to-end scenario
  promshard bench <filter> [flags] [-- args]  run the benchmarks whose name matches the regular expression,
                                             e.g. micro (every micro-benchmark), micro/native, 'micro/(block|promql)'
scenarios:
${scen}
output flags (every command):
${flagHelp(OUTPUT)}
${flags}
Every scenario stops by itself after --duration. Without --url it starts a promshard on a temp dir;
--compare prometheus also starts Prometheus 2.42 and runs the same load on it, then prints ratios.
`;
}

function allNames(): { name: string; kind: 'scenario' | 'micro'; description: string }[] {
  return [
    ...SCENARIOS.map((s) => ({ name: s, kind: 'scenario' as const, description: SCENARIO_HELP[s] })),
    ...listMicro().map((m) => ({ ...m, kind: 'micro' as const })),
  ];
}

function fail(e: unknown): number {
  if (e instanceof UsageError) {
    process.stderr.write(
      `promshard bench: error: ${e.message.replace(/^bench[^:]*: /, '')}\ntry: promshard bench --help\n`,
    );
    return 2;
  }
  throw e;
}

export async function benchMain(argv: readonly string[]): Promise<number> {
  const dd = argv.indexOf('--');
  const own = dd >= 0 ? argv.slice(0, dd) : argv;
  const passthrough = dd >= 0 ? argv.slice(dd + 1) : [];
  const first = own.find((a) => !a.startsWith('-'));
  const scenario = SCENARIOS.includes(first as ScenarioName) ? (first as ScenarioName) : undefined;

  let positional: string[];
  let flags: FlagValues;
  try {
    ({ positional, flags } = parseArgs(
      own,
      { ...OUTPUT, ...(scenario ? SCENARIO_FLAGS[scenario] : {}) },
      scenario ? `bench ${scenario}` : 'bench',
    ));
    if (flags.help) {
      process.stdout.write(usage());
      return 0;
    }
    if (flags.list) {
      if (positional.length > 0) throw new UsageError('--list takes no benchmark name');
      const names = allNames();
      if (flags.json) process.stdout.write(`${JSON.stringify(names, null, 2)}\n`);
      else
        for (const n of names)
          process.stdout.write(`${n.name.padEnd(24)} ${n.kind.padEnd(9)} ${n.description}\n`);
      return 0;
    }
    if (positional.length === 0)
      throw new UsageError('which benchmark? give a scenario or a filter (--list shows them)');
    if (positional.length > 1)
      throw new UsageError(`one scenario or filter at a time, got ${positional.join(' ')}`);
    if (scenario && passthrough.length > 0)
      throw new UsageError(`arguments after -- are for micro-benchmarks, not ${scenario}`);
  } catch (e) {
    return fail(e);
  }

  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const quiet = flags.quiet === true;
  const micro: MicroResult[] = [];
  const scenarios: ScenarioResult[] = [];
  let selected: ReturnType<typeof allNames>;
  try {
    if (scenario) selected = [{ name: scenario, kind: 'scenario', description: '' }];
    else {
      let re: RegExp;
      try {
        re = new RegExp(positional[0]);
      } catch (e) {
        throw new UsageError(`invalid filter ${JSON.stringify(positional[0])}: ${(e as Error).message}`);
      }
      selected = allNames().filter((n) => re.test(n.name));
      if (selected.length === 0)
        throw new UsageError(
          `no benchmark matches ${JSON.stringify(positional[0])}; available: ${allNames()
            .map((n) => n.name)
            .join(', ')}`,
        );
      if (passthrough.length > 0 && selected.some((n) => n.kind === 'scenario'))
        throw new UsageError(
          'arguments after -- are for micro-benchmarks; the filter also matches scenarios',
        );
    }
    for (const n of selected) {
      if (n.kind === 'scenario') {
        const name = n.name as ScenarioName;
        // A scenario picked by a filter runs with its defaults (its own flags need its name).
        const f = scenario ? flags : parseArgs([], SCENARIO_FLAGS[name], `bench ${name}`).flags;
        if (!quiet) process.stderr.write(`== ${name}\n`);
        scenarios.push(await runScenario(name, f, quiet));
      } else {
        if (!quiet) process.stderr.write(`== ${n.name}\n`);
        micro.push(await runMicro(n.name, passthrough, quiet));
      }
    }
  } catch (e) {
    if (e instanceof UsageError) return fail(e);
    process.stderr.write(`promshard bench: ${(e as Error).message}\n`);
    return 1;
  }
  const run: BenchRun = {
    version: 1,
    command: ['promshard', 'bench', ...argv],
    machine: machineInfo(),
    startedAt,
    seconds: Math.round((performance.now() - t0) / 100) / 10,
    micro,
    scenarios,
  };
  if (flags.json) process.stdout.write(`${JSON.stringify(run, null, 2)}\n`);
  else process.stdout.write(`\n${formatTable(run)}`);
  if (flags.save !== false) {
    const dir = (flags.out as string | undefined) ?? path.join(packageRoot(), 'bench', 'results');
    const saved = saveRun(run, dir, positional[0]);
    if (!quiet) process.stderr.write(`saved ${saved.json} and ${saved.md}\n`);
  }
  return micro.some((m) => m.exitCode !== 0) ? 1 : 0;
}
