#!/usr/bin/env bash
# Issue #20, item 1, in instructions: every workload × every seeded policy under callgrind,
# at the sizes / SCALE (default 100: PCT scans every candidate at every decision, so W2 at full
# size is minutes a run even without valgrind). Prints instructions per unit of work (the whole
# program, less an empty run of the binary) and each policy's count over FIFO's.
#   nice -n 10 bench/callgrind-policies.sh [SCALE]   (after cargo build --release -p tulipsim-bench;
#   BIN=a copy of the binary, to keep building while it runs)
set -euo pipefail
cd "$(dirname "$0")/.."
scale="${1:-100}"
bin="${BIN:-target/release/tulipsim-bench}"
count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p'; }
base=$(count "$bin" --help)
policies="fifo random chaos pct2 pct3 delay2 portfolio"
declare -A units=([W1]=$((100000 / scale)) [W2]=$((1000 * (1000 / scale))) [W3]=$((100000 / scale))
  [W4]=$((1000000 / scale)) [W4c]=$((1000000 / scale)) [W5]=$((100000 / scale))
  [W6]=$((100000 / scale)) [W7]=$((100000 / scale)) [W9]=$((1000 * (100 / scale)))
  [W10]=$((1000 * (100 / scale))))
echo "| workload (units) | FIFO instr/unit | $(echo $policies | cut -d' ' -f2- | sed 's/ / | /g') |"
echo "|---|---|$(for _ in $(echo $policies | cut -d' ' -f2-); do printf -- '---|'; done)"
for w in W1 W2 W3 W4 W4c W5 W6 W7 W9 W10; do
  cal=$("$bin" --scale "$scale" --profile "$w" calibrate)
  row="| $w (${units[$w]}) |"
  fifo=
  for p in $policies; do
    n=$(count "$bin" --scale "$scale" --profile "$w" "policy:$p" "$cal")
    per=$(( (n - base) / ${units[$w]} ))
    if [ -z "$fifo" ]; then fifo=$per; row="$row $per |"
    else row="$row $per ($(awk "BEGIN { printf \"%.2f\", $per / $fifo }")×) |"; fi
  done
  echo "$row"
done
