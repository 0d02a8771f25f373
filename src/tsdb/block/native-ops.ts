// The addon functions the block code uses, resolved once. NATIVE's addon (src/native/binding.ts) is the
// real implementation; while a function has not landed there yet, a plain TypeScript version from
// ./fallback.ts stands in (TEMPORARY: each fallback goes away once the addon exports the function).
import { readFileSync } from 'node:fs';
import { native } from '../../native/binding.js';
import * as fb from './fallback.js';

export interface DecodedChunk {
  t: Float64Array;
  v: Float64Array;
}

export interface BlockNativeOps {
  crc32c(buf: Uint8Array, crc?: number): number;
  xorEncode(t: Float64Array, v: Float64Array, start?: number, end?: number): Uint8Array;
  xorDecode(chunk: Uint8Array, mint?: number, maxt?: number): DecodedChunk;
  /** Decodes the samples of `chunk` in [mint, maxt] into outT/outV from index `at`; returns how many. */
  xorDecodeInto(
    chunk: Uint8Array,
    mint: number,
    maxt: number,
    outT: Float64Array,
    outV: Float64Array,
    at: number,
  ): number;
  mmap(path: string): ArrayBuffer;
  munmap(buf: ArrayBuffer): void;
  intersect(lists: Uint32Array[]): Uint32Array;
  union(lists: Uint32Array[]): Uint32Array;
  difference(a: Uint32Array, b: Uint32Array): Uint32Array;
}

const addon = native as unknown as Partial<BlockNativeOps>;

function pick<K extends keyof BlockNativeOps>(name: K, fallback: BlockNativeOps[K]): BlockNativeOps[K] {
  const f = addon[name];
  return typeof f === 'function' ? (f.bind(addon) as BlockNativeOps[K]) : fallback;
}

/** Which functions come from the addon (for reports and benchmarks). */
export function nativeCoverage(): Record<keyof BlockNativeOps, boolean> {
  const names: (keyof BlockNativeOps)[] = [
    'crc32c',
    'xorEncode',
    'xorDecode',
    'xorDecodeInto',
    'mmap',
    'munmap',
    'intersect',
    'union',
    'difference',
  ];
  const out = {} as Record<keyof BlockNativeOps, boolean>;
  for (const n of names) out[n] = typeof addon[n] === 'function';
  return out;
}

function readWhole(path: string): ArrayBuffer {
  const b = readFileSync(path);
  const ab = new ArrayBuffer(b.byteLength);
  new Uint8Array(ab).set(b);
  return ab;
}

export const ops: BlockNativeOps = {
  crc32c: pick('crc32c', fb.crc32c),
  xorEncode: pick('xorEncode', fb.xorEncode),
  xorDecode: pick('xorDecode', fb.xorDecode),
  xorDecodeInto: pick('xorDecodeInto', fb.xorDecodeInto),
  mmap: pick('mmap', readWhole),
  munmap: pick('munmap', () => {}),
  intersect: pick('intersect', fb.intersect),
  union: pick('union', fb.union),
  difference: pick('difference', fb.difference),
};
