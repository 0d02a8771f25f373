// What the HTTP API reads from parts that are wired in later (scrape manager, TSDB admin, lifecycle).
// Each is optional: without it the endpoints answer what Prometheus answers with nothing configured.
import type { Labels } from '../shared/labels.js';
import type { Matcher } from '../shared/matchers.js';

/** One active scrape target, as `/api/v1/targets` lists it. */
export interface ActiveTarget {
  readonly discoveredLabels: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly scrapePool: string;
  readonly scrapeUrl: string;
  readonly globalUrl: string;
  readonly lastError: string;
  /** Wall-clock ms of the last scrape start (0: never). */
  readonly lastScrape: number;
  readonly lastScrapeDurationSeconds: number;
  readonly health: 'up' | 'down' | 'unknown';
  readonly scrapeIntervalSeconds?: number;
  readonly scrapeTimeoutSeconds?: number;
}

export interface DroppedTarget {
  readonly discoveredLabels: Readonly<Record<string, string>>;
}

/** Metric metadata a target exposed (`# TYPE`, `# HELP`, `# UNIT`). */
export interface MetricMetadata {
  readonly metric: string;
  readonly type: string;
  readonly help: string;
  readonly unit: string;
}

/** Implemented by the scrape manager. */
export interface TargetsProvider {
  activeTargets(): readonly ActiveTarget[];
  droppedTargets(): readonly DroppedTarget[];
  /** Metadata per active target; `target` is the target's labels. */
  targetMetadata(): readonly { readonly target: Labels; readonly metadata: readonly MetricMetadata[] }[];
}

/** Implemented by the storage (coordinator) for the admin endpoints. */
export interface AdminStorage {
  /** Writes a snapshot under `<dir>` (created by the caller) and returns nothing; the API picks the name. */
  snapshot(dir: string, withHead: boolean): Promise<void>;
  deleteSeries(matchers: readonly Matcher[], mint: number, maxt: number): Promise<void>;
  cleanTombstones(): Promise<void>;
}

/** `/api/v1/status/tsdb` data, as Prometheus' tsdbStatus. */
export interface TsdbStatus {
  readonly headStats: {
    readonly numSeries: number;
    readonly numLabelPairs: number;
    readonly chunkCount: number;
    readonly minTime: number;
    readonly maxTime: number;
  };
  readonly seriesCountByMetricName: readonly { name: string; value: number }[];
  readonly labelValueCountByLabelName: readonly { name: string; value: number }[];
  readonly memoryInBytesByLabelName: readonly { name: string; value: number }[];
  readonly seriesCountByLabelValuePair: readonly { name: string; value: number }[];
}

export interface BuildInfo {
  readonly version: string;
  readonly revision: string;
  readonly branch: string;
  readonly buildUser: string;
  readonly buildDate: string;
  readonly goVersion: string;
}

export interface RuntimeInfo {
  readonly startTime: string;
  readonly CWD: string;
  readonly reloadConfigSuccess: boolean;
  readonly lastConfigTime: string;
  readonly corruptionCount: number;
  readonly goroutineCount: number;
  readonly GOMAXPROCS: number;
  readonly GOGC: string;
  readonly GODEBUG: string;
  readonly storageRetention: string;
}
