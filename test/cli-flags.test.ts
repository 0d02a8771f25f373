import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  FLAG_DEFS,
  helpText,
  parseBytes,
  parseFlags,
  type ServerFlags,
  splitHostPort,
} from '../src/server/flags.js';

function run(argv: string[]): ServerFlags {
  const r = parseFlags(argv);
  if (r.kind !== 'run') throw new Error(`expected run, got ${r.kind}`);
  return r.flags;
}

describe('server flags', () => {
  it('has Prometheus 2.42 defaults', () => {
    const f = run([]);
    expect(f.configFile).toBe('prometheus.yml');
    expect(f.configFileSet).toBe(false);
    expect(f.storagePath).toBe('data/');
    expect([f.listenHost, f.listenPort]).toEqual(['0.0.0.0', 9090]);
    expect([f.enableAdminApi, f.enableLifecycle, f.enableRemoteWriteReceiver]).toEqual([false, false, false]);
    expect(f.lookbackDeltaMs).toBe(300_000);
    expect(f.queryTimeoutMs).toBe(120_000);
    expect(f.queryMaxSamples).toBe(50_000_000);
    expect(f.retentionTimeMs).toBe(15 * 86_400_000);
    expect(f.retentionSizeBytes).toBe(0);
    expect(f.minBlockDurationMs).toBe(7_200_000);
    expect(f.maxBlockDurationMs).toBe(1.5 * 86_400_000);
    expect(f.shards).toBe(availableParallelism());
    expect(f.logLevel).toBe('info');
    expect(f.raw['storage.tsdb.retention.time']).toBe('15d');
    expect(f.raw['query.lookback-delta']).toBe('5m');
    expect(f.raw['web.enable-admin-api']).toBe('false');
  });

  it('takes --flag=value, --flag value, --flag and --no-flag', () => {
    const f = run([
      '--config.file',
      '/etc/p.yml',
      '--web.listen-address=127.0.0.1:9999',
      '--web.enable-admin-api',
      '--no-web.enable-lifecycle',
      '--web.enable-remote-write-receiver=true',
      '--query.lookback-delta=1h30m',
      '--storage.tsdb.retention.size',
      '512MB',
      '--storage.tsdb.shards=3',
      '--log.level=debug',
    ]);
    expect(f.configFile).toBe('/etc/p.yml');
    expect(f.configFileSet).toBe(true);
    expect([f.listenHost, f.listenPort]).toEqual(['127.0.0.1', 9999]);
    expect([f.enableAdminApi, f.enableLifecycle, f.enableRemoteWriteReceiver]).toEqual([true, false, true]);
    expect(f.lookbackDeltaMs).toBe(5_400_000);
    // A size limit alone means no time limit, as in Prometheus.
    expect(f.retentionSizeBytes).toBe(512 * 1024 * 1024);
    expect(f.retentionTimeMs).toBe(0);
    expect(f.shards).toBe(3);
    expect(f.logLevel).toBe('debug');
    expect(f.raw['web.enable-admin-api']).toBe('true');
  });

  it('derives the max block duration from the retention (10%, at most 31d)', () => {
    expect(run(['--storage.tsdb.retention.time=30d']).maxBlockDurationMs).toBe(3 * 86_400_000);
    expect(run(['--storage.tsdb.retention.time=3y']).maxBlockDurationMs).toBe(31 * 86_400_000);
    expect(run(['--storage.tsdb.retention.time=1h']).maxBlockDurationMs).toBe(7_200_000);
  });

  it.each([
    [['--foo'], "unknown long flag '--foo'"],
    [['-x'], "unknown short flag '-x'"],
    [['serve'], "unexpected argument 'serve'"],
    [['--query.timeout'], "expected argument for flag '--query.timeout'"],
    [
      ['--query.timeout=5x'],
      `invalid value "5x" for flag '--query.timeout': not a valid duration string: "5x"`,
    ],
    [
      ['--query.lookback-delta='],
      `invalid value "" for flag '--query.lookback-delta': empty duration string`,
    ],
    [['--query.max-samples=lots'], `invalid value "lots" for flag '--query.max-samples'`],
    [['--storage.tsdb.retention.size=12'], `invalid value "12" for flag '--storage.tsdb.retention.size'`],
    [['--web.listen-address=9090'], 'missing port in address'],
    [['--web.listen-address=:99999'], 'invalid port'],
    [['--log.level=trace'], "enum value must be one of debug,info,warn,error, got 'trace'"],
    [['--web.enable-admin-api=yes'], 'strconv.ParseBool'],
    [['--storage.tsdb.shards=0'], 'must be in [1, 1024]'],
    [['--query.timeout=0'], 'must be positive'],
    [['--web.cors.origin=('], "flag '--web.cors.origin'"],
    [['--log.level=info', '--log.level=debug'], 'cannot be repeated'],
  ])('refuses %j', (argv, msg) => {
    expect(() => parseFlags(argv)).toThrow(msg);
  });

  it('answers --help and --version before anything else', () => {
    expect(parseFlags(['--foo=1', '--help']).kind).toBe('help');
    expect(parseFlags(['--query.timeout=5x', '--version']).kind).toBe('version');
  });

  it('parses sizes and addresses like Prometheus', () => {
    expect(parseBytes('1GB')).toBe(1024 ** 3);
    expect(parseBytes('0')).toBe(0);
    expect(() => parseBytes('1G')).toThrow('unknown unit');
    expect(splitHostPort(':9090')).toEqual(['', 9090]);
    expect(splitHostPort('[::1]:80')).toEqual(['::1', 80]);
  });

  it('lists every flag in --help', () => {
    const h = helpText();
    for (const d of FLAG_DEFS) expect(h).toContain(`--${d.kind === 'bool' ? '[no-]' : ''}${d.name}`);
  });
});
