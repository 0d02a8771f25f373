import type { FastifyInstance } from 'fastify';
import snappy from 'snappy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/http/app.js';
import { federateRoutes } from '../src/http/federate.js';
import { formatValueG } from '../src/http/format.js';
import { ProtoReader, ProtoWriter } from '../src/remote/protobuf.js';
import { decodeReadRequest, remoteReadRoutes } from '../src/remote/read-handler.js';
import {
  DEFAULT_WRITE_LIMITS as DEFAULT_LIMITS,
  decodeWriteRequest,
  WriteDecoder,
} from '../src/remote/write-decode.js';
import { encodeWriteRequest } from '../src/remote/write-encode.js';
import { remoteWriteRoutes } from '../src/remote/write-handler.js';
import { NO_REF } from '../src/shared/ingest.js';
import { labelsFromObject } from '../src/shared/labels.js';
import { isStaleNaN, STALE_NAN } from '../src/shared/storage.js';
import { FakeEngine, FakeStorage } from './support/http-fakes.js';

const NOW = 1_700_000_000_000;

function lbl(o: Record<string, string>) {
  return labelsFromObject(o);
}

/** `v` entries equal to the string 'stale' become stale markers (a plain array would lose their bits). */
function write(series: { labels: Record<string, string>; t: number[]; v: (number | 'stale')[] }[]): Buffer {
  const cols = series.map((s) => {
    const v = new Float64Array(s.v.length);
    s.v.forEach((x, i) => {
      v[i] = x === 'stale' ? STALE_NAN : x;
    });
    return { labels: lbl(s.labels), t: Float64Array.from(s.t), v };
  });
  return snappy.compressSync(Buffer.from(encodeWriteRequest(cols)));
}

/** Raw protobuf of one series whose labels are given as raw byte pairs (for invalid names and UTF-8). */
function rawSeries(labels: [Uint8Array | string, Uint8Array | string][], t: number[], v: number[]): Buffer {
  const w = new ProtoWriter();
  const ts = w.begin(1);
  for (const [n, val] of labels) {
    const lm = w.begin(1);
    w.bytes(1, typeof n === 'string' ? Buffer.from(n) : n);
    w.bytes(2, typeof val === 'string' ? Buffer.from(val) : val);
    w.end(lm);
  }
  for (let i = 0; i < t.length; i++) {
    const sm = w.begin(2);
    w.double(1, v[i]);
    w.int64(2, t[i]);
    w.end(sm);
  }
  w.end(ts);
  return Buffer.from(w.finish());
}

describe('WriteRequest decoding', () => {
  it('decodes a hand-written WriteRequest byte for byte', () => {
    // timeseries { labels { name: "__name__" value: "up" } samples { value: 1.5 timestamp: 1000 } }
    const label = [0x0a, 8, ...Buffer.from('__name__'), 0x12, 2, ...Buffer.from('up')];
    const value = Buffer.alloc(8);
    value.writeDoubleLE(1.5);
    const sample = [0x09, ...value, 0x10, 0xe8, 0x07];
    const ts = [0x0a, label.length, ...label, 0x12, sample.length, ...sample];
    const req = Buffer.from([0x0a, ts.length, ...ts]);
    const d = decodeWriteRequest(req);
    expect(d.request.series).toEqual([['__name__', 'up']]);
    expect([...d.request.sampleStart]).toEqual([0, 1]);
    expect([...d.request.t]).toEqual([1000]);
    expect([...d.request.v]).toEqual([1.5]);
    expect(d.refusedSeries).toBe(0);
  });

  it('round-trips columns with stale markers, negative times and many series', () => {
    const series = Array.from({ length: 50 }, (_, i) => ({
      labels: lbl({ __name__: 'm', i: String(i), job: 'j' }),
      t: Float64Array.from({ length: i % 7 }, (_, k) => -5000 + k * 15_000),
      v: Float64Array.from({ length: i % 7 }, (_, k) => (k === 3 ? STALE_NAN : k * 0.1 - i)),
    }));
    const d = decodeWriteRequest(encodeWriteRequest(series));
    const nonEmpty = series.filter((s) => s.t.length > 0);
    expect(d.request.series.length).toBe(nonEmpty.length);
    let k = 0;
    nonEmpty.forEach((s, i) => {
      expect(d.request.series[i]).toEqual(s.labels.flatMap((l) => [l.name, l.value]));
      for (let j = 0; j < s.t.length; j++, k++) {
        expect(d.request.t[k]).toBe(s.t[j]);
        if (j === 3) expect(isStaleNaN(d.request.v[k])).toBe(true);
        else expect(d.request.v[k]).toBe(s.v[j]);
      }
    });
    expect(d.request.sampleStart[d.request.series.length]).toBe(k);
  });

  it('refuses bad series and keeps the good ones', () => {
    const body = Buffer.concat([
      rawSeries([['__name__', 'ok']], [1], [1]),
      rawSeries([], [1], [1]),
      rawSeries([['job', '']], [1], [1]),
      rawSeries(
        [
          ['a', '1'],
          ['a', '2'],
        ],
        [1],
        [1],
      ),
      rawSeries([['', 'x']], [1], [1]),
      rawSeries([['a-b', 'x']], [1], [1]),
      rawSeries([['a', Uint8Array.of(0xff, 0xfe)]], [1], [1]),
      rawSeries([[Uint8Array.of(0xc3, 0x28), 'x']], [1], [1]),
      rawSeries([['__name__', 'ok2']], [2, 3], [1, 2]),
    ]);
    const d = decodeWriteRequest(body);
    expect(d.request.series).toEqual([
      ['__name__', 'ok'],
      ['__name__', 'ok2'],
    ]);
    expect([...d.request.t]).toEqual([1, 2, 3]);
    expect(d.refusedSeries).toBe(7);
    expect(d.refusedSamples).toBe(7);
    expect(d.errors).toEqual([
      'series has no labels',
      'series has no labels',
      'duplicate label name "a"',
      'empty label name',
      'invalid label name: "a-b"',
    ]);
  });

  it('caches decoded label arrays between requests, never bad ones', () => {
    const dec = new WriteDecoder({ maxLabelsPerSeries: 10 }, 2);
    const body = Buffer.concat([
      rawSeries(
        [
          ['__name__', 'a'],
          ['job', 'x'],
        ],
        [1],
        [1],
      ),
      rawSeries(
        [
          ['a', '1'],
          ['a', '2'],
        ],
        [1],
        [1],
      ),
      rawSeries([['__name__', 'b']], [2], [2]),
    ]);
    const first = dec.decode(body);
    const second = dec.decode(body);
    expect(second.request.series[0]).toBe(first.request.series[0]);
    expect(second.request.series[1]).toBe(first.request.series[1]);
    expect(second.errors).toEqual(['duplicate label name "a"']);
    expect(dec.cachedSeries).toBe(2);
    // Labels interleaved with samples are still decoded (without the cache).
    const w = new ProtoWriter();
    const ts = w.begin(1);
    const l1 = w.begin(1);
    w.string(1, '__name__');
    w.string(2, 'mixed');
    w.end(l1);
    const s1 = w.begin(2);
    w.double(1, 3);
    w.int64(2, 5);
    w.end(s1);
    const l2 = w.begin(1);
    w.string(1, 'job');
    w.string(2, 'j');
    w.end(l2);
    w.end(ts);
    const mixed = dec.decode(w.finish());
    expect(mixed.request.series).toEqual([['__name__', 'mixed', 'job', 'j']]);
    expect([...mixed.request.t, ...mixed.request.v]).toEqual([5, 3]);
    // A sample with fields in the other order and an unknown field.
    const w2 = new ProtoWriter();
    const ts2 = w2.begin(1);
    const l3 = w2.begin(1);
    w2.string(1, '__name__');
    w2.string(2, 'rev');
    w2.end(l3);
    const s2 = w2.begin(2);
    w2.int64(2, -7);
    w2.int64(9, 1);
    w2.double(1, 0.5);
    w2.end(s2);
    w2.end(ts2);
    const rev = dec.decode(w2.finish());
    expect([...rev.request.t, ...rev.request.v]).toEqual([-7, 0.5]);
  });

  it('sends series the storage knows by their refs alone, once it answered them', () => {
    const dec = new WriteDecoder({ maxLabelsPerSeries: 10 }, 2);
    const one = (name: string) => rawSeries([['__name__', name]], [1], [1]);
    const body = Buffer.concat([one('a'), one('b')]);
    const first = dec.decode(body, false);
    expect(first.request.series).toEqual([
      ['__name__', 'a'],
      ['__name__', 'b'],
    ]);
    expect([...first.request.refs!]).toEqual([NO_REF, NO_REF]);
    dec.learn(first, Float64Array.of(7, NO_REF));
    const second = dec.decode(body, false);
    expect(second.request.series).toEqual([[], ['__name__', 'b']]);
    expect([...second.request.refs!]).toEqual([7, NO_REF]);
    // An appendable that needs labels (a remote_write tee) still gets them, and no refs.
    const labelled = dec.decode(body);
    expect(labelled.request.series).toEqual([
      ['__name__', 'a'],
      ['__name__', 'b'],
    ]);
    expect(labelled.request.refs).toBeUndefined();
    // The cache was cleared since (a third series in a 2-entry cache): refs learned before are not filed.
    const stale = dec.decode(body, false);
    dec.decode(one('c'), false);
    dec.learn(stale, Float64Array.of(9, 9));
    expect([...dec.decode(body, false).request.refs!]).toEqual([NO_REF, NO_REF]);
  });

  it('decodes random requests exactly, with and without the cache, and refuses random garbage cleanly', () => {
    let seed = 42;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const dec = new WriteDecoder(DEFAULT_LIMITS, 64);
    for (let iter = 0; iter < 200; iter++) {
      const series = Array.from({ length: 1 + Math.floor(rnd() * 20) }, (_, i) => {
        const n = Math.floor(rnd() * 5);
        const t = Float64Array.from({ length: n }, () =>
          rnd() < 0.2 ? -Math.floor(rnd() * 1e12) : Math.floor(rnd() * (rnd() < 0.1 ? 2 ** 52 : 2e12)),
        );
        const v = Float64Array.from({ length: n }, () => (rnd() < 0.1 ? STALE_NAN : (rnd() - 0.5) * 1e6));
        const labels = labelsFromObject({
          __name__: `m${Math.floor(rnd() * 5)}`,
          i: String(i),
          ...(rnd() < 0.3 ? { u: 'ünïcødé ✓ 日本'.slice(0, 1 + Math.floor(rnd() * 10)) } : {}),
          ...(rnd() < 0.2 ? { long: 'x'.repeat(Math.floor(rnd() * 300)) } : {}),
        });
        return { labels, t, v };
      });
      const body = encodeWriteRequest(series);
      const a = decodeWriteRequest(body);
      const b = dec.decode(body);
      const c = dec.decode(body);
      for (const d of [b, c]) {
        expect(d.request.series).toEqual(a.request.series);
        expect(Buffer.from(d.request.t.buffer, d.request.t.byteOffset, d.request.t.byteLength)).toEqual(
          Buffer.from(a.request.t.buffer, a.request.t.byteOffset, a.request.t.byteLength),
        );
        expect(Buffer.from(d.request.v.buffer, d.request.v.byteOffset, d.request.v.byteLength)).toEqual(
          Buffer.from(a.request.v.buffer, a.request.v.byteOffset, a.request.v.byteLength),
        );
      }
      const nonEmpty = series.filter((x) => x.t.length > 0);
      expect(a.request.series).toEqual(nonEmpty.map((x) => x.labels.flatMap((l) => [l.name, l.value])));
      expect([...a.request.t]).toEqual(nonEmpty.flatMap((x) => [...x.t]));
      // Truncations and byte flips: a ProtoError or a decode, never anything else.
      const cut = body.subarray(0, Math.floor(rnd() * body.length));
      const flipped = Uint8Array.from(body);
      flipped[Math.floor(rnd() * flipped.length)] ^= 1 << Math.floor(rnd() * 8);
      for (const bad of [cut, flipped]) {
        try {
          dec.decode(bad);
        } catch (e) {
          expect((e as Error).name).toBe('ProtoError');
        }
      }
    }
  });

  it('limits labels per series', () => {
    const labels = Array.from({ length: 12 }, (_, i) => [`l${i}`, 'v'] as [string, string]);
    const d = decodeWriteRequest(rawSeries(labels, [1], [1]), { maxLabelsPerSeries: 10 });
    expect(d.errors).toEqual(['series has 12 labels, more than the limit of 10']);
  });

  it.each([
    ['truncated', Buffer.from([0x0a, 0x05, 0x0a])],
    ['bad wire type', Buffer.from([0x0f, 0x01])],
    ['zero tag', Buffer.from([0x00])],
    [
      'overlong varint',
      Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
    ],
    ['sample with short double', Buffer.from([0x0a, 0x04, 0x12, 0x02, 0x09, 0x01])],
  ])('throws a ProtoError for %s', (_name, buf) => {
    expect(() => decodeWriteRequest(buf)).toThrow(/EOF|illegal|overflow/);
  });
});

describe('remote write, remote read and federation over HTTP', () => {
  let storage: FakeStorage;
  let app: FastifyInstance;
  let off: FastifyInstance;
  let base: string;
  let offBase: string;

  beforeAll(async () => {
    storage = new FakeStorage();
    const ext = () => lbl({ cluster: 'c1' });
    app = buildApp({
      queryable: storage,
      engine: new FakeEngine(storage),
      appendable: storage,
      now: () => NOW,
      routes: [
        remoteWriteRoutes({ enabled: true, maxBodyBytes: 1 << 20, limits: { maxLabelsPerSeries: 30 } }),
        remoteReadRoutes({ externalLabels: ext }),
        federateRoutes({ externalLabels: ext }),
      ],
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    off = buildApp({
      queryable: storage,
      engine: new FakeEngine(storage),
      routes: [remoteWriteRoutes({ enabled: false })],
    });
    await off.listen({ host: '127.0.0.1', port: 0 });
    offBase = `http://127.0.0.1:${(off.server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await app?.close();
    await off?.close();
  });

  async function post(
    body: Uint8Array | string,
    headers: Record<string, string> = {},
    url = '/api/v1/write',
  ) {
    const res = await fetch(base + url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', ...headers },
      body,
    });
    return { status: res.status, text: await res.text() };
  }

  it('stores a request and answers 204', async () => {
    const r = await post(
      write([
        { labels: { __name__: 'rw_test', job: 'a' }, t: [NOW - 30_000, NOW - 15_000], v: [1, 2] },
        { labels: { __name__: 'rw_test', job: 'b' }, t: [NOW - 15_000], v: ['stale'] },
      ]),
    );
    expect(r).toEqual({ status: 204, text: '' });
    const q = (await (await fetch(`${base}/api/v1/query?query=rw_test`)).json()) as {
      data: { result: unknown };
    };
    expect(q.data.result).toEqual([{ metric: { __name__: 'rw_test', job: 'a' }, value: [NOW / 1000, '2'] }]);
    const all = await storage.select([{ type: '=', name: 'job', value: 'b' }], 0, NOW);
    expect(isStaleNaN(all[0].v[0])).toBe(true);
  });

  it('accepts what 2.42 accepts: empty requests, no samples, no __name__, unsorted labels, no headers', async () => {
    expect((await post(snappy.compressSync(Buffer.alloc(0)))).status).toBe(204);
    expect((await post(snappy.compressSync(rawSeries([['__name__', 'nosamples']], [], [])))).status).toBe(
      204,
    );
    expect((await post(write([{ labels: { job: 'noname' }, t: [NOW], v: [1] }]))).status).toBe(204);
    const unsorted = snappy.compressSync(
      rawSeries(
        [
          ['z', '1'],
          ['__name__', 'unsorted'],
          ['a', '2'],
        ],
        [NOW],
        [5],
      ),
    );
    const res = await fetch(`${base}/api/v1/write`, { method: 'POST', body: unsorted });
    expect(res.status).toBe(204);
    const s = await storage.series([[{ type: '=', name: '__name__', value: 'unsorted' }]], 0, NOW);
    expect(s).toEqual([lbl({ __name__: 'unsorted', a: '2', z: '1' })]);
  });

  it('answers 400 for refused samples and still stores the valid ones', async () => {
    await post(write([{ labels: { __name__: 'ooo', job: 'x' }, t: [NOW], v: [1] }]));
    const r = await post(
      write([
        { labels: { __name__: 'ooo', job: 'x' }, t: [NOW - 60_000], v: [9] },
        { labels: { __name__: 'ooo', job: 'y' }, t: [NOW - 60_000, NOW], v: [1, 2] },
      ]),
    );
    expect(r.status).toBe(400);
    expect(r.text).toBe('out of order sample (1 samples refused, 2 appended)\n');
    const y = await storage.select([{ type: '=', name: 'job', value: 'y' }], 0, NOW);
    expect([...y[0].v]).toEqual([1, 2]);
    const dup = await post(write([{ labels: { __name__: 'ooo', job: 'x' }, t: [NOW], v: [7] }]));
    expect(dup).toEqual({
      status: 400,
      text: 'duplicate sample for timestamp (1 samples refused, 0 appended)\n',
    });
    expect((await post(write([{ labels: { __name__: 'ooo', job: 'x' }, t: [NOW], v: [1] }]))).status).toBe(
      204,
    );
  });

  it('answers 400 for bad labels (2.42 answers 500) while storing the rest', async () => {
    const body = Buffer.concat([
      rawSeries([], [NOW], [1]),
      rawSeries(
        [
          ['a', '1'],
          ['a', '2'],
        ],
        [NOW],
        [1],
      ),
      rawSeries([['a-b', '1']], [NOW], [1]),
      rawSeries([['a', Uint8Array.of(0xff)]], [NOW], [1]),
      rawSeries([['__name__', 'good_one']], [NOW], [1]),
    ]);
    const r = await post(snappy.compressSync(body));
    expect(r).toEqual({ status: 400, text: 'series has no labels (4 samples refused, 1 appended)\n' });
    expect(await storage.series([[{ type: '=', name: '__name__', value: 'good_one' }]], 0, NOW)).toHaveLength(
      1,
    );
  });

  it('answers malformed bodies with 400 and Prometheus texts', async () => {
    expect(await post(Buffer.alloc(0))).toEqual({ status: 400, text: 'snappy: corrupt input\n' });
    expect(await post('hello, this is not snappy')).toEqual({ status: 400, text: 'snappy: corrupt input\n' });
    expect(await post(snappy.compressSync(Buffer.from([0x0a, 0x05, 0x0a])))).toEqual({
      status: 400,
      text: 'proto: WriteRequest: unexpected EOF\n',
    });
    const huge = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0]);
    expect((await post(huge)).text).toMatch(/^snappy: decoded block is too large/);
    expect((await post(Buffer.alloc(2 << 20, 1))).status).toBe(413);
    const labels = Array.from({ length: 31 }, (_, i) => [`l${i}`, 'v'] as [string, string]);
    expect((await post(snappy.compressSync(rawSeries(labels, [NOW], [1])))).text).toMatch(
      /more than the limit of 30/,
    );
  });

  it('answers 405 on GET, 404 when disabled, 500 when storage fails', async () => {
    expect((await fetch(`${base}/api/v1/write`)).status).toBe(405);
    const off404 = await fetch(`${offBase}/api/v1/write`, { method: 'POST', body: write([]) });
    expect(off404.status).toBe(404);
    storage.failAppends = 1;
    const r = await post(write([{ labels: { __name__: 'fails' }, t: [NOW], v: [1] }]));
    expect(r.status).toBe(500);
    expect((await post(write([{ labels: { __name__: 'fails' }, t: [NOW], v: [1] }]))).status).toBe(204);
  });

  it('serves remote read (sampled) with external labels', async () => {
    const w = new ProtoWriter();
    const q = w.begin(1);
    w.int64(1, NOW - 60_000);
    w.int64(2, NOW);
    const m = w.begin(3);
    w.int64(1, 0);
    w.string(2, '__name__');
    w.string(3, 'rw_test');
    w.end(m);
    const m2 = w.begin(3);
    w.int64(1, 0);
    w.string(2, 'cluster');
    w.string(3, 'c1');
    w.end(m2);
    w.end(q);
    const q2 = w.begin(1);
    w.int64(2, NOW);
    const m3 = w.begin(3);
    w.int64(1, 0);
    w.string(2, 'cluster');
    w.string(3, 'other');
    w.end(m3);
    w.end(q2);
    const reqBuf = Buffer.from(w.finish());
    expect(decodeReadRequest(reqBuf).queries).toHaveLength(2);
    const res = await fetch(`${base}/api/v1/read`, { method: 'POST', body: snappy.compressSync(reqBuf) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-encoding')).toBe('snappy');
    const raw = snappy.uncompressSync(Buffer.from(await res.arrayBuffer()), { asBuffer: true }) as Buffer;
    // ReadResponse.results[i].timeseries has the WriteRequest.timeseries layout: decode it with that decoder.
    const r = new ProtoReader(raw);
    const results: Buffer[] = [];
    while (!r.done) {
      r.key();
      const end = r.lenEnd();
      results.push(raw.subarray(r.pos, end));
      r.pos = end;
    }
    expect(results).toHaveLength(2);
    const d = decodeWriteRequest(results[0]);
    expect(d.request.series).toEqual([
      ['__name__', 'rw_test', 'cluster', 'c1', 'job', 'a'],
      ['__name__', 'rw_test', 'cluster', 'c1', 'job', 'b'],
    ]);
    expect([...d.request.t]).toEqual([NOW - 30_000, NOW - 15_000, NOW - 15_000]);
    expect(isStaleNaN(d.request.v[2])).toBe(true);
    expect(results[1].length).toBe(0);
    const bad = await fetch(`${base}/api/v1/read`, { method: 'POST', body: 'junk' });
    expect([bad.status, await bad.text()]).toEqual([400, 'snappy: corrupt input\n']);
  });

  it('federates the latest sample per series in text format 0.0.4', async () => {
    await post(
      write([
        {
          labels: { __name__: 'fed_b', instance: 'i1' },
          t: [NOW - 20_000, NOW - 10_000],
          v: [1, 5.5578624e7],
        },
        {
          labels: { __name__: 'fed_a', path: 'q"x\\y\nz' },
          t: [NOW - 10_000],
          v: [Number.POSITIVE_INFINITY],
        },
        { labels: { __name__: 'fed_a', cluster: 'mine' }, t: [NOW - 10_000], v: [0.25] },
        { labels: { __name__: 'fed_old' }, t: [NOW - 600_000], v: [1] },
        { labels: { __name__: 'fed_stale' }, t: [NOW - 10_000], v: ['stale'] },
      ]),
    );
    const res = await fetch(`${base}/federate?match[]=${encodeURIComponent('{__name__=~"fed_.*"}')}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await res.text()).toBe(
      [
        '# TYPE fed_a untyped',
        `fed_a{cluster="mine"} 0.25 ${NOW - 10_000}`,
        `fed_a{cluster="c1",path="q\\"x\\\\y\\nz"} +Inf ${NOW - 10_000}`,
        '# TYPE fed_b untyped',
        `fed_b{cluster="c1",instance="i1"} 5.5578624e+07 ${NOW - 10_000}`,
        '',
      ].join('\n'),
    );
    expect(await (await fetch(`${base}/federate`)).text()).toBe('');
    const bad = await fetch(`${base}/federate?match[]=${encodeURIComponent('{')}`);
    expect([bad.status, await bad.text()]).toEqual([
      400,
      '1:2: parse error: unexpected end of input inside braces\n',
    ]);
  });

  it('formats federation values as Go %g', () => {
    expect(
      [1e6, 999999, 20000, 0.23, 1e-5, 0.0001, 1.8446744073709552e19, -0, Number.NaN, 1795537357869].map(
        formatValueG,
      ),
    ).toEqual([
      '1e+06',
      '999999',
      '20000',
      '0.23',
      '1e-05',
      '0.0001',
      '1.8446744073709552e+19',
      '-0',
      'NaN',
      '1.795537357869e+12',
    ]);
  });
});
