// The only module that loads the compiled addon; everything else imports its typed surface from here.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from '../shared/package-root.js';

/** Decoded samples: timestamps in int64 milliseconds (exact as doubles up to 2^53) and values with their bits. */
export interface DecodedSamples {
  t: Float64Array;
  v: Float64Array;
}

/** A chunk's sample count and the timestamps of its first and last sample (NaN when empty). */
export interface XorChunkInfo {
  count: number;
  mint: number;
  maxt: number;
}

/**
 * Builds one Prometheus XOR chunk from batches of samples. `append` is all-or-nothing: a non-integer
 * timestamp or more than 65535 samples in total throws before anything is appended.
 */
export interface XorAppender {
  /** Appends t[start..end) / v[start..end); returns the chunk's sample count. */
  append(t: Float64Array, v: Float64Array, start?: number, end?: number): number;
  /** A copy of the chunk's bytes (2-byte header and bit stream), as Prometheus would store them. */
  bytes(): Uint8Array;
  /** Starts a new, empty chunk. */
  reset(): void;
  readonly count: number;
  /** First and last timestamp (NaN while empty). */
  readonly mint: number;
  readonly maxt: number;
}

// ---- SHARDS: the head chunk store (native/head_chunks.cc) ----------------------------------------------
/** Columns of a HeadChunks.select: the samples of each requested ref, one series after the other. */
export interface HeadSelectResult {
  counts: Uint32Array;
  t: Float64Array;
  v: Float64Array;
}

/** Chunks exported for a block writer; chunk k is data[offsets[k], offsets[k+1]) of refs[index[k]]. */
export interface HeadChunkExport {
  index: Uint32Array;
  mint: Float64Array;
  maxt: Float64Array;
  offsets: Uint32Array;
  data: Uint8Array;
}

/**
 * One shard's head chunks: per series ref (dense, from 1) the open XOR chunk and the closed ones. Result
 * codes of append: 0 appended, 1 duplicate ignored, 2 out of order, 3 duplicate timestamp, 4 out of
 * bounds, 5 too far in the future, 6 invalid (unknown ref or non-integer timestamp).
 */
export interface HeadChunks {
  /** Makes refs [1, n) addressable; returns the slot count. */
  grow(n: number): number;
  /** Appends with Prometheus 2.42's rules; fills codes; returns how many were appended. */
  append(
    refs: Uint32Array,
    t: Float64Array,
    v: Float64Array,
    codes: Uint8Array,
    minValidFloor: number,
    maxAllowedT: number,
  ): number;
  /** [mint, maxt] of the appended samples; NaN, NaN when empty. */
  headRange(): [number, number];
  select(refs: Uint32Array, mint: number, maxt: number): HeadSelectResult;
  /** First and last timestamp held per ref, NaN for a series without samples. */
  ranges(refs: Uint32Array, outMint: Float64Array, outMaxt: Float64Array): void;
  exportChunks(refs: Uint32Array, mint: number, maxt: number, includeOpen: boolean): HeadChunkExport;
  /** Drops closed chunks whose samples are all older than `before`; returns how many. */
  truncate(before: number): number;
  stats(): { slots: number; chunks: number; closedChunks: number; bytes: number };
  /** Returns freed heap memory to the OS (glibc malloc_trim); a no-op elsewhere. */
  trimMemory(): void;
  /** The complete chunk state of each ref (WAL checkpoint record 0x52, src/tsdb/README.md). */
  snapshot(refs: Uint32Array): Uint8Array;
  /** Replaces the chunk state of the series in a snapshot() buffer; returns how many. Throws on damage. */
  restore(buf: Uint8Array): number;
}

export interface HeadChunksConstructor {
  new (chunkRangeMs?: number): HeadChunks;
}
// ---- end SHARDS ----------------------------------------------------------------------------------------

/** The addon's exports, typed. Each concern of `native/` adds its functions here. */
export interface NativeAddon {
  readonly abiVersion: number;

  /** CRC-32C (Castagnoli) of buf, continuing from crc (Go's crc32.Update semantics; 0 to start). */
  crc32c(buf: Uint8Array, crc?: number): number;

  /** A complete XOR chunk for t[start..end) / v[start..end) (at most 65535 samples). */
  xorEncode(t: Float64Array, v: Float64Array, start?: number, end?: number): Uint8Array;
  /**
   * Encodes many chunks in one call: chunk i holds samples [bounds[i], bounds[i+1]) of t/v and its bytes are
   * data[offsets[i], offsets[i+1]). All-or-nothing validation, as in xorEncode.
   */
  xorEncodeMany(
    t: Float64Array,
    v: Float64Array,
    bounds: Uint32Array,
  ): { data: Uint8Array; offsets: Uint32Array };
  /** Decodes a chunk, keeping the samples with mint <= t <= maxt (default: all). Throws on a malformed chunk. */
  xorDecode(chunk: Uint8Array, mint?: number, maxt?: number): DecodedSamples;
  /**
   * Decodes into outT/outV from index `at`; returns the number of samples written. Throws a RangeError
   * when they do not fit (the outputs past `at` may then hold partial data) and an Error on a malformed chunk.
   */
  xorDecodeInto(
    chunk: Uint8Array,
    mint: number,
    maxt: number,
    outT: Float64Array,
    outV: Float64Array,
    at: number,
  ): number;
  /**
   * Decodes many chunks of one buffer in a single call: `ranges` holds a [start, end) byte range of `data`
   * per chunk. Samples go to outT/outV from `at`, chunk after chunk; `counts[i]` (optional) receives the
   * number written for chunk i. Returns the total written. Errors as in xorDecodeInto.
   */
  xorDecodeMany(
    data: Uint8Array,
    ranges: Uint32Array,
    mint: number,
    maxt: number,
    outT: Float64Array,
    outV: Float64Array,
    at: number,
    counts?: Uint32Array,
  ): number;
  /** Walks a chunk without materialising it. Throws on a malformed chunk. */
  xorInfo(chunk: Uint8Array): XorChunkInfo;
  readonly XorAppender: new () => XorAppender;

  /**
   * Maps a file read-only (MAP_PRIVATE: writes stay private to the process and never reach the file). The
   * mapping lives until munmap(), garbage collection of the buffer, or the exit of the calling thread.
   * An empty file gives an empty ArrayBuffer. The buffer is copied, not moved, by postMessage.
   */
  mmap(path: string): ArrayBuffer;
  /** Unmaps a buffer from mmap() and detaches it (byteLength becomes 0). Idempotent. */
  munmap(buf: ArrayBuffer): void;

  /**
   * Advises transparent huge pages for the 2 MiB-aligned interior of an ordinary ArrayBuffer (still
   * transferable); returns the bytes advised (0 when too small or THP is unavailable). Helps only
   * before the pages are first touched.
   */
  adviseHuge(buf: ArrayBuffer): number;
  /** 2 MiB: the granularity of adviseHuge. */
  readonly hugePageSize: number;

  /**
   * The series walk of a block select (native/block_plan.h): for each of `refs` (postings of the index
   * mapped in `index`), reads the series entry (its CRC checked; entries must lie in [seriesLo,
   * seriesHi)) and resolves its chunks inside [mint, maxt] in `segments` (CRC checked once, remembered
   * in `verified`, one bitmap per segment). Non-XOR chunks are left out, as are series left without
   * chunks. Throws an Error naming the series or chunk ref on damage.
   */
  blockPlan(
    index: Uint8Array,
    seriesLo: number,
    seriesHi: number,
    numSymbols: number,
    refs: Uint32Array,
    mint: number,
    maxt: number,
    segments: readonly Uint8Array[],
    verified: readonly Uint8Array[],
  ): BlockPlan;

  /**
   * Postings (sorted series refs). Inputs must be sorted in increasing order (duplicates are tolerated);
   * outputs are new, strictly increasing arrays. An unsorted input throws; a list much longer than the
   * other side (galloped, >= 32x) is checked only at the elements the search probes.
   */
  /** Intersection of k lists (smallest first; galloping into much longer lists). No lists: empty. */
  intersect(lists: Uint32Array[]): Uint32Array;
  /** Union of k lists (balanced pairwise merges). */
  union(lists: Uint32Array[]): Uint32Array;
  /** a minus b. */
  difference(a: Uint32Array, b: Uint32Array): Uint32Array;
  /** SHARDS: the head chunk store class. */
  HeadChunks: HeadChunksConstructor;
}

/**
 * What blockPlan found, in postings order: series k is refs[keep[k]], with label symbol refs
 * labelRefs[labelStart[k] .. labelStart[k + 1]) (name, value, ...) and chunks [chunkEnd[k - 1],
 * chunkEnd[k]); chunk c is bytes [ranges[2c], ranges[2c + 1]) of segment segOf[c], ready for
 * xorDecodeMany. total is the sum of the chunks' sample counts.
 */
export interface BlockPlan {
  keep: Uint32Array;
  labelRefs: Uint32Array;
  labelStart: Uint32Array;
  chunkEnd: Uint32Array;
  ranges: Uint32Array;
  segOf: Uint32Array;
  total: number;
}

/**
 * Loads build/Release/promshard.node, or the file named by PROMSHARD_NATIVE_ADDON (used to run the test
 * suites against the ASan/UBSan build in build-asan/; see native/README.md).
 */
function load(): NativeAddon {
  const path =
    process.env.PROMSHARD_NATIVE_ADDON || join(packageRoot(), 'build', 'Release', 'promshard.node');
  const require = createRequire(import.meta.url);
  try {
    return require(path) as NativeAddon;
  } catch (err) {
    throw new Error(
      `promshard: cannot load the native addon at ${path} (run \`npm install\` to build it): ${err}`,
    );
  }
}

export const native: NativeAddon = load();

export const crc32c = native.crc32c;
export const xorEncode = native.xorEncode;
export const xorEncodeMany = native.xorEncodeMany;
export const xorDecode = native.xorDecode;
export const xorDecodeInto = native.xorDecodeInto;
export const xorDecodeMany = native.xorDecodeMany;
export const xorInfo = native.xorInfo;
export const XorAppender = native.XorAppender;
export const mmap = native.mmap;
export const munmap = native.munmap;
export const adviseHuge = native.adviseHuge;
export const intersect = native.intersect;
export const union = native.union;
export const difference = native.difference;
export const HeadChunks = native.HeadChunks;
