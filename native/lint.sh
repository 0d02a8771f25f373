#!/usr/bin/env bash
# Checks the addon's C++ against .clang-format (Debian's clang-format); fails on any difference.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang-format >/dev/null 2>&1; then
  echo "lint:native: clang-format is not installed (apt-get install -y clang-format)" >&2
  exit 1
fi
clang-format --dry-run --Werror native/*.cc native/*.h native/fuzz/*.cc native/fuzz/*.cc
