"""Sealed credentials: a blob from `portcullis keys seal` opens in Python `cryptography`
following only the documented formats (portcullis-keys "Sealed blob format" and the CLI's
master-key file), and a blob Python seals the same way opens with `portcullis keys open`.
Tampered variants fail on both sides."""

import base64
import os
import struct

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


def aad(version: int, tenant: str, context: bytes) -> bytes:
    return b"\x01" + struct.pack(">I", version) + lp(tenant.encode()) + lp(context)


def py_open(keys: dict, blob: bytes, tenant: str, context: bytes, purpose="credentials") -> bytes:
    if len(blob) < 33 or blob[0] != 1:
        raise ValueError("bad blob")
    (version,) = struct.unpack(">I", blob[1:5])
    key = tenant_key(keys[version], purpose, tenant)
    return AESGCM(key).decrypt(blob[5:17], blob[17:], aad(version, tenant, context))


def py_seal(keys: dict, version: int, plaintext: bytes, tenant: str, context: bytes) -> bytes:
    nonce = os.urandom(12)
    key = tenant_key(keys[version], "credentials", tenant)
    return b"\x01" + struct.pack(">I", version) + nonce + AESGCM(key).encrypt(nonce, plaintext, aad(version, tenant, context))


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
    keys = read_master_keys(master)
    assert py_open(keys, blob, "acme-corp", b"credential:42") == plaintext


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
    assert moved[1:5] == b"\x00\x00\x00\x02"
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
    bad = bytearray(blob)
    bad[-1] ^= 0x80
    assert "decryption failed" in cli.fails(*args, stdin=base64.b64encode(bytes(bad)))
    cli.fails("keys", "open", "--master-key-file", master, "--tenant", "globex",
              "--context", "credential:7", stdin=base64.b64encode(blob))
