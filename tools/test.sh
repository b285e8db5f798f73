#!/usr/bin/env bash
# Builds qbheat and runs the whole test suite with ctest (the README's test command).
#   tools/test.sh             release build in build/, all tests
#   tools/test.sh --sanitize  AddressSanitizer + UndefinedBehaviorSanitizer build in
#                             build-asan/ (CPU only), all tests
# Installs missing Debian packages first (tools/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

"$PWD/tools/setup.sh"
jobs=$(nproc)

if [ "${1:-}" = "--sanitize" ]; then
  build=build-asan
  # -O1 -g1: fast enough to build twice in CI, with line numbers in sanitizer reports.
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQBH_CUDA=OFF \
        -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DQBH_SANITIZE="address;undefined" \
        -DQBH_BENCH=OFF
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
else
  build=build
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build" -j "$jobs"
# OMP_NUM_THREADS keeps each test process to one thread while ctest runs several at once.
OMP_NUM_THREADS=1 ctest --test-dir "$build" -j "$jobs" --output-on-failure
