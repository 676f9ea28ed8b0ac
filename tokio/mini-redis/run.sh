#!/usr/bin/env bash
# mini-redis 0.4.1 (tokio's teaching application), unchanged but for its Cargo.toml, runs its
# own tests on tulipsim through tulipsim-tokio.
#
#   tokio/mini-redis/run.sh            # plain build (the shim is tokio), then the simulation
#                                      # over TULIPSIM_SEEDS (default 0..1000) under Random and PCT
#   SEEDS=0..100 POLICIES="random" tokio/mini-redis/run.sh
#   FAULTS="early_timeout=0.05" ...    # passed to the tests as TULIPSIM_FAULTS, see docs/tokio.md
#
# The crate is fetched through cargo (crates.io); offline, the script says so and exits 0.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="${MINI_REDIS_WORK:-$repo/target/mini-redis}"
seeds="${SEEDS:-0..1000}"
policies="${POLICIES:-random pct}"
mkdir -p "$work/fetch/src"

# 1. Fetch mini-redis 0.4.1 through cargo, into cargo's own registry cache.
cat > "$work/fetch/Cargo.toml" <<'TOML'
[package]
name = "fetch-mini-redis"
version = "0.0.0"
edition = "2021"
publish = false
[dependencies]
mini-redis = "=0.4.1"
[workspace]
TOML
echo 'fn main() {}' > "$work/fetch/src/main.rs"
if ! (cd "$work/fetch" && cargo fetch --quiet 2>"$work/fetch.log"); then
  echo "mini-redis: SKIPPED: could not fetch mini-redis 0.4.1 from crates.io (offline?):" >&2
  sed 's/^/  /' "$work/fetch.log" >&2
  exit 0
fi
src=$(cd "$work/fetch" && cargo metadata --format-version 1 --quiet \
  | python3 -c 'import json,sys; m=json.load(sys.stdin); print(next(p["manifest_path"] for p in m["packages"] if p["name"]=="mini-redis").rsplit("/",1)[0])')

# 2. A fresh copy, with only Cargo.toml changed: tokio is tulipsim-tokio.
rm -rf "$work/mini-redis"
cp -r "$src" "$work/mini-redis"
chmod -R u+w "$work/mini-redis"
python3 - "$work/mini-redis/Cargo.toml" "$repo/tokio" <<'PY'
import sys
path, shim = sys.argv[1], sys.argv[2]
toml = open(path).read()
for table in ("[dependencies.tokio]", "[dev-dependencies.tokio]"):
    old = f'{table}\nversion = "1"\n'
    assert old in toml, f"{table} with version 1 not found in mini-redis's Cargo.toml"
    new = f'{table}\npackage = "tulipsim-tokio"\npath = "{shim}"\nversion = "0.1"\n'
    toml = toml.replace(old, new, 1)
# Its own workspace, not a member of tulipsim's.
toml += "\n[workspace]\n"
open(path, "w").write(toml)
PY
(cd "$work/mini-redis" && diff -u "$src/Cargo.toml" Cargo.toml | sed 's/^/  /') || true

cd "$work/mini-redis"
# 3. Built normally, the shim is tokio: the tests run on tokio's runtime and real sockets.
if [ "${SKIP_PLAIN:-}" != 1 ]; then
  echo "== mini-redis on real tokio (plain build)"
  CARGO_TARGET_DIR="$work/target-plain" cargo test --quiet --tests
fi

# 4. Under --cfg tulipsim: no real socket, virtual time, every #[tokio::test] over the seeds.
for policy in $policies; do
  echo "== mini-redis on tulipsim: TULIPSIM_POLICY=$policy TULIPSIM_SEEDS=$seeds ${FAULTS:+TULIPSIM_FAULTS=$FAULTS}"
  RUSTFLAGS="--cfg tulipsim" CARGO_TARGET_DIR="$work/target-sim" \
    TULIPSIM_POLICY="$policy" TULIPSIM_SEEDS="$seeds" ${FAULTS:+TULIPSIM_FAULTS="$FAULTS"} \
    cargo test --quiet --no-fail-fast --tests ${TEST_FILTER:+-- $TEST_FILTER}
done
