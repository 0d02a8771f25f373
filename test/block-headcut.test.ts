import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { native } from '../src/native/binding.js';
import { labelsFromObject } from '../src/shared/labels.js';
import { ops } from '../src/tsdb/block/native-ops.js';
import { BlockReader } from '../src/tsdb/block/reader.js';
import { mergeSeriesChunks, seriesFromHeadExport } from '../src/tsdb/block/series-chunks.js';
import { writeBlock } from '../src/tsdb/block/writer.js';
import { bitsOf, haveFixture, loadExpected } from './block-fixture.js';

const work = mkdtempSync(join(tmpdir(), 'promshard-headcut-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function series(t0: number, n: number, step: number, f: (i: number) => number) {
  const t = new Float64Array(n);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    t[i] = t0 + i * step;
    v[i] = f(i);
  }
  return { t, v };
}

describe('head cut input', () => {
  it('clips exported head chunks to the block range, re-encoding the ones that stick out, sorted by labels', async () => {
    // Two series, chunks of 120 samples at 60 s: the block [3.6e6, 10.8e6) cuts through chunks.
    const a = series(0, 400, 60_000, (i) => i * 1.5);
    const b = series(30_000, 300, 60_000, (i) => -i);
    const chunks: { idx: number; mint: number; maxt: number; data: Uint8Array }[] = [];
    for (const [idx, s] of [a, b].entries()) {
      for (let i = 0; i < s.t.length; i += 120) {
        const e = Math.min(s.t.length, i + 120);
        chunks.push({ idx, mint: s.t[i], maxt: s.t[e - 1], data: ops.xorEncode(s.t, s.v, i, e) });
      }
    }
    const offsets = new Uint32Array(chunks.length + 1);
    for (let k = 0; k < chunks.length; k++) offsets[k + 1] = offsets[k] + chunks[k].data.length;
    const data = new Uint8Array(offsets[chunks.length]);
    chunks.forEach((c, k) => {
      data.set(c.data, offsets[k]);
    });
    const exp = {
      index: Uint32Array.from(chunks.map((c) => c.idx)),
      mint: Float64Array.from(chunks.map((c) => c.mint)),
      maxt: Float64Array.from(chunks.map((c) => c.maxt)),
      offsets,
      data,
    };
    // Labels given in "head order": z before a; the writer input must come out sorted.
    const labels = [labelsFromObject({ __name__: 'z' }), labelsFromObject({ __name__: 'a' })];
    const minTime = 3_600_000;
    const maxTime = 10_800_000;
    const input = seriesFromHeadExport(exp, labels, minTime, maxTime);
    expect(input.map((s) => s.labels[0].value)).toEqual(['a', 'z']);
    const meta = await writeBlock(work, input, { minTime, maxTime });
    const r = BlockReader.open(join(work, meta.ulid));
    try {
      const got = r.select([], -Infinity, Infinity);
      for (const [name, src] of [
        ['a', b],
        ['z', a],
      ] as const) {
        const s = got.find((x) => x.labels[0].value === name)!;
        const keep = Array.from(src.t.keys()).filter((i) => src.t[i] >= minTime && src.t[i] < maxTime);
        expect(Array.from(s.t)).toEqual(keep.map((i) => src.t[i]));
        expect(bitsOf(s.v)).toEqual(bitsOf(Float64Array.from(keep.map((i) => src.v[i]))));
      }
      expect(meta.stats.numSamples).toBe(got.reduce((n, s) => n + s.t.length, 0));
    } finally {
      r.close();
    }
  });

  it('re-encodes a chunk overlapping a non-adjacent earlier one', () => {
    const long = series(0, 100, 1000, (i) => i);
    const mid = series(10_500, 2, 1000, () => 7);
    const late = series(50_500, 2, 1000, () => 9);
    const mk = (s: { t: Float64Array; v: Float64Array }) => ({
      mint: s.t[0],
      maxt: s.t[s.t.length - 1],
      encoding: 1,
      data: ops.xorEncode(s.t, s.v),
    });
    const out = mergeSeriesChunks([{ chunks: [mk(long), mk(mid), mk(late)], deleted: undefined }], 0, 1e9);
    for (let i = 1; i < out.length; i++) expect(out[i].mint).toBeGreaterThan(out[i - 1].maxt);
    const n = out.reduce((k, c) => k + ops.xorDecode(c.data).t.length, 0);
    expect(n).toBe(104);
  });

  it('re-encodes only the chunks that need it, each group of overlapping chunks on its own', () => {
    const mk = (t0: number, n: number, step: number) => {
      const s = series(t0, n, step, (i) => t0 + i);
      return { mint: s.t[0], maxt: s.t[n - 1], encoding: 1, data: ops.xorEncode(s.t, s.v) };
    };
    const c1 = mk(0, 11, 1); // crosses minTime 5
    const c2 = mk(40, 11, 1); // untouched
    const c3 = mk(90, 20, 50); // crosses maxTime 1000
    const out = mergeSeriesChunks([{ chunks: [c1, c2, c3], deleted: undefined }], 5, 1000);
    expect(out.length).toBe(3);
    expect(out[1].data).toBe(c2.data);
    expect(out.map((c) => [c.mint, c.maxt])).toEqual([
      [5, 10],
      [40, 50],
      [90, 990],
    ]);
    for (let i = 1; i < out.length; i++) expect(out[i].mint).toBeGreaterThan(out[i - 1].maxt);
  });

  it.skipIf(!haveFixture)(
    'cuts a block from the addon head chunk store holding the fixture samples',
    async () => {
      const exp = loadExpected();
      const head = new native.HeadChunks();
      head.grow(exp.series.length + 1);
      // One batch in time order, as the fixture's single remote-write request was (the head refuses
      // samples older than its max time - 1h).
      const all = exp.series.flatMap((s, i) => Array.from(s.t, (t, k) => ({ ref: i + 1, t, k, s })));
      all.sort((a, b) => a.t - b.t || a.ref - b.ref);
      const refs0 = Uint32Array.from(all, (x) => x.ref);
      const t0 = Float64Array.from(all, (x) => x.t);
      const v0 = new Float64Array(all.length);
      all.forEach((x, i) => {
        v0[i] = x.s.v[x.k];
      });
      expect(head.append(refs0, t0, v0, new Uint8Array(all.length), -1e15, 1e15)).toBe(2700);
      const refs = Uint32Array.from(exp.series.map((_, i) => i + 1));
      // A block of the first hour only: chunks crossing its end are cut and re-encoded.
      const minTime = 1699999200000;
      const maxTime = minTime + 3_600_000;
      const out = head.exportChunks(refs, minTime, maxTime - 1, true);
      const input = seriesFromHeadExport(out, (i) => exp.series[i].labels, minTime, maxTime);
      const meta = await writeBlock(work, input, { minTime, maxTime });
      const r = BlockReader.open(join(work, meta.ulid));
      try {
        const got = r.select([], -Infinity, Infinity);
        expect(got.map((s) => s.labels)).toEqual(exp.series.map((s) => s.labels));
        for (const [i, s] of got.entries()) {
          const e = exp.series[i];
          const keep = Array.from(e.t.keys()).filter((k) => e.t[k] >= minTime && e.t[k] < maxTime);
          expect(Array.from(s.t)).toEqual(keep.map((k) => e.t[k]));
          expect(bitsOf(s.v)).toEqual(bitsOf(Float64Array.from(keep.map((k) => e.v[k]))));
        }
      } finally {
        r.close();
      }
    },
  );
});
