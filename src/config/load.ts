/**
 * Loads prometheus.yml as Prometheus 2.42 does: strict (unknown fields are errors, as yaml.UnmarshalStrict),
 * defaults applied, validated. Parsed with the `yaml` package (it keeps node positions, so every error names
 * the field and its line). Fields Prometheus 2.42 accepts but promshard does not act on (other service
 * discoveries, oauth2, alerting, ...) are accepted and listed in `warnings`.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, type YAMLMap } from 'yaml';
import { parseDuration, parseSize } from './duration.js';
import { DEFAULT_REGEX, isValidLabelName, validateRelabelConfig } from './relabel.js';
import {
  type Authorization,
  type BasicAuth,
  type Config,
  type FileSDConfig,
  type GlobalConfig,
  type HTTPClientConfig,
  RELABEL_ACTIONS,
  type RelabelAction,
  type RelabelConfig,
  type RemoteWriteConfig,
  type ScrapeConfig,
  type TargetGroup,
  type TLSConfig,
} from './types.js';

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(line !== undefined ? `line ${line}: ${message}` : message);
    this.name = 'ConfigError';
  }
}

export const DEFAULT_GLOBAL: Readonly<GlobalConfig> = {
  scrapeInterval: 60_000,
  scrapeTimeout: 10_000,
  evaluationInterval: 60_000,
  externalLabels: {},
};

/** The service discovery keys of a 2.42 scrape config besides static_configs and file_sd_configs. */
const OTHER_SD = [
  'azure_sd_configs',
  'consul_sd_configs',
  'digitalocean_sd_configs',
  'docker_sd_configs',
  'dockerswarm_sd_configs',
  'dns_sd_configs',
  'ec2_sd_configs',
  'eureka_sd_configs',
  'gce_sd_configs',
  'hetzner_sd_configs',
  'http_sd_configs',
  'ionos_sd_configs',
  'kubernetes_sd_configs',
  'kuma_sd_configs',
  'lightsail_sd_configs',
  'linode_sd_configs',
  'marathon_sd_configs',
  'nerve_sd_configs',
  'nomad_sd_configs',
  'openstack_sd_configs',
  'ovhcloud_sd_configs',
  'puppetdb_sd_configs',
  'scaleway_sd_configs',
  'serverset_sd_configs',
  'triton_sd_configs',
  'uyuni_sd_configs',
  'vultr_sd_configs',
];

const HTTP_CLIENT_KEYS = [
  'basic_auth',
  'authorization',
  'oauth2',
  'bearer_token',
  'bearer_token_file',
  'tls_config',
  'proxy_url',
  'proxy_connect_header',
  'follow_redirects',
  'enable_http2',
];

const SCRAPE_KEYS = new Set([
  'job_name',
  'honor_labels',
  'honor_timestamps',
  'params',
  'scrape_interval',
  'scrape_timeout',
  'metrics_path',
  'scheme',
  'body_size_limit',
  'sample_limit',
  'target_limit',
  'label_limit',
  'label_name_length_limit',
  'label_value_length_limit',
  'static_configs',
  'file_sd_configs',
  'relabel_configs',
  'metric_relabel_configs',
  ...HTTP_CLIENT_KEYS,
  ...OTHER_SD,
]);

/** Walks YAML nodes with the line of every value at hand. */
class Reader {
  constructor(
    private readonly lc: LineCounter,
    readonly dir: string,
    readonly warnings: string[],
  ) {}

  line(node: Node | null | undefined): number | undefined {
    const r = node?.range;
    return r ? this.lc.linePos(r[0]).line : undefined;
  }

  fail(node: Node | null | undefined, msg: string): never {
    throw new ConfigError(msg, this.line(node));
  }

  /** The entries of a mapping, refusing keys outside `allowed` (Prometheus: "field x not found in type y"). */
  map(node: Node | null | undefined, what: string, allowed?: ReadonlySet<string>): Map<string, Node | null> {
    const out = new Map<string, Node | null>();
    if (node === null || node === undefined) return out;
    if (isScalar(node) && node.value === null) return out;
    if (!isMap(node)) this.fail(node, `${what} must be a mapping`);
    for (const pair of (node as YAMLMap).items) {
      const k = pair.key as Node;
      const key = isScalar(k) ? String(k.value) : undefined;
      if (key === undefined) this.fail(k, `${what}: keys must be plain strings`);
      if (allowed && !allowed.has(key)) this.fail(k, `field ${key} not found in ${what}`);
      out.set(key, (pair.value as Node | null) ?? null);
    }
    return out;
  }

  seq(node: Node | null | undefined, what: string): Node[] {
    if (node === null || node === undefined) return [];
    if (isScalar(node) && node.value === null) return [];
    if (!isSeq(node)) this.fail(node, `${what} must be a list`);
    return node.items as Node[];
  }

  str(node: Node | null | undefined, what: string, dflt = ''): string {
    if (node === null || node === undefined) return dflt;
    if (!isScalar(node)) this.fail(node, `${what} must be a string`);
    if (node.value === null) return dflt;
    const v = node.value;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(node.source ?? v);
    this.fail(node, `${what} must be a string`);
  }

  bool(node: Node | null | undefined, what: string, dflt: boolean): boolean {
    if (node === null || node === undefined) return dflt;
    if (!isScalar(node) || (node.value !== null && typeof node.value !== 'boolean')) {
      this.fail(node, `${what} must be true or false`);
    }
    return node.value === null ? dflt : (node.value as boolean);
  }

  uint(node: Node | null | undefined, what: string): number {
    if (node === null || node === undefined) return 0;
    if (
      !isScalar(node) ||
      (node.value !== null && (typeof node.value !== 'number' || !Number.isInteger(node.value)))
    ) {
      this.fail(node, `${what} must be a non-negative integer`);
    }
    const v = (node.value as number | null) ?? 0;
    if (v < 0 || !Number.isSafeInteger(v)) this.fail(node, `${what}: cannot unmarshal ${v} into uint`);
    return v;
  }

  duration(node: Node | null | undefined, what: string): number | undefined {
    if (node === null || node === undefined) return undefined;
    const s = this.str(node, what);
    const d = parseDuration(s);
    if (d === null) this.fail(node, `${what}: not a valid duration string: ${JSON.stringify(s)}`);
    return d;
  }

  labelSet(node: Node | null | undefined, what: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of this.map(node, what)) {
      if (!isValidLabelName(k)) this.fail(v ?? node, `${JSON.stringify(k)} is not a valid label name`);
      out[k] = this.str(v, `${what}.${k}`);
    }
    return out;
  }

  path(p: string): string {
    return p === '' || isAbsolute(p) ? p : resolve(this.dir, p);
  }
}

function readGlobal(r: Reader, node: Node | null | undefined): GlobalConfig {
  const m = r.map(
    node,
    'global',
    new Set([
      'scrape_interval',
      'scrape_timeout',
      'evaluation_interval',
      'external_labels',
      'query_log_file',
    ]),
  );
  const g: GlobalConfig = { ...DEFAULT_GLOBAL, externalLabels: {} };
  const si = r.duration(m.get('scrape_interval'), 'global.scrape_interval');
  const st = r.duration(m.get('scrape_timeout'), 'global.scrape_timeout');
  const ei = r.duration(m.get('evaluation_interval'), 'global.evaluation_interval');
  if (si !== undefined) g.scrapeInterval = si;
  if (ei !== undefined) g.evaluationInterval = ei;
  if (st !== undefined) g.scrapeTimeout = st;
  else g.scrapeTimeout = Math.min(DEFAULT_GLOBAL.scrapeTimeout, g.scrapeInterval);
  if (g.scrapeTimeout > g.scrapeInterval)
    r.fail(m.get('scrape_timeout') ?? node, 'global scrape timeout greater than scrape interval');
  g.externalLabels = r.labelSet(m.get('external_labels'), 'global.external_labels');
  if (m.has('query_log_file')) g.queryLogFile = r.path(r.str(m.get('query_log_file'), 'query_log_file'));
  return g;
}

function readRelabel(r: Reader, node: Node | null | undefined, what: string): RelabelConfig[] {
  const out: RelabelConfig[] = [];
  const keys = new Set([
    'source_labels',
    'separator',
    'regex',
    'modulus',
    'target_label',
    'replacement',
    'action',
  ]);
  for (const item of r.seq(node, what)) {
    const m = r.map(item, 'relabel config', keys);
    const actionRaw = r.str(m.get('action'), `${what}.action`, 'replace').toLowerCase();
    if (!(RELABEL_ACTIONS as readonly string[]).includes(actionRaw)) {
      r.fail(m.get('action') ?? item, `unknown relabel action ${JSON.stringify(actionRaw)}`);
    }
    const regexNode = m.get('regex');
    const c: RelabelConfig = {
      sourceLabels: r
        .seq(m.get('source_labels'), `${what}.source_labels`)
        .map((n) => r.str(n, 'source label')),
      separator: m.has('separator') ? r.str(m.get('separator'), 'separator') : ';',
      // An explicit `regex:` with no value is the empty regex in Prometheus, not the default.
      regex: regexNode === undefined ? DEFAULT_REGEX : r.str(regexNode, 'regex'),
      modulus: r.uint(m.get('modulus'), 'modulus'),
      targetLabel: r.str(m.get('target_label'), 'target_label'),
      replacement: m.has('replacement') ? r.str(m.get('replacement'), 'replacement') : '$1',
      action: actionRaw as RelabelAction,
    };
    const err = validateRelabelConfig(c);
    if (err !== null) r.fail(item, err);
    out.push(c);
  }
  return out;
}

function readHTTPClient(r: Reader, m: Map<string, Node | null>, owner: Node, what: string): HTTPClientConfig {
  const h: HTTPClientConfig = {
    followRedirects: r.bool(m.get('follow_redirects'), 'follow_redirects', true),
    enableHttp2: r.bool(m.get('enable_http2'), 'enable_http2', true),
  };
  if (m.has('basic_auth')) {
    const b = r.map(m.get('basic_auth'), 'basic_auth', new Set(['username', 'password', 'password_file']));
    const ba: BasicAuth = { username: r.str(b.get('username'), 'basic_auth.username') };
    if (b.has('password')) ba.password = r.str(b.get('password'), 'basic_auth.password');
    if (b.has('password_file'))
      ba.passwordFile = r.path(r.str(b.get('password_file'), 'basic_auth.password_file'));
    if (ba.password && ba.passwordFile) {
      r.fail(m.get('basic_auth'), 'at most one of basic_auth password & password_file must be configured');
    }
    h.basicAuth = ba;
  }
  const bearer = m.has('bearer_token') ? r.str(m.get('bearer_token'), 'bearer_token') : '';
  const bearerFile = m.has('bearer_token_file')
    ? r.path(r.str(m.get('bearer_token_file'), 'bearer_token_file'))
    : '';
  if (bearer && bearerFile)
    r.fail(owner, 'at most one of bearer_token & bearer_token_file must be configured');
  const authCount = (h.basicAuth ? 1 : 0) + (m.has('oauth2') ? 1 : 0) + (bearer || bearerFile ? 1 : 0);
  if (authCount > 1)
    r.fail(owner, 'at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured');
  if (m.has('authorization')) {
    const a = r.map(
      m.get('authorization'),
      'authorization',
      new Set(['type', 'credentials', 'credentials_file']),
    );
    if (bearer || bearerFile)
      r.fail(m.get('authorization'), 'authorization is not compatible with bearer_token & bearer_token_file');
    if (h.basicAuth)
      r.fail(m.get('authorization'), 'at most one of basic_auth, oauth2 & authorization must be configured');
    const au: Authorization = { type: r.str(a.get('type'), 'authorization.type', 'Bearer') || 'Bearer' };
    if (au.type.toLowerCase() === 'basic')
      r.fail(a.get('type'), `authorization type cannot be set to "basic", use "basic_auth" instead`);
    if (a.has('credentials')) au.credentials = r.str(a.get('credentials'), 'authorization.credentials');
    if (a.has('credentials_file'))
      au.credentialsFile = r.path(r.str(a.get('credentials_file'), 'authorization.credentials_file'));
    if (au.credentials && au.credentialsFile) {
      r.fail(
        m.get('authorization'),
        'at most one of authorization credentials & credentials_file must be configured',
      );
    }
    h.authorization = au;
  } else if (bearer || bearerFile) {
    h.authorization = bearer
      ? { type: 'Bearer', credentials: bearer }
      : { type: 'Bearer', credentialsFile: bearerFile };
  }
  if (m.has('oauth2')) {
    h.oauth2 = m.get('oauth2')?.toJSON();
    r.warnings.push(`${what}: oauth2 is not supported by promshard yet; requests are sent without it`);
  }
  if (m.has('tls_config')) {
    const t = r.map(
      m.get('tls_config'),
      'tls_config',
      new Set([
        'ca_file',
        'cert_file',
        'key_file',
        'server_name',
        'insecure_skip_verify',
        'min_version',
        'max_version',
      ]),
    );
    const tls: TLSConfig = {
      insecureSkipVerify: r.bool(t.get('insecure_skip_verify'), 'insecure_skip_verify', false),
    };
    if (t.has('ca_file')) tls.caFile = r.path(r.str(t.get('ca_file'), 'ca_file'));
    if (t.has('cert_file')) tls.certFile = r.path(r.str(t.get('cert_file'), 'cert_file'));
    if (t.has('key_file')) tls.keyFile = r.path(r.str(t.get('key_file'), 'key_file'));
    if (t.has('server_name')) tls.serverName = r.str(t.get('server_name'), 'server_name');
    for (const [k, key] of [
      ['min_version', 'minVersion'],
      ['max_version', 'maxVersion'],
    ] as const) {
      if (!t.has(k)) continue;
      const v = r.str(t.get(k), k);
      if (!['TLS10', 'TLS11', 'TLS12', 'TLS13'].includes(v)) r.fail(t.get(k), `unknown TLS version: ${v}`);
      tls[key] = v;
    }
    if (!!tls.certFile !== !!tls.keyFile)
      r.fail(m.get('tls_config'), 'exactly one of key or cert file specified');
    h.tlsConfig = tls;
  }
  if (m.has('proxy_url')) h.proxyUrl = r.str(m.get('proxy_url'), 'proxy_url');
  if (m.has('proxy_connect_header') && !h.proxyUrl) {
    r.fail(
      m.get('proxy_connect_header'),
      'if proxy_connect_header is configured proxy_url must also be configured',
    );
  }
  if (h.proxyUrl) r.warnings.push(`${what}: proxy_url is not supported by promshard yet; requests go direct`);
  return h;
}

const HOSTPORT_BAD = /[/]/;

function readTargetGroups(
  r: Reader,
  node: Node | null | undefined,
  what: string,
  job: string,
): TargetGroup[] {
  const out: TargetGroup[] = [];
  r.seq(node, what).forEach((item, i) => {
    const m = r.map(item, 'static config', new Set(['targets', 'labels']));
    const targets = r.seq(m.get('targets'), 'targets').map((n) => {
      const t = r.str(n, 'target');
      if (HOSTPORT_BAD.test(t)) r.fail(n, `${JSON.stringify(t)} is not a valid hostname`);
      return t;
    });
    out.push({ targets, labels: r.labelSet(m.get('labels'), 'labels'), source: `${i}` });
  });
  for (const g of out) g.source = `static:${job}:${g.source}`;
  return out;
}

function readFileSD(r: Reader, node: Node | null | undefined): FileSDConfig[] {
  return r.seq(node, 'file_sd_configs').map((item) => {
    const m = r.map(item, 'file_sd_config', new Set(['files', 'refresh_interval']));
    const files = r.seq(m.get('files'), 'files').map((n) => {
      const f = r.str(n, 'file');
      if (!/\.(json|ya?ml)$/.test(f)) r.fail(n, `invalid file extension: ${JSON.stringify(f)}`);
      if (!/^[^*]*(\*[^/]*)?$/.test(f))
        r.fail(n, `path name ${JSON.stringify(f)} is not valid for file discovery`);
      return r.path(f);
    });
    if (files.length === 0) r.fail(item, 'file service discovery config must contain at least one path name');
    return { files, refreshInterval: r.duration(m.get('refresh_interval'), 'refresh_interval') ?? 300_000 };
  });
}

function readScrapeConfig(r: Reader, node: Node, g: GlobalConfig): ScrapeConfig {
  const m = r.map(node, 'scrape config', SCRAPE_KEYS);
  const jobName = r.str(m.get('job_name'), 'job_name');
  if (jobName === '') r.fail(node, 'job_name is empty');
  const what = `scrape config ${JSON.stringify(jobName)}`;
  const interval = r.duration(m.get('scrape_interval'), 'scrape_interval') ?? g.scrapeInterval;
  let timeout = r.duration(m.get('scrape_timeout'), 'scrape_timeout');
  if (timeout === undefined) timeout = g.scrapeTimeout > interval ? interval : g.scrapeTimeout;
  if (timeout > interval) {
    r.fail(
      m.get('scrape_timeout') ?? node,
      `scrape timeout greater than scrape interval for scrape config with job name ${JSON.stringify(jobName)}`,
    );
  }
  const scheme = r.str(m.get('scheme'), 'scheme', 'http') || 'http';
  if (scheme !== 'http' && scheme !== 'https') {
    r.fail(m.get('scheme'), `scheme ${JSON.stringify(scheme)} is not supported: use http or https`);
  }
  const params: Record<string, string[]> = {};
  for (const [k, v] of r.map(m.get('params'), 'params'))
    params[k] = r.seq(v, `params.${k}`).map((n) => r.str(n, 'param'));
  let bodySizeLimit = 0;
  if (m.has('body_size_limit')) {
    const s = r.str(m.get('body_size_limit'), 'body_size_limit');
    const b = parseSize(s);
    if (b === null) r.fail(m.get('body_size_limit'), `body_size_limit: invalid size ${JSON.stringify(s)}`);
    bodySizeLimit = b;
  }
  const unsupportedSd = OTHER_SD.filter((k) => m.has(k) && r.seq(m.get(k), k).length > 0);
  for (const k of unsupportedSd)
    r.warnings.push(`${what}: ${k} is not supported by promshard; those targets are not scraped`);
  const metricsPath = r.str(m.get('metrics_path'), 'metrics_path', '/metrics') || '/metrics';
  return {
    ...readHTTPClient(r, m, node, what),
    jobName,
    honorLabels: r.bool(m.get('honor_labels'), 'honor_labels', false),
    honorTimestamps: r.bool(m.get('honor_timestamps'), 'honor_timestamps', true),
    params,
    scrapeInterval: interval,
    scrapeTimeout: timeout,
    metricsPath,
    scheme: scheme as 'http' | 'https',
    bodySizeLimit,
    sampleLimit: r.uint(m.get('sample_limit'), 'sample_limit'),
    targetLimit: r.uint(m.get('target_limit'), 'target_limit'),
    labelLimit: r.uint(m.get('label_limit'), 'label_limit'),
    labelNameLengthLimit: r.uint(m.get('label_name_length_limit'), 'label_name_length_limit'),
    labelValueLengthLimit: r.uint(m.get('label_value_length_limit'), 'label_value_length_limit'),
    staticConfigs: readTargetGroups(r, m.get('static_configs'), 'static_configs', jobName),
    fileSdConfigs: readFileSD(r, m.get('file_sd_configs')),
    relabelConfigs: readRelabel(r, m.get('relabel_configs'), 'relabel_configs'),
    metricRelabelConfigs: readRelabel(r, m.get('metric_relabel_configs'), 'metric_relabel_configs'),
    unsupportedSd,
    line: r.line(node) ?? 0,
  };
}

function readRemoteWrite(r: Reader, node: Node): RemoteWriteConfig {
  const m = r.map(
    node,
    'remote_write config',
    new Set([
      'url',
      'name',
      'remote_timeout',
      'headers',
      'write_relabel_configs',
      'send_exemplars',
      'send_native_histograms',
      'queue_config',
      'metadata_config',
      'sigv4',
      'azuread',
      ...HTTP_CLIENT_KEYS,
    ]),
  );
  const url = r.str(m.get('url'), 'url');
  if (url === '') r.fail(node, 'url for remote_write is empty');
  if (!/^https?:\/\/[^/]/.test(url)) r.fail(m.get('url'), `invalid remote_write url ${JSON.stringify(url)}`);
  const headers: Record<string, string> = {};
  for (const [k, v] of r.map(m.get('headers'), 'headers')) headers[k] = r.str(v, `headers.${k}`);
  const rw: RemoteWriteConfig = {
    ...readHTTPClient(r, m, node, 'remote_write'),
    url,
    remoteTimeout: r.duration(m.get('remote_timeout'), 'remote_timeout') ?? 30_000,
    headers,
    writeRelabelConfigs: readRelabel(r, m.get('write_relabel_configs'), 'write_relabel_configs'),
    sendExemplars: r.bool(m.get('send_exemplars'), 'send_exemplars', false),
    raw: (node.toJSON() ?? {}) as Record<string, unknown>,
  };
  if (m.has('name')) rw.name = r.str(m.get('name'), 'name');
  return rw;
}

/** Parses and validates a config text. `file` names the file in errors and anchors relative paths. */
export function parseConfig(text: string, file?: string): Config {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const prefix = file ? `parsing YAML file ${file}: ` : '';
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const msg = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError(prefix + msg, lc.linePos(e.pos[0]).line);
  }
  const warnings: string[] = [];
  const r = new Reader(lc, file ? dirname(resolve(file)) : process.cwd(), warnings);
  try {
    const top = r.map(
      doc.contents as Node | null,
      'the config',
      new Set([
        'global',
        'alerting',
        'rule_files',
        'scrape_configs',
        'storage',
        'tracing',
        'remote_write',
        'remote_read',
      ]),
    );
    const global = readGlobal(r, top.get('global'));
    const scrapeConfigs: ScrapeConfig[] = [];
    const jobs = new Set<string>();
    for (const item of r.seq(top.get('scrape_configs'), 'scrape_configs')) {
      const sc = readScrapeConfig(r, item, global);
      if (jobs.has(sc.jobName))
        r.fail(item, `found multiple scrape configs with job name ${JSON.stringify(sc.jobName)}`);
      jobs.add(sc.jobName);
      scrapeConfigs.push(sc);
    }
    const ruleFiles = r.seq(top.get('rule_files'), 'rule_files').map((n) => {
      const f = r.str(n, 'rule file');
      if (!/^[^*]*(\*[^/]*)?$/.test(f)) r.fail(n, `invalid rule file path ${JSON.stringify(f)}`);
      return r.path(f);
    });
    const remoteWrite = r.seq(top.get('remote_write'), 'remote_write').map((n) => readRemoteWrite(r, n));
    const names = new Set<string>();
    for (const rw of remoteWrite) {
      if (rw.name === undefined || rw.name === '') continue;
      if (names.has(rw.name))
        throw new ConfigError(`found multiple remote write configs with job name ${JSON.stringify(rw.name)}`);
      names.add(rw.name);
    }
    const cfg: Config = {
      global,
      scrapeConfigs,
      ruleFiles,
      remoteWrite,
      remoteRead: r.seq(top.get('remote_read'), 'remote_read').map((n) => n.toJSON()),
      warnings,
      source: text,
    };
    if (file) cfg.file = resolve(file);
    for (const k of ['alerting', 'storage', 'tracing'] as const) {
      if (top.has(k)) {
        cfg[k] = top.get(k)?.toJSON();
        warnings.push(`${k} is parsed but not used by promshard yet`);
      }
    }
    return cfg;
  } catch (err) {
    if (err instanceof ConfigError && prefix)
      throw new ConfigError(prefix + err.message.replace(/^line \d+: /, ''), err.line);
    throw err;
  }
}

/** Reads and parses a config file. */
export function loadConfigFile(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  return parseConfig(text, file);
}
