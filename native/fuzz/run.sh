#!/usr/bin/env bash
# Builds the addon's libFuzzer targets with ASan + UBSan (clang) and runs each for a number of inputs.
#   bash native/fuzz/run.sh [runs-per-target] [target...]     (default 1000000; targets: xor varint postings crc32c block_plan)
# Binaries and corpora live in .fuzz/ (git-ignored). The xor corpus is seeded with the chunks of the
# Prometheus 2.42 fixture block when ../shared is present. Exits non-zero on any crash or sanitizer
# report; prints one summary line per target: "fuzz <target>: <N> inputs in <S> s, ok".
set -euo pipefail
cd "$(dirname "$0")/../.."

RUNS="${1:-1000000}"
shift || true
TARGETS=("$@")
if [ "${#TARGETS[@]}" -eq 0 ]; then TARGETS=(xor varint postings crc32c block_plan); fi
CXX="${FUZZ_CXX:-clang++}"
OUT=.fuzz
mkdir -p "$OUT"

if ! command -v "$CXX" >/dev/null 2>&1; then
  echo "fuzz: $CXX not found (apt-get install -y clang libclang-rt-14-dev)" >&2
  exit 2
fi

declare -A SOURCES=(
  [xor]="native/xor.cc"
  [varint]=""
  [postings]="native/postings.cc"
  [crc32c]="native/crc32c.cc"
  [block_plan]="native/block_plan.cc native/crc32c.cc"
)
FLAGS=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)

# Build the targets in parallel; rebuild only when a source is newer than the binary.
pids=()
for t in "${TARGETS[@]}"; do
  if [ -z "${SOURCES[$t]+x}" ]; then
    echo "fuzz: unknown target $t" >&2
    exit 2
  fi
  bin="$OUT/fuzz_$t"
  # shellcheck disable=SC2086
  if [ ! -x "$bin" ] || [ -n "$(find native/fuzz/fuzz_$t.cc native/*.h ${SOURCES[$t]} -newer "$bin" 2>/dev/null)" ]; then
    # shellcheck disable=SC2086
    "$CXX" "${FLAGS[@]}" "native/fuzz/fuzz_$t.cc" ${SOURCES[$t]} -o "$bin" &
    pids+=($!)
  fi
done
for p in "${pids[@]}"; do wait "$p"; done

# Seed the xor corpus with real Prometheus chunks (data only, as the decoder sees them).
FIXTURE=../shared/fixtures/prometheus-2.42-block/01M86Z9XTRD0SGF6Y09HFAD5T5/chunks/000001
mkdir -p "$OUT/corpus-xor"
if [ -f "$FIXTURE" ] && [ -z "$(ls -A "$OUT/corpus-xor")" ]; then
  node -e '
    const fs = require("fs");
    const buf = fs.readFileSync(process.argv[1]);
    let p = 8, k = 0;
    while (p < buf.length) {
      let len = 0, shift = 0, b;
      do { b = buf[p++]; len += (b & 0x7f) * 2 ** shift; shift += 7; } while (b & 0x80);
      fs.writeFileSync(`${process.argv[2]}/fixture-${k++}`, buf.subarray(p + 1, p + 1 + len));
      p += 1 + len + 4;
    }' "$FIXTURE" "$OUT/corpus-xor"
fi

status=0
for t in "${TARGETS[@]}"; do
  mkdir -p "$OUT/corpus-$t"
  log="$OUT/fuzz_$t.log"
  start=$(date +%s.%N)
  if ! "$OUT/fuzz_$t" -runs="$RUNS" -seed=1 -max_len=4096 -print_final_stats=1 "$OUT/corpus-$t" >"$log" 2>&1; then
    echo "fuzz $t: FAILED, see $log" >&2
    tail -40 "$log" >&2
    status=1
    continue
  fi
  end=$(date +%s.%N)
  if grep -qE 'ERROR: (AddressSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error:' "$log"; then
    echo "fuzz $t: sanitizer report in $log" >&2
    status=1
    continue
  fi
  done_runs=$(grep -oE 'Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' | tail -1)
  printf 'fuzz %s: %s inputs in %.1f s, ok (corpus %s files)\n' "$t" "${done_runs:-?}" "$(echo "$end - $start" | bc)" \
    "$(ls "$OUT/corpus-$t" | wc -l)"
done
exit $status
