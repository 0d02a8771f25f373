/**
 * The storage engine on the main thread: N shard workers (plain worker_threads, one per shard) and the
 * coordinator that routes appends by label hash and fans reads out to every shard at once.
 *
 * Lifecycle: open() checks promshard.json, starts the shards and waits until each has replayed its WAL;
 * close() lets each shard finish its queue, flush and fsync its WAL, then stop. A shard that dies fails
 * the engine loudly: every pending and later call rejects with the reason, nothing carries on silently.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ShardCounters, type ShardFigures } from '../shared/counters.js';
import { type Appendable, type AppendOutcome, type AppendRequest, emptyOutcome } from '../shared/ingest.js';
import { compareLabels, compareStrings, type Labels } from '../shared/labels.js';
import { compileMatchers, hasNonEmptyMatcher, type Matcher } from '../shared/matchers.js';
import { packageRoot } from '../shared/package-root.js';
import {
  type AppendReply,
  type MatcherSets,
  type SelectReply,
  type ShardInit,
  type ShardRequest,
  type ShardResponse,
  type ShardStartup,
  unflattenLabels,
} from '../shared/protocol.js';
import type { Queryable, SeriesData } from '../shared/storage.js';
import type { ShardTsdbStatus } from '../tsdb/shard-db.js';
import { Router } from './router.js';
import { checkStorageDir } from './storage-dir.js';
import { type EngineTsdbStatus, mergeTsdbStatus } from './tsdb-status.js';

export interface EngineLogger {
  warn(msg: string): void;
  error(msg: string): void;
}

export interface EngineOptions {
  /** Shard count (--storage.tsdb.shards); default os.availableParallelism(). */
  shards?: number;
  /** Block range: aligns chunk cuts and sets the appendable window (default 2h). */
  chunkRangeMs?: number;
  /** Samples further ahead of the wall clock are refused (default 10 min). */
  futureGraceMs?: number;
  /** WAL segment size (default 128 MiB; tests use smaller). */
  segmentSize?: number;
  /** --storage.tsdb.retention.time in ms and .size in bytes (0 or absent: off). */
  retentionMs?: number;
  retentionBytes?: number;
  /** --storage.tsdb.max-block-duration in ms: the largest compaction range (absent: Prometheus' default). */
  maxBlockDurationMs?: number;
  logger?: EngineLogger;
  /** Called once when a shard dies (the server should stop). */
  onFailure?: (err: Error) => void;
  /**
   * V8 young generation of each shard worker, MiB (default 3). V8 grows it to 16 MiB semi-spaces under
   * a high allocation rate, and that memory stays resident: with 100k series it was ~60 MiB of the
   * process RSS, about 600 B per series (`node --expose-gc dist/bench/run.js ingest --series 100000
   * --fill 119`: 2,015-2,139 B/series -> 1,341-1,491); a shard's garbage is short-lived batch views.
   */
  workerYoungGenerationMb?: number;
}

export interface ShardReplay {
  records: number;
  series: number;
  samples: number;
  ms: number;
  damage: unknown;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

interface ShardHandle {
  readonly index: number;
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
  exited: boolean;
}

const CODE_NAMES = [
  '',
  '',
  'out of order sample',
  'duplicate sample for timestamp',
  'out of bounds',
  'too far in the future',
  'invalid sample',
] as const;

/** Throws a clear error for a selector Prometheus would refuse. */
function checkSelector(ms: readonly Matcher[]): void {
  let compiled: ReturnType<typeof compileMatchers>;
  try {
    compiled = compileMatchers(ms);
  } catch (err) {
    throw new Error(`invalid regular expression in matcher: ${(err as Error).message}`);
  }
  if (!hasNonEmptyMatcher(compiled)) {
    throw new Error(
      'vector selector must contain at least one non-empty matcher (one that does not match "")',
    );
  }
}

export class StorageEngine implements Appendable, Queryable {
  /** Series refs (AppendRequest.refs) are shard * 2^32 + the shard's series ref. */
  readonly resolvesRefs = true;
  private failure: Error | null = null;
  private closing = false;
  private nextId = 1;
  private readonly router: Router;

  private constructor(
    readonly dir: string,
    readonly shardCount: number,
    readonly counters: ShardCounters,
    private readonly shards: ShardHandle[],
    readonly replay: ShardReplay[],
    readonly futureGraceMs: number,
    private readonly logger: EngineLogger,
    private readonly onFailure?: (err: Error) => void,
  ) {
    this.router = new Router(shardCount);
  }

  static async open(dir: string, opts: EngineOptions = {}): Promise<StorageEngine> {
    const n = opts.shards ?? availableParallelism();
    if (!Number.isInteger(n) || n < 1 || n > 1024)
      throw new RangeError(`shard count must be an integer in [1, 1024], got ${n}`);
    checkStorageDir(dir, n);
    const logger = opts.logger ?? { warn: (m) => console.warn(m), error: (m) => console.error(m) };
    const counters = ShardCounters.create(n);
    const workerPath = join(packageRoot(), 'dist', 'workers', 'shard.js');
    const futureGraceMs = opts.futureGraceMs ?? 10 * 60 * 1000;
    const handles: ShardHandle[] = [];
    const startups: Promise<ShardReplay>[] = [];
    for (let i = 0; i < n; i++) {
      const init: ShardInit = {
        shard: i,
        shards: n,
        dataDir: dir,
        counters: counters.buffer,
        chunkRangeMs: opts.chunkRangeMs ?? 2 * 60 * 60 * 1000,
        futureGraceMs,
        segmentSize: opts.segmentSize ?? 128 * 1024 * 1024,
        retentionMs: opts.retentionMs ?? 0,
        // The size limit is for the whole directory: each shard (holding 1/n of the series) gets its part.
        retentionBytes: opts.retentionBytes ? Math.max(1, Math.floor(opts.retentionBytes / n)) : 0,
        maxBlockDurationMs: opts.maxBlockDurationMs,
      };
      const worker = new Worker(workerPath, {
        workerData: init,
        resourceLimits: { maxYoungGenerationSizeMb: opts.workerYoungGenerationMb ?? 3 },
      });
      const h: ShardHandle = { index: i, worker, pending: new Map(), exited: false };
      handles.push(h);
      startups.push(
        new Promise<ShardReplay>((resolve, reject) => {
          const onExit = (code: number) =>
            reject(new Error(`shard ${i} exited with code ${code} while starting`));
          const onError = (err: Error) =>
            reject(new Error(`shard ${i} failed while starting: ${err.message}`));
          worker.once('exit', onExit);
          worker.once('error', onError);
          worker.once('message', (m: ShardStartup) => {
            worker.off('exit', onExit);
            worker.off('error', onError);
            if (m.op === 'ready') resolve(m.replay);
            else reject(new Error(m.error));
          });
        }),
      );
    }
    let replay: ShardReplay[];
    try {
      replay = await Promise.all(startups);
    } catch (err) {
      await Promise.all(handles.map((h) => h.worker.terminate()));
      throw err;
    }
    const engine = new StorageEngine(
      dir,
      n,
      counters,
      handles,
      replay,
      futureGraceMs,
      logger,
      opts.onFailure,
    );
    for (const h of handles) engine.wire(h);
    return engine;
  }

  /** The error that stopped the engine, or null while it is healthy. */
  get failed(): Error | null {
    return this.failure;
  }

  /** Live per-shard figures, read from shared memory. */
  figures(): ShardFigures[] {
    const out: ShardFigures[] = [];
    for (let i = 0; i < this.shardCount; i++) out.push(this.counters.read(i));
    return out;
  }

  private wire(h: ShardHandle): void {
    h.worker.on('message', (m: ShardResponse) => {
      const p = h.pending.get(m.id);
      if (p === undefined) return;
      h.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(m.error));
    });
    h.worker.on('error', (err) => this.fail(h, `uncaught error: ${err.stack ?? err.message}`));
    h.worker.on('exit', (code) => {
      h.exited = true;
      if (!this.closing) this.fail(h, `exited with code ${code}`);
    });
  }

  private fail(h: ShardHandle, why: string): void {
    if (this.failure === null) {
      this.failure = new Error(
        `promshard storage: shard ${h.index} died (${why}); the storage engine is stopped and every call fails ` +
          'until the process restarts (acknowledged samples are in the WAL and will be replayed)',
      );
      this.logger.error(this.failure.message);
      for (const other of this.shards) if (other !== h && !other.exited) void other.worker.terminate();
      this.onFailure?.(this.failure);
    }
    for (const s of this.shards) {
      for (const p of s.pending.values()) p.reject(this.failure);
      s.pending.clear();
    }
  }

  private request<T>(shard: number, msg: ShardRequest, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const h = this.shards[shard];
    return new Promise<T>((resolve, reject) => {
      h.pending.set(msg.id, { resolve: resolve as (v: unknown) => void, reject });
      h.worker.postMessage(msg, transfer);
    });
  }

  private checkOpen(): void {
    if (this.failure !== null) throw this.failure;
    if (this.closing) throw new Error('promshard storage: the engine is closed');
  }

  async append(req: AppendRequest): Promise<AppendOutcome> {
    this.checkOpen();
    const routed = this.router.route(req);
    const out = emptyOutcome();
    out.invalidSeries = routed.invalidSeries;
    out.errors.push(...routed.errors);
    const waits: Promise<AppendReply>[] = [];
    for (let s = 0; s < routed.batches.length; s++) {
      const batch = routed.batches[s];
      if (batch === null) continue;
      this.counters.add(s, 'queuedBatches', 1);
      const learn = routed.learn[s];
      const p = this.request<AppendReply>(s, { op: 'append', id: this.nextId++, batch }, [batch]);
      waits.push(
        learn.arrays.length === 0
          ? p
          : p.then((r) => {
              this.router.learn(s, learn, r.seriesRefs, routed.refs);
              return r;
            }),
      );
    }
    const counts = new Float64Array(7);
    for (const r of await Promise.all(waits)) for (let c = 0; c < 7; c++) counts[c] += r.counts[c];
    out.appended = counts[0];
    out.duplicatesIgnored = counts[1];
    out.outOfOrder = counts[2];
    out.duplicateTimestamp = counts[3];
    out.outOfBounds = counts[4];
    out.tooFarInFuture = counts[5];
    if (routed.refs !== undefined) out.refs = routed.refs;
    for (let c = 2; c < 7; c++) {
      if (counts[c] === 0) continue;
      out.errors.push(
        c === 5
          ? `${counts[c]} samples refused: too far in the future (more than ${this.futureGraceMs / 1000}s ahead of the wall clock)`
          : `${counts[c]} samples refused: ${CODE_NAMES[c]}`,
      );
    }
    return out;
  }

  async select(matchers: readonly Matcher[], mint: number, maxt: number): Promise<SeriesData[]> {
    this.checkOpen();
    checkSelector(matchers);
    const plain = matchers.map((m) => ({ type: m.type, name: m.name, value: m.value }));
    const replies = await Promise.all(
      this.shards.map((h) =>
        this.request<SelectReply>(h.index, { op: 'select', id: this.nextId++, matchers: plain, mint, maxt }),
      ),
    );
    const lists: SeriesData[][] = [];
    for (const r of replies) {
      const list: SeriesData[] = [];
      let off = 0;
      for (let k = 0; k < r.counts.length; k++) {
        const n = r.counts[k];
        list.push({
          labels: unflattenLabels(r.labels, k),
          t: r.t.subarray(off, off + n),
          v: r.v.subarray(off, off + n),
        });
        off += n;
      }
      lists.push(list);
    }
    return mergeSortedByLabels(lists);
  }

  private plainSets(matcherSets: MatcherSets, required: boolean): Matcher[][] {
    if (required && matcherSets.length === 0) throw new Error('no match[] parameter provided');
    for (const ms of matcherSets) checkSelector(ms);
    return matcherSets.map((ms) => ms.map((m) => ({ type: m.type, name: m.name, value: m.value })));
  }

  async series(matcherSets: MatcherSets, mint: number, maxt: number): Promise<Labels[]> {
    this.checkOpen();
    const sets = this.plainSets(matcherSets, true);
    const replies = await Promise.all(
      this.shards.map((h) =>
        this.request<Labels[]>(h.index, { op: 'series', id: this.nextId++, matcherSets: sets, mint, maxt }),
      ),
    );
    return replies.flat().sort(compareLabels);
  }

  async labelNames(matcherSets: MatcherSets, mint: number, maxt: number): Promise<string[]> {
    this.checkOpen();
    const sets = this.plainSets(matcherSets, false);
    const replies = await Promise.all(
      this.shards.map((h) =>
        this.request<string[]>(h.index, {
          op: 'labelNames',
          id: this.nextId++,
          matcherSets: sets,
          mint,
          maxt,
        }),
      ),
    );
    return [...new Set(replies.flat())].sort(compareStrings);
  }

  async labelValues(name: string, matcherSets: MatcherSets, mint: number, maxt: number): Promise<string[]> {
    this.checkOpen();
    const sets = this.plainSets(matcherSets, false);
    const replies = await Promise.all(
      this.shards.map((h) =>
        this.request<string[]>(h.index, {
          op: 'labelValues',
          id: this.nextId++,
          name,
          matcherSets: sets,
          mint,
          maxt,
        }),
      ),
    );
    return [...new Set(replies.flat())].sort(compareStrings);
  }

  /**
   * Asks every shard to cut blocks now from a head spanning more than 1.5 block ranges (shards also do it
   * every minute); resolves with the number of blocks cut.
   */
  async cutBlocks(): Promise<number> {
    this.checkOpen();
    const n = await Promise.all(
      this.shards.map((h) => this.request<number>(h.index, { op: 'cutBlocks', id: this.nextId++ })),
    );
    return n.reduce((a, b) => a + b, 0);
  }

  // --- Admin: the storage side of Prometheus' admin API and /api/v1/status/tsdb (src/http/app.ts and
  // src/server/main.ts use these as soon as the storage has them, by these names and shapes).

  /**
   * Deletes the samples of the series matching `matchers` in [mint, maxt] (ms, inclusive) on every shard:
   * hidden from reads once this resolves (head tombstones logged to the WAL, block tombstones written).
   */
  async deleteSeries(matchers: readonly Matcher[], mint: number, maxt: number): Promise<void> {
    this.checkOpen();
    checkSelector(matchers);
    const plain = matchers.map((m) => ({ type: m.type, name: m.name, value: m.value }));
    await Promise.all(
      this.shards.map((h) =>
        this.request<number>(h.index, { op: 'deleteSeries', id: this.nextId++, matchers: plain, mint, maxt }),
      ),
    );
  }

  /** Rewrites every block with tombstones without the deleted data (each shard its own blocks). */
  async cleanTombstones(): Promise<void> {
    this.checkOpen();
    await Promise.all(
      this.shards.map((h) => this.request<string[]>(h.index, { op: 'cleanTombstones', id: this.nextId++ })),
    );
  }

  /**
   * Hard-links every shard's blocks into `dir` (an existing, empty directory: `<data>/snapshots/<name>`);
   * with `withHead` each shard first writes its head into `dir` as a block. The result is a Prometheus
   * data directory of blocks (promtool and Prometheus read it; overlapping shard blocks are merged by
   * their queriers).
   */
  async snapshot(dir: string, withHead: boolean): Promise<void> {
    this.checkOpen();
    await Promise.all(
      this.shards.map((h) =>
        this.request<string[]>(h.index, { op: 'snapshot', id: this.nextId++, dir, withHead }),
      ),
    );
  }

  /** /api/v1/status/tsdb: head figures and label cardinality over all shards, then each shard's own. */
  async tsdbStatus(): Promise<EngineTsdbStatus> {
    this.checkOpen();
    const parts = await Promise.all(
      this.shards.map((h) => this.request<ShardTsdbStatus>(h.index, { op: 'tsdbStatus', id: this.nextId++ })),
    );
    return mergeTsdbStatus(parts);
  }

  /** Drains every shard's queue, flushes and fsyncs the WALs, stops the workers. */
  async close(): Promise<void> {
    if (this.closing) return;
    if (this.failure !== null) {
      this.closing = true;
      await Promise.all(this.shards.map((h) => (h.exited ? undefined : h.worker.terminate())));
      return;
    }
    // Requests already posted are answered before 'close' (a worker handles messages in order).
    const closes = this.shards.map((h) => this.request<null>(h.index, { op: 'close', id: this.nextId++ }));
    this.closing = true;
    await Promise.all(closes);
    await Promise.all(
      this.shards.map((h) =>
        h.exited ? undefined : new Promise<void>((resolve) => h.worker.once('exit', () => resolve())),
      ),
    );
  }
}

/** Opens the storage engine on a data directory (see StorageEngine.open). */
export function openStorage(dir: string, opts: EngineOptions = {}): Promise<StorageEngine> {
  return StorageEngine.open(dir, opts);
}

/**
 * Every shard answers in label order and a series lives on one shard: a k-way merge gives the global
 * order (a comparison sort of 100k series cost ~100 ms on the main thread).
 */
function mergeSortedByLabels(lists: SeriesData[][]): SeriesData[] {
  const live = lists.filter((l) => l.length > 0);
  if (live.length === 1) return live[0];
  const out: SeriesData[] = [];
  const at = live.map(() => 0);
  for (;;) {
    let best = -1;
    for (let i = 0; i < live.length; i++) {
      if (
        at[i] < live[i].length &&
        (best < 0 || compareLabels(live[i][at[i]].labels, live[best][at[best]].labels) < 0)
      )
        best = i;
    }
    if (best < 0) return out;
    out.push(live[best][at[best]++]);
  }
}
