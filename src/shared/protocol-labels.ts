/**
 * The byte form of a label set that crosses from the coordinator to a shard and goes into the WAL:
 * for each label in canonical order, the name then the value, each a uvarint byte length followed by
 * its UTF-8 bytes (the label part of Prometheus' WAL series record). And the 64-bit hash of those bytes
 * that routes a series to its shard and keys the shard's series table.
 */
import type { Label, Labels } from './labels.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Writes a uvarint at `at`; returns the position after it. */
export function putUvarint(buf: Uint8Array, at: number, x: number): number {
  while (x >= 0x80) {
    buf[at++] = (x & 0x7f) | 0x80;
    x = Math.floor(x / 128);
  }
  buf[at++] = x;
  return at;
}

/** The byte length of a string's UTF-8 form (no allocation). */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 2; // 4 bytes for 2 UTF-16 units
        i++;
      } else n += 2; // a lone surrogate: encoded as U+FFFD by TextEncoder
    } else n += 2;
  }
  return n;
}

/** Writes a string as uvarint length + UTF-8 bytes; `buf` must have room (utf8Length + 5). */
export function putString(buf: Uint8Array, at: number, s: string): number {
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    at = putUvarint(buf, at, s.length);
    for (let i = 0; i < s.length; i++) buf[at + i] = s.charCodeAt(i);
    return at + s.length;
  }
  const bytes = encoder.encode(s);
  at = putUvarint(buf, at, bytes.length);
  buf.set(bytes, at);
  return at + bytes.length;
}

/** Encodes a canonical label set; returns its bytes. */
export function encodeLabels(labels: Labels): Uint8Array {
  let n = 0;
  for (const l of labels) n += utf8Length(l.name) + utf8Length(l.value) + 10;
  const buf = new Uint8Array(n);
  let at = 0;
  for (const l of labels) {
    at = putString(buf, at, l.name);
    at = putString(buf, at, l.value);
  }
  return buf.subarray(0, at);
}

/** Reads a uvarint at pos[0], advancing it; -1 when truncated or too long. */
export function readUvarint(buf: Uint8Array, pos: number[], end: number): number {
  let x = 0;
  let mul = 1;
  let p = pos[0];
  for (let i = 0; i < 8; i++) {
    if (p >= end) return -1;
    const b = buf[p++];
    x += (b & 0x7f) * mul;
    if (b < 0x80) {
      pos[0] = p;
      return x;
    }
    mul *= 128;
  }
  return -1;
}

/** Decodes one string of a label byte form at pos[0]; throws on truncation or invalid UTF-8. */
export function readString(buf: Uint8Array, pos: number[], end: number): string {
  const len = readUvarint(buf, pos, end);
  const p = pos[0];
  if (len < 0 || p + len > end) throw new RangeError('label bytes truncated');
  pos[0] = p + len;
  let ascii = true;
  for (let i = p; i < p + len; i++) {
    if (buf[i] >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    // String.fromCharCode.apply is the fastest allocation-light path for short ASCII strings.
    if (len <= 64) {
      let s = '';
      for (let i = p; i < p + len; i++) s += String.fromCharCode(buf[i]);
      return s;
    }
    return Buffer.from(buf.buffer, buf.byteOffset + p, len).toString('latin1');
  }
  return decoder.decode(buf.subarray(p, p + len));
}

/** Decodes a label byte form [start, end) into a label set. */
export function decodeLabels(buf: Uint8Array, start: number, end: number): Labels {
  const out: Label[] = [];
  const pos = [start];
  while (pos[0] < end) {
    const name = readString(buf, pos, end);
    const value = readString(buf, pos, end);
    out.push({ name, value });
  }
  return out;
}

/**
 * A 64-bit hash of bytes [start, end) as two 32-bit halves written to out[at], out[at + 1]: two
 * independent 32-bit multiply-rotate lanes (murmur3-style mixing, different seeds) with a final
 * avalanche. It is part of the on-disk contract (promshard.json "hash": series -> shard), so it must
 * never change without a format version bump.
 */
export function hash64(buf: Uint8Array, start: number, end: number, out: Uint32Array, at: number): void {
  let h1 = 0x9747b28c ^ (end - start);
  let h2 = 0x2545f491 ^ (end - start);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const k = buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24);
    let k1 = Math.imul(k, 0xcc9e2d51);
    k1 = (k1 << 15) | (k1 >>> 17);
    k1 = Math.imul(k1, 0x1b873593);
    h1 ^= k1;
    h1 = (h1 << 13) | (h1 >>> 19);
    h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
    let k2 = Math.imul(k, 0x85ebca77);
    k2 = (k2 << 17) | (k2 >>> 15);
    k2 = Math.imul(k2, 0xc2b2ae3d);
    h2 ^= k2;
    h2 = (h2 << 11) | (h2 >>> 21);
    h2 = (Math.imul(h2, 9) + 0x27d4eb2f) | 0;
  }
  const rest = end - i;
  if (rest > 0) {
    let k = buf[i];
    if (rest > 1) k ^= buf[i + 1] << 8;
    if (rest > 2) k ^= buf[i + 2] << 16;
    let k1 = Math.imul(k, 0xcc9e2d51);
    k1 = (k1 << 15) | (k1 >>> 17);
    h1 ^= Math.imul(k1, 0x1b873593);
    let k2 = Math.imul(k, 0x85ebca77);
    k2 = (k2 << 17) | (k2 >>> 15);
    h2 ^= Math.imul(k2, 0xc2b2ae3d);
  }
  // Cross the lanes so both halves depend on all input, then avalanche each (murmur3 fmix32).
  h1 = (h1 + h2) | 0;
  h2 = (h2 + h1) | 0;
  h1 ^= h1 >>> 16;
  h1 = Math.imul(h1, 0x85ebca6b);
  h1 ^= h1 >>> 13;
  h1 = Math.imul(h1, 0xc2b2ae35);
  h1 ^= h1 >>> 16;
  h2 ^= h2 >>> 16;
  h2 = Math.imul(h2, 0x85ebca6b);
  h2 ^= h2 >>> 13;
  h2 = Math.imul(h2, 0xc2b2ae35);
  h2 ^= h2 >>> 16;
  out[at] = h1 >>> 0;
  out[at + 1] = h2 >>> 0;
}

/** The shard of a series from its hash halves: the 64-bit value modulo n, computed exactly. */
export function shardOf(lo: number, hi: number, n: number): number {
  // (hi * 2^32 + lo) mod n without losing bits: 2^32 mod n folds the high half.
  return ((hi % n) * (4294967296 % n) + (lo % n)) % n;
}
