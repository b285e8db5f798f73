#!/usr/bin/env bash
# Fuzzes qbheat's decoders with libFuzzer: builds fuzz/ with clang (AddressSanitizer + UBSan)
# into build-fuzz/, runs each target for SECONDS (default 30) from a scratch copy of its seed
# corpus (fuzz/corpus/<target>/), then prints executions and findings per target. Exits 1 on any
# finding (a crash, a sanitizer report, a leak, a timeout, or an allocation over 1 GiB), leaving
# the input that triggered it in the printed folder.
#   tools/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}

"$PWD/tools/setup.sh"
CC=clang CXX=clang++ cmake -S fuzz -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      >/dev/null
cmake --build build-fuzz -j "$(nproc)"

work=$(mktemp -d /tmp/qbheat-fuzz.XXXXXX)
failed=0
printf '%-8s %12s %10s %8s  %s\n' target executions exec/s seconds result
for target in idx cifar gzip image; do
  cp -r "fuzz/corpus/$target" "$work/corpus-$target"
  mkdir -p "$work/findings-$target"
  log="$work/$target.log"
  set +e
  "./build-fuzz/fuzz_$target" "$work/corpus-$target" -max_total_time="$seconds" \
      -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 -print_final_stats=1 \
      -artifact_prefix="$work/findings-$target/" >"$log" 2>&1
  rc=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  if [ $rc -eq 0 ]; then
    result="no findings"
  else
    result="FINDING (exit $rc): $(ls "$work/findings-$target" | head -1); log $log"
    failed=1
  fi
  printf '%-8s %12s %10s %8s  %s\n' "$target" "${runs:-?}" "${rate:-?}" "$seconds" "$result"
done
if [ $failed -ne 0 ]; then
  echo "fuzz: findings above; inputs and logs in $work" >&2
  exit 1
fi
rm -rf "$work"
