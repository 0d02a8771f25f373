// mmap/munmap: reading, explicit unmapping, copy-on-write isolation, finalizers, and worker threads that
// exit while holding mappings (the per-environment cleanup hook must release them).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { mmap, munmap } from '../src/native/binding.js';
import { repoRoot } from './native-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'promshard-mmap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileNo = 0;
function tempFile(bytes: Uint8Array): string {
  const p = join(dir, `f${fileNo++}.bin`);
  writeFileSync(p, bytes);
  return p;
}

function content(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

/** How many of this process' mappings are of the given file. */
function mappingsOf(path: string): number {
  return readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((l) => l.endsWith(` ${path}`)).length;
}

const distBinding = join(repoRoot, 'dist/src/native/binding.js');
const haveDist = existsSync(distBinding);
const hasProcMaps = existsSync('/proc/self/maps');
if (!haveDist)
  console.log(`${distBinding} not built (npm run build:ts): skipping the worker and finalizer tests`);
if (!hasProcMaps) console.log('/proc/self/maps not available: skipping the mapping-count checks');

describe('mmap', () => {
  it('maps a file read-only and unmaps it on munmap (idempotent)', () => {
    const data = content(100_000);
    const p = tempFile(data);
    const ab = mmap(p);
    expect(ab.byteLength).toBe(data.length);
    expect(Buffer.from(ab).equals(Buffer.from(data))).toBe(true);
    if (hasProcMaps) expect(mappingsOf(p)).toBe(1);
    munmap(ab);
    expect(ab.byteLength).toBe(0);
    if (hasProcMaps) expect(mappingsOf(p)).toBe(0);
    munmap(ab);
    expect(ab.byteLength).toBe(0);
  });

  it('keeps writes from JS private: the file never changes', () => {
    const data = content(10_000);
    const p = tempFile(data);
    const ab = mmap(p);
    const view = new Uint8Array(ab);
    view.fill(0xee);
    expect(view[5]).toBe(0xee);
    expect(Buffer.from(readFileSync(p)).equals(Buffer.from(data))).toBe(true);
    const again = mmap(p);
    expect(new Uint8Array(again)[5]).toBe(data[5]);
    munmap(ab);
    munmap(again);
  });

  it('maps an empty file as an empty buffer', () => {
    const ab = mmap(tempFile(new Uint8Array(0)));
    expect(ab.byteLength).toBe(0);
    munmap(ab);
  });

  it('throws clear errors', () => {
    expect(() => mmap(join(dir, 'missing'))).toThrow(/mmap: cannot open .*missing: No such file/);
    expect(() => mmap(dir)).toThrow(/not a regular file/);
    expect(() => mmap(42 as unknown as string)).toThrow(TypeError);
    expect(() => mmap('a\0b')).toThrow(TypeError);
    expect(() => munmap(new ArrayBuffer(8))).toThrow(/not a live mapping/);
    expect(() => munmap(new Uint8Array(8) as unknown as ArrayBuffer)).toThrow(TypeError);
  });

  it.skipIf(!haveDist || !hasProcMaps)('releases mappings when the buffers are garbage collected', () => {
    const p = tempFile(content(4096));
    const script = `
      import { readFileSync } from 'node:fs';
      const { mmap } = await import(${JSON.stringify(pathToFileURL(distBinding).href)});
      const count = () => readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.endsWith(' ' + ${JSON.stringify(p)})).length;
      let sum = 0;
      for (let i = 0; i < 300; i++) sum += new Uint8Array(mmap(${JSON.stringify(p)}))[1];
      const before = count();
      for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((r) => setImmediate(r)); }
      console.log(JSON.stringify({ before, after: count(), sum }));
    `;
    const out = execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    const { before, after, sum } = JSON.parse(out.trim().split('\n').pop() as string);
    expect(sum).toBe(300 * 38);
    expect(before).toBeGreaterThan(0);
    expect(after).toBe(0);
  });

  it.skipIf(!haveDist || !hasProcMaps)(
    'unmaps everything a worker thread still holds when it exits',
    async () => {
      const data = content(64 * 1024);
      const p = tempFile(data);
      const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(workerData.binding).then(({ mmap, munmap }) => {
        globalThis.kept = [];
        for (let i = 0; i < 20; i++) globalThis.kept.push(mmap(workerData.path));
        const closed = mmap(workerData.path);
        munmap(closed);
        const first = globalThis.kept[0];
        // postMessage copies an external buffer; it cannot be transferred out of the thread.
        parentPort.postMessage({ copy: first, closedLength: closed.byteLength });
        parentPort.on('message', () => {}); // stay alive until terminated
      });
    `;
      const w = new Worker(code, {
        eval: true,
        workerData: { binding: pathToFileURL(distBinding).href, path: p },
      });
      const msg = await new Promise<{ copy: ArrayBuffer; closedLength: number }>((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      });
      expect(msg.closedLength).toBe(0);
      expect(Buffer.from(msg.copy).equals(Buffer.from(data))).toBe(true);
      expect(mappingsOf(p)).toBe(20);
      await w.terminate();
      expect(mappingsOf(p)).toBe(0);
    },
  );

  it.skipIf(!haveDist || !hasProcMaps)('unmaps when a worker exits on its own', async () => {
    const p = tempFile(content(8192));
    const code = `
      const { workerData } = require('node:worker_threads');
      import(workerData.binding).then(({ mmap }) => {
        globalThis.kept = [mmap(workerData.path), mmap(workerData.path)];
        process.exit(0);
      });
    `;
    const w = new Worker(code, {
      eval: true,
      workerData: { binding: pathToFileURL(distBinding).href, path: p },
    });
    const exitCode = await new Promise<number>((resolve, reject) => {
      w.once('exit', resolve);
      w.once('error', reject);
    });
    expect(exitCode).toBe(0);
    expect(mappingsOf(p)).toBe(0);
  });
});
