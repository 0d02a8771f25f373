// Chunk segment files of a block (tsdb/docs/format/chunks.md): chunks/000001, 000002, ... each starting
// with magic 0x85BD40DD, version 1 and 3 bytes of padding, then records of
// uvarint(len) | encoding byte | data | CRC32C(encoding + data). A chunk reference is
// (segment sequence << 32) | offset, the sequence counted from 0 for file 000001.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Decbuf } from './decbuf.js';
import { DecodeError } from './errors.js';
import { ops } from './native-ops.js';

export const CHUNKS_MAGIC = 0x85bd40dd;
export const CHUNKS_VERSION = 1;
export const SEGMENT_HEADER_SIZE = 8;
export const MAX_SEGMENT_SIZE = 512 * 1024 * 1024;
export const ENCODING_XOR = 1;
const TWO32 = 4294967296;

export function segmentName(seq: number): string {
  return String(seq + 1).padStart(6, '0');
}

/** One chunk as stored: its encoding and a view of its data inside the mapped segment. */
export interface RawChunk {
  encoding: number;
  data: Uint8Array;
}

export class ChunkReader {
  private readonly maps: ArrayBuffer[] = [];
  private readonly segs: Uint8Array[] = [];
  private readonly verified: Uint8Array[] = [];

  constructor(readonly dir: string) {
    let names: string[];
    try {
      names = readdirSync(dir)
        .filter((n) => /^\d+$/.test(n))
        .sort((a, b) => Number(a) - Number(b));
    } catch (err) {
      throw new DecodeError(`chunks: cannot list ${dir}: ${(err as Error).message}`);
    }
    try {
      for (let i = 0; i < names.length; i++) {
        if (Number(names[i]) !== i + 1) throw new DecodeError(`chunks: segment ${names[i]} out of sequence`);
        const ab = ops.mmap(join(dir, names[i]));
        this.maps.push(ab);
        const b = new Uint8Array(ab);
        const d = new Decbuf(b, 0, b.length, `chunks/${names[i]} header`);
        if (b.length < SEGMENT_HEADER_SIZE)
          throw new DecodeError(`chunks/${names[i]}: shorter than its header`);
        const magic = d.be32();
        if (magic !== CHUNKS_MAGIC)
          throw new DecodeError(`chunks/${names[i]}: bad magic ${magic.toString(16)}`);
        const v = d.u8();
        if (v !== CHUNKS_VERSION) throw new DecodeError(`chunks/${names[i]}: unsupported version ${v}`);
        this.segs.push(b);
        this.verified.push(new Uint8Array((b.length >>> 6) + 1));
      }
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** The mapped segments, in sequence order (for the addon's block walk). */
  get segments(): readonly Uint8Array[] {
    return this.segs;
  }

  /** Per segment, the bitmap of chunks whose CRC has been verified (one bit per 8 bytes). */
  get verifiedBitmaps(): readonly Uint8Array[] {
    return this.verified;
  }

  get segmentCount(): number {
    return this.segs.length;
  }

  get totalBytes(): number {
    let n = 0;
    for (const s of this.segs) n += s.length;
    return n;
  }

  /** After locate(): the chunk's segment buffer, data range [dataStart, dataEnd) in it, and encoding. */
  seg: Uint8Array = new Uint8Array(0);
  dataStart = 0;
  dataEnd = 0;
  encoding = 0;

  /**
   * Resolves a reference without allocating: bounds-checks it, verifies the chunk's CRC the first time
   * this reader sees it (a bit per possible chunk start remembers it), and sets seg/dataStart/dataEnd/
   * encoding. Returns the segment sequence.
   */
  locate(ref: number): number {
    const seq = Math.floor(ref / TWO32);
    const off = ref - seq * TWO32;
    if (seq >= this.segs.length) {
      throw new DecodeError(`chunk ref ${ref}: segment ${segmentName(seq)} does not exist`);
    }
    const b = this.segs[seq];
    if (off < SEGMENT_HEADER_SIZE || off >= b.length) {
      throw new DecodeError(
        `chunk ref ${ref}: offset ${off} outside chunks/${segmentName(seq)} (${b.length} bytes)`,
      );
    }
    // uvarint length, bounds-checked inline (the hot path of every query).
    let p = off;
    let len = 0;
    let mul = 1;
    for (let i = 0; ; i++) {
      if (p >= b.length || i === 5)
        throw new DecodeError(`chunk ref ${ref}: bad length in chunks/${segmentName(seq)}`);
      const x = b[p++];
      len += (x & 0x7f) * mul;
      if (x < 0x80) break;
      mul *= 128;
    }
    const encAt = p;
    const end = encAt + 1 + len;
    if (end + 4 > b.length) {
      throw new DecodeError(
        `chunk ref ${ref}: length ${len} runs past the end of chunks/${segmentName(seq)}`,
      );
    }
    const bits = this.verified[seq];
    const bit = off >>> 3; // chunk records are >= 9 bytes apart, so no two share a bit
    if ((bits[bit >>> 3] & (1 << (bit & 7))) === 0) {
      const want = ((b[end] << 24) | (b[end + 1] << 16) | (b[end + 2] << 8) | b[end + 3]) >>> 0;
      if (ops.crc32c(b.subarray(encAt, end)) !== want) {
        throw new DecodeError(`chunk ref ${ref}: CRC32C mismatch in chunks/${segmentName(seq)}`);
      }
      bits[bit >>> 3] |= 1 << (bit & 7);
    }
    this.seg = b;
    this.encoding = b[encAt];
    this.dataStart = encAt + 1;
    this.dataEnd = end;
    return seq;
  }

  /** Resolves a reference to its chunk, checking bounds and the CRC. The data is a zero-copy view. */
  chunk(ref: number): RawChunk {
    this.locate(ref);
    return { encoding: this.encoding, data: this.seg.subarray(this.dataStart, this.dataEnd) };
  }

  close(): void {
    for (const m of this.maps) ops.munmap(m);
    this.maps.length = 0;
    this.segs.length = 0;
    this.verified.length = 0;
  }
}
