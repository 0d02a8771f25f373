// POST /api/v1/read: remote read with the sampled response type (snappy-compressed protobuf ReadResponse),
// as Prometheus serves it to another Prometheus or Thanos.
//
// message ReadRequest  { repeated Query queries = 1; repeated ResponseType accepted_response_types = 2; }
// message Query        { int64 start_timestamp_ms = 1; int64 end_timestamp_ms = 2; repeated LabelMatcher matchers = 3; ReadHints hints = 4; }
// message LabelMatcher { Type type = 1 (EQ, NEQ, RE, NRE); string name = 2; string value = 3; }
// message ReadResponse { repeated QueryResult results = 1; }   QueryResult { repeated TimeSeries timeseries = 1; }
import type { FastifyInstance } from 'fastify';
import snappy from 'snappy';
import type { AppContext, RouteInstaller } from '../http/app.js';
import { compareStrings, type Label, type Labels } from '../shared/labels.js';
import { compileAnchored, type Matcher, type MatchType } from '../shared/matchers.js';
import { ProtoError, ProtoReader, ProtoWriter, WIRE_LEN, WIRE_VARINT } from './protobuf.js';

export interface RemoteReadOptions {
  /** Labels added to every series returned (global.external_labels), unless the series has them. */
  readonly externalLabels?: () => Labels;
  /** Most samples one request may return (--storage.remote.read-sample-limit, default 5e7). */
  readonly sampleLimit?: number;
  readonly maxBodyBytes?: number;
}

export interface ReadQuery {
  start: number;
  end: number;
  matchers: Matcher[];
}

const MATCH_TYPES: readonly MatchType[] = ['=', '!=', '=~', '!~'];
const SAMPLES = 0;

export function decodeReadRequest(buf: Uint8Array): { queries: ReadQuery[]; acceptedTypes: number[] } {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const r = new ProtoReader(b);
  const queries: ReadQuery[] = [];
  const acceptedTypes: number[] = [];
  while (!r.done) {
    const k = r.key();
    if (k === ((1 << 3) | WIRE_LEN)) {
      const end = r.lenEnd();
      const q = new ProtoReader(b, r.pos, end);
      r.pos = end;
      const query: ReadQuery = { start: 0, end: 0, matchers: [] };
      while (!q.done) {
        const qk = q.key();
        if (qk === ((1 << 3) | WIRE_VARINT)) query.start = q.int64();
        else if (qk === ((2 << 3) | WIRE_VARINT)) query.end = q.int64();
        else if (qk === ((3 << 3) | WIRE_LEN)) {
          const mEnd = q.lenEnd();
          const m = new ProtoReader(b, q.pos, mEnd);
          q.pos = mEnd;
          let type = 0;
          let name = '';
          let value = '';
          while (!m.done) {
            const mk = m.key();
            if (mk === ((1 << 3) | WIRE_VARINT)) type = m.varint();
            else if (mk === ((2 << 3) | WIRE_LEN)) {
              const e = m.lenEnd();
              name = b.toString('utf8', m.pos, e);
              m.pos = e;
            } else if (mk === ((3 << 3) | WIRE_LEN)) {
              const e = m.lenEnd();
              value = b.toString('utf8', m.pos, e);
              m.pos = e;
            } else m.skip(mk & 7);
          }
          if (type >= MATCH_TYPES.length) throw new ProtoError(`unknown label matcher type ${type}`);
          query.matchers.push({ type: MATCH_TYPES[type], name, value });
        } else q.skip(qk & 7);
      }
      queries.push(query);
    } else if (k === ((2 << 3) | WIRE_VARINT)) {
      acceptedTypes.push(r.varint());
    } else if (k === ((2 << 3) | WIRE_LEN)) {
      // packed repeated enum
      const end = r.lenEnd();
      while (r.pos < end) acceptedTypes.push(r.varint());
    } else r.skip(k & 7);
  }
  return { queries, acceptedTypes };
}

function mergeExternal(labels: Labels, ext: Labels): Labels {
  if (ext.length === 0) return labels;
  const out: Label[] = [...labels];
  for (const e of ext) if (!labels.some((l) => l.name === e.name)) out.push(e);
  out.sort((a, b) => compareStrings(a.name, b.name));
  return out;
}

/** Drops matchers on external labels that the external value satisfies; false if one cannot match. */
function filterExternal(ms: readonly Matcher[], ext: Labels): Matcher[] | null {
  const out: Matcher[] = [];
  for (const m of ms) {
    const e = ext.find((l) => l.name === m.name);
    if (e === undefined) {
      out.push(m);
      continue;
    }
    let ok: boolean;
    switch (m.type) {
      case '=':
        ok = e.value === m.value;
        break;
      case '!=':
        ok = e.value !== m.value;
        break;
      case '=~':
        ok = compileAnchored(m.value).test(e.value);
        break;
      case '!~':
        ok = !compileAnchored(m.value).test(e.value);
        break;
    }
    if (!ok) return null;
  }
  return out;
}

export function remoteReadRoutes(o: RemoteReadOptions = {}): RouteInstaller {
  const sampleLimit = o.sampleLimit ?? 50_000_000;
  const maxBody = o.maxBodyBytes ?? 32 * 1024 * 1024;
  return (app: FastifyInstance, ctx: AppContext) => {
    app.register(async (sub) => {
      sub.removeAllContentTypeParsers();
      sub.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBody }, (_req, body, done) =>
        done(null, body),
      );
      for (const method of ['GET', 'PUT', 'DELETE', 'PATCH'] as const) {
        sub.route({
          method,
          url: '/api/v1/read',
          handler: (_req, reply) =>
            reply.code(405).type('text/plain; charset=utf-8').send('Method Not Allowed\n'),
        });
      }
      sub.post('/api/v1/read', { bodyLimit: maxBody }, async (req, reply) => {
        const fail = (code: number, msg: string) =>
          reply.code(code).type('text/plain; charset=utf-8').send(`${msg}\n`);
        if (!ctx.ready()) return fail(503, 'Service Unavailable');
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        let raw: Buffer;
        try {
          if (body.length === 0) throw new Error('empty');
          raw = snappy.uncompressSync(body, { asBuffer: true }) as Buffer;
        } catch {
          return fail(400, 'snappy: corrupt input');
        }
        let decoded: ReturnType<typeof decodeReadRequest>;
        try {
          decoded = decodeReadRequest(raw);
        } catch (e) {
          return fail(400, `proto: ReadRequest: ${(e as Error).message}`);
        }
        if (decoded.acceptedTypes.length > 0 && !decoded.acceptedTypes.includes(SAMPLES)) {
          return fail(400, 'unsupported response types: promshard serves only the SAMPLES response type');
        }
        const ext = o.externalLabels?.() ?? [];
        const w = new ProtoWriter(64 * 1024);
        let samples = 0;
        for (const q of decoded.queries) {
          for (const m of q.matchers) {
            if (m.type === '=~' || m.type === '!~') {
              try {
                compileAnchored(m.value);
              } catch (e) {
                return fail(
                  400,
                  `invalid regular expression ${JSON.stringify(m.value)}: ${(e as Error).message}`,
                );
              }
            }
          }
          const qr = w.begin(1);
          const ms = filterExternal(q.matchers, ext);
          if (ms !== null) {
            let data: Awaited<ReturnType<typeof ctx.opts.queryable.select>>;
            try {
              data = await ctx.opts.queryable.select(ms, q.start, q.end);
            } catch (e) {
              return fail(500, (e as Error).message);
            }
            for (const s of data) {
              samples += s.t.length;
              if (samples > sampleLimit) return fail(400, `exceeded sample limit (${sampleLimit})`);
              const ts = w.begin(1);
              for (const l of mergeExternal(s.labels, ext)) {
                const lm = w.begin(1);
                w.string(1, l.name);
                w.string(2, l.value);
                w.end(lm);
              }
              for (let i = 0; i < s.t.length; i++) {
                const sm = w.begin(2);
                w.doubleFrom(1, s.v, i);
                w.int64(2, s.t[i]);
                w.end(sm);
              }
              w.end(ts);
            }
          }
          w.end(qr);
        }
        const out = snappy.compressSync(Buffer.from(w.finish()));
        return reply
          .code(200)
          .header('Content-Type', 'application/x-protobuf')
          .header('Content-Encoding', 'snappy')
          .send(out);
      });
    });
  };
}
