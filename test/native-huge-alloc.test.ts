// allocHuge / adviseHuge: huge-page-advised buffers for large select outputs. Checks size, alignment,
// use as Float64Array columns, that many big allocations are given back (VmRSS stays bounded), that a
// worker thread exiting with allocations alive releases them, and the argument errors.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { adviseHuge, allocHuge, native } from '../src/native/binding.js';
import { repoRoot } from './native-helpers.js';

const MiB = 1 << 20;
const distBinding = join(repoRoot, 'dist/src/native/binding.js');
const haveDist = existsSync(distBinding);
const hasProcMaps = existsSync('/proc/self/maps');
if (!haveDist) console.log(`${distBinding} not built (npm run build:ts): skipping the gc and worker tests`);

/** The /proc/self/maps line of the mapping starting at `addr` (hex, no 0x), if any. */
function mappingAt(addr: string): string | undefined {
  return readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${addr}-`));
}

describe('allocHuge', () => {
  it.skipIf(!hasProcMaps)('maps a 2 MiB-aligned region rounded up to 2 MiB', () => {
    // The region's address is not visible from JS; find the new anonymous mapping by its size instead
    // (first in this file, so no earlier allocation sits next to it to merge with).
    const n = 5 * MiB + 123; // -> 6 MiB mapped
    const before = new Set(readFileSync('/proc/self/maps', 'utf8').split('\n'));
    const ab = allocHuge(n);
    new Uint8Array(ab)[0] = 1;
    const added = readFileSync('/proc/self/maps', 'utf8')
      .split('\n')
      .filter((l) => !before.has(l));
    const regions = added
      .map((l) => l.split(' ')[0].split('-'))
      .map(([a, b]) => ({ start: BigInt(`0x${a}`), end: BigInt(`0x${b}`), addr: a }))
      .filter((r) => r.end - r.start === 6n * BigInt(MiB));
    expect(regions.length).toBeGreaterThanOrEqual(1);
    // Adjacent mappings may merge with it; every candidate of exactly the rounded size must be aligned.
    for (const r of regions) {
      expect(r.start % (2n * BigInt(MiB))).toBe(0n);
      expect(mappingAt(r.addr)).toBeDefined();
    }
    expect(ab.byteLength).toBe(n);
  });

  it('gives exactly n zeroed bytes, usable as Float64Array columns', () => {
    expect(native.hugePageSize).toBe(2 * MiB);
    for (const n of [1, 8, 4096, 2 * MiB - 8, 2 * MiB, 2 * MiB + 8, 24 * MiB + 24]) {
      const ab = allocHuge(n);
      expect(ab.byteLength).toBe(n);
      const u8 = new Uint8Array(ab);
      expect(u8[0]).toBe(0);
      expect(u8[n - 1]).toBe(0);
      u8[n - 1] = 0xab;
      expect(u8[n - 1]).toBe(0xab);
    }
    const n = 3_000_000;
    const t = new Float64Array(allocHuge(n * 8), 0, n);
    for (let i = 0; i < n; i++) t[i] = i * 1.5;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += t[i];
    expect(sum).toBe((1.5 * (n - 1) * n) / 2);
    expect(allocHuge(0).byteLength).toBe(0);
    expect(allocHuge(16, true).byteLength).toBe(16);
  });

  it('rejects bad sizes', () => {
    expect(() => allocHuge(-1)).toThrow(RangeError);
    expect(() => allocHuge(1.5)).toThrow(RangeError);
    expect(() => allocHuge(Number.NaN)).toThrow(RangeError);
    expect(() => allocHuge('8' as unknown as number)).toThrow(TypeError);
    expect(() => allocHuge(undefined as unknown as number)).toThrow(RangeError);
  });

  it.skipIf(!haveDist || !hasProcMaps)(
    'returns 50 x 64 MiB to the OS when the buffers are garbage collected (VmRSS stays bounded)',
    () => {
      // In a child with --expose-gc. Node-API finalizers of external buffers run after the event loop
      // turns (not inside gc()), hence the setImmediate between collections.
      const script = `
      import { readFileSync } from 'node:fs';
      const { allocHuge } = await import(${JSON.stringify(pathToFileURL(distBinding).href)});
      const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
      const settle = async () => { for (let i = 0; i < 3; i++) { globalThis.gc(); await new Promise((r) => setImmediate(r)); } };
      await settle();
      const start = rss();
      let peak = 0, sum = 0;
      for (let i = 0; i < 50; i++) {
        const n = (64 << 20) / 8;
        const t = new Float64Array(allocHuge(n * 8), 0, n);
        for (let k = 0; k < n; k += 512) t[k] = i; // touch every page
        sum += t[n - 512];
        peak = Math.max(peak, rss());
        await settle();
      }
      await settle();
      console.log(JSON.stringify({ start, peak, end: rss(), sum, external: process.memoryUsage().external }));
    `;
      const out = execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], {
        encoding: 'utf8',
      });
      const r = JSON.parse(out.trim().split('\n').pop() as string);
      expect(r.sum).toBe((49 * 50) / 2);
      // 50 x 64 MiB = 3.2 GB touched in all; freed each round, the process never holds more than a few.
      expect(r.peak - r.start).toBeLessThan(256 * MiB);
      expect(r.end - r.start).toBeLessThan(96 * MiB);
      expect(r.external).toBeLessThan(96 * MiB);
    },
  );

  it.skipIf(!haveDist || !hasProcMaps)('releases the allocations of a worker thread that exits', async () => {
    const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) * 1024;
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(workerData.binding).then(({ allocHuge }) => {
        globalThis.kept = [];
        for (let i = 0; i < 8; i++) {
          const u = new Uint8Array(allocHuge(64 << 20));
          for (let k = 0; k < u.length; k += 4096) u[k] = 1;
          globalThis.kept.push(u);
        }
        parentPort.postMessage('held');
        parentPort.on('message', () => {});
      });
    `;
    const before = rss();
    const w = new Worker(code, { eval: true, workerData: { binding: pathToFileURL(distBinding).href } });
    await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    const held = rss();
    await w.terminate();
    const after = rss();
    expect(held - before).toBeGreaterThan(400 * MiB);
    expect(after - before).toBeLessThan(128 * MiB);
  });
});

describe('adviseHuge', () => {
  it('advises the aligned interior of an ordinary buffer and leaves its bytes alone', () => {
    const b = Buffer.allocUnsafeSlow(40 * MiB);
    b[0] = 7;
    b[b.length - 1] = 9;
    const advised = adviseHuge(b.buffer);
    // At least the 2 MiB-aligned interior (on a system without THP, 0).
    if (advised > 0) {
      expect(advised % (2 * MiB)).toBe(0);
      expect(advised).toBeGreaterThanOrEqual(36 * MiB);
      expect(advised).toBeLessThanOrEqual(40 * MiB);
    }
    expect(b[0]).toBe(7);
    expect(b[b.length - 1]).toBe(9);
    const f = new Float64Array(b.buffer, b.byteOffset, b.length / 8);
    f.fill(2.5);
    expect(f[f.length - 1]).toBe(2.5);
    expect(adviseHuge(new ArrayBuffer(4096))).toBe(0);
    expect(adviseHuge(new ArrayBuffer(0))).toBe(0);
    expect(() => adviseHuge(new Uint8Array(8) as unknown as ArrayBuffer)).toThrow(TypeError);
  });

  it('leaves the buffer transferable between threads (unlike allocHuge)', async () => {
    const b = Buffer.allocUnsafeSlow(40 * MiB);
    adviseHuge(b.buffer);
    b[123] = 42;
    const w = new Worker(
      `require('node:worker_threads').parentPort.on('message', (m) => { require('node:worker_threads').parentPort.postMessage(new Uint8Array(m)[123]); });`,
      { eval: true },
    );
    const ab = b.buffer;
    const got = new Promise((resolve) => w.once('message', resolve));
    w.postMessage(ab, [ab]);
    expect(ab.byteLength).toBe(0); // moved, not copied
    expect(await got).toBe(42);
    await w.terminate();
  });
});
