#!/usr/bin/env bash
# Issue #20, item 2, in instructions: instructions per schedule of an N-seed Random sweep of each
# planted-bug program, on one thread: tulipsim's raw loop, tulipsim's check(), shuttle's one
# Runner. Whole program, less an empty run of the binary.
#   nice -n 10 bench/callgrind-sweeps.sh [N]     (after cargo build --release -p tulipsim-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-2000}"
bin="${BIN:-target/release/sweeps}"
count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p'; }
base=$(count "$bin" --profile control_locked_counter raw 0)
echo "| program | raw loop | check() | shuttle Runner | shuttle / raw | shuttle / check() |"
echo "|---|---|---|---|---|---|"
for p in lost_update lost_wakeup use_before_init gather_orphan double_completion \
  lock_order_inversion control_done_callback_first control_locked_counter; do
  r=$(( ($(count "$bin" --profile "$p" raw "$n") - base) / n ))
  c=$(( ($(count "$bin" --profile "$p" check "$n") - base) / n ))
  s=$(( ($(count "$bin" --profile "$p" shuttle "$n") - base) / n ))
  awk -v p="$p" -v r="$r" -v c="$c" -v s="$s" \
    'BEGIN { printf "| %s | %d | %d | %d | %.1f× | %.1f× |\n", p, r, c, s, s / r, s / c }'
done
