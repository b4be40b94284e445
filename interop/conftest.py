"""Shared helpers: run the real `portcullis` binary built by run.sh."""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def binary() -> str:
    path = os.environ.get("PORTCULLIS_BIN")
    if path:
        return path
    target = os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target"))
    return str(Path(target) / "debug" / "portcullis")


class Cli:
    """Runs `portcullis` with arguments and optional stdin (bytes)."""

    def __init__(self, path: str):
        self.path = path

    def run(self, *args, stdin: bytes = b""):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PORTCULLIS_")}
        return subprocess.run([self.path, *map(str, args)], input=stdin,
                              capture_output=True, env=env, timeout=60)

    def ok(self, *args, stdin: bytes = b"") -> bytes:
        r = self.run(*args, stdin=stdin)
        assert r.returncode == 0, (args, r.returncode, r.stderr.decode())
        return r.stdout

    def fails(self, *args, stdin: bytes = b"", code: int = 1) -> str:
        r = self.run(*args, stdin=stdin)
        assert r.returncode == code, (args, r.returncode, r.stdout, r.stderr.decode())
        err = r.stderr.decode()
        assert err.count("\n") == 1, f"one-line reason expected: {err!r}"
        return err


@pytest.fixture(scope="session")
def cli() -> Cli:
    path = binary()
    assert Path(path).is_file(), f"portcullis binary not found at {path}: run interop/run.sh"
    return Cli(path)
