// Loads the Prometheus 2.42 fixture data set (../shared) into a FakeStorage, or a small synthetic set.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { labelsFromObject } from '../../src/shared/labels.js';
import { STALE_NAN } from '../../src/shared/storage.js';
import { FakeStorage } from './http-fakes.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const fixtureDir = path.resolve(repoRoot, '../shared/fixtures/prometheus-2.42-block');
export const haveFixture = existsSync(path.join(fixtureDir, 'expected.json'));

const NAN_BITS = new DataView(new ArrayBuffer(8));
NAN_BITS.setBigUint64(0, 0x7ff8000000000001n);
const PROM_NAN = NAN_BITS.getFloat64(0);

function value(v: number | string): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return PROM_NAN;
  if (v === 'StaleNaN') return STALE_NAN;
  if (v === '+Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  throw new Error(`unexpected value ${v}`);
}

/** The fixture's 9 series and 2700 samples when ../shared is present; else 3 synthetic series. */
export function loadStorage(): FakeStorage {
  const st = new FakeStorage();
  if (haveFixture) {
    const exp = JSON.parse(readFileSync(path.join(fixtureDir, 'expected.json'), 'utf8')) as {
      series: { labels: Record<string, string>; samples: [number, number | string][] }[];
    };
    for (const s of exp.series) {
      st.add(
        labelsFromObject(s.labels),
        s.samples.map((p) => p[0]),
        Float64Array.from(s.samples, (p) => value(p[1])),
      );
    }
    return st;
  }
  const t0 = 1_699_999_200_000;
  for (const inst of ['a', 'b', 'c']) {
    const ts = Array.from({ length: 300 }, (_, i) => t0 + i * 15_000);
    st.add(
      labelsFromObject({ __name__: 'fixture_requests_total', instance: inst, job: 'fixture' }),
      ts,
      Float64Array.from(ts, (_, i) => i),
    );
  }
  return st;
}

export interface RefCase {
  note: string;
  request: { method: string; path: string; params: Record<string, string | number> };
  status: number;
  response: unknown;
}

export function referenceCases(): RefCase[] {
  const p = path.join(fixtureDir, 'reference-queries.json');
  if (!existsSync(p)) return [];
  return (JSON.parse(readFileSync(p, 'utf8')) as { cases: RefCase[] }).cases;
}
