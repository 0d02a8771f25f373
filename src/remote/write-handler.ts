// POST /api/v1/write: the remote-write 1.0 receiver. Answers as Prometheus 2.42 does (204; 400 with a
// plain-text line; 405 on GET) except where we do better: every valid sample of a request is stored even
// when others are refused, and bad labels (none, duplicates, invalid names, invalid UTF-8) are a 400, not
// a 500 that makes senders retry forever. Only storage failures are 5xx (retryable).
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { Counter } from 'prom-client';
import snappy from 'snappy';
import type { AppContext, RouteInstaller } from '../http/app.js';
import { type AppendOutcome, emptyOutcome } from '../shared/ingest.js';
import { ProtoError } from './protobuf.js';
import { DEFAULT_WRITE_LIMITS, type WriteDecodeLimits, WriteDecoder } from './write-decode.js';

export interface RemoteWriteOptions {
  readonly enabled: boolean;
  /** Largest compressed body (413 beyond). */
  readonly maxBodyBytes?: number;
  /** Largest decompressed body, checked from snappy's length header before decompressing. */
  readonly maxDecompressedBytes?: number;
  readonly limits?: WriteDecodeLimits;
  /** Series whose decoded labels are remembered between requests (two generations of this size). */
  readonly seriesCacheSize?: number;
  readonly registry?: Registry;
}

const TEXT = 'text/plain; charset=utf-8';

/** The uncompressed length a snappy block announces (a uvarint prefix), or -1 when unreadable. */
export function snappyDecodedLength(b: Uint8Array): number {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 5 && i < b.length; i++) {
    v += (b[i] & 0x7f) * mul;
    if (b[i] < 0x80) return v;
    mul *= 128;
  }
  return -1;
}

/** The 400 message for the refusals of an append, Prometheus' texts first. */
export function refusalMessage(
  o: AppendOutcome,
  decodeErrors: readonly string[],
  refusedSamples: number,
): string {
  const refused = o.outOfOrder + o.duplicateTimestamp + o.outOfBounds + o.tooFarInFuture + refusedSamples;
  let reason: string;
  if (decodeErrors.length > 0) reason = decodeErrors[0];
  else if (o.outOfOrder > 0) reason = 'out of order sample';
  else if (o.duplicateTimestamp > 0) reason = 'duplicate sample for timestamp';
  else if (o.outOfBounds > 0) reason = 'out of bounds';
  else if (o.tooFarInFuture > 0) reason = 'sample timestamp too far in the future';
  else if (o.errors.length > 0) reason = o.errors[0];
  else reason = 'invalid series';
  return `${reason} (${refused} samples refused, ${o.appended} appended)`;
}

export function remoteWriteRoutes(o: RemoteWriteOptions): RouteInstaller {
  const limits = o.limits ?? DEFAULT_WRITE_LIMITS;
  const decoder = new WriteDecoder(limits, o.seriesCacheSize ?? 1 << 20);
  const maxBody = o.maxBodyBytes ?? 32 * 1024 * 1024;
  const maxDecoded = o.maxDecompressedBytes ?? 128 * 1024 * 1024;
  const counters = o.registry
    ? {
        samples: new Counter({
          name: 'promshard_remote_write_samples_total',
          help: 'Samples received by the remote-write receiver, by result.',
          labelNames: ['result'],
          registers: [o.registry],
        }),
        requests: new Counter({
          name: 'promshard_remote_write_requests_total',
          help: 'Remote-write requests received, by HTTP status.',
          labelNames: ['code'],
          registers: [o.registry],
        }),
      }
    : undefined;

  return (app: FastifyInstance, ctx: AppContext) => {
    app.register(async (sub) => {
      // Bodies are bytes whatever their Content-Type (2.42 accepts requests without headers).
      sub.removeAllContentTypeParsers();
      sub.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBody }, (_req, body, done) =>
        done(null, body),
      );
      for (const method of ['GET', 'PUT', 'DELETE', 'PATCH'] as const) {
        sub.route({
          method,
          url: '/api/v1/write',
          handler: (_req, reply) => reply.code(405).type(TEXT).send('Method Not Allowed\n'),
        });
      }
      sub.post('/api/v1/write', { bodyLimit: maxBody }, async (req, reply) => {
        const answer = (code: number, msg?: string) => {
          counters?.requests.inc({ code: String(code) });
          if (msg === undefined) return reply.code(code).send();
          return reply.code(code).type(TEXT).send(`${msg}\n`);
        };
        if (!o.enabled || ctx.opts.appendable === undefined) {
          return answer(
            404,
            'remote write receiver needs to be enabled with --web.enable-remote-write-receiver',
          );
        }
        if (!ctx.ready()) return answer(503, 'Service Unavailable');
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const announced = snappyDecodedLength(body);
        if (body.length === 0 || announced < 0) return answer(400, 'snappy: corrupt input');
        if (announced > maxDecoded) {
          return answer(400, `snappy: decoded block is too large (${announced} bytes, limit ${maxDecoded})`);
        }
        let raw: Buffer;
        try {
          raw = snappy.uncompressSync(body, { asBuffer: true }) as Buffer;
        } catch {
          return answer(400, 'snappy: corrupt input');
        }
        let decoded: ReturnType<WriteDecoder['decode']>;
        try {
          decoded = decoder.decode(raw, ctx.opts.appendable.resolvesRefs !== true);
        } catch (e) {
          if (e instanceof ProtoError) return answer(400, `proto: WriteRequest: ${e.message}`);
          throw e;
        }
        let outcome: AppendOutcome;
        try {
          outcome =
            decoded.request.series.length > 0
              ? await ctx.opts.appendable.append(decoded.request)
              : emptyOutcome();
          decoder.learn(decoded, outcome.refs);
        } catch (e) {
          // Storage failures are retryable: the sender will resend the request.
          req.log.error({ err: e }, 'remote write append failed');
          return answer(500, `append failed: ${(e as Error).message}`);
        }
        const refused =
          outcome.outOfOrder +
          outcome.duplicateTimestamp +
          outcome.outOfBounds +
          outcome.tooFarInFuture +
          outcome.invalidSeries +
          decoded.refusedSeries;
        if (counters) {
          counters.samples.inc({ result: 'appended' }, outcome.appended);
          counters.samples.inc({ result: 'duplicate_ignored' }, outcome.duplicatesIgnored);
          const r = refused - outcome.invalidSeries - decoded.refusedSeries + decoded.refusedSamples;
          if (r > 0) counters.samples.inc({ result: 'refused' }, r);
        }
        if (refused > 0) return answer(400, refusalMessage(outcome, decoded.errors, decoded.refusedSamples));
        return answer(204);
      });
    });
  };
}
