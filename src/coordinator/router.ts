/**
 * Turns an AppendRequest into one binary batch per shard: validates and canonicalises each series'
 * labels, encodes them, hashes the bytes and routes by hash mod N. A bad series is refused here with a
 * clear reason and never reaches a shard; the rest of the request goes on.
 *
 * Like Prometheus' scrape cache, the router remembers, by the identity of a series' label array, the
 * shard and series ref it got: a caller that sends the same (unmodified) array again, as a scrape loop
 * does, skips validation, encoding and hashing here and the series lookup in the shard. Label arrays
 * passed to append must therefore not be mutated afterwards. A caller that keeps refs itself
 * (AppendRequest.refs) gets them back in RoutedRequest.refs and the router then remembers nothing.
 */
import { type AppendRequest, NO_REF } from '../shared/ingest.js';
import { BatchBuilder } from '../shared/protocol.js';
import { hash64, putString, shardOf, utf8Length } from '../shared/protocol-labels.js';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const MAX_ERRORS = 10;
const MAX_TS = 9007199254740991;

export interface RoutedRequest {
  /** Per shard its batch, or null when the request has no series for it. */
  batches: (ArrayBuffer | null)[];
  /**
   * Per shard: the series sent by labels, as request positions and label arrays, and their position in
   * the shard's batch (to learn refs).
   */
  learn: Learn[];
  /** When the request carried refs: per series its ref where already known, else NO_REF (see learn). */
  refs: Float64Array | undefined;
  invalidSeries: number;
  /** Samples of the refused series. */
  invalidSamples: number;
  errors: string[];
}

export interface Learn {
  series: number[];
  arrays: (readonly string[])[];
  at: number[];
}

const SHARD_MUL = 4294967296;

function hasLoneSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
    }
    return true;
  }
  return false;
}

export class Router {
  private readonly builders: BatchBuilder[];
  private scratch = new Uint8Array(4096);
  private readonly hash = new Uint32Array(2);
  private readonly order: number[] = [];
  /** label array -> shard * 2^32 + ref. */
  private readonly known = new WeakMap<readonly string[], number>();

  constructor(readonly shards: number) {
    this.builders = Array.from({ length: shards }, () => new BatchBuilder());
  }

  /** Throws a TypeError when the request's shape is broken (a caller bug, not bad data). */
  route(req: AppendRequest): RoutedRequest {
    const n = req.series.length;
    const ss = req.sampleStart;
    if (!(ss instanceof Uint32Array) || ss.length !== n + 1 || ss[0] !== 0 || ss[n] !== req.t.length) {
      throw new TypeError(
        'append: sampleStart must be a Uint32Array of series.length + 1 offsets ending at t.length',
      );
    }
    if (req.v.length !== req.t.length) throw new TypeError('append: t and v must have the same length');
    const given = req.refs;
    if (given !== undefined && given.length !== n) {
      throw new TypeError('append: refs must have one entry per series');
    }
    const out: RoutedRequest = {
      batches: [],
      learn: [],
      refs: given === undefined ? undefined : new Float64Array(n).fill(NO_REF),
      invalidSeries: 0,
      invalidSamples: 0,
      errors: [],
    };
    for (let s = 0; s < this.shards; s++) out.learn.push({ series: [], arrays: [], at: [] });
    const refuse = (i: number, why: string) => {
      out.invalidSeries++;
      out.invalidSamples += ss[i + 1] - ss[i];
      if (out.errors.length < MAX_ERRORS) out.errors.push(`series ${i}: ${why}`);
    };
    for (let i = 0; i < n; i++) {
      const from = ss[i];
      const to = ss[i + 1];
      if (to < from) throw new TypeError(`append: sampleStart decreases at series ${i}`);
      const flat = req.series[i];
      let known: number | undefined;
      let why: string | null = null;
      if (given === undefined) known = this.known.get(flat);
      else if (given[i] !== NO_REF) {
        known = given[i];
        if (!this.validRef(known)) why = `invalid series ref ${known}`;
      }
      if (known === undefined) why = this.encode(flat);
      if (why !== null) {
        refuse(i, why);
        continue;
      }
      let badT = -1;
      for (let k = from; k < to; k++) {
        const t = req.t[k];
        if (!(t >= -MAX_TS && t <= MAX_TS) || Math.floor(t) !== t) {
          badT = k;
          break;
        }
      }
      if (badT >= 0) {
        refuse(i, `invalid timestamp ${req.t[badT]} (must be an integer number of milliseconds)`);
        continue;
      }
      if (to === from) continue;
      if (known !== undefined) {
        const shard = Math.floor(known / SHARD_MUL);
        this.builders[shard].addRef(known % SHARD_MUL, from, to, req.t, req.v);
        if (out.refs !== undefined) out.refs[i] = known;
        continue;
      }
      const len = this.encodedLength;
      hash64(this.scratch, 0, len, this.hash, 0);
      const shard = shardOf(this.hash[0], this.hash[1], this.shards);
      const learn = out.learn[shard];
      learn.series.push(i);
      learn.arrays.push(flat);
      learn.at.push(this.builders[shard].nSeries);
      this.builders[shard].add(
        this.hash[0],
        this.hash[1],
        this.scratch.subarray(0, len),
        from,
        to,
        req.t,
        req.v,
      );
    }
    for (const b of this.builders) out.batches.push(b.nSeries > 0 ? b.finish() : null);
    return out;
  }

  private encodedLength = 0;

  /**
   * Takes the refs a shard gave the series sent by labels: into `refs` (the request's, by series) when
   * the caller keeps them, else remembered by label array.
   */
  learn(shard: number, learn: Learn, seriesRefs: Uint32Array, refs: Float64Array | undefined): void {
    for (let k = 0; k < learn.arrays.length; k++) {
      const ref = seriesRefs[learn.at[k]];
      if (ref === 0) continue;
      if (refs !== undefined) refs[learn.series[k]] = shard * SHARD_MUL + ref;
      else this.known.set(learn.arrays[k], shard * SHARD_MUL + ref);
    }
  }

  private validRef(r: number): boolean {
    return Number.isInteger(r) && r > 0 && r < this.shards * SHARD_MUL && r % SHARD_MUL !== 0;
  }

  /** Validates and encodes flat labels into scratch (canonical order, empty values dropped); returns an error or null. */
  private encode(flat: readonly string[]): string | null {
    if (!Array.isArray(flat) || flat.length % 2 !== 0) return 'labels must be name/value pairs';
    const pairs = flat.length / 2;
    let sorted = true;
    let size = 0;
    let kept = 0;
    for (let p = 0; p < pairs; p++) {
      const name = flat[2 * p];
      const value = flat[2 * p + 1];
      if (typeof name !== 'string' || typeof value !== 'string')
        return 'label names and values must be strings';
      if (name === '') return 'empty label name';
      if (!LABEL_NAME.test(name)) return `invalid label name ${JSON.stringify(name)}`;
      if (hasLoneSurrogate(value)) return `invalid UTF-8 in the value of label ${name}`;
      if (p > 0 && !(flat[2 * p - 2] < name)) sorted = false;
      if (value !== '') {
        kept++;
        size += name.length + utf8Length(value) + 10;
      }
    }
    this.order.length = 0;
    for (let p = 0; p < pairs; p++) this.order.push(p);
    if (!sorted) {
      // Label names are ASCII, so UTF-16 order is byte order.
      this.order.sort((a, b) => (flat[2 * a] < flat[2 * b] ? -1 : flat[2 * a] > flat[2 * b] ? 1 : 0));
      for (let k = 1; k < pairs; k++) {
        if (flat[2 * this.order[k]] === flat[2 * this.order[k - 1]])
          return `duplicate label name ${flat[2 * this.order[k]]}`;
      }
    }
    if (kept === 0) return 'series has no labels';
    if (size > this.scratch.length) this.scratch = new Uint8Array(size * 2);
    let at = 0;
    for (const p of this.order) {
      const value = flat[2 * p + 1];
      if (value === '') continue;
      at = putString(this.scratch, at, flat[2 * p]);
      at = putString(this.scratch, at, value);
    }
    this.encodedLength = at;
    return null;
  }
}
