#!/usr/bin/env bash
# Builds every fuzz target and runs each briefly under libFuzzer. cargo-fuzz is installed
# on demand; RUSTC_BOOTSTRAP=1 lets the stable toolchain take its sanitizer flags. Each
# run is a smoke test (PORTCULLIS_FUZZ_SECONDS, default 10), not a campaign.
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTC_BOOTSTRAP=1
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
seconds="${PORTCULLIS_FUZZ_SECONDS:-10}"
for dir in fuzz/*/; do
  dir=${dir%/}
  [ -f "$dir/Cargo.toml" ] || continue
  cargo fuzz build --release --debug-assertions --fuzz-dir "$dir"
  for t in $(cargo fuzz list --fuzz-dir "$dir"); do
    echo "-- fuzz $t for ${seconds}s"
    cargo fuzz run --release --debug-assertions --fuzz-dir "$dir" "$t" -- -max_total_time="$seconds" -rss_limit_mb=2048
  done
done
