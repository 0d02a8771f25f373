// The server's command-line flags: Prometheus 2.42's names and defaults where Prometheus has the flag,
// `--flag=value` and `--flag value`, `--[no-]bool`, clear errors. Parsing only: no side effects.
import { availableParallelism } from 'node:os';
import { formatPromDuration, type ParamError, parsePromDuration } from '../http/params.js';

export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

type Kind = 'string' | 'bool' | 'duration' | 'int' | 'bytes' | 'enum' | 'address';

interface FlagDef {
  readonly name: string;
  readonly kind: Kind;
  /** The default as Prometheus prints it; undefined: no default (shown as ""). */
  readonly dflt?: string;
  readonly help: string;
  readonly values?: readonly string[];
  /** Flags of ours that Prometheus does not have. */
  readonly ours?: boolean;
  /** Accepted and reported, but not acted on yet (said in --help). */
  readonly inert?: boolean;
}

const cores = availableParallelism();

export const FLAG_DEFS: readonly FlagDef[] = [
  {
    name: 'config.file',
    kind: 'string',
    dflt: 'prometheus.yml',
    help: 'Prometheus configuration file path.',
  },
  {
    name: 'web.listen-address',
    kind: 'address',
    dflt: '0.0.0.0:9090',
    help: 'Address to listen on for UI, API, and telemetry.',
  },
  {
    name: 'web.enable-lifecycle',
    kind: 'bool',
    dflt: 'false',
    help: 'Enable shutdown and reload via HTTP request.',
  },
  {
    name: 'web.enable-admin-api',
    kind: 'bool',
    dflt: 'false',
    help: 'Enable API endpoints for admin control actions.',
  },
  {
    name: 'web.enable-remote-write-receiver',
    kind: 'bool',
    dflt: 'false',
    help: 'Enable API endpoint accepting remote write requests.',
  },
  {
    name: 'web.cors.origin',
    kind: 'string',
    dflt: '.*',
    help: "Regex for CORS origin. It is fully anchored. Example: 'https?://(domain1|domain2)\\.com'",
  },
  {
    name: 'web.external-url',
    kind: 'string',
    help: 'The URL under which Prometheus is externally reachable.',
    inert: true,
  },
  {
    name: 'web.remote-write.max-body-size',
    kind: 'bytes',
    dflt: '32MB',
    help: 'Largest compressed remote-write request body accepted.',
    ours: true,
  },
  {
    name: 'web.remote-write.max-labels-per-series',
    kind: 'int',
    dflt: '1000',
    help: 'Most labels a remote-written series may have.',
    ours: true,
  },
  { name: 'storage.tsdb.path', kind: 'string', dflt: 'data/', help: 'Base path for metrics storage.' },
  {
    name: 'scrape.adjust-timestamps',
    kind: 'bool',
    dflt: 'true',
    help: 'Adjust scrape timestamps by up to `scrape.timestamp-tolerance` to align them to the intended schedule. See https://github.com/prometheus/prometheus/issues/7846 for more context.',
  },
  {
    name: 'scrape.timestamp-tolerance',
    kind: 'duration',
    dflt: '2ms',
    help: 'Timestamp tolerance. See https://github.com/prometheus/prometheus/issues/7846 for more context.',
  },
  {
    name: 'storage.tsdb.retention.time',
    kind: 'duration',
    help: 'How long to retain samples in storage. If neither this flag nor "storage.tsdb.retention.size" is set, the retention time defaults to 15d.',
  },
  {
    name: 'storage.tsdb.retention.size',
    kind: 'bytes',
    help: 'Maximum number of bytes that can be stored for blocks. A unit is required, supported units: B, KB, MB, GB, TB, PB, EB.',
  },
  {
    name: 'storage.tsdb.min-block-duration',
    kind: 'duration',
    dflt: '2h',
    help: 'Minimum duration of a data block before being persisted.',
  },
  {
    name: 'storage.tsdb.max-block-duration',
    kind: 'duration',
    help: 'Maximum duration compacted blocks may span. (Default: 10% of the retention period, at most 31d.)',
  },
  {
    name: 'storage.tsdb.shards',
    kind: 'int',
    dflt: String(cores),
    help: 'Number of storage shards (worker threads); series are hash-sharded across them.',
    ours: true,
  },
  {
    name: 'storage.tsdb.future-grace',
    kind: 'duration',
    dflt: '10m',
    help: 'Samples further ahead of the wall clock than this are refused.',
    ours: true,
  },
  {
    name: 'storage.remote.read-sample-limit',
    kind: 'int',
    dflt: '50000000',
    help: 'Maximum overall number of samples to return via the remote read interface, in a single query.',
  },
  {
    name: 'storage.remote.flush-deadline',
    kind: 'duration',
    dflt: '1m',
    help: 'How long to wait flushing sample on shutdown or config reload.',
  },
  {
    name: 'query.lookback-delta',
    kind: 'duration',
    dflt: '5m',
    help: 'The maximum lookback duration for retrieving metrics during expression evaluations and federation.',
  },
  {
    name: 'query.timeout',
    kind: 'duration',
    dflt: '2m',
    help: 'Maximum time a query may take before being aborted.',
  },
  {
    name: 'query.max-samples',
    kind: 'int',
    dflt: '50000000',
    help: 'Maximum number of samples a single query can load into memory.',
  },
  {
    name: 'query.max-concurrency',
    kind: 'int',
    dflt: '20',
    help: 'Maximum number of queries executed concurrently.',
    inert: true,
  },
  {
    name: 'log.level',
    kind: 'enum',
    dflt: 'info',
    values: ['debug', 'info', 'warn', 'error'],
    help: 'Only log messages with the given severity or above. One of: [debug, info, warn, error]',
  },
  {
    name: 'log.format',
    kind: 'enum',
    dflt: 'logfmt',
    values: ['logfmt', 'json'],
    help: 'Output format of log messages. One of: [logfmt, json]',
  },
];

const BY_NAME = new Map(FLAG_DEFS.map((d) => [d.name, d]));

export interface ServerFlags {
  readonly configFile: string;
  /** True when --config.file was given (a missing default file falls back to the built-in config). */
  readonly configFileSet: boolean;
  readonly listenHost: string;
  readonly listenPort: number;
  readonly enableLifecycle: boolean;
  readonly enableAdminApi: boolean;
  readonly enableRemoteWriteReceiver: boolean;
  readonly corsOrigin: string;
  readonly remoteWriteMaxBodyBytes: number;
  readonly remoteWriteMaxLabels: number;
  readonly storagePath: string;
  /** 0: no time limit (only with a size limit). */
  readonly retentionTimeMs: number;
  /** 0: no size limit. */
  readonly retentionSizeBytes: number;
  readonly minBlockDurationMs: number;
  readonly maxBlockDurationMs: number;
  readonly shards: number;
  readonly futureGraceMs: number;
  /** --scrape.timestamp-tolerance, 0 with --no-scrape.adjust-timestamps. */
  readonly scrapeTimestampToleranceMs: number;
  readonly remoteReadSampleLimit: number;
  readonly remoteFlushDeadlineMs: number;
  readonly lookbackDeltaMs: number;
  readonly queryTimeoutMs: number;
  readonly queryMaxSamples: number;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  readonly logFormat: 'logfmt' | 'json';
  /** Every flag by name with its effective value as a string (`/api/v1/status/flags`). */
  readonly raw: Readonly<Record<string, string>>;
}

export type ParseResult = { kind: 'help' } | { kind: 'version' } | { kind: 'run'; flags: ServerFlags };

const UNITS: Record<string, number> = {
  B: 1,
  KB: 1024,
  MB: 1024 ** 2,
  GB: 1024 ** 3,
  TB: 1024 ** 4,
  PB: 1024 ** 5,
  EB: 1024 ** 6,
};

/** Prometheus' base-2 byte sizes: `512MB`, `1GB`, `0`. */
export function parseBytes(s: string): number {
  if (s === '0') return 0;
  const m = /^(\d+)(B|KB|MB|GB|TB|PB|EB)$/.exec(s);
  if (m === null)
    throw new FlagError(`units: unknown unit in ${JSON.stringify(s)} (use B, KB, MB, GB, TB, PB or EB)`);
  return Number(m[1]) * UNITS[m[2]];
}

function checkValue(def: FlagDef, value: string): void {
  switch (def.kind) {
    case 'duration':
      try {
        parsePromDuration(value);
      } catch (e) {
        throw new FlagError((e as ParamError).message);
      }
      return;
    case 'int':
      if (!/^[+-]?\d+$/.test(value))
        throw new FlagError(`strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`);
      return;
    case 'bytes':
      parseBytes(value);
      return;
    case 'bool':
      if (!['true', 'false', '1', '0'].includes(value)) {
        throw new FlagError(`strconv.ParseBool: parsing ${JSON.stringify(value)}: invalid syntax`);
      }
      return;
    case 'enum':
      if (!def.values!.includes(value)) {
        throw new FlagError(`enum value must be one of ${def.values!.join(',')}, got '${value}'`);
      }
      return;
    case 'address':
      splitHostPort(value);
      return;
    case 'string':
      return;
  }
}

/** Go's net.SplitHostPort for `host:port`, `:port` and `[v6]:port`. */
export function splitHostPort(addr: string): [string, number] {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr);
  if (m === null) throw new FlagError(`address ${addr}: missing port in address`);
  const port = Number(m[3]);
  if (port > 65535) throw new FlagError(`address ${addr}: invalid port`);
  return [m[1] ?? m[2], port];
}

/** Parses argv (without node and script). Throws FlagError with a message for the user. */
export function parseFlags(argv: readonly string[]): ParseResult {
  // --help and --version win over anything else on the line, as with kingpin.
  if (argv.includes('--help') || argv.includes('-h')) return { kind: 'help' };
  if (argv.includes('--version')) return { kind: 'version' };
  const set = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      throw new FlagError(
        arg.startsWith('-')
          ? `unknown short flag '${arg}'`
          : `unexpected argument '${arg}' (promshard has no subcommands yet)`,
      );
    }
    const eq = arg.indexOf('=');
    let name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    let value: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    let def = BY_NAME.get(name);
    if (def === undefined && name.startsWith('no-') && value === undefined) {
      const neg = BY_NAME.get(name.slice(3));
      if (neg?.kind === 'bool') {
        def = neg;
        name = neg.name;
        value = 'false';
      }
    }
    if (def === undefined) throw new FlagError(`unknown long flag '--${name}'`);
    if (value === undefined) {
      if (def.kind === 'bool') value = 'true';
      else {
        if (i + 1 >= argv.length) throw new FlagError(`expected argument for flag '--${name}'`);
        value = argv[++i];
      }
    }
    try {
      checkValue(def, value);
    } catch (e) {
      throw new FlagError(
        `invalid value ${JSON.stringify(value)} for flag '--${name}': ${(e as Error).message}`,
      );
    }
    if (set.has(name)) throw new FlagError(`flag '--${name}' cannot be repeated`);
    set.set(name, value);
  }
  return { kind: 'run', flags: resolve(set) };
}

function resolve(set: Map<string, string>): ServerFlags {
  const str = (n: string) => set.get(n) ?? BY_NAME.get(n)!.dflt ?? '';
  const bool = (n: string) => ['true', '1'].includes(str(n));
  const dur = (n: string) => parsePromDuration(str(n));
  const int = (n: string) => Number(str(n));

  const retentionSizeBytes = set.has('storage.tsdb.retention.size')
    ? parseBytes(str('storage.tsdb.retention.size'))
    : 0;
  let retentionTimeMs = set.has('storage.tsdb.retention.time') ? dur('storage.tsdb.retention.time') : 0;
  if (!set.has('storage.tsdb.retention.time') && !set.has('storage.tsdb.retention.size'))
    retentionTimeMs = 15 * 86_400_000;
  const minBlockDurationMs = dur('storage.tsdb.min-block-duration');
  let maxBlockDurationMs: number;
  if (set.has('storage.tsdb.max-block-duration')) maxBlockDurationMs = dur('storage.tsdb.max-block-duration');
  else {
    // Prometheus: 10% of the retention time, at most 31d, at least the min block duration.
    const r = retentionTimeMs === 0 ? 31 * 86_400_000 : retentionTimeMs / 10;
    maxBlockDurationMs = Math.max(minBlockDurationMs, Math.min(r, 31 * 86_400_000));
  }
  if (minBlockDurationMs <= 0)
    throw new FlagError(`invalid value for flag '--storage.tsdb.min-block-duration': must be positive`);
  if (maxBlockDurationMs < minBlockDurationMs) {
    throw new FlagError(
      "flag '--storage.tsdb.max-block-duration' must not be shorter than '--storage.tsdb.min-block-duration'",
    );
  }
  const shards = int('storage.tsdb.shards');
  if (shards < 1 || shards > 1024) {
    throw new FlagError(
      `invalid value "${str('storage.tsdb.shards')}" for flag '--storage.tsdb.shards': must be in [1, 1024]`,
    );
  }
  for (const n of [
    'query.max-samples',
    'storage.remote.read-sample-limit',
    'web.remote-write.max-labels-per-series',
  ]) {
    if (int(n) < 1) throw new FlagError(`invalid value "${str(n)}" for flag '--${n}': must be positive`);
  }
  if (dur('query.lookback-delta') <= 0)
    throw new FlagError("invalid value for flag '--query.lookback-delta': must be positive");
  if (dur('query.timeout') <= 0)
    throw new FlagError("invalid value for flag '--query.timeout': must be positive");
  const cors = str('web.cors.origin');
  try {
    new RegExp(`^(?:${cors})$`);
  } catch (e) {
    throw new FlagError(`invalid value "${cors}" for flag '--web.cors.origin': ${(e as Error).message}`);
  }
  const [listenHost, listenPort] = splitHostPort(str('web.listen-address'));

  const raw: Record<string, string> = {};
  for (const d of FLAG_DEFS) raw[d.name] = str(d.name);
  raw['storage.tsdb.retention.time'] = retentionTimeMs === 0 ? '0s' : formatPromDuration(retentionTimeMs);
  raw['storage.tsdb.retention.size'] = set.get('storage.tsdb.retention.size') ?? '0B';
  raw['storage.tsdb.max-block-duration'] = formatPromDuration(maxBlockDurationMs);

  return {
    configFile: str('config.file'),
    configFileSet: set.has('config.file'),
    listenHost,
    listenPort,
    enableLifecycle: bool('web.enable-lifecycle'),
    enableAdminApi: bool('web.enable-admin-api'),
    enableRemoteWriteReceiver: bool('web.enable-remote-write-receiver'),
    corsOrigin: cors,
    remoteWriteMaxBodyBytes: parseBytes(str('web.remote-write.max-body-size')),
    remoteWriteMaxLabels: int('web.remote-write.max-labels-per-series'),
    storagePath: str('storage.tsdb.path'),
    retentionTimeMs,
    retentionSizeBytes,
    minBlockDurationMs,
    maxBlockDurationMs,
    shards,
    futureGraceMs: dur('storage.tsdb.future-grace'),
    scrapeTimestampToleranceMs: bool('scrape.adjust-timestamps') ? dur('scrape.timestamp-tolerance') : 0,
    remoteReadSampleLimit: int('storage.remote.read-sample-limit'),
    remoteFlushDeadlineMs: dur('storage.remote.flush-deadline'),
    lookbackDeltaMs: dur('query.lookback-delta'),
    queryTimeoutMs: dur('query.timeout'),
    queryMaxSamples: int('query.max-samples'),
    logLevel: str('log.level') as ServerFlags['logLevel'],
    logFormat: str('log.format') as ServerFlags['logFormat'],
    raw,
  };
}

/** `--help` text: every flag with its default, in Prometheus' order of concerns. */
export function helpText(): string {
  const lines = [
    'usage: promshard [<flags>]',
    '',
    'A Prometheus-compatible monitoring server: sharded TSDB, PromQL, scraping, remote write.',
    'Flags follow Prometheus 2.42 where Prometheus has them.',
    '',
    'Flags:',
    '  -h, --help                     Show context-sensitive help.',
    '      --version                  Show application version.',
  ];
  for (const d of FLAG_DEFS) {
    const left =
      d.kind === 'bool'
        ? `--[no-]${d.name}`
        : `--${d.name}=${d.kind === 'duration' ? 'DURATION' : d.kind === 'bytes' ? 'SIZE' : d.kind === 'int' ? 'N' : 'VALUE'}`;
    let help = d.help;
    if (d.dflt !== undefined && d.kind !== 'bool') help += ` (default: ${JSON.stringify(d.dflt)})`;
    if (d.ours) help += ' [promshard]';
    if (d.inert) help += ' [accepted, not used yet]';
    lines.push(`      ${left.padEnd(44)} ${help}`);
  }
  return `${lines.join('\n')}\n`;
}
