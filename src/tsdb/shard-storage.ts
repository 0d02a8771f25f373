/**
 * One shard's storage: its head and its WAL. open() replays the WAL into a fresh head (cutting a
 * damaged tail); append() applies a batch to the head and logs the created series and the appended
 * samples in one WAL write before returning, so the caller may acknowledge.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Head, HeadAppendError, type HeadAppendResult, type HeadOptions, type SeriesBatch } from './head.js';
import { DEFAULT_SEGMENT_SIZE, readWal, type WalDamage, type WalLogger, WalWriter } from './wal.js';
import {
  decodeSamplesRecord,
  decodeSeriesRecord,
  encodeSamplesRecord,
  encodeSeriesRecord,
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
  private constructor(
    readonly head: Head,
    readonly wal: WalWriter,
    readonly replay: ReplayReport,
  ) {}

  static open(walDir: string, opts: ShardStorageOptions = {}): ShardStorage {
    const started = performance.now();
    const head = new Head(opts);
    let samples = 0;
    let codes = new Uint8Array(1024);
    const hash = new Uint32Array(2);
    const res = readWal(
      walDir,
      (rec) => {
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
            samples += head.chunks.append(
              s.refs,
              s.t,
              s.v,
              codes,
              head.minValidTime,
              Number.POSITIVE_INFINITY,
            );
            break;
          }
          default:
            // A kind this version does not know: refuse to guess at its content.
            throw new RangeError(`unknown record kind ${rec[0]}`);
        }
      },
      opts.logger,
    );
    const wal = WalWriter.open(walDir, opts.segmentSize ?? DEFAULT_SEGMENT_SIZE);
    return new ShardStorage(head, wal, {
      records: res.records,
      series: head.seriesCount,
      samples,
      segments: res.segments,
      bytes: res.bytes,
      ms: performance.now() - started,
      damage: res.damage,
    });
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
    return { ...r, walBytes };
  }

  close(): void {
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
