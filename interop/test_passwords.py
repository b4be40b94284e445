"""Password hashes: `portcullis password hash` (Argon2id PHC) verifies in Python
`argon2-cffi`; hashes made by `argon2-cffi` and by Python `bcrypt` verify in
`portcullis password verify`, legacy ones with "needs rehash"; tampered hashes and wrong
passwords fail on both sides. The published vectors of crates/portcullis-passwords are
re-verified with the Python implementations (check_legacy_vectors.py)."""

import subprocess
import sys
from pathlib import Path

import argon2
import bcrypt
import pytest

HERE = Path(__file__).resolve().parent
PASSWORDS = ["correct horse battery staple", "pässwörd ✓ 東京", "x"]


def tamper(phc: str) -> str:
    """Flips one character of the output (the last field)."""
    head, out = phc.rsplit("$", 1)
    c = "A" if out[5] != "A" else "B"
    return f"{head}${out[:5]}{c}{out[6:]}"


@pytest.mark.parametrize("password", PASSWORDS)
def test_portcullis_hash_verifies_in_argon2_cffi(cli, password):
    phc = cli.ok("password", "hash", stdin=password.encode() + b"\n").decode().strip()
    assert phc.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    ph = argon2.PasswordHasher()
    assert ph.verify(phc, password)
    with pytest.raises(argon2.exceptions.VerifyMismatchError):
        ph.verify(phc, password + "!")
    with pytest.raises(argon2.exceptions.VerificationError):
        ph.verify(tamper(phc), password)
    # argon2-cffi's own policy (m=64 MiB, t=3, p=4 by default) would rehash ours.
    assert ph.check_needs_rehash(phc)


@pytest.mark.parametrize("password", PASSWORDS)
def test_argon2_cffi_hash_verifies_in_portcullis(cli, password):
    phc = argon2.PasswordHasher().hash(password)  # m=65536, t=3, p=4: above our policy
    assert cli.ok("password", "verify", "--hash", phc, stdin=password.encode()) == b"valid\n"
    assert "does not match" in cli.fails("password", "verify", "--hash", phc, stdin=b"nope")
    assert "does not match" in cli.fails("password", "verify", "--hash", tamper(phc),
                                         stdin=password.encode())


def test_weaker_argon2_cffi_hash_needs_rehash(cli):
    for t in (argon2.Type.ID, argon2.Type.I):
        ph = argon2.PasswordHasher(time_cost=1, memory_cost=4096, parallelism=1, type=t)
        phc = ph.hash("legacy argon2")
        out = cli.ok("password", "verify", "--hash", phc, stdin=b"legacy argon2")
        assert out == b"valid, needs rehash\n", phc


@pytest.mark.parametrize("prefix", [b"2a", b"2b"])
def test_python_bcrypt_hash_verifies_in_portcullis_with_needs_rehash(cli, prefix):
    for password in PASSWORDS:
        stored = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4, prefix=prefix)).decode()
        out = cli.ok("password", "verify", "--hash", stored, stdin=password.encode())
        assert out == b"valid, needs rehash\n"
        assert "does not match" in cli.fails("password", "verify", "--hash", stored,
                                             stdin=password.encode() + b"x")


def test_bcrypt_over_72_bytes_is_refused_where_python_bcrypt_truncated(cli):
    """Python bcrypt 5 refuses to hash more than 72 bytes; older systems truncated. A hash
    of the first 72 bytes must not accept a longer candidate here."""
    pw72 = b"a" * 72
    stored = bcrypt.hashpw(pw72, bcrypt.gensalt(rounds=4)).decode()
    assert cli.ok("password", "verify", "--hash", stored, stdin=pw72) == b"valid, needs rehash\n"
    assert "72 bytes" in cli.fails("password", "verify", "--hash", stored, stdin=pw72 + b"b")


def test_published_vectors_agree_with_python_implementations():
    r = subprocess.run([sys.executable, str(HERE / "check_legacy_vectors.py")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert " 0 failed" in r.stdout
