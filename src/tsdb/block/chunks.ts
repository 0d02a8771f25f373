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
      }
    } catch (err) {
      this.close();
      throw err;
    }
  }

  get segmentCount(): number {
    return this.segs.length;
  }

  get totalBytes(): number {
    let n = 0;
    for (const s of this.segs) n += s.length;
    return n;
  }

  /** Resolves a reference to its chunk, checking bounds and the CRC. The data is a zero-copy view. */
  chunk(ref: number): RawChunk {
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
    const d = new Decbuf(b, off, b.length, `chunks/${segmentName(seq)}`);
    const len = d.uvarint();
    const encStart = d.pos;
    if (encStart + 1 + len + 4 > b.length) {
      throw new DecodeError(
        `chunk ref ${ref}: length ${len} runs past the end of chunks/${segmentName(seq)}`,
      );
    }
    const encoding = b[encStart];
    const data = b.subarray(encStart + 1, encStart + 1 + len);
    const p = encStart + 1 + len;
    const want = ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
    const got = ops.crc32c(b.subarray(encStart, p));
    if (got !== want)
      throw new DecodeError(`chunk ref ${ref}: CRC32C mismatch in chunks/${segmentName(seq)}`);
    return { encoding, data };
  }

  close(): void {
    for (const m of this.maps) ops.munmap(m);
    this.maps.length = 0;
    this.segs.length = 0;
  }
}
