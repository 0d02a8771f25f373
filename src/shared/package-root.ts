import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The directory holding promshard's package.json. Modules run both from `src/` (vitest) and from
 * `dist/src/` (the built server and its worker threads), so paths to the addon or the workers are
 * resolved from the package root instead of from the calling file.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'binding.gyp'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`promshard: cannot find the package root above ${import.meta.url}`);
    dir = parent;
  }
}
