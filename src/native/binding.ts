// The only module that loads the compiled addon; everything else imports its typed surface from here.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from '../shared/package-root.js';

/** The addon's exports, typed. Each concern of `native/` adds its functions here. */
export interface NativeAddon {
  readonly abiVersion: number;
}

function load(): NativeAddon {
  const path = join(packageRoot(), 'build', 'Release', 'promshard.node');
  const require = createRequire(import.meta.url);
  try {
    return require(path) as NativeAddon;
  } catch (err) {
    throw new Error(
      `promshard: cannot load the native addon at ${path} (run \`npm install\` to build it): ${err}`,
    );
  }
}

export const native: NativeAddon = load();
