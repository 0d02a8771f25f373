/**
 * One target's scrape loop, as Prometheus 2.42's scrapeLoop: scrape at a fixed phase of the interval (a
 * stable hash of the target), parse through the target's scrape cache, apply target labels (honor_labels)
 * and metric relabelling once per new series, enforce limits, write stale markers for series that disappear,
 * and append the samples with the five synthetic series in one request. Nothing per sample is allocated.
 */
import { STATUS_CODES } from 'node:http';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { gunzip, gunzipSync } from 'node:zlib';
import { type Dispatcher, request } from 'undici';
import { relabel, sortedPairs } from '../config/relabel.js';
import { type Appendable, type AppendOutcome, NO_REF } from '../shared/ingest.js';
import { STALE_NAN } from '../shared/storage.js';
import { ParsedSamples, ParseError, parseExpositionAsync } from './exposition.js';
import { isOpenMetricsContentType, parseOpenMetrics } from './parse-openmetrics.js';
import { parseText } from './parse-text.js';
import { RequestBuilder } from './request-builder.js';
import { BY_REF, type FinalLabels, SeriesCache } from './series-cache.js';
import { labelsOfKey } from './series-key.js';
import { type CompiledScrapeConfig, scrapeOffset, type Target } from './target.js';
import { findUtf8Problem, type Utf8Problem } from './utf8.js';

const gunzipAsync = promisify(gunzip);
/** Compressed bodies up to this size are inflated synchronously (a few ms at most). */
const SYNC_GUNZIP_MAX = 256 << 10;

/** Prometheus 2.42's Accept header: OpenMetrics 1.0.0 first, then 0.0.1, then text 0.0.4. */
export const ACCEPT_HEADER =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
export const USER_AGENT = 'promshard/0.1.0';

/**
 * Parse output columns are needed only from a parse to the request built from it, so loops borrow them:
 * a thousand targets hold a few sets (the scrapes parsing at once) instead of ~24 KiB each. One that is not
 * given back (an exception) is left to the garbage collector.
 */
const spareParsed: ParsedSamples[] = [];
const SPARE_PARSED_MAX = 64;
function takeParsed(): ParsedSamples {
  return spareParsed.pop() ?? new ParsedSamples();
}
function giveParsed(out: ParsedSamples): void {
  if (spareParsed.length < SPARE_PARSED_MAX) spareParsed.push(out);
}

/** Bodies longer than this are parsed in slices of this many characters (about 2 ms each, warm). */
const PARSE_SLICE_CHARS = 1 << 20;

const REPORT_NAMES = [
  'up',
  'scrape_duration_seconds',
  'scrape_samples_scraped',
  'scrape_samples_post_metric_relabeling',
  'scrape_series_added',
] as const;

export type Health = 'up' | 'down' | 'unknown';

/** Counters of a loop (and, summed over all loops ever run, of the manager) for the server's /metrics. */
export interface ScrapeStats {
  scrapes: number;
  failed: number;
  missedIntervals: number;
  samplesAppended: number;
  appendErrors: number;
  sampleLimitExceeded: number;
  outOfOrder: number;
  duplicateTimestamp: number;
  outOfBounds: number;
}

export function newScrapeStats(): ScrapeStats {
  return {
    scrapes: 0,
    failed: 0,
    missedIntervals: 0,
    samplesAppended: 0,
    appendErrors: 0,
    sampleLimitExceeded: 0,
    outOfOrder: 0,
    duplicateTimestamp: 0,
    outOfBounds: 0,
  };
}

export interface LoopOptions {
  readonly appendable: Appendable;
  readonly dispatcher: Dispatcher;
  readonly sc: CompiledScrapeConfig;
  readonly target: Target;
  /** Extra request headers (authorization), computed per scrape. */
  readonly headers?: () => Promise<Record<string, string>>;
  readonly jitterSeed?: bigint;
  readonly log?: (msg: string, fields: Record<string, unknown>) => void;
  /** Totals shared by all loops of a manager (survive reloads). */
  readonly totals?: ScrapeStats;
  /** Called after every scrape with its duration (seconds) and whether it succeeded (for metrics, benches). */
  readonly onScrape?: (durationSeconds: number, ok: boolean, cycleSeconds: number) => void;
  /**
   * Prometheus' --scrape.timestamp-tolerance (0: --no-scrape.adjust-timestamps): a scrape that starts at
   * most this late on its schedule is timestamped on it, so that timestamp deltas stay exact and cost one bit
   * each in a chunk.
   */
  readonly timestampToleranceMs?: number;
}

/** What a previous loop of the same target hands to its replacement on reload. */
export interface LoopHandover {
  /** The scrape cache, when the new config leaves its final labels valid; then `prevEntries` index it. */
  readonly cache: SeriesCache | null;
  readonly prevEntries: Int32Array | null;
  /** Otherwise the final label sets the last scrape appended (without explicit timestamps). */
  readonly prevSeries: (readonly string[])[];
  readonly reportsWritten: boolean;
  readonly health: Health;
  readonly lastError: string;
  readonly lastScrape: number;
  readonly lastScrapeDuration: number;
}

export class ScrapeLoop {
  health: Health = 'unknown';
  lastError = '';
  /** Wall-clock ms of the last scrape's start (0: never). */
  lastScrape = 0;
  /** Seconds. */
  lastScrapeDuration = 0;
  /** When set, scrapes fail with this error without contacting the target (e.g. target_limit exceeded). */
  forcedError: string | null = null;
  /** Counters for the server's own /metrics. */
  readonly stats: ScrapeStats = newScrapeStats();
  lastOutcome: AppendOutcome | null = null;
  /** Scrapes timestamped on the loop's schedule (see alignedTime), for benches. */
  onSchedule = 0;

  readonly target: Target;
  cache: SeriesCache;
  private readonly opts: LoopOptions;
  private readonly reportLabels: (readonly string[])[];
  /** The storage's refs of the synthetic series (NO_REF until known). */
  private readonly reportRefs = new Float64Array(REPORT_NAMES.length).fill(NO_REF);
  /** The schedule that timestamps are aligned to (Prometheus' alignedScrapeTime); 0 before the first scrape. */
  private alignedAt = 0;
  /** The time the timer of the running scrape was set for (0: a scrape run by hand). */
  private scheduledAt = 0;
  private lastAppendTime = 0;
  /** Cache entries appended (without explicit timestamps) by the last successful scrape. */
  private prevEntries = new Int32Array(64);
  /** The other half of a double buffer with prevEntries (no allocation per scrape). */
  private spareEntries = new Int32Array(64);
  private prevCount = 0;
  /** Label sets a replaced loop appended last, not in this loop's cache: stale unless scraped again. */
  private inherited: (readonly string[])[] = [];
  private reportsWritten = false;
  private timer: NodeJS.Timeout | null = null;
  private nextAt = 0;
  private inflight: Promise<void> | null = null;
  private stopped = false;

  constructor(opts: LoopOptions, handover?: LoopHandover) {
    this.opts = opts;
    this.target = opts.target;
    this.cache = handover?.cache ?? new SeriesCache();
    this.reportLabels = REPORT_NAMES.map((name) => {
      const m = new Map<string, string>();
      const tl = this.target.labels;
      for (let i = 0; i < tl.length; i += 2) m.set(tl[i], tl[i + 1]);
      m.set('__name__', name);
      return sortedPairs(m);
    });
    if (handover) {
      this.health = handover.health;
      this.lastError = handover.lastError;
      this.lastScrape = handover.lastScrape;
      this.lastScrapeDuration = handover.lastScrapeDuration;
      this.reportsWritten = handover.reportsWritten;
      // The previous loop's series become this loop's "previous scrape", so the first scrape marks the
      // ones that are gone as stale, whatever the cache.
      if (handover.cache && handover.prevEntries) {
        this.prevEntries = handover.prevEntries.slice();
        this.prevCount = handover.prevEntries.length;
      }
      this.inherited = [...handover.prevSeries];
    }
  }

  /**
   * Starts scraping at the target's phase of the interval, or at `firstAt` (a replaced loop's next scrape
   * time, so that a reload loses no cycle).
   */
  start(firstAt?: number): void {
    if (this.stopped || this.timer !== null) return;
    const now = Date.now();
    if (firstAt !== undefined && firstAt > 0) {
      let at = firstAt;
      while (at < now - this.target.interval) at += this.target.interval;
      this.nextAt = at;
    } else {
      this.nextAt = now + scrapeOffset(this.target.hash, this.target.interval, now, this.opts.jitterSeed);
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    const delay = Math.max(0, this.nextAt - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      const at = this.nextAt;
      this.scheduledAt = at;
      this.inflight = this.scrapeAndReport().finally(() => {
        this.inflight = null;
      });
      void this.inflight.then(() => {
        let next = at + this.target.interval;
        const now = Date.now();
        while (next <= now) {
          next += this.target.interval;
          this.count('missedIntervals', 1);
        }
        this.nextAt = next;
        this.schedule();
      });
    }, delay);
  }

  private count(field: keyof ScrapeStats, n: number): void {
    this.stats[field] += n;
    if (this.opts.totals) this.opts.totals[field] += n;
  }

  /** The state a replacement loop continues from (see ScrapeManager reload). */
  handover(keepCache: boolean): LoopHandover {
    const prevSeries: (readonly string[])[] = [...this.inherited];
    if (!keepCache)
      for (let i = 0; i < this.prevCount; i++) {
        const labels = this.labelsOf(this.prevEntries[i]);
        if (labels) prevSeries.push(labels);
      }
    return {
      cache: keepCache ? this.cache : null,
      prevEntries: keepCache ? this.prevEntries.slice(0, this.prevCount) : null,
      prevSeries,
      reportsWritten: this.reportsWritten,
      health: this.health,
      lastError: this.lastError,
      lastScrape: this.lastScrape,
      lastScrapeDuration: this.lastScrapeDuration,
    };
  }

  /** The time of the next scheduled scrape (ms), for a replacement loop to keep the cycle. */
  get nextScrapeAt(): number {
    return this.nextAt;
  }

  /**
   * Stops the loop. With `staleness`, every series of the target (and its synthetic series) gets a stale
   * marker timestamped at the next scrape time, written one interval later as Prometheus does, so that a
   * target that comes back meanwhile overrides it. Resolves once that is done.
   */
  async stop(staleness: boolean): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.inflight) await this.inflight;
    if (!staleness) return;
    const now = Date.now();
    let staleAt = this.nextAt > 0 ? this.nextAt : now;
    while (staleAt < now) staleAt += this.target.interval;
    // Never at or before the last scrape's timestamp (a scrape run by hand has no schedule).
    if (staleAt <= this.lastScrape) staleAt = this.lastScrape + 1;
    await new Promise((r) => setTimeout(r, staleAt - now + this.target.interval).unref?.());
    await this.appendStale(staleAt, true);
  }

  /** Appends stale markers for every series of the last scrape (and optionally the synthetic ones). */
  private async appendStale(t: number, reports: boolean): Promise<void> {
    const byRef = this.byRef();
    const cache = this.cache;
    const nReports = reports && this.reportsWritten ? REPORT_NAMES.length : 0;
    const b = new RequestBuilder(this.inherited.length + this.prevCount + nReports, byRef);
    for (const labels of this.inherited) b.push(labels, NO_REF, -1, t, STALE_NAN);
    for (let i = 0; i < this.prevCount; i++) {
      const e = this.prevEntries[i];
      const labels = cache.final[e];
      if (labels) b.push(labels, cache.ref[e], e, t, STALE_NAN);
    }
    this.prevCount = 0;
    this.inherited = [];
    for (let k = 0; k < nReports; k++) b.push(this.reportLabels[k], this.reportRefs[k], -2 - k, t, STALE_NAN);
    if (b.n === 0) return;
    try {
      await this.opts.appendable.append(b.request());
    } catch (err) {
      this.count('appendErrors', 1);
      this.opts.log?.('append of stale markers failed', { target: this.target.url, err: String(err) });
    }
  }

  private async fetchBody(): Promise<{ body: string; contentType: string; utf8: Utf8Problem | null }> {
    const t = this.target;
    const cfg = this.opts.sc.cfg;
    const headers: Record<string, string> = {
      accept: ACCEPT_HEADER,
      'accept-encoding': 'gzip',
      'user-agent': USER_AGENT,
      'x-prometheus-scrape-timeout-seconds': String(t.timeout / 1000),
    };
    if (this.opts.headers) Object.assign(headers, await this.opts.headers());
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new Error('context deadline exceeded')), t.timeout);
    try {
      const res = await request(t.url, {
        dispatcher: this.opts.dispatcher,
        method: 'GET',
        headers,
        signal: ac.signal,
      });
      if (res.statusCode !== 200) {
        await res.body.dump().catch(() => undefined);
        throw new Error(
          `server returned HTTP status ${res.statusCode} ${STATUS_CODES[res.statusCode] ?? ''}`.trimEnd(),
        );
      }
      const limit = cfg.bodySizeLimit;
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        const gz = res.headers['content-encoding'] === 'gzip';
        if (limit > 0 && !gz && size > limit) {
          ac.abort(new Error('body size limit exceeded'));
          throw new Error(`body size limit exceeded: response larger than ${limit} bytes`);
        }
        chunks.push(chunk as Buffer);
      }
      let buf = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
      if (res.headers['content-encoding'] === 'gzip') {
        try {
          // Usual bodies are inflated in one synchronous call into one output buffer sized from the input:
          // half the CPU of zlib's async path (threadpool hops, a callback per 16 KiB), ~0.1 ms of main thread
          // per 100 KiB. Large ones go to the threadpool so that they cannot stall the event loop.
          const chunkSize = Math.min(1 << 20, Math.max(64 << 10, buf.length * 8));
          const opts = limit > 0 ? { maxOutputLength: limit, chunkSize } : { chunkSize };
          buf = buf.length <= SYNC_GUNZIP_MAX ? gunzipSync(buf, opts) : await gunzipAsync(buf, opts);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
            throw new Error(`body size limit exceeded: response larger than ${limit} bytes`);
          }
          throw new Error(`gzip: ${(err as Error).message}`);
        }
      }
      const ctHeader = res.headers['content-type'];
      const contentType = Array.isArray(ctHeader) ? ctHeader[0] : (ctHeader ?? '');
      const utf8 = findUtf8Problem(buf, isOpenMetricsContentType(contentType));
      return { body: buf.toString('utf8'), contentType, utf8 };
    } catch (err) {
      const reason = ac.signal.aborted ? (ac.signal.reason as Error).message : (err as Error).message;
      throw new Error(`Get ${JSON.stringify(t.url)}: ${reason}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Whether this scrape can send known series by ref. When not (a remote_write tee added by a reload needs
   * every label set), entries whose labels were let go get them back first.
   */
  private byRef(): boolean {
    if (this.opts.appendable.resolvesRefs === true) return true;
    const cache = this.cache;
    if (cache.released > 0)
      for (let e = 0; e < cache.size && cache.released > 0; e++)
        if (cache.final[e] === BY_REF) this.labelsOf(e);
    this.reportRefs.fill(NO_REF);
    return false;
  }

  /** An entry's final labels, derived again from its key when they were let go (BY_REF). */
  private labelsOf(e: number): FinalLabels {
    const cache = this.cache;
    const f = cache.final[e];
    if (f !== BY_REF) return f ?? null;
    cache.released--;
    cache.final[e] = undefined;
    cache.ref[e] = NO_REF;
    const raw = labelsOfKey(cache.keys[e], cache);
    if (typeof raw === 'string' || this.finalize(e, raw) !== null) {
      // Cannot happen for a key that was parsed and relabelled under this config before; drop the entry.
      this.opts.log?.('scrape cache: cannot derive the labels again', { target: this.target.url, raw });
      cache.final[e] = null;
    }
    return cache.final[e] ?? null;
  }

  /** Keeps the refs the storage gave the series of a request (see RequestBuilder.owner). */
  private learnRefs(b: RequestBuilder, outcome: AppendOutcome): void {
    const refs = outcome.refs;
    const owner = b.owner;
    if (refs === undefined || owner === undefined || refs.length !== b.n) return;
    const cache = this.cache;
    for (let k = 0; k < b.n; k++) {
      const o = owner[k];
      const r = refs[k];
      if (o >= 0) {
        if (r !== NO_REF) cache.setRef(o, r);
        else if (cache.final[o] === BY_REF) this.labelsOf(o);
      } else if (o <= -2) this.reportRefs[-2 - o] = r;
    }
  }

  /**
   * The final labels of a new cache entry: target labels merged as honor_labels says, metric relabelling,
   * limits. Returns an error message when the scrape must fail.
   */
  private finalize(e: number, raw: readonly string[] = this.cache.raw[e]): string | null {
    const cache = this.cache;
    const cfg = this.opts.sc.cfg;
    const lset = new Map<string, string>();
    for (let i = 0; i < raw.length; i += 2) {
      if (lset.has(raw[i])) return `label name ${JSON.stringify(raw[i])} is not unique: invalid sample`;
      lset.set(raw[i], raw[i + 1]);
    }
    const tl = this.target.labels;
    if (cfg.honorLabels) {
      for (let i = 0; i < tl.length; i += 2) if (!lset.has(tl[i])) lset.set(tl[i], tl[i + 1]);
    } else {
      const conflicts: [string, string][] = [];
      for (let i = 0; i < tl.length; i += 2) {
        const existing = lset.get(tl[i]) ?? '';
        if (existing !== '') conflicts.push([tl[i], existing]);
        lset.set(tl[i], tl[i + 1]);
      }
      if (conflicts.length > 0) {
        conflicts.sort((a, b) => a[0].length - b[0].length);
        const exposed = new Set<string>();
        for (let i = 0; i < raw.length; i += 2) exposed.add(raw[i]);
        const targetNames = new Set<string>();
        for (let i = 0; i < tl.length; i += 2) targetNames.add(tl[i]);
        for (let i = 0; i < conflicts.length; i++) {
          let name = conflicts[i][0];
          for (;;) {
            name = `exported_${name}`;
            if (
              !exposed.has(name) &&
              !targetNames.has(name) &&
              !conflicts.slice(0, i).some((c) => c[0] === name)
            )
              break;
          }
          conflicts[i][0] = name;
        }
        for (const [n, v] of conflicts) lset.set(n, v);
      }
    }
    if (!relabel(lset, this.opts.sc.metricRelabel)) {
      cache.final[e] = null;
      cache.releaseRaw(e);
      return null;
    }
    const final = sortedPairs(lset);
    if (final.length === 0) {
      cache.final[e] = null;
      cache.releaseRaw(e);
      return null;
    }
    const name = lset.get('__name__') ?? '';
    if (name === '') return '__name__ label is mandatory';
    const nLabels = final.length / 2;
    if (cfg.labelLimit > 0 && nLabels > cfg.labelLimit) {
      return `label_limit exceeded (metric: ${name.slice(0, 50)}, number of labels: ${nLabels}, limit: ${cfg.labelLimit})`;
    }
    for (let i = 0; i < final.length; i += 2) {
      if (cfg.labelNameLengthLimit > 0 && final[i].length > cfg.labelNameLengthLimit) {
        return `label_name_length_limit exceeded (metric: ${name.slice(0, 50)}, label name: ${final[i].slice(0, 50)}, length: ${final[i].length}, limit: ${cfg.labelNameLengthLimit})`;
      }
      if (cfg.labelValueLengthLimit > 0 && final[i + 1].length > cfg.labelValueLengthLimit) {
        return `label_value_length_limit exceeded (metric: ${name.slice(0, 50)}, label name: ${final[i].slice(0, 50)}, value: ${JSON.stringify(final[i + 1].slice(0, 50))}, length: ${final[i + 1].length}, limit: ${cfg.labelValueLengthLimit})`;
      }
    }
    cache.final[e] = final;
    cache.releaseRaw(e);
    return null;
  }

  /**
   * The timestamp of a scrape that starts at `start`, as Prometheus 2.42's scrapeLoop.run: aligned to the
   * loop's schedule when at most the tolerance late (and the interval is over 100 tolerances). Never at or
   * before the previous scrape's timestamp (a scrape run by hand has no schedule).
   */
  private alignedTime(start: number): number {
    const tol = this.opts.timestampToleranceMs ?? 0;
    const iv = this.target.interval;
    let t = start;
    if (tol > 0 && iv > 100 * tol) {
      // The loop's own schedule (phase + k intervals) is the intended one; by hand, the first scrape's start.
      if (this.alignedAt === 0) this.alignedAt = this.scheduledAt > 0 ? this.scheduledAt : start;
      while (start - this.alignedAt >= iv) this.alignedAt += iv;
      if (start - this.alignedAt <= tol && this.alignedAt > this.lastAppendTime) t = this.alignedAt;
      if (t === this.alignedAt) this.onSchedule++;
    }
    this.lastAppendTime = t;
    return t;
  }

  /** One scrape: fetch, parse, append samples, stale markers and the synthetic series. */
  async scrapeAndReport(): Promise<void> {
    const start = Date.now();
    const t0 = performance.now();
    const appendTime = this.alignedTime(start);
    const cfg = this.opts.sc.cfg;
    let err: string | null = this.forcedError;
    let body = '';
    let contentType = '';
    let utf8: Utf8Problem | null = null;
    if (err === null) {
      try {
        ({ body, contentType, utf8 } = await this.fetchBody());
      } catch (e) {
        err = e instanceof Error ? e.message : String(e);
      }
    }
    // scrape_duration_seconds as Prometheus 2.42 measures it: from the start of the request until the body
    // is read (parsing and appending come after).
    const duration = (performance.now() - t0) / 1000;
    if (this.stopped) {
      // Stopped while the request was in flight: the replacement loop (or the stale markers) take over.
      return;
    }
    const cache = this.cache;
    const out = takeParsed();
    let total = 0;
    let added = 0;
    let seriesAdded = 0;
    let accepted = 0;
    const iterBefore = cache.iter;
    if (err === null) {
      const om = isOpenMetricsContentType(contentType);
      // A large body is parsed in slices with the event loop free in between (other targets, the HTTP API).
      const perr =
        body.length > PARSE_SLICE_CHARS
          ? await parseExpositionAsync(body, om, out, cache, PARSE_SLICE_CHARS)
          : om
            ? parseOpenMetrics(body, out, cache)
            : parseText(body, out, cache);
      if (this.stopped) {
        giveParsed(out);
        return;
      }
      total = out.count;
      // Let the body go before waiting on the append: kept alive across that await, every body would be
      // promoted to the old generation and make major GCs (main-thread pauses) far more frequent.
      body = '';
      if (utf8 !== null && (perr === null || perr.line > utf8.line))
        err = new ParseError(utf8.line, utf8.message).message;
      else if (perr !== null) err = perr.message;
      for (let i = 0; i < out.count && err === null; i++) {
        const e = out.entry[i];
        if (cache.final[e] === undefined) {
          const fe = this.finalize(e);
          if (fe !== null) err = fe;
        }
        if (cache.final[e] !== null && err === null) added++;
      }
      if (err === null && cfg.sampleLimit > 0 && added > cfg.sampleLimit) {
        err = 'sample limit exceeded';
        this.count('sampleLimitExceeded', 1);
      }
      if (err === null) {
        seriesAdded = 0;
        for (const e of out.newEntries) if (cache.final[e]) seriesAdded++;
        accepted = added;
      }
    }
    const iter = cache.iter;
    const ok = err === null && iter !== iterBefore;
    const byRef = this.byRef();
    const prevCount = this.prevCount;
    const inherited = this.inherited;
    const b = new RequestBuilder(accepted + prevCount + inherited.length + REPORT_NAMES.length, byRef);
    const prevEntries = this.prevEntries;
    let curEntries = this.spareEntries;
    if (curEntries.length < accepted) curEntries = new Int32Array(accepted + (accepted >> 2) + 16);
    let curCount = 0;
    const tracked = cache.tracked;
    const finals = cache.final;
    const refs = cache.ref;
    if (ok) {
      const honorTs = cfg.honorTimestamps;
      for (let i = 0; i < out.count; i++) {
        const e = out.entry[i];
        const final = finals[e];
        if (!final) continue;
        const ts = out.t[i];
        const explicit = honorTs && !Number.isNaN(ts);
        b.push(final, refs[e], e, explicit ? ts : appendTime, out.v[i]);
        if (!explicit && tracked[e] !== iter) {
          tracked[e] = iter;
          curEntries[curCount++] = e;
        }
      }
    }
    giveParsed(out);
    // Stale markers for the series of the last scrape that this one did not write (all of them on failure).
    for (let i = 0; i < prevCount; i++) {
      const e = prevEntries[i];
      if (ok && tracked[e] === iter) continue;
      const labels = finals[e];
      if (labels) b.push(labels, refs[e], e, appendTime, STALE_NAN);
    }
    if (inherited.length > 0) {
      // Series of a replaced loop (other cache): stale unless this scrape wrote the same label set.
      const now = new Set<string>();
      if (ok)
        for (let i = 0; i < curCount; i++) {
          const labels = this.labelsOf(curEntries[i]);
          if (labels) now.add(labels.join('\xff'));
        }
      for (const labels of inherited) {
        if (now.has(labels.join('\xff'))) continue;
        b.push(labels, NO_REF, -1, appendTime, STALE_NAN);
      }
      this.inherited = [];
    }
    // As Prometheus, post-relabelling counts every sample that passed relabelling, even when a limit failed the scrape.
    const reportValues = [err === null ? 1 : 0, duration, total, added, seriesAdded];
    for (let k = 0; k < REPORT_NAMES.length; k++)
      b.push(this.reportLabels[k], this.reportRefs[k], -2 - k, appendTime, reportValues[k]);
    const req = b.request();
    this.spareEntries = this.prevEntries;
    this.prevEntries = curEntries;
    this.prevCount = curCount;
    this.count('scrapes', 1);
    try {
      this.lastOutcome = await this.opts.appendable.append(req);
      const o = this.lastOutcome;
      if (byRef) this.learnRefs(b, o);
      this.count('samplesAppended', o.appended);
      if (o.outOfOrder) this.count('outOfOrder', o.outOfOrder);
      if (o.duplicateTimestamp) this.count('duplicateTimestamp', o.duplicateTimestamp);
      if (o.outOfBounds) this.count('outOfBounds', o.outOfBounds);
      this.reportsWritten = true;
    } catch (e) {
      this.count('appendErrors', 1);
      if (err === null) err = `append failed: ${e instanceof Error ? e.message : String(e)}`;
    }
    if (err === null && iter !== iterBefore) {
      const remap = cache.compact();
      if (remap !== null) {
        let k = 0;
        for (let i = 0; i < this.prevCount; i++) {
          const r = remap[this.prevEntries[i]];
          if (r >= 0) this.prevEntries[k++] = r;
        }
        this.prevCount = k;
      }
    }
    if (err !== null) this.count('failed', 1);
    this.health = err === null ? 'up' : 'down';
    this.lastError = err ?? '';
    this.lastScrape = start;
    this.lastScrapeDuration = duration;
    this.opts.onScrape?.(duration, err === null, (performance.now() - t0) / 1000);
    if (err !== null) this.opts.log?.('scrape failed', { target: this.target.url, err });
  }
}
