// Decodes a remote-write 1.0 WriteRequest (protobuf, already snappy-decompressed) straight into an
// AppendRequest's columns: one pass over the buffer, samples copied into typed arrays, labels as strings
// per series. Series with bad labels are refused here (with a reason) and the rest still go through.
//
// message WriteRequest { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3; }
// message TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; exemplars = 3; histograms = 4; }
// message Label        { string name = 1; string value = 2; }
// message Sample       { double value = 1; int64 timestamp = 2; }
//
// Senders resend the same label bytes for a series in every request, so a WriteDecoder keeps a series
// cache (as Prometheus' scrape cache does): the label section's bytes map to the decoded, validated label
// array. A hit skips label decoding and validation, and because the same array comes back, the
// coordinator's router (which remembers arrays it has routed) skips encoding and hashing too.
import { isUtf8 } from 'node:buffer';
import { type AppendRequest, NO_REF } from '../shared/ingest.js';
import { ProtoError, ProtoReader, WIRE_LEN } from './protobuf.js';

export interface WriteDecodeLimits {
  /** Most labels a series may have (Prometheus has no limit by default; ours is a flag). */
  readonly maxLabelsPerSeries: number;
}

export const DEFAULT_WRITE_LIMITS: WriteDecodeLimits = { maxLabelsPerSeries: 1000 };

export interface DecodedWrite {
  /** The valid series with at least one sample. */
  readonly request: AppendRequest;
  /** Samples in the refused series. */
  readonly refusedSamples: number;
  readonly refusedSeries: number;
  /** The first reasons for refusals. */
  readonly errors: string[];
  /** Exemplars and native histograms present but not stored (no storage for them yet). */
  readonly ignoredExemplars: number;
  readonly ignoredHistograms: number;
  /** Per series of the request: its series-cache entry (-1: none), of the cache's generation then. */
  readonly entries: Int32Array;
  readonly generation: number;
}

/** The labels of a series sent by its ref (AppendRequest.refs). */
const NO_LABELS: string[] = [];

const MAX_ERRORS = 5;
// The smallest encoded sample: Sample key + length + value key + 8 bytes (timestamp 0 omitted).
const MIN_SAMPLE_BYTES = 11;
const KEY_LABEL = (1 << 3) | WIRE_LEN;
const KEY_SAMPLE = (2 << 3) | WIRE_LEN;
const KEY_NAME = KEY_LABEL;
const KEY_VALUE = KEY_SAMPLE;

interface FastBuffer extends Buffer {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

function validName(buf: Uint8Array, start: number, end: number): boolean {
  if (start >= end) return false;
  for (let i = start; i < end; i++) {
    const c = buf[i];
    const alpha = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;
    if (!alpha && !(i > start && c >= 0x30 && c <= 0x39)) return false;
  }
  return true;
}

function isAscii(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] >= 0x80) return false;
  return true;
}

function duplicateName(flat: readonly string[]): string | undefined {
  const k = flat.length >>> 1;
  if (k <= 16) {
    for (let i = 0; i < flat.length; i += 2) {
      for (let j = i + 2; j < flat.length; j += 2) if (flat[i] === flat[j]) return flat[i];
    }
    return undefined;
  }
  const seen = new Set<string>();
  for (let i = 0; i < flat.length; i += 2) {
    if (seen.has(flat[i])) return flat[i];
    seen.add(flat[i]);
  }
  return undefined;
}

/**
 * Label-section bytes -> the series' storage ref (once the storage gave one) and, only where the
 * appendable needs labels, its decoded label array. Keys live in one byte arena and are found by a 30-bit
 * FNV-1a hash in an open-addressing table, then compared byte for byte (a hash collision can never mix up
 * two series). Cleared whole when full, so memory stays bounded; the next requests simply decode again.
 */
class SeriesCache {
  /**
   * Open addressing, slots of two ints: [hash, entry id + 1] (0: empty), so a probe reads one place.
   * Power-of-two slot count, at most half full.
   */
  private table = new Int32Array(2 * 4096);
  /** Per entry: [arena offset, length]. */
  private meta = new Uint32Array(2 * 1024);
  /** Per entry: the storage ref, or NO_REF until an append answered one. */
  private refs = new Float64Array(1024).fill(NO_REF);
  private flats: (string[] | null)[] = [];
  /** Bumped by clear(), so that refs learned for entries of an older generation are not misfiled. */
  generation = 0;
  private arena = new Uint8Array(64 * 1024);
  private arenaView = new DataView(this.arena.buffer);
  private used = 0;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.flats.length;
  }

  /** A 30-bit hash of b[from, to), 4 bytes at a time (a table slot; equality is checked on the bytes). */
  static hash(dv: DataView, from: number, to: number): number {
    let h = 0x811c9dc5 ^ (to - from);
    let i = from;
    for (; i + 4 <= to; i += 4) {
      h = Math.imul(h ^ dv.getUint32(i, true), 0x01000193);
      h ^= h >>> 15;
    }
    for (; i < to; i++) h = Math.imul(h ^ dv.getUint8(i), 0x01000193);
    h ^= h >>> 13;
    return (h >>> 2) & 0x3fffffff;
  }

  /** The entry id of these label bytes, or -1. */
  get(h: number, dv: DataView, from: number, to: number): number {
    const table = this.table;
    const mask = (table.length >>> 1) - 1;
    const n = to - from;
    const arena = this.arenaView;
    const meta = this.meta;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const id = table[2 * slot + 1];
      if (id === 0) return -1;
      if (table[2 * slot] !== h) continue;
      const e = id - 1;
      if (meta[2 * e + 1] !== n) continue;
      const o = meta[2 * e];
      let i = 0;
      for (; i + 4 <= n; i += 4) if (arena.getUint32(o + i, true) !== dv.getUint32(from + i, true)) break;
      if (i + 4 <= n) continue;
      for (; i < n; i++) if (arena.getUint8(o + i) !== dv.getUint8(from + i)) break;
      if (i === n) return e;
    }
  }

  flat(e: number): string[] | null {
    return this.flats[e];
  }

  setFlat(e: number, flat: string[]): void {
    this.flats[e] = flat;
  }

  ref(e: number): number {
    return this.refs[e];
  }

  setRef(e: number, ref: number): void {
    this.refs[e] = ref;
  }

  private place(table: Int32Array, h: number, e: number): void {
    const mask = (table.length >>> 1) - 1;
    let slot = h & mask;
    while (table[2 * slot + 1] !== 0) slot = (slot + 1) & mask;
    table[2 * slot] = h;
    table[2 * slot + 1] = e + 1;
  }

  /** Adds an entry and returns its id (-1: no cache). */
  set(h: number, b: Uint8Array, from: number, to: number, flat: string[] | null): number {
    if (this.capacity <= 0) return -1;
    if (this.flats.length >= this.capacity) this.clear();
    const e = this.flats.length;
    if (2 * e + 2 > this.meta.length) {
      const m = new Uint32Array(this.meta.length * 2);
      m.set(this.meta);
      this.meta = m;
      const r = new Float64Array(this.refs.length * 2).fill(NO_REF);
      r.set(this.refs);
      this.refs = r;
    }
    if ((e + 1) * 2 > this.table.length >>> 1) {
      const old = this.table;
      const t = new Int32Array(old.length * 2);
      for (let slot = 0; slot < old.length >>> 1; slot++) {
        const id = old[2 * slot + 1];
        if (id !== 0) this.place(t, old[2 * slot], id - 1);
      }
      this.table = t;
    }
    const n = to - from;
    if (this.used + n > this.arena.length) {
      let cap = this.arena.length * 2;
      while (cap < this.used + n) cap *= 2;
      const a = new Uint8Array(cap);
      a.set(this.arena.subarray(0, this.used));
      this.arena = a;
      this.arenaView = new DataView(a.buffer);
    }
    this.arena.set(b.subarray(from, to), this.used);
    this.meta[2 * e] = this.used;
    this.meta[2 * e + 1] = n;
    this.used += n;
    this.place(this.table, h, e);
    this.flats.push(flat);
    this.refs[e] = NO_REF;
    return e;
  }

  clear(): void {
    this.table.fill(0);
    this.flats = [];
    this.used = 0;
    this.generation++;
  }
}

/** Valid label names seen, found by their bytes; bounded (cleared when full). */
class NameTable {
  private bytes: Uint8Array[] = [];
  private strings: string[] = [];
  constructor(private readonly capacity: number) {}

  find(b: Uint8Array, from: number, to: number): string | undefined {
    const n = to - from;
    const list = this.bytes;
    for (let k = 0; k < list.length; k++) {
      const x = list[k];
      if (x.length !== n) continue;
      let i = 0;
      while (i < n && x[i] === b[from + i]) i++;
      if (i === n) return this.strings[k];
    }
    return undefined;
  }

  add(b: Uint8Array, from: number, to: number, s: string): string {
    if (this.bytes.length >= this.capacity) {
      this.bytes = [];
      this.strings = [];
    }
    this.bytes.push(b.slice(from, to));
    this.strings.push(s);
    return s;
  }
}

/** A decoder with a bounded series cache (see SeriesCache). */
export class WriteDecoder {
  private readonly cache: SeriesCache;
  private readonly names = new NameTable(64);
  private readonly r = new ProtoReader(new Uint8Array(0));
  private scratchT = new Float64Array(0);
  private scratchV = new Float64Array(0);
  /** Set by decodeLabels when a series is refused. */
  private bad = '';

  constructor(
    private readonly limits: WriteDecodeLimits = DEFAULT_WRITE_LIMITS,
    cacheSize = 1 << 20,
  ) {
    this.cache = new SeriesCache(cacheSize);
  }

  /** Entries held, for tests and metrics. */
  get cachedSeries(): number {
    return this.cache.size;
  }

  /**
   * Decodes and validates; throws ProtoError for a malformed message (the request is then refused whole).
   * With `withLabels` false, a series whose ref the storage gave before (see learn) is sent by its ref
   * with empty labels (request.refs), so the decoder keeps no label arrays.
   */
  decode(input: Uint8Array, withLabels = true): DecodedWrite {
    const b = (
      Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength)
    ) as FastBuffer;
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const cap = Math.floor(b.length / MIN_SAMPLE_BYTES) + 1;
    // Scratch columns reused across requests (sized for the largest body seen); the request gets copies
    // of exactly its samples, since callers keep them after the next decode starts.
    if (this.scratchT.length < cap) {
      this.scratchT = new Float64Array(cap);
      this.scratchV = new Float64Array(cap);
    }
    const t = this.scratchT;
    const v = this.scratchV;
    const vBytes = new Uint8Array(v.buffer);
    const series: string[][] = [];
    const starts: number[] = [0];
    const refs: number[] = [];
    const entries: number[] = [];
    const errors: string[] = [];
    let n = 0;
    let refusedSamples = 0;
    let refusedSeries = 0;
    let ignoredExemplars = 0;
    let ignoredHistograms = 0;

    const r = this.r;
    r.reset(b, 0, b.length);
    while (r.pos < b.length) {
      const key = r.key();
      if (key !== KEY_LABEL) {
        r.skip(key & 7);
        continue;
      }
      const tsEnd = r.lenEnd();
      const seriesStart = n;
      let labelsFrom = -1;
      let labelsTo = -1;
      let contiguous = true;
      let numLabels = 0;

      // Fast path for the layout every sender writes: short labels first, then samples of value +
      // non-negative timestamp. Reads bytes directly; on anything else it commits nothing and the
      // general path below decodes the series.
      let p = r.pos;
      let fast = true;
      const lf = p;
      let nl = 0;
      while (p < tsEnd && b[p] === 0x0a) {
        const l = b[p + 1];
        if (l >= 0x80 || p + 2 + l > tsEnd) {
          fast = false;
          break;
        }
        p += 2 + l;
        nl++;
      }
      const lt = p;
      let ns = 0;
      while (fast && p < tsEnd) {
        const l = b[p + 1];
        const se = p + 2 + l;
        let q = p + 2;
        if (b[p] !== 0x12 || l >= 0x80 || l < 9 || se > tsEnd || b[q] !== 0x09 || n + ns >= cap) {
          fast = false;
          break;
        }
        const o = (n + ns) * 8;
        for (let i = 0; i < 8; i++) vBytes[o + i] = b[q + 1 + i];
        q += 9;
        let ts = 0;
        if (q < se) {
          if (b[q] !== 0x10) {
            fast = false;
            break;
          }
          q++;
          let mul = 1;
          let done = false;
          for (let i = 0; i < 7 && q < se; i++) {
            const c = b[q++];
            ts += (c & 0x7f) * mul;
            if (c < 0x80) {
              done = true;
              break;
            }
            mul *= 128;
          }
          if (!done) {
            fast = false;
            break;
          }
        }
        if (q !== se) {
          fast = false;
          break;
        }
        t[n + ns] = ts;
        ns++;
        p = se;
      }

      r.end = tsEnd;
      if (fast) {
        numLabels = nl;
        if (nl > 0) {
          labelsFrom = lf;
          labelsTo = lt;
        }
        n += ns;
        r.pos = tsEnd;
      }
      while (r.pos < tsEnd) {
        const at = r.pos;
        const k = r.key();
        if (k === KEY_LABEL) {
          const lEnd = r.lenEnd();
          if (labelsFrom < 0) labelsFrom = at;
          else if (labelsTo !== at) contiguous = false;
          labelsTo = lEnd;
          numLabels++;
          r.pos = lEnd;
        } else if (k === KEY_SAMPLE) {
          const sEnd = r.lenEnd();
          if (n >= cap) throw new ProtoError('more samples than the body can hold');
          let p = r.pos;
          let ts = 0;
          let haveV = false;
          // Fast path: value (0x09 + 8 bytes) then timestamp (0x10 varint), as every sender writes them.
          if (b[p] === 0x09 && p + 9 <= sEnd) {
            const o = n * 8;
            for (let i = 0; i < 8; i++) vBytes[o + i] = b[p + 1 + i];
            haveV = true;
            p += 9;
            if (p < sEnd && b[p] === 0x10) {
              r.pos = p + 1;
              r.end = sEnd;
              ts = r.int64();
              p = r.pos;
            }
          }
          if (p !== sEnd) {
            // General path: any field order, unknown fields skipped.
            r.pos = p;
            r.end = sEnd;
            while (r.pos < sEnd) {
              const sk = r.key();
              if (sk === 0x09) {
                if (r.pos + 8 > sEnd) throw new ProtoError('unexpected EOF');
                const o = n * 8;
                for (let i = 0; i < 8; i++) vBytes[o + i] = b[r.pos + i];
                haveV = true;
                r.pos += 8;
              } else if (sk === 0x10) ts = r.int64();
              else r.skip(sk & 7);
            }
          }
          if (!haveV) v[n] = 0;
          t[n] = ts;
          n++;
          r.pos = sEnd;
          r.end = tsEnd;
        } else {
          const wire = k & 7;
          const field = k >>> 3;
          if (field === 3 && wire === WIRE_LEN) ignoredExemplars++;
          else if (field === 4 && wire === WIRE_LEN) ignoredHistograms++;
          r.skip(wire);
        }
      }
      r.pos = tsEnd;
      r.end = b.length;

      let flat: string[] | null = null;
      let h = -1;
      let e = -1;
      let ref = NO_REF;
      if (numLabels > 0 && contiguous) {
        h = SeriesCache.hash(dv, labelsFrom, labelsTo);
        e = this.cache.get(h, dv, labelsFrom, labelsTo);
        if (e >= 0) {
          ref = this.cache.ref(e);
          if (withLabels) flat = this.cache.flat(e);
          else if (ref !== NO_REF) flat = NO_LABELS;
        }
      }
      if (flat === null) {
        this.bad = '';
        flat = this.decodeLabels(b, tsEnd, labelsFrom, numLabels);
        if (this.bad !== '') {
          refusedSeries++;
          refusedSamples += n - seriesStart;
          n = seriesStart;
          if (errors.length < MAX_ERRORS) errors.push(this.bad);
          r.reset(b, tsEnd, b.length);
          continue;
        }
        if (e >= 0) {
          if (withLabels) this.cache.setFlat(e, flat);
        } else if (h >= 0) e = this.cache.set(h, b, labelsFrom, labelsTo, withLabels ? flat : null);
        r.reset(b, tsEnd, b.length);
      }
      if (n === seriesStart) continue; // no samples: nothing to store, no series created
      series.push(flat);
      starts.push(n);
      refs.push(flat === NO_LABELS ? ref : NO_REF);
      entries.push(e);
    }

    const sampleStart = Uint32Array.from(starts);
    return {
      request: withLabels
        ? { series, sampleStart, t: t.slice(0, n), v: v.slice(0, n) }
        : { series, refs: Float64Array.from(refs), sampleStart, t: t.slice(0, n), v: v.slice(0, n) },
      entries: Int32Array.from(entries),
      generation: this.cache.generation,
      refusedSamples,
      refusedSeries,
      errors,
      ignoredExemplars,
      ignoredHistograms,
    };
  }

  /** Keeps the refs the storage answered for a decoded request (AppendOutcome.refs) for its next requests. */
  learn(d: DecodedWrite, refs: Float64Array | undefined): void {
    if (refs === undefined || d.generation !== this.cache.generation) return;
    const entries = d.entries;
    for (let i = 0; i < entries.length; i++) {
      if (entries[i] >= 0 && refs[i] !== NO_REF) this.cache.setRef(entries[i], refs[i]);
    }
  }

  /** Decodes and validates the labels of the series ending at tsEnd (from its first label); sets `bad`. */
  private decodeLabels(b: FastBuffer, tsEnd: number, from: number, numLabels: number): string[] {
    const labels: string[] = [];
    if (numLabels === 0) {
      this.bad = 'series has no labels';
      return labels;
    }
    const r = this.r;
    r.reset(b, from, tsEnd);
    while (r.pos < tsEnd) {
      let ns = 0;
      let ne = 0;
      let vs = 0;
      let ve = 0;
      const p = r.pos;
      // Fast path: 0x0a L 0x0a NL name [0x12 VL value], all lengths one byte and consistent.
      const l = b[p + 1];
      const nl = b[p + 3];
      let fast = false;
      if (b[p] === 0x0a && l < 0x80 && b[p + 2] === 0x0a && nl < 0x80 && p + 2 + l <= tsEnd) {
        if (l === 2 + nl) {
          ns = p + 4;
          ne = ns + nl;
          vs = ve = ne;
          fast = true;
        } else if (b[p + 4 + nl] === 0x12 && b[p + 5 + nl] < 0x80 && l === 4 + nl + b[p + 5 + nl]) {
          ns = p + 4;
          ne = ns + nl;
          vs = ne + 2;
          ve = vs + b[p + 5 + nl];
          fast = true;
        }
      }
      if (fast) r.pos = p + 2 + l;
      else {
        const k = r.key();
        if (k !== KEY_LABEL) {
          r.skip(k & 7);
          continue;
        }
        const lEnd = r.lenEnd();
        r.end = lEnd;
        while (r.pos < lEnd) {
          const lk = r.key();
          if (lk === KEY_NAME) {
            ne = r.lenEnd();
            ns = r.pos;
            r.pos = ne;
          } else if (lk === KEY_VALUE) {
            ve = r.lenEnd();
            vs = r.pos;
            r.pos = ve;
          } else r.skip(lk & 7);
        }
        r.end = tsEnd;
      }
      if (this.bad !== '') continue;
      // Names are few and repeat in every series: known ones are found by their bytes (no new string,
      // no validation again) and held once.
      let name = this.names.find(b, ns, ne);
      if (name === undefined) {
        if (!validName(b, ns, ne)) {
          this.bad =
            ns === ne
              ? 'empty label name'
              : isUtf8(b.subarray(ns, ne))
                ? `invalid label name: ${JSON.stringify(b.utf8Slice(ns, ne))}`
                : 'invalid UTF-8 in label name';
          continue;
        }
        name = this.names.add(b, ns, ne, b.latin1Slice(ns, ne));
      }
      if (ve === vs) continue; // empty values are dropped, as Prometheus does
      let value: string;
      if (isAscii(b, vs, ve)) value = b.latin1Slice(vs, ve);
      else if (isUtf8(b.subarray(vs, ve))) value = b.utf8Slice(vs, ve);
      else {
        this.bad = `invalid UTF-8 in the value of label ${JSON.stringify(name)}`;
        continue;
      }
      // Values are not interned: at 1M series the lookups cost more CPU than the memory they save.
      labels.push(name, value);
    }
    if (this.bad !== '') return labels;
    if (labels.length === 0) this.bad = 'series has no labels';
    else if (numLabels > this.limits.maxLabelsPerSeries) {
      this.bad = `series has ${numLabels} labels, more than the limit of ${this.limits.maxLabelsPerSeries}`;
    } else {
      const dup = duplicateName(labels);
      if (dup !== undefined) this.bad = `duplicate label name ${JSON.stringify(dup)}`;
    }
    return labels;
  }
}

/** Decodes one request without a series cache. */
export function decodeWriteRequest(
  buf: Uint8Array,
  limits: WriteDecodeLimits = DEFAULT_WRITE_LIMITS,
): DecodedWrite {
  return new WriteDecoder(limits, 0).decode(buf);
}
