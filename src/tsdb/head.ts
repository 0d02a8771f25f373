/**
 * The head block of one shard: the series registry, the postings index and the native head chunk store,
 * with batch append (Prometheus 2.42's rules) and the read side (select, series, label names/values).
 * It knows nothing of the WAL, workers or messages; shard-storage.ts adds durability.
 */

import { HeadChunks } from '../native/binding.js';
import { compareStrings, type Labels } from '../shared/labels.js';
import { type CompiledMatcher, compileMatchers, type Matcher } from '../shared/matchers.js';
import { HeadTombstones } from './head-tombstones.js';
import { entryView, PostingsIndex } from './postings.js';
import { SeriesRegistry } from './series-registry.js';
import { differenceRefs, intersectRefs, unionRefs } from './set-ops.js';

/** Per-sample result codes of HeadChunks.append. */
export const APPENDED = 0;
export const DUPLICATE_IGNORED = 1;
export const OUT_OF_ORDER = 2;
export const DUPLICATE_TIMESTAMP = 3;
export const OUT_OF_BOUNDS = 4;
export const TOO_FAR_IN_FUTURE = 5;
export const INVALID = 6;
export const CODE_COUNT = 7;

export const DEFAULT_CHUNK_RANGE_MS = 2 * 60 * 60 * 1000;
export const DEFAULT_FUTURE_GRACE_MS = 10 * 60 * 1000;

/**
 * A batch of series with their samples, series-major: series i has label bytes
 * labelBytes[labelStart[i], labelStart[i + 1]) (see shared/protocol-labels.ts), the 64-bit hash of those
 * bytes in hashes[2i], hashes[2i + 1], and samples [sampleStart[i], sampleStart[i + 1]) of t and v; or,
 * when the sender knows it, its ref in refs[i] (label bytes empty).
 */
export interface SeriesBatch {
  readonly nSeries: number;
  readonly hashes: Uint32Array;
  readonly refs?: Uint32Array;
  readonly labelStart: Uint32Array;
  readonly labelBytes: Uint8Array;
  readonly sampleStart: Uint32Array;
  readonly t: Float64Array;
  readonly v: Float64Array;
}

export interface HeadAppendResult {
  /** How many samples got each result code (index = code). */
  readonly counts: Float64Array;
  /** Per sample: its series ref and result code. */
  readonly refs: Uint32Array;
  readonly codes: Uint8Array;
  /** Batch positions of the series this append created (their labels go to the WAL). */
  readonly created: Uint32Array;
  readonly createdRefs: Uint32Array;
  /** The ref of each series of the batch. */
  readonly seriesRefs: Uint32Array;
}

/**
 * A batch refused part way: the series it created before the failure exist in the head and must still
 * reach the WAL, or later records would refer to refs a replay does not know.
 */
export class HeadAppendError extends Error {
  constructor(
    message: string,
    readonly created: Uint32Array,
    readonly createdRefs: Uint32Array,
  ) {
    super(message);
  }
}

export interface HeadOptions {
  /** The block range that aligns chunk cuts and sets the appendable window (default 2h). */
  chunkRangeMs?: number;
  /** Samples further ahead of the wall clock are refused (default 10 min). */
  futureGraceMs?: number;
  /** The wall clock (tests pin it). */
  now?: () => number;
  /** Samples older than this are out of bounds (the newest block's end, when blocks exist). */
  minValidTime?: number;
}

/** One select's answer: for each series with samples in range, its ref and its columns. */
export interface HeadSelection {
  readonly refs: Uint32Array;
  readonly counts: Uint32Array;
  readonly t: Float64Array;
  readonly v: Float64Array;
}

export class Head {
  readonly registry = new SeriesRegistry();
  readonly postings = new PostingsIndex();
  /** Deleted intervals (delete_series): hidden from every read below until a truncation drops them. */
  readonly tombstones = new HeadTombstones();
  readonly chunks: HeadChunks;
  readonly chunkRangeMs: number;
  readonly futureGraceMs: number;
  /** Samples older than this are out of bounds whatever the head holds (set after a block is cut). */
  minValidTime = Number.NEGATIVE_INFINITY;
  private readonly now: () => number;
  private createdBuf = new Uint32Array(64);
  private createdRefsBuf = new Uint32Array(64);

  constructor(opts: HeadOptions = {}) {
    this.chunkRangeMs = opts.chunkRangeMs ?? DEFAULT_CHUNK_RANGE_MS;
    this.futureGraceMs = opts.futureGraceMs ?? DEFAULT_FUTURE_GRACE_MS;
    this.now = opts.now ?? Date.now;
    this.minValidTime = opts.minValidTime ?? Number.NEGATIVE_INFINITY;
    this.chunks = new HeadChunks(this.chunkRangeMs);
  }

  get seriesCount(): number {
    return this.registry.count;
  }

  /**
   * Appends a batch: resolves or creates each series, then appends all samples in one native call.
   * `replay` turns off the wall-clock check (a WAL holds only samples that passed it once).
   */
  append(b: SeriesBatch, replay = false): HeadAppendResult {
    const nSamples = b.sampleStart[b.nSeries];
    const refs = new Uint32Array(nSamples);
    const seriesRefs = new Uint32Array(b.nSeries);
    const given = b.refs;
    const limit = this.registry.nextRef;
    let nCreated = 0;
    for (let i = 0; i < b.nSeries; i++) {
      let ref = given === undefined ? 0 : given[i];
      if (ref !== 0) {
        if (ref >= limit) {
          throw new HeadAppendError(
            `batch: series ref ${ref} unknown to this shard`,
            this.createdBuf.slice(0, nCreated),
            this.createdRefsBuf.slice(0, nCreated),
          );
        }
        seriesRefs[i] = ref;
        for (let k = b.sampleStart[i]; k < b.sampleStart[i + 1]; k++) refs[k] = ref;
        continue;
      }
      const lo = b.hashes[2 * i];
      const hi = b.hashes[2 * i + 1];
      const s = b.labelStart[i];
      const e = b.labelStart[i + 1];
      ref = this.registry.lookup(lo, hi, b.labelBytes, s, e);
      if (ref === 0) {
        try {
          ref = this.createSeries(lo, hi, b.labelBytes, s, e);
        } catch (err) {
          throw new HeadAppendError(
            `batch: series ${i}: ${(err as Error).message}`,
            this.createdBuf.slice(0, nCreated),
            this.createdRefsBuf.slice(0, nCreated),
          );
        }
        if (nCreated === this.createdBuf.length) {
          this.createdBuf = growU32(this.createdBuf);
          this.createdRefsBuf = growU32(this.createdRefsBuf);
        }
        this.createdBuf[nCreated] = i;
        this.createdRefsBuf[nCreated++] = ref;
      }
      seriesRefs[i] = ref;
      for (let k = b.sampleStart[i]; k < b.sampleStart[i + 1]; k++) refs[k] = ref;
    }
    const codes = new Uint8Array(nSamples);
    const maxAllowed = replay ? Number.POSITIVE_INFINITY : this.now() + this.futureGraceMs;
    this.chunks.append(refs, b.t, b.v, codes, this.minValidTime, maxAllowed);
    const counts = new Float64Array(CODE_COUNT);
    for (let k = 0; k < nSamples; k++) counts[codes[k]]++;
    return {
      counts,
      refs,
      codes,
      created: this.createdBuf.slice(0, nCreated),
      createdRefs: this.createdRefsBuf.slice(0, nCreated),
      seriesRefs,
    };
  }

  /** Creates a series (ref given on WAL replay); returns its ref. */
  createSeries(lo: number, hi: number, bytes: Uint8Array, start: number, end: number, ref?: number): number {
    const r = ref ?? this.registry.nextRef;
    const labels = this.registry.create(lo, hi, bytes, start, end, r);
    const names: string[] = [];
    const values: string[] = [];
    for (const l of labels) {
      names.push(l.name);
      values.push(l.value);
    }
    this.postings.add(r, names, values);
    this.chunks.grow(r + 1);
    return r;
  }

  /** The sorted refs of the series matching all matchers (Prometheus' PostingsForMatchers). */
  postingsFor(matchers: readonly Matcher[]): Uint32Array {
    const ms = compileMatchers(matchers);
    const pos: Uint32Array[] = [];
    const neg: Uint32Array[] = [];
    for (const m of ms) {
      if (m.matchesEmpty()) {
        // A series without the label matches; one with it matches when its value does.
        const bad = this.valuesRefs(m, false);
        if (bad.length > 0) neg.push(bad);
      } else if (m.type === '=') {
        pos.push(this.postings.get(m.name, m.value));
      } else {
        pos.push(this.valuesRefs(m, true));
      }
    }
    let res = pos.length > 0 ? intersectRefs(pos) : this.postings.allRefs();
    if (neg.length > 0 && res.length > 0) res = differenceRefs(res, unionRefs(neg));
    return res;
  }

  /** The union of the postings of every value of m.name that m accepts (want) or refuses (!want). */
  private valuesRefs(m: CompiledMatcher, want: boolean): Uint32Array {
    const values = this.postings.values(m.name);
    if (values === undefined) return new Uint32Array(0);
    const lists: Uint32Array[] = [];
    for (const [value, e] of values) if (m.matches(value) === want) lists.push(entryView(e));
    return unionRefs(lists);
  }

  /** The samples in [mint, maxt] of the series matching the matchers; series without samples are left out. */
  select(matchers: readonly Matcher[], mint: number, maxt: number): HeadSelection {
    const refs = this.postingsFor(matchers);
    const r = this.chunks.select(refs, mint, maxt);
    if (this.tombstones.size > 0) this.dropDeleted(refs, r);
    let n = 0;
    for (let i = 0; i < refs.length; i++) if (r.counts[i] > 0) n++;
    if (n === refs.length) return { refs, counts: r.counts, t: r.t, v: r.v };
    const keptRefs = new Uint32Array(n);
    const keptCounts = new Uint32Array(n);
    let k = 0;
    for (let i = 0; i < refs.length; i++) {
      if (r.counts[i] > 0) {
        keptRefs[k] = refs[i];
        keptCounts[k++] = r.counts[i];
      }
    }
    return { refs: keptRefs, counts: keptCounts, t: r.t, v: r.v };
  }

  /** Removes deleted samples from a chunk selection in place (counts and columns compacted). */
  private dropDeleted(refs: Uint32Array, r: { counts: Uint32Array; t: Float64Array; v: Float64Array }): void {
    let from = 0;
    let to = 0;
    for (let i = 0; i < refs.length; i++) {
      const n = r.counts[i];
      const list = this.tombstones.get(refs[i]);
      let kept = 0;
      for (let j = from; j < from + n; j++) {
        const t = r.t[j];
        if (list?.some((iv) => t >= iv.mint && t <= iv.maxt)) continue;
        r.t[to] = t;
        r.v[to] = r.v[j];
        to++;
        kept++;
      }
      r.counts[i] = kept;
      from += n;
    }
  }

  /** False when every sample of `ref` in [mint, maxt] is deleted. */
  private hasLiveSamples(ref: number, mint: number, maxt: number): boolean {
    if (this.tombstones.get(ref) === undefined) return true;
    const one = Uint32Array.of(ref);
    const r = this.chunks.select(one, mint, maxt);
    for (let j = 0; j < r.counts[0]; j++) if (!this.tombstones.deleted(ref, r.t[j])) return true;
    return false;
  }

  /** Refs matching any matcher set that hold samples in [mint, maxt]; all series when no set is given. */
  refsFor(matcherSets: readonly (readonly Matcher[])[], mint: number, maxt: number): Uint32Array {
    const refs =
      matcherSets.length === 0
        ? this.postings.allRefs()
        : unionRefs(matcherSets.map((ms) => this.postingsFor(ms)));
    const lo = new Float64Array(refs.length);
    const hi = new Float64Array(refs.length);
    this.chunks.ranges(refs, lo, hi);
    const out = new Uint32Array(refs.length);
    let k = 0;
    // NaN ranges (series without samples) fail both comparisons and are left out.
    for (let i = 0; i < refs.length; i++) if (hi[i] >= mint && lo[i] <= maxt) out[k++] = refs[i];
    if (this.tombstones.size > 0) {
      let m = 0;
      for (let i = 0; i < k; i++) if (this.hasLiveSamples(out[i], mint, maxt)) out[m++] = out[i];
      k = m;
    }
    return out.subarray(0, k);
  }

  series(matcherSets: readonly (readonly Matcher[])[], mint: number, maxt: number): Labels[] {
    const refs = this.refsFor(matcherSets, mint, maxt);
    const out: Labels[] = [];
    for (let i = 0; i < refs.length; i++) out.push(this.registry.labels(refs[i]));
    return out;
  }

  labelNames(matcherSets: readonly (readonly Matcher[])[], mint: number, maxt: number): string[] {
    const names = new Set<string>();
    const refs = this.refsFor(matcherSets, mint, maxt);
    for (let i = 0; i < refs.length; i++) this.registry.forEachLabel(refs[i], (n) => names.add(n));
    return [...names].sort(compareStrings);
  }

  labelValues(
    name: string,
    matcherSets: readonly (readonly Matcher[])[],
    mint: number,
    maxt: number,
  ): string[] {
    const values = new Set<string>();
    if (matcherSets.length === 0) {
      // Only the series carrying the label need a time check.
      const all = this.postings.values(name);
      if (all === undefined) return [];
      const lists: Uint32Array[] = [];
      for (const e of all.values()) lists.push(entryView(e));
      const refs = unionRefs(lists);
      const lo = new Float64Array(refs.length);
      const hi = new Float64Array(refs.length);
      this.chunks.ranges(refs, lo, hi);
      for (let i = 0; i < refs.length; i++) {
        if (hi[i] >= mint && lo[i] <= maxt && this.hasLiveSamples(refs[i], mint, maxt)) {
          this.registry.forEachLabel(refs[i], (n, v) => {
            if (n === name) values.add(v);
          });
        }
      }
    } else {
      const refs = this.refsFor(matcherSets, mint, maxt);
      for (let i = 0; i < refs.length; i++) {
        this.registry.forEachLabel(refs[i], (n, v) => {
          if (n === name) values.add(v);
        });
      }
    }
    return [...values].sort(compareStrings);
  }

  /** [mint, maxt] of the head's samples, NaN when empty. */
  range(): [number, number] {
    return this.chunks.headRange();
  }

  /**
   * The chunks of every series overlapping [mint, maxt], for a block writer: labels per exported series
   * and the chunk columns (see HeadChunkExport). Series come in ref order; sort by labels for an index.
   */
  exportChunks(mint: number, maxt: number, includeOpen: boolean) {
    const refs = this.postings.allRefs();
    const chunks = this.chunks.exportChunks(refs, mint, maxt, includeOpen);
    return { refs, labels: (i: number) => this.registry.labels(refs[i]), chunks };
  }

  /** Drops closed chunks older than `before` and refuses later samples older than it. */
  truncate(before: number): number {
    if (before > this.minValidTime) this.minValidTime = before;
    this.tombstones.truncate(before);
    return this.chunks.truncate(before);
  }
}

function growU32(a: Uint32Array): Uint32Array<ArrayBuffer> {
  const b = new Uint32Array(a.length * 2);
  b.set(a);
  return b;
}
