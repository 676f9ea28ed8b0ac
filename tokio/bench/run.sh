#!/usr/bin/env bash
# The same tokio workloads, written once against tokio's API, built twice and run one after
# the other: real tokio (current_thread, paused clock) and tulipsim-tokio (--cfg tulipsim).
#   tokio/bench/run.sh [REPS]     (release builds; REPS, default 5, repetitions: medians)
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
