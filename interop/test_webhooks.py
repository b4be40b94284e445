"""Webhooks in both directions: the official `stripe`, `svix` and `standardwebhooks`
packages sign and `portcullis webhook verify` checks; `portcullis webhook sign` signs and
the packages verify. Tampered variants fail on both sides."""

import base64
import os
import time
from datetime import datetime, timezone

import pytest
import standardwebhooks
import stripe
import svix.webhooks

BODIES = [
    b'{"id":"evt_1","object":"event","type":"invoice.paid"}',
    '{"id":"evt_2","object":"event","data":{"name":"Zoë – 東京 ✓"}}'.encode(),
    b'{"id":"evt_3","object":"event","data":{"list":[1,2,3],"nested":{"a":null}}}',
]
STRIPE_SECRET = "whsec_" + base64.b64encode(os.urandom(24)).decode()


def std_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


def header_args(headers: dict) -> list:
    out = []
    for name, value in headers.items():
        out += ["--header", f"{name}: {value}"]
    return out


def parse_headers(text: bytes) -> dict:
    out = {}
    for line in text.decode().splitlines():
        name, _, value = line.partition(": ")
        out[name] = value
    return out


def tamper(body: bytes) -> bytes:
    return body.replace(b'"id":"evt_', b'"id":"evt_X')


# --- peers sign, portcullis verifies -------------------------------------------------

@pytest.mark.parametrize("body", BODIES)
def test_stripe_signed_verifies_in_portcullis(cli, body):
    header = stripe.WebhookSignature.generate_signature_header(
        body.decode(), STRIPE_SECRET, timestamp=int(time.time()))
    args = ["webhook", "verify", "--scheme", "stripe", "--secret", STRIPE_SECRET,
            "--header", f"Stripe-Signature: {header}"]
    assert cli.ok(*args, stdin=body) == b"valid\n"
    assert "no signature matched" in cli.fails(*args, stdin=tamper(body))
    cli.fails("webhook", "verify", "--scheme", "stripe", "--secret", STRIPE_SECRET + "x",
              "--header", f"Stripe-Signature: {header}", stdin=body)


def test_stripe_stale_timestamp_fails_in_portcullis(cli):
    body = BODIES[0]
    header = stripe.WebhookSignature.generate_signature_header(
        body.decode(), STRIPE_SECRET, timestamp=int(time.time()) - 3600)
    err = cli.fails("webhook", "verify", "--scheme", "stripe", "--secret", STRIPE_SECRET,
                    "--header", f"Stripe-Signature: {header}", stdin=body)
    assert "too old" in err


@pytest.mark.parametrize("body", BODIES)
def test_standardwebhooks_signed_verifies_in_portcullis(cli, body):
    secret = std_secret()
    now = datetime.now(tz=timezone.utc)
    sig = standardwebhooks.Webhook(secret).sign("msg_p1", now, body.decode())
    headers = {"webhook-id": "msg_p1", "webhook-timestamp": str(int(now.timestamp())),
               "webhook-signature": sig}
    args = ["webhook", "verify", "--scheme", "standard", "--secret", secret, *header_args(headers)]
    assert cli.ok(*args, stdin=body) == b"valid\n"
    cli.fails(*args, stdin=tamper(body))
    wrong_id = dict(headers, **{"webhook-id": "msg_p2"})
    cli.fails("webhook", "verify", "--scheme", "standard", "--secret", secret,
              *header_args(wrong_id), stdin=body)
    cli.fails("webhook", "verify", "--scheme", "standard", "--secret", std_secret(),
              *header_args(headers), stdin=body)


@pytest.mark.parametrize("body", BODIES)
def test_svix_signed_verifies_in_portcullis(cli, body):
    secret = std_secret()
    now = datetime.now(tz=timezone.utc)
    sig = svix.webhooks.Webhook(secret).sign("msg_svix", now, body.decode())
    headers = {"svix-id": "msg_svix", "svix-timestamp": str(int(now.timestamp())),
               "svix-signature": sig}
    args = ["webhook", "verify", "--scheme", "standard", "--secret", secret, *header_args(headers)]
    assert cli.ok(*args, stdin=body) == b"valid\n"
    cli.fails(*args, stdin=tamper(body))
    flipped = sig[:-3] + ("A" if sig[-3] != "A" else "B") + sig[-2:]
    cli.fails("webhook", "verify", "--scheme", "standard", "--secret", secret,
              *header_args(dict(headers, **{"svix-signature": flipped})), stdin=body)


# --- portcullis signs, peers verify --------------------------------------------------

@pytest.mark.parametrize("body", BODIES)
def test_portcullis_stripe_verifies_in_stripe(cli, body):
    headers = parse_headers(cli.ok("webhook", "sign", "--scheme", "stripe",
                                   "--secret", STRIPE_SECRET, stdin=body))
    header = headers["Stripe-Signature"]
    assert stripe.WebhookSignature.verify_header(body, header, STRIPE_SECRET, tolerance=300)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(tamper(body), header, STRIPE_SECRET, tolerance=300)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(body, header, STRIPE_SECRET + "x", tolerance=300)


@pytest.mark.parametrize("body", BODIES)
def test_portcullis_standard_verifies_in_standardwebhooks(cli, body):
    secret = std_secret()
    headers = parse_headers(cli.ok("webhook", "sign", "--scheme", "standard", "--secret", secret,
                                   "--id", "msg_ours", stdin=body))
    assert set(h.lower() for h in headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    standardwebhooks.Webhook(secret).verify(body, headers, json_parse=False)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(tamper(body), headers, json_parse=False)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(std_secret()).verify(body, headers, json_parse=False)


@pytest.mark.parametrize("body", BODIES)
def test_portcullis_standard_verifies_in_svix(cli, body):
    secret = std_secret()
    headers = parse_headers(cli.ok("webhook", "sign", "--scheme", "standard", "--secret", secret,
                                   stdin=body))
    # Svix receivers see the same values under `svix-*` names.
    svix_headers = {k.replace("webhook-", "svix-"): v for k, v in headers.items()}
    svix.webhooks.Webhook(secret).verify(body, svix_headers)
    svix.webhooks.Webhook(secret).verify(body, headers)
    with pytest.raises(svix.webhooks.WebhookVerificationError):
        svix.webhooks.Webhook(secret).verify(tamper(body), svix_headers)


def test_portcullis_stale_timestamp_fails_in_peers(cli):
    body = BODIES[0]
    old = str(int(time.time()) - 3600)
    secret = std_secret()
    headers = parse_headers(cli.ok("webhook", "sign", "--scheme", "standard", "--secret", secret,
                                   "--timestamp", old, stdin=body))
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(body, headers, json_parse=False)
    header = parse_headers(cli.ok("webhook", "sign", "--scheme", "stripe", "--secret", STRIPE_SECRET,
                                  "--timestamp", old, stdin=body))["Stripe-Signature"]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(body, header, STRIPE_SECRET, tolerance=300)
