#!/usr/bin/env bash
# Builds ustack three times (gcc release; clang with ASan+UBSan and libFuzzer;
# clang with ThreadSanitizer for the threaded tests) and runs every test:
# unit and in-process network tests in the release build; the threaded
# tests under TSan; everything (interop tests against Linux on TAP devices
# in private network namespaces, the bounded fuzz run) under ASan+UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
cmake -S . -B build-asan -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
      -DUSTACK_SANITIZE=ON -DUSTACK_FUZZ=ON >/dev/null
cmake --build build-asan -j"$jobs"
# ThreadSanitizer: only the threaded tests need this build.
cmake -S . -B build-tsan -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DUSTACK_TSAN=ON >/dev/null
cmake --build build-tsan --target test_sock_mt -j"$jobs"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

echo "== release build: unit and network tests"
(cd build && ctest -L 'unit|net' --output-on-failure -j"$jobs")
echo "== ThreadSanitizer build: the blocking layer from several threads"
(cd build-tsan && TSAN_OPTIONS=halt_on_error=1 ctest -L tsan --output-on-failure)
echo "== ASan+UBSan build: every test"
(cd build-asan && ctest --output-on-failure)
