#!/usr/bin/env bash
# Installs what qbheat needs from Debian's packages, only the ones that are missing (safe to run
# again). Needs root or sudo for apt-get. The CUDA toolkit is not installed here: when nvcc is
# present (e.g. /usr/local/cuda) the CUDA backend is built too.
set -euo pipefail

packages=(
  build-essential cmake ninja-build git   # compiler and build tools
  libeigen3-dev                           # CPU GEMM (engine/ops/matmul_cpu.cpp)
  catch2                                  # tests (Catch2 v2, header-only)
  nlohmann-json3-dev                      # safetensors headers, configs
  libstb-dev                              # image decoding (data pipeline)
  zlib1g-dev                              # gzipped datasets
  libbenchmark-dev                        # Google Benchmark programs
  libcli11-dev                            # the qbheat command line
  dataset-fashion-mnist                   # the default dataset (/usr/share/datasets/fashion-mnist)
  clang libclang-rt-14-dev                # libFuzzer targets for the decoders (tools/fuzz.sh)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
