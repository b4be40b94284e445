#!/usr/bin/env bash
# Builds every fuzz target of the one cargo-fuzz project in fuzz/ and runs each briefly
# under libFuzzer, starting from its committed seeds (fuzz/seeds/<target>/). cargo-fuzz is
# installed on demand; RUSTC_BOOTSTRAP=1 lets the stable toolchain take its sanitizer
# flags. Each run is a smoke test (PORTCULLIS_FUZZ_SECONDS, default 10), not a campaign.
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTC_BOOTSTRAP=1
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
seconds="${PORTCULLIS_FUZZ_SECONDS:-10}"
cargo fuzz build --release --debug-assertions --fuzz-dir fuzz
targets=$(cargo fuzz list --fuzz-dir fuzz)
# Every file in fuzz_targets/ is a declared target, and every target has seeds.
for f in fuzz/fuzz_targets/*.rs; do
  t=$(basename "$f" .rs)
  grep -qx "$t" <<<"$targets" || { echo "fuzz/$f is not a [[bin]] in fuzz/Cargo.toml"; exit 1; }
done
for t in $targets; do
  if [ -z "$(ls -A "fuzz/seeds/$t" 2>/dev/null)" ]; then
    echo "fuzz target $t has no seeds in fuzz/seeds/$t (python3 fuzz/make_seeds.py)"
    exit 1
  fi
  mkdir -p "fuzz/corpus/$t"
  echo "-- fuzz $t for ${seconds}s"
  # New inputs go to the first (ignored) corpus directory; the seeds stay as committed.
  cargo fuzz run --release --debug-assertions --fuzz-dir fuzz "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" \
    -- -max_total_time="$seconds" -rss_limit_mb=2048
done
