/**
 * One shard's storage: its head and its WAL. open() replays the WAL into a fresh head (cutting a
 * damaged tail); append() applies a batch to the head and logs the created series and the appended
 * samples in one WAL write before returning, so the caller may acknowledge.
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  unlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { encodeLabels } from '../shared/protocol-labels.js';
import { Head, HeadAppendError, type HeadAppendResult, type HeadOptions, type SeriesBatch } from './head.js';
import { decodeTombstonesRecord, encodeTombstonesRecord, RECORD_TOMBSTONES } from './head-tombstones.js';
import {
  DEFAULT_SEGMENT_SIZE,
  listSegments,
  readWal,
  segmentName,
  type WalDamage,
  type WalLogger,
  WalWriter,
} from './wal.js';
import {
  decodeHeadMetaRecord,
  decodeSamplesRecord,
  decodeSeriesRecord,
  encodeChunksRecord,
  encodeHeadMetaRecord,
  encodeSamplesRecord,
  encodeSeriesRecord,
  RECORD_CHUNKS,
  RECORD_HEAD_META,
  RECORD_SAMPLES_COLUMNAR,
  RECORD_SERIES,
} from './wal-records.js';

export interface ShardStorageOptions extends HeadOptions {
  segmentSize?: number;
  logger?: WalLogger;
}

export interface ReplayReport {
  records: number;
  series: number;
  samples: number;
  segments: number;
  bytes: number;
  ms: number;
  damage: WalDamage | null;
}

export interface ShardAppendResult extends HeadAppendResult {
  walBytes: number;
}

/** The WAL directory of shard i under a data directory. */
export function shardWalDir(dataDir: string, shard: number): string {
  return join(dataDir, 'wal', `shard-${shard}`);
}

export class ShardStorage {
  /** WAL bytes written since the last checkpoint, and the size of that checkpoint. */
  private walSinceCheckpoint = 0;
  private lastCheckpointBytes = 0;
  private inCheckpoint = false;

  private constructor(
    readonly walDir: string,
    readonly head: Head,
    readonly wal: WalWriter,
    readonly replay: ReplayReport,
    private readonly logger: WalLogger,
  ) {}

  static open(walDir: string, opts: ShardStorageOptions = {}): ShardStorage {
    const started = performance.now();
    const logger = opts.logger ?? { warn: (m: string) => console.warn(m) };
    const head = new Head(opts);
    let samples = 0;
    let codes = new Uint8Array(1024);
    const hash = new Uint32Array(2);
    const onRecord = (rec: Uint8Array) => {
      switch (rec[0]) {
        case RECORD_SERIES:
          decodeSeriesRecord(rec, (ref, bytes, start, end) => {
            if (ref < head.registry.nextRef) throw new RangeError(`series ref ${ref} defined twice`);
            [hash[0], hash[1]] = head.registry.hash(bytes, start, end);
            head.createSeries(hash[0], hash[1], bytes, start, end, ref);
          });
          break;
        case RECORD_SAMPLES_COLUMNAR: {
          const s = decodeSamplesRecord(rec);
          if (codes.length < s.refs.length) codes = new Uint8Array(s.refs.length * 2);
          samples += head.chunks.append(s.refs, s.t, s.v, codes, head.minValidTime, Number.POSITIVE_INFINITY);
          break;
        }
        case RECORD_CHUNKS:
          head.chunks.restore(rec.subarray(8));
          break;
        case RECORD_TOMBSTONES:
          // Refs not (or no longer) in the head have nothing left to hide.
          decodeTombstonesRecord(rec, (ref, mint, maxt) => {
            if (ref < head.registry.nextRef) head.tombstones.add(ref, mint, maxt);
          });
          break;
        case RECORD_HEAD_META:
          head.minValidTime = Math.max(head.minValidTime, decodeHeadMetaRecord(rec));
          break;
        default:
          // A kind this version does not know: refuse to guess at its content.
          throw new RangeError(`unknown record kind ${rec[0]}`);
      }
    };
    mkdirSync(walDir, { recursive: true });
    // A checkpoint (checkpoint.N: the head as of the end of segment N) replaces segments 0..N.
    let from = 0;
    let cpRecords = 0;
    let cpBytes = 0;
    let damage: WalDamage | null = null;
    const cp = latestCheckpoint(walDir);
    if (cp !== null) {
      const r = readWal(join(walDir, checkpointName(cp)), onRecord, logger);
      cpRecords = r.records;
      cpBytes = r.bytes;
      if (r.damage !== null) {
        damage = r.damage;
        logger.warn(
          `WAL ${walDir}: checkpoint ${checkpointName(cp)} is damaged; the head lacks what it held`,
        );
      }
      from = cp + 1;
      removeCovered(walDir, cp);
    }
    const res = readWal(walDir, onRecord, logger, from);
    const wal = WalWriter.open(walDir, opts.segmentSize ?? DEFAULT_SEGMENT_SIZE);
    wal.backgroundFsync = true;
    const storage = new ShardStorage(
      walDir,
      head,
      wal,
      {
        records: cpRecords + res.records,
        series: head.seriesCount,
        samples,
        segments: res.segments,
        bytes: cpBytes + res.bytes,
        ms: performance.now() - started,
        damage: damage ?? res.damage,
      },
      logger,
    );
    storage.lastCheckpointBytes = cpBytes;
    storage.walSinceCheckpoint = res.bytes;
    return storage;
  }

  /**
   * Writes a checkpoint: drops head chunks older than `truncateBefore` (after a block took them), then
   * writes the whole head (series records, chunk state, minValidTime) to checkpoint.N, where N is the
   * segment just closed, and deletes segments 0..N and older checkpoints. Returns the bytes written.
   * This form holds the shard until done; a head cut uses checkpointAsync (in slices).
   */
  checkpoint(truncateBefore = Number.NEGATIVE_INFINITY): number {
    const steps = this.checkpointSteps(truncateBefore);
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
    }
  }

  /**
   * The same checkpoint, giving the event loop a turn between groups of series (`pause` returns a
   * promise when a turn is due), so appends and queries go on while a large head is written. Appends
   * meanwhile go to segment N+1 and may also reach the chunks copied later: a replay then meets those
   * samples twice, and the head ignores a sample with the same timestamp and value bits (2.42's rule),
   * so every sample is restored once.
   */
  async checkpointAsync(
    truncateBefore = Number.NEGATIVE_INFINITY,
    pause: () => Promise<void> | undefined = () => undefined,
  ): Promise<number> {
    const steps = this.checkpointSteps(truncateBefore);
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
      const p = pause();
      if (p !== undefined) await p;
    }
  }

  /** True while a checkpoint is being written (a second one must wait). */
  get checkpointing(): boolean {
    return this.inCheckpoint;
  }

  private *checkpointSteps(truncateBefore: number): Generator<void, number, void> {
    if (this.inCheckpoint) throw new Error('a WAL checkpoint is already being written');
    this.inCheckpoint = true;
    let w: WalWriter | undefined;
    try {
      if (truncateBefore > Number.NEGATIVE_INFINITY) this.head.truncate(truncateBefore);
      const n = this.wal.cutSegment();
      const walAtCut = this.walSinceCheckpoint;
      const final = join(this.walDir, checkpointName(n));
      const tmp = `${final}.tmp`;
      rmSync(tmp, { recursive: true, force: true });
      w = WalWriter.open(tmp, DEFAULT_SEGMENT_SIZE);
      let bytes = w.log([encodeHeadMetaRecord(this.head.minValidTime)]);
      // The head's tombstones follow its series (a replay meets the series first, then this record).
      const stones = this.head.tombstones.record();
      const all = this.head.postings.allRefs().slice();
      // Groups small enough that one is a short pause for appends (~10-40 ms at 1024 series).
      const GROUP = 1024;
      for (let i = 0; i < all.length; i += GROUP) {
        const refs = all.slice(i, i + GROUP);
        const labelBytes: Uint8Array[] = [];
        let size = 0;
        for (let k = 0; k < refs.length; k++) {
          const b = encodeLabels(this.head.registry.labels(refs[k]));
          labelBytes.push(b);
          size += b.length;
        }
        const joined = new Uint8Array(size);
        const starts = new Uint32Array(refs.length);
        const ends = new Uint32Array(refs.length);
        let at = 0;
        for (let k = 0; k < refs.length; k++) {
          joined.set(labelBytes[k], at);
          starts[k] = at;
          at += labelBytes[k].length;
          ends[k] = at;
        }
        bytes += w.log([
          encodeSeriesRecord(refs, joined, starts, ends),
          encodeChunksRecord(this.head.chunks.snapshot(refs)),
        ]);
        if (i + GROUP < all.length) yield;
      }
      if (stones !== null) bytes += w.log([stones]);
      w.close();
      w = undefined;
      renameSync(tmp, final);
      fsyncDir(this.walDir);
      removeCovered(this.walDir, n);
      this.lastCheckpointBytes = bytes;
      // WAL written while this checkpoint was being written is not folded into it.
      this.walSinceCheckpoint -= walAtCut;
      return bytes;
    } finally {
      try {
        w?.close();
      } catch {
        // The error that brought us here is the one to report.
      }
      this.inCheckpoint = false;
    }
  }

  /** True when the WAL since the last checkpoint is large enough to be worth folding into a new one. */
  wantsCheckpoint(minBytes: number): boolean {
    return this.walSinceCheckpoint > Math.max(minBytes, 2 * this.lastCheckpointBytes);
  }

  /** Appends a batch to the head and the WAL; when it returns, the appended samples are durable. */
  append(b: SeriesBatch): ShardAppendResult {
    let r: HeadAppendResult;
    try {
      r = this.head.append(b);
    } catch (err) {
      if (err instanceof HeadAppendError && err.created.length > 0) {
        this.wal.log([seriesRecord(b, err.created, err.createdRefs)]);
      }
      throw err;
    }
    const records: Uint8Array[] = [];
    if (r.created.length > 0) records.push(seriesRecord(b, r.created, r.createdRefs));
    const appended = r.counts[0];
    if (appended > 0) records.push(encodeSamplesRecord(r.refs, b.t, b.v, r.codes, appended));
    const walBytes = records.length > 0 ? this.wal.log(records) : 0;
    this.walSinceCheckpoint += walBytes;
    return { ...r, walBytes };
  }

  /**
   * Hides the samples of `refs` in [mint, maxt] in the head and logs the deletion to the WAL (record kind
   * 3, Prometheus' tombstones record) before returning, so it survives a restart.
   */
  deleteRefs(refs: Uint32Array, mint: number, maxt: number): void {
    if (refs.length === 0 || maxt < mint) return;
    for (let i = 0; i < refs.length; i++) this.head.tombstones.add(refs[i], mint, maxt);
    const ivs = Array.from(refs, () => ({ mint, maxt }));
    const bytes = this.wal.log([encodeTombstonesRecord(Array.from(refs), ivs)]);
    this.walSinceCheckpoint += bytes;
  }

  /** Checkpoints the head (so a restart reads chunks, not samples), then flushes and closes the WAL. */
  close(checkpoint = true): void {
    if (checkpoint && this.walSinceCheckpoint > 0) this.checkpoint();
    this.wal.close();
  }
}

/** The series record of the batch positions `created`, which got refs `refs`. */
function seriesRecord(b: SeriesBatch, created: Uint32Array, refs: Uint32Array): Uint8Array {
  const starts = new Uint32Array(created.length);
  const ends = new Uint32Array(created.length);
  for (let k = 0; k < created.length; k++) {
    starts[k] = b.labelStart[created[k]];
    ends[k] = b.labelStart[created[k] + 1];
  }
  return encodeSeriesRecord(refs, b.labelBytes, starts, ends);
}

export function checkpointName(n: number): string {
  return `checkpoint.${segmentName(n)}`;
}

/** The newest complete checkpoint's segment number (leftover .tmp directories are removed), or null. */
function latestCheckpoint(dir: string): number | null {
  let best: number | null = null;
  for (const name of readdirSync(dir)) {
    if (/^checkpoint\.\d{8}\.tmp$/.test(name)) rmSync(join(dir, name), { recursive: true, force: true });
    const m = /^checkpoint\.(\d{8})$/.exec(name);
    if (m !== null && (best === null || Number(m[1]) > best)) best = Number(m[1]);
  }
  return best;
}

/** Deletes the segments and older checkpoints that checkpoint n covers. */
function removeCovered(dir: string, n: number): void {
  for (const s of listSegments(dir)) if (s <= n) unlinkSync(join(dir, segmentName(s)));
  for (const name of readdirSync(dir)) {
    const m = /^checkpoint\.(\d{8})$/.exec(name);
    if (m !== null && Number(m[1]) < n) rmSync(join(dir, name), { recursive: true, force: true });
  }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
