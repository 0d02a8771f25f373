// The tombstones file of a block (tsdb/docs/format/tombstones.md, as Prometheus 2.42 writes it):
// magic 0x0130BA30, version 1, then per deleted interval uvarint(series ref) varint(mint) varint(maxt),
// then a big-endian CRC32C of everything after the 5-byte header. Intervals are closed [mint, maxt].
import { readFileSync } from 'node:fs';
import { Decbuf } from './decbuf.js';
import { Encbuf } from './encbuf.js';
import { DecodeError } from './errors.js';
import { ops } from './native-ops.js';

export const TOMBSTONES_MAGIC = 0x0130ba30;
export const TOMBSTONES_VERSION = 1;
export const TOMBSTONES_FILENAME = 'tombstones';

export interface Interval {
  mint: number;
  maxt: number;
}

/** Series ref -> sorted, non-overlapping deleted intervals. */
export type Tombstones = Map<number, Interval[]>;

/** Adds an interval, keeping the list sorted and merged (adjacent integer ranges are joined). */
export function addInterval(list: Interval[], iv: Interval): Interval[] {
  const all = [...list, iv].sort((a, b) => a.mint - b.mint);
  const out: Interval[] = [];
  for (const x of all) {
    const last = out[out.length - 1];
    if (last && x.mint <= last.maxt + 1) last.maxt = Math.max(last.maxt, x.maxt);
    else out.push({ mint: x.mint, maxt: x.maxt });
  }
  return out;
}

export function addTombstone(ts: Tombstones, ref: number, iv: Interval): void {
  ts.set(ref, addInterval(ts.get(ref) ?? [], iv));
}

export function isDeleted(list: readonly Interval[] | undefined, t: number): boolean {
  if (!list) return false;
  for (const iv of list) if (t >= iv.mint && t <= iv.maxt) return true;
  return false;
}

export function decodeTombstones(b: Uint8Array): Tombstones {
  if (b.length < 9) throw new DecodeError(`tombstones: file too short (${b.length} bytes)`);
  const d = new Decbuf(b, 0, b.length, 'tombstones');
  const magic = d.be32();
  if (magic !== TOMBSTONES_MAGIC) throw new DecodeError(`tombstones: bad magic ${magic.toString(16)}`);
  const v = d.u8();
  if (v !== TOMBSTONES_VERSION) throw new DecodeError(`tombstones: unsupported version ${v}`);
  const end = b.length - 4;
  const want = new Decbuf(b, end, b.length, 'tombstones CRC').be32();
  const got = ops.crc32c(b.subarray(5, end));
  if (want !== got) throw new DecodeError('tombstones: CRC32C mismatch');
  const body = new Decbuf(b, 5, end, 'tombstones');
  const out: Tombstones = new Map();
  while (body.remaining > 0) {
    const ref = body.uvarint();
    const mint = body.varint();
    const maxt = body.varint();
    if (mint > maxt) throw new DecodeError(`tombstones: interval [${mint}, ${maxt}] reversed`);
    addTombstone(out, ref, { mint, maxt });
  }
  return out;
}

export function readTombstones(path: string): Tombstones {
  let b: Uint8Array;
  try {
    b = readFileSync(path);
  } catch (err) {
    // Prometheus treats a missing tombstones file as no tombstones.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new DecodeError(`tombstones: cannot read: ${(err as Error).message}`);
  }
  return decodeTombstones(b);
}

export function encodeTombstones(ts: Tombstones): Uint8Array {
  const e = new Encbuf(64);
  e.be32(TOMBSTONES_MAGIC);
  e.u8(TOMBSTONES_VERSION);
  const refs = [...ts.keys()].sort((a, b) => a - b);
  for (const ref of refs) {
    for (const iv of ts.get(ref)!) {
      e.uvarint(ref);
      e.varint(iv.mint);
      e.varint(iv.maxt);
    }
  }
  e.be32(ops.crc32c(e.bytes.subarray(5)));
  return e.bytes.slice();
}

export function countTombstones(ts: Tombstones): number {
  let n = 0;
  for (const l of ts.values()) n += l.length;
  return n;
}
