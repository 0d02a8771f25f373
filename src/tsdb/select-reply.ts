// A shard's reply to a select (SelectReply of src/shared/protocol.ts) and the buffers it transfers,
// built either from a block's columns as they are (the common case of a range held by one block) or
// from SeriesData merged from several sources.
import { flattenLabels, type SelectReply } from '../shared/protocol.js';
import type { SeriesData } from '../shared/storage.js';
import type { SelectColumns } from './block/select-columns.js';

export interface ReplyWithTransfer {
  readonly reply: SelectReply;
  readonly transfer: ArrayBuffer[];
}

/**
 * The reply from one block's columns: no object per series, the sample columns sent as they are, the
 * label refs renumbered to the symbols used (the block's table can hold far more). Takes the columns
 * over: their label refs are renumbered in place and their buffers are for transfer.
 */
export function replyFromColumns(c: SelectColumns): ReplyWithTransfer {
  const n = c.start.length - 1;
  const refs = c.labelRefs;
  const symbols: string[] = [];
  if (c.symbols.length <= 4 * refs.length + 1024) {
    const map = new Int32Array(c.symbols.length).fill(-1);
    for (let i = 0; i < refs.length; i++) {
      const r = refs[i];
      let m = map[r];
      if (m < 0) {
        m = symbols.length;
        map[r] = m;
        symbols.push(c.symbols[r]);
      }
      refs[i] = m;
    }
  } else {
    const map = new Map<number, number>();
    for (let i = 0; i < refs.length; i++) {
      const r = refs[i];
      let m = map.get(r);
      if (m === undefined) {
        m = symbols.length;
        map.set(r, m);
        symbols.push(c.symbols[r]);
      }
      refs[i] = m;
    }
  }
  const counts = new Uint32Array(n);
  for (let k = 0; k < n; k++) counts[k] = c.start[k + 1] - c.start[k];
  const total = c.start[n];
  const t = c.t.subarray(0, total);
  const v = c.v.subarray(0, total);
  const labelStart = c.labelStart;
  const reply: SelectReply = { labels: { symbols, refs, labelStart }, counts, t, v };
  return { reply, transfer: uniqueBuffers([refs, labelStart, counts, t, v]) };
}

/** The reply from series of any origin, in label order. */
export function replyFromSeries(sel: readonly SeriesData[]): ReplyWithTransfer {
  const labels = flattenLabels(sel.map((x) => x.labels));
  const counts = new Uint32Array(sel.length);
  let total = 0;
  for (let k = 0; k < sel.length; k++) {
    counts[k] = sel[k].t.length;
    total += counts[k];
  }
  // A block's select hands out views in order of one t and one v buffer: sent as they are (no copy
  // of ~800 MB for 100k series x 2h); otherwise the columns are gathered into one new pair.
  const t = contiguous(sel, 't', total) ?? gather(sel, 't', total);
  const v = contiguous(sel, 'v', total) ?? gather(sel, 'v', total);
  const reply: SelectReply = { labels, counts, t, v };
  return { reply, transfer: uniqueBuffers([labels.refs, labels.labelStart, counts, t, v]) };
}

/**
 * The columns as one view when they lie back to back, in order, from the start of one buffer made for this
 * select (a block's or the head's fresh output; a range inside a chunk leaves unused slots at the end).
 */
function contiguous(sel: readonly SeriesData[], key: 't' | 'v', total: number): Float64Array | null {
  if (sel.length === 0) return null;
  const first = sel[0][key];
  const buf = first.buffer;
  if (!(buf instanceof ArrayBuffer) || buf.byteLength < total * 8 || first.byteOffset !== 0) return null;
  let at = 0;
  for (const x of sel) {
    const c = x[key];
    if (c.buffer !== buf || c.byteOffset !== at) return null;
    at += c.byteLength;
  }
  return new Float64Array(buf, 0, total);
}

function gather(sel: readonly SeriesData[], key: 't' | 'v', total: number): Float64Array {
  const out = new Float64Array(total);
  let off = 0;
  for (const x of sel) {
    out.set(x[key], off);
    off += x[key].length;
  }
  return out;
}

/** Buffers to transfer, each once (select views may share one buffer). */
export function uniqueBuffers(arrays: ArrayBufferView[]): ArrayBuffer[] {
  const set = new Set<ArrayBuffer>();
  for (const a of arrays) if (a.buffer instanceof ArrayBuffer && a.buffer.byteLength > 0) set.add(a.buffer);
  return [...set];
}
