//! Edge cases from the issue: raw bytes, timestamp boundaries and syntax, ids with dots
//! (refused),
//! duplicate headers, caps, secret hints, errors that do not leak.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{SCHEMES, secret_for, sign, verifier, verify};
use portcullis_core::{FixedClock, Provider, SecretBytes, UnixTime};
use portcullis_webhooks::{
    Custom, Encoding, Header, HeaderLookup, Key, Limits, SecretProblem, StandardWebhooks, Stripe,
    Tolerance, Verifier, WebhookError, from_fn,
};

const TS: u64 = 1_700_000_000;

fn set(headers: &mut [(String, String)], name: &str, value: &str) {
    let h = headers
        .iter_mut()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .unwrap();
    h.1 = value.to_owned();
}

#[test]
fn non_utf8_body_round_trips_in_every_scheme() {
    let body: &[u8] = b"\xff\xfe\x00binary\x80\xc3\x28 payload";
    for scheme in SCHEMES {
        let h = sign(scheme, secret_for(scheme), "msg_1", TS, body);
        let ok = verify(scheme, &[secret_for(scheme)], TS, &h, body)
            .unwrap_or_else(|e| panic!("{scheme}: {e}"));
        assert_eq!(ok.secret_index, 0);
        let mut other = body.to_vec();
        other[0] ^= 1;
        assert!(
            matches!(
                verify(scheme, &[secret_for(scheme)], TS, &h, &other),
                Err(WebhookError::NoMatch { .. })
            ),
            "{scheme}"
        );
    }
}

#[test]
fn tolerance_boundaries_each_way_for_timestamped_schemes() {
    for scheme in ["stripe", "standard", "zoom", "slack"] {
        let s = secret_for(scheme);
        let h = sign(scheme, s, "msg_1", TS, b"{}");
        assert!(
            verify(scheme, &[s], TS + 300, &h, b"{}").is_ok(),
            "{scheme}: 300 s old"
        );
        assert!(
            matches!(
                verify(scheme, &[s], TS + 301, &h, b"{}"),
                Err(WebhookError::TimestampTooOld {
                    age_secs: 301,
                    tolerance_secs: 300
                })
            ),
            "{scheme}"
        );
        assert!(
            verify(scheme, &[s], TS - 300, &h, b"{}").is_ok(),
            "{scheme}: 300 s ahead"
        );
        assert!(
            matches!(
                verify(scheme, &[s], TS - 301, &h, b"{}"),
                Err(WebhookError::TimestampInFuture {
                    ahead_secs: 301,
                    tolerance_secs: 300
                })
            ),
            "{scheme}"
        );
    }
}

#[test]
fn tolerance_is_configurable_separately() {
    let s = secret_for("standard");
    let h = sign("standard", s, "msg_1", TS, b"{}");
    let tol = Tolerance {
        past: std::time::Duration::from_secs(600),
        future: std::time::Duration::from_secs(5),
    };
    let v = |now| verifier("standard", &[s], now).tolerance(tol);
    assert!(v(TS + 600).verify(&&h, b"{}").is_ok());
    assert!(v(TS + 601).verify(&&h, b"{}").is_err());
    assert!(v(TS - 5).verify(&&h, b"{}").is_ok());
    assert!(matches!(
        v(TS - 6).verify(&&h, b"{}"),
        Err(WebhookError::TimestampInFuture { .. })
    ));
    assert_eq!(tol.replay_ttl().as_secs(), 605);
}

#[test]
fn bad_timestamps_are_malformed() {
    for scheme in ["stripe", "standard", "zoom", "slack"] {
        let s = secret_for(scheme);
        for bad in [
            "+1700000000",
            "-1700000000",
            " 1700000000",
            "1700000000 ",
            "1700000000.5",
            "1e9",
            "abc",
            "",
            "18446744073709551616",
            "99999999999999999999999",
            "１７００",
            "0x10",
        ] {
            let mut h = sign(scheme, s, "msg_1", TS, b"{}");
            if scheme == "stripe" {
                let v = h[0].1.replacen("t=1700000000", &format!("t={bad}"), 1);
                h[0].1 = v;
            } else {
                let name = match scheme {
                    "standard" => "webhook-timestamp",
                    "zoom" => "x-zm-request-timestamp",
                    _ => "x-slack-request-timestamp",
                };
                set(&mut h, name, bad);
            }
            let err = verify(scheme, &[s], TS, &h, b"{}").unwrap_err();
            assert!(
                matches!(err, WebhookError::MalformedHeader { .. }),
                "{scheme} {bad:?}: {err}"
            );
        }
        // u64::MAX parses but is far in the future.
        let mut h = sign(scheme, s, "msg_1", u64::MAX, b"{}");
        if scheme == "stripe" {
            h.truncate(1)
        }
        assert!(
            matches!(
                verify(scheme, &[s], TS, &h, b"{}"),
                Err(WebhookError::TimestampInFuture { .. })
            ),
            "{scheme}"
        );
    }
}

#[test]
fn leading_zero_timestamp_is_signed_as_written() {
    // Peers sign the timestamp text; we verify over the text too.
    let s = secret_for("standard");
    let mut h = sign("standard", s, "msg_1", TS, b"{}");
    set(&mut h, "webhook-timestamp", "01700000000");
    assert!(matches!(
        verify("standard", &[s], TS, &h, b"{}"),
        Err(WebhookError::NoMatch { .. })
    ));
}

#[test]
fn ids_with_dots_are_refused_before_any_mac() {
    // The content is `id.ts.body`. A delivery signed as id `msg_1`, body `<TS>.x` has the
    // same content as id `msg_1.<TS>`, body `x`: accepting ids with `.` would let anyone
    // re-frame a captured delivery under a new replay id. Both framings carry a valid MAC;
    // the one whose id contains `.` must be refused, with a typed error.
    let s = secret_for("standard");
    let body = format!("{TS}.x");
    let h = sign("standard", s, "msg_1", TS, body.as_bytes());
    let ok = verify("standard", &[s], TS, &h, body.as_bytes()).unwrap();
    assert_eq!(ok.replay_id(), "id:msg_1");
    let mut reframed = h.clone();
    set(&mut reframed, "webhook-id", &format!("msg_1.{TS}"));
    match verify("standard", &[s], TS, &reframed, b"x") {
        Err(WebhookError::IdContainsDelimiter { name, delimiter }) => {
            assert_eq!((name.as_str(), delimiter), ("webhook-id", '.'));
        }
        other => panic!("re-framed delivery: {other:?}"),
    }
    // Refused before any MAC: a garbage signature gives the same error, not NoMatch.
    let mut garbage = reframed.clone();
    set(&mut garbage, "webhook-signature", "v1,AAAA");
    assert!(matches!(
        verify("standard", &[s], TS, &garbage, b"x"),
        Err(WebhookError::IdContainsDelimiter { .. })
    ));
    // The svix-* aliases too.
    let svix: Vec<(String, String)> = reframed
        .iter()
        .map(|(n, v)| (n.replace("webhook-", "svix-"), v.clone()))
        .collect();
    assert!(matches!(
        verify("standard", &[s], TS, &svix, b"x"),
        Err(WebhookError::IdContainsDelimiter { name, .. }) if name == "svix-id"
    ));
    // Signing refuses such ids as well.
    let key = portcullis_webhooks::Scheme::parse_secret(&StandardWebhooks::new(), s).unwrap();
    assert!(matches!(
        portcullis_webhooks::Scheme::sign(
            &StandardWebhooks::new(),
            &key,
            &portcullis_webhooks::Delivery {
                id: "msg.a.b",
                timestamp: TS,
                body: b"c",
            },
        ),
        Err(WebhookError::IdContainsDelimiter { name, delimiter: '.' }) if name == "id"
    ));
    // Ids as the official libraries and Svix produce them still verify.
    for id in [
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
        "msg_a-b_c",
    ] {
        let h = sign("standard", s, id, TS, b"c");
        assert!(verify("standard", &[s], TS, &h, b"c").is_ok(), "{id}");
    }
    let mut empty = h.clone();
    set(&mut empty, "webhook-id", "");
    assert!(matches!(
        verify("standard", &[s], TS, &empty, body.as_bytes()),
        Err(WebhookError::MalformedHeader { .. })
    ));
}

#[test]
fn duplicate_headers_are_rejected_by_every_lookup() {
    for scheme in SCHEMES {
        let s = secret_for(scheme);
        let h = sign(scheme, s, "msg_1", TS, b"{}");
        for i in 0..h.len() {
            let mut dup = h.clone();
            dup.push((h[i].0.to_uppercase(), h[i].1.clone()));
            let err = verify(scheme, &[s], TS, &dup, b"{}").unwrap_err();
            assert!(
                matches!(err, WebhookError::DuplicateHeader(_)),
                "{scheme} {}: {err}",
                h[i].0
            );
            assert!(!err.to_string().contains(&h[i].1) || h[i].1.len() < 4);

            let mut map = http::HeaderMap::new();
            for (n, v) in &dup {
                map.append(
                    http::HeaderName::from_bytes(n.to_lowercase().as_bytes()).unwrap(),
                    v.parse().unwrap(),
                );
            }
            let err = verifier(scheme, &[s], TS).verify(&&map, b"{}").unwrap_err();
            assert!(
                matches!(err, WebhookError::DuplicateHeader(_)),
                "{scheme} HeaderMap: {err}"
            );
        }
    }
}

#[test]
fn header_map_and_closures_work() {
    let s = secret_for("standard");
    let h = sign("standard", s, "msg_1", TS, b"{}");
    let mut map = http::HeaderMap::new();
    for (n, v) in &h {
        map.insert(
            http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    let v = verifier("standard", &[s], TS);
    assert!(v.verify(&&map, b"{}").is_ok());
    let lookup = from_fn(|name| h.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()));
    assert!(v.verify(&lookup, b"{}").is_ok());
    let dup = |name: &str| {
        if name == "webhook-signature" {
            Header::Duplicate
        } else {
            (&h).lookup(name)
        }
    };
    assert!(matches!(
        v.verify(&dup, b"{}"),
        Err(WebhookError::DuplicateHeader(_))
    ));
    let not_text = |name: &str| {
        if name == "webhook-id" {
            Header::NotText
        } else {
            (&h).lookup(name)
        }
    };
    assert!(matches!(
        v.verify(&not_text, b"{}"),
        Err(WebhookError::MalformedHeader { .. })
    ));
    let mut bad = http::HeaderMap::new();
    for (n, v) in &h {
        bad.insert(
            http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    bad.insert(
        "webhook-id",
        http::HeaderValue::from_bytes(b"msg\xff").unwrap(),
    );
    assert!(matches!(
        v.verify(&&bad, b"{}"),
        Err(WebhookError::MalformedHeader { .. })
    ));
}

#[test]
fn svix_aliases_and_family_mixing() {
    let s = secret_for("standard");
    let h = sign("standard", s, "msg_1", TS, b"{}");
    let svix: Vec<(String, String)> = h
        .iter()
        .map(|(n, v)| (n.replace("webhook-", "svix-"), v.clone()))
        .collect();
    assert!(verify("standard", &[s], TS, &svix, b"{}").is_ok());
    // One webhook-* header present: the whole webhook-* family is required.
    let mut mixed = svix.clone();
    mixed.push(("webhook-id".into(), "msg_1".into()));
    assert!(
        matches!(verify("standard", &[s], TS, &mixed, b"{}"), Err(WebhookError::MissingHeader(n)) if n == "webhook-timestamp")
    );
}

#[test]
fn ten_thousand_signatures_are_refused_before_any_mac() {
    let s = secret_for("standard");
    let mut h = sign("standard", s, "msg_1", TS, b"{}");
    let one = h
        .iter()
        .find(|(n, _)| n == "webhook-signature")
        .unwrap()
        .1
        .clone();
    let many = vec![one.as_str(); 10_000].join(" ");
    set(&mut h, "webhook-signature", &many);
    assert!(matches!(
        verify("standard", &[s], TS, &h, b"{}"),
        Err(WebhookError::HeaderTooLarge { limit: 8192, .. })
    ));
    // Even with a huge header cap, the count cap stops it.
    let limits = Limits {
        max_header_bytes: 1 << 20,
        ..Limits::default()
    };
    let v = verifier("standard", &[s], TS).limits(limits);
    assert!(matches!(
        v.verify(&&h, b"{}"),
        Err(WebhookError::TooManySignatures { limit: 16, .. })
    ));
    // Stripe too.
    let sh = sign("stripe", "sk", "", TS, b"{}");
    let v1 = sh[0].1.split(',').nth(1).unwrap().to_owned();
    let header = format!("t={TS},{}", vec![v1.as_str(); 10_000].join(","));
    let v = verifier("stripe", &["sk"], TS).limits(limits);
    assert!(matches!(
        v.verify(&&vec![("Stripe-Signature".to_owned(), header)], b"{}"),
        Err(WebhookError::TooManySignatures { .. })
    ));
    // Exactly the cap still verifies.
    let sixteen = vec![one.as_str(); 16].join(" ");
    set(&mut h, "webhook-signature", &sixteen);
    assert!(verify("standard", &[s], TS, &h, b"{}").is_ok());
}

#[test]
fn body_cap() {
    let s = secret_for("github");
    let body = vec![b'x'; 2049];
    let h = sign("github", s, "", TS, &body);
    let v = verifier("github", &[s], TS).limits(Limits {
        max_body_bytes: 2048,
        ..Limits::default()
    });
    assert!(matches!(
        v.verify(&&h, &body),
        Err(WebhookError::BodyTooLarge { limit: 2048 })
    ));
    assert!(v.verify(&&h, &body[..2048]).is_err());
}

#[test]
fn several_secrets_report_which_matched() {
    let h = sign("stripe", "whsec_new", "", TS, b"{}");
    let ok = verify(
        "stripe",
        &["whsec_old", "whsec_other", "whsec_new"],
        TS,
        &h,
        b"{}",
    )
    .unwrap();
    assert_eq!(ok.secret_index, 2);
    let err = verify("stripe", &["whsec_old", "whsec_other"], TS, &h, b"{}").unwrap_err();
    assert_eq!(
        err.to_string(),
        "no signature matched (checked 1 signatures against 2 secrets)"
    );
    assert!(matches!(
        Verifier::new(
            Stripe::new(),
            Vec::<String>::new(),
            Provider::with_clock(std::sync::Arc::new(FixedClock(UnixTime::EPOCH)))
        ),
        Err(WebhookError::NoSecrets)
    ));
}

#[test]
fn secret_hints() {
    let hint = |scheme: &str, secret: &str| match verifier_err(scheme, secret) {
        WebhookError::InvalidSecret(p) => p,
        other => panic!("{other}"),
    };
    assert_eq!(
        hint("stripe", " whsec_abc"),
        SecretProblem::SurroundingWhitespace
    );
    assert_eq!(
        hint("standard", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n"),
        SecretProblem::SurroundingWhitespace
    );
    assert_eq!(
        hint("stripe", "t=1700000000,v1=abcd"),
        SecretProblem::LooksLikeSignature
    );
    assert_eq!(
        hint(
            "standard",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        ),
        SecretProblem::LooksLikeSignature
    );
    assert_eq!(
        hint("github", "sha256=757107ea"),
        SecretProblem::LooksLikeSignature
    );
    assert_eq!(
        hint("standard", "whsec_not base64!"),
        SecretProblem::NotBase64
    );
    assert_eq!(hint("standard", ""), SecretProblem::Empty);
    assert_eq!(hint("standard", "whsec_"), SecretProblem::Empty);
    assert_eq!(hint("standard", "whpk_AAAA"), SecretProblem::BadEd25519Key);
    let msg = WebhookError::InvalidSecret(SecretProblem::SurroundingWhitespace).to_string();
    assert_eq!(msg, "invalid secret: secret has surrounding whitespace");
    assert!(
        !verifier_err("stripe", " whsec_abc")
            .to_string()
            .contains("whsec_abc")
    );
}

fn verifier_err(scheme: &str, secret: &str) -> WebhookError {
    Verifier::from_dyn(
        portcullis_webhooks::by_name(scheme).unwrap().into(),
        [secret],
        Provider::with_clock(std::sync::Arc::new(FixedClock(UnixTime::EPOCH))),
    )
    .unwrap_err()
}

#[test]
fn whsec_padding_decision_padded_and_unpadded_load_the_same_key() {
    // 25 key bytes: base64 needs `==` padding.
    let padded = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGA==";
    let unpadded = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGA";
    let h = sign("standard", padded, "msg_1", TS, b"{}");
    assert!(verify("standard", &[unpadded], TS, &h, b"{}").is_ok());
    let h2 = sign("standard", unpadded, "msg_1", TS, b"{}");
    assert_eq!(h, h2);
    // Non-canonical trailing bits are refused (`GB` would decode like `GA`).
    assert!(Key::standard("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGB").is_err());
    // URL-safe alphabet is not standard base64.
    assert!(Key::standard("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX-_").is_err());
}

#[test]
fn errors_never_contain_signatures_or_secrets() {
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let mut h = sign("standard", secret, "msg_1", TS, b"{}");
    let sig = h[2].1.clone();
    let mut errors = vec![verify("standard", &[secret], TS, &h, b"{!}").unwrap_err()];
    set(&mut h, "webhook-signature", "v1,%%%%");
    errors.push(verify("standard", &[secret], TS + 1000, &h, b"{}").unwrap_err());
    let stripe = vec![(
        "Stripe-Signature".to_owned(),
        format!("t=17x,{}", "v1=deadbeef"),
    )];
    errors.push(verify("stripe", &["whsec_s3cr3t"], TS, &stripe, b"{}").unwrap_err());
    for e in errors {
        let text = format!("{e} {e:?}");
        for needle in [
            &sig[3..],
            "MfKQ9r8GKYqr",
            "s3cr3t",
            "deadbeef",
            "%%%%",
            "17x",
        ] {
            assert!(!text.contains(needle), "{text} contains {needle}");
        }
    }
    let key = Key::standard(secret).unwrap();
    assert!(!format!("{key:?}").contains("MfKQ"));
    let v = verifier("standard", &[secret], TS);
    assert!(!format!("{v:?}").contains("MfKQ"));
}

#[test]
fn uppercase_hex_is_a_different_signature() {
    let h = sign("github", "s3", "", 0, b"x");
    let upper = vec![(
        h[0].0.clone(),
        format!("sha256={}", h[0].1[7..].to_uppercase()),
    )];
    assert!(matches!(
        verify("github", &["s3"], 0, &upper, b"x"),
        Err(WebhookError::MalformedHeader { .. })
    ));
}

#[test]
fn custom_schemes() {
    let scheme = Custom::builder("X-Signature")
        .prefix("sha256=")
        .timestamp_header("X-Timestamp")
        .id_header("X-Id")
        .template("{id}|{timestamp}|{{literal}}|{body}")
        .name("acme")
        .build()
        .unwrap();
    let key = portcullis_webhooks::Scheme::parse_secret(&scheme, "acme-secret").unwrap();
    let h = portcullis_webhooks::Scheme::sign(
        &scheme,
        &key,
        &portcullis_webhooks::Delivery {
            id: "evt.1",
            timestamp: TS,
            body: b"{}",
        },
    )
    .unwrap();
    assert_eq!(h.len(), 3);
    let v = Verifier::new(
        scheme.clone(),
        ["acme-secret"],
        Provider::with_clock(std::sync::Arc::new(FixedClock(UnixTime::from_secs(TS)))),
    )
    .unwrap();
    let ok = v.verify(&&h, b"{}").unwrap();
    assert_eq!(ok.id.as_deref(), Some("evt.1"));
    // The content is exactly the template.
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"acme-secret").unwrap();
    mac.update(format!("evt.1|{TS}|{{literal}}|{{}}").as_bytes());
    assert_eq!(
        h[0].1,
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    );

    // An id containing the literal character touching `{id}` (`|` here) is refused before
    // any MAC: id `evt`, body `<TS>|x` and id `evt|<TS>`, body `x` share one content.
    let reframe = portcullis_webhooks::Scheme::sign(
        &scheme,
        &key,
        &portcullis_webhooks::Delivery {
            id: "evt",
            timestamp: TS,
            body: format!("{TS}|x").as_bytes(),
        },
    )
    .unwrap();
    assert!(v.verify(&&reframe, format!("{TS}|x").as_bytes()).is_ok());
    let mut reframed = reframe.clone();
    set(&mut reframed, "x-id", &format!("evt|{TS}"));
    match v.verify(&&reframed, b"x") {
        Err(WebhookError::IdContainsDelimiter { name, delimiter }) => {
            assert_eq!((name.as_str(), delimiter), ("x-id", '|'));
        }
        other => panic!("re-framed custom delivery: {other:?}"),
    }
    assert!(matches!(
        portcullis_webhooks::Scheme::sign(
            &scheme,
            &key,
            &portcullis_webhooks::Delivery {
                id: "a|b",
                timestamp: TS,
                body: b"{}",
            },
        ),
        Err(WebhookError::IdContainsDelimiter { delimiter: '|', .. })
    ));
    // Both edges count: the last character of the literal before `{id}`, the first of the
    // one after; a self-overlapping literal (`aa`) is covered by refusing its character.
    let edges = Custom::builder("x-s")
        .id_header("x-i")
        .template("<{id}aa{body}")
        .build()
        .unwrap();
    let ek = portcullis_webhooks::Scheme::parse_secret(&edges, "k").unwrap();
    for (id, bad) in [("x<y", '<'), ("xa", 'a'), ("ab", 'a')] {
        assert!(
            matches!(
                portcullis_webhooks::Scheme::sign(
                    &edges,
                    &ek,
                    &portcullis_webhooks::Delivery {
                        id,
                        timestamp: TS,
                        body: b"b",
                    },
                ),
                Err(WebhookError::IdContainsDelimiter { delimiter, .. }) if delimiter == bad
            ),
            "{id}"
        );
    }
    assert!(
        portcullis_webhooks::Scheme::sign(
            &edges,
            &ek,
            &portcullis_webhooks::Delivery {
                id: "x.y-z",
                timestamp: TS,
                body: b"b",
            },
        )
        .is_ok()
    );
    // `{id}` directly next to another placeholder is refused when the scheme is built.
    for bad in [
        "{id}{timestamp}|{body}",
        "{timestamp}{id}|{body}",
        "{body}{id}",
        "{id}{body}",
        "{id}{id}|{body}",
    ] {
        let mut b = Custom::builder("x").id_header("i").template(bad);
        if bad.contains("{timestamp}") {
            b = b.timestamp_header("t");
        }
        assert!(
            matches!(b.build(), Err(WebhookError::InvalidConfig(m)) if m.contains("separated")),
            "{bad}"
        );
    }

    let b64 = Custom::builder("x-sig")
        .encoding(Encoding::Base64)
        .build()
        .unwrap();
    let v = Verifier::new(
        b64,
        ["k"],
        Provider::with_clock(std::sync::Arc::new(FixedClock(UnixTime::EPOCH))),
    )
    .unwrap();
    let shopify = common::sign("shopify", "k", "", 0, b"body");
    assert!(
        v.verify(&&vec![("x-sig".to_owned(), shopify[0].1.clone())], b"body")
            .is_ok()
    );

    for bad in [
        "no body",
        "{body}{body}",
        "{timestamp}.{body}",
        "{id}{body}",
        "{nope}{body}",
        "{body",
        "}{body}",
        "{body}}x",
    ] {
        assert!(
            matches!(
                Custom::builder("x").template(bad).build(),
                Err(WebhookError::InvalidConfig(_))
            ),
            "{bad}"
        );
    }
    assert!(
        Custom::builder("x").timestamp_header("t").build().is_err(),
        "unsigned timestamp header"
    );
    assert!(Custom::builder("").build().is_err());
    assert!(
        Custom::builder("x")
            .template("a{body}b{body}c")
            .build()
            .is_err()
    );
}

#[test]
fn shopify_round_trip_and_format() {
    let h = sign("shopify", "hush", "", 0, b"{\"id\":1}");
    assert_eq!(h[0].0, "x-shopify-hmac-sha256");
    assert_eq!(h[0].1.len(), 44);
    assert!(verify("shopify", &["hush"], 0, &h, b"{\"id\":1}").is_ok());
    let ok = verify("shopify", &["hush"], 0, &h, b"{\"id\":1}").unwrap();
    assert!(ok.replay_id().starts_with("sig:"));
    assert_eq!(ok.timestamp, None);
}

#[test]
fn by_name_and_key_kinds() {
    assert!(portcullis_webhooks::by_name("Stripe").is_ok());
    assert!(portcullis_webhooks::by_name("svix").is_ok());
    assert!(matches!(
        portcullis_webhooks::by_name("paypal"),
        Err(WebhookError::UnknownScheme(_))
    ));
    let ed = Key::standard("whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=").unwrap();
    assert!(!ed.is_hmac());
    assert_eq!(
        ed.ed25519_public_text().unwrap(),
        "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4="
    );
    let err = portcullis_webhooks::Scheme::sign(
        &StandardWebhooks,
        &ed,
        &portcullis_webhooks::Delivery {
            id: "m",
            timestamp: 1,
            body: b"",
        },
    )
    .unwrap_err();
    assert!(matches!(
        err,
        WebhookError::InvalidSecret(SecretProblem::PublicKeyCannotSign)
    ));
    let err = portcullis_webhooks::Scheme::sign(
        &Stripe,
        &ed,
        &portcullis_webhooks::Delivery {
            id: "",
            timestamp: 1,
            body: b"",
        },
    )
    .unwrap_err();
    assert!(matches!(err, WebhookError::WrongKeyKind(_)));
    assert!(Key::hmac_bytes(SecretBytes::new(vec![])).is_err());
    // An Ed25519 key in a verifier with only a v1 signature: no match, not a crash.
    let h = sign("standard", secret_for("standard"), "m", TS, b"");
    assert!(matches!(
        verify(
            "standard",
            &["whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4="],
            TS,
            &h,
            b""
        ),
        Err(WebhookError::NoMatch { .. })
    ));
}

/// Pins the Stripe header grammar and the Standard Webhooks family choice, which the
/// verifier parses with prefix tests and one reused lookup.
#[test]
fn stripe_items_and_standard_family_are_parsed_exactly() {
    let s = secret_for("stripe");
    let h = sign("stripe", s, "", TS, b"{}");
    let value = &h[0].1;
    let (t, v1) = value.split_once(",v1=").unwrap();
    let stripe = |v: String| verify("stripe", &[s], TS, &[(h[0].0.clone(), v)], b"{}");
    let malformed = |r: Result<_, WebhookError>, why: &str| match r {
        Err(e @ WebhookError::MalformedHeader { .. }) => assert!(e.to_string().contains(why)),
        other => panic!("{why}: {other:?}"),
    };
    assert!(stripe(value.clone()).is_ok());
    assert!(stripe(format!("v0=ab,{value},x=1")).is_ok());
    malformed(stripe(format!("{value},")), "without `=`");
    malformed(stripe(format!("{value},=x")), "empty item");
    malformed(stripe(format!("{value},{t}")), "repeated");
    malformed(stripe(format!("v1={v1}")), "no timestamp");
    // `v1` only as the whole key; a `v1x=` or `v10=` item is some other scheme.
    assert!(matches!(
        stripe(format!("{t},v1x={v1}")),
        Err(WebhookError::NoSignatures(_))
    ));
    for bad in [v1.to_uppercase(), format!("{v1}0"), v1[..62].to_owned()] {
        assert!(matches!(
            stripe(format!("{t},v1={bad}")),
            Err(WebhookError::NoMatch { candidates: 0, .. })
        ));
    }

    // Standard Webhooks: a webhook-* header other than the id selects that family.
    let s = secret_for("standard");
    let h = sign("standard", s, "msg_1", TS, b"{}");
    let no_id: Vec<_> = h
        .iter()
        .filter(|(n, _)| n != "webhook-id")
        .cloned()
        .collect();
    let mut with_svix_id = no_id.clone();
    with_svix_id.push(("svix-id".into(), "msg_1".into()));
    assert!(matches!(
        verify("standard", &[s], TS, &with_svix_id, b"{}"),
        Err(WebhookError::MissingHeader(n)) if n == "webhook-id"
    ));
    // Mixed-case names through an http::HeaderMap and through a direct lookup.
    let mut map = http::HeaderMap::new();
    for (n, v) in &h {
        map.insert(
            http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    assert_eq!((&map).lookup("Webhook-Id"), Header::One("msg_1"));
    assert_eq!((&map).lookup("webhook-id"), Header::One("msg_1"));
    assert_eq!((&map).lookup("svix-id"), Header::Missing);
}

/// A `v1` entry matches only as the canonical padded base64 of the tag: no unpadded form,
/// no stray trailing bits, no other spelling of the same bytes.
#[test]
fn standard_v1_matches_only_canonical_base64() {
    let s = secret_for("standard");
    let h = sign("standard", s, "msg_1", TS, b"{}");
    let sig = h
        .iter()
        .find(|(n, _)| n == "webhook-signature")
        .unwrap()
        .1
        .clone();
    let b64 = sig.strip_prefix("v1,").unwrap().to_owned();
    assert_eq!(b64.len(), 44);
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let last = b64.as_bytes()[42] as char;
    let pos = alphabet.find(last).unwrap();
    let stray = alphabet.as_bytes()[pos ^ 1] as char; // flips a trailing (unused) bit
    let mut with_stray = b64.clone();
    with_stray.replace_range(42..43, &stray.to_string());
    let run = |value: String| {
        let mut hh = h.clone();
        set(&mut hh, "webhook-signature", &value);
        verify("standard", &[s], TS, &hh, b"{}")
    };
    assert!(run(format!("v2,{b64} v1,{b64}")).is_ok());
    for bad in [
        format!("v1,{}", b64.trim_end_matches('=')),
        format!("v1,{with_stray}"),
        format!("v1,{b64}="),
        format!("v1a,{b64}"),
        format!("V1,{b64}"),
    ] {
        assert!(
            matches!(run(bad.clone()), Err(WebhookError::NoMatch { .. })),
            "{bad}"
        );
    }
}
