// adviseHuge: huge-page advice for large select outputs. Checks that the advice covers the 2 MiB-aligned
// interior, leaves the bytes alone, rejects what is not an ArrayBuffer, and that the buffer still moves
// between threads (the reason the reader advises V8's buffers instead of mapping its own).
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { adviseHuge, native } from '../src/native/binding.js';

const MiB = 1 << 20;

describe('adviseHuge', () => {
  it('works in 2 MiB pages', () => {
    expect(native.hugePageSize).toBe(2 * MiB);
  });

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

  it('leaves the buffer transferable between threads', async () => {
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
