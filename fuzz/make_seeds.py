#!/usr/bin/env python3
"""Writes fuzz/seeds/<target>/ from the crates' published test vectors (Python 3 stdlib only).

The seeds are committed; rerun this after a vector file or a target's input layout changes:
    python3 fuzz/make_seeds.py
Each seed is laid out the way its target reads its input (see the target's first lines).
"""
import base64
import hashlib
import json
import pathlib
import struct

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEEDS = ROOT / "fuzz" / "seeds"
CRATES = ROOT / "crates"


def kv(path):
    """The `key = value` / `key=value` lines of a vector text file, as a list of dicts per case."""
    cases, cur = [], {}
    for line in (CRATES / path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            if cur and not line:
                cases.append(cur)
                cur = {}
            continue
        k, _, v = line.partition("=")
        cur[k.strip()] = v.strip()
    if cur:
        cases.append(cur)
    return cases


def vectors(path):
    return json.loads((CRATES / path).read_text())


def write(target, name, data):
    d = SEEDS / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (d / name).write_bytes(data)


def main():
    # core_parse_ids: one identifier per input.
    for name, s in [("tenant", "acme-corp"), ("actor", "alice@example.com"), ("key_id", "hs-2026-01"),
                    ("too_long", "t" * 65), ("unicode", "é")]:
        write("core_parse_ids", name, s)

    # tokens_verify: mode byte 0 = raw token text, 1 = (u16 pos, byte) replacements in the
    # fixture's valid token, 2 = claims JSON signed with the fixture's HS256 key.
    for c in kv("portcullis-tokens/tests/vectors/rfc7515_a1_hs256.txt") + kv("portcullis-tokens/tests/vectors/rfc8037_a4_ed25519.txt"):
        for k in ("token", "jws"):
            if k in c:
                write("tokens_verify", f"raw_{hashlib.sha256(c[k].encode()).hexdigest()[:8]}", b"\0" + c[k].encode())
    for c in kv("portcullis-tokens/tests/vectors/refresh_token.txt") + kv("portcullis-tokens/tests/vectors/api_key.txt"):
        for k in ("token", "key"):
            if k in c:
                write("tokens_verify", f"raw_{k}", b"\0" + c[k].encode())
    write("tokens_verify", "mutate_header", b"\1" + struct.pack("<H", 3) + b"X" + struct.pack("<H", 10) + b".")
    write("tokens_verify", "mutate_signature", b"\1" + struct.pack("<H", 0xFFFF) + b"A")
    claims = {"iss": "iss", "aud": "aud", "sub": "alice", "tid": "acme", "typ": "access",
              "iat": 1_700_000_000, "nbf": 1_700_000_000, "exp": 1_700_000_900, "jti": "fuzz-1"}
    write("tokens_verify", "claims_valid", b"\2" + json.dumps(claims).encode())
    write("tokens_verify", "claims_expired", b"\2" + json.dumps({**claims, "exp": 1}).encode())
    write("tokens_verify", "claims_wrong_type", b"\2" + json.dumps({**claims, "typ": "ticket"}).encode())

    # tokens_idp: mode 0 = a JWKS document, 1 = a token, 2 = the claims of a signed token.
    n = base64.urlsafe_b64encode(b"\xc1" + b"\x55" * 254 + b"\x01").rstrip(b"=").decode()
    jwks = {"keys": [{"kty": "RSA", "n": n, "e": "AQAB", "alg": "RS256", "kid": "r1"},
                     {"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA", "kid": "e1"},
                     {"kty": "oct", "k": "c2VjcmV0"}]}
    write("tokens_idp", "jwks", b"\0" + json.dumps(jwks).encode())
    write("tokens_idp", "token_raw", b"\1" + b"eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJ4In0.AAAA")
    idp = {"iss": "https://idp.example", "sub": "auth0|abc", "aud": ["api"], "org": "acme",
           "iat": 1_700_000_000, "exp": 1_700_000_900, "scope": "a b"}
    write("tokens_idp", "claims_valid", b"\2" + json.dumps(idp).encode())
    write("tokens_idp", "claims_expired", b"\2" + json.dumps({**idp, "exp": 1}).encode())
    write("tokens_idp", "claims_no_tenant", b"\2" + json.dumps({k: v for k, v in idp.items() if k != "org"}).encode())

    # tokens_dpop: 0 = a whole proof (RFC 9449 figure 2), 1 = a header, 2 = a payload,
    # 3 = a discovery document / JWKS.
    fig2 = ("eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19"
            ".eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ"
            ".2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg")
    write("tokens_dpop", "rfc9449_figure_2", b"\0" + fig2.encode())
    ec = {"kty": "EC", "crv": "P-256", "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
          "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"}
    write("tokens_dpop", "header", b"\1" + json.dumps({"typ": "dpop+jwt", "alg": "ES256", "jwk": ec}).encode())
    write("tokens_dpop", "header_rsa", b"\1" + json.dumps({"typ": "dpop+jwt", "alg": "RS256", "jwk": jwks["keys"][0]}).encode())
    write("tokens_dpop", "payload", b"\2" + json.dumps({"jti": "j", "htm": "GET", "htu": "https://api.example/orders", "iat": 1_700_000_000, "ath": "x", "nonce": "n"}).encode())
    write("tokens_dpop", "discovery", b"\3" + json.dumps({"issuer": "https://idp.example", "jwks_uri": "https://idp.example/jwks"}).encode())
    write("tokens_dpop", "jwks", b"\3" + json.dumps(jwks).encode())

    # keys_open: the published sealed blobs, and a truncation.
    for name in ["v1", "v3"]:
        for c in kv(f"portcullis-keys/tests/vectors/sealed_blob_{name}.txt"):
            for field in ["blob", "blob_acme"]:
                if field in c:
                    blob = bytes.fromhex(c[field])
                    write("keys_open", f"{name}_{field}_{c.get('case', 'x')}", blob)
                    write("keys_open", f"{name}_{field}_{c.get('case', 'x')}_cut", blob[:20])

    # passwords_verify: mode 0 = password NUL stored hash (the published legacy vectors with
    # their passwords), 1 = a new password, 2 = a breach list.
    legacy = (CRATES / "portcullis-passwords/tests/vectors/legacy_hashes.txt").read_text().splitlines()
    rows = [l.split() for l in legacy if l.strip() and not l.startswith("#")]
    for i, (kind, expect, pw, stored) in enumerate(rows):
        if kind in ("bcrypt", "pbkdf2-sha256", "argon2id") and expect == "ok":
            password = b"" if pw == "-" else bytes.fromhex(pw)
            write("passwords_verify", f"legacy_{i}_{kind}", b"\0" + password + b"\0" + stored.encode())
    write("passwords_verify", "policy_weak", b"\1alice2024")
    write("passwords_verify", "policy_strong", b"\1quartz lantern mosaic drift")
    write("passwords_verify", "breach_list", b"\2# list\n5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:3861493\n")
    write("passwords_verify", "range_line", b"\21E4C9B93F3F0682250B6CF8331B7EE68FD8:3861493")

    # webhooks_parse_header: selector byte (scheme index in the target's SCHEMES), then the
    # header values in the target's NAMES order, separated by '\n'.
    names = ["webhook-id", "webhook-timestamp", "webhook-signature", "svix-id", "svix-timestamp",
             "svix-signature", "stripe-signature", "x-hub-signature-256", "x-shopify-hmac-sha256",
             "x-slack-signature", "x-slack-request-timestamp", "x-zm-signature", "x-zm-request-timestamp"]
    schemes = {"stripe": 0, "standard": 1, "zoom": 2, "github": 3, "shopify": 4, "slack": 5}
    for file, scheme in [("stripe.json", "stripe"), ("standard_webhooks.json", "standard"), ("zoom.json", "zoom"),
                         ("github.json", "github"), ("slack.json", "slack")]:
        for i, case in enumerate(vectors(f"portcullis-webhooks/tests/vectors/{file}")["cases"][:4]):
            headers = {k.lower(): v for k, v in case["headers"]}
            fields = "\n".join(headers.get(n, "") for n in names)
            write("webhooks_parse_header", f"{scheme}_{i}", bytes([schemes[scheme]]) + fields.encode())
            # webhooks_verify: [scheme, secret length, timestamp offset, body byte to change],
            # then the secret, then the body.
            secret = case["secrets"][0].encode()[:47]
            body = case.get("body", "{}").encode()
            write("webhooks_verify", f"{scheme}_{i}", bytes([schemes[scheme], len(secret), i, 7]) + secret + body)

    # audit_verify_chain: mode 0 = raw lines (the published entries), 1 = (line, u16 pos, xor).
    entries = vectors("portcullis-audit/tests/vectors/entry_encoding.json")["cases"]
    write("audit_verify_chain", "raw_entries", b"\0" + "\n".join(json.dumps(e) for e in entries).encode())
    write("audit_verify_chain", "flip_one", b"\1" + bytes([1]) + struct.pack("<H", 12) + b"\x01")
    write("audit_verify_chain", "flip_two", b"\1" + bytes([0]) + struct.pack("<H", 40) + b"\x20" + bytes([3]) + struct.pack("<H", 3) + b"\x02")

    # audit_verify_proof: u64 a, u64 b, then leaf 0xff root 0xff proof hashes.
    for case in vectors("portcullis-audit/tests/vectors/merkle_inclusion.json")["cases"][:6]:
        idx, size = case["leafIdx"], case["treeSize"]
        b64 = lambda v: base64.b64decode(v or "")
        parts = [b64(case["leafHash"]), b64(case["root"])] + [b64(h) for h in case["proof"] or []]
        write("audit_verify_proof", f"inclusion_{idx}_{size}", struct.pack("<QQ", idx, size) + b"\xff".join(parts))
    write("audit_verify_proof", "small", struct.pack("<QQ", 3, 7) + b"\xff" * 3)

    # rbac_policy_parse: the documented policy file.
    write("rbac_policy_parse", "documented_policy", (CRATES / "portcullis-rbac/tests/vectors/documented_policy.toml").read_bytes())
    write("rbac_policy_parse", "minimal", 'version = 1\n[permissions."a:b"]\n[roles.r]\ngrants = ["a:b"]\n')

    # postgres_ids: schema names, blob ids, tenant '\0' credential pairs.
    for name, s in [("schema", "portcullis"), ("schema_bad", "Robert'); DROP TABLE x;--"),
                    ("pair", "acme\0cred-42"), ("blob_id", "acme/cred-42"),
                    ("url_tls", "postgres://u:pw@db.example:5432/app?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem"),
                    ("url_bad", "postgres://u@h/db?password=hunter2&sslmode=bogus%zz")]:
        write("postgres_ids", name, s)

    # redis_key_escape: halves that collide unless the escape is injective.
    for name, s in [("plain", "acmealice"), ("braces", "{a}:b{"), ("colons", "a:b:c:"), ("escape", "%7B%%3A")]:
        write("redis_key_escape", name, s)


if __name__ == "__main__":
    main()
