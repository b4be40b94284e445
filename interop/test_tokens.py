"""JWTs in both directions: tokens from `portcullis token issue` (HS256, EdDSA, ES256)
verify in PyJWT with the JWKS from `portcullis token jwks` (and the HS256 JSON Web Key);
tokens made by PyJWT verify with `portcullis token verify`. Tampered variants fail on
both sides."""

import base64
import hashlib
import json
import secrets
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

ISS, AUD = "https://auth.example.com", "api"
ALGS = ["HS256", "EdDSA", "ES256"]


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def thumbprint(jwk: dict) -> str:
    """RFC 7638 thumbprint: SHA-256 of the required members, sorted, no whitespace."""
    members = {k: jwk[k] for k in (("crv", "kty", "x") if jwk["kty"] == "OKP" else ("crv", "kty", "x", "y"))}
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":")).encode()
    return b64u(hashlib.sha256(canonical).digest())


def keygen(cli, tmp_path, alg):
    path = tmp_path / f"{alg}.key"
    kid = cli.ok("token", "keygen", "--alg", alg, "--out", path).decode().strip()
    return path, kid


def issue(cli, alg, key, sub="alice"):
    return cli.ok("token", "issue", "--alg", alg, "--key-file", key, "--sub", sub,
                  "--tenant", "acme", "--aud", AUD, "--iss", ISS, "--ttl", "600").decode().strip()


def pyjwt_key(cli, tmp_path, alg, key):
    if alg == "HS256":
        return jwt.PyJWK(json.loads(key.read_text())).key
    jwks = json.loads(cli.ok("token", "jwks", "--key-file", key))
    (jwk,) = jwks["keys"]
    assert "d" not in jwk
    return jwt.PyJWK(jwk).key


def flip_payload(token: str) -> str:
    h, p, s = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    claims["sub"] = "mallory"
    return f"{h}.{b64u(json.dumps(claims).encode())}.{s}"


# --- portcullis issues, PyJWT verifies ------------------------------------------------

@pytest.mark.parametrize("alg", ALGS)
def test_portcullis_token_verifies_in_pyjwt(cli, tmp_path, alg):
    key, kid = keygen(cli, tmp_path, alg)
    token = issue(cli, alg, key)
    vkey = pyjwt_key(cli, tmp_path, alg, key)
    claims = jwt.decode(token, vkey, algorithms=[alg], audience=AUD, issuer=ISS,
                        options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]})
    assert claims["sub"] == "alice" and claims["tid"] == "acme" and claims["typ"] == "access"
    header = jwt.get_unverified_header(token)
    assert header["kid"] == kid and header["alg"] == alg


@pytest.mark.parametrize("alg", ALGS)
def test_tampered_portcullis_token_fails_in_pyjwt(cli, tmp_path, alg):
    key, _ = keygen(cli, tmp_path, alg)
    token = issue(cli, alg, key)
    vkey = pyjwt_key(cli, tmp_path, alg, key)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(flip_payload(token), vkey, algorithms=[alg], audience=AUD, issuer=ISS)
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(token, vkey, algorithms=[alg], audience="other", issuer=ISS)
    other_path = tmp_path / f"other-{alg}.key"
    cli.ok("token", "keygen", "--alg", alg, "--out", other_path)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, pyjwt_key(cli, tmp_path, alg, other_path), algorithms=[alg],
                   audience=AUD, issuer=ISS)


# --- PyJWT issues, portcullis verifies ------------------------------------------------

def claims(**over):
    now = int(time.time())
    base = {"iss": ISS, "aud": AUD, "sub": "alice", "tid": "acme", "iat": now, "nbf": now,
            "exp": now + 300, "jti": secrets.token_urlsafe(12), "typ": "access"}
    base.update(over)
    return base


def python_keypair(alg):
    """A private key made by `cryptography` and its public JWK with an RFC 7638 kid."""
    if alg == "EdDSA":
        priv = ed25519.Ed25519PrivateKey.generate()
        raw = priv.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64u(raw)}
    else:
        priv = ec.generate_private_key(ec.SECP256R1())
        nums = priv.public_key().public_numbers()
        jwk = {"kty": "EC", "crv": "P-256", "x": b64u(nums.x.to_bytes(32, "big")),
               "y": b64u(nums.y.to_bytes(32, "big"))}
    jwk.update(kid=thumbprint(jwk), alg=alg, use="sig")
    return priv, jwk


# P-256 group order. JOSE does not require low-S ECDSA signatures and `cryptography`
# does not normalize s, so about half of PyJWT's ES256 tokens are high-S, which
# portcullis refuses unless `--danger-accept-high-s` (a token must have one valid string).
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def signature_s(token: str) -> int:
    sig = base64.urlsafe_b64decode(token.split(".")[2] + "==")
    assert len(sig) == 64
    return int.from_bytes(sig[32:], "big")


def with_s(token: str, s: int) -> str:
    h, p, sig = token.split(".")
    raw = base64.urlsafe_b64decode(sig + "==")
    return f"{h}.{p}.{b64u(raw[:32] + s.to_bytes(32, 'big'))}"


def pyjwt_encode(payload, key, alg, kid):
    """PyJWT's token, its ES256 signature put in low-S form (the same signature)."""
    token = jwt.encode(payload, key, algorithm=alg, headers={"kid": kid})
    if alg == "ES256" and signature_s(token) > P256_N // 2:
        token = with_s(token, P256_N - signature_s(token))
    return token


def verify_args(*extra):
    return ["token", "verify", "--aud", AUD, "--iss", ISS, *extra]


@pytest.mark.parametrize("alg", ["EdDSA", "ES256"])
def test_pyjwt_token_verifies_in_portcullis_with_jwks(cli, tmp_path, alg):
    priv, jwk = python_keypair(alg)
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [jwk]}))
    token = pyjwt_encode(claims(), priv, alg, jwk["kid"])
    out = json.loads(cli.ok(*verify_args("--jwks", jwks, token)))
    assert out["sub"] == "alice" and out["tid"] == "acme"
    # Tampered, expired, wrong audience, alg=none, another key under the same kid.
    assert "invalid signature" in cli.fails(*verify_args("--jwks", jwks, flip_payload(token)))
    expired = pyjwt_encode(claims(exp=int(time.time()) - 120, iat=int(time.time()) - 600,
                                  nbf=int(time.time()) - 600), priv, alg, jwk["kid"])
    assert "expired" in cli.fails(*verify_args("--jwks", jwks, expired))
    wrong_aud = pyjwt_encode(claims(aud="other"), priv, alg, jwk["kid"])
    cli.fails(*verify_args("--jwks", jwks, wrong_aud))
    none = jwt.encode(claims(), None, algorithm="none", headers={"kid": jwk["kid"]})
    cli.fails(*verify_args("--jwks", jwks, none))
    other, _ = python_keypair(alg)
    forged = jwt.encode(claims(), other, algorithm=alg, headers={"kid": jwk["kid"]})
    assert "invalid signature" in cli.fails(*verify_args("--jwks", jwks, forged))


def test_high_s_es256_is_refused_unless_opted_in(cli, tmp_path):
    """The same PyJWT signature in both forms: (r, s) low and (r, n - s) high. PyJWT
    accepts both; portcullis only the low one, or both with `--danger-accept-high-s`."""
    priv, jwk = python_keypair("ES256")
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [jwk]}))
    low = pyjwt_encode(claims(), priv, "ES256", jwk["kid"])
    high = with_s(low, P256_N - signature_s(low))
    assert signature_s(high) > P256_N // 2 >= signature_s(low)
    pub = priv.public_key()
    for token in (low, high):
        assert jwt.decode(token, pub, algorithms=["ES256"], audience=AUD, issuer=ISS)["sub"] == "alice"
    cli.ok(*verify_args("--jwks", jwks, low))
    assert "invalid signature" in cli.fails(*verify_args("--jwks", jwks, high))
    cli.ok(*verify_args("--jwks", jwks, "--danger-accept-high-s", high))


def test_portcullis_es256_tokens_are_low_s(cli, tmp_path):
    key, _ = keygen(cli, tmp_path, "ES256")
    for _ in range(16):
        assert signature_s(issue(cli, "ES256", key)) <= P256_N // 2


@pytest.mark.parametrize("alg", ["EdDSA", "ES256"])
def test_pyjwt_signs_with_portcullis_pem_key(cli, tmp_path, alg):
    """PyJWT loads the PKCS#8 PEM from `portcullis token keygen`; ours verifies."""
    key, kid = keygen(cli, tmp_path, alg)
    jwks = tmp_path / "jwks.json"
    jwks.write_bytes(cli.ok("token", "jwks", "--key-file", key))
    token = pyjwt_encode(claims(), key.read_bytes(), alg, kid)
    assert json.loads(cli.ok(*verify_args("--jwks", jwks, token)))["sub"] == "alice"
    cli.fails(*verify_args("--jwks", jwks, flip_payload(token)))


def test_pyjwt_hs256_verifies_in_portcullis(cli, tmp_path):
    secret = secrets.token_urlsafe(32)
    token = jwt.encode(claims(), secret, algorithm="HS256", headers={"kid": "shared-2026"})
    assert json.loads(cli.ok(*verify_args("--secret", secret, token)))["jti"]
    secret_file = tmp_path / "secret"
    secret_file.write_text(secret + "\n")
    cli.ok(*verify_args("--secret-file", secret_file, token))
    assert "invalid signature" in cli.fails(*verify_args("--secret", secret + "x", token))
    cli.fails(*verify_args("--secret", secret, flip_payload(token)))
    # Each --secret is its own key, tried in turn: the previous secret still verifies.
    old = secrets.token_urlsafe(32)
    assert json.loads(cli.ok(*verify_args("--secret", old, "--secret", secret, token)))["jti"]
    assert "invalid signature" in cli.fails(*verify_args("--secret", old, "--secret", old + "y", token))
    # PyJWT's default header has no `kid`: every secret given is tried.
    bare = jwt.encode(claims(), secret, algorithm="HS256")
    assert jwt.get_unverified_header(bare).get("kid") is None
    assert json.loads(cli.ok(*verify_args("--secret", secret, bare)))["sub"] == "alice"
    cli.ok(*verify_args("--secret", old, "--secret", secret, bare))
    assert "invalid signature" in cli.fails(*verify_args("--secret", old, bare))
    # Key confusion: an HS256 token "signed" with a public key's bytes is refused.
    _, jwk = python_keypair("EdDSA")
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [jwk]}))
    confused = jwt.encode(claims(), jwk["x"], algorithm="HS256", headers={"kid": jwk["kid"]})
    cli.fails(*verify_args("--jwks", jwks, confused))


@pytest.mark.parametrize("alg", ["EdDSA", "ES256"])
def test_python_pem_key_issues_in_portcullis_and_verifies_in_pyjwt(cli, tmp_path, alg):
    """A PKCS#8 PEM written by `cryptography` loads in `portcullis token issue`."""
    priv, jwk = python_keypair(alg)
    pem = priv.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    key = tmp_path / "py.pem"
    key.write_bytes(pem)
    token = issue(cli, alg, key)
    assert jwt.get_unverified_header(token)["kid"] == jwk["kid"]
    out = jwt.decode(token, priv.public_key(), algorithms=[alg], audience=AUD, issuer=ISS)
    assert out["sub"] == "alice"
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(flip_payload(token), priv.public_key(), algorithms=[alg], audience=AUD, issuer=ISS)
