/**
 * Deleted intervals of head series (the head's tombstones, as Prometheus' head keeps them): samples in a
 * series' intervals are hidden from every read at once; the intervals are logged to the WAL (record kind
 * 3, Prometheus' encoding), carried into checkpoints, recorded in the block a head cut writes (its
 * `tombstones` file, so compaction removes the data) and dropped once the head is truncated past them.
 */
import { addInterval, type Interval } from './block/tombstones.js';

export const RECORD_TOMBSTONES = 3;

export class HeadTombstones {
  private readonly byRef = new Map<number, Interval[]>();

  get size(): number {
    return this.byRef.size;
  }

  get(ref: number): readonly Interval[] | undefined {
    return this.byRef.get(ref);
  }

  entries(): IterableIterator<[number, Interval[]]> {
    return this.byRef.entries();
  }

  add(ref: number, mint: number, maxt: number): void {
    if (maxt < mint) return;
    this.byRef.set(ref, addInterval(this.byRef.get(ref) ?? [], { mint, maxt }));
  }

  /** True when some interval of `ref` covers t. */
  deleted(ref: number, t: number): boolean {
    const list = this.byRef.get(ref);
    if (list === undefined) return false;
    for (const iv of list) if (t >= iv.mint && t <= iv.maxt) return true;
    return false;
  }

  /** Drops intervals wholly before `before` (the head no longer holds samples there). */
  truncate(before: number): void {
    for (const [ref, list] of this.byRef) {
      const kept = list.filter((iv) => iv.maxt >= before);
      if (kept.length === 0) this.byRef.delete(ref);
      else if (kept.length !== list.length) this.byRef.set(ref, kept);
    }
  }

  /** Every interval as one WAL record (null when there are none). */
  record(): Uint8Array | null {
    if (this.byRef.size === 0) return null;
    const refs: number[] = [];
    const ivs: Interval[] = [];
    for (const [ref, list] of this.byRef) {
      for (const iv of list) {
        refs.push(ref);
        ivs.push(iv);
      }
    }
    return encodeTombstonesRecord(refs, ivs);
  }
}

/** Prometheus' WAL tombstones record: kind 3, then per interval ref <uint64 BE>, mint <varint>, maxt <varint>. */
export function encodeTombstonesRecord(refs: readonly number[], ivs: readonly Interval[]): Uint8Array {
  const out = new Uint8Array(1 + refs.length * (8 + 10 + 10));
  const dv = new DataView(out.buffer);
  out[0] = RECORD_TOMBSTONES;
  let at = 1;
  for (let i = 0; i < refs.length; i++) {
    dv.setBigUint64(at, BigInt(refs[i]));
    at += 8;
    at = putVarint(out, at, ivs[i].mint);
    at = putVarint(out, at, ivs[i].maxt);
  }
  return out.subarray(0, at);
}

export function decodeTombstonesRecord(
  rec: Uint8Array,
  each: (ref: number, mint: number, maxt: number) => void,
): void {
  if (rec[0] !== RECORD_TOMBSTONES) throw new RangeError('tombstones record: wrong kind');
  const dv = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
  const pos = [1];
  while (pos[0] < rec.length) {
    if (pos[0] + 8 > rec.length) throw new RangeError('tombstones record: truncated ref');
    const ref = dv.getBigUint64(pos[0]);
    if (ref > 0xffffffffn) throw new RangeError(`tombstones record: series ref ${ref} out of range`);
    pos[0] += 8;
    const mint = readVarint(rec, pos);
    const maxt = readVarint(rec, pos);
    each(Number(ref), mint, maxt);
  }
}

/** Go's binary.PutVarint (zig-zag) of an integer-valued double. */
function putVarint(buf: Uint8Array, at: number, x: number): number {
  const v = BigInt.asIntN(64, BigInt(Math.trunc(x)));
  let u = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
  while (u >= 0x80n) {
    buf[at++] = Number(u & 0x7fn) | 0x80;
    u >>= 7n;
  }
  buf[at++] = Number(u);
  return at;
}

function readVarint(buf: Uint8Array, pos: number[]): number {
  let u = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos[0] >= buf.length) throw new RangeError('tombstones record: truncated varint');
    const b = buf[pos[0]++];
    u |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) {
      const v = (u >> 1n) ^ -(u & 1n);
      return Number(BigInt.asIntN(64, v));
    }
    shift += 7n;
  }
  throw new RangeError('tombstones record: varint too long');
}
