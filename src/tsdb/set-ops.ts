/**
 * Set operations on sorted, de-duplicated ref lists. The addon's intersect/union/difference are used
 * when it has them (one native call per query term); these merges are the fallback and the reference.
 */
import { native } from '../native/binding.js';

type ListOp = (lists: Uint32Array[]) => Uint32Array;
type DiffOp = (a: Uint32Array, b: Uint32Array) => Uint32Array;
const addon = native as unknown as { intersect?: ListOp; union?: ListOp; difference?: DiffOp };

function intersect2(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(Math.min(a.length, b.length));
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) {
    const x = a[i];
    const y = b[j];
    if (x === y) {
      out[k++] = x;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return out.subarray(0, k);
}

function union2(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) {
    const x = a[i];
    const y = b[j];
    if (x === y) {
      out[k++] = x;
      i++;
      j++;
    } else if (x < y) {
      out[k++] = x;
      i++;
    } else {
      out[k++] = y;
      j++;
    }
  }
  while (i < a.length) out[k++] = a[i++];
  while (j < b.length) out[k++] = b[j++];
  return out.subarray(0, k);
}

export function intersectRefs(lists: Uint32Array[]): Uint32Array {
  if (lists.length === 0) return new Uint32Array(0);
  if (lists.length === 1) return lists[0];
  if (addon.intersect) return addon.intersect(lists);
  const sorted = [...lists].sort((x, y) => x.length - y.length);
  let acc = sorted[0];
  for (let i = 1; i < sorted.length && acc.length > 0; i++) acc = intersect2(acc, sorted[i]);
  return acc;
}

export function unionRefs(lists: Uint32Array[]): Uint32Array {
  if (lists.length === 0) return new Uint32Array(0);
  if (lists.length === 1) return lists[0];
  if (addon.union) return addon.union(lists);
  // Pairwise merging in rounds keeps the cost at n log k.
  let work = lists;
  while (work.length > 1) {
    const next: Uint32Array[] = [];
    for (let i = 0; i < work.length; i += 2)
      next.push(i + 1 < work.length ? union2(work[i], work[i + 1]) : work[i]);
    work = next;
  }
  return work[0];
}

export function differenceRefs(a: Uint32Array, b: Uint32Array): Uint32Array {
  if (b.length === 0 || a.length === 0) return a;
  if (addon.difference) return addon.difference(a, b);
  const out = new Uint32Array(a.length);
  let j = 0;
  let k = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    while (j < b.length && b[j] < x) j++;
    if (j < b.length && b[j] === x) continue;
    out[k++] = x;
  }
  return out.subarray(0, k);
}
