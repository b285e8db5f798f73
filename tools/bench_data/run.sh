#!/usr/bin/env bash
# Data-pipeline benchmark: qbheat (qbh_bench_data) against torchvision + DataLoader on this
# machine, alternating the two programs over ROUNDS rounds (default 3) so both see the same
# machine state; prints every run and then the median images/s per case and worker count.
# Needs a Release build in build/ (or BUILD=dir) and python3 with torch, torchvision and Pillow.
#   tools/bench_data/run.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
build=${BUILD:-build}
cmake --build "$build" --target qbh_bench_data >/dev/null
log=$(mktemp /tmp/qbheat-bench-data.XXXXXX)
"./$build/qbh_bench_data" --max-batches 1 --workers 1 >/dev/null  # makes the JPEG folder once
for r in $(seq "$rounds"); do
  OMP_NUM_THREADS=1 "./$build/qbh_bench_data" | tee -a "$log"
  python3 tools/bench_data/bench_data_torch.py | tee -a "$log"
done
python3 - "$log" <<'PY'
import re, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    m = re.match(r"(\w+)\s+(\w+)\s+workers=(\d+) images/s=(\d+)", line)
    if m:
        runs.setdefault((m[2], int(m[3]), m[1]), []).append(int(m[4]))
print("\n| case | workers | qbheat images/s | PyTorch images/s | ratio |")
print("|---|---|---|---|---|")
for case, w in sorted({(c, w) for c, w, _ in runs}):
    q = statistics.median(runs[(case, w, "qbheat")])
    t = statistics.median(runs[(case, w, "torch")])
    print(f"| {case} | {w} | {q:.0f} | {t:.0f} | {q / t:.2f}x |")
PY
