#!/usr/bin/env bash
# The README's demo: installs what is missing (Fashion-MNIST included), builds, trains a tiny
# network on synthetic data, printing its loss as it falls, then inspects Fashion-MNIST with the
# data pipeline and writes a grid of samples. (The QB-Heat demo replaces it in a later issue.)
set -euo pipefail
cd "$(dirname "$0")/.."
"$PWD/tools/setup.sh"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target qbheat_demo qbheat
./build/qbheat_demo "$@"
echo
./build/qbheat data inspect --grid build/fashion-mnist-grid.png
