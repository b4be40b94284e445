#!/usr/bin/env bash
# Interop with real peers in another language: the official Python packages `stripe`,
# `svix`, `standardwebhooks`, `PyJWT`, `cryptography`, `argon2-cffi` and `bcrypt` against the `portcullis` CLI, in
# both directions. Run from anywhere; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
VENV="$ROOT/interop/.venv"
export PYTHONDONTWRITEBYTECODE=1

if [ ! -x "$VENV/bin/python" ]; then
  rm -rf "$VENV"
  if ! python3 -m venv "$VENV"; then
    echo "python3 -m venv failed; installing python3-venv"
    rm -rf "$VENV"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update
    $SUDO apt-get install -y python3-venv
    python3 -m venv "$VENV"
  fi
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r interop/requirements.txt

echo "== building portcullis-cli"
cargo build -p portcullis-cli
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export PORTCULLIS_BIN="$TARGET_DIR/debug/portcullis"

echo "== Python peers <-> portcullis CLI"
"$VENV/bin/python" -m pytest -p no:cacheprovider -v interop/

echo "== portcullis-tokens: PyJWT verifies tokens from the library"
PORTCULLIS_TEST_PYTHON="$VENV/bin/python" cargo test -p portcullis-tokens --test pyjwt_interop
