#!/usr/bin/env python3
"""Re-verify crates/portcullis-passwords/tests/vectors/*.txt with independent Python peers.

legacy_hashes.txt lines are `<kind> <expect> <password-hex> <stored-hash>`:
  * every `ok` line must verify and every `bad` line must fail, with pyca `bcrypt`,
    `argon2-cffi` (libargon2), `hashlib.scrypt` and `hashlib.pbkdf2_hmac`;
  * every bcrypt `refused` line must be a >72-byte password that pyca/bcrypt refuses
    (ValueError) while the hash verifies for its first 72 bytes (so the vector is genuine);
  * the file's own limits hold: bcrypt cost 4..=12, no $2x$, ok/bad passwords <= 72 bytes;
    argon2 v=19 and m <= 65536; PHC strings use unpadded standard Base64.
rfc9106_argon2id.txt: its tag is recomputed with argon2-cffi's low-level core() (which,
unlike hash_secret_raw, takes the secret and associated data).

Needs: Python 3.8+, `bcrypt` and `argon2-cffi`. Exits non-zero on any disagreement.
Usage: python3 interop/check_legacy_vectors.py [VECTORS_DIR]
"""

import base64
import binascii
import hashlib
import re
import sys
from pathlib import Path

import bcrypt
from argon2.exceptions import VerificationError, VerifyMismatchError
from argon2.low_level import Type, core, ffi, lib, verify_secret

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "crates" / "portcullis-passwords" / "tests" / "vectors"

KINDS = {"bcrypt", "scrypt", "pbkdf2-sha256", "argon2id", "argon2i", "argon2d"}
ARGON2_TYPES = {"argon2i": Type.I, "argon2d": Type.D, "argon2id": Type.ID}
B64_RE = re.compile(r"^[A-Za-z0-9+/]*$")
BCRYPT_RE = re.compile(r"^\$(2[aby])\$(\d\d)\$[./A-Za-z0-9]{53}$")


class VectorError(Exception):
    pass


def b64decode_unpadded(s: str) -> bytes:
    if not B64_RE.match(s) or len(s) % 4 == 1:
        raise VectorError(f"not unpadded standard Base64: {s!r}")
    data = base64.b64decode(s + "=" * (-len(s) % 4), validate=True)
    if base64.b64encode(data).decode().rstrip("=") != s:
        raise VectorError(f"non-canonical Base64: {s!r}")
    return data


def parse_phc(stored: str, alg: str):
    parts = stored.split("$")
    if len(parts) != 5 or parts[0] != "" or parts[1] != alg:
        raise VectorError(f"not a ${alg}$ PHC string with params, salt and hash")
    params = {}
    for item in parts[2].split(","):
        key, sep, value = item.partition("=")
        if not sep or not value.isdigit() or key in params:
            raise VectorError(f"bad PHC parameter {item!r}")
        params[key] = int(value)
    return params, b64decode_unpadded(parts[3]), b64decode_unpadded(parts[4])


def check_bcrypt(password: bytes, stored: str) -> bool:
    m = BCRYPT_RE.match(stored)
    if not m:
        raise VectorError("not a $2a$/$2b$/$2y$ bcrypt hash")
    if not 4 <= int(m.group(2)) <= 12:
        raise VectorError(f"bcrypt cost {m.group(2)} outside 4..=12")
    if len(password) > 72:
        raise VectorError("ok/bad bcrypt passwords must be <= 72 bytes (use `refused`)")
    return bcrypt.checkpw(password, stored.encode())


def check_bcrypt_refused(password: bytes, stored: str) -> None:
    if not BCRYPT_RE.match(stored):
        raise VectorError("not a $2a$/$2b$/$2y$ bcrypt hash")
    if len(password) <= 72:
        raise VectorError(f"refused password is only {len(password)} bytes")
    try:
        bcrypt.checkpw(password, stored.encode())
    except ValueError:
        pass
    else:
        raise VectorError("pyca/bcrypt accepted a >72-byte password")
    if not bcrypt.checkpw(password[:72], stored.encode()):
        raise VectorError("hash does not verify for the first 72 bytes: not a genuine vector")


def check_scrypt(password: bytes, stored: str) -> bool:
    params, salt, dk = parse_phc(stored, "scrypt")
    if set(params) != {"ln", "r", "p"}:
        raise VectorError("scrypt needs exactly ln, r, p")
    n, r, p = 1 << params["ln"], params["r"], params["p"]
    got = hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, dklen=len(dk),
                         maxmem=256 * 1024 * 1024)
    return got == dk


def check_pbkdf2(password: bytes, stored: str) -> bool:
    params, salt, dk = parse_phc(stored, "pbkdf2-sha256")
    if set(params) - {"i", "l"} or "i" not in params:
        raise VectorError("pbkdf2-sha256 needs i (and optionally l)")
    if params.get("l", len(dk)) != len(dk):
        raise VectorError("l= differs from the hash length")
    return hashlib.pbkdf2_hmac("sha256", password, salt, params["i"], len(dk)) == dk


def check_argon2(kind: str, password: bytes, stored: str) -> bool:
    if not stored.startswith(f"${kind}$v=19$"):
        raise VectorError(f"expected a ${kind}$v=19$ string")
    m = re.match(r"^\$[a-z0-9]+\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([^$]+)\$([^$]+)$", stored)
    if not m:
        raise VectorError("unexpected argon2 PHC layout")
    if int(m.group(1)) > 65536:
        raise VectorError("argon2 m > 65536")
    b64decode_unpadded(m.group(4))
    b64decode_unpadded(m.group(5))
    try:
        return verify_secret(stored.encode(), password, ARGON2_TYPES[kind])
    except VerifyMismatchError:
        return False


def check_line(kind: str, expect: str, password: bytes, stored: str) -> None:
    if kind == "bcrypt" and expect == "refused":
        check_bcrypt_refused(password, stored)
        return
    if expect not in ("ok", "bad"):
        raise VectorError(f"unknown expect {expect!r} for {kind}")
    if kind == "bcrypt":
        matched = check_bcrypt(password, stored)
    elif kind == "scrypt":
        matched = check_scrypt(password, stored)
    elif kind == "pbkdf2-sha256":
        matched = check_pbkdf2(password, stored)
    else:
        matched = check_argon2(kind, password, stored)
    if matched != (expect == "ok"):
        raise VectorError(f"expected {expect}, Python says {'match' if matched else 'mismatch'}")


def check_legacy(path: Path) -> tuple:
    failures, counts = 0, {}
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split(" ")
        where = f"{path.name}:{lineno}"
        try:
            if len(fields) != 4:
                raise VectorError(f"expected 4 space-separated fields, got {len(fields)}")
            kind, expect, pw_hex, stored = fields
            if kind not in KINDS:
                raise VectorError(f"unknown kind {kind!r}")
            if pw_hex == "-":
                password = b""
            elif pw_hex == "" or pw_hex != pw_hex.lower():
                raise VectorError("password hex must be lowercase (or '-')")
            else:
                password = binascii.unhexlify(pw_hex)
            check_line(kind, expect, password, stored)
        except (VectorError, VerificationError, ValueError, binascii.Error) as exc:
            failures += 1
            print(f"FAIL {where}: {exc}")
            continue
        counts[(kind, expect)] = counts.get((kind, expect), 0) + 1
    return failures, counts


def check_rfc9106(path: Path) -> int:
    values = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    need = ["version", "memory_kib", "passes", "lanes", "tag_length", "password", "salt",
            "secret", "associated_data", "tag"]
    missing = [k for k in need if k not in values]
    if missing:
        print(f"FAIL {path.name}: missing keys {missing}")
        return 1
    b = {k: bytes.fromhex(values[k]) for k in need[5:]}
    n = {k: int(values[k]) for k in need[:5]}
    expected = {  # RFC 9106 section 5.3, as printed there
        "version": 0x13, "memory_kib": 32, "passes": 3, "lanes": 4, "tag_length": 32,
        "password": b"\x01" * 32, "salt": b"\x02" * 16, "secret": b"\x03" * 8,
        "associated_data": b"\x04" * 12,
        "tag": bytes.fromhex("0d640df58d78766c08c037a34a8b53c9"
                             "d01ef0452d75b65eb52520e96b01e659"),
    }
    bad = [k for k in need if {**n, **b}[k] != expected[k]]
    if bad:
        print(f"FAIL {path.name}: values differ from RFC 9106 section 5.3: {bad}")
        return 1
    keep = [ffi.new("uint8_t[]", b[k]) for k in ("password", "salt", "secret", "associated_data")]
    out = ffi.new("uint8_t[]", n["tag_length"])
    ctx = ffi.new("argon2_context *", {
        "out": out, "outlen": n["tag_length"], "version": n["version"],
        "pwd": keep[0], "pwdlen": len(b["password"]),
        "salt": keep[1], "saltlen": len(b["salt"]),
        "secret": keep[2], "secretlen": len(b["secret"]),
        "ad": keep[3], "adlen": len(b["associated_data"]),
        "t_cost": n["passes"], "m_cost": n["memory_kib"], "lanes": n["lanes"], "threads": 1,
        "allocate_cbk": ffi.NULL, "free_cbk": ffi.NULL, "flags": lib.ARGON2_DEFAULT_FLAGS,
    })
    rv = core(ctx, Type.ID.value)
    tag = bytes(ffi.buffer(out, n["tag_length"]))
    if rv != 0 or tag != b["tag"]:
        print(f"FAIL {path.name}: libargon2 gives rv={rv} tag={tag.hex()}")
        return 1
    return 0


def main() -> int:
    vectors = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DIR
    failures, counts = check_legacy(vectors / "legacy_hashes.txt")
    for (kind, expect), count in sorted(counts.items()):
        print(f"  {kind:<14} {expect:<8} {count}")
    passed = sum(counts.values())
    rfc_fail = check_rfc9106(vectors / "rfc9106_argon2id.txt")
    if not rfc_fail:
        passed += 1
        print("  rfc9106_argon2id.txt tag recomputed with libargon2: matches")
    total_fail = failures + rfc_fail
    print(f"legacy_vectors: {passed} passed, {total_fail} failed")
    if not counts:
        print("FAIL: no vectors found")
        return 1
    return 1 if total_fail else 0


if __name__ == "__main__":
    sys.exit(main())
