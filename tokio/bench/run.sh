#!/usr/bin/env bash
# The same tokio workloads, written once against tokio's API, built twice and run one after
# the other: real tokio (current_thread, paused clock) and tulipsim-tokio (--cfg tulipsim).
#   tokio/bench/run.sh [REPS [--instructions]]   (release builds; REPS, default 5: medians)
# Prints one table with both columns and the ratio. `nice` it on a shared machine.
set -euo pipefail
cd "$(dirname "$0")"
reps="${1:-5}"
cargo build --quiet --release
RUSTFLAGS="--cfg tulipsim" CARGO_TARGET_DIR=target/tulipsim cargo build --quiet --release
tokio_out=$(target/release/tulipsim-tokio-bench "$reps")
sim_out=$(target/tulipsim/release/tulipsim-tokio-bench "$reps")
echo "| workload | unit | tokio (paused, current_thread) | tulipsim-tokio | tulipsim-tokio / tokio |"
echo "|---|---|---|---|---|"
awk -F'|' 'NR == FNR { rate[$1] = $3; sum[$1] = $4; next }
  { if (sum[$1] != $4) { print "checksums differ on " $1 > "/dev/stderr"; exit 1 }
    printf "| %s | %s | %s | %s | %.2f× |\n", $1, $2, fmt(rate[$1]), fmt($3), $3 / rate[$1] }
  function fmt(r) { return r >= 1e6 ? sprintf("%.2f M/s", r / 1e6) : sprintf("%.0f k/s", r / 1e3) }' \
  <(echo "$tokio_out") <(echo "$sim_out")
# Instructions (callgrind; stable under load), one repetition of each workload, whole
# program: `tokio/bench/run.sh 5 --instructions`.
if [ "${2:-}" = --instructions ]; then
  echo
  echo "| workload | tokio instructions/unit | tulipsim-tokio instructions/unit | ratio |"
  echo "|---|---|---|---|"
  count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'; }
  while IFS='|' read -r name _ _ _ n; do
    a=$(count target/release/tulipsim-tokio-bench 1 "$name")
    b=$(count target/tulipsim/release/tulipsim-tokio-bench 1 "$name")
    awk -v name="$name" -v a="$a" -v b="$b" -v n="$n" \
      'BEGIN { printf "| %s | %.0f | %.0f | %.2f× |\n", name, a / n, b / n, b / a }'
  done <<< "$tokio_out"
fi
