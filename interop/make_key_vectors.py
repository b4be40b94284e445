"""Generates crates/portcullis-keys/tests/vectors/sealed_blob_v3.txt from the format 3
specification in the portcullis-keys crate docs ("Blob formats"), using only Python
`cryptography` and the text of that specification, plus the two-key AES-GCM vectors: one
ciphertext that plain AES-GCM opens under the keys of two tenants (the attack format 3
refuses). Run: interop/.venv/bin/python interop/make_key_vectors.py > crates/portcullis-keys/tests/vectors/sealed_blob_v3.txt"""

import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def lp(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def hkdf(ikm: bytes, info: bytes, salt=None) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def tenant_key(master: bytes, purpose: str, tenant: str, salt=None, epoch=0) -> bytes:
    info = lp(b"portcullis-keys/tenant-key/v1") + lp(purpose.encode()) + lp(tenant.encode()) + struct.pack(">I", epoch)
    return hkdf(master, info, salt)


def v3_keys(base: bytes):
    enc = hkdf(base, lp(b"portcullis-keys/v3/encryption-key"))
    com = hkdf(base, lp(b"portcullis-keys/v3/commitment"))
    return enc, com


def aad_v3(source: int, tenant: str, context: bytes) -> bytes:
    return bytes([3, source]) + lp(tenant.encode()) + lp(context)


def aad_v1(version: int, tenant: str, context: bytes) -> bytes:
    return b"\x01" + struct.pack(">I", version) + lp(tenant.encode()) + lp(context)


# --- GF(2^128) as GCM uses it (NIST SP 800-38D, 6.3), for the two-key construction ---
R = 0xE1 << 120


def gmul(x: int, y: int) -> int:
    z, v = 0, y
    for i in range(127, -1, -1):
        if (x >> i) & 1:
            z ^= v
        v = (v >> 1) ^ R if v & 1 else v >> 1
    return z


def ginv(x: int) -> int:
    # x^(2^128 - 2)
    result, base, e = 1 << 127, x, (1 << 128) - 2  # 1 in GCM's bit order is the top bit
    while e:
        if e & 1:
            result = gmul(result, base)
        base = gmul(base, base)
        e >>= 1
    return result


def aes_block(key: bytes, block: bytes) -> bytes:
    e = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return e.update(block) + e.finalize()


def blocks(data: bytes):
    data = data + b"\x00" * (-len(data) % 16)
    return [int.from_bytes(data[i:i + 16], "big") for i in range(0, len(data), 16)]


def ghash(h: int, aad: bytes, ct: bytes) -> int:
    y = 0
    for b in blocks(aad) + blocks(ct) + [(len(aad) * 8 << 64) | (len(ct) * 8)]:
        y = gmul(y ^ b, h)
    return y


def two_key_ciphertext(k1, aad1, k2, aad2, nonce, first_block):
    """A 32-byte ciphertext whose GCM tag is valid under (k1, aad1) and (k2, aad2): the
    second block X solves tag1(X) == tag2(X), which is linear in X (coefficient H^2)."""
    h1 = int.from_bytes(aes_block(k1, b"\x00" * 16), "big")
    h2 = int.from_bytes(aes_block(k2, b"\x00" * 16), "big")
    j0 = nonce + b"\x00\x00\x00\x01"
    s1 = int.from_bytes(aes_block(k1, j0), "big")
    s2 = int.from_bytes(aes_block(k2, j0), "big")
    zero = first_block + b"\x00" * 16
    c1 = ghash(h1, aad1, zero) ^ s1
    c2 = ghash(h2, aad2, zero) ^ s2
    x = gmul(c1 ^ c2, ginv(gmul(h1, h1) ^ gmul(h2, h2)))
    ct = first_block + x.to_bytes(16, "big")
    tag = (ghash(h1, aad1, ct) ^ s1).to_bytes(16, "big")
    assert tag == (ghash(h2, aad2, ct) ^ s2).to_bytes(16, "big")
    p1 = AESGCM(k1).decrypt(nonce, ct + tag, aad1)
    p2 = AESGCM(k2).decrypt(nonce, ct + tag, aad2)
    assert p1 != p2
    return ct + tag, p1, p2


MASTER = bytes(range(32))
NONCE = bytes(range(0x10, 0x1c))
PURPOSE = "credentials"
CONTEXT = b"credential:42"

print("# Blob format 3 of portcullis-keys (crate docs, \"Blob formats\") and the two-key AES-GCM")
print("# vectors. Source: interop/make_key_vectors.py, written from the crate docs alone with")
print("# Python `cryptography`; tests/vector.rs checks every value against the crate.")
print()

for case, salt, epoch in [("unsalted", None, 0), ("salted", bytes(range(0x20, 0x40)), 1)]:
    version, tenant, pt = 3, "acme-corp", b"sk_live_portcullis_example"
    tk = tenant_key(MASTER, PURPOSE, tenant, salt, epoch)
    enc, c = v3_keys(tk)
    aad = aad_v3(1, tenant, CONTEXT)
    blob = bytes([3, 1]) + struct.pack(">I", version) + NONCE + c + AESGCM(enc).encrypt(NONCE, pt, aad)
    print(f"case = {case}")
    print(f"master_key = {MASTER.hex()}")
    print(f"key_version = {version}")
    print(f"purpose = {PURPOSE}")
    print(f"tenant = {tenant}")
    if salt:
        print(f"salt_epoch = {epoch}")
        print(f"salt = {salt.hex()}")
    print(f"context = {CONTEXT.decode()}")
    print(f"plaintext = {pt.decode()}")
    print(f"nonce = {NONCE.hex()}")
    print(f"tenant_key = {tk.hex()}")
    print(f"encryption_key = {enc.hex()}")
    print(f"commitment = {c.hex()}")
    print(f"aad = {aad.hex()}")
    print(f"blob = {blob.hex()}")
    print()

# Envelope source: a data key given in the clear (the KMS part is the KMS's business).
data_key = bytes(range(0x40, 0x60))
kek, wrapped = b"kek-main", bytes(range(0x80, 0x80 + 61))
enc, c = v3_keys(data_key)
aad = aad_v3(2, "acme-corp", CONTEXT)
pt = b"sk_live_portcullis_example"
blob = (bytes([3, 2]) + struct.pack(">H", len(kek)) + kek + struct.pack(">H", len(wrapped)) + wrapped
        + NONCE + c + AESGCM(enc).encrypt(NONCE, pt, aad))
print("case = envelope")
print(f"data_key = {data_key.hex()}")
print(f"kek = {kek.decode()}")
print(f"wrapped = {wrapped.hex()}")
print("tenant = acme-corp")
print(f"context = {CONTEXT.decode()}")
print(f"plaintext = {pt.decode()}")
print(f"nonce = {NONCE.hex()}")
print(f"encryption_key = {enc.hex()}")
print(f"commitment = {c.hex()}")
print(f"aad = {aad.hex()}")
print(f"blob = {blob.hex()}")
print()

# Two tenants, one ciphertext: plain AES-GCM opens it under both tenants' keys.
for case, fmt in [("two-key-v1", 1), ("two-key-v3", 3)]:
    version = 1
    ka = tenant_key(MASTER, PURPOSE, "acme")
    kg = tenant_key(MASTER, PURPOSE, "globex")
    if fmt == 1:
        ea, eg = ka, kg
        aa, ag = aad_v1(version, "acme", CONTEXT), aad_v1(version, "globex", CONTEXT)
    else:
        ea, eg = v3_keys(ka)[0], v3_keys(kg)[0]
        aa, ag = aad_v3(1, "acme", CONTEXT), aad_v3(1, "globex", CONTEXT)
    body, pa, pg = two_key_ciphertext(ea, aa, eg, ag, NONCE, b"portcullis-2key!")
    print(f"case = {case}")
    print(f"master_key = {MASTER.hex()}")
    print(f"key_version = {version}")
    print(f"purpose = {PURPOSE}")
    print(f"context = {CONTEXT.decode()}")
    print(f"nonce = {NONCE.hex()}")
    print(f"acme_key = {ea.hex()}")
    print(f"globex_key = {eg.hex()}")
    print(f"acme_aad = {aa.hex()}")
    print(f"globex_aad = {ag.hex()}")
    print(f"ciphertext_and_tag = {body.hex()}")
    print(f"acme_plaintext = {pa.hex()}")
    print(f"globex_plaintext = {pg.hex()}")
    if fmt == 1:
        legacy = b"\x01" + struct.pack(">I", version) + NONCE + body
        print(f"blob = {legacy.hex()}")
    else:
        ca = v3_keys(ka)[1]
        cg = v3_keys(kg)[1]
        head = bytes([3, 1]) + struct.pack(">I", version) + NONCE
        print(f"acme_commitment = {ca.hex()}")
        print(f"globex_commitment = {cg.hex()}")
        print(f"blob_acme = {(head + ca + body).hex()}")
        print(f"blob_globex = {(head + cg + body).hex()}")
    print()
