#!/usr/bin/env python3
"""Open portcullis-keys sealed blobs (format 1) with Python `cryptography`, from the
format specified in the crate docs ("Sealed blob format") alone.

Usage:
    python3 open_sealed_blob.py [path/to/sealed_blob_v1.txt]

Exits non-zero if any documented value (info, derived key, AAD, plaintext) disagrees or a
tampered blob opens. Requires `pip install cryptography`.
"""

import struct
import sys
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

LABEL = b"portcullis-keys/tenant-key/v1"
FORMAT_V1 = 0x01


def lp(data: bytes) -> bytes:
    """u32 big-endian length prefix followed by the bytes."""
    return struct.pack(">I", len(data)) + data


def derivation_info(purpose: str, tenant: str, epoch: int) -> bytes:
    return lp(LABEL) + lp(purpose.encode()) + lp(tenant.encode()) + struct.pack(">I", epoch)


def derive_key(master: bytes, purpose: str, tenant: str, salt, epoch: int) -> bytes:
    # salt=None is RFC 5869's default salt (32 zero bytes).
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt,
                info=derivation_info(purpose, tenant, epoch))
    return hkdf.derive(master)


def aad(key_version: int, tenant: str, context: bytes) -> bytes:
    return bytes([FORMAT_V1]) + struct.pack(">I", key_version) + lp(tenant.encode()) + lp(context)


def open_blob(blob: bytes, master: bytes, purpose: str, tenant: str, context: bytes,
              salt=None, epoch=0) -> bytes:
    if len(blob) < 1 + 4 + 12 + 16:
        raise ValueError("truncated")
    if blob[0] != FORMAT_V1:
        raise ValueError("unknown format")
    (key_version,) = struct.unpack(">I", blob[1:5])
    nonce, body = blob[5:17], blob[17:]
    key = derive_key(master, purpose, tenant, salt, epoch)
    return AESGCM(key).decrypt(nonce, body, aad(key_version, tenant, context))


def blocks(path: Path):
    out, cur = [], {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith("#"):
            continue
        if not line:
            if cur:
                out.append(cur)
                cur = {}
            continue
        k, _, v = line.partition("=")
        cur[k.strip()] = v.strip()
    if cur:
        out.append(cur)
    return out


def main() -> int:
    default = Path(__file__).resolve().parent.parent / "vectors" / "sealed_blob_v1.txt"
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    path = Path(args[0]) if args else default
    generate = "--generate" in sys.argv
    failures = 0
    for b in blocks(path):
        master = bytes.fromhex(b["master_key"])
        version = int(b["key_version"])
        salt = bytes.fromhex(b["salt"]) if "salt" in b else None
        epoch = int(b.get("salt_epoch", "0"))
        purpose, tenant = b["purpose"], b["tenant"]
        context, plaintext = b["context"].encode(), b["plaintext"].encode()
        nonce = bytes.fromhex(b["nonce"])
        info = derivation_info(purpose, tenant, epoch)
        key = derive_key(master, purpose, tenant, salt, epoch)
        a = aad(version, tenant, context)
        if generate:
            blob = bytes([FORMAT_V1]) + struct.pack(">I", version) + nonce + \
                AESGCM(key).encrypt(nonce, plaintext, a)
            print(f"case = {b['case']}\ninfo = {info.hex()}\nderived_key = {key.hex()}\n"
                  f"aad = {a.hex()}\nblob = {blob.hex()}\n")
            continue
        checks = {"info": info.hex(), "derived_key": key.hex(), "aad": a.hex()}
        for name, got in checks.items():
            if got != b[name]:
                print(f"{b['case']}: {name} mismatch: {got} != {b[name]}")
                failures += 1
        blob = bytes.fromhex(b["blob"])
        opened = open_blob(blob, master, purpose, tenant, context, salt, epoch)
        if opened != plaintext:
            print(f"{b['case']}: plaintext mismatch")
            failures += 1
        # Binding: another tenant, another context or any flipped byte must fail.
        attempts = [
            lambda: open_blob(blob, master, purpose, "other-tenant", context, salt, epoch),
            lambda: open_blob(blob, master, purpose, tenant, context + b"x", salt, epoch),
        ]
        for i in range(len(blob)):
            bad = bytearray(blob)
            bad[i] ^= 0x01
            attempts.append(lambda bad=bytes(bad): open_blob(bad, master, purpose, tenant,
                                                             context, salt, epoch))
        for attempt in attempts:
            try:
                attempt()
            except (InvalidTag, ValueError):
                continue
            print(f"{b['case']}: a tampered input opened")
            failures += 1
        print(f"{b['case']}: ok ({len(attempts)} tampered inputs rejected)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
