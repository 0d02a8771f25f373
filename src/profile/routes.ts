/**
 * Shard profiling over HTTP:
 *   GET  /api/v1/status/shards             live per-shard figures (ShardsStatus) in Prometheus' envelope
 *   POST /api/v1/admin/profile?seconds=N   V8 CPU profiles of the main thread and every shard for N
 *                                          seconds (1..300, default 10), written as .cpuprofile files under
 *                                          <profile dir>/<time>/ with summary.txt; answers the paths and the
 *                                          top functions per thread. Needs --web.enable-admin-api, as
 *                                          Prometheus' other admin endpoints do.
 */
import { join } from 'node:path';
import type { FastifyReply } from 'fastify';
import type { RouteInstaller } from '../http/app.js';
import { captureCpuProfiles, writeProfiles } from './cpu-profile.js';
import { type ShardFiguresSource, ShardStatusSampler, type ShardsStatus } from './shard-status.js';

export interface ShardRoutesOptions {
  storage: ShardFiguresSource;
  enableAdminApi: boolean;
  /** Where profiles go (a timestamped directory each); default `<storage path>/profiles`. */
  profileDir: string;
  /** Shared sampler (the TSDB status section reads the same one); made here when absent. */
  sampler?: ShardStatusSampler;
}

const MAX_PROFILE_SECONDS = 300;

function send(reply: FastifyReply, code: number, body: string): FastifyReply {
  return reply.code(code).type('application/json').send(body);
}

function error(reply: FastifyReply, code: number, type: string, message: string): FastifyReply {
  return send(reply, code, JSON.stringify({ status: 'error', errorType: type, error: message }));
}

/** The sampler of a storage, made once (both the routes and the TSDB status section use it). */
const samplers = new WeakMap<ShardFiguresSource, ShardStatusSampler>();
export function samplerFor(storage: ShardFiguresSource): ShardStatusSampler {
  let s = samplers.get(storage);
  if (s === undefined) {
    s = new ShardStatusSampler(storage).start();
    samplers.set(storage, s);
  }
  return s;
}

function isShardSource(q: unknown): q is ShardFiguresSource {
  const s = q as Partial<ShardFiguresSource> | null;
  return (
    typeof s === 'object' && s !== null && typeof s.figures === 'function' && typeof s.shardCount === 'number'
  );
}

/**
 * A TSDB status answer with its per-shard section (`shards`: ShardsStatus) when the storage is the sharded
 * engine; unchanged otherwise.
 */
export function withShardSection<T extends object>(
  storage: unknown,
  status: T,
): T | (T & { shards: ShardsStatus }) {
  return isShardSource(storage) ? { ...status, shards: samplerFor(storage).status() } : status;
}

/** Registers the routes below when the app's storage is the sharded engine (its counters are the source). */
export const installShardProfiling: RouteInstaller = (app, ctx) => {
  const storage = ctx.opts.queryable;
  if (!isShardSource(storage)) return;
  shardProfilingRoutes({
    storage,
    enableAdminApi: ctx.opts.enableAdminApi === true,
    profileDir: join(ctx.opts.storagePath ?? '.', 'profiles'),
  })(app, ctx);
};

export function shardProfilingRoutes(opts: ShardRoutesOptions): RouteInstaller {
  const sampler = opts.sampler ?? samplerFor(opts.storage);
  let profiling = false;
  const threadName = (threadId: number) => {
    const i = opts.storage.figures().findIndex((f) => f.threadId === threadId);
    return i >= 0 ? `shard-${i}` : undefined;
  };
  return (app) => {
    app.get('/api/v1/status/shards', async (_req, reply) =>
      send(reply, 200, `{"status":"success","data":${JSON.stringify(sampler.status())}}`),
    );
    app.post('/api/v1/admin/profile', async (req, reply) => {
      if (!opts.enableAdminApi) return error(reply, 500, 'unavailable', 'admin APIs disabled');
      const q = req.query as Record<string, string | string[] | undefined>;
      const raw = Array.isArray(q.seconds) ? q.seconds[0] : q.seconds;
      const seconds = raw === undefined || raw === '' ? 10 : Number(raw);
      if (!Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_PROFILE_SECONDS) {
        return error(
          reply,
          400,
          'bad_data',
          `invalid parameter "seconds": must be a number in (0, ${MAX_PROFILE_SECONDS}], got ${JSON.stringify(raw)}`,
        );
      }
      if (profiling) return error(reply, 503, 'unavailable', 'a CPU profile is already being taken');
      profiling = true;
      try {
        const profiles = await captureCpuProfiles(seconds, { threadName });
        const stamp = new Date().toISOString().replace(/[:.]/g, '-');
        const written = writeProfiles(join(opts.profileDir, stamp), profiles);
        const data = {
          dir: written.dir,
          seconds,
          summaryFile: written.summaryFile,
          summary: written.summaryText,
          threads: written.files.map((f) => ({ thread: f.thread, file: f.file, ...f.summary })),
        };
        return send(reply, 200, `{"status":"success","data":${JSON.stringify(data)}}`);
      } catch (e) {
        return error(reply, 500, 'internal', `profiling failed: ${(e as Error).message}`);
      } finally {
        profiling = false;
      }
    });
  };
}
