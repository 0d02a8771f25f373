import { describe, expect, it } from 'vitest';
import { QueryError } from '../src/promql/api.js';
import { Engine } from '../src/promql/engine.js';
import { labelsFromObject, labelsKey } from '../src/shared/labels.js';
import type { Matcher } from '../src/shared/matchers.js';
import type { Queryable, SeriesData } from '../src/shared/storage.js';
import { isStaleNaN, STALE_NAN_BITS } from '../src/shared/storage.js';
import { MemoryQueryable } from './support/memory-queryable.js';

const S = 1000;
const M = 60 * S;

function store(): MemoryQueryable {
  const q = new MemoryQueryable();
  for (let i = 0; i < 5; i++) {
    const t = new Float64Array(61);
    const v = new Float64Array(61);
    for (let j = 0; j <= 60; j++) {
      t[j] = j * 15 * S;
      v[j] = j * (i + 1);
    }
    q.append(labelsFromObject({ __name__: 'x', job: i % 2 === 0 ? 'a' : 'b', instance: `i${i}` }), t, v);
  }
  return q;
}

async function fails(p: Promise<unknown>): Promise<QueryError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof QueryError) return e;
    throw e;
  }
  throw new Error('expected a QueryError');
}

class Recording implements Queryable {
  calls: { matchers: readonly Matcher[]; mint: number; maxt: number }[] = [];
  constructor(private readonly inner: Queryable) {}
  select(matchers: readonly Matcher[], mint: number, maxt: number): Promise<SeriesData[]> {
    this.calls.push({ matchers, mint, maxt });
    return this.inner.select(matchers, mint, maxt);
  }
  series = (...a: Parameters<Queryable['series']>) => this.inner.series(...a);
  labelNames = (...a: Parameters<Queryable['labelNames']>) => this.inner.labelNames(...a);
  labelValues = (...a: Parameters<Queryable['labelValues']>) => this.inner.labelValues(...a);
}

describe('PromQL engine', () => {
  it('asks the storage once per selector for the whole range it needs', async () => {
    const rec = new Recording(store());
    const e = new Engine(rec);
    await e.rangeQuery('rate(x[5m] offset 1m) + on(instance) x', 10 * M, 20 * M, 15 * S);
    expect(rec.calls).toHaveLength(2);
    expect(rec.calls[0]).toMatchObject({ mint: 10 * M - 6 * M, maxt: 20 * M - M });
    expect(rec.calls[1]).toMatchObject({ mint: 10 * M - 5 * M, maxt: 20 * M });
    rec.calls = [];
    let stats: { selects: number; samplesLoaded: number } | null = null;
    await e.instantQuery('max_over_time(x[10m:1m] @ 300)', 20 * M, { onStats: (s) => (stats = s) });
    expect(stats).toMatchObject({ selects: 1 });
    expect(rec.calls).toHaveLength(1);
    expect(rec.calls[0].maxt).toBe(300 * S);
    expect(rec.calls[0].mint).toBeLessThanOrEqual(300 * S - 10 * M - 5 * M);
  });

  it('shares one select between selectors with the same matchers and range', async () => {
    const rec = new Recording(store());
    const e = new Engine(rec);
    const alone = await new Engine(store()).rangeQuery('sum(x) / count(x)', 10 * M, 20 * M, 15 * S);
    let stats: { selects: number; samplesLoaded: number } | null = null;
    const r = await e.rangeQuery('sum(x) / count(x)', 10 * M, 20 * M, 15 * S, {
      onStats: (s) => (stats = s),
    });
    expect(rec.calls).toHaveLength(1);
    expect(r).toEqual(alone);
    const once = stats as unknown as { selects: number; samplesLoaded: number };
    expect(once.selects).toBe(1);
    rec.calls = [];
    await e.rangeQuery('sum(x)', 10 * M, 20 * M, 15 * S, { onStats: (s) => (stats = s) });
    expect((stats as unknown as { samplesLoaded: number }).samplesLoaded).toBe(once.samplesLoaded);
    // Different ranges or matchers still get their own select.
    rec.calls = [];
    await e.rangeQuery('sum(x) / count(x offset 1m) + count(x{job!=""})', 10 * M, 20 * M, 15 * S);
    expect(rec.calls).toHaveLength(3);
  });

  it('evaluates range queries: results sorted by labels, scalars as one series', async () => {
    const e = new Engine(store());
    const r = await e.rangeQuery('sum by (job) (x)', 0, 2 * M, M);
    expect(r.type).toBe('matrix');
    if (r.type !== 'matrix') return;
    expect(r.series.map((s) => s.labels)).toEqual([
      labelsFromObject({ job: 'a' }),
      labelsFromObject({ job: 'b' }),
    ]);
    // job a = instances 0, 2, 4: values j*(1+3+5) at j = 0, 4, 8
    expect([...r.series[0].v]).toEqual([0, 36, 72]);
    expect([...r.series[0].t]).toEqual([0, M, 2 * M]);
    const s = await e.rangeQuery('time() * 2', 0, M, 30 * S);
    expect(s).toMatchObject({ type: 'matrix', series: [{ labels: [] }] });
    if (s.type === 'matrix') expect([...s.series[0].v]).toEqual([0, 60, 120]);
  });

  it('returns strings, scalars and range vectors for instant queries', async () => {
    const e = new Engine(store());
    expect(await e.instantQuery('"hi"', 5 * S)).toEqual({ type: 'string', t: 5 * S, v: 'hi' });
    expect(await e.instantQuery('1 + 2', 5 * S)).toEqual({ type: 'scalar', t: 5 * S, v: 3 });
    const m = await e.instantQuery('x{instance="i0"}[1m]', 2 * M);
    expect(m.type).toBe('matrix');
    if (m.type === 'matrix') expect([...m.series[0].t]).toEqual([M, 75 * S, 90 * S, 105 * S, 2 * M]);
  });

  it('keeps stale markers in typed arrays and ends series at them', async () => {
    const q = new MemoryQueryable();
    const v = new Float64Array(3);
    v[0] = 1;
    v[1] = 2;
    new BigUint64Array(v.buffer)[2] = STALE_NAN_BITS;
    q.append(labelsFromObject({ __name__: 'y' }), Float64Array.from([0, 10 * S, 20 * S]), v);
    const raw = await q.select([{ type: '=', name: '__name__', value: 'y' }], 0, M);
    expect(isStaleNaN(raw[0].v[2])).toBe(true);
    const e = new Engine(q);
    expect(await e.instantQuery('y', 15 * S)).toMatchObject({ type: 'vector', samples: [{ v: 2 }] });
    expect(await e.instantQuery('y', 25 * S)).toEqual({ type: 'vector', samples: [] });
    expect(await e.instantQuery('count_over_time(y[1m])', 25 * S)).toMatchObject({ samples: [{ v: 2 }] });
  });

  it('reports parse errors as bad_data with the position', async () => {
    const e = new Engine(store());
    const err = await fails(e.instantQuery('sum(', 0));
    expect(err.kind).toBe('bad_data');
    expect(err.message).toBe('1:5: parse error: unclosed left parenthesis');
    const r = await fails(e.rangeQuery('x[5m]', 0, M, S));
    expect(r.kind).toBe('bad_data');
    expect(r.message).toBe(
      'invalid expression type "range vector" for range query, must be Scalar or instant Vector',
    );
  });

  it('reports evaluation errors as execution errors', async () => {
    const e = new Engine(store());
    const dup = await fails(e.instantQuery('x + on(job) x', 5 * M));
    expect(dup.kind).toBe('execution');
    expect(dup.message).toContain(
      'many-to-many matching not allowed: matching labels must be unique on one side',
    );
    const one = await fails(
      e.instantQuery('x + ignoring(instance) group_left sum by (job, instance) (x)', 5 * M),
    );
    expect(one.kind).toBe('execution');
    const lr = await fails(e.instantQuery('label_replace(x, "a-b", "", "", "")', 5 * M));
    expect(lr.message).toBe('invalid destination label name in label_replace(): a-b');
    const same = await fails(e.instantQuery('label_replace(x, "instance", "", "", "")', 5 * M));
    expect(same.message).toBe('vector cannot contain metrics with the same labelset');
  });

  it('enforces the max-samples limit with Prometheus error text', async () => {
    const e = new Engine(store(), { maxSamples: 100 });
    expect((await e.instantQuery('x', 5 * M)).type).toBe('vector');
    const err = await fails(e.rangeQuery('x', 0, 15 * M, 15 * S));
    expect(err.kind).toBe('execution');
    expect(err.message).toBe('query processing would load too many samples into memory in query execution');
    // Both sides of a binary operation are held at once: 5 series x 11 steps = 55 each, 110 together.
    const e2 = new Engine(store(), { maxSamples: 100 });
    expect((await e2.rangeQuery('x', 0, 10 * M, M)).type).toBe('matrix');
    expect((await fails(e2.rangeQuery('x + x', 0, 10 * M, M))).message).toBe(
      'query processing would load too many samples into memory in query execution',
    );
    const m = await fails(e.instantQuery('x[15m]', 15 * M));
    expect(m.message).toBe('query processing would load too many samples into memory in query execution');
  });

  it('times out and cancels cleanly', async () => {
    const slow: Queryable = {
      select: () => new Promise(() => {}),
      series: async () => [],
      labelNames: async () => [],
      labelValues: async () => [],
    };
    const e = new Engine(slow, { timeoutMs: 50 });
    const err = await fails(e.instantQuery('x', 0));
    expect(err.kind).toBe('timeout');
    expect(err.message).toBe('query timed out in expression evaluation');
    const ac = new AbortController();
    ac.abort();
    const c = await fails(new Engine(store()).instantQuery('x', 0, { signal: ac.signal }));
    expect(c.kind).toBe('canceled');
    // An abort while the storage is still answering ends the query at once.
    const ac2 = new AbortController();
    const pending = new Engine(slow).instantQuery('x', 0, { signal: ac2.signal });
    ac2.abort();
    expect((await fails(pending)).kind).toBe('canceled');
    // The engine keeps serving after failures.
    expect((await new Engine(store()).instantQuery('count(x)', 5 * M)).type).toBe('vector');
  });

  it('refuses over-deep queries with a clear error instead of overflowing the stack', async () => {
    const e = new Engine(store());
    const err = await fails(e.instantQuery(`${'('.repeat(5000)}1${')'.repeat(5000)}`, 0));
    expect(err.kind).toBe('bad_data');
    expect(err.message).toContain('query is too complex');
    const ok = await e.instantQuery(Array(200).fill('x').join(' + on(instance) '), 5 * M);
    expect(ok.type).toBe('vector');
    const long = await fails(e.instantQuery(Array(3000).fill('x').join(' + on(instance) '), 5 * M));
    expect(long.message).toContain('query is too complex');
  });

  it('topk/bottomk pick the same series in range queries as in instant queries (ties, NaN)', async () => {
    const q = new MemoryQueryable();
    for (let i = 0; i < 12; i++) {
      const t = new Float64Array(21);
      const v = new Float64Array(21);
      for (let j = 0; j <= 20; j++) {
        t[j] = j * 15 * S;
        v[j] = (i * 7 + j * 3) % 5 === 0 ? Number.NaN : ((i * 7 + j * 3) % 4) * (i % 3 === 0 ? 1 : 2);
      }
      q.append(labelsFromObject({ __name__: 'y', g: String(i % 2), i: String(i) }), t, v);
    }
    const e = new Engine(q);
    for (const query of ['topk(2, y)', 'bottomk(3, y)', 'topk by (g) (1, y)', 'bottomk by (g) (2, y)']) {
      const r = await e.rangeQuery(query, 0, 5 * M, 15 * S);
      if (r.type !== 'matrix') throw new Error('matrix expected');
      for (let t = 0; t <= 5 * M; t += 15 * S) {
        const inst = await e.instantQuery(query, t);
        if (inst.type !== 'vector') throw new Error('vector expected');
        const fromRange = r.series.filter((s) => s.t.includes(t)).map((s) => labelsKey(s.labels));
        expect(fromRange.sort(), `${query} at ${t}`).toEqual(
          inst.samples.map((s) => labelsKey(s.labels)).sort(),
        );
      }
    }
  });
});
