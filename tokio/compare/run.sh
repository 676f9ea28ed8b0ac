#!/usr/bin/env bash
# One tokio program, three runtimes, one run: tokio's paused clock, tulipsim-tokio, madsim.
#   tokio/compare/run.sh [RUNS]      (release builds; RUNS defaults to 1000)
set -euo pipefail
cd "$(dirname "$0")"
runs="${1:-1000}"
cargo run --quiet --release -- "$runs"
RUSTFLAGS="--cfg tulipsim" CARGO_TARGET_DIR=target/tulipsim cargo run --quiet --release -- "$runs"
RUSTFLAGS="--cfg madsim" CARGO_TARGET_DIR=target/madsim cargo run --quiet --release -- "$runs"
