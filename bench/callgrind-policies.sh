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
units() { # units of work of workload $1 at scale $2
  case $1 in
    W2) echo $((1000 * (1000 / $2))) ;;
    W4 | W4c) echo $((1000000 / $2)) ;;
    W9 | W10) echo $((1000 * (100 / $2))) ;;
    *) echo $((100000 / $2)) ;;
  esac
}
echo "| workload (units) | FIFO instr/unit | $(echo $policies | cut -d' ' -f2- | sed 's/ / | /g') |"
echo "|---|---|$(for _ in $(echo $policies | cut -d' ' -f2-); do printf -- '---|'; done)"
for w in W1 W2 W3 W4 W4c W5 W6 W7 W9 W10; do
  cal=$("$bin" --scale "$scale" --profile "$w" calibrate)
  printf '| %s (%s) |' "$w" "$(units "$w" "$scale")"
  fifo=
  for p in $policies; do
    s=$scale c=$cal
    # PCT's decisions scan every ready entry: W2 at / 10 more (1,000 tasks, one yield each;
    # still 1,000 ready at every decision) keeps a cell to minutes under callgrind.
    if [ "$w" = W2 ] && [ "${p#pct}" != "$p" -o "$p" = portfolio ]; then
      s=$((scale * 10)) c=$("$bin" --scale "$s" --profile "$w" calibrate)
    fi
    n=$(timeout "${CELL_TIMEOUT:-600}" bash -c 'valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
      sed -n "s/.*Collected : \([0-9]*\).*/\1/p"' _ "$bin" --scale "$s" --profile "$w" "policy:$p" "$c" || true)
    if [ -z "$n" ]; then printf ' (over %s s) |' "${CELL_TIMEOUT:-600}"; continue; fi
    per=$(( (n - base) / $(units "$w" "$s") ))
    if [ -z "$fifo" ]; then fifo=$per; printf ' %s |' "$per"
    else printf ' %s (%s×) |' "$per" "$(awk "BEGIN { printf \"%.2f\", $per / $fifo }")"; fi
  done
  echo
done
