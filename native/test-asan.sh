#!/usr/bin/env bash
# Builds the addon with ASan + UBSan (cmake-js, build-asan/) and runs the addon's test suites against it.
# node itself is not instrumented, so the ASan runtime is preloaded; leak checking is off because node
# keeps allocations alive until exit by design. Any sanitizer report aborts the test process.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build:native:asan
LIBASAN="$(g++ -print-file-name=libasan.so)"
LD_PRELOAD="$LIBASAN" ASAN_OPTIONS=detect_leaks=0 \
  PROMSHARD_NATIVE_ADDON="$PWD/build-asan/Release/promshard.node" \
  npx vitest run test/native- "$@"
