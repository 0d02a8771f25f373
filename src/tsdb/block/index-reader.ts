// Reader of Prometheus' index format v2 (tsdb/docs/format/index.md) over a mapped file. Everything read
// from the file is bounds-checked and every section's CRC32C is verified before it is used; problems
// surface as DecodeError, which BlockReader turns into a BlockCorruptionError naming the block.
import { compareStrings as cmpBytes, type Label, type Labels } from '../../shared/labels.js';
import { Decbuf } from './decbuf.js';
import { DecodeError } from './errors.js';
import { ops } from './native-ops.js';

export const INDEX_MAGIC = 0xbaaad700;
export const INDEX_VERSION_2 = 2;
export const INDEX_TOC_LEN = 6 * 8 + 4;

export interface IndexToc {
  symbols: number;
  series: number;
  labelIndices: number;
  labelIndicesTable: number;
  postings: number;
  postingsTable: number;
}

/** The values of one label name in the postings offset table, sorted, with their postings offsets. */
interface PostingsEntry {
  values: string[];
  offsets: number[];
}

/** Chunk metadata of one series, decoded into reusable typed arrays (no object per chunk). */
export class ChunkMetas {
  n = 0;
  mint = new Float64Array(16);
  maxt = new Float64Array(16);
  ref = new Float64Array(16);
  ensure(n: number): void {
    if (n <= this.mint.length) return;
    const cap = Math.max(n, this.mint.length * 2);
    this.mint = new Float64Array(cap);
    this.maxt = new Float64Array(cap);
    this.ref = new Float64Array(cap);
  }
}

function checkCrc(d: Decbuf, start: number, end: number, what: string): void {
  const want = new Decbuf(d.buf, end, end + 4, what).be32();
  const got = ops.crc32c(d.buf.subarray(start, end));
  if (got !== want) {
    throw new DecodeError(
      `${what}: CRC32C mismatch at offset ${start} (stored ${want.toString(16)}, computed ${got.toString(16)})`,
    );
  }
}

/** Reads postings (big-endian u32 series refs) into a native-endian Uint32Array. */
function decodePostings(buf: Uint8Array, at: number, count: number): Uint32Array {
  const out = new Uint32Array(count);
  for (let i = 0, p = at; i < count; i++, p += 4) {
    out[i] = ((buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]) >>> 0;
  }
  return out;
}

export class IndexReader {
  readonly toc: IndexToc;
  readonly symbols: string[];
  private readonly postingsTable = new Map<string, PostingsEntry>();
  private readonly names: string[];
  private readonly allPostingsOffset: number;

  constructor(readonly buf: Uint8Array) {
    const len = buf.length;
    if (len < 5 + INDEX_TOC_LEN) throw new DecodeError(`index: file too short (${len} bytes)`);
    const head = new Decbuf(buf, 0, 5, 'index header');
    const magic = head.be32();
    if (magic !== INDEX_MAGIC) throw new DecodeError(`index: bad magic ${magic.toString(16)}`);
    const version = head.u8();
    if (version !== INDEX_VERSION_2) throw new DecodeError(`index: unsupported version ${version}`);

    const tocStart = len - INDEX_TOC_LEN;
    const td = new Decbuf(buf, tocStart, len, 'index TOC');
    checkCrc(td, tocStart, len - 4, 'index TOC');
    this.toc = {
      symbols: td.be64(),
      series: td.be64(),
      labelIndices: td.be64(),
      labelIndicesTable: td.be64(),
      postings: td.be64(),
      postingsTable: td.be64(),
    };
    for (const [k, off] of Object.entries(this.toc)) {
      if (off !== 0 && (off < 5 || off >= tocStart))
        throw new DecodeError(`index TOC: ${k} offset ${off} out of range`);
    }
    this.symbols = this.readSymbols();
    this.readPostingsTable(tocStart);
    const all = this.postingsTable.get('');
    this.allPostingsOffset = all && all.values.length === 1 && all.values[0] === '' ? all.offsets[0] : -1;
    this.postingsTable.delete('');
    this.names = [...this.postingsTable.keys()];
  }

  /** Opens the length-prefixed (4-byte) section at `off`, checks its CRC, returns a cursor over it. */
  private section(off: number, what: string): Decbuf {
    const d = new Decbuf(this.buf, off, this.buf.length, what);
    const l = d.be32();
    const start = d.pos;
    if (start + l + 4 > this.buf.length)
      throw new DecodeError(`${what}: length ${l} at ${off} past end of file`);
    checkCrc(d, start, start + l, what);
    return new Decbuf(this.buf, start, start + l, what);
  }

  private readSymbols(): string[] {
    if (this.toc.symbols === 0) return [];
    const d = this.section(this.toc.symbols, 'index symbol table');
    const n = d.be32();
    if (n > d.remaining) throw new DecodeError(`index symbol table: ${n} symbols cannot fit`);
    const out = new Array<string>(n);
    for (let i = 0; i < n; i++) out[i] = d.uvarintString();
    return out;
  }

  private readPostingsTable(tocStart: number): void {
    if (this.toc.postingsTable === 0) return;
    const d = this.section(this.toc.postingsTable, 'index postings offset table');
    const n = d.be32();
    let cur: PostingsEntry | undefined;
    let curName: string | undefined;
    const lo = this.toc.postings || 5;
    for (let i = 0; i < n; i++) {
      const keys = d.u8();
      if (keys !== 2)
        throw new DecodeError(`index postings offset table: entry ${i} has ${keys} keys, want 2`);
      const name = d.uvarintString();
      const value = d.uvarintString();
      const off = d.uvarint();
      if (off < lo || off >= tocStart)
        throw new DecodeError(`index postings offset table: offset ${off} out of range`);
      if (name !== curName) {
        cur = this.postingsTable.get(name);
        if (!cur) {
          cur = { values: [], offsets: [] };
          this.postingsTable.set(name, cur);
        }
        curName = name;
      }
      cur!.values.push(value);
      cur!.offsets.push(off);
    }
  }

  /** Label names (sorted, as stored), without the all-postings key. */
  labelNames(): string[] {
    return this.names.slice();
  }

  labelValues(name: string): string[] {
    return this.postingsTable.get(name)?.values.slice() ?? [];
  }

  /** Values of `name` and the postings offset of each (read-only views into the table). */
  valuesOf(name: string): { values: readonly string[]; offsets: readonly number[] } | undefined {
    return this.postingsTable.get(name);
  }

  readPostingsAt(off: number): Uint32Array {
    const d = this.section(off, 'index postings');
    const n = d.be32();
    if (n * 4 !== d.remaining)
      throw new DecodeError(`index postings at ${off}: ${n} entries in ${d.remaining} bytes`);
    return decodePostings(this.buf, d.pos, n);
  }

  postings(name: string, value: string): Uint32Array {
    const e = this.postingsTable.get(name);
    if (!e) return new Uint32Array(0);
    const i = binarySearch(e.values, value);
    return i < 0 ? new Uint32Array(0) : this.readPostingsAt(e.offsets[i]);
  }

  /** All series refs (the all-postings list under the empty key). */
  allPostings(): Uint32Array {
    if (this.allPostingsOffset < 0) {
      // An index without the empty key: the union of everything (Prometheus' writer always has it).
      const lists: Uint32Array[] = [];
      for (const e of this.postingsTable.values())
        for (const off of e.offsets) lists.push(this.readPostingsAt(off));
      return ops.union(lists);
    }
    return this.readPostingsAt(this.allPostingsOffset);
  }

  /**
   * Decodes series `ref` (offset / 16): its labels and, into `chunks`, its chunk metadata.
   * Pass `chunks` = undefined to skip them.
   */
  series(ref: number, chunks: ChunkMetas | undefined): Labels {
    const off = ref * 16;
    if (off < this.toc.series || off >= this.buf.length - INDEX_TOC_LEN) {
      throw new DecodeError(`index: series ref ${ref} (offset ${off}) outside the series section`);
    }
    const d0 = new Decbuf(this.buf, off, this.buf.length, 'index series');
    const l = d0.uvarint();
    const start = d0.pos;
    if (start + l + 4 > this.buf.length)
      throw new DecodeError(`index series ${ref}: length ${l} past end of file`);
    checkCrc(d0, start, start + l, `index series ${ref}`);
    const d = new Decbuf(this.buf, start, start + l, `index series ${ref}`);
    const nl = d.uvarint();
    if (nl * 2 > d.remaining) throw new DecodeError(`index series ${ref}: ${nl} labels cannot fit`);
    const labels = new Array<Label>(nl);
    const syms = this.symbols;
    for (let i = 0; i < nl; i++) {
      const n = d.uvarint();
      const v = d.uvarint();
      if (n >= syms.length || v >= syms.length)
        throw new DecodeError(`index series ${ref}: symbol ref out of range`);
      labels[i] = { name: syms[n], value: syms[v] };
    }
    if (chunks) {
      const nc = d.uvarint();
      if (nc * 3 > d.remaining) throw new DecodeError(`index series ${ref}: ${nc} chunks cannot fit`);
      chunks.ensure(nc);
      chunks.n = nc;
      let maxt = 0;
      let cref = 0;
      for (let i = 0; i < nc; i++) {
        const mint = i === 0 ? d.varint() : maxt + d.uvarint();
        maxt = mint + d.uvarint();
        cref = i === 0 ? d.uvarint() : cref + d.varint();
        if (cref < 0) throw new DecodeError(`index series ${ref}: negative chunk ref`);
        chunks.mint[i] = mint;
        chunks.maxt[i] = maxt;
        chunks.ref[i] = cref;
      }
    }
    return labels;
  }
}

export function binarySearch(values: readonly string[], v: string): number {
  // Values are sorted in byte order; compare the same way (JS `<` is UTF-16 order).
  let lo = 0;
  let hi = values.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = cmpBytes(values[mid], v);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
