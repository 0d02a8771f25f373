// Helpers for the block suites: the Prometheus 2.42 fixture and exact sample comparison by bits.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Labels, labelsFromObject } from '../src/shared/labels.js';
import { ops } from '../src/tsdb/block/native-ops.js';
import type { SeriesInput } from '../src/tsdb/block/writer.js';

const here = dirname(fileURLToPath(import.meta.url));
export const SHARED = resolve(here, '..', '..', 'shared');
export const FIXTURE_DIR = join(SHARED, 'fixtures', 'prometheus-2.42-block');
export const FIXTURE_ULID = '01M86Z9XTRD0SGF6Y09HFAD5T5';
export const FIXTURE_BLOCK = join(FIXTURE_DIR, FIXTURE_ULID);
export const haveFixture = existsSync(join(FIXTURE_BLOCK, 'meta.json'));
if (!haveFixture) console.log(`skipping fixture cases: ${FIXTURE_BLOCK} is absent`);

export interface ExpectedSeries {
  labels: Labels;
  t: Float64Array;
  v: Float64Array;
}

const dv = new DataView(new ArrayBuffer(8));
function fromBits(bits: bigint): number {
  dv.setBigUint64(0, bits);
  return dv.getFloat64(0);
}
export const PROM_NAN = fromBits(0x7ff8000000000001n);
export const STALE = fromBits(0x7ff0000000000002n);

export function loadExpected(): { minTime: number; maxTime: number; series: ExpectedSeries[] } {
  const j = JSON.parse(readFileSync(join(FIXTURE_DIR, 'expected.json'), 'utf8')) as {
    minTime: number;
    maxTime: number;
    series: { labels: Record<string, string>; samples: [number, number | string][] }[];
  };
  return {
    minTime: j.minTime,
    maxTime: j.maxTime,
    series: j.series.map((s) => {
      const t = new Float64Array(s.samples.length);
      const v = new Float64Array(s.samples.length);
      s.samples.forEach(([ts, val], i) => {
        t[i] = ts;
        v[i] =
          val === 'NaN'
            ? PROM_NAN
            : val === 'StaleNaN'
              ? STALE
              : val === '+Inf'
                ? Infinity
                : val === '-Inf'
                  ? -Infinity
                  : (val as number);
      });
      return { labels: labelsFromObject(s.labels), t, v };
    }),
  };
}

/** Hex of the value bits, so that NaN payloads are compared exactly. */
export function bitsOf(v: Float64Array): string[] {
  const u = new BigUint64Array(v.buffer, v.byteOffset, v.length);
  return Array.from(u, (x) => x.toString(16));
}

/** Cuts each series into XOR chunks of at most 120 samples, as Prometheus' head does. */
export function toInput(series: ExpectedSeries[], per = 120): SeriesInput[] {
  return series.map((s) => {
    const chunks = [];
    for (let i = 0; i < s.t.length; i += per) {
      const end = Math.min(s.t.length, i + per);
      chunks.push({ mint: s.t[i], maxt: s.t[end - 1], data: ops.xorEncode(s.t, s.v, i, end) });
    }
    return { labels: s.labels, chunks };
  });
}
