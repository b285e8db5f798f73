#!/usr/bin/env bash
# The README's demo: installs what is missing, builds, and trains a tiny network on synthetic
# data, printing its loss as it falls. (The QB-Heat demo replaces it in a later issue.)
set -euo pipefail
cd "$(dirname "$0")/.."
"$PWD/tools/setup.sh"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target qbheat_demo
./build/qbheat_demo "$@"
