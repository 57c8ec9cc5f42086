#!/usr/bin/env bash
# Builds ustack twice (gcc release; clang with ASan+UBSan and libFuzzer) and
# runs every test: unit and in-process network tests in both builds; interop
# tests against Linux (TAP devices in private network namespaces) and the
# bounded fuzz run under the sanitizers.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
cmake -S . -B build-asan -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
      -DUSTACK_SANITIZE=ON -DUSTACK_FUZZ=ON >/dev/null
cmake --build build-asan -j"$jobs"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

echo "== release build: unit and network tests"
(cd build && ctest -L 'unit|net' --output-on-failure -j"$jobs")
echo "== ASan+UBSan build: every test"
(cd build-asan && ctest --output-on-failure)
