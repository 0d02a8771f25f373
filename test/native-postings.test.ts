// Postings set operations of the addon against a plain TypeScript model on seeded random lists.
import { describe, expect, it } from 'vitest';
import { difference, intersect, union } from '../src/native/binding.js';
import { rng } from './native-helpers.js';

type Rand = () => number;

/** A sorted list of n values below max; duplicates kept when dups is set. */
function list(r: Rand, n: number, max: number, dups = false): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.floor(r() * max);
  a.sort();
  if (dups) return a;
  let k = 0;
  for (let i = 0; i < n; i++) if (k === 0 || a[i] !== a[k - 1]) a[k++] = a[i];
  return a.slice(0, k);
}

const sortedUnique = (xs: Iterable<number>) => Uint32Array.from(new Set(xs)).sort();

/** The sorted input without its duplicates, filtered by keep (order is preserved, so no sort is needed). */
function uniqueFiltered(a: Uint32Array, keep: (x: number) => boolean): Uint32Array {
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if ((i === 0 || a[i] !== a[i - 1]) && keep(a[i])) out.push(a[i]);
  return Uint32Array.from(out);
}

function modelIntersect(lists: Uint32Array[]): Uint32Array {
  if (lists.length === 0) return new Uint32Array(0);
  const sorted = [...lists].sort((x, y) => x.length - y.length);
  const sets = sorted.slice(1).map((l) => new Set(l));
  return uniqueFiltered(sorted[0], (x) => sets.every((s) => s.has(x)));
}
const modelUnion = (lists: Uint32Array[]) => sortedUnique(lists.flatMap((l) => Array.from(l)));
function modelDifference(a: Uint32Array, b: Uint32Array): Uint32Array {
  const o = new Set(b);
  return uniqueFiltered(a, (x) => !o.has(x));
}

/** A random mix of list shapes: empty, single, dense, sparse, duplicate-heavy, lopsided. */
function randomLists(r: Rand): Uint32Array[] {
  const k = Math.floor(r() * 6);
  const out: Uint32Array[] = [];
  const max = [10, 1000, 100_000, 2 ** 32][Math.floor(r() * 4)];
  for (let i = 0; i < k; i++) {
    const shape = r();
    if (shape < 0.1) out.push(new Uint32Array(0));
    else if (shape < 0.2) out.push(list(r, 1, max));
    else if (shape < 0.35) out.push(list(r, 1 + Math.floor(r() * 50), Math.min(max, 20), true));
    else if (shape < 0.5) out.push(list(r, 20_000 + Math.floor(r() * 20_000), max));
    else out.push(list(r, Math.floor(r() * 500), max, r() < 0.2));
  }
  return out;
}

/** Fast equality of two lists (vitest's deep equality walks a 1M-element array slowly). */
function same(got: Uint32Array, want: Uint32Array, label = ''): void {
  const g = Buffer.from(got.buffer, got.byteOffset, got.byteLength);
  const w = Buffer.from(want.buffer, want.byteOffset, want.byteLength);
  if (!g.equals(w)) {
    let i = 0;
    while (i < got.length && got[i] === want[i]) i++;
    expect.fail(
      `${label}: lengths ${got.length}/${want.length}, first difference at ${i}: ${got[i]} vs ${want[i]}`,
    );
  }
}

describe('postings', () => {
  it('match the model on random mixes of lists', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const r = rng(seed);
      const lists = randomLists(r);
      same(intersect(lists), modelIntersect(lists), `intersect seed ${seed}`);
      same(union(lists), modelUnion(lists), `union seed ${seed}`);
      const a = lists[0] ?? new Uint32Array(0);
      const b = lists[1] ?? new Uint32Array(0);
      same(difference(a, b), modelDifference(a, b), `difference seed ${seed}`);
      same(difference(b, a), modelDifference(b, a), `difference seed ${seed}`);
    }
  });

  it('gallops correctly through lopsided lists (1k vs 1M)', () => {
    for (let seed = 500; seed < 503; seed++) {
      const r = rng(seed);
      const big = list(r, 1_000_000, 4_000_000);
      const small = list(r, 1000, 4_000_000, seed % 2 === 0);
      // Make sure some elements are shared.
      for (let i = 0; i < small.length; i += 3) small[i] = big[Math.floor((i / small.length) * big.length)];
      small.sort();
      same(intersect([big, small]), modelIntersect([small, big]));
      same(intersect([small, big, big]), modelIntersect([small, big]));
      same(difference(small, big), modelDifference(small, big));
      same(difference(big, small), modelDifference(big, small));
    }
  });

  it('handles edge values and degenerate inputs', () => {
    const max = 0xffffffff;
    same(intersect([]), new Uint32Array(0));
    same(union([]), new Uint32Array(0));
    same(intersect([Uint32Array.of(0, max)]), Uint32Array.of(0, max));
    same(intersect([Uint32Array.of(0, 0, max, max)]), Uint32Array.of(0, max));
    same(union([Uint32Array.of(max), Uint32Array.of(0, max)]), Uint32Array.of(0, max));
    same(union([Uint32Array.of(5, 5, 5)]), Uint32Array.of(5));
    same(difference(Uint32Array.of(0, max), Uint32Array.of(max)), Uint32Array.of(0));
    // Subarray views are read at their offset.
    const base = Uint32Array.of(9, 1, 2, 3, 0);
    same(intersect([base.subarray(1, 4), Uint32Array.of(2, 3)]), Uint32Array.of(2, 3));
    // Outputs are fresh arrays, never the inputs.
    const one = Uint32Array.of(1, 2);
    expect(union([one])).not.toBe(one);
  });

  it('throws on unsorted input and bad arguments', () => {
    const unsorted = Uint32Array.of(3, 1, 2);
    const ok = Uint32Array.of(1, 2, 3);
    expect(() => intersect([unsorted, ok])).toThrow(/not sorted/);
    expect(() => intersect([ok, unsorted])).toThrow(/not sorted/);
    expect(() => union([ok, unsorted])).toThrow(/not sorted/);
    expect(() => difference(unsorted, ok)).toThrow(/not sorted/);
    expect(() => difference(ok, unsorted)).toThrow(/not sorted/);
    expect(() => intersect([new Int32Array(2) as unknown as Uint32Array])).toThrow(TypeError);
    expect(() => intersect(ok as unknown as Uint32Array[])).toThrow(TypeError);
    expect(() => union([[1, 2] as unknown as Uint32Array])).toThrow(TypeError);
    expect(() => difference(ok, undefined as unknown as Uint32Array)).toThrow(TypeError);
    expect(() => union(new Array(2 ** 32 - 1) as Uint32Array[])).toThrow(RangeError);
    expect(() => intersect(new Array(5) as Uint32Array[])).toThrow(TypeError);
  });
});
