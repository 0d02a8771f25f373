/**
 * The scrape manager: one pool per scrape config (job), fed by static_configs and file_sd_configs, one loop
 * per target. Reloading applies a new config without losing a cycle: unchanged jobs keep running untouched;
 * a changed job's targets continue from their previous loop (same next scrape time, previous series handed
 * over for staleness, the scrape cache kept when the labels it holds are still valid). Targets that go away
 * get stale markers. A config that fails to load or apply is refused and the running one stays.
 */

import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { Agent, type Dispatcher, interceptors } from 'undici';
import { loadConfigFile } from '../config/load.js';
import type { Config, ScrapeConfig, TargetGroup } from '../config/types.js';
import type { Appendable } from '../shared/ingest.js';
import type { Labels } from '../shared/labels.js';
import { FileSD } from './file-sd.js';
import { type Health, type LoopHandover, newScrapeStats, ScrapeLoop, type ScrapeStats } from './loop.js';
import type { MetricMetadata } from './series-cache.js';
import {
  type CompiledScrapeConfig,
  compileScrapeConfig,
  type DroppedTarget,
  fnv64a,
  pairsToObject,
  type Target,
  type TargetError,
  targetsFromGroups,
} from './target.js';

export type Log = (msg: string, fields: Record<string, unknown>) => void;

/** One active target as /api/v1/targets shows it. */
export interface ActiveTargetInfo {
  discoveredLabels: Record<string, string>;
  labels: Record<string, string>;
  scrapePool: string;
  scrapeUrl: string;
  globalUrl: string;
  lastError: string;
  /** Wall-clock ms of the last scrape's start; 0 when never scraped. */
  lastScrape: number;
  /** Seconds. */
  lastScrapeDuration: number;
  health: Health;
  scrapeInterval: string;
  scrapeTimeout: string;
}

export interface DroppedTargetInfo {
  discoveredLabels: Record<string, string>;
}

/** One metric family of one target, as /api/v1/targets/metadata shows it. */
export interface TargetMetadataInfo {
  target: Record<string, string>;
  metric: string;
  type: string;
  help: string;
  unit: string;
}

export interface ManagerOptions {
  log?: Log;
  /** Mixed into every target's hash (Prometheus: hostname and external labels), so that two servers scraping the same targets do not scrape in lock step. */
  jitterSeed?: bigint;
  /**
   * After every scrape: its duration as scrape_duration_seconds (request until body read, as 2.42), whether it
   * succeeded, and the whole cycle's time (parse, relabelling and the storage append included).
   */
  onScrape?: (durationSeconds: number, ok: boolean, cycleSeconds: number) => void;
  /** The host name that replaces localhost in globalUrl (default: os.hostname()). */
  hostname?: string;
  /** --scrape.timestamp-tolerance in ms, 0 for --no-scrape.adjust-timestamps (LoopOptions). */
  timestampToleranceMs?: number;
}

/** Prometheus 2.42's --scrape.timestamp-tolerance default. */
export const DEFAULT_TIMESTAMP_TOLERANCE_MS = 2;

function jobKey(sc: ScrapeConfig): string {
  return JSON.stringify({ ...sc, line: 0 });
}

/** Config fields that decide the labels in a loop's scrape cache. */
function cacheKey(sc: ScrapeConfig): string {
  return JSON.stringify([
    sc.honorLabels,
    sc.metricRelabelConfigs,
    sc.labelLimit,
    sc.labelNameLengthLimit,
    sc.labelValueLengthLimit,
  ]);
}

function formatSeconds(ms: number): string {
  if (ms % 3600000 === 0) return `${ms / 3600000}h`;
  if (ms % 60000 === 0) return `${ms / 60000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

class ScrapePool {
  readonly loops = new Map<string, ScrapeLoop>();
  dropped: DroppedTarget[] = [];
  errors: TargetError[] = [];
  private readonly fileSds: FileSD[] = [];
  private readonly dispatcher: Dispatcher;
  private readonly agent: Agent;
  private stopped = false;
  /** Set when the pool takes over (apply); before that, discovery updates must not start loops. */
  private active = false;

  constructor(
    readonly sc: CompiledScrapeConfig,
    private readonly appendable: Appendable,
    private readonly opts: ManagerOptions,
    private readonly totals: ScrapeStats,
  ) {
    const cfg = sc.cfg;
    const tls = cfg.tlsConfig;
    const connect: Record<string, unknown> = {};
    // Read TLS files now: a missing file refuses the config instead of failing every scrape.
    if (tls) {
      if (tls.caFile) connect.ca = readFileSync(tls.caFile);
      if (tls.certFile) connect.cert = readFileSync(tls.certFile);
      if (tls.keyFile) connect.key = readFileSync(tls.keyFile);
      if (tls.serverName) connect.servername = tls.serverName;
      connect.rejectUnauthorized = !tls.insecureSkipVerify;
      if (tls.minVersion) connect.minVersion = `TLSv1.${tls.minVersion.slice(4)}`.replace('TLSv1.0', 'TLSv1');
      if (tls.maxVersion) connect.maxVersion = `TLSv1.${tls.maxVersion.slice(4)}`.replace('TLSv1.0', 'TLSv1');
    }
    this.agent = new Agent({
      keepAliveTimeout: Math.max(4000, cfg.scrapeInterval * 2),
      keepAliveMaxTimeout: Math.max(600_000, cfg.scrapeInterval * 2),
      connections: 2,
      connect,
    });
    this.dispatcher = cfg.followRedirects
      ? this.agent.compose(interceptors.redirect({ maxRedirections: 10 }))
      : this.agent;
    for (const f of cfg.fileSdConfigs) this.fileSds.push(new FileSD(f, () => this.sync(), opts.log));
  }

  get name(): string {
    return this.sc.cfg.jobName;
  }

  async discover(): Promise<void> {
    await Promise.all(this.fileSds.map((f) => f.start()));
  }

  groups(): TargetGroup[] {
    const out: TargetGroup[] = [...this.sc.cfg.staticConfigs];
    for (const f of this.fileSds) out.push(...f.groups());
    return out;
  }

  private async authHeaders(): Promise<Record<string, string>> {
    const cfg = this.sc.cfg;
    if (cfg.basicAuth) {
      const b = cfg.basicAuth;
      const pw = b.passwordFile ? (await readFile(b.passwordFile, 'utf8')).trim() : (b.password ?? '');
      return { authorization: `Basic ${Buffer.from(`${b.username}:${pw}`).toString('base64')}` };
    }
    if (cfg.authorization) {
      const a = cfg.authorization;
      const cred = a.credentialsFile
        ? (await readFile(a.credentialsFile, 'utf8')).trim()
        : (a.credentials ?? '');
      return { authorization: `${a.type} ${cred}` };
    }
    return {};
  }

  private newLoop(target: Target, handover?: LoopHandover): ScrapeLoop {
    const cfg = this.sc.cfg;
    const needsAuth = cfg.basicAuth !== undefined || cfg.authorization !== undefined;
    return new ScrapeLoop(
      {
        appendable: this.appendable,
        dispatcher: this.dispatcher,
        sc: this.sc,
        target,
        headers: needsAuth ? () => this.authHeaders() : undefined,
        jitterSeed: this.opts.jitterSeed,
        log: this.opts.log,
        onScrape: this.opts.onScrape,
        totals: this.totals,
        timestampToleranceMs: this.opts.timestampToleranceMs ?? DEFAULT_TIMESTAMP_TOLERANCE_MS,
      },
      handover,
    );
  }

  /**
   * Brings the loops in line with the discovered targets. `previous` (on reload) offers the loops of the
   * pool this one replaces, by URL and public labels.
   */
  sync(previous?: ScrapePool, keepCache = false): void {
    if (this.stopped || !this.active) return;
    const { active, dropped, errors } = targetsFromGroups(this.sc, this.groups());
    this.dropped = dropped;
    this.errors = errors;
    for (const e of errors)
      this.opts.log?.('invalid target', { job: this.name, err: e.error, labels: e.discovered });
    const want = new Map<string, Target>();
    for (const t of active) want.set(t.key, t);
    for (const [key, loop] of this.loops) {
      if (!want.has(key)) {
        this.loops.delete(key);
        void loop.stop(true);
      }
    }
    const prevByIdentity = new Map<string, ScrapeLoop>();
    if (previous) for (const l of previous.loops.values()) prevByIdentity.set(identity(l.target), l);
    for (const [key, t] of want) {
      if (this.loops.has(key)) continue;
      const old = prevByIdentity.get(identity(t));
      let loop: ScrapeLoop;
      if (old) {
        prevByIdentity.delete(identity(t));
        previous!.loops.delete(old.target.key);
        const firstAt = old.target.interval === t.interval ? old.nextScrapeAt : undefined;
        loop = this.newLoop(t, old.handover(keepCache));
        // The old loop must not scrape again; its in-flight scrape (if any) is discarded by the stop.
        void old.stop(false);
        loop.start(firstAt);
      } else {
        loop = this.newLoop(t);
        loop.start();
      }
      this.loops.set(key, loop);
    }
    const limit = this.sc.cfg.targetLimit;
    const over = limit > 0 && this.loops.size > limit;
    for (const loop of this.loops.values()) {
      loop.forcedError = over
        ? `target_limit exceeded (number of targets: ${this.loops.size}, limit: ${limit})`
        : null;
    }
  }

  /** Starts the pool's loops, taking over the loops of `previous` (the pool of the same job it replaces). */
  activate(previous?: ScrapePool, keepCache = false): void {
    this.active = true;
    this.sync(previous, keepCache);
  }

  /** Stops everything; with staleness, every target's series get stale markers (resolves when written). */
  async stop(staleness: boolean): Promise<void> {
    this.stopped = true;
    for (const f of this.fileSds) f.stop();
    const loops = [...this.loops.values()];
    this.loops.clear();
    await Promise.all(loops.map((l) => l.stop(staleness)));
    await this.agent.close().catch(() => undefined);
  }

  /** Stops discovery and the HTTP agent once the loops have moved to a replacement pool. */
  async retire(): Promise<void> {
    this.stopped = true;
    for (const f of this.fileSds) f.stop();
    const leftovers = [...this.loops.values()];
    this.loops.clear();
    await Promise.all(leftovers.map((l) => l.stop(true)));
    await this.agent.close().catch(() => undefined);
  }
}

function identity(t: Target): string {
  return `${t.url}\xff${t.labels.join('\xff')}`;
}

export class ScrapeManager {
  private pools = new Map<string, ScrapePool>();
  private poolKeys = new Map<string, string>();
  private config: Config | null = null;
  private applying: Promise<void> = Promise.resolve();

  private readonly opts: ManagerOptions;
  /** Counters summed over every loop this manager ran (for /metrics). */
  readonly totals: ScrapeStats = newScrapeStats();

  constructor(
    private readonly appendable: Appendable,
    opts: ManagerOptions = {},
  ) {
    this.opts = { ...opts };
  }

  get currentConfig(): Config | null {
    return this.config;
  }

  /** Applies a validated config (the first one, or a reload). Throws and keeps the running config on error. */
  applyConfig(cfg: Config): Promise<void> {
    const run = this.applying.then(() => this.apply(cfg));
    this.applying = run.catch(() => undefined);
    return run;
  }

  /** Loads a config file and applies it; a bad file is refused (the error is thrown) and the old config stays. */
  async reloadFromFile(file: string): Promise<void> {
    const cfg = loadConfigFile(file);
    await this.applyConfig(cfg);
  }

  private async apply(cfg: Config): Promise<void> {
    // As Prometheus: the host name and external labels seed the targets' phases, so that two servers with
    // different external labels scraping the same targets do not hit them at the same instant.
    if (this.opts.jitterSeed === undefined) {
      this.opts.jitterSeed = fnv64a(hostname() + JSON.stringify(cfg.global.externalLabels));
    }
    // Build every new or changed pool first: anything that fails leaves the running config untouched.
    const next = new Map<string, ScrapePool>();
    const created: ScrapePool[] = [];
    try {
      for (const sc of cfg.scrapeConfigs) {
        const key = jobKey(sc);
        const old = this.pools.get(sc.jobName);
        if (old && this.poolKeys.get(sc.jobName) === key) {
          next.set(sc.jobName, old);
          continue;
        }
        const pool = new ScrapePool(compileScrapeConfig(sc), this.appendable, this.opts, this.totals);
        created.push(pool);
        next.set(sc.jobName, pool);
      }
      await Promise.all(created.map((p) => p.discover()));
    } catch (err) {
      await Promise.all(created.map((p) => p.stop(false)));
      throw err;
    }
    // Switch over.
    const retiring: Promise<void>[] = [];
    for (const pool of created) {
      const old = this.pools.get(pool.name);
      const keepCache = old !== undefined && cacheKey(old.sc.cfg) === cacheKey(pool.sc.cfg);
      pool.activate(old, keepCache);
      if (old) retiring.push(old.retire());
    }
    for (const [name, pool] of this.pools) if (!next.has(name)) retiring.push(pool.stop(true));
    this.pools = next;
    this.poolKeys = new Map(cfg.scrapeConfigs.map((sc) => [sc.jobName, jobKey(sc)]));
    this.config = cfg;
    void Promise.all(retiring).catch((err) =>
      this.opts.log?.('stopping old scrape pools failed', { err: String(err) }),
    );
  }

  /** Stops all loops without stale markers (shutdown, as Prometheus). */
  async stop(): Promise<void> {
    await this.applying;
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.stop(false)));
  }

  /** Per job: active, dropped and invalid targets (prometheus_sd_discovered_targets and friends). */
  poolSizes(): { job: string; active: number; dropped: number; invalid: number }[] {
    return [...this.pools.values()].map((p) => ({
      job: p.name,
      active: p.loops.size,
      dropped: p.dropped.length,
      invalid: p.errors.length,
    }));
  }

  /** Every loop, for tests and the server's own metrics. */
  loops(): ScrapeLoop[] {
    const out: ScrapeLoop[] = [];
    for (const p of this.pools.values()) out.push(...p.loops.values());
    return out;
  }

  /** The data of /api/v1/targets. */
  targets(): { activeTargets: ActiveTargetInfo[]; droppedTargets: DroppedTargetInfo[] } {
    const activeTargets: ActiveTargetInfo[] = [];
    const droppedTargets: DroppedTargetInfo[] = [];
    const host = this.opts.hostname ?? hostname();
    for (const pool of this.pools.values()) {
      for (const loop of pool.loops.values()) {
        const t = loop.target;
        const u = new URL(t.url);
        if (u.hostname === 'localhost' || u.hostname === '127.0.0.1' || u.hostname === '[::1]')
          u.hostname = host;
        const globalUrl = u.toString();
        activeTargets.push({
          discoveredLabels: { ...t.discovered },
          labels: pairsToObject(t.labels),
          scrapePool: pool.name,
          scrapeUrl: t.url,
          globalUrl,
          lastError: loop.lastError,
          lastScrape: loop.lastScrape,
          lastScrapeDuration: loop.lastScrapeDuration,
          health: loop.health,
          scrapeInterval: formatSeconds(t.interval),
          scrapeTimeout: formatSeconds(t.timeout),
        });
      }
      for (const d of pool.dropped) droppedTargets.push({ discoveredLabels: { ...d.discovered } });
    }
    return { activeTargets, droppedTargets };
  }

  /** Every metric family of every active target, flattened. */
  metadataList(): TargetMetadataInfo[] {
    const out: TargetMetadataInfo[] = [];
    for (const pool of this.pools.values()) {
      for (const loop of pool.loops.values()) {
        const target = pairsToObject(loop.target.labels);
        for (const [metric, m] of loop.cache.metadata) {
          out.push({ target, metric, type: m.type, help: m.help, unit: m.unit });
        }
      }
    }
    return out;
  }

  // --- The TargetsProvider surface of src/http/providers.ts (structural: scraping does not import HTTP). ---

  activeTargets(): {
    discoveredLabels: Record<string, string>;
    labels: Record<string, string>;
    scrapePool: string;
    scrapeUrl: string;
    globalUrl: string;
    lastError: string;
    lastScrape: number;
    lastScrapeDurationSeconds: number;
    health: Health;
    scrapeIntervalSeconds: number;
    scrapeTimeoutSeconds: number;
  }[] {
    const intervals = new Map<string, [number, number]>();
    for (const pool of this.pools.values()) {
      for (const loop of pool.loops.values())
        intervals.set(loop.target.url + pool.name, [loop.target.interval, loop.target.timeout]);
    }
    return this.targets().activeTargets.map((t) => {
      const [iv, to] = intervals.get(t.scrapeUrl + t.scrapePool) ?? [0, 0];
      return {
        discoveredLabels: t.discoveredLabels,
        labels: t.labels,
        scrapePool: t.scrapePool,
        scrapeUrl: t.scrapeUrl,
        globalUrl: t.globalUrl,
        lastError: t.lastError,
        lastScrape: t.lastScrape,
        lastScrapeDurationSeconds: t.lastScrapeDuration,
        health: t.health,
        scrapeIntervalSeconds: iv / 1000,
        scrapeTimeoutSeconds: to / 1000,
      };
    });
  }

  droppedTargets(): DroppedTargetInfo[] {
    return this.targets().droppedTargets;
  }

  /** Per active target (its labels as a sorted Label list), the metric families it exposed. */
  targetMetadata(): {
    target: Labels;
    metadata: { metric: string; type: string; help: string; unit: string }[];
  }[] {
    const out: {
      target: Labels;
      metadata: { metric: string; type: string; help: string; unit: string }[];
    }[] = [];
    for (const pool of this.pools.values()) {
      for (const loop of pool.loops.values()) {
        const tl = loop.target.labels;
        const target: { name: string; value: string }[] = [];
        for (let i = 0; i < tl.length; i += 2) target.push({ name: tl[i], value: tl[i + 1] });
        const metadata: { metric: string; type: string; help: string; unit: string }[] = [];
        for (const [metric, m] of loop.cache.metadata)
          metadata.push({ metric, type: m.type, help: m.help, unit: m.unit });
        out.push({ target, metadata });
      }
    }
    return out;
  }

  /** The data of /api/v1/metadata: per metric family, its distinct (type, help, unit). */
  metadata(): Record<string, { type: string; help: string; unit: string }[]> {
    const out: Record<string, { type: string; help: string; unit: string }[]> = {};
    const seen = new Set<string>();
    for (const pool of this.pools.values()) {
      for (const loop of pool.loops.values()) {
        for (const [metric, m] of loop.cache.metadata as Map<string, MetricMetadata>) {
          const k = `${metric}\xff${m.type}\xff${m.help}\xff${m.unit}`;
          if (seen.has(k)) continue;
          seen.add(k);
          const list = out[metric] ?? [];
          list.push({ type: m.type, help: m.help, unit: m.unit });
          out[metric] = list;
        }
      }
    }
    return out;
  }
}
