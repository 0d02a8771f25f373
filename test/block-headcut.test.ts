import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { labelsFromObject } from '../src/shared/labels.js';
import { ops } from '../src/tsdb/block/native-ops.js';
import { BlockReader } from '../src/tsdb/block/reader.js';
import { mergeSeriesChunks, seriesFromHeadExport } from '../src/tsdb/block/series-chunks.js';
import { writeBlock } from '../src/tsdb/block/writer.js';
import { bitsOf } from './block-fixture.js';

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
});
