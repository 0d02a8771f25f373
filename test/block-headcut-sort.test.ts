import { describe, expect, it } from 'vitest';
import { native } from '../src/native/binding.js';
import { compareLabels, type Labels } from '../src/shared/labels.js';
import { seriesFromHeadExport, seriesFromHeadExportAsync } from '../src/tsdb/block/series-chunks.js';

// The head-cut input is sorted in slices (a merge sort of runs of 512 that yields); with thousands of
// series in shuffled order it must give exactly the order of a plain sort, and the same series and chunks.
describe('seriesFromHeadExport ordering', () => {
  it('sorts thousands of shuffled series as a plain sort does, sync and in slices', async () => {
    const n = 2777;
    const t = Float64Array.of(1000, 16_000);
    const chunk = native.xorEncode(t, Float64Array.of(1, 2));
    const labels: Labels[] = [];
    let seed = 7;
    for (let i = 0; i < n; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      // Duplicated names with varied values: comparisons go past the first label.
      labels.push([
        { name: '__name__', value: `m${seed % 13}` },
        { name: 'i', value: String(seed % 997) },
        { name: 'k', value: String(i) },
      ]);
    }
    const exp = {
      index: Uint32Array.from({ length: n }, (_, i) => i),
      mint: new Float64Array(n).fill(1000),
      maxt: new Float64Array(n).fill(16_000),
      offsets: Uint32Array.from({ length: n + 1 }, (_, i) => i * chunk.length),
      data: new Uint8Array(n * chunk.length),
    };
    for (let i = 0; i < n; i++) exp.data.set(chunk, i * chunk.length);
    const expected = [...labels].sort(compareLabels);
    const sync = seriesFromHeadExport(exp, labels, 0, 100_000);
    expect(sync.map((s) => s.labels)).toEqual(expected);
    let pauses = 0;
    const sliced = await seriesFromHeadExportAsync(exp, labels, 0, 100_000, () => {
      pauses++;
      return Promise.resolve();
    });
    expect(pauses).toBeGreaterThan(5);
    expect(sliced.map((s) => s.labels)).toEqual(expected);
    for (const s of sliced) expect(Array.from(s.chunks[0].data)).toEqual(Array.from(chunk));
  });
});
