// The byte-level query renderer (src/http/format.ts renderQueryResult) against the string forms it
// replaced (formatValue, formatTimestamp, labelsJson: checked against Prometheus 2.42 in
// http-format.test.ts), and the HTTP path that sends it: one Buffer for small answers, a stream of large
// chunks for big ones, gzip or not.

import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/http/app.js';
import {
  formatTimestamp,
  formatValue,
  jsonString,
  labelsJson,
  renderQueryBody,
  renderQueryResult,
  renderToString,
} from '../src/http/format.js';
import type { QueryValue } from '../src/promql/api.js';
import { Engine } from '../src/promql/engine.js';
import { type Labels, labelsFromObject } from '../src/shared/labels.js';
import { STALE_NAN } from '../src/shared/storage.js';
import { MemoryQueryable } from './support/memory-queryable.js';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values of every shape the fast paths distinguish: integers, short decimals, long ones, tiny, huge, bits. */
function values(n: number, seed: number): Float64Array {
  const r = rng(seed);
  const edge = [
    0,
    -0,
    Number.NaN,
    STALE_NAN,
    Infinity,
    -Infinity,
    1,
    -1,
    0.1,
    0.2,
    0.30000000000000004,
    1e-6,
    1e-7,
    9.99e-7,
    1.5e-6,
    0.000001234,
    123.456,
    1e15,
    1e15 + 0.5,
    999999999999999.9,
    99999999999999.98,
    2 ** 53,
    2 ** 53 - 1,
    -(2 ** 53),
    2 ** 60,
    1e21,
    1e20,
    1.7976931348623157e308,
    5e-324,
    12.345666666666666,
    1 / 3,
    2 / 3,
    100.5,
    4294967295,
    4294967296,
    4294967296.5,
    1e9,
    999999999,
    1000000000.25,
    -0.5,
    0.05,
  ];
  const out = new Float64Array(n + edge.length);
  out.set(edge);
  const bits = new Uint32Array(2);
  const f = new Float64Array(bits.buffer);
  for (let i = edge.length; i < out.length; i++) {
    const k = r();
    if (k < 0.2) out[i] = Math.round(r() * 1e6) / 10 ** Math.floor(r() * 8);
    else if (k < 0.4) out[i] = (r() - 0.5) * 10 ** (r() * 40 - 15);
    else if (k < 0.6) out[i] = Math.round((r() - 0.5) * 2 ** (r() * 60));
    else if (k < 0.7) {
      bits[0] = r() * 2 ** 32;
      bits[1] = r() * 2 ** 32;
      out[i] = f[0];
    } else if (k < 0.9) out[i] = Number((r() * 1000).toFixed(Math.floor(r() * 16)));
    else out[i] = Math.floor(r() * 1e12) / 1000;
  }
  return out;
}

function timestamps(n: number, seed: number): Float64Array {
  const r = rng(seed);
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const k = i % 4;
    t[i] =
      k === 0
        ? Math.round((r() - 0.3) * 2e15)
        : k === 1
          ? 1_700_000_000_000 + i * 15_000
          : k === 2
            ? r() * 2e12
            : [0, -1, 999, 1000, 1001, -1500, 2 ** 53, -(2 ** 60), 1e300][i % 9];
  }
  return t;
}

/** The answer as the string forms write it (what the renderer wrote before it wrote bytes). */
function expected(value: QueryValue, warnings: readonly string[] = []): string {
  let s = `{"status":"success","data":{"resultType":"${value.type}","result":`;
  if (value.type === 'vector') {
    s += `[${value.samples
      .map(
        (x) => `{"metric":${labelsJson(x.labels)},"value":[${formatTimestamp(x.t)},"${formatValue(x.v)}"]}`,
      )
      .join(',')}]`;
  } else if (value.type === 'matrix') {
    s += `[${value.series
      .map((x) => {
        const pts: string[] = [];
        for (let j = 0; j < x.t.length; j++)
          pts.push(`[${formatTimestamp(x.t[j])},"${formatValue(x.v[j])}"]`);
        return `{"metric":${labelsJson(x.labels)},"values":[${pts.join(',')}]}`;
      })
      .join(',')}]`;
  } else throw new Error('scalars and strings are checked in http-format.test.ts');
  s += '}';
  if (warnings.length > 0) s += `,"warnings":[${warnings.map(jsonString).join(',')}]`;
  return `${s}}`;
}

const odd: Labels = labelsFromObject({ __name__: 'm', a: 'x<y>&"z"\\\n\t\u2028\u2029é€😀', b: '' });

describe('renderQueryResult writes the bytes the string forms write', () => {
  it('matrix: 200k values and timestamps of every kind, in many chunks', () => {
    const n = 200_000;
    const series = [
      { labels: odd, t: timestamps(n, 1), v: values(n - 41, 2) },
      { labels: labelsFromObject({ __name__: 'm', i: '1' }), t: new Float64Array(0), v: new Float64Array(0) },
      { labels: [] as Labels, t: timestamps(3, 3), v: values(0, 4).subarray(0, 3) },
    ];
    const value: QueryValue = { type: 'matrix', series };
    const chunks = [...renderQueryResult(value, ['w<1>', 'é'])];
    expect(chunks.length).toBeGreaterThan(10);
    expect(renderToString(chunks)).toBe(expected(value, ['w<1>', 'é']));
  });

  it('vector: values, timestamps and label sets with escapes and long values', () => {
    const n = 20_000;
    const t = timestamps(n, 5);
    const v = values(n, 6);
    const long = 'v'.repeat(700_000);
    const samples = Array.from({ length: n }, (_, i) => ({
      labels:
        i % 1000 === 0
          ? odd
          : i === 17
            ? labelsFromObject({ __name__: 'big', x: long })
            : labelsFromObject({ __name__: 'm', i: String(i), j: 'é'.repeat(i % 5) }),
      t: t[i],
      v: v[i],
    }));
    const value: QueryValue = { type: 'vector', samples };
    expect(renderToString(renderQueryResult(value))).toBe(expected(value));
    expect(renderToString(renderQueryResult({ type: 'vector', samples: [] }))).toBe(
      '{"status":"success","data":{"resultType":"vector","result":[]}}',
    );
  });

  it('renderQueryBody: one Buffer for a small answer, a stream of the same bytes for a large one', async () => {
    const small: QueryValue = { type: 'vector', samples: [{ labels: odd, t: 1500, v: 0.25 }] };
    const b = renderQueryBody(small);
    expect(Buffer.isBuffer(b)).toBe(true);
    expect(b.toString()).toBe(expected(small));
    const n = 50_000;
    const large: QueryValue = {
      type: 'matrix',
      series: [{ labels: odd, t: timestamps(n, 7), v: values(n - 41, 8) }],
    };
    const s = renderQueryBody(large);
    expect(s).toBeInstanceOf(Readable);
    const parts: Buffer[] = [];
    for await (const c of s as Readable) parts.push(c as Buffer);
    expect(parts.length).toBeGreaterThan(1);
    expect(Buffer.concat(parts).toString()).toBe(expected(large));
  });
});

describe('query answers over HTTP (real engine, real server)', () => {
  let app: FastifyInstance;
  let base: string;
  const store = new MemoryQueryable();
  const T = 1_700_000_000_000;
  const engine = new Engine(store);

  beforeAll(async () => {
    const r = rng(9);
    for (let i = 0; i < 2000; i++) {
      const t = new Float64Array(300);
      const v = new Float64Array(300);
      let x = 0;
      for (let j = 0; j < 300; j++) {
        t[j] = T + j * 15_000;
        x += i % 2 === 0 ? Math.floor(r() * 100) : r() * 7;
        v[j] = x;
      }
      store.append(labelsFromObject({ __name__: 'x', job: `job-${i % 10}`, instance: `inst-${i}` }), t, v);
    }
    app = buildApp({ queryable: store, engine });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app?.close();
  });

  async function post(
    query: string,
    gzip: boolean,
  ): Promise<{ enc: string | undefined; len: string | null; text: string }> {
    const body = new URLSearchParams({
      query,
      start: String(T / 1000 + 300),
      end: String(T / 1000 + 3900),
      step: '15',
    });
    const { request } = await import('undici');
    const res = await request(`${base}/api/v1/query_range`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'accept-encoding': gzip ? 'gzip' : 'identity',
      },
      body: body.toString(),
    });
    const raw = Buffer.from(await res.body.arrayBuffer());
    const enc = res.headers['content-encoding'] as string | undefined;
    const len = (res.headers['content-length'] as string | undefined) ?? null;
    return { enc, len, text: (enc === 'gzip' ? gunzipSync(raw) : raw).toString() };
  }

  it.each([
    ['sum by (job) (rate(x[5m]))', false],
    ['x', true],
    ['rate(x[5m])', true],
  ])('%s (large: %s) answers the engine result rendered, plain and gzipped', async (q, large) => {
    const value = await engine.rangeQuery(q, T + 300_000, T + 3_900_000, 15_000);
    const want = expected(value);
    expect(want.length > 512 * 1024).toBe(large);
    const plain = await post(q, false);
    expect(plain.enc).toBeUndefined();
    expect(plain.text).toBe(want);
    // A small answer is sent whole, with its length; a large one streams (chunked).
    expect(plain.len).toBe(large ? null : String(Buffer.byteLength(want)));
    const gz = await post(q, true);
    expect(gz.enc).toBe('gzip');
    expect(gz.text).toBe(want);
  });
});
