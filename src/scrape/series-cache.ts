/**
 * The per-target scrape cache, as in Prometheus' scrapeCache: a sample line's series text (metric name plus
 * the label block exactly as the target wrote it) maps to an entry holding its parsed label pairs and, once the
 * scrape loop has computed them, its final labels (target labels and metric relabelling applied) and its series
 * id. A repeated scrape finds every line in the cache and never re-parses or re-hashes its labels.
 *
 * Entries are plain integers indexing parallel arrays, so a parse writes one Int32 per sample and allocates
 * nothing per known series. Each entry also remembers which entry followed it in the previous parse (`succ`)
 * and the exact text between the previous sample's line and its own value (`prefix`: the HELP/TYPE lines
 * before it, then its series text). A target writes the same families in the same order every time, so the
 * parser compares the next stretch of the body with the predicted entry's prefix in one string comparison
 * (memcmp speed, no hashing, no comment re-parsing) and only falls back to line-by-line parsing and the map
 * when something changed.
 */

import { NO_REF } from '../shared/ingest.js';

/** A copy of a string that does not keep the (large) string it was cut from alive. */
export function detach(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

function growI32(a: Int32Array, cap: number): Int32Array<ArrayBuffer> {
  const g = new Int32Array(cap);
  g.set(a);
  return g;
}

export interface MetricMetadata {
  /** counter, gauge, histogram, gaugehistogram, summary, info, stateset or unknown (text `untyped`). */
  type: string;
  help: string;
  unit: string;
}

/**
 * Builds the metadata map from the HELP/TYPE/UNIT lines of the given texts (in body order). Set by
 * exposition.ts, which owns the comment grammar (a setter keeps this module free of an import cycle).
 */
let metadataBuilder: ((texts: string[], om: boolean) => Map<string, MetricMetadata>) | null = null;
export function setMetadataBuilder(f: (texts: string[], om: boolean) => Map<string, MetricMetadata>): void {
  metadataBuilder = f;
}

/** A final label set after relabelling, flattened [name0, value0, ...] sorted by name; null when dropped. */
export type FinalLabels = readonly string[] | null;

const EMPTY: readonly string[] = Object.freeze([]) as readonly string[];

/**
 * The final labels of an entry that is kept and whose series ref (SeriesCache.ref) the storage resolves:
 * the label array itself is let go, because a million of them are most of what a full GC of the main thread
 * has to walk (`node dist/bench/run.js scrape-gc`). They are derived again from the entry's key if an
 * appendable without refs needs them (SeriesCache.released counts these entries).
 */
export const BY_REF: readonly string[] = Object.freeze([]) as readonly string[];

function keep(s: string): string {
  return s;
}

/**
 * Open addressing over typed arrays for a table whose entries are numbered 0, 1, 2, ...: each slot holds
 * entry + 1 (0 is empty) and each entry its hash; the load stays at most 1/2. Owners probe `slots` and
 * `hashes` themselves on their lookup path and compare keys their own way (in place in a body).
 */
class HashSlots {
  hashes: Int32Array;
  slots: Int32Array;

  /** `entries` a power of two; given `buf`, the arrays are views at byteOffset (entries * 12 bytes). */
  constructor(entries: number, buf?: ArrayBuffer, byteOffset = 0) {
    this.hashes = buf ? new Int32Array(buf, byteOffset, entries) : new Int32Array(entries);
    this.slots = buf
      ? new Int32Array(buf, byteOffset + entries * 4, entries * 2)
      : new Int32Array(entries * 2);
  }

  /** Indexes entry `en` (the next one) under hash h. */
  insert(en: number, h: number): void {
    if (en >= this.hashes.length) {
      const g = new Int32Array(this.hashes.length * 2);
      g.set(this.hashes);
      this.hashes = g;
    }
    this.hashes[en] = h;
    if ((en + 1) * 2 > this.slots.length) {
      this.slots = new Int32Array(this.slots.length * 2);
      for (let k = 0; k < en; k++) this.place(k, this.hashes[k]);
    }
    this.place(en, h);
  }

  private place(en: number, h: number): void {
    const slots = this.slots;
    const mask = slots.length - 1;
    let i = h & mask;
    while (slots[i] !== 0) i = (i + 1) & mask;
    slots[i] = en + 1;
  }
}

/**
 * The initial entries of a new cache's tables: their typed arrays stay at most 64 bytes, which V8 keeps on the
 * JS heap. A larger typed array gets its own off-heap ArrayBuffer, and each costs 2-9 us to allocate (and
 * later to free) on this machine, ~75 ns on the heap; a new cache used to allocate five of them plus five
 * more while its first parse grew them, ~10% of a cold parse of node_exporter. A first parse sizes them all
 * at once from the body (SeriesCache.reserve).
 */
const SMALL = 8;

/** A set of strings by FNV-1a hash (lexer.spanHash), looked up by comparing a span of a body in place. */
class StringTable {
  private strs: string[] = [];
  private idx = new HashSlots(SMALL);

  get size(): number {
    return this.strs.length;
  }

  /** Replaces the (empty) index by a larger one (see SeriesCache.reserve). */
  setIndex(idx: HashSlots): void {
    if (this.strs.length === 0) this.idx = idx;
  }

  find(body: string, s: number, e: number, h: number): string | null {
    const { slots, hashes } = this.idx;
    const mask = slots.length - 1;
    const n = e - s;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const v = slots[i];
      if (v === 0) return null;
      if (hashes[v - 1] === h) {
        const k = this.strs[v - 1];
        if (k.length === n && body.startsWith(k, s)) return k;
      }
    }
  }

  add(str: string, h: number): void {
    this.idx.insert(this.strs.length, h);
    this.strs.push(str);
  }
}

export class SeriesCache {
  /** Entry -> the series text of its line. */
  keys: string[] = [];
  /**
   * Entry -> the label pairs as parsed, flattened ['__name__', name, l1, v1, ...] in exposition order. The
   * scrape loop releases them (empty array) once the final labels are computed.
   */
  raw: (readonly string[])[] = [];
  /** Entry -> final labels, filled by the scrape loop (undefined until then, null when relabelling dropped it). */
  final: (FinalLabels | undefined)[] = [];
  /**
   * Entry -> its series ref in the storage (AppendOutcome.refs), NO_REF until known. Typed, so a million refs
   * are one buffer the garbage collector never walks.
   */
  ref = new Float64Array(SMALL).fill(NO_REF);
  /** The number of entries whose final labels are BY_REF. */
  released = 0;
  // The integer columns below are typed (as `ref`): at a million entries, number[] columns cost twice the
  // bytes plus their growth slack inside the heap. add() grows them together, so a caller holding one across
  // an add() must read it again.
  /** Entry -> the iteration of the last scrape that appended it without an explicit timestamp (staleness). */
  tracked = new Int32Array(SMALL);
  /** Entry -> the iteration of the last parse that saw it. */
  lastIter = new Int32Array(SMALL);
  /** Entry -> the entry that followed it in the last parse, -1 if none. */
  succ = new Int32Array(SMALL);
  /** Entry -> the body text from the end of the previous sample line through this entry's series text. */
  prefix: string[] = [];
  /** Entry -> the number of lines in its prefix before its own line. */
  prefixLines = new Int32Array(SMALL);
  /** Entry -> the number of HELP/TYPE/UNIT lines in its prefix. */
  prefixMeta = new Int32Array(SMALL);
  /** The comment lines after the last sample line of the last parse, when they hold HELP/TYPE/UNIT lines. */
  tail = '';
  /** The iteration of the last parse that read its whole body, and its format. */
  metaIter = -1;
  metaOm = false;
  /**
   * The key index: open addressing over typed arrays (entry + 1 per slot, 0 empty; each entry's key hash),
   * probed with the hash the lexer computed while scanning the line and checked by comparing the key in place
   * in the body. Unlike a Map<string, number> it needs no cut string or re-hash per lookup, and its bulk
   * (12 bytes per series) is outside the JS object graph the garbage collector walks.
   */
  private idx = new HashSlots(SMALL);
  /** The first entry of the last parse. */
  first = -1;
  /** Incremented at the start of every parse. */
  iter = 0;

  private metaMap = new Map<string, MetricMetadata>();
  private metaBuiltFor = -1;

  /**
   * Metric metadata of the target by family name, for /api/v1/metadata and /api/v1/targets/metadata. A parse
   * only checks HELP/TYPE/UNIT lines (they stay in the entries' prefixes); the map is built from those texts
   * when asked for, once per completed parse, so that a scrape allocates nothing per family.
   */
  get metadata(): ReadonlyMap<string, MetricMetadata> {
    if (this.metaBuiltFor === this.metaIter || metadataBuilder === null) return this.metaMap;
    const texts: string[] = [];
    const since = this.metaIter;
    // The entries of the last complete parse in body order (the succ chain), bounded against any cycle.
    for (let e = this.first, k = 0; e >= 0 && k < this.keys.length; e = this.succ[e], k++) {
      if (this.lastIter[e] < since) break;
      if (this.prefixMeta[e] > 0) texts.push(this.prefix[e]);
    }
    if (this.tail !== '') texts.push(this.tail);
    this.metaMap = metadataBuilder(texts, this.metaOm);
    this.metaBuiltFor = this.metaIter;
    return this.metaMap;
  }

  get size(): number {
    return this.keys.length;
  }

  /** The entry whose key equals body[s, e) (of hash h, see lexer.spanHash), or -1. */
  find(body: string, s: number, e: number, h: number): number {
    const { slots, hashes } = this.idx;
    const mask = slots.length - 1;
    const n = e - s;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const v = slots[i];
      if (v === 0) return -1;
      const en = v - 1;
      if (hashes[en] === h) {
        const k = this.keys[en];
        if (k.length === n && body.startsWith(k, s)) return en;
      }
    }
  }

  /**
   * Sizes an empty cache for about `series` series (and as many shared strings: node_exporter has 428 for
   * 507 series) with one ArrayBuffer for the key index, the string index, the refs and the integer columns (52 bytes per series),
   * instead of an allocation per array and per doubling (see SMALL). A table that outgrows it grows on its
   * own as before. Does nothing once the cache holds entries or strings.
   */
  reserve(series: number): void {
    if (this.keys.length !== 0 || this.strings.size !== 0) return;
    let n = SMALL;
    while (n < series) n *= 2;
    if (n <= this.idx.hashes.length) return;
    const buf = new ArrayBuffer(n * 52);
    this.ref = new Float64Array(buf, 0, n).fill(NO_REF);
    this.idx = new HashSlots(n, buf, n * 8);
    this.strings.setIndex(new HashSlots(n, buf, n * 20));
    this.tracked = new Int32Array(buf, n * 32, n);
    this.lastIter = new Int32Array(buf, n * 36, n);
    this.succ = new Int32Array(buf, n * 40, n);
    this.prefixLines = new Int32Array(buf, n * 44, n);
    this.prefixMeta = new Int32Array(buf, n * 48, n);
  }

  /** A new entry for the key `key` of hash `h` (lexer.spanHash of its span). */
  add(key: string, raw: readonly string[], h: number): number {
    const e = this.keys.length;
    this.keys.push(key);
    this.prefix.push(key);
    this.raw.push(raw);
    this.final.push(undefined);
    if (e >= this.ref.length) this.grow(this.ref.length * 2);
    this.prefixLines[e] = 0;
    this.prefixMeta[e] = 0;
    this.tracked[e] = -1;
    this.lastIter[e] = this.iter;
    this.succ[e] = -1;
    this.ref[e] = NO_REF;
    this.idx.insert(e, h);
    return e;
  }

  private grow(cap: number): void {
    const g = new Float64Array(cap).fill(NO_REF);
    g.set(this.ref);
    this.ref = g;
    this.tracked = growI32(this.tracked, cap);
    this.lastIter = growI32(this.lastIter, cap);
    this.succ = growI32(this.succ, cap);
    this.prefixLines = growI32(this.prefixLines, cap);
    this.prefixMeta = growI32(this.prefixMeta, cap);
  }

  /** Metric names, label names and short values, shared by all series of the target. */
  private readonly strings = new StringTable();

  /** One shared copy of a small string (label names, short values). */
  readonly intern = (s: string): string => {
    let h = 0x811c9dc5 | 0;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    return this.internSpan(s, 0, s.length, h, keep);
  };

  /** The shared string equal to body[s, e) of FNV-1a hash h, found in place or cut by `own` and kept. */
  internSpan(body: string, s: number, e: number, h: number, own: (s: string) => string): string {
    const t = this.strings;
    const known = t.find(body, s, e, h);
    if (known !== null) return known;
    const str = own(body.substring(s, e));
    if (t.size < 100_000) t.add(str, h);
    return str;
  }

  /** Releases an entry's parsed label pairs once its final labels are known. */
  releaseRaw(e: number): void {
    this.raw[e] = EMPTY;
  }

  /** Records the storage's ref of a kept entry and lets its final label array go (see BY_REF). */
  setRef(e: number, ref: number): void {
    this.ref[e] = ref;
    const f = this.final[e];
    if (f && f !== BY_REF) {
      this.final[e] = BY_REF;
      this.released++;
    }
  }

  /**
   * Drops entries and metadata the last parse did not see, once they are a sizeable part of the cache
   * (series churn or several spellings of one series). Entry numbers change: call it only when the parse
   * output of this iteration is no longer needed. Returns the old -> new entry map (-1 for dropped ones)
   * when entries moved, null otherwise.
   */
  compact(): Int32Array | null {
    const iter = this.iter;
    let remap: Int32Array | null = null;
    let unseen = 0;
    for (let e = 0; e < this.keys.length; e++) if (this.lastIter[e] !== iter) unseen++;
    if (unseen > 64 && unseen * 4 > this.keys.length) {
      remap = new Int32Array(this.keys.length).fill(-1);
      const old = {
        keys: this.keys,
        raw: this.raw,
        final: this.final,
        tracked: this.tracked,
        lastIter: this.lastIter,
        succ: this.succ,
        prefix: this.prefix,
        prefixLines: this.prefixLines,
        prefixMeta: this.prefixMeta,
      };
      this.keys = [];
      this.raw = [];
      this.final = [];
      this.prefix = [];
      const oldHashes = this.idx.hashes;
      const oldRef = this.ref;
      this.ref = new Float64Array(64).fill(NO_REF);
      this.tracked = new Int32Array(64);
      this.lastIter = new Int32Array(64);
      this.succ = new Int32Array(64);
      this.prefixLines = new Int32Array(64);
      this.prefixMeta = new Int32Array(64);
      this.released = 0;
      this.idx = new HashSlots(32);
      for (let e = 0; e < old.keys.length; e++) {
        if (old.lastIter[e] === iter) {
          const n = this.add(old.keys[e], old.raw[e], oldHashes[e]);
          remap[e] = n;
          this.final[n] = old.final[e];
          if (old.final[e] === BY_REF) this.released++;
          this.ref[n] = oldRef[e];
          this.tracked[n] = old.tracked[e];
          this.prefix[n] = old.prefix[e];
          this.prefixLines[n] = old.prefixLines[e];
          this.prefixMeta[n] = old.prefixMeta[e];
        }
      }
      for (let e = 0; e < old.keys.length; e++) {
        const n = remap[e];
        if (n >= 0) this.succ[n] = old.succ[e] >= 0 ? remap[old.succ[e]] : -1;
      }
      this.first = this.first >= 0 ? remap[this.first] : -1;
    }
    return remap;
  }
}
