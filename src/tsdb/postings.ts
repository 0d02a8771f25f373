/**
 * Postings: for every label name and value, the sorted refs of the series carrying it. Refs are handed
 * out in increasing order and a series is indexed once, so a list grows by appending at its end and stays
 * sorted. A value held by one series only (an `instance` or `id`) is kept as a bare number, not as a
 * typed array, which saves ~100 bytes per such value.
 */

/** A growable sorted list of refs. */
export class PostingsList {
  buf: Uint32Array;
  len = 0;

  constructor(first: number, second: number) {
    this.buf = new Uint32Array(4);
    this.buf[0] = first;
    this.buf[1] = second;
    this.len = 2;
  }

  push(ref: number): void {
    if (this.len === this.buf.length) {
      const next = new Uint32Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.len++] = ref;
  }

  view(): Uint32Array {
    return this.buf.subarray(0, this.len);
  }
}

type Entry = number | PostingsList;

export function entryView(e: Entry): Uint32Array {
  return typeof e === 'number' ? Uint32Array.of(e) : e.view();
}

export class PostingsIndex {
  /** name -> value -> refs. */
  private readonly byName = new Map<string, Map<string, Entry>>();
  private all: PostingsList | number | undefined;

  /** Indexes a new series; refs must arrive in increasing order. */
  add(ref: number, names: readonly string[], values: readonly string[]): void {
    for (let i = 0; i < names.length; i++) {
      let values0 = this.byName.get(names[i]);
      if (values0 === undefined) {
        values0 = new Map();
        this.byName.set(names[i], values0);
      }
      const e = values0.get(values[i]);
      if (e === undefined) values0.set(values[i], ref);
      else if (typeof e === 'number') values0.set(values[i], new PostingsList(e, ref));
      else e.push(ref);
    }
    if (this.all === undefined) this.all = ref;
    else if (typeof this.all === 'number') this.all = new PostingsList(this.all, ref);
    else this.all.push(ref);
  }

  /** Every ref, sorted. */
  allRefs(): Uint32Array {
    return this.all === undefined ? new Uint32Array(0) : entryView(this.all);
  }

  get(name: string, value: string): Uint32Array {
    const e = this.byName.get(name)?.get(value);
    return e === undefined ? new Uint32Array(0) : entryView(e);
  }

  /** The values of a name, unsorted (empty when the name is unknown). */
  values(name: string): Map<string, Entry> | undefined {
    return this.byName.get(name);
  }

  names(): IterableIterator<string> {
    return this.byName.keys();
  }
}
