// What the engine suites share: the built shard worker, temp data dirs and engines closed after each test.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeAll } from 'vitest';
import type { StorageEngine } from '../../src/coordinator/index.js';

export const quiet = { warn: () => {}, error: () => {} };

export interface EngineFixture {
  /** A new temp dir, removed after the test. */
  tmp(): string;
  /** Closes the engine after the test (unless untracked first). */
  track(e: StorageEngine): StorageEngine;
  /** The test closed it itself. */
  untrack(e: StorageEngine): void;
}

/** Registers the suite's hooks; call at the top level of a test file. */
export function useEngineFixture(prefix: string): EngineFixture {
  const dirs: string[] = [];
  const engines: StorageEngine[] = [];
  beforeAll(() => {
    const root = resolve(import.meta.dirname, '..', '..');
    if (!existsSync(join(root, 'dist', 'workers', 'shard.js'))) {
      throw new Error(
        'dist/workers/shard.js is missing: run `npx tsc -p tsconfig.json` (npm test does) first',
      );
    }
  });
  afterEach(async () => {
    for (const e of engines.splice(0)) await e.close().catch(() => {});
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return {
    tmp() {
      const d = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(d);
      return d;
    },
    track(e) {
      engines.push(e);
      return e;
    },
    untrack(e) {
      const i = engines.indexOf(e);
      if (i >= 0) engines.splice(i, 1);
    },
  };
}
