/**
 * A shard's series registry: canonical label set -> series ref (dense, from 1). Label sets are kept as
 * runs of symbol ids in one Uint32Array; lookups go through an open-addressing table of refs keyed by the
 * 64-bit hash of the label bytes and confirmed against the stored labels, so looking up a known series
 * allocates nothing.
 */
import type { Label, Labels } from '../shared/labels.js';
import { decodeLabels, hash64 } from '../shared/protocol-labels.js';
import { SymbolTable } from './symbols.js';

const encoder = new TextEncoder();

export class SeriesRegistry {
  readonly symbols = new SymbolTable();
  /** Symbol ids of every series' labels: name, value, name, value... */
  private ids = new Uint32Array(1 << 12);
  private idsUsed = 0;
  /** Per ref r: its labels are ids[start[r], start[r + 1]). */
  private start = new Uint32Array(1 << 10);
  private hashLo = new Uint32Array(1 << 10);
  private hashHi = new Uint32Array(1 << 10);
  private table = new Uint32Array(1 << 11);
  private mask = (1 << 11) - 1;
  private next = 1;
  private readonly hashOut = new Uint32Array(2);

  /** How many series exist (refs 1..count). */
  get count(): number {
    return this.next - 1;
  }

  /** The next ref create() will hand out. */
  get nextRef(): number {
    return this.next;
  }

  /** The ref of the series whose label bytes are bytes[start, end), or 0. */
  lookup(lo: number, hi: number, bytes: Uint8Array, start: number, end: number): number {
    let i = lo & this.mask;
    for (;;) {
      const ref = this.table[i];
      if (ref === 0) return 0;
      if (this.hashLo[ref] === lo && this.hashHi[ref] === hi && this.equals(ref, bytes, start, end))
        return ref;
      i = (i + 1) & this.mask;
    }
  }

  /**
   * Creates a series from its label bytes (already validated by the coordinator; decoding still throws
   * on malformed bytes). `ref` is given on WAL replay, where it must not be below the next free ref.
   */
  create(lo: number, hi: number, bytes: Uint8Array, start: number, end: number, ref = this.next): Labels {
    const labels = decodeLabels(bytes, start, end);
    if (ref < this.next) throw new RangeError(`series ref ${ref} already used`);
    this.ensure(ref + 2, this.idsUsed + labels.length * 2);
    // Refs skipped on replay (none in a WAL we wrote) keep an empty label set.
    for (let r = this.next; r <= ref; r++) this.start[r] = this.idsUsed;
    for (const l of labels) {
      this.ids[this.idsUsed++] = this.symbols.intern(l.name);
      this.ids[this.idsUsed++] = this.symbols.intern(l.value);
    }
    this.start[ref + 1] = this.idsUsed;
    this.hashLo[ref] = lo;
    this.hashHi[ref] = hi;
    this.next = ref + 1;
    if (this.next * 2 > this.table.length) this.rehash(this.table.length * 2);
    else this.insert(ref);
    return labels;
  }

  /** Hashes label bytes the way the coordinator does (for replay and in-process use). */
  hash(bytes: Uint8Array, start: number, end: number): [number, number] {
    hash64(bytes, start, end, this.hashOut, 0);
    return [this.hashOut[0], this.hashOut[1]];
  }

  labels(ref: number): Labels {
    const out: Label[] = [];
    for (let k = this.start[ref]; k < this.start[ref + 1]; k += 2) {
      out.push({ name: this.symbols.get(this.ids[k]), value: this.symbols.get(this.ids[k + 1]) });
    }
    return out;
  }

  /** Calls fn(name, value) for each label of ref, without building objects. */
  forEachLabel(ref: number, fn: (name: string, value: string) => void): void {
    for (let k = this.start[ref]; k < this.start[ref + 1]; k += 2) {
      fn(this.symbols.get(this.ids[k]), this.symbols.get(this.ids[k + 1]));
    }
  }

  /** Bytes held by the typed arrays (for memory figures). */
  bytesUsed(): number {
    return this.ids.byteLength + this.start.byteLength * 3 + this.table.byteLength;
  }

  private equals(ref: number, bytes: Uint8Array, start: number, end: number): boolean {
    let p = start;
    const last = this.start[ref + 1];
    for (let k = this.start[ref]; k < last; k++) {
      if (p >= end) return false;
      let len = bytes[p++];
      if (len >= 0x80) {
        let mul = 128;
        len &= 0x7f;
        for (;;) {
          if (p >= end) return false;
          const b = bytes[p++];
          len += (b & 0x7f) * mul;
          if (b < 0x80) break;
          mul *= 128;
        }
      }
      if (p + len > end || !sameString(this.symbols.get(this.ids[k]), bytes, p, len)) return false;
      p += len;
    }
    return p === end;
  }

  private insert(ref: number): void {
    let i = this.hashLo[ref] & this.mask;
    while (this.table[i] !== 0) i = (i + 1) & this.mask;
    this.table[i] = ref;
  }

  private rehash(size: number): void {
    this.table = new Uint32Array(size);
    this.mask = size - 1;
    for (let r = 1; r < this.next; r++)
      if (this.start[r + 1] > this.start[r] || this.hashLo[r] !== 0) this.insert(r);
  }

  private ensure(refs: number, ids: number): void {
    if (refs > this.start.length) {
      let n = this.start.length;
      while (n < refs) n *= 2;
      this.start = grow(this.start, n);
      this.hashLo = grow(this.hashLo, n);
      this.hashHi = grow(this.hashHi, n);
    }
    if (ids > this.ids.length) {
      let n = this.ids.length;
      while (n < ids) n *= 2;
      this.ids = grow(this.ids, n);
    }
  }
}

function grow(a: Uint32Array, n: number): Uint32Array<ArrayBuffer> {
  const b = new Uint32Array(n);
  b.set(a);
  return b;
}

/** True when the UTF-8 bytes [p, p + len) spell s. */
function sameString(s: string, bytes: Uint8Array, p: number, len: number): boolean {
  if (s.length > len) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return sameStringSlow(s, bytes, p, len);
    if (c !== bytes[p + i]) return false;
  }
  return s.length === len;
}

function sameStringSlow(s: string, bytes: Uint8Array, p: number, len: number): boolean {
  const enc = encoder.encode(s);
  if (enc.length !== len) return false;
  for (let i = 0; i < len; i++) if (enc[i] !== bytes[p + i]) return false;
  return true;
}
