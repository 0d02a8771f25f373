// Writes one block in Prometheus' on-disk format (as 2.42 lays it out): chunks/000001..., index v2,
// meta.json and tombstones, into `<ulid>.tmp-for-creation`, fsynced, then renamed into place.
//
// Input (what a head cut or a compaction hands over):
// - series sorted by label set (compareLabels of src/shared/labels.ts), each label set sorted by name;
// - each series' chunks in time order, each { mint, maxt, data } where data is a complete chunk
//   (for XOR: 2-byte big-endian sample count then the bit stream, as xorEncode returns it), mint/maxt
//   the first and last sample times, all inside [minTime, maxTime) of the block;
// - optionally per series the deleted intervals (tombstones) to record in the block.
// Series without chunks are left out, as Prometheus does.
import { constants } from 'node:fs';
import { type FileHandle, mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { compareLabels, compareStrings, type Labels } from '../../shared/labels.js';
import { CHUNKS_MAGIC, CHUNKS_VERSION, ENCODING_XOR, MAX_SEGMENT_SIZE, segmentName } from './chunks.js';
import { Encbuf, uvarintSize } from './encbuf.js';
import { INDEX_MAGIC, INDEX_VERSION_2 } from './index-reader.js';
import { type BlockDesc, type BlockMeta, encodeMeta, META_FILENAME } from './meta.js';
import { ops } from './native-ops.js';
import {
  addInterval,
  encodeTombstones,
  type Interval,
  TOMBSTONES_FILENAME,
  type Tombstones,
} from './tombstones.js';
import { newUlid } from './ulid.js';
import { maybeYield } from './yield.js';

export const TMP_SUFFIX = '.tmp-for-creation';
const FLUSH_AT = 1 << 20;
const TWO32 = 4294967296;
const utf8 = new TextEncoder();

export interface ChunkInput {
  mint: number;
  maxt: number;
  data: Uint8Array;
  /** Chunk encoding byte; 1 (XOR) when absent. Other encodings are copied as they are. */
  encoding?: number;
}

export interface SeriesInput {
  labels: Labels;
  chunks: readonly ChunkInput[];
  /** Deleted intervals (closed) to record in the block's tombstones. */
  deleted?: readonly Interval[];
}

export interface WriteBlockOptions {
  /** Block range: minTime inclusive, maxTime exclusive (meta.json semantics). */
  minTime: number;
  maxTime: number;
  /** Compaction level: 1 for a head cut. */
  level?: number;
  /** ULIDs of the level-1 blocks this one holds; defaults to [own ULID]. */
  sources?: string[];
  parents?: BlockDesc[];
  /** Our own meta.json section, e.g. { shard: 3 }. */
  promshard?: BlockMeta['promshard'];
  /** Use this ULID instead of a new one (tests). */
  ulid?: string;
  /** Largest chunk segment file in bytes; 512 MiB like Prometheus. */
  segmentSize?: number;
  /**
   * Tag in the temporary directory's name, `<ulid>.<tag>.tmp-for-creation`, so that several writers
   * sharing a directory (shards) each clean up only their own leftovers.
   */
  tmpTag?: string;
}

/** An append-only file written through a buffer, tracking its length. */
class BufferedFile {
  private readonly buf = new Encbuf(FLUSH_AT * 2);
  pos = 0;
  private constructor(private readonly fh: FileHandle) {}

  static async create(path: string): Promise<BufferedFile> {
    return new BufferedFile(
      await open(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o644),
    );
  }

  async put(b: Uint8Array): Promise<void> {
    this.buf.put(b);
    this.pos += b.length;
    if (this.buf.len >= FLUSH_AT) await this.flush();
  }

  async flush(): Promise<void> {
    let off = 0;
    const bytes = this.buf.bytes;
    while (off < bytes.length) {
      const { bytesWritten } = await this.fh.write(bytes, off, bytes.length - off);
      off += bytesWritten;
    }
    this.buf.reset();
  }

  async pad(align: number): Promise<number> {
    const n = (align - (this.pos % align)) % align;
    if (n > 0) await this.put(new Uint8Array(n));
    return this.pos;
  }

  async finish(): Promise<void> {
    await this.flush();
    await this.fh.sync();
    await this.fh.close();
  }

  async abort(): Promise<void> {
    await this.fh.close().catch(() => {});
  }
}

async function writeSmallFile(path: string, data: Uint8Array | string): Promise<void> {
  const fh = await open(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function sampleCount(c: ChunkInput): number {
  return c.data.length >= 2 ? (c.data[0] << 8) | c.data[1] : 0;
}

function validate(series: readonly SeriesInput[], opts: WriteBlockOptions): void {
  if (!(opts.minTime < opts.maxTime))
    throw new RangeError(`writeBlock: minTime ${opts.minTime} >= maxTime ${opts.maxTime}`);
  for (let i = 0; i < series.length; i++) {
    const s = series[i];
    for (let k = 1; k < s.labels.length; k++) {
      if (compareStrings(s.labels[k - 1].name, s.labels[k].name) >= 0) {
        throw new RangeError(`writeBlock: labels of series ${i} not sorted by name or duplicated`);
      }
    }
    if (i > 0 && compareLabels(series[i - 1].labels, s.labels) >= 0) {
      throw new RangeError(`writeBlock: series ${i} out of order or duplicated (sort by compareLabels)`);
    }
    let prevMaxt = -Infinity;
    for (const c of s.chunks) {
      if (c.mint > c.maxt || c.mint < opts.minTime || c.maxt >= opts.maxTime) {
        throw new RangeError(
          `writeBlock: series ${i} chunk [${c.mint}, ${c.maxt}] outside the block [${opts.minTime}, ${opts.maxTime})`,
        );
      }
      if (c.mint <= prevMaxt)
        throw new RangeError(`writeBlock: chunks of series ${i} overlap or are out of order`);
      if (c.data.length < 2)
        throw new RangeError(`writeBlock: series ${i} has a chunk shorter than its header`);
      prevMaxt = c.maxt;
    }
  }
}

/**
 * Writes a block under `parentDir` and returns its meta (meta.ulid names the new directory). On any
 * error the temporary directory is removed and nothing appears under the ULID.
 */
export async function writeBlock(
  parentDir: string,
  series: readonly SeriesInput[],
  opts: WriteBlockOptions,
): Promise<BlockMeta> {
  validate(series, opts);
  const ulid = opts.ulid ?? newUlid();
  const tmp = join(parentDir, ulid + (opts.tmpTag ? `.${opts.tmpTag}` : '') + TMP_SUFFIX);
  const final = join(parentDir, ulid);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(join(tmp, 'chunks'), { recursive: true });
  try {
    const live = series.filter((s) => s.chunks.length > 0);
    const refs = await writeChunks(join(tmp, 'chunks'), live, opts.segmentSize ?? MAX_SEGMENT_SIZE);
    const seriesIds = await writeIndex(join(tmp, 'index'), live, refs);

    let numSamples = 0;
    let numChunks = 0;
    const tombstones: Tombstones = new Map();
    for (let i = 0; i < live.length; i++) {
      for (const c of live[i].chunks) numSamples += sampleCount(c);
      numChunks += live[i].chunks.length;
      const del = live[i].deleted;
      if (del && del.length > 0) {
        let list: Interval[] = [];
        for (const iv of del) list = addInterval(list, iv);
        tombstones.set(seriesIds[i], list);
      }
    }
    let numTombstones = 0;
    for (const l of tombstones.values()) numTombstones += l.length;
    const meta: BlockMeta = {
      ulid,
      minTime: opts.minTime,
      maxTime: opts.maxTime,
      stats: { numSamples, numSeries: live.length, numChunks },
      compaction: { level: opts.level ?? 1, sources: opts.sources ?? [ulid] },
      version: 1,
    };
    if (numTombstones > 0) meta.stats.numTombstones = numTombstones;
    if (opts.parents && opts.parents.length > 0) meta.compaction.parents = opts.parents;
    if (opts.promshard) meta.promshard = opts.promshard;
    await writeSmallFile(join(tmp, META_FILENAME), encodeMeta(meta));
    await writeSmallFile(join(tmp, TOMBSTONES_FILENAME), encodeTombstones(tombstones));
    await fsyncDir(join(tmp, 'chunks'));
    await fsyncDir(tmp);
    await rename(tmp, final);
    await fsyncDir(parentDir);
    return meta;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
    throw err;
  }
}

/** Writes the chunk segments; returns each series' chunk references. */
async function writeChunks(
  dir: string,
  series: readonly SeriesInput[],
  segmentSize: number,
): Promise<Float64Array[]> {
  const out: Float64Array[] = [];
  let seq = -1;
  let f: BufferedFile | undefined;
  const rec = new Encbuf(4096);
  const header = new Uint8Array([0, 0, 0, 0, CHUNKS_VERSION, 0, 0, 0]);
  new DataView(header.buffer).setUint32(0, CHUNKS_MAGIC);
  try {
    for (const s of series) {
      const y = maybeYield();
      if (y) await y;
      const refs = new Float64Array(s.chunks.length);
      for (let k = 0; k < s.chunks.length; k++) {
        const c = s.chunks[k];
        const size = uvarintSize(c.data.length) + 1 + c.data.length + 4;
        if (!f || (f.pos + size > segmentSize && f.pos > header.length)) {
          if (f) await f.finish();
          seq++;
          f = await BufferedFile.create(join(dir, segmentName(seq)));
          await f.put(header);
        }
        refs[k] = seq * TWO32 + f.pos;
        rec.reset();
        rec.uvarint(c.data.length);
        const encAt = rec.len;
        rec.u8(c.encoding ?? ENCODING_XOR);
        rec.put(c.data);
        rec.be32(ops.crc32c(rec.bytes.subarray(encAt)));
        await f.put(rec.bytes);
      }
      out.push(refs);
    }
    if (f) await f.finish();
    f = undefined;
  } finally {
    await f?.abort();
  }
  return out;
}

/** Writes the index; returns each series' ID (offset / 16). */
async function writeIndex(
  path: string,
  series: readonly SeriesInput[],
  chunkRefs: Float64Array[],
): Promise<number[]> {
  // Symbols: every label name and value, plus "" for the all-postings key, sorted by bytes.
  const symSet = new Set<string>(['']);
  for (const s of series) {
    for (const l of s.labels) {
      symSet.add(l.name);
      symSet.add(l.value);
    }
  }
  const symbols = [...symSet].sort(compareStrings);
  const symRef = new Map<string, number>();
  for (let i = 0; i < symbols.length; i++) symRef.set(symbols[i], i);

  const f = await BufferedFile.create(path);
  const sec = new Encbuf(1 << 16);
  // A section with a 4-byte length before and a CRC32C after its contents.
  const putSection = async (build: (e: Encbuf) => void): Promise<void> => {
    sec.reset();
    sec.be32(0);
    build(sec);
    sec.be32At(0, sec.len - 4);
    sec.be32(ops.crc32c(sec.bytes.subarray(4)));
    await f.put(sec.bytes);
  };
  try {
    const head = new Encbuf(8);
    head.be32(INDEX_MAGIC);
    head.u8(INDEX_VERSION_2);
    await f.put(head.bytes);

    const tocSymbols = f.pos;
    await putSection((e) => {
      e.be32(symbols.length);
      for (const s of symbols) e.uvarintBytes(utf8.encode(s));
    });

    // Series, each 16-byte aligned; collect postings as we go (IDs increase, so lists stay sorted).
    const postings = new Map<string, Map<string, number[]>>();
    const all: number[] = [];
    const ids: number[] = [];
    const body = new Encbuf(256);
    // Like Prometheus, the TOC points at the end of the symbol table, before the alignment padding.
    const tocSeries = f.pos;
    for (let i = 0; i < series.length; i++) {
      const y = maybeYield();
      if (y) await y;
      const s = series[i];
      const at = await f.pad(16);
      const id = at / 16;
      if (id > 0xffffffff) throw new RangeError('writeBlock: index series section exceeds 64 GiB');
      ids.push(id);
      all.push(id);
      body.reset();
      body.uvarint(s.labels.length);
      for (const l of s.labels) {
        body.uvarint(symRef.get(l.name)!);
        body.uvarint(symRef.get(l.value)!);
        let byValue = postings.get(l.name);
        if (!byValue) {
          byValue = new Map();
          postings.set(l.name, byValue);
        }
        let list = byValue.get(l.value);
        if (!list) {
          list = [];
          byValue.set(l.value, list);
        }
        list.push(id);
      }
      body.uvarint(s.chunks.length);
      const refs = chunkRefs[i];
      let prevMaxt = 0;
      let prevRef = 0;
      for (let k = 0; k < s.chunks.length; k++) {
        const c = s.chunks[k];
        if (k === 0) {
          body.varint(c.mint);
          body.uvarint(c.maxt - c.mint);
          body.uvarint(refs[k]);
        } else {
          body.uvarint(c.mint - prevMaxt);
          body.uvarint(c.maxt - c.mint);
          body.varint(refs[k] - prevRef);
        }
        prevMaxt = c.maxt;
        prevRef = refs[k];
      }
      sec.reset();
      sec.uvarint(body.len);
      sec.put(body.bytes);
      sec.be32(ops.crc32c(body.bytes));
      await f.put(sec.bytes);
    }

    const names = [...postings.keys()].sort(compareStrings);
    const sortedValues = new Map<string, string[]>();
    for (const n of names) sortedValues.set(n, [...postings.get(n)!.keys()].sort(compareStrings));

    // Label indices (Prometheus 2.42 still writes them), one per name, 4-byte aligned.
    const tocLabelIndices = f.pos;
    const labelIndexOffsets: number[] = [];
    for (const n of names) {
      labelIndexOffsets.push(await f.pad(4));
      const vals = sortedValues.get(n)!;
      await putSection((e) => {
        e.be32(1);
        e.be32(vals.length);
        for (const v of vals) e.be32(symRef.get(v)!);
      });
    }

    // Postings: the all-postings list under the empty key first, then by name and value.
    const tocPostings = await f.pad(4);
    const postingsOffsets: { name: string; value: string; off: number }[] = [];
    const putPostings = async (name: string, value: string, list: number[]): Promise<void> => {
      const y = maybeYield();
      if (y) await y;
      postingsOffsets.push({ name, value, off: f.pos });
      await putSection((e) => {
        e.be32(list.length);
        for (const id of list) e.be32(id);
      });
    };
    await putPostings('', '', all);
    for (const n of names) {
      const byValue = postings.get(n)!;
      for (const v of sortedValues.get(n)!) await putPostings(n, v, byValue.get(v)!);
    }

    const tocLabelTable = f.pos;
    await putSection((e) => {
      e.be32(names.length);
      names.forEach((n, i) => {
        e.u8(1);
        e.uvarintBytes(utf8.encode(n));
        e.uvarint(labelIndexOffsets[i]);
      });
    });

    const tocPostingsTable = f.pos;
    await putSection((e) => {
      e.be32(postingsOffsets.length);
      for (const p of postingsOffsets) {
        e.u8(2);
        e.uvarintBytes(utf8.encode(p.name));
        e.uvarintBytes(utf8.encode(p.value));
        e.uvarint(p.off);
      }
    });

    const toc = new Encbuf(64);
    toc.be64(tocSymbols);
    toc.be64(tocSeries);
    toc.be64(tocLabelIndices);
    toc.be64(tocLabelTable);
    toc.be64(tocPostings);
    toc.be64(tocPostingsTable);
    toc.be32(ops.crc32c(toc.bytes));
    await f.put(toc.bytes);
    await f.finish();
    return ids;
  } catch (err) {
    await f.abort();
    throw err;
  }
}
