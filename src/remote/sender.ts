// The remote_write sender: hands what promshard ingests to another system (Prometheus, Mimir, Thanos
// Receive, Cortex, VictoriaMetrics) as remote-write 1.0. Per destination, samples are spread over shards by
// series hash so each series stays in order (one request in flight per shard); a shard sends when it holds
// max_samples_per_send samples or batch_send_deadline passed. 5xx, 429 and network errors are retried with
// exponential backoff (min_backoff .. max_backoff) without giving up; other 4xx answers drop the batch and
// count it. Samples are fed from appends (see TeeAppendable), not read back from the WAL yet, so what is
// queued in memory when promshard stops is not sent after a restart.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Counter, Gauge, type Registry } from 'prom-client';
import snappy from 'snappy';
import { Pool } from 'undici';
import { type CompiledRelabel, compileRelabelConfigs, relabel } from '../config/relabel.js';
import type { RemoteWriteConfig } from '../config/types.js';
import { parsePromDuration } from '../http/params.js';
import type { Appendable, AppendOutcome, AppendRequest } from '../shared/ingest.js';
import { compareStrings, type Label, type Labels, labelsKey } from '../shared/labels.js';
import type { Queryable } from '../shared/storage.js';
import { encodeWriteRequest, type WriteSeries } from './write-encode.js';

export interface QueueOptions {
  /**
   * Samples buffered per shard. Past it, with the storage as source, the queue stops buffering and reads
   * what it owes back from the storage once it drained (see RemoteWriteQueue.catchUp), as Prometheus
   * reads its WAL; without a source, new samples are dropped (counted).
   */
  capacity: number;
  shards: number;
  maxSamplesPerSend: number;
  batchSendDeadlineMs: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  retryOn429: boolean;
}

export const DEFAULT_QUEUE: QueueOptions = {
  capacity: 500_000,
  shards: 4,
  maxSamplesPerSend: 2000,
  batchSendDeadlineMs: 5000,
  minBackoffMs: 30,
  maxBackoffMs: 5000,
  retryOn429: true,
};

export interface Destination {
  readonly url: string;
  readonly name: string;
  readonly headers: Record<string, string>;
  readonly timeoutMs: number;
  readonly relabel: readonly CompiledRelabel[];
  readonly queue: QueueOptions;
}

function durationOf(v: unknown, dflt: number): number {
  if (typeof v !== 'string') return dflt;
  try {
    return parsePromDuration(v);
  } catch {
    return dflt;
  }
}

/** Builds a destination from a parsed `remote_write` entry (url, auth, headers, queue_config, relabeling). */
export function destinationFromConfig(c: RemoteWriteConfig, index: number): Destination {
  const headers: Record<string, string> = { ...c.headers };
  if (c.basicAuth) {
    const pw = c.basicAuth.password ?? '';
    headers.authorization = `Basic ${Buffer.from(`${c.basicAuth.username}:${pw}`).toString('base64')}`;
  } else if (c.authorization?.credentials) {
    headers.authorization = `${c.authorization.type} ${c.authorization.credentials}`;
  }
  const q = (c.raw.queue_config ?? {}) as Record<string, unknown>;
  const num = (k: string, d: number) =>
    typeof q[k] === 'number' && (q[k] as number) > 0 ? (q[k] as number) : d;
  return {
    url: c.url,
    name: c.name ?? `${index}`,
    headers,
    timeoutMs: c.remoteTimeout,
    relabel: compileRelabelConfigs(c.writeRelabelConfigs),
    queue: {
      capacity: Math.max(num('capacity', DEFAULT_QUEUE.capacity), DEFAULT_QUEUE.capacity),
      shards: Math.min(num('max_shards', DEFAULT_QUEUE.shards), 64),
      maxSamplesPerSend: num('max_samples_per_send', DEFAULT_QUEUE.maxSamplesPerSend),
      batchSendDeadlineMs: durationOf(q.batch_send_deadline, DEFAULT_QUEUE.batchSendDeadlineMs),
      minBackoffMs: durationOf(q.min_backoff, DEFAULT_QUEUE.minBackoffMs),
      maxBackoffMs: durationOf(q.max_backoff, DEFAULT_QUEUE.maxBackoffMs),
      retryOn429: q.retry_on_http_429 !== false,
    },
  };
}

interface Metrics {
  sent: Counter<'remote_name' | 'url'>;
  failed: Counter<'remote_name' | 'url'>;
  retried: Counter<'remote_name' | 'url'>;
  dropped: Counter<'remote_name' | 'url'>;
  pending: Gauge<'remote_name' | 'url'>;
}

function metrics(registry?: Registry): Metrics | undefined {
  if (!registry) return undefined;
  const mk = <T>(name: string, make: () => T): T =>
    (registry.getSingleMetric(name) as T | undefined) ?? make();
  const labelNames = ['remote_name', 'url'] as const;
  return {
    sent: mk(
      'prometheus_remote_storage_samples_total',
      () =>
        new Counter({
          name: 'prometheus_remote_storage_samples_total',
          help: 'Total number of samples sent to remote storage.',
          labelNames,
          registers: [registry],
        }),
    ),
    failed: mk(
      'prometheus_remote_storage_samples_failed_total',
      () =>
        new Counter({
          name: 'prometheus_remote_storage_samples_failed_total',
          help: 'Total number of samples which failed on send to remote storage, non-recoverable errors.',
          labelNames,
          registers: [registry],
        }),
    ),
    retried: mk(
      'prometheus_remote_storage_samples_retried_total',
      () =>
        new Counter({
          name: 'prometheus_remote_storage_samples_retried_total',
          help: 'Total number of samples which failed on send to remote storage but were retried because the send error was recoverable.',
          labelNames,
          registers: [registry],
        }),
    ),
    dropped: mk(
      'prometheus_remote_storage_samples_dropped_total',
      () =>
        new Counter({
          name: 'prometheus_remote_storage_samples_dropped_total',
          help: 'Total number of samples dropped because the queue was full (promshard) or by relabeling.',
          labelNames,
          registers: [registry],
        }),
    ),
    pending: mk(
      'prometheus_remote_storage_samples_pending',
      () =>
        new Gauge({
          name: 'prometheus_remote_storage_samples_pending',
          help: 'The number of samples pending in the queues shards to be sent to the remote storage.',
          labelNames,
          registers: [registry],
        }),
    ),
  };
}

/** One shard's queue: columns of (labels, t, v) in arrival order, consumed from `head`. */
class ShardQueue {
  private labels: Labels[] = [];
  private t: number[] = [];
  private v = new Float64Array(1024);
  private head = 0;
  private tail = 0;
  oldest = 0;

  get n(): number {
    return this.tail - this.head;
  }

  /** The oldest timestamp still queued (Infinity when empty). */
  minT(): number {
    let m = Number.POSITIVE_INFINITY;
    for (let i = this.head; i < this.tail; i++) if (this.t[i] < m) m = this.t[i];
    return m;
  }

  push(labels: Labels, t: number, vs: Float64Array, i: number): void {
    if (this.n === 0) this.oldest = Date.now();
    if (this.tail >= this.v.length) this.compact(true);
    this.labels[this.tail] = labels;
    this.t[this.tail] = t;
    // Typed-array copy keeps stale-marker NaN bits.
    this.v.set(vs.subarray(i, i + 1), this.tail);
    this.tail++;
  }

  /** Moves the live part to the front, growing the value column when it is more than half full. */
  private compact(grow: boolean): void {
    const n = this.n;
    const nv = grow && n * 2 > this.v.length ? new Float64Array(this.v.length * 2) : this.v;
    if (nv === this.v) this.v.copyWithin(0, this.head, this.tail);
    else nv.set(this.v.subarray(this.head, this.tail));
    this.v = nv;
    this.labels = this.labels.slice(this.head, this.tail);
    this.t = this.t.slice(this.head, this.tail);
    this.head = 0;
    this.tail = n;
  }

  /** Takes up to max samples from the front, grouped per series in order. */
  take(max: number): { series: WriteSeries[]; count: number } {
    const end = this.head + Math.min(max, this.n);
    const groups = new Map<Labels, number[]>();
    for (let i = this.head; i < end; i++) {
      let g = groups.get(this.labels[i]);
      if (g === undefined) {
        g = [];
        groups.set(this.labels[i], g);
      }
      g.push(i);
    }
    const series: WriteSeries[] = [];
    for (const [labels, idx] of groups) {
      const v = new Float64Array(idx.length);
      const t = new Float64Array(idx.length);
      idx.forEach((src, j) => {
        v.set(this.v.subarray(src, src + 1), j);
        t[j] = this.t[src];
      });
      series.push({ labels, t, v });
    }
    const count = end - this.head;
    for (let i = this.head; i < end; i++) this.labels[i] = EMPTY;
    this.head = end;
    if (this.head === this.tail) {
      this.head = 0;
      this.tail = 0;
      this.labels.length = 0;
      this.t.length = 0;
    } else {
      this.oldest = Date.now();
      if (this.head > 4096 && this.head * 2 > this.tail) this.compact(false);
    }
    return { series, count };
  }
}

const EMPTY: Labels = [];

export type Sleep = (ms: number) => Promise<void>;

/** Sends to one destination. */
export class RemoteWriteQueue {
  private readonly shards: ShardQueue[];
  private readonly busy: boolean[];
  private readonly pool: Pool;
  private readonly path: string;
  private readonly timer: NodeJS.Timeout;
  private readonly lastSent = new Map<string, number>();
  private readonly m: Metrics | undefined;
  private readonly ml: { remote_name: string; url: string };
  private stopping = false;
  /** Newest timestamp delivered, and per shard the oldest timestamp of the batch being sent. */
  private ackedMax = Number.NEGATIVE_INFINITY;
  private readonly inflightMin: number[];
  private savedAt = 0;
  /**
   * Backlog: samples from backlogFrom to backlogTo (timestamps) that were not queued for lack of room
   * are owed and will be read back from the source; null while nothing is owed.
   */
  private backlogFrom: number | null = null;
  private backlogTo = Number.NEGATIVE_INFINITY;
  private catchingUp: Promise<void> | null = null;
  /** Samples delivered (2xx), failed (dropped on a non-retryable answer), dropped (queue full, no source). */
  readonly stats = { sent: 0, failed: 0, retried: 0, dropped: 0 };

  constructor(
    readonly dest: Destination,
    private readonly externalLabels: () => Labels,
    registry?: Registry,
    private readonly sleep: Sleep = (ms) => new Promise((r) => setTimeout(r, ms)),
    /** Where the resume watermark is kept across restarts (see resume()). */
    private readonly stateFile?: string,
    /** The storage: what the queue had no room for is read back from it. */
    private source?: Queryable,
  ) {
    this.inflightMin = Array.from({ length: dest.queue.shards }, () => Number.POSITIVE_INFINITY);
    this.shards = Array.from({ length: dest.queue.shards }, () => new ShardQueue());
    this.busy = this.shards.map(() => false);
    const u = new URL(dest.url);
    this.path = u.pathname + u.search;
    this.pool = new Pool(u.origin, { connections: dest.queue.shards });
    this.m = metrics(registry);
    this.ml = { remote_name: dest.name, url: dest.url };
    this.timer = setInterval(
      () => this.flushDue(),
      Math.max(10, Math.min(1000, dest.queue.batchSendDeadlineMs / 4)),
    );
    this.timer.unref();
  }

  get pending(): number {
    let n = 0;
    for (const s of this.shards) n += s.n;
    return n;
  }

  /** Queues the samples of an append (after relabeling and external labels); the storage holds them. */
  enqueue(req: AppendRequest): void {
    if (this.backlogFrom !== null) this.owe(req.t, 0);
    else this.queue(req, false);
    this.m?.pending.set(this.ml, this.pending);
  }

  /** Marks req.t[from..] as owed (they are in the source) and starts reading them back. */
  private owe(t: Float64Array, from: number): void {
    let lo = this.backlogFrom ?? Number.POSITIVE_INFINITY;
    let hi = this.backlogTo;
    for (let k = from; k < t.length; k++) {
      if (t[k] < lo) lo = t[k];
      if (t[k] > hi) hi = t[k];
    }
    if (lo === Number.POSITIVE_INFINITY) return;
    this.backlogFrom = lo;
    this.backlogTo = hi;
    if (this.catchingUp === null) {
      this.catchingUp = this.catchUp().finally(() => {
        this.catchingUp = null;
      });
    }
  }

  /**
   * Queues samples; `force` (catching up) ignores the capacity. A full shard with a source turns the rest
   * of the request into backlog: samples already queued stay, and each series' lastSent keeps what was
   * queued, so the read-back skips them and keeps every series in order.
   */
  private queue(req: AppendRequest, force: boolean): void {
    const ext = this.externalLabels();
    for (let i = 0; i < req.series.length; i++) {
      const from = req.sampleStart[i];
      const to = req.sampleStart[i + 1];
      if (to === from) continue;
      const labels = this.seriesLabels(req.series[i], ext);
      if (labels === null) continue;
      const key = labelsKey(labels);
      // Samples the storage refused (older or equal) would make the receiver refuse the whole batch.
      let last = this.lastSent.get(key) ?? Number.NEGATIVE_INFINITY;
      let h = 0;
      for (let c = 0; c < key.length; c++) h = Math.imul(h ^ key.charCodeAt(c), 16777619);
      const shard = this.shards[(h >>> 0) % this.shards.length];
      for (let k = from; k < to; k++) {
        const t = req.t[k];
        if (t <= last) continue;
        if (!force && shard.n >= this.dest.queue.capacity) {
          if (this.source !== undefined) {
            this.lastSent.set(key, last);
            this.owe(req.t, from);
            this.drainFull();
            return;
          }
          this.stats.dropped++;
          this.m?.dropped.inc(this.ml);
          continue;
        }
        shard.push(labels, t, req.v, k);
        last = t;
      }
      this.lastSent.set(key, last);
    }
    this.drainFull();
  }

  private drainFull(): void {
    for (let s = 0; s < this.shards.length; s++) {
      if (this.shards[s].n >= this.dest.queue.maxSamplesPerSend) void this.drain(s);
    }
  }

  /**
   * Reads the backlog back from the source in 15 s windows, each once every shard is at most half full,
   * and queues it (series by series in time order; lastSent skips what was queued already). Appends
   * during a read only widen the backlog, so a sample is either queued or still owed; the backlog ends
   * in the same tick as its last window is queued.
   */
  private async catchUp(): Promise<void> {
    const WINDOW = 15_000;
    const source = this.source;
    while (this.backlogFrom !== null && source !== undefined) {
      while (!this.stopping && this.shards.some((q) => q.n > this.dest.queue.capacity / 2)) {
        this.drainFull();
        await new Promise((r) => setTimeout(r, 50));
      }
      if (this.stopping) return;
      const from = this.backlogFrom;
      const to = Math.min(this.backlogTo, from + WINDOW - 1);
      this.backlogFrom = to + 1;
      let data: Awaited<ReturnType<Queryable['select']>>;
      try {
        data = await source.select([{ type: '=~', name: '__name__', value: '.+' }], from, to);
      } catch (e) {
        this.backlogFrom = Math.min(this.backlogFrom, from);
        this.lastError = `reading the backlog from the storage: ${(e as Error).message}`;
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      if (data.length > 0) this.queue(requestOf(data), true);
      if (this.backlogFrom > this.backlogTo) {
        this.backlogFrom = null;
        this.backlogTo = Number.NEGATIVE_INFINITY;
      }
      this.m?.pending.set(this.ml, this.pending);
    }
  }

  private seriesLabels(flat: readonly string[], ext: Labels): Labels | null {
    const map = new Map<string, string>();
    for (const e of ext) map.set(e.name, e.value);
    for (let j = 0; j < flat.length; j += 2) if (flat[j + 1] !== '') map.set(flat[j], flat[j + 1]);
    if (this.dest.relabel.length > 0 && !relabel(map, this.dest.relabel)) return null;
    const out: Label[] = [];
    for (const [name, value] of map) if (value !== '') out.push({ name, value });
    out.sort((a, b) => compareStrings(a.name, b.name));
    return out.length > 0 ? out : null;
  }

  /**
   * The time from which everything not yet delivered lies: the oldest queued or in-flight sample, else the
   * newest delivered one. Undefined before anything was queued.
   */
  watermark(): number | undefined {
    let m = Number.POSITIVE_INFINITY;
    for (let s = 0; s < this.shards.length; s++) m = Math.min(m, this.shards[s].minT(), this.inflightMin[s]);
    if (this.backlogFrom !== null) m = Math.min(m, this.backlogFrom);
    if (m !== Number.POSITIVE_INFINITY) return m;
    return this.ackedMax === Number.NEGATIVE_INFINITY ? undefined : this.ackedMax;
  }

  /** Writes the watermark (atomically: temporary file, then rename). */
  saveState(): void {
    if (this.stateFile === undefined) return;
    const w = this.watermark();
    if (w === undefined) return;
    try {
      mkdirSync(dirname(this.stateFile), { recursive: true });
      const tmp = `${this.stateFile}.tmp`;
      writeFileSync(tmp, `${JSON.stringify({ url: this.dest.url, name: this.dest.name, watermark: w })}\n`);
      renameSync(tmp, this.stateFile);
      this.savedAt = Date.now();
    } catch (e) {
      this.lastError = `saving ${this.stateFile}: ${(e as Error).message}`;
    }
  }

  /**
   * After a restart: owes what the storage holds from the saved watermark to `until`, so samples that were
   * queued or in flight when promshard stopped are delivered (read back as any backlog is). Samples already
   * delivered may be sent again; receivers accept an identical resend (Prometheus answers 204). Returns the
   * watermark resumed from, or undefined.
   */
  resume(q: Queryable, until: number): number | undefined {
    this.source = q;
    if (this.stateFile === undefined) return undefined;
    let from: number;
    try {
      const st = JSON.parse(readFileSync(this.stateFile, 'utf8')) as { watermark?: unknown };
      if (typeof st.watermark !== 'number' || !Number.isFinite(st.watermark)) return undefined;
      from = st.watermark;
    } catch {
      return undefined;
    }
    if (from > until) return undefined;
    this.owe(Float64Array.of(from, until), 0);
    return from;
  }

  /** Resolves when nothing is owed any more (tests, shutdown). */
  async caughtUp(): Promise<void> {
    while (this.catchingUp !== null) await this.catchingUp;
  }

  private flushDue(): void {
    const now = Date.now();
    if (this.stateFile !== undefined && now - this.savedAt >= 5000) this.saveState();
    for (let s = 0; s < this.shards.length; s++) {
      const q = this.shards[s];
      if (q.n > 0 && now - q.oldest >= this.dest.queue.batchSendDeadlineMs) void this.drain(s);
    }
  }

  /** Sends everything queued in a shard, one request at a time, retrying recoverable failures. */
  private async drain(s: number): Promise<void> {
    if (this.busy[s]) return;
    this.busy[s] = true;
    try {
      const q = this.shards[s];
      while (q.n > 0 && !this.stopping) {
        const batch = q.take(this.dest.queue.maxSamplesPerSend);
        let minT = Number.POSITIVE_INFINITY;
        let maxT = Number.NEGATIVE_INFINITY;
        for (const x of batch.series) {
          for (let i = 0; i < x.t.length; i++) {
            if (x.t[i] < minT) minT = x.t[i];
            if (x.t[i] > maxT) maxT = x.t[i];
          }
        }
        this.inflightMin[s] = minT;
        const body = snappy.compressSync(Buffer.from(encodeWriteRequest(batch.series)));
        const ok = await this.send(body, batch.count);
        // Failed with stopping set: keep the in-flight time so the saved watermark covers the batch.
        if (!ok && this.stopping) break;
        this.inflightMin[s] = Number.POSITIVE_INFINITY;
        if (ok && maxT > this.ackedMax) this.ackedMax = maxT;
        this.m?.pending.set(this.ml, this.pending);
        if (
          q.n < this.dest.queue.maxSamplesPerSend &&
          Date.now() - q.oldest < this.dest.queue.batchSendDeadlineMs
        )
          break;
      }
    } finally {
      this.busy[s] = false;
    }
  }

  /** True when done with the batch (delivered, or dropped on a non-retryable answer); false when given up because stopping. */
  private async send(body: Buffer, count: number): Promise<boolean> {
    let backoff = this.dest.queue.minBackoffMs;
    for (;;) {
      let status = 0;
      let text = '';
      try {
        const res = await this.pool.request({
          path: this.path,
          method: 'POST',
          headers: {
            'content-type': 'application/x-protobuf',
            'content-encoding': 'snappy',
            'user-agent': 'promshard',
            'x-prometheus-remote-write-version': '0.1.0',
            ...this.dest.headers,
          },
          body,
          headersTimeout: this.dest.timeoutMs,
          bodyTimeout: this.dest.timeoutMs,
        });
        status = res.statusCode;
        text = (await res.body.text()).slice(0, 512);
      } catch (e) {
        text = (e as Error).message;
      }
      if (status >= 200 && status < 300) {
        this.stats.sent += count;
        this.m?.sent.inc(this.ml, count);
        return true;
      }
      const retry = status === 0 || status >= 500 || (status === 429 && this.dest.queue.retryOn429);
      if (!retry) {
        this.stats.failed += count;
        this.m?.failed.inc(this.ml, count);
        this.lastError = `${status} ${text.trim()}`;
        return true;
      }
      if (this.stopping) return false;
      this.stats.retried += count;
      this.m?.retried.inc(this.ml, count);
      this.lastError = status === 0 ? text : `${status} ${text.trim()}`;
      await this.sleep(backoff);
      backoff = Math.min(backoff * 2, this.dest.queue.maxBackoffMs);
    }
  }

  lastError = '';

  /** Sends what is queued (waiting up to deadlineMs), then stops. */
  async close(deadlineMs = 60_000): Promise<void> {
    clearInterval(this.timer);
    const until = Date.now() + deadlineMs;
    while ((this.pending > 0 || this.backlogFrom !== null) && Date.now() < until) {
      for (let s = 0; s < this.shards.length; s++) if (this.shards[s].n > 0) void this.drain(s);
      await new Promise((r) => setTimeout(r, 50));
    }
    this.stopping = true;
    // Let a drain that is waiting out a backoff notice `stopping`, then record where delivery stands.
    await new Promise((r) => setTimeout(r, 20));
    this.saveState();
    await this.pool.close().catch(() => {});
  }
}

/** Selected series as one request (labels flattened; value bits kept by typed-array copies). */
function requestOf(data: Awaited<ReturnType<Queryable['select']>>): AppendRequest {
  let total = 0;
  for (const s of data) total += s.t.length;
  const t = new Float64Array(total);
  const v = new Float64Array(total);
  const starts = new Uint32Array(data.length + 1);
  const series: string[][] = [];
  let at = 0;
  data.forEach((s, i) => {
    t.set(s.t, at);
    v.set(s.v, at);
    at += s.t.length;
    starts[i + 1] = at;
    series.push(s.labels.flatMap((l) => [l.name, l.value]));
  });
  return { series, sampleStart: starts, t, v };
}

/** The state file of a destination under the storage directory. */
export function senderStateFile(storagePath: string, d: Destination): string {
  const id = createHash('sha256').update(`${d.name}\n${d.url}`).digest('hex').slice(0, 16);
  return join(storagePath, 'remote-write', `${id}.json`);
}

/**
 * Appends to the storage, then queues the request for every remote_write destination. Samples the
 * storage refused are mostly filtered out by each queue's per-series last-sent time.
 */
export class TeeAppendable implements Appendable {
  queues: RemoteWriteQueue[] = [];
  constructor(private readonly inner: Appendable) {}

  /** Only without destinations: a queue needs every series' labels. */
  get resolvesRefs(): boolean {
    return this.queues.length === 0 && this.inner.resolvesRefs === true;
  }

  async append(req: AppendRequest): Promise<AppendOutcome> {
    const out = await this.inner.append(req);
    // A request sent by refs was decoded while there were no destinations; one added by a reload since
    // starts with the next request (as a new queue in Prometheus starts at the WAL's end).
    if (out.appended > 0 && req.refs === undefined) for (const q of this.queues) q.enqueue(req);
    return out;
  }
}
