#!/usr/bin/env bash
# Builds every fuzz target and runs each briefly. With cargo-fuzz (installed on demand, on
# stable through RUSTC_BOOTSTRAP=1) the targets run instrumented under libFuzzer; each run
# is a smoke test, not a campaign.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
targets=$(ls fuzz_targets/*.rs 2>/dev/null | xargs -rn1 basename | sed 's/\.rs$//')
if [ -z "$targets" ]; then
  echo "no fuzz targets yet"
  exit 0
fi
export RUSTC_BOOTSTRAP=1
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
seconds="${PORTCULLIS_FUZZ_SECONDS:-10}"
cargo fuzz build --release
for t in $targets; do
  echo "-- fuzz $t for ${seconds}s"
  cargo fuzz run --release "$t" -- -max_total_time="$seconds" -rss_limit_mb=2048
done
