// The block select (native series walk, columnar result) against the samples written, over random
// windows and tombstones: partial deletions, whole series deleted, windows between two samples.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareLabels, type Labels } from '../src/shared/labels.js';
import { unflattenLabels } from '../src/shared/protocol.js';
import { BlockReader } from '../src/tsdb/block/reader.js';
import { labelsAt, materialize, seriesCount } from '../src/tsdb/block/select-columns.js';
import type { Interval } from '../src/tsdb/block/tombstones.js';
import { writeBlock } from '../src/tsdb/block/writer.js';
import { replyFromColumns, replyFromSeries } from '../src/tsdb/select-reply.js';
import { toInput } from './block-fixture.js';

const work = mkdtempSync(join(tmpdir(), 'promshard-select-columns-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Gen {
  labels: Labels;
  t: number[];
  v: number[];
}

function generate(n: number, rand: () => number): Gen[] {
  const out: Gen[] = [];
  for (let i = 0; i < n; i++) {
    const t: number[] = [];
    const v: number[] = [];
    let ts = 1_000_000 + Math.floor(rand() * 50_000);
    const count = 1 + Math.floor(rand() * 500);
    for (let j = 0; j < count; j++) {
      t.push(ts);
      v.push(rand() < 0.5 ? j : rand() * 100);
      ts += rand() < 0.1 ? 15_000 + Math.floor(rand() * 4000) : 15_000;
    }
    out.push({
      labels: [
        { name: '__name__', value: `m${i % 7}` },
        { name: 'i', value: String(i).padStart(4, '0') },
        { name: 'job', value: i % 3 === 0 ? 'a' : 'b' },
      ],
      t,
      v,
    });
  }
  return out.sort((a, b) => compareLabels(a.labels, b.labels));
}

function expected(gen: Gen[], job: string, mint: number, maxt: number, del: Map<number, Interval[]>) {
  const out: { labels: Labels; t: number[]; v: number[] }[] = [];
  gen.forEach((g, idx) => {
    if (g.labels[2].value !== job) return;
    const ivs = del.get(idx) ?? [];
    const t: number[] = [];
    const v: number[] = [];
    for (let j = 0; j < g.t.length; j++) {
      const ts = g.t[j];
      if (ts < mint || ts > maxt || ivs.some((iv) => ts >= iv.mint && ts <= iv.maxt)) continue;
      t.push(ts);
      v.push(g.v[j]);
    }
    if (t.length > 0) out.push({ labels: g.labels, t, v });
  });
  return out;
}

describe('block select columns', () => {
  it('give exactly the written samples in windows, with tombstones applied', async () => {
    const rand = rng(42);
    const gen = generate(300, rand);
    const input = toInput(
      gen.map((g) => ({ labels: g.labels, t: Float64Array.from(g.t), v: Float64Array.from(g.v) })),
    );
    const meta = await writeBlock(work, input, { minTime: 1_000_000, maxTime: 1_000_000 + 10 * 3600_000 });
    const b = BlockReader.open(join(work, meta.ulid));
    try {
      // Series refs in index order are the generated order (sorted by labels).
      const refs = b.postings([{ type: '=~', name: 'i', value: '.+' }]);
      expect(refs.length).toBe(gen.length);
      for (let round = 0; round < 40; round++) {
        const del = new Map<number, Interval[]>();
        const byRef = new Map<number, Interval[]>();
        if (round % 4 !== 0) {
          for (let k = 0; k < 60; k++) {
            const idx = Math.floor(rand() * gen.length);
            const g = gen[idx];
            const whole = rand() < 0.3;
            const a = g.t[Math.floor(rand() * g.t.length)];
            const iv = whole
              ? { mint: -Infinity, maxt: Infinity }
              : { mint: a, maxt: a + Math.floor(rand() * 600_000) };
            del.set(idx, [...(del.get(idx) ?? []), iv]);
            byRef.set(refs[idx], del.get(idx)!);
          }
        }
        b.tombstones = byRef;
        const lo = 1_000_000 + Math.floor(rand() * 4_000_000);
        const [mint, maxt] =
          round % 5 === 0
            ? [-Infinity, Infinity]
            : round % 5 === 1
              ? [lo, lo + 7_000]
              : [lo, lo + Math.floor(rand() * 5_000_000)];
        const job = round % 2 === 0 ? 'a' : 'b';
        const want = expected(gen, job, mint, maxt, del);
        const cols = b.selectColumns([{ type: '=', name: 'job', value: job }], mint, maxt);
        expect(seriesCount(cols)).toBe(want.length);
        for (let k = 0; k < want.length; k++) {
          expect(labelsAt(cols, k)).toEqual(want[k].labels);
          const s = cols.start[k];
          const e = cols.start[k + 1];
          expect(Array.from(cols.t.subarray(s, e))).toEqual(want[k].t);
          expect(Array.from(cols.v.subarray(s, e))).toEqual(want[k].v);
        }
        const sel = materialize(cols);
        expect(sel.map((x) => x.labels)).toEqual(want.map((x) => x.labels));
        // The worker reply straight from the columns says what the reply from SeriesData says.
        const viaSeries = replyFromSeries(sel).reply;
        const direct = replyFromColumns(cols).reply;
        expect(Array.from(direct.counts)).toEqual(Array.from(viaSeries.counts));
        expect(Array.from(direct.t)).toEqual(Array.from(viaSeries.t));
        expect(Array.from(direct.v)).toEqual(Array.from(viaSeries.v));
        for (let k = 0; k < want.length; k++)
          expect(unflattenLabels(direct.labels, k)).toEqual(want[k].labels);
        expect(direct.labels.symbols.length).toBeLessThanOrEqual(new Set(direct.labels.refs).size);
      }
    } finally {
      b.close();
    }
  });
});
