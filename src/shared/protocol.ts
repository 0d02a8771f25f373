/**
 * The shard protocol: the binary batch layout the coordinator sends a shard (one ArrayBuffer per shard
 * per request, transferred), and the messages between the main thread and a shard worker. Defined once
 * here, imported by src/coordinator and workers/shard.ts.
 *
 * Batch layout (little-endian, 8-byte aligned sections):
 *   uint32 magic 'PSB1', uint32 nSeries, uint32 nSamples, uint32 labelBytesLength
 *   uint32 hashes[2 * nSeries]        64-bit label hash per series (low, high half)
 *   uint32 refs[nSeries]              the shard's series ref when the sender knows it (its label bytes are
 *                                     then empty), else 0
 *   uint32 sampleStart[nSeries + 1]   samples of series i: [sampleStart[i], sampleStart[i + 1])
 *   uint32 labelStart[nSeries + 1]    label bytes of series i (shared/protocol-labels.ts form)
 *   (padding to 8)
 *   float64 t[nSamples], float64 v[nSamples]
 *   uint8 labelBytes[labelBytesLength]
 */
import type { Labels } from './labels.js';
import type { Matcher } from './matchers.js';

export const BATCH_MAGIC = 0x31425350; // 'PSB1' read as little-endian uint32

/** Views of a batch buffer; structurally the SeriesBatch that src/tsdb appends. */
export interface BatchView {
  readonly nSeries: number;
  readonly hashes: Uint32Array;
  readonly refs: Uint32Array;
  readonly sampleStart: Uint32Array;
  readonly labelStart: Uint32Array;
  readonly labelBytes: Uint8Array;
  readonly t: Float64Array;
  readonly v: Float64Array;
}

function layout(nSeries: number, nSamples: number, labelBytes: number) {
  const hashes = 16;
  const refs = hashes + 8 * nSeries;
  const sampleStart = refs + 4 * nSeries;
  const labelStart = sampleStart + 4 * (nSeries + 1);
  const t = (labelStart + 4 * (nSeries + 1) + 7) & ~7;
  const v = t + 8 * nSamples;
  const lb = v + 8 * nSamples;
  return { hashes, refs, sampleStart, labelStart, t, v, lb, size: lb + labelBytes };
}

/** Views a batch buffer, checking every length and offset (a shard must not trust its input). */
export function viewBatch(buf: ArrayBuffer): BatchView {
  if (buf.byteLength < 16) throw new RangeError('batch: shorter than its header');
  const h = new Uint32Array(buf, 0, 4);
  if (h[0] !== BATCH_MAGIC) throw new RangeError('batch: bad magic');
  const nSeries = h[1];
  const nSamples = h[2];
  const L = layout(nSeries, nSamples, h[3]);
  if (L.size !== buf.byteLength)
    throw new RangeError(`batch: ${buf.byteLength} bytes, layout needs ${L.size}`);
  const b: BatchView = {
    nSeries,
    hashes: new Uint32Array(buf, L.hashes, 2 * nSeries),
    refs: new Uint32Array(buf, L.refs, nSeries),
    sampleStart: new Uint32Array(buf, L.sampleStart, nSeries + 1),
    labelStart: new Uint32Array(buf, L.labelStart, nSeries + 1),
    t: new Float64Array(buf, L.t, nSamples),
    v: new Float64Array(buf, L.v, nSamples),
    labelBytes: new Uint8Array(buf, L.lb, h[3]),
  };
  if (b.sampleStart[0] !== 0 || b.sampleStart[nSeries] !== nSamples)
    throw new RangeError('batch: bad sample offsets');
  if (b.labelStart[0] !== 0 || b.labelStart[nSeries] !== h[3])
    throw new RangeError('batch: bad label offsets');
  for (let i = 0; i < nSeries; i++) {
    const noLabels = b.labelStart[i] === b.labelStart[i + 1];
    if (
      b.sampleStart[i] > b.sampleStart[i + 1] ||
      b.labelStart[i] > b.labelStart[i + 1] ||
      noLabels !== (b.refs[i] !== 0)
    ) {
      throw new RangeError(`batch: offsets of series ${i} out of order`);
    }
  }
  return b;
}

/** Accumulates series for one shard and lays them out as a batch buffer. */
export class BatchBuilder {
  nSeries = 0;
  nSamples = 0;
  private hashes = new Uint32Array(64);
  private refs = new Uint32Array(32);
  private sampleStart = new Uint32Array(33);
  private labelStart = new Uint32Array(33);
  private t = new Float64Array(64);
  private v = new Float64Array(64);
  private labels = new Uint8Array(1024);
  private labelLen = 0;

  /** Adds a series: its hash, its label bytes, and samples [from, to) of t and v. */
  add(
    lo: number,
    hi: number,
    labelBytes: Uint8Array,
    from: number,
    to: number,
    t: Float64Array,
    v: Float64Array,
  ): void {
    this.addSeries(lo, hi, 0, labelBytes, from, to, t, v);
  }

  /** Adds a series by the ref its shard gave it (no label bytes). */
  addRef(ref: number, from: number, to: number, t: Float64Array, v: Float64Array): void {
    this.addSeries(0, 0, ref, EMPTY, from, to, t, v);
  }

  private addSeries(
    lo: number,
    hi: number,
    ref: number,
    labelBytes: Uint8Array,
    from: number,
    to: number,
    t: Float64Array,
    v: Float64Array,
  ): void {
    const i = this.nSeries;
    if (2 * i + 2 > this.hashes.length) {
      this.hashes = growU32(this.hashes, this.hashes.length * 2);
      this.refs = growU32(this.refs, this.refs.length * 2);
      this.sampleStart = growU32(this.sampleStart, this.sampleStart.length * 2);
      this.labelStart = growU32(this.labelStart, this.labelStart.length * 2);
    }
    this.hashes[2 * i] = lo;
    this.hashes[2 * i + 1] = hi;
    this.refs[i] = ref;
    const n = to - from;
    if (this.nSamples + n > this.t.length) {
      let cap = this.t.length * 2;
      while (cap < this.nSamples + n) cap *= 2;
      this.t = growF64(this.t, cap);
      this.v = growF64(this.v, cap);
    }
    if (n === 1) {
      this.t[this.nSamples] = t[from];
      this.v[this.nSamples] = v[from];
    } else {
      this.t.set(t.subarray(from, to), this.nSamples);
      this.v.set(v.subarray(from, to), this.nSamples);
    }
    this.nSamples += n;
    if (labelBytes.length > 0 && this.labelLen + labelBytes.length > this.labels.length) {
      let cap = this.labels.length * 2;
      while (cap < this.labelLen + labelBytes.length) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.labels.subarray(0, this.labelLen));
      this.labels = next;
    }
    this.labels.set(labelBytes, this.labelLen);
    this.labelLen += labelBytes.length;
    this.nSeries = i + 1;
    this.sampleStart[i + 1] = this.nSamples;
    this.labelStart[i + 1] = this.labelLen;
  }

  /** The batch buffer (a fresh ArrayBuffer, ready to transfer); the builder is reset. */
  finish(): ArrayBuffer {
    const L = layout(this.nSeries, this.nSamples, this.labelLen);
    const buf = new ArrayBuffer(L.size);
    const h = new Uint32Array(buf, 0, 4);
    h[0] = BATCH_MAGIC;
    h[1] = this.nSeries;
    h[2] = this.nSamples;
    h[3] = this.labelLen;
    new Uint32Array(buf, L.hashes, 2 * this.nSeries).set(this.hashes.subarray(0, 2 * this.nSeries));
    new Uint32Array(buf, L.refs, this.nSeries).set(this.refs.subarray(0, this.nSeries));
    new Uint32Array(buf, L.sampleStart, this.nSeries + 1).set(this.sampleStart.subarray(0, this.nSeries + 1));
    new Uint32Array(buf, L.labelStart, this.nSeries + 1).set(this.labelStart.subarray(0, this.nSeries + 1));
    new Float64Array(buf, L.t, this.nSamples).set(this.t.subarray(0, this.nSamples));
    new Float64Array(buf, L.v, this.nSamples).set(this.v.subarray(0, this.nSamples));
    new Uint8Array(buf, L.lb, this.labelLen).set(this.labels.subarray(0, this.labelLen));
    this.nSeries = 0;
    this.nSamples = 0;
    this.labelLen = 0;
    return buf;
  }
}

const EMPTY = new Uint8Array(0);

function growU32(a: Uint32Array, n: number): Uint32Array<ArrayBuffer> {
  const b = new Uint32Array(n);
  b.set(a);
  return b;
}

function growF64(a: Float64Array, n: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(n);
  b.set(a);
  return b;
}

// ---- Messages -------------------------------------------------------------------------------------------

/** What a shard worker gets as workerData. */
export interface ShardInit {
  readonly shard: number;
  readonly shards: number;
  readonly dataDir: string;
  /** The SharedArrayBuffer of shared/counters.ts. */
  readonly counters: SharedArrayBuffer;
  readonly chunkRangeMs: number;
  readonly futureGraceMs: number;
  readonly segmentSize: number;
  /** --storage.tsdb.retention.time / .size (0: off). */
  readonly retentionMs: number;
  readonly retentionBytes: number;
  /** --storage.tsdb.max-block-duration: compacted blocks span at most this (absent: 10% of retention, <= 31d). */
  readonly maxBlockDurationMs?: number;
}

export type MatcherSets = readonly (readonly Matcher[])[];

export type ShardRequest =
  | { readonly op: 'append'; readonly id: number; readonly batch: ArrayBuffer }
  | {
      readonly op: 'select';
      readonly id: number;
      readonly matchers: readonly Matcher[];
      readonly mint: number;
      readonly maxt: number;
    }
  | {
      readonly op: 'series';
      readonly id: number;
      readonly matcherSets: MatcherSets;
      readonly mint: number;
      readonly maxt: number;
    }
  | {
      readonly op: 'labelNames';
      readonly id: number;
      readonly matcherSets: MatcherSets;
      readonly mint: number;
      readonly maxt: number;
    }
  | {
      readonly op: 'labelValues';
      readonly id: number;
      readonly name: string;
      readonly matcherSets: MatcherSets;
      readonly mint: number;
      readonly maxt: number;
    }
  | { readonly op: 'cutBlocks'; readonly id: number }
  | {
      readonly op: 'deleteSeries';
      readonly id: number;
      readonly matchers: readonly Matcher[];
      readonly mint: number;
      readonly maxt: number;
    }
  | { readonly op: 'cleanTombstones'; readonly id: number }
  /** Links the shard's blocks (and with withHead its head as a new block) into dir. */
  | { readonly op: 'snapshot'; readonly id: number; readonly dir: string; readonly withHead: boolean }
  /** Answers src/tsdb/shard-db.ts' ShardTsdbStatus. */
  | { readonly op: 'tsdbStatus'; readonly id: number }
  | { readonly op: 'close'; readonly id: number };

/**
 * Per result code of the head (tsdb/head.ts codes 0..6) the number of samples, the WAL bytes written,
 * and the shard's ref of each series of the batch (so the sender can send refs next time).
 */
export interface AppendReply {
  readonly counts: Float64Array;
  readonly walBytes: number;
  readonly seriesRefs: Uint32Array;
}

/**
 * A select answer: series k has labels unflattenLabels(labels, k) and samples [offset, offset + counts[k])
 * of t and v (offsets accumulate). Typed arrays are transferred.
 */
export interface SelectReply {
  readonly labels: FlatLabels;
  readonly counts: Uint32Array;
  readonly t: Float64Array;
  readonly v: Float64Array;
}

export type ShardResponse =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly error: string };

/** The first message of a worker: ready after replay, or fatal. */
export type ShardStartup =
  | {
      readonly op: 'ready';
      readonly replay: { records: number; series: number; samples: number; ms: number; damage: unknown };
    }
  | { readonly op: 'fatal'; readonly error: string };

/** Flattens label sets for a reply; unflatten restores them. */
/**
 * Label sets as a symbol table and indices into it: series k's names and values are
 * symbols[refs[labelStart[k] ... labelStart[k + 1])] as name, value, .... Label sets share most of their
 * strings (names, job, metric names), so a select of 100k series clones a few distinct strings instead of
 * a million, and the indices are one transferred buffer.
 */
export interface FlatLabels {
  readonly symbols: string[];
  readonly refs: Uint32Array;
  readonly labelStart: Uint32Array;
}

export function flattenLabels(sets: readonly Labels[]): FlatLabels {
  const symbols: string[] = [];
  const index = new Map<string, number>();
  let total = 0;
  for (const ls of sets) total += 2 * ls.length;
  const refs = new Uint32Array(total);
  const labelStart = new Uint32Array(sets.length + 1);
  const ref = (s: string): number => {
    let r = index.get(s);
    if (r === undefined) {
      r = symbols.length;
      symbols.push(s);
      index.set(s, r);
    }
    return r;
  };
  let at = 0;
  for (let k = 0; k < sets.length; k++) {
    for (const l of sets[k]) {
      refs[at++] = ref(l.name);
      refs[at++] = ref(l.value);
    }
    labelStart[k + 1] = at;
  }
  return { symbols, refs, labelStart };
}

export function unflattenLabels(f: FlatLabels, k: number): Labels {
  const { symbols, refs, labelStart } = f;
  const out: { name: string; value: string }[] = [];
  for (let i = labelStart[k]; i < labelStart[k + 1]; i += 2)
    out.push({ name: symbols[refs[i]], value: symbols[refs[i + 1]] });
  return out;
}
