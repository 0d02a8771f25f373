// The Prometheus HTTP API v1 on Fastify 5, built against interfaces (Queryable, QueryEngine, Appendable and
// the providers) so it runs with the coordinator and engine or with in-memory fakes.
import type { Readable } from 'node:stream';
import { createGzip, gzipSync, constants as zlibConstants } from 'node:zlib';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { installShardProfiling, withShardSection } from '../profile/routes.js';
import { type QueryEngine, QueryError } from '../promql/api.js';
import { parseExpr } from '../promql/parser.js';
import type { Appendable } from '../shared/ingest.js';
import type { Labels } from '../shared/labels.js';
import type { Matcher } from '../shared/matchers.js';
import type { Queryable } from '../shared/storage.js';
import { FormBody, requestForm } from './form.js';
import {
  ApiError,
  type ApiErrorType,
  errorJson,
  jsonString,
  labelSetsJson,
  labelsJson,
  renderQueryBody,
  stringArrayJson,
  successJson,
} from './format.js';
import { HttpMetrics } from './metrics.js';
import {
  isValidLabelName,
  MAX_TIME_MS,
  MIN_TIME_MS,
  ParamError,
  parseDurationNs,
  parseMatchersParam,
  parseMetricSelector,
  parseTime,
  parseTimeParam,
} from './params.js';
import type { AdminStorage, BuildInfo, RuntimeInfo, TargetsProvider, TsdbStatus } from './providers.js';

/** Extra routes (remote write/read, federation) register through this, with the app's error handling. */
export type RouteInstaller = (app: FastifyInstance, ctx: AppContext) => void;

export interface AppOptions {
  readonly queryable: Queryable;
  readonly engine: QueryEngine;
  readonly appendable?: Appendable;
  /** `/api/v1/status/flags`: every flag by Prometheus' name without dashes, values as strings. */
  readonly flags?: Readonly<Record<string, string>>;
  /** `/api/v1/status/config`: the loaded configuration as YAML. */
  readonly configYaml?: () => string;
  readonly enableAdminApi?: boolean;
  readonly enableLifecycle?: boolean;
  readonly enableRemoteWriteReceiver?: boolean;
  /** --query.timeout in ms (default 2m). */
  readonly queryTimeoutMs?: number;
  readonly targets?: TargetsProvider;
  readonly admin?: AdminStorage;
  /** The storage directory (snapshots go to `<dir>/snapshots/<name>`). */
  readonly storagePath?: string;
  readonly tsdbStatus?: () => Promise<TsdbStatus>;
  readonly buildInfo?: BuildInfo;
  readonly runtimeInfo?: () => RuntimeInfo;
  /** False while storage is starting (WAL replay): the API then answers 503 as Prometheus does. */
  readonly ready?: () => boolean;
  /** /-/reload: resolves when the config is reloaded, rejects with the reason. */
  readonly reload?: () => Promise<void>;
  /** /-/quit: starts a graceful shutdown. */
  readonly quit?: () => void;
  /** A prom-client registry for `/metrics`; the app adds its HTTP metrics to it. */
  readonly registry?: Registry;
  /** Clock for defaults (`time` of instant queries); tests pin it. */
  readonly now?: () => number;
  /** Extra route installers (remote write, remote read, federation). */
  readonly routes?: readonly RouteInstaller[];
  /** Largest url-encoded POST body (Go's ParseForm allows 10 MB). */
  readonly maxFormBytes?: number;
  /** Largest request line + headers; 1 MB GET queries must work (Go accepts them, Node's default is 16 KiB). */
  readonly maxHeaderBytes?: number;
  readonly logger?: boolean;
  /** Allowed CORS origins (--web.cors.origin, default `.*`). */
  readonly corsOrigin?: RegExp;
}

/** Shared pieces route installers use. */
export interface AppContext {
  readonly opts: AppOptions;
  readonly now: () => number;
  readonly ready: () => boolean;
}

const NOT_READY = 'Service Unavailable';

function sendError(reply: FastifyReply, type: ApiErrorType, message: string, status?: number): FastifyReply {
  return reply
    .code(status ?? new ApiError(type, message).status)
    .type('application/json')
    .send(errorJson(type, message));
}

function badParam(e: unknown, name: string): ApiError {
  return new ApiError('bad_data', `invalid parameter ${JSON.stringify(name)}: ${(e as Error).message}`);
}

/** Maps an engine failure to the API's error, as Prometheus' returnAPIError does. */
function queryFailure(e: unknown, timedOut: boolean, prefixBadData: boolean): ApiError {
  if (timedOut) {
    return new ApiError(
      'timeout',
      e instanceof QueryError && e.kind === 'timeout'
        ? e.message
        : 'query timed out in expression evaluation',
    );
  }
  if (e instanceof QueryError) {
    const msg =
      prefixBadData && e.kind === 'bad_data' ? `invalid parameter "query": ${e.message}` : e.message;
    return new ApiError(e.kind, msg);
  }
  if (e instanceof ApiError) return e;
  // Prometheus answers any other evaluation failure as `execution`.
  return new ApiError('execution', e instanceof Error ? e.message : String(e));
}

/** Prometheus' parser answers a query of only whitespace and comments with this (before evaluation). */
const NO_EXPRESSION = '1:1: parse error: no expression found in input';
function isEmptyQuery(q: string): boolean {
  return q.replace(/#[^\n]*/g, '').trim() === '';
}

/** PromQL syntax check for `/api/v1/query_exemplars` (it needs no evaluation). */
function checkPromqlSyntax(q: string): void {
  if (isEmptyQuery(q)) throw new ApiError('bad_data', NO_EXPRESSION);
  try {
    parseExpr(q);
  } catch (e) {
    throw new ApiError('bad_data', (e as Error).message);
  }
}

function parseGoBool(s: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  throw new Error(`unable to parse boolean: strconv.ParseBool: parsing ${JSON.stringify(s)}: invalid syntax`);
}

function parseLimit(s: string | undefined): number {
  if (s === undefined || s === '') return -1;
  if (!/^[+-]?\d+$/.test(s)) throw new ApiError('bad_data', 'limit must be a number');
  return Number(s);
}

/** Combines the client's disconnect and the query timeout into one signal. */
function querySignal(
  reply: FastifyReply,
  timeoutMs: number,
): { signal: AbortSignal; timedOut: () => boolean; done: () => void } {
  const ac = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort(new QueryError('timeout', 'query timed out in expression evaluation'));
  }, timeoutMs);
  timer.unref();
  const onClose = () => {
    if (!reply.raw.writableFinished) ac.abort(new QueryError('canceled', 'query was canceled'));
  };
  reply.raw.once('close', onClose);
  return {
    signal: ac.signal,
    timedOut: () => timedOut,
    done: () => {
      clearTimeout(timer);
      reply.raw.off('close', onClose);
    },
  };
}

const GO_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;
type Method = (typeof GO_METHODS)[number];
type Handler = (req: FastifyRequest, reply: FastifyReply) => Promise<unknown> | unknown;

/** Answers up to this size are gzipped synchronously (~1 ms of CPU at level 1), larger ones on the threadpool. */
const SYNC_GZIP_MAX = 512 * 1024;

/**
 * Builds the app. Call `listen` on the result; the HTTP server is created with a raised header limit so
 * that long GET query strings work.
 */
export function buildApp(opts: AppOptions): FastifyInstance {
  const now = opts.now ?? Date.now;
  const ready = opts.ready ?? (() => true);
  const queryTimeoutMs = opts.queryTimeoutMs ?? 120_000;
  const cors = opts.corsOrigin ?? /^(?:.*)$/;
  const corsAll = cors.source === '^(?:.*)$';

  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: opts.maxFormBytes ?? 10 * 1024 * 1024,
    http: { maxHeaderSize: opts.maxHeaderBytes ?? 4 * 1024 * 1024 },
    // Labels in URLs (`/api/v1/label/<name>/values`) may be long.
    routerOptions: { maxParamLength: 64 * 1024, ignoreTrailingSlash: false },
    // Requests that never finish must not hold sockets forever; queries have their own timeout.
    requestTimeout: 0,
    return503OnClosing: true,
  });

  // Go parses url-encoded bodies into the form and ignores any other body on API routes; Fastify would
  // answer 415 for unknown types, so accept everything and let routes that want bytes read the buffer.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    done(null, new FormBody(new URLSearchParams(body as string))),
  );
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  const metrics = opts.registry ? new HttpMetrics(opts.registry) : undefined;
  if (metrics) {
    app.addHook('onResponse', async (req, reply) => {
      metrics.observe(req.routeOptions.url ?? 'other', reply.statusCode, reply.elapsedTime / 1000);
    });
  }

  app.setNotFoundHandler((_req, reply) => {
    reply.code(404).type('text/plain; charset=utf-8').send('404 page not found\n');
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    const isApi =
      req.url.startsWith('/api/v1/') &&
      !req.url.startsWith('/api/v1/write') &&
      !req.url.startsWith('/api/v1/read');
    if (err instanceof ApiError) return sendError(reply, err.type, err.message, err.status);
    if (err instanceof ParamError) return sendError(reply, 'bad_data', err.message);
    const status = err.statusCode ?? 500;
    if (status >= 500) req.log.error({ err }, 'request failed');
    if (isApi) {
      const type: ApiErrorType = status >= 500 ? 'internal' : 'bad_data';
      return sendError(reply, type, err.message, status);
    }
    return reply
      .code(status)
      .type('text/plain; charset=utf-8')
      .send(`${status === 413 ? 'request body too large' : err.message}\n`);
  });

  /** Registers a path for some methods and answers 405 for the others, as Go's router does. */
  function route(
    path: string,
    methods: readonly Method[],
    handler: Handler,
    methodNotAllowed = 'Method Not Allowed\n',
  ): void {
    for (const m of GO_METHODS) {
      if (methods.includes(m)) app.route({ method: m, url: path, handler });
      else if (!(m === 'OPTIONS' && path.startsWith('/api/v1/'))) {
        app.route({
          method: m,
          url: path,
          handler: (_req, reply) => reply.code(405).type('text/plain; charset=utf-8').send(methodNotAllowed),
        });
      }
    }
  }

  /** Wraps an API handler: readiness, CORS, errors in Prometheus' JSON shape. */
  function api(
    fn: (req: FastifyRequest, reply: FastifyReply) => Promise<string | Buffer | Readable | null>,
  ): Handler {
    return async (req, reply) => {
      if (!ready()) return reply.code(503).type('text/plain; charset=utf-8').send(`${NOT_READY}\n`);
      const origin = req.headers.origin;
      if (origin !== undefined) {
        reply.header('Access-Control-Allow-Headers', 'Accept, Authorization, Content-Type, Origin');
        reply.header('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
        reply.header('Access-Control-Expose-Headers', 'Date');
        if (corsAll) reply.header('Access-Control-Allow-Origin', '*');
        else if (cors.test(origin)) reply.header('Access-Control-Allow-Origin', origin);
      }
      try {
        const body = await fn(req, reply);
        if (body === null) return reply.code(204).send();
        reply.code(200).type('application/json');
        // As Prometheus' CompressionHandler: gzip when the client accepts it (Grafana does).
        if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
          reply.header('Content-Encoding', 'gzip');
          // A small whole answer (most query answers are one chunk of at most 256 KiB) is compressed at
          // once: a gzip stream's threadpool round trips cost ~2 ms per answer. Larger answers go through
          // the threadpool (off the event loop) in large chunks.
          if ((typeof body === 'string' || Buffer.isBuffer(body)) && body.length <= SYNC_GZIP_MAX) {
            return reply.send(gzipSync(body, { level: 1 }));
          }
          const gz = createGzip({ level: 1, chunkSize: 128 * 1024, flush: zlibConstants.Z_NO_FLUSH });
          if (typeof body === 'string' || Buffer.isBuffer(body)) gz.end(body);
          else body.pipe(gz);
          return reply.send(gz);
        }
        return reply.send(body);
      } catch (e) {
        if (e instanceof ApiError) return sendError(reply, e.type, e.message, e.status);
        if (e instanceof ParamError) return sendError(reply, 'bad_data', e.message);
        req.log.error({ err: e }, 'API handler failed');
        return sendError(reply, 'internal', e instanceof Error ? e.message : String(e));
      }
    };
  }

  app.options(
    '/api/v1/*',
    api(async () => null),
  );

  // --- queries ---
  route(
    '/api/v1/query',
    ['GET', 'POST'],
    api(async (req, reply) => {
      const form = requestForm(req);
      let ts: number;
      try {
        ts = parseTimeParam(form.get('time'), 'time', now());
      } catch (e) {
        throw badParam(e, 'time');
      }
      const timeoutMs = parseTimeout(form.get('timeout'));
      if (isEmptyQuery(form.get('query') ?? ''))
        throw new ApiError('bad_data', `invalid parameter "query": ${NO_EXPRESSION}`);
      const q = querySignal(reply, Math.min(timeoutMs, queryTimeoutMs));
      try {
        const value = await opts.engine.instantQuery(form.get('query') ?? '', ts, { signal: q.signal });
        return renderQueryBody(value);
      } catch (e) {
        throw queryFailure(e, q.timedOut(), true);
      } finally {
        q.done();
      }
    }),
  );

  route(
    '/api/v1/query_range',
    ['GET', 'POST'],
    api(async (req, reply) => {
      const form = requestForm(req);
      let start: number;
      let end: number;
      try {
        start = parseTime(form.get('start') ?? '');
      } catch (e) {
        throw badParam(e, 'start');
      }
      try {
        end = parseTime(form.get('end') ?? '');
      } catch (e) {
        throw badParam(e, 'end');
      }
      if (end < start) throw badParam(new Error('end timestamp must not be before start time'), 'end');
      let stepNs: number;
      try {
        stepNs = parseDurationNs(form.get('step') ?? '');
      } catch (e) {
        throw badParam(e, 'step');
      }
      // A step under 1 ms would be 0 ms in the engine (Prometheus would then divide by zero): refuse it.
      if (stepNs <= 0 || stepNs < 1e6) {
        throw badParam(
          new Error('zero or negative query resolution step widths are not accepted. Try a positive integer'),
          'step',
        );
      }
      if (Math.floor(((end - start) * 1e6) / stepNs) > 11_000) {
        throw new ApiError(
          'bad_data',
          'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
        );
      }
      const timeoutMs = parseTimeout(form.get('timeout'));
      if (isEmptyQuery(form.get('query') ?? '')) throw new ApiError('bad_data', NO_EXPRESSION);
      const q = querySignal(reply, Math.min(timeoutMs, queryTimeoutMs));
      try {
        const stepMs = Math.trunc(stepNs / 1e6);
        const value = await opts.engine.rangeQuery(form.get('query') ?? '', start, end, stepMs, {
          signal: q.signal,
        });
        return renderQueryBody(value);
      } catch (e) {
        throw queryFailure(e, q.timedOut(), false);
      } finally {
        q.done();
      }
    }),
  );

  function parseTimeout(s: string | undefined): number {
    if (s === undefined || s === '') return Number.POSITIVE_INFINITY;
    try {
      return parseDurationNs(s) / 1e6;
    } catch (e) {
      throw badParam(e, 'timeout');
    }
  }

  function timeRange(form: ReturnType<typeof requestForm>): [number, number] {
    let start: number;
    let end: number;
    try {
      start = parseTimeParam(form.get('start'), 'start', MIN_TIME_MS);
    } catch (e) {
      throw badParam(e, 'start');
    }
    try {
      end = parseTimeParam(form.get('end'), 'end', MAX_TIME_MS);
    } catch (e) {
      throw badParam(e, 'end');
    }
    return [start, end];
  }

  async function storageCall<T>(p: () => Promise<T>): Promise<T> {
    try {
      return await p();
    } catch (e) {
      if (e instanceof ApiError) throw e;
      throw new ApiError('execution', e instanceof Error ? e.message : String(e));
    }
  }

  // --- metadata about series ---
  route(
    '/api/v1/series',
    ['GET', 'POST', 'DELETE'],
    api(async (req) => {
      if (req.method === 'DELETE') throw new ApiError('internal', 'not implemented');
      const form = requestForm(req);
      const matches = form.getAll('match[]');
      if (matches.length === 0) throw new ApiError('bad_data', 'no match[] parameter provided');
      const [start, end] = timeRange(form);
      let sets: Matcher[][];
      try {
        sets = parseMatchersParam(matches);
      } catch (e) {
        throw badParam(e, 'match[]');
      }
      const series = await storageCall(() => opts.queryable.series(sets, start, end));
      return successJson(labelSetsJson(series));
    }),
  );

  route(
    '/api/v1/labels',
    ['GET', 'POST'],
    api(async (req) => {
      const form = requestForm(req);
      const [start, end] = timeRange(form);
      const sets = parseMatchersParam(form.getAll('match[]'));
      const names = await storageCall(() => opts.queryable.labelNames(sets, start, end));
      return successJson(stringArrayJson(names));
    }),
  );

  route(
    '/api/v1/label/:name/values',
    ['GET'],
    api(async (req) => {
      const name = (req.params as { name: string }).name;
      if (!isValidLabelName(name))
        throw new ApiError('bad_data', `invalid label name: ${JSON.stringify(name)}`);
      const form = requestForm(req);
      const [start, end] = timeRange(form);
      const sets = parseMatchersParam(form.getAll('match[]'));
      const values = await storageCall(() => opts.queryable.labelValues(name, sets, start, end));
      return successJson(stringArrayJson(values));
    }),
  );

  route(
    '/api/v1/query_exemplars',
    ['GET', 'POST'],
    api(async (req) => {
      const form = requestForm(req);
      const [start, end] = timeRange(form);
      if (end < start) throw new ApiError('bad_data', 'end timestamp must not be before start timestamp');
      checkPromqlSyntax(form.get('query') ?? '');
      // No exemplar storage yet: Prometheus with exemplar storage off answers an empty list.
      return successJson('[]');
    }),
  );

  // --- targets and metadata (the scrape manager implements TargetsProvider) ---
  route(
    '/api/v1/targets',
    ['GET'],
    api(async (req) => {
      const form = requestForm(req);
      const state = (form.get('state') ?? '').toLowerCase();
      const showActive = state === '' || state === 'any' || state === 'active';
      const showDropped = state === '' || state === 'any' || state === 'dropped';
      const active = showActive ? (opts.targets?.activeTargets() ?? []) : [];
      const dropped = showDropped ? (opts.targets?.droppedTargets() ?? []) : [];
      const activeJson = active.map((t) =>
        JSON.stringify({
          discoveredLabels: t.discoveredLabels,
          labels: t.labels,
          scrapePool: t.scrapePool,
          scrapeUrl: t.scrapeUrl,
          globalUrl: t.globalUrl,
          lastError: t.lastError,
          lastScrape: t.lastScrape === 0 ? '0001-01-01T00:00:00Z' : new Date(t.lastScrape).toISOString(),
          lastScrapeDuration: t.lastScrapeDurationSeconds,
          health: t.health,
          ...(t.scrapeIntervalSeconds !== undefined ? { scrapeInterval: `${t.scrapeIntervalSeconds}s` } : {}),
          ...(t.scrapeTimeoutSeconds !== undefined ? { scrapeTimeout: `${t.scrapeTimeoutSeconds}s` } : {}),
        }),
      );
      const droppedJson = dropped.map((t) => JSON.stringify({ discoveredLabels: t.discoveredLabels }));
      return successJson(
        `{"activeTargets":[${activeJson.join(',')}],"droppedTargets":[${droppedJson.join(',')}]}`,
      );
    }),
  );

  route(
    '/api/v1/targets/metadata',
    ['GET'],
    api(async (req) => {
      const form = requestForm(req);
      const limit = parseLimit(form.get('limit'));
      const matchTarget = form.get('match_target') ?? '';
      let matchers: Matcher[] = [];
      if (matchTarget !== '') {
        try {
          matchers = parseMetricSelector(matchTarget);
        } catch (e) {
          throw badParam(e, 'match_target');
        }
      }
      const { compileMatchers, matchLabels } = await import('../shared/matchers.js');
      const compiled = compileMatchers(matchers);
      const metric = form.get('metric') ?? '';
      const out: string[] = [];
      for (const t of opts.targets?.targetMetadata() ?? []) {
        if (limit >= 0 && out.length >= limit) break;
        if (matchTarget !== '' && !matchLabels(compiled, t.target)) continue;
        for (const md of t.metadata) {
          if (metric !== '' && md.metric !== metric) continue;
          const m = metric === '' ? `"metric":${jsonString(md.metric)},` : '';
          out.push(
            `{"target":${labelsJson(t.target)},${m}"type":${jsonString(md.type)},"help":${jsonString(md.help)},"unit":${jsonString(md.unit)}}`,
          );
        }
      }
      return successJson(`[${out.join(',')}]`);
    }),
  );

  route(
    '/api/v1/metadata',
    ['GET'],
    api(async (req) => {
      const form = requestForm(req);
      const limit = parseLimit(form.get('limit'));
      const metric = form.get('metric') ?? '';
      const byMetric = new Map<string, Map<string, { type: string; help: string; unit: string }>>();
      for (const t of opts.targets?.targetMetadata() ?? []) {
        for (const md of t.metadata) {
          if (metric !== '' && md.metric !== metric) continue;
          let set = byMetric.get(md.metric);
          if (set === undefined) {
            set = new Map();
            byMetric.set(md.metric, set);
          }
          set.set(`${md.type}\xff${md.help}\xff${md.unit}`, { type: md.type, help: md.help, unit: md.unit });
        }
      }
      const parts: string[] = [];
      for (const [name, set] of byMetric) {
        if (limit >= 0 && parts.length >= limit) break;
        parts.push(`${jsonString(name)}:${JSON.stringify([...set.values()])}`);
      }
      return successJson(`{${parts.join(',')}}`);
    }),
  );

  // --- rules and alerting: no rule evaluation yet, so the empty answers Prometheus gives without rules ---
  route(
    '/api/v1/rules',
    ['GET'],
    api(async (req) => {
      const type = (requestForm(req).get('type') ?? '').toLowerCase();
      if (type !== '' && type !== 'alert' && type !== 'record') {
        throw badParam(new Error(`not supported value ${JSON.stringify(type)}`), 'type');
      }
      return successJson('{"groups":[]}');
    }),
  );
  route(
    '/api/v1/alerts',
    ['GET'],
    api(async () => successJson('{"alerts":[]}')),
  );
  route(
    '/api/v1/alertmanagers',
    ['GET'],
    api(async () => successJson('{"activeAlertmanagers":[],"droppedAlertmanagers":[]}')),
  );
  route(
    '/api/v1/status/walreplay',
    ['GET'],
    api(async () => successJson('{"min":0,"max":0,"current":0}')),
  );

  // --- status ---
  route(
    '/api/v1/status/config',
    ['GET'],
    api(async () => successJson(`{"yaml":${jsonString(opts.configYaml?.() ?? '')}}`)),
  );
  route(
    '/api/v1/status/flags',
    ['GET'],
    api(async () => {
      const flags = opts.flags ?? {};
      const keys = Object.keys(flags).sort();
      return successJson(`{${keys.map((k) => `${jsonString(k)}:${jsonString(flags[k])}`).join(',')}}`);
    }),
  );
  route(
    '/api/v1/status/runtimeinfo',
    ['GET'],
    api(async () => successJson(JSON.stringify(opts.runtimeInfo?.() ?? defaultRuntimeInfo()))),
  );
  route(
    '/api/v1/status/buildinfo',
    ['GET'],
    api(async () => successJson(JSON.stringify(opts.buildInfo ?? defaultBuildInfo()))),
  );
  route(
    '/api/v1/status/tsdb',
    ['GET'],
    api(async () => {
      const status = opts.tsdbStatus
        ? await opts.tsdbStatus()
        : await tsdbStatusFromQueryable(opts.queryable);
      const json = JSON.stringify(withShardSection(opts.queryable, status));
      const h = status.headStats;
      // An empty head: 2.42 prints its int64 sentinels (MaxInt64, MinInt64), which no JS number holds.
      return successJson(
        h.numSeries === 0 && h.chunkCount === 0 && h.minTime === 0 && h.maxTime === 0
          ? json.replace(
              '"minTime":0,"maxTime":0',
              '"minTime":9223372036854775807,"maxTime":-9223372036854775808',
            )
          : json,
      );
    }),
  );

  // --- admin (only with --web.enable-admin-api, answered as 2.42 answers when disabled) ---
  function adminEnabled(): AdminStorage {
    if (!opts.enableAdminApi) throw new ApiError('unavailable', 'admin APIs disabled');
    if (!opts.admin)
      throw new ApiError(
        'unavailable',
        'admin APIs are not available: the storage does not implement them yet',
      );
    return opts.admin;
  }
  route(
    '/api/v1/admin/tsdb/delete_series',
    ['POST', 'PUT'],
    api(async (req) => {
      const admin = adminEnabled();
      const form = requestForm(req);
      const matches = form.getAll('match[]');
      if (matches.length === 0) throw new ApiError('bad_data', 'no match[] parameter provided');
      const [start, end] = timeRange(form);
      const sets: Matcher[][] = [];
      for (const m of matches) {
        try {
          sets.push(parseMetricSelector(m));
        } catch (e) {
          throw badParam(e, 'match[]');
        }
      }
      for (const s of sets) {
        try {
          await admin.deleteSeries(s, start, end);
        } catch (e) {
          throw new ApiError('internal', (e as Error).message);
        }
      }
      return null;
    }),
  );
  route(
    '/api/v1/admin/tsdb/clean_tombstones',
    ['POST', 'PUT'],
    api(async () => {
      const admin = adminEnabled();
      try {
        await admin.cleanTombstones();
      } catch (e) {
        throw new ApiError('internal', (e as Error).message);
      }
      return null;
    }),
  );
  route(
    '/api/v1/admin/tsdb/snapshot',
    ['POST', 'PUT'],
    api(async (req) => {
      const admin = adminEnabled();
      const form = requestForm(req);
      let skipHead = false;
      const sh = form.get('skip_head');
      if (sh !== undefined && sh !== '') {
        try {
          skipHead = parseGoBool(sh);
        } catch (e) {
          throw badParam(e, 'skip_head');
        }
      }
      const { mkdir } = await import('node:fs/promises');
      const { join } = await import('node:path');
      const { randomBytes } = await import('node:crypto');
      const d = new Date();
      const stamp = d
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d+Z$/, 'Z');
      const name = `${stamp}-${randomBytes(8).toString('hex')}`;
      const dir = join(opts.storagePath ?? 'data', 'snapshots', name);
      try {
        await mkdir(dir, { recursive: true });
        await admin.snapshot(dir, !skipHead);
      } catch (e) {
        throw new ApiError('internal', `create snapshot: ${(e as Error).message}`);
      }
      return successJson(`{"name":${jsonString(name)}}`);
    }),
  );

  // --- lifecycle and health ---
  route('/-/healthy', ['GET'], (_req, reply) =>
    reply.type('text/plain; charset=utf-8').send('Prometheus Server is Healthy.\n'),
  );
  route('/-/ready', ['GET'], (_req, reply) => {
    if (!ready()) return reply.code(503).type('text/plain; charset=utf-8').send(`${NOT_READY}\n`);
    return reply.type('text/plain; charset=utf-8').send('Prometheus Server is Ready.\n');
  });
  const lifecycle =
    (fn: (reply: FastifyReply) => Promise<unknown> | unknown): Handler =>
    (_req, reply) => {
      if (!opts.enableLifecycle)
        return reply.code(403).type('text/plain; charset=utf-8').send('Lifecycle API is not enabled.');
      return fn(reply);
    };
  route(
    '/-/reload',
    ['POST', 'PUT'],
    lifecycle(async (reply) => {
      try {
        await (opts.reload ?? (async () => {}))();
        return reply.code(200).send();
      } catch (e) {
        return reply
          .code(500)
          .type('text/plain; charset=utf-8')
          .send(`failed to reload config: ${(e as Error).message}\n`);
      }
    }),
    'Only POST or PUT requests allowed',
  );
  route(
    '/-/quit',
    ['POST', 'PUT'],
    lifecycle((reply) => {
      reply.type('text/plain; charset=utf-8').send('Requesting termination... Goodbye!');
      if (opts.quit) setImmediate(opts.quit);
      return reply;
    }),
    'Only POST or PUT requests allowed',
  );

  if (opts.registry) {
    const registry = opts.registry;
    app.get('/metrics', async (_req, reply) => {
      const body = await registry.metrics();
      return reply.type(registry.contentType).send(body);
    });
  }

  const ctx: AppContext = { opts, now, ready };
  for (const install of opts.routes ?? []) install(app, ctx);
  installShardProfiling(app, ctx);
  return app;
}

function defaultBuildInfo(): BuildInfo {
  return {
    version: process.env.npm_package_version ?? '0.0.0',
    revision: 'unknown',
    branch: 'unknown',
    buildUser: 'unknown',
    buildDate: 'unknown',
    goVersion: `node ${process.version}`,
  };
}

const started = new Date().toISOString();
function defaultRuntimeInfo(): RuntimeInfo {
  return {
    startTime: started,
    CWD: process.cwd(),
    reloadConfigSuccess: true,
    lastConfigTime: started,
    corruptionCount: 0,
    goroutineCount: 0,
    GOMAXPROCS: 1,
    GOGC: '',
    GODEBUG: '',
    storageRetention: '15d',
  };
}

/** Cardinality statistics computed through the read interface, for storages without their own. */
async function tsdbStatusFromQueryable(q: Queryable): Promise<TsdbStatus> {
  const all = await q.series([[{ type: '=~', name: '__name__', value: '.+' }]], MIN_TIME_MS, MAX_TIME_MS);
  const byMetric = new Map<string, number>();
  const valuesByName = new Map<string, Set<string>>();
  const bytesByName = new Map<string, number>();
  const byPair = new Map<string, number>();
  for (const ls of all as Labels[]) {
    for (const l of ls) {
      if (l.name === '__name__') byMetric.set(l.value, (byMetric.get(l.value) ?? 0) + 1);
      let vs = valuesByName.get(l.name);
      if (vs === undefined) {
        vs = new Set();
        valuesByName.set(l.name, vs);
      }
      if (!vs.has(l.value)) {
        vs.add(l.value);
        bytesByName.set(l.name, (bytesByName.get(l.name) ?? 0) + Buffer.byteLength(l.value));
      }
      const pair = `${l.name}=${l.value}`;
      byPair.set(pair, (byPair.get(pair) ?? 0) + 1);
    }
  }
  const top = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, 10)
      .map(([name, value]) => ({ name, value }));
  return {
    headStats: { numSeries: all.length, numLabelPairs: byPair.size, chunkCount: 0, minTime: 0, maxTime: 0 },
    seriesCountByMetricName: top(byMetric),
    labelValueCountByLabelName: top(new Map([...valuesByName].map(([k, v]) => [k, v.size]))),
    memoryInBytesByLabelName: top(bytesByName),
    seriesCountByLabelValuePair: top(byPair),
  };
}
