/**
 * promshard's configuration: Prometheus 2.42's `prometheus.yml`, validated, with defaults applied. Durations
 * are milliseconds; relative file paths are already resolved against the config file's directory.
 */

export const RELABEL_ACTIONS = [
  'replace',
  'keep',
  'drop',
  'keepequal',
  'dropequal',
  'hashmod',
  'labelmap',
  'labeldrop',
  'labelkeep',
  'lowercase',
  'uppercase',
] as const;
export type RelabelAction = (typeof RELABEL_ACTIONS)[number];

export interface RelabelConfig {
  sourceLabels: string[];
  /** Default ";". */
  separator: string;
  /** The regex as written (default "(.*)"); it is matched anchored, as `^(?:regex)$`. */
  regex: string;
  /** Default 0. */
  modulus: number;
  targetLabel: string;
  /** Default "$1". */
  replacement: string;
  /** Default replace. */
  action: RelabelAction;
}

export interface BasicAuth {
  username: string;
  password?: string;
  passwordFile?: string;
}

export interface Authorization {
  /** Default "Bearer". */
  type: string;
  credentials?: string;
  credentialsFile?: string;
}

export interface TLSConfig {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  serverName?: string;
  insecureSkipVerify: boolean;
  minVersion?: string;
  maxVersion?: string;
}

/** The HTTP client options shared by scrape and remote write configs (Prometheus' common HTTPClientConfig). */
export interface HTTPClientConfig {
  basicAuth?: BasicAuth;
  /** bearer_token / bearer_token_file are folded in here as type Bearer, as Prometheus does. */
  authorization?: Authorization;
  tlsConfig?: TLSConfig;
  proxyUrl?: string;
  /** Default true. */
  followRedirects: boolean;
  /** Default true. */
  enableHttp2: boolean;
  /** oauth2 is parsed but not supported yet: its presence is reported as a warning. */
  oauth2?: unknown;
}

/** A group of targets sharing labels (static_configs, or one group of a file_sd file). */
export interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
  /** Where it came from (for /api/v1/targets and logs): "static:<job>:<i>" or the file path and index. */
  source: string;
}

export interface FileSDConfig {
  files: string[];
  /** Default 5m. */
  refreshInterval: number;
}

export interface ScrapeConfig extends HTTPClientConfig {
  jobName: string;
  /** Default false. */
  honorLabels: boolean;
  /** Default true. */
  honorTimestamps: boolean;
  params: Record<string, string[]>;
  /** Default: the global scrape_interval. */
  scrapeInterval: number;
  /** Default: the global scrape_timeout, or the interval when that is shorter. */
  scrapeTimeout: number;
  /** Default /metrics. */
  metricsPath: string;
  /** Default http. */
  scheme: 'http' | 'https';
  /** Bytes; 0 means no limit. */
  bodySizeLimit: number;
  sampleLimit: number;
  targetLimit: number;
  labelLimit: number;
  labelNameLengthLimit: number;
  labelValueLengthLimit: number;
  staticConfigs: TargetGroup[];
  fileSdConfigs: FileSDConfig[];
  relabelConfigs: RelabelConfig[];
  metricRelabelConfigs: RelabelConfig[];
  /** Service discovery mechanisms present in the file that promshard does not implement (e.g. kubernetes). */
  unsupportedSd: string[];
  /** 1-based line of the job in the config file. */
  line: number;
}

export interface GlobalConfig {
  /** Default 1m. */
  scrapeInterval: number;
  /** Default 10s (or the scrape interval when shorter). */
  scrapeTimeout: number;
  /** Default 1m. */
  evaluationInterval: number;
  externalLabels: Record<string, string>;
  queryLogFile?: string;
}

export interface RemoteWriteConfig extends HTTPClientConfig {
  url: string;
  name?: string;
  /** Default 30s. */
  remoteTimeout: number;
  headers: Record<string, string>;
  writeRelabelConfigs: RelabelConfig[];
  sendExemplars: boolean;
  /** The section as written (queue_config, metadata_config, sigv4, ...), for the remote-write issue. */
  raw: Record<string, unknown>;
}

export interface Config {
  global: GlobalConfig;
  scrapeConfigs: ScrapeConfig[];
  /** Glob patterns, resolved against the config directory. */
  ruleFiles: string[];
  remoteWrite: RemoteWriteConfig[];
  /** Sections kept as written for later issues. */
  remoteRead: unknown[];
  alerting?: unknown;
  storage?: unknown;
  tracing?: unknown;
  /** Things accepted (Prometheus accepts them) but not acted on by promshard. */
  warnings: string[];
  /** The file the config came from, if any. */
  file?: string;
  /** The text it was parsed from. */
  source: string;
}
