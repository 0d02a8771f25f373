// Server wiring: config, storage (the sharded coordinator), PromQL engine, HTTP API, signals.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_CONFIG_YAML } from '../config/default.js';
import { loadConfigFile, parseConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { StorageEngine } from '../coordinator/index.js';
import { buildApp } from '../http/app.js';
import { federateRoutes } from '../http/federate.js';
import { formatPromDuration } from '../http/params.js';
import type { AdminStorage, BuildInfo, RuntimeInfo, TsdbStatus } from '../http/providers.js';
import { Engine } from '../promql/engine.js';
import { remoteReadRoutes } from '../remote/read-handler.js';
import { destinationFromConfig, RemoteWriteQueue, senderStateFile, TeeAppendable } from '../remote/sender.js';
import { remoteWriteRoutes } from '../remote/write-handler.js';
import { ScrapeManager } from '../scrape/manager.js';
import { labelsFromObject } from '../shared/labels.js';
import { packageRoot } from '../shared/package-root.js';
import type { ServerFlags } from './flags.js';
import type { Logger } from './log.js';
import { createRegistry } from './metrics.js';

export interface RunningServer {
  /** `http://host:port` the server listens on. */
  readonly url: string;
  readonly storage: StorageEngine;
  reload(): Promise<void>;
  /** Graceful stop: HTTP closes (in-flight requests finish), then the shards drain appends and close WALs. */
  close(): Promise<void>;
  /** Resolves once the server stopped (by close, /-/quit or a storage failure), with the exit code. */
  readonly stopped: Promise<number>;
}

/** The storage's admin operations, once it has them (the coordinator does not implement them yet). */
function adminOf(storage: object): AdminStorage | undefined {
  const s = storage as Partial<AdminStorage>;
  return typeof s.snapshot === 'function' &&
    typeof s.deleteSeries === 'function' &&
    typeof s.cleanTombstones === 'function'
    ? (storage as AdminStorage)
    : undefined;
}

/** The storage's own cardinality statistics, when it has them (else the API computes them by reading). */
function tsdbStatusOf(storage: object): (() => Promise<TsdbStatus>) | undefined {
  const s = storage as { tsdbStatus?: () => Promise<TsdbStatus> };
  return typeof s.tsdbStatus === 'function' ? () => s.tsdbStatus!() : undefined;
}

export function version(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string })
    .version;
}

function loadConfig(flags: ServerFlags, log: Logger): Config {
  if (!flags.configFileSet && !existsSync(flags.configFile)) {
    log.info('No configuration file found, using the built-in default (scrapes itself)', {
      file: flags.configFile,
    });
    return parseConfig(DEFAULT_CONFIG_YAML);
  }
  return loadConfigFile(flags.configFile);
}

export async function startServer(flags: ServerFlags, log: Logger): Promise<RunningServer> {
  const startTime = new Date();
  let config = loadConfig(flags, log);
  let lastConfigTime = new Date();
  let reloadOk = true;
  log.info('Loaded configuration', { file: config.file ?? '(built-in)' });
  for (const w of config.warnings) log.warn(w);

  mkdirSync(flags.storagePath, { recursive: true });
  let stopResolve!: (code: number) => void;
  const stopped = new Promise<number>((r) => {
    stopResolve = r;
  });
  let closing: Promise<void> | null = null;

  const storage = await StorageEngine.open(flags.storagePath, {
    shards: flags.shards,
    chunkRangeMs: flags.minBlockDurationMs,
    maxBlockDurationMs: flags.maxBlockDurationMs,
    retentionMs: flags.retentionTimeMs,
    retentionBytes: flags.retentionSizeBytes,
    futureGraceMs: flags.futureGraceMs,
    logger: { warn: (m) => log.warn(m), error: (m) => log.error(m) },
    onFailure: (err) => {
      log.error('Storage failed, shutting down', { err });
      void close(1);
    },
  });
  const replayed = storage.replay.reduce((n, r) => n + r.samples, 0);
  log.info('TSDB started', {
    shards: storage.shardCount,
    replayed_samples: replayed,
    path: flags.storagePath,
  });

  const engine = new Engine(storage, {
    lookbackDelta: flags.lookbackDeltaMs,
    maxSamples: flags.queryMaxSamples,
    timeoutMs: flags.queryTimeoutMs,
    defaultEvalInterval: config.global.evaluationInterval,
  });
  const registry = createRegistry(() => storage);
  const externalLabels = () => labelsFromObject(config.global.externalLabels);
  // Everything appended (remote write now, scraping when wired) is also queued for remote_write destinations.
  const tee = new TeeAppendable(storage);
  const startSenders = () => {
    const old = tee.queues;
    tee.queues = config.remoteWrite.map((rw, i) => {
      const dest = destinationFromConfig(rw, i);
      return new RemoteWriteQueue(
        dest,
        externalLabels,
        registry,
        undefined,
        senderStateFile(flags.storagePath, dest),
        storage,
      );
    });
    for (const q of tee.queues)
      log.info('Starting remote_write queue', { remote_name: q.dest.name, url: q.dest.url });
    return Promise.all(old.map((q) => q.close(flags.remoteFlushDeadlineMs)));
  };
  void startSenders();
  // What was queued or in flight when promshard last stopped is read back from the storage and sent.
  for (const q of tee.queues) {
    const from = q.resume(storage, Date.now());
    if (from !== undefined)
      log.info('Resuming remote_write from where it stopped', {
        remote_name: q.dest.name,
        from: new Date(from).toISOString(),
      });
  }
  const scrape = new ScrapeManager(tee, {
    log: (msg, fields) => log.warn(msg, fields),
    timestampToleranceMs: flags.scrapeTimestampToleranceMs,
  });
  const retention = flags.retentionTimeMs > 0 ? formatPromDuration(flags.retentionTimeMs) : '';
  const sizeRetention = flags.raw['storage.tsdb.retention.size'];
  const storageRetention =
    [retention, flags.retentionSizeBytes > 0 ? sizeRetention : ''].filter((s) => s !== '').join(' or ') ||
    'unlimited';

  const buildInfo: BuildInfo = {
    version: version(),
    revision: 'unknown',
    branch: 'unknown',
    buildUser: 'unknown',
    buildDate: 'unknown',
    goVersion: `node ${process.version}`,
  };
  const runtimeInfo = (): RuntimeInfo => ({
    startTime: startTime.toISOString(),
    CWD: process.cwd(),
    reloadConfigSuccess: reloadOk,
    lastConfigTime: lastConfigTime.toISOString(),
    corruptionCount: 0,
    goroutineCount: storage.shardCount + 1,
    GOMAXPROCS: storage.shardCount,
    GOGC: '',
    GODEBUG: '',
    storageRetention,
  });

  async function reload(): Promise<void> {
    try {
      const next = loadConfig(flags, log);
      await scrape.applyConfig(next);
      config = next;
      void startSenders();
      reloadOk = true;
      lastConfigTime = new Date();
      log.info('Completed loading of configuration file', { file: config.file ?? '(built-in)' });
    } catch (e) {
      reloadOk = false;
      log.error('Error reloading config', { err: e });
      throw e;
    }
  }

  const app = buildApp({
    queryable: storage,
    engine,
    appendable: tee,
    flags: flags.raw,
    configYaml: () => config.source,
    enableAdminApi: flags.enableAdminApi,
    admin: adminOf(storage),
    tsdbStatus: tsdbStatusOf(storage),
    enableLifecycle: flags.enableLifecycle,
    enableRemoteWriteReceiver: flags.enableRemoteWriteReceiver,
    queryTimeoutMs: flags.queryTimeoutMs,
    storagePath: flags.storagePath,
    buildInfo,
    runtimeInfo,
    registry,
    targets: scrape,
    corsOrigin: new RegExp(`^(?:${flags.corsOrigin})$`),
    reload,
    quit: () => {
      log.warn('Received termination request via web service, exiting gracefully...');
      void close(0);
    },
    routes: [
      remoteWriteRoutes({
        enabled: flags.enableRemoteWriteReceiver,
        maxBodyBytes: flags.remoteWriteMaxBodyBytes,
        limits: { maxLabelsPerSeries: flags.remoteWriteMaxLabels },
        registry,
      }),
      remoteReadRoutes({ externalLabels, sampleLimit: flags.remoteReadSampleLimit }),
      federateRoutes({ externalLabels, lookbackDeltaMs: flags.lookbackDeltaMs }),
    ],
  });

  try {
    await app.listen({
      host: flags.listenHost === '' ? '0.0.0.0' : flags.listenHost,
      port: flags.listenPort,
    });
  } catch (e) {
    await storage.close();
    throw e;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : flags.listenPort;
  const host = flags.listenHost === '' || flags.listenHost === '0.0.0.0' ? '127.0.0.1' : flags.listenHost;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log.info('Server is ready to receive web requests.', { address: `${flags.listenHost}:${port}` });
  try {
    await scrape.applyConfig(config);
    log.info('Scrape manager started', { jobs: config.scrapeConfigs.length });
  } catch (e) {
    log.error('Error applying the scrape configuration', { err: e });
    await close(1);
    throw e;
  }

  function close(code = 0): Promise<void> {
    if (closing === null) {
      closing = (async () => {
        log.info('Stopping scrape manager...');
        try {
          await scrape.stop();
        } catch (e) {
          log.error('Error stopping the scrape manager', { err: e });
        }
        log.info('Stopping the web server...');
        try {
          await app.close();
        } catch (e) {
          log.error('Error stopping the web server', { err: e });
        }
        log.info('Flushing remote_write queues...');
        await Promise.all(tee.queues.map((q) => q.close(flags.remoteFlushDeadlineMs)));
        log.info('Stopping storage (draining appends, closing WAL)...');
        try {
          await storage.close();
        } catch (e) {
          log.error('Error closing storage', { err: e });
          code = code || 1;
        }
        log.info('See you next time!');
        stopResolve(code);
      })();
    }
    return closing;
  }

  return { url, storage, reload, close: () => close(0), stopped };
}

/** Runs the server until a signal, /-/quit or a storage failure; returns the exit code. */
export async function run(flags: ServerFlags, log: Logger): Promise<number> {
  let server: RunningServer;
  try {
    server = await startServer(flags, log);
  } catch (e) {
    log.error('Failed to start', { err: e, path: resolve(flags.storagePath) });
    return 1;
  }
  const onStop = (sig: string) => {
    log.warn(`Received ${sig}, exiting gracefully...`);
    void server.close();
  };
  const onHup = () => {
    server.reload().catch(() => {});
  };
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('SIGHUP', onHup);
  const code = await server.stopped;
  process.off('SIGTERM', onStop);
  process.off('SIGINT', onStop);
  process.off('SIGHUP', onHup);
  return code;
}
