// Helpers shared by the test/native-*.test.ts suites (not a test file itself).
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { packageRoot } from '../src/shared/package-root.js';

export const repoRoot = packageRoot();
export const sharedDir = resolve(repoRoot, '../shared');
export const blockDir = resolve(sharedDir, 'fixtures/prometheus-2.42-block');
export const chunkFile = resolve(blockDir, '01M86Z9XTRD0SGF6Y09HFAD5T5/chunks/000001');
export const expectedFile = resolve(blockDir, 'expected.json');

/** Why the fixture-based tests skip, or null when the fixtures are there. */
export function fixtureSkipReason(): string | null {
  if (!existsSync(chunkFile) || !existsSync(expectedFile)) {
    return `fixtures not found under ${blockDir} (../shared is absent): skipping the Prometheus block checks`;
  }
  return null;
}

export { rng } from '../src/shared/seeded-random.js';

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

export function bitsOf(x: number): bigint {
  f64[0] = x;
  return u64[0];
}

export function fromBits(b: bigint): number {
  u64[0] = b;
  return f64[0];
}

/** Values bit for bit as hex strings, so a mismatch prints something readable. */
export function hexBits(v: Float64Array): string[] {
  const u = new BigUint64Array(v.buffer, v.byteOffset, v.length);
  return Array.from(u, (x) => x.toString(16).padStart(16, '0'));
}

export const STALE_BITS = 0x7ff0000000000002n;
export const PROM_NAN_BITS = 0x7ff8000000000001n;

export function readFixtureExpected(): { t: number[]; bits: bigint[] }[] {
  const exp = JSON.parse(readFileSync(expectedFile, 'utf8')) as {
    series: { samples: [number, number | string][] }[];
  };
  return exp.series.map((s) => {
    const t: number[] = [];
    const bits: bigint[] = [];
    for (const [ts, v] of s.samples) {
      t.push(ts);
      if (typeof v === 'number') bits.push(bitsOf(v));
      else if (v === 'NaN') bits.push(PROM_NAN_BITS);
      else if (v === 'StaleNaN') bits.push(STALE_BITS);
      else if (v === '+Inf') bits.push(bitsOf(Number.POSITIVE_INFINITY));
      else if (v === '-Inf') bits.push(bitsOf(Number.NEGATIVE_INFINITY));
      else throw new Error(`unexpected value ${v} in expected.json`);
    }
    return { t, bits };
  });
}
