import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_YAML, defaultConfig } from '../src/config/default.js';
import { formatDuration, parseDuration, parseSize } from '../src/config/duration.js';
import { ConfigError, loadConfigFile, parseConfig } from '../src/config/load.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function havePromtool(): boolean {
  return spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;
}
const promtool = havePromtool();
if (!promtool) console.log('skipping promtool comparisons: promtool is not on PATH');

/** Runs `promtool check config` on a text; true when it accepts it. */
function promtoolAccepts(text: string): { ok: boolean; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'promshard-cfg-'));
  const f = join(dir, 'prometheus.yml');
  writeFileSync(f, text);
  const r = spawnSync('promtool', ['check', 'config', f], { encoding: 'utf8' });
  return { ok: r.status === 0, out: r.stdout + r.stderr };
}

function err(text: string): ConfigError {
  try {
    parseConfig(text);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('durations and sizes', () => {
  it('parses Prometheus durations', () => {
    expect(parseDuration('15s')).toBe(15000);
    expect(parseDuration('1h30m')).toBe(5400000);
    expect(parseDuration('100ms')).toBe(100);
    expect(parseDuration('1d')).toBe(86400000);
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('1.5s')).toBeNull();
    expect(parseDuration('')).toBeNull();
    expect(parseDuration('15')).toBeNull();
    expect(parseDuration('1s1h')).toBeNull();
    expect(formatDuration(5400000)).toBe('1h30m');
    expect(formatDuration(60000)).toBe('1m');
    expect(parseSize('10MB')).toBe(10 * 1024 * 1024);
    expect(parseSize('512')).toBe(512);
    expect(parseSize('1 parsec')).toBeNull();
  });
});

describe('defaults as Prometheus 2.42', () => {
  it('fills an empty config', () => {
    const c = parseConfig('');
    expect(c.global).toEqual({
      scrapeInterval: 60000,
      scrapeTimeout: 10000,
      evaluationInterval: 60000,
      externalLabels: {},
    });
    expect(c.scrapeConfigs).toEqual([]);
  });

  it('fills a job from the globals', () => {
    const c = parseConfig(`
global:
  scrape_interval: 5s
  external_labels: {dc: eu1}
scrape_configs:
  - job_name: a
    static_configs: [{targets: ['h:1', 'h:2'], labels: {x: y}}]
  - job_name: b
    scrape_interval: 1m
`);
    expect(c.global.scrapeTimeout).toBe(5000);
    expect(c.global.externalLabels).toEqual({ dc: 'eu1' });
    const [a, b] = c.scrapeConfigs;
    expect(a).toMatchObject({
      jobName: 'a',
      scrapeInterval: 5000,
      scrapeTimeout: 5000,
      metricsPath: '/metrics',
      scheme: 'http',
      honorLabels: false,
      honorTimestamps: true,
      sampleLimit: 0,
      followRedirects: true,
      staticConfigs: [{ targets: ['h:1', 'h:2'], labels: { x: 'y' } }],
      line: 6,
    });
    expect(b.scrapeInterval).toBe(60000);
    expect(b.scrapeTimeout).toBe(5000);
  });

  it('reads every scrape field of the issue', () => {
    const dir = mkdtempSync(join(tmpdir(), 'promshard-cfg-'));
    const f = join(dir, 'p.yml');
    writeFileSync(
      f,
      `
scrape_configs:
  - job_name: full
    honor_labels: true
    honor_timestamps: false
    params: {module: [a, b]}
    scrape_interval: 30s
    scrape_timeout: 20s
    metrics_path: /m
    scheme: https
    basic_auth: {username: u, password_file: secret}
    tls_config: {ca_file: ca.pem, insecure_skip_verify: true, server_name: s, min_version: TLS12}
    sample_limit: 10
    label_limit: 11
    label_name_length_limit: 12
    label_value_length_limit: 13
    target_limit: 14
    body_size_limit: 1KB
    file_sd_configs: [{files: [sd/*.json]}]
    relabel_configs: [{source_labels: [a, b], separator: '-', regex: 'x(.*)', target_label: c, replacement: '\${1}z'}]
    metric_relabel_configs: [{action: labeldrop, regex: tmp_.*}]
  - job_name: bearer
    bearer_token_file: tok
  - job_name: authz
    authorization: {credentials: abc}
remote_write:
  - url: http://127.0.0.1:1/api/v1/write
    write_relabel_configs: [{action: keep, source_labels: [__name__], regex: up}]
rule_files: [rules/*.yml]
`,
    );
    const c = loadConfigFile(f);
    const [full, bearer, authz] = c.scrapeConfigs;
    expect(full).toMatchObject({
      honorLabels: true,
      honorTimestamps: false,
      params: { module: ['a', 'b'] },
      scrapeInterval: 30000,
      scrapeTimeout: 20000,
      metricsPath: '/m',
      scheme: 'https',
      basicAuth: { username: 'u', passwordFile: join(dir, 'secret') },
      tlsConfig: {
        caFile: join(dir, 'ca.pem'),
        insecureSkipVerify: true,
        serverName: 's',
        minVersion: 'TLS12',
      },
      sampleLimit: 10,
      labelLimit: 11,
      labelNameLengthLimit: 12,
      labelValueLengthLimit: 13,
      targetLimit: 14,
      bodySizeLimit: 1024,
      fileSdConfigs: [{ files: [join(dir, 'sd/*.json')], refreshInterval: 300000 }],
      relabelConfigs: [
        {
          sourceLabels: ['a', 'b'],
          separator: '-',
          regex: 'x(.*)',
          targetLabel: 'c',
          replacement: '${1}z',
          action: 'replace',
        },
      ],
      metricRelabelConfigs: [
        {
          sourceLabels: [],
          separator: ';',
          regex: 'tmp_.*',
          targetLabel: '',
          replacement: '$1',
          action: 'labeldrop',
          modulus: 0,
        },
      ],
    });
    expect(bearer.authorization).toEqual({ type: 'Bearer', credentialsFile: join(dir, 'tok') });
    expect(authz.authorization).toEqual({ type: 'Bearer', credentials: 'abc' });
    expect(c.remoteWrite[0].url).toBe('http://127.0.0.1:1/api/v1/write');
    expect(c.remoteWrite[0].writeRelabelConfigs[0].action).toBe('keep');
    expect(c.ruleFiles).toEqual([join(dir, 'rules/*.yml')]);
  });

  it('accepts (with a warning) what 2.42 accepts but promshard does not implement', () => {
    const c = parseConfig(`
scrape_configs:
  - job_name: k8s
    kubernetes_sd_configs: [{role: pod}]
alerting: {alertmanagers: [{static_configs: [{targets: ['a:9093']}]}]}
`);
    expect(c.scrapeConfigs[0].unsupportedSd).toEqual(['kubernetes_sd_configs']);
    expect(c.warnings.join('\n')).toMatch(/kubernetes_sd_configs is not supported/);
    expect(c.alerting).toBeDefined();
  });
});

describe('errors name the field and the line', () => {
  const cases: [string, string, RegExp, number | undefined][] = [
    [
      'unknown field',
      'scrape_configs:\n  - job_name: a\n    foo: 1\n',
      /field foo not found in scrape config/,
      3,
    ],
    ['unknown top-level field', 'globl:\n  scrape_interval: 1s\n', /field globl not found/, 1],
    ['bad duration', 'global:\n  scrape_interval: 15\n', /scrape_interval: not a valid duration/, 2],
    [
      'timeout > interval',
      'global:\n  scrape_interval: 5s\n  scrape_timeout: 10s\n',
      /global scrape timeout greater than scrape interval/,
      3,
    ],
    [
      'job timeout > interval',
      'scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 6s\n',
      /scrape timeout greater than scrape interval for scrape config with job name "a"/,
      4,
    ],
    [
      'duplicate job',
      'scrape_configs:\n  - job_name: a\n  - job_name: a\n',
      /found multiple scrape configs with job name "a"/,
      3,
    ],
    ['empty job name', 'scrape_configs:\n  - scrape_interval: 5s\n', /job_name is empty/, 2],
    [
      'bad relabel action',
      'scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - action: frobnicate\n',
      /unknown relabel action "frobnicate"/,
      4,
    ],
    [
      'replace without target',
      'scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - source_labels: [x]\n',
      /requires 'target_label' value/,
      4,
    ],
    [
      'labeldrop with more fields',
      'scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: labeldrop, regex: a, separator: x}\n',
      /labeldrop action requires only 'regex', and no other fields/,
      4,
    ],
    [
      'hashmod without modulus',
      'scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: hashmod, target_label: h}\n',
      /hashmod requires non-zero modulus/,
      4,
    ],
    [
      'keepequal with a regex',
      'scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: keepequal, target_label: h, regex: x}\n',
      /keepequal action requires only 'source_labels' and `target_label`/,
      4,
    ],
    [
      'bad regex',
      'scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: keep, regex: "a(b"}\n',
      /error parsing regexp/,
      4,
    ],
    [
      'bad label name',
      'scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: [x]\n        labels: {1a: b}\n',
      /"1a" is not a valid label name/,
      5,
    ],
    [
      'target with a scheme',
      "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: ['http://a:1']\n",
      /is not a valid hostname/,
      4,
    ],
    [
      'basic auth and bearer',
      'scrape_configs:\n  - job_name: a\n    basic_auth: {username: u}\n    bearer_token: t\n',
      /at most one of basic_auth, oauth2, bearer_token & bearer_token_file/,
      2,
    ],
    ['negative limit', 'scrape_configs:\n  - job_name: a\n    sample_limit: -1\n', /sample_limit/, 3],
    ['yaml syntax', 'global:\n  scrape_interval: [15s\n', /./, 3],
    ['duplicate key', 'global:\n  scrape_interval: 15s\n  scrape_interval: 10s\n', /unique/, 3],
    [
      'bad file_sd extension',
      'scrape_configs:\n  - job_name: a\n    file_sd_configs: [{files: [a.txt]}]\n',
      /invalid file extension/,
      3,
    ],
  ];
  for (const [what, text, re, line] of cases) {
    it(what, () => {
      const e = err(text);
      expect(e.message).toMatch(re);
      expect(e.line).toBe(line);
      if (line !== undefined) expect(e.message).toMatch(new RegExp(`^line ${line}: `));
      if (promtool) expect(promtoolAccepts(text).ok).toBe(false);
    });
  }
});

describe.skipIf(!promtool)('promtool check config', () => {
  it('accepts examples/prometheus.yml, which we also load', () => {
    const f = join(repo, 'examples', 'prometheus.yml');
    const out = execFileSync('promtool', ['check', 'config', f], { encoding: 'utf8' });
    expect(out).toMatch(/SUCCESS/);
    const c = loadConfigFile(f);
    expect(c.scrapeConfigs.map((s) => s.jobName)).toEqual(['promshard', 'node', 'services']);
    expect(c.warnings).toEqual([]);
  });

  it('accepts the built-in default config', () => {
    expect(promtoolAccepts(DEFAULT_CONFIG_YAML).ok).toBe(true);
    const c = defaultConfig();
    expect(c.scrapeConfigs[0].staticConfigs[0].targets).toEqual(['localhost:9090']);
  });
});
