/**
 * A write-ahead log in Prometheus' segment layout (tsdb/docs/format/wal.md): numbered segment files
 * (00000000, 00000001, ...) of at most 128 MiB, made of 32 KiB pages; a record is written as one or more
 * fragments, each with a 7-byte header (type: 1 full, 2 first, 3 middle, 4 last; big-endian uint16
 * length; big-endian CRC32-Castagnoli of the fragment's bytes). A fragment never crosses a page; a
 * page's tail too short for a header is zero padding; a record never crosses a segment.
 *
 * The writer makes one write() per log() call (the page cache is enough to survive kill -9) and fsyncs
 * a segment when it is full or closed. On open it always starts a new segment, as Prometheus does.
 * The reader checks every fragment and, at the first damage (torn tail, bad CRC, bad framing), cuts the
 * log back to the end of the last good record and deletes later segments, reporting what it cut.
 */
import {
  close,
  closeSync,
  existsSync,
  fsync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { crc32c } from '../native/binding.js';

export const PAGE_SIZE = 32 * 1024;
export const DEFAULT_SEGMENT_SIZE = 128 * 1024 * 1024;
export const FRAGMENT_HEADER = 7;
const MAX_SCRATCH = 4 * 1024 * 1024;
const FULL = 1;
const FIRST = 2;
const MIDDLE = 3;
const LAST = 4;

export interface WalLogger {
  warn(msg: string): void;
}

export function segmentName(i: number): string {
  return i.toString().padStart(8, '0');
}

/** The segment numbers present in dir, ascending. */
export function listSegments(dir: string): number[] {
  if (!existsSync(dir)) return [];
  const out: number[] = [];
  for (const name of readdirSync(dir)) if (/^\d{8}$/.test(name)) out.push(Number(name));
  return out.sort((a, b) => a - b);
}

/** Upper bound of the bytes a record takes once fragmented, padding included. */
function fragmentedBound(len: number): number {
  return len + FRAGMENT_HEADER * (Math.ceil(len / (PAGE_SIZE - FRAGMENT_HEADER)) + 1) + PAGE_SIZE;
}

export class WalWriter {
  private fd = -1;
  private segment: number;
  /** Bytes in the current segment. */
  private offset = 0;
  private totalBytes = 0;
  private scratch = new Uint8Array(1 << 16);
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly segmentSize: number,
    first: number,
  ) {
    this.segment = first;
    this.openSegment();
  }

  /** Opens a log for appending; a new segment follows the highest existing one. */
  static open(dir: string, segmentSize = DEFAULT_SEGMENT_SIZE): WalWriter {
    if (segmentSize < PAGE_SIZE || segmentSize % PAGE_SIZE !== 0) {
      throw new RangeError(`WAL segment size must be a multiple of ${PAGE_SIZE}`);
    }
    mkdirSync(dir, { recursive: true });
    const segs = listSegments(dir);
    return new WalWriter(dir, segmentSize, segs.length === 0 ? 0 : segs[segs.length - 1] + 1);
  }

  get bytesWritten(): number {
    return this.totalBytes;
  }

  get currentSegment(): number {
    return this.segment;
  }

  /** Where the next record will start: segment number and byte offset in it. */
  position(): { segment: number; offset: number } {
    return { segment: this.segment, offset: this.offset };
  }

  /** Writes records in one write() (two when a segment fills up). Returns the bytes written. */
  log(records: readonly Uint8Array[]): number {
    if (this.closed) throw new Error('WAL is closed');
    let bound = 0;
    for (const r of records) {
      const b = fragmentedBound(r.length);
      if (b > this.segmentSize)
        throw new RangeError(`WAL record of ${r.length} bytes exceeds the segment size`);
      bound += b;
    }
    // Keep a scratch buffer for usual batches; a rare huge one (series creation) gets its own.
    let buf = this.scratch;
    if (buf.length < bound) {
      buf = new Uint8Array(Math.max(bound, buf.length * 2));
      if (buf.length <= MAX_SCRATCH) this.scratch = buf;
    }
    let written = 0;
    let at = 0; // bytes pending in buf, starting at this.offset in the segment
    for (const rec of records) {
      if (this.offset + at + fragmentedBound(rec.length) > this.segmentSize) {
        if (at > 0) written += this.write(buf.subarray(0, at));
        at = 0;
        this.nextSegment();
      }
      at = this.fragment(rec, buf, at);
    }
    if (at > 0) written += this.write(buf.subarray(0, at));
    return written;
  }

  /** Fragments rec into buf at `at` (segment position this.offset + at); returns the new end. */
  private fragment(rec: Uint8Array, buf: Uint8Array, at: number): number {
    let p = 0;
    let first = true;
    for (;;) {
      const pos = this.offset + at;
      const pageRem = PAGE_SIZE - (pos % PAGE_SIZE);
      if (pageRem <= FRAGMENT_HEADER) {
        buf.fill(0, at, at + pageRem);
        at += pageRem;
        continue;
      }
      const l = Math.min(rec.length - p, pageRem - FRAGMENT_HEADER);
      const last = p + l === rec.length;
      buf[at] = first ? (last ? FULL : FIRST) : last ? LAST : MIDDLE;
      buf[at + 1] = l >>> 8;
      buf[at + 2] = l & 0xff;
      const crc = crc32c(rec.subarray(p, p + l));
      buf[at + 3] = crc >>> 24;
      buf[at + 4] = (crc >>> 16) & 0xff;
      buf[at + 5] = (crc >>> 8) & 0xff;
      buf[at + 6] = crc & 0xff;
      buf.set(rec.subarray(p, p + l), at + FRAGMENT_HEADER);
      at += FRAGMENT_HEADER + l;
      p += l;
      first = false;
      if (last) return at;
    }
  }

  private write(b: Uint8Array): number {
    let done = 0;
    while (done < b.length) done += writeSync(this.fd, b, done, b.length - done);
    this.offset += b.length;
    this.totalBytes += b.length;
    return b.length;
  }

  /**
   * Finished segments are fsynced in the background (a live WAL; a checkpoint's log keeps synchronous
   * fsyncs, since the segments it replaces are deleted right after it is renamed into place).
   */
  backgroundFsync = false;

  private openSegment(): void {
    this.fd = openSync(join(this.dir, segmentName(this.segment)), 'w');
    this.offset = 0;
  }

  /**
   * Pads the last page, fsyncs and closes the segment. A segment left for the next one is fsynced in the
   * background (libuv's pool), as Prometheus' WAL hands it to its actor goroutine: the writer does not stall
   * for a 128 MiB flush. Acknowledged samples were in the page cache already (they survive kill -9).
   */
  private finishSegment(background = false): void {
    const rem = this.offset % PAGE_SIZE;
    if (rem !== 0) this.write(new Uint8Array(PAGE_SIZE - rem));
    const fd = this.fd;
    this.fd = -1;
    if (!background) {
      fsyncSync(fd);
      closeSync(fd);
      return;
    }
    fsync(fd, (err) => {
      if (err) console.error(`promshard WAL ${this.dir}: fsync of a finished segment failed: ${err.message}`);
      close(fd, () => undefined);
    });
  }

  private nextSegment(): void {
    this.finishSegment(this.backgroundFsync);
    this.segment++;
    this.openSegment();
  }

  /** Closes the current segment (padded, fsynced) and starts the next; returns the closed one's number. */
  cutSegment(): number {
    if (this.closed) throw new Error('WAL is closed');
    const done = this.segment;
    this.nextSegment();
    return done;
  }

  /** Flushes: pads the last page and fsyncs the open segment. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.finishSegment();
  }
}

export interface WalDamage {
  segment: number;
  /** Offset of the first byte cut (the end of the last good record). */
  offset: number;
  reason: string;
  /** Bytes cut from the damaged segment, and later segments deleted. */
  bytesCut: number;
  segmentsRemoved: number[];
}

export interface WalReadResult {
  records: number;
  segments: number;
  bytes: number;
  damage: WalDamage | null;
}

/**
 * Reads every record of the log in order, calling onRecord with an 8-byte aligned copy. At the first
 * damage it cuts the log back (repair) and logs a warning; records before the damage are all delivered.
 * An exception thrown by onRecord for a record (bad content) is treated as damage at that record.
 */
export function readWal(
  dir: string,
  onRecord: (rec: Uint8Array) => void,
  logger: WalLogger = { warn: (m) => console.warn(m) },
  fromSegment = 0,
): WalReadResult {
  const segs = listSegments(dir).filter((s) => s >= fromSegment);
  const res: WalReadResult = { records: 0, segments: segs.length, bytes: 0, damage: null };
  for (let si = 0; si < segs.length; si++) {
    const seg = segs[si];
    const path = join(dir, segmentName(seg));
    const buf = readFileSync(path);
    res.bytes += buf.length;
    const bad = readSegment(buf, onRecord, res);
    if (bad !== null) {
      truncateSync(path, bad.offset);
      const removed = segs.slice(si + 1);
      for (const r of removed) unlinkSync(join(dir, segmentName(r)));
      res.damage = {
        segment: seg,
        offset: bad.offset,
        reason: bad.reason,
        bytesCut: buf.length - bad.offset,
        segmentsRemoved: removed,
      };
      res.segments = si + 1;
      logger.warn(
        `WAL ${dir}: ${bad.reason} in segment ${segmentName(seg)} at offset ${bad.offset}; ` +
          `cut ${buf.length - bad.offset} bytes` +
          (removed.length > 0
            ? ` and deleted ${removed.length} later segment(s) (${removed.map(segmentName).join(', ')})`
            : '') +
          `; kept ${res.records} records before the damage`,
      );
      break;
    }
  }
  return res;
}

function readSegment(
  buf: Uint8Array,
  onRecord: (rec: Uint8Array) => void,
  res: WalReadResult,
): { offset: number; reason: string } | null {
  let pos = 0;
  let recStart = 0; // where the record being assembled began (the cut point on damage)
  const frags: Uint8Array[] = [];
  let fragLen = 0;
  while (pos < buf.length) {
    const pageRem = PAGE_SIZE - (pos % PAGE_SIZE);
    const type = buf[pos];
    if (pageRem <= FRAGMENT_HEADER || type === 0) {
      // Padding to the page end (or to the end of the file): must be all zeros.
      const end = Math.min(pos + pageRem, buf.length);
      for (let i = pos; i < end; i++) {
        if (buf[i] !== 0) return { offset: recStart, reason: `non-zero byte in page padding at ${i}` };
      }
      pos = end;
      continue;
    }
    if (pos + FRAGMENT_HEADER > buf.length) return { offset: recStart, reason: 'torn fragment header' };
    const kind = type & 7;
    if ((type & ~7) !== 0 || kind > LAST)
      return { offset: recStart, reason: `unknown fragment type 0x${type.toString(16)}` };
    const len = (buf[pos + 1] << 8) | buf[pos + 2];
    if (FRAGMENT_HEADER + len > pageRem)
      return { offset: recStart, reason: 'fragment crosses a page boundary' };
    if (pos + FRAGMENT_HEADER + len > buf.length)
      return { offset: recStart, reason: 'torn record (file ends inside a fragment)' };
    const want = ((buf[pos + 3] << 24) | (buf[pos + 4] << 16) | (buf[pos + 5] << 8) | buf[pos + 6]) >>> 0;
    const payload = buf.subarray(pos + FRAGMENT_HEADER, pos + FRAGMENT_HEADER + len);
    if (crc32c(payload) >>> 0 !== want) return { offset: recStart, reason: 'CRC mismatch' };
    const inRecord = frags.length > 0;
    if ((kind === FULL || kind === FIRST) && inRecord)
      return { offset: recStart, reason: 'new record inside an unfinished one' };
    if ((kind === MIDDLE || kind === LAST) && !inRecord)
      return { offset: recStart, reason: 'continuation fragment without a first one' };
    frags.push(payload);
    fragLen += len;
    pos += FRAGMENT_HEADER + len;
    if (kind === FULL || kind === LAST) {
      const rec = new Uint8Array(fragLen);
      let at = 0;
      for (const f of frags) {
        rec.set(f, at);
        at += f.length;
      }
      frags.length = 0;
      fragLen = 0;
      try {
        onRecord(rec);
      } catch (err) {
        return { offset: recStart, reason: `undecodable record (${(err as Error).message})` };
      }
      res.records++;
      recStart = pos;
    }
  }
  if (frags.length > 0)
    return { offset: recStart, reason: 'torn record (file ends inside a multi-fragment record)' };
  return null;
}

/** The size of every segment file (for counters). */
export function walSize(dir: string): number {
  let n = 0;
  for (const s of listSegments(dir)) n += statSync(join(dir, segmentName(s))).size;
  return n;
}
