// A short run of the addon's libFuzzer targets (ASan + UBSan): 20k inputs per decoder. The long run
// (>= 1M inputs per target) is `npm run fuzz`; see native/README.md. Skips with a reason without clang.
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './native-helpers.js';

const RUNS = Number(process.env.PROMSHARD_FUZZ_RUNS || 20_000);

function clangSkipReason(): string | null {
  const probe = spawnSync('clang++', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0)
    return 'clang++ not found: skipping the libFuzzer run (apt-get install clang)';
  // libFuzzer's runtime comes with libclang-rt-*-dev; check that a trivial target links.
  const link = spawnSync(
    'bash',
    [
      '-c',
      'f=$(mktemp -d) && echo \'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long){return 0;}\' > $f/t.cc && clang++ -fsanitize=fuzzer,address,undefined $f/t.cc -o $f/t; s=$?; rm -rf $f; exit $s',
    ],
    { encoding: 'utf8' },
  );
  if (link.status !== 0)
    return 'clang++ cannot link libFuzzer + sanitizers (libclang-rt-dev missing): skipping';
  return null;
}

const skip = clangSkipReason();
if (skip) console.log(skip);

describe.skipIf(skip !== null)('libFuzzer targets (short run)', () => {
  it(`run ${RUNS} inputs per target with no sanitizer report`, () => {
    let out: string;
    try {
      out = execFileSync('bash', ['native/fuzz/run.sh', String(RUNS)], { cwd: repoRoot, encoding: 'utf8' });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      throw new Error(`fuzz run failed:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
    }
    console.log(out.trim());
    for (const target of ['xor', 'varint', 'postings', 'crc32c', 'block_plan']) {
      const m = new RegExp(`^fuzz ${target}: (\\d+) inputs in [0-9.]+ s, ok`, 'm').exec(out);
      expect(m, `summary line for ${target}`).not.toBeNull();
      expect(Number(m?.[1])).toBeGreaterThanOrEqual(RUNS);
    }
  });
});
