//! Drives the axum example over real HTTP on loopback: login (Argon2id hashes, an
//! imported bcrypt hash upgraded at first login and audited), authorized and forbidden
//! requests with their reasons, refresh rotation (grace replay, reuse detection, session
//! revoked), Stripe webhooks (accepted, replayed, bad signature, stale), and the audit
//! chain verifying at the end with every action recorded.
//!
//! The client is a few lines of HTTP/1.1 over `tokio::net::TcpStream`, so the test needs
//! no HTTP client crate. With `PORTCULLIS_TEST_DATABASE_URL` set, the same scenario runs a
//! second time with the audit log in PostgreSQL, and with `PORTCULLIS_TEST_REDIS_URL` too, a
//! third time with refresh families, revocations and the replay guard in Redis.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;
use std::sync::Arc;

use portcullis_audit::{AuditStore, Entry};
use portcullis_core::{ActorId, Clock, OsRandom, Provider, SystemClock, TenantId, random_array};
use portcullis_examples::axum_service::{App, DEMO_STRIPE_SECRET, ServiceConfig, Stores, serve};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

struct Reply {
    status: u16,
    headers: std::collections::HashMap<String, String>,
    body: Value,
}

/// One HTTP/1.1 request with `Connection: close`; the response is read to EOF.
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(req.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, payload) = text.split_once("\r\n\r\n").expect("a complete response");
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "the test client reads only length-delimited bodies"
    );
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let body = if payload.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(payload).unwrap_or_else(|_| Value::String(payload.to_owned()))
    };
    Reply {
        status,
        headers,
        body,
    }
}

async fn post_json(addr: SocketAddr, path: &str, token: Option<&str>, body: &Value) -> Reply {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("Authorization", a.as_str()));
    }
    http(addr, "POST", path, &headers, body.to_string().as_bytes()).await
}

async fn get(addr: SocketAddr, path: &str, token: &str) -> Reply {
    let auth = format!("Bearer {token}");
    http(addr, "GET", path, &[("Authorization", &auth)], b"").await
}

async fn login(addr: SocketAddr, tenant: &str, user: &str, password: &str) -> Reply {
    let body = json!({ "tenant": tenant, "username": user, "password": password });
    post_json(addr, "/login", None, &body).await
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` missing in {v}"))
}

fn unique(prefix: &str) -> String {
    let suffix: [u8; 6] = random_array(&OsRandom).unwrap();
    let hex: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}-{hex}")
}

async fn start(stores: Stores, acme: &str, globex: &str) -> SocketAddr {
    start_app(stores, acme, globex).await.0
}

/// [`start`], keeping a handle on the state to look at the user table.
async fn start_app(stores: Stores, acme: &str, globex: &str) -> (SocketAddr, Arc<App>) {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let config = ServiceConfig::demo_with_tenants(acme, globex).unwrap();
    let app = Arc::new(App::new(config, stores, Provider::with_clock(clock)).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, app.clone()));
    (addr, app)
}

/// Every entry of `tenant`'s audit log.
async fn audit_entries(audit: &Arc<dyn AuditStore>, tenant: &str) -> Vec<Entry> {
    let tenant: TenantId = tenant.parse().unwrap();
    let size = audit.head(&tenant).await.unwrap().size;
    audit.read(&tenant, 0, size).await.unwrap()
}

fn actions(entries: &[Entry]) -> Vec<&str> {
    entries.iter().map(|e| e.body().action()).collect()
}

async fn scenario(addr: SocketAddr, acme: &str, globex: &str) {
    // Login: wrong password refused, right one accepted.
    let bad = login(addr, acme, "alice", "wrong-password").await;
    assert_eq!(bad.status, 401, "{}", bad.body);
    let nobody = login(addr, acme, "mallory", "alice-demo-password").await;
    assert_eq!(nobody.status, 401, "{}", nobody.body);
    let alice = login(addr, acme, "alice", "alice-demo-password").await;
    assert_eq!(alice.status, 200, "{}", alice.body);
    let alice_access = str_of(&alice.body, "access_token").to_owned();
    let victor = login(addr, acme, "victor", "victor-demo-password").await;
    assert_eq!(victor.status, 200, "{}", victor.body);
    let victor_access = str_of(&victor.body, "access_token").to_owned();

    // Authorized: alice (admin) writes and reads a document of her tenant.
    let docs = format!("/tenants/{acme}/documents");
    let doc = json!({ "title": "Q3 plan", "body": "ship the gate" });
    let created = post_json(addr, &docs, Some(&alice_access), &doc).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let listed = get(addr, &docs, &alice_access).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body[0]["title"], "Q3 plan");
    assert_eq!(
        listed.body[0]["body"], "ship the gate",
        "sealed at rest, opened on read"
    );

    // Viewer victor reads but may not write: needs role editor.
    assert_eq!(get(addr, &docs, &victor_access).await.status, 200);
    let denied = post_json(addr, &docs, Some(&victor_access), &doc).await;
    assert_eq!(denied.status, 403, "{}", denied.body);
    assert_eq!(denied.body["reason"], "needs role editor");
    assert_eq!(denied.body["code"], "needs_role");

    // Cross-tenant: alice is admin of her tenant, not of the other one.
    let theirs = get(addr, &format!("/tenants/{globex}/documents"), &alice_access).await;
    assert_eq!(theirs.status, 403, "{}", theirs.body);
    assert_eq!(theirs.body["reason"], "cross-tenant");
    assert_eq!(theirs.body["code"], "cross_tenant");

    // Viewers do not verify the audit log; admins of another tenant cannot either.
    let audit_path = format!("/tenants/{acme}/audit/verify");
    let no_audit = get(addr, &audit_path, &victor_access).await;
    assert_eq!(no_audit.status, 403);
    assert_eq!(no_audit.body["reason"], "needs role admin");

    // Authentication failures.
    let anon = http(addr, "GET", &docs, &[], b"").await;
    assert_eq!(anon.status, 401);
    assert_eq!(anon.body["error"], "missing bearer token");
    let mut forged = alice_access.clone();
    forged.pop();
    forged.push(if alice_access.ends_with('A') {
        'B'
    } else {
        'A'
    });
    let forged_reply = get(addr, &docs, &forged).await;
    assert_eq!(forged_reply.status, 401, "{}", forged_reply.body);

    // Refresh rotation with a grace-window replay, then reuse detection.
    let gen0 = str_of(&alice.body, "refresh_token").to_owned();
    let refresh = |token: String| async move {
        post_json(
            addr,
            "/refresh",
            None,
            &json!({ "tenant": acme, "refresh_token": token }),
        )
        .await
    };
    let r1 = refresh(gen0.clone()).await;
    assert_eq!(r1.status, 200, "{}", r1.body);
    assert_eq!(r1.body["generation"], 1);
    let gen1 = str_of(&r1.body, "refresh_token").to_owned();
    let tab = refresh(gen0.clone()).await;
    assert_eq!(
        tab.status, 200,
        "a second tab inside the grace window: {}",
        tab.body
    );
    assert_eq!(tab.body["replay"], true);
    assert_eq!(
        str_of(&tab.body, "refresh_token"),
        gen1,
        "same successor, no fork"
    );
    let r2 = refresh(gen1.clone()).await;
    assert_eq!(r2.status, 200, "{}", r2.body);
    let gen2 = str_of(&r2.body, "refresh_token").to_owned();
    let newest_access = str_of(&r2.body, "access_token").to_owned();
    assert_eq!(get(addr, &docs, &newest_access).await.status, 200);
    // A tab that slept through both rotations, still inside gen0's grace window, gets the
    // live token (before issue 14 this revoked the session).
    let late_tab = refresh(gen0.clone()).await;
    assert_eq!(late_tab.status, 200, "{}", late_tab.body);
    assert_eq!(late_tab.body["replay"], true);
    assert_eq!(
        str_of(&late_tab.body, "refresh_token"),
        gen2,
        "the current token"
    );
    // Once gen0's grace window (10 s) has passed, presenting it again is reuse.
    tokio::time::sleep(std::time::Duration::from_millis(10_500)).await;
    let reuse = refresh(gen0).await;
    assert_eq!(reuse.status, 401, "{}", reuse.body);
    assert!(
        str_of(&reuse.body, "error").contains("reuse detected"),
        "{}",
        reuse.body
    );
    let after = refresh(gen2).await;
    assert_eq!(
        after.status, 401,
        "the whole family is revoked: {}",
        after.body
    );
    for token in [&alice_access, &newest_access] {
        let r = get(addr, &docs, token).await;
        assert_eq!(
            r.status, 401,
            "access tokens of the revoked session stop working"
        );
        assert_eq!(r.body["error"], "session ended");
    }

    // Stripe webhooks on the raw body.
    let hook = format!("/tenants/{acme}/webhooks/stripe");
    let event = br#"{"id":"evt_123","type":"invoice.paid","data":{"object":{"amount_paid":4200}}}"#;
    let now = SystemClock.now().as_secs();
    let signed = portcullis_webhooks::sign("stripe", DEMO_STRIPE_SECRET, "", now, event).unwrap();
    let (name, value) = (&signed[0].0, &signed[0].1);
    let headers = [
        (name.as_str(), value.as_str()),
        ("Content-Type", "application/json"),
    ];
    let accepted = http(addr, "POST", &hook, &headers, event).await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    let replayed = http(addr, "POST", &hook, &headers, event).await;
    assert_eq!(replayed.status, 409, "{}", replayed.body);
    assert!(str_of(&replayed.body, "error").contains("duplicate delivery"));
    let tampered = event
        .to_vec()
        .iter()
        .map(|&b| if b == b'4' { b'9' } else { b })
        .collect::<Vec<u8>>();
    let bad_sig = http(addr, "POST", &hook, &headers, &tampered).await;
    assert_eq!(bad_sig.status, 400, "{}", bad_sig.body);
    assert!(str_of(&bad_sig.body, "error").contains("no signature matched"));
    let wrong_secret =
        portcullis_webhooks::sign("stripe", "whsec_not_ours", "", now, event).unwrap();
    let wrong = [(wrong_secret[0].0.as_str(), wrong_secret[0].1.as_str())];
    assert_eq!(http(addr, "POST", &hook, &wrong, event).await.status, 400);
    let stale =
        portcullis_webhooks::sign("stripe", DEMO_STRIPE_SECRET, "", now - 3600, event).unwrap();
    let stale_headers = [(stale[0].0.as_str(), stale[0].1.as_str())];
    let stale_reply = http(addr, "POST", &hook, &stale_headers, event).await;
    assert_eq!(stale_reply.status, 400);
    assert!(str_of(&stale_reply.body, "error").contains("too old"));

    // The audit chain verifies, and every action above is in it, in order.
    let admin = login(addr, acme, "alice", "alice-demo-password").await;
    let admin_access = str_of(&admin.body, "access_token").to_owned();
    let verified = get(addr, &audit_path, &admin_access).await;
    assert_eq!(verified.status, 200, "{}", verified.body);
    assert_eq!(verified.body["ok"], true);
    let actions: Vec<&str> = verified.body["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let expected = [
        "auth.login_failed",
        "auth.login_failed",
        "auth.login",
        "auth.login",
        "document.create",
        "document.list",
        "document.list",
        "access.denied",
        "access.denied",
        "access.denied",
        "auth.refresh",
        "auth.refresh",
        "auth.refresh",
        "document.list",
        "auth.refresh", // the late tab's replay
        "auth.refresh_reuse",
        "auth.refresh_failed",
        "webhook.accepted",
        "webhook.rejected",
        "webhook.rejected",
        "webhook.rejected",
        "webhook.rejected",
        "auth.login",
        "audit.verify",
    ];
    assert_eq!(actions, expected);
    assert_eq!(verified.body["entries"], expected.len());
    assert_eq!(verified.body["checkpoint_size"], expected.len());
    let note = str_of(&verified.body, "checkpoint");
    assert!(
        note.starts_with(&format!(
            "audit.portcullis.example/{acme}\n{}\n",
            expected.len()
        )),
        "{note}"
    );

    // The other tenant's log holds nothing of this (the denial went to alice's log).
    let gina = login(addr, globex, "gina", "gina-demo-password").await;
    let gina_access = str_of(&gina.body, "access_token").to_owned();
    let theirs = get(
        addr,
        &format!("/tenants/{globex}/audit/verify"),
        &gina_access,
    )
    .await;
    assert_eq!(theirs.status, 200, "{}", theirs.body);
    assert_eq!(
        theirs.body["actions"],
        json!(["auth.login", "audit.verify"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_memory_service_over_http() {
    let (acme, globex) = ("acme", "globex");
    let addr = start(Stores::in_memory(Provider::system()), acme, globex).await;
    scenario(addr, acme, globex).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_verifies_argon2id_hashes_and_answers_alike_for_unknown_users() {
    let (addr, app) = start_app(Stores::in_memory(Provider::system()), "acme", "globex").await;
    let (acme, alice): (TenantId, ActorId) = ("acme".parse().unwrap(), "alice".parse().unwrap());
    let stored = app.stored_password_hash(&acme, &alice).unwrap();
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "hashed at start-up with OWASP's parameters: {stored}"
    );
    assert!(!stored.contains("alice-demo-password"));

    let ok = login(addr, "acme", "alice", "alice-demo-password").await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(!str_of(&ok.body, "access_token").is_empty());
    let wrong = login(addr, "acme", "alice", "alice-demo-passwordX").await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert_eq!(wrong.body["error"], "invalid username or password");
    // An unknown user, a name that is no valid id and a tenant with no users: the same
    // answer as a wrong password.
    for (tenant, user) in [
        ("acme", "mallory"),
        ("acme", "Not An Id!"),
        ("nowhere", "alice"),
    ] {
        let r = login(addr, tenant, user, "alice-demo-password").await;
        assert_eq!(r.status, 401, "{tenant}/{user}: {}", r.body);
        assert_eq!(r.body, wrong.body, "{tenant}/{user}");
    }
    // Gina's password is not alice's, and gina is not a user of acme.
    let other = login(addr, "acme", "gina", "gina-demo-password").await;
    assert_eq!(other.body, wrong.body);
    // Logging in with a current hash does not replace it.
    assert_eq!(app.stored_password_hash(&acme, &alice).unwrap(), stored);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_bcrypt_hash_is_upgraded_to_argon2id_at_first_login_and_audited_once() {
    let stores = Stores::in_memory(Provider::system());
    let audit = stores.audit.clone();
    let (addr, app) = start_app(stores, "acme", "globex").await;
    let (acme, lena): (TenantId, ActorId) = ("acme".parse().unwrap(), "lena".parse().unwrap());
    let imported = app.stored_password_hash(&acme, &lena).unwrap();
    assert!(imported.starts_with("$2b$04$"), "{imported}");

    let first = login(addr, "acme", "lena", "lena-demo-password").await;
    assert_eq!(first.status, 200, "{}", first.body);
    let upgraded = app.stored_password_hash(&acme, &lena).unwrap();
    assert!(upgraded.starts_with("$argon2id$"), "{upgraded}");
    let entries = audit_entries(&audit, "acme").await;
    assert_eq!(actions(&entries), ["user.password_rehashed", "auth.login"]);

    // The new hash verifies; a second login neither rehashes nor records another upgrade.
    let second = login(addr, "acme", "lena", "lena-demo-password").await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(app.stored_password_hash(&acme, &lena).unwrap(), upgraded);
    let wrong = login(addr, "acme", "lena", "victor-demo-password").await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert_eq!(wrong.body["error"], "invalid username or password");
    let entries = audit_entries(&audit, "acme").await;
    assert_eq!(
        actions(&entries),
        [
            "user.password_rehashed",
            "auth.login",
            "auth.login",
            "auth.login_failed"
        ]
    );
    let rehashed: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.body().action() == "user.password_rehashed")
        .collect();
    assert_eq!(rehashed.len(), 1);
    let body = rehashed[0].body();
    assert_eq!(body.actor(), &lena);
    assert_eq!(body.resource(), "users/lena");
    let metadata: Value = serde_json::from_str(body.metadata().as_str()).unwrap();
    assert_eq!(
        metadata,
        json!({ "old_scheme": "bcrypt", "new_scheme": "argon2id" })
    );
    // No entry holds a hash or the password, in its metadata or anywhere else.
    for entry in &entries {
        let line = entry.to_json_line().unwrap();
        for secret in [
            "$2b$",
            "$argon2",
            "lena-demo-password",
            &imported,
            &upgraded,
        ] {
            assert!(!line.contains(secret), "{secret} in {line}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_logins_upgrade_the_hash_once() {
    let stores = Stores::in_memory(Provider::system());
    let audit = stores.audit.clone();
    let (addr, app) = start_app(stores, "acme", "globex").await;
    let (a, b) = tokio::join!(
        login(addr, "acme", "lena", "lena-demo-password"),
        login(addr, "acme", "lena", "lena-demo-password"),
    );
    assert_eq!((a.status, b.status), (200, 200), "{} {}", a.body, b.body);
    let (acme, lena): (TenantId, ActorId) = ("acme".parse().unwrap(), "lena".parse().unwrap());
    let stored = app.stored_password_hash(&acme, &lena).unwrap();
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    let entries = audit_entries(&audit, "acme").await;
    let mut seen = actions(&entries);
    seen.sort_unstable();
    assert_eq!(seen, ["auth.login", "auth.login", "user.password_rehashed"]);
    // Whichever login won, the hash it stored verifies.
    let again = login(addr, "acme", "lena", "lena-demo-password").await;
    assert_eq!(again.status, 200, "{}", again.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_attempts_are_rate_limited() {
    let addr = start(Stores::in_memory(Provider::system()), "acme", "globex").await;
    for _ in 0..10 {
        let r = login(addr, "acme", "victor", "guess").await;
        assert_eq!(r.status, 401, "{}", r.body);
    }
    let throttled = http(
        addr,
        "POST",
        "/login",
        &[("Content-Type", "application/json")],
        json!({ "tenant": "acme", "username": "victor", "password": "victor-demo-password" })
            .to_string()
            .as_bytes(),
    )
    .await;
    assert_eq!(
        throttled.status, 429,
        "even the right password waits: {}",
        throttled.body
    );
    assert_eq!(throttled.body["error"], "too many login attempts");
    let retry: u64 = throttled.headers["retry-after"].parse().unwrap();
    assert!((1..=60).contains(&retry), "retry-after {retry}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_audit_service_over_http() {
    let Ok(url) = std::env::var("PORTCULLIS_TEST_DATABASE_URL") else {
        eprintln!(
            "SKIPPED postgres_audit_service_over_http: PORTCULLIS_TEST_DATABASE_URL is not set"
        );
        return;
    };
    let stores = Stores::in_memory(Provider::system())
        .with_postgres_audit(&url)
        .await
        .expect("PostgreSQL is reachable and migrates");
    // Unique tenants: the database is shared with other tests and earlier runs.
    let (acme, globex) = (unique("acme"), unique("globex"));
    let addr = start(stores, &acme, &globex).await;
    scenario(addr, &acme, &globex).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_and_postgres_service_over_http() {
    let (Ok(redis), Ok(pg)) = (
        std::env::var("PORTCULLIS_TEST_REDIS_URL"),
        std::env::var("PORTCULLIS_TEST_DATABASE_URL"),
    ) else {
        eprintln!(
            "SKIPPED redis_and_postgres_service_over_http: PORTCULLIS_TEST_REDIS_URL and PORTCULLIS_TEST_DATABASE_URL are not both set"
        );
        return;
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    // A unique key prefix and unique tenants: the servers are shared.
    let prefix = unique("examples-test");
    let stores = Stores::in_memory(Provider::with_clock(clock.clone()))
        .with_redis(Provider::with_clock(clock), &redis, Some(&prefix))
        .await
        .expect("Redis is reachable")
        .with_postgres_audit(&pg)
        .await
        .expect("PostgreSQL is reachable and migrates");
    assert!(stores.describe().contains("refresh families in Redis"));
    assert!(stores.describe().contains("audit log in PostgreSQL"));
    let (acme, globex) = (unique("acme"), unique("globex"));
    let addr = start(stores, &acme, &globex).await;
    scenario(addr, &acme, &globex).await;
}
