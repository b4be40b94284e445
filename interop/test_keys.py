"""Sealed credentials: a blob from `portcullis keys seal` (format 3, key-committing) opens in
Python `cryptography` following only the documented formats (portcullis-keys "Blob formats"
and the CLI's master-key file), and blobs Python seals the same way (format 3, and the older
format 1) open with `portcullis keys open`. Tampered variants fail on both sides, a wrong
commitment before any decryption."""

import base64
import hmac
import os
import pathlib
import struct
import subprocess
import sys

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

LABEL = b"portcullis-keys/tenant-key/v1"


def lp(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def read_master_keys(path) -> dict:
    """The CLI's master-key file: header, `primary N`, `key N <hex>` lines."""
    lines = path.read_text().splitlines()
    assert lines[0] == "portcullis-master-keys v1"
    keys = {}
    for line in lines[1:]:
        if line.startswith("key "):
            _, v, h = line.split(" ")
            keys[int(v)] = bytes.fromhex(h)
    return keys


def tenant_key(master: bytes, purpose: str, tenant: str) -> bytes:
    info = lp(LABEL) + lp(purpose.encode()) + lp(tenant.encode()) + struct.pack(">I", 0)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


def aad_v1(version: int, tenant: str, context: bytes) -> bytes:
    return b"\x01" + struct.pack(">I", version) + lp(tenant.encode()) + lp(context)


def aad_v3(tenant: str, context: bytes) -> bytes:
    return b"\x03\x01" + lp(tenant.encode()) + lp(context)


def v3_keys(base: bytes):
    """Encryption key and commitment of format 3, expanded from the tenant key."""
    enc = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=lp(b"portcullis-keys/v3/encryption-key")).derive(base)
    com = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=lp(b"portcullis-keys/v3/commitment")).derive(base)
    return enc, com


def py_open(keys: dict, blob: bytes, tenant: str, context: bytes, purpose="credentials") -> bytes:
    if len(blob) >= 33 and blob[0] == 1:
        (version,) = struct.unpack(">I", blob[1:5])
        key = tenant_key(keys[version], purpose, tenant)
        return AESGCM(key).decrypt(blob[5:17], blob[17:], aad_v1(version, tenant, context))
    if len(blob) >= 66 and blob[0] == 3 and blob[1] == 1:
        (version,) = struct.unpack(">I", blob[2:6])
        enc, com = v3_keys(tenant_key(keys[version], purpose, tenant))
        nonce, commitment = blob[6:18], blob[18:50]
        if not hmac.compare_digest(com, commitment):
            raise InvalidTag()
        return AESGCM(enc).decrypt(nonce, blob[50:], aad_v3(tenant, context))
    raise ValueError("bad blob")


def py_seal(keys: dict, version: int, plaintext: bytes, tenant: str, context: bytes) -> bytes:
    nonce = os.urandom(12)
    enc, commitment = v3_keys(tenant_key(keys[version], "credentials", tenant))
    return (b"\x03\x01" + struct.pack(">I", version) + nonce + commitment
            + AESGCM(enc).encrypt(nonce, plaintext, aad_v3(tenant, context)))


def py_seal_v1(keys: dict, version: int, plaintext: bytes, tenant: str, context: bytes) -> bytes:
    nonce = os.urandom(12)
    key = tenant_key(keys[version], "credentials", tenant)
    return b"\x01" + struct.pack(">I", version) + nonce + AESGCM(key).encrypt(nonce, plaintext, aad_v1(version, tenant, context))


PLAINTEXTS = [b"sk_live_51HxExample", "pässwörd ✓".encode(), os.urandom(200), b""]


@pytest.fixture
def master(cli, tmp_path):
    path = tmp_path / "master.keys"
    cli.ok("keys", "generate", "--out", path)
    return path


def seal(cli, master, tenant, context, plaintext, *extra):
    out = cli.ok("keys", "seal", "--master-key-file", master, "--tenant", tenant,
                 "--context", context, *extra, stdin=plaintext)
    return base64.b64decode(out)


@pytest.mark.parametrize("plaintext", PLAINTEXTS)
def test_portcullis_blob_opens_in_python(cli, master, plaintext):
    blob = seal(cli, master, "acme-corp", "credential:42", plaintext)
    assert blob[:2] == b"\x03\x01" and len(blob) == len(plaintext) + 66
    keys = read_master_keys(master)
    assert py_open(keys, blob, "acme-corp", b"credential:42") == plaintext


def test_a_wrong_commitment_is_refused_before_decryption(cli, master):
    """The commitment alone decides: a blob whose ciphertext and tag are genuine but whose
    commitment belongs to another tenant's key fails in Python and in portcullis."""
    keys = read_master_keys(master)
    blob = seal(cli, master, "acme-corp", "c", b"secret")
    _, globex_com = v3_keys(tenant_key(keys[1], "credentials", "globex"))
    forged = blob[:18] + globex_com + blob[50:]
    with pytest.raises(InvalidTag):
        py_open(keys, forged, "acme-corp", b"c")
    assert "decryption failed" in cli.fails("keys", "open", "--master-key-file", master,
                                            "--tenant", "acme-corp", "--context", "c",
                                            stdin=base64.b64encode(forged))


def test_tampered_portcullis_blob_fails_in_python(cli, master):
    blob = seal(cli, master, "acme-corp", "credential:42", b"sk_live_51HxExample")
    keys = read_master_keys(master)
    for tenant, context in [("globex", b"credential:42"), ("acme-corp", b"credential:43")]:
        with pytest.raises(InvalidTag):
            py_open(keys, blob, tenant, context)
    for i in range(len(blob)):
        bad = bytearray(blob)
        bad[i] ^= 0x01
        with pytest.raises((InvalidTag, ValueError, KeyError)):
            py_open(keys, bytes(bad), "acme-corp", b"credential:42")


def test_rotated_blob_opens_in_python_under_version_2(cli, master):
    old = seal(cli, master, "acme-corp", "c", b"rotate me")
    cli.ok("keys", "rotate", "--master-key-file", master)
    moved = base64.b64decode(cli.ok("keys", "reencrypt", "--master-key-file", master,
                                    "--tenant", "acme-corp", "--context", "c",
                                    stdin=base64.b64encode(old) + b"\n"))
    assert moved[:6] == b"\x03\x01\x00\x00\x00\x02"
    keys = read_master_keys(master)
    assert py_open(keys, moved, "acme-corp", b"c") == b"rotate me"
    assert py_open(keys, old, "acme-corp", b"c") == b"rotate me"


def test_purpose_is_part_of_the_key(cli, master):
    blob = seal(cli, master, "acme", "c", b"x", "--purpose", "oauth-tokens")
    keys = read_master_keys(master)
    assert py_open(keys, blob, "acme", b"c", purpose="oauth-tokens") == b"x"
    with pytest.raises(InvalidTag):
        py_open(keys, blob, "acme", b"c")


@pytest.mark.parametrize("plaintext", PLAINTEXTS)
def test_python_blob_opens_in_portcullis(cli, master, plaintext):
    keys = read_master_keys(master)
    blob = py_seal(keys, 1, plaintext, "acme-corp", b"credential:7")
    args = ["keys", "open", "--master-key-file", master, "--tenant", "acme-corp", "--context", "credential:7"]
    assert cli.ok(*args, stdin=base64.b64encode(blob)) == plaintext
    for i in [0, 1, 5, 6, 18, 49, 50, len(blob) - 1]:
        bad = bytearray(blob)
        bad[i] ^= 0x80 if i > 1 else 0x04
        cli.fails(*args, stdin=base64.b64encode(bytes(bad)))
    bad = bytearray(blob)
    bad[-1] ^= 0x80
    assert "decryption failed" in cli.fails(*args, stdin=base64.b64encode(bytes(bad)))
    cli.fails("keys", "open", "--master-key-file", master, "--tenant", "globex",
              "--context", "credential:7", stdin=base64.b64encode(blob))


def test_python_format_1_blob_still_opens_and_reencrypts_to_format_3(cli, master):
    keys = read_master_keys(master)
    old = py_seal_v1(keys, 1, b"legacy", "acme-corp", b"c")
    args = ["--master-key-file", master, "--tenant", "acme-corp", "--context", "c"]
    assert cli.ok("keys", "open", *args, stdin=base64.b64encode(old)) == b"legacy"
    moved = base64.b64decode(cli.ok("keys", "reencrypt", *args, stdin=base64.b64encode(old) + b"\n"))
    assert moved[:6] == b"\x03\x01\x00\x00\x00\x01"
    assert py_open(keys, moved, "acme-corp", b"c") == b"legacy"


def test_format_3_vectors_are_reproduced_from_the_spec():
    """interop/make_key_vectors.py (written from the crate docs with `cryptography` only)
    reproduces the committed vector file that the Rust tests check byte for byte."""
    root = pathlib.Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, str(root / "interop" / "make_key_vectors.py")],
                         check=True, capture_output=True).stdout
    committed = (root / "crates/portcullis-keys/tests/vectors/sealed_blob_v3.txt").read_bytes()
    assert out == committed
