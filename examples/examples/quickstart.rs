//! A tour of Portcullis, all in memory: `cargo run --example quickstart`.
//!
//! It walks through the five concern crates the way a multi-tenant service uses them and
//! prints what happens in plain words:
//!
//! 1. **tokens**: issue and verify an access token (and see a tampered one fail); rotate a
//!    refresh token, replay the old one from a second browser tab inside the grace window
//!    (same successor, no fork), then present it again later: reuse is detected and the
//!    whole session (refresh family) is revoked.
//! 2. **keys**: seal an integration credential for two tenants; each opens its own, and a
//!    blob moved to the other tenant (or another row) does not open.
//! 3. **webhooks**: sign and verify a Stripe webhook over the raw body; a tampered body
//!    and a replayed delivery are rejected.
//! 4. **rbac**: authorization decisions with their reasons: allowed by a role, needs a
//!    role, cross-tenant, read-only impersonation.
//! 5. **audit**: append entries to a tenant's hash chain, verify it, sign a C2SP
//!    checkpoint and open it with the published verifier key; an edited entry is caught
//!    at its seq.
//!
//! Time comes from a manual clock so the grace window can be skipped without sleeping;
//! randomness is the OS generator. Nothing touches the network or the disk.

#![allow(clippy::print_stdout)]

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use portcullis_audit::{
    AuditLog, Checkpoint, Entry, MemoryStore, Metadata, NewEntry, NoteSigner, verify_chain,
};
use portcullis_core::{ActorId, OsRandom, Provider, SecretArray, TenantId, UnixTime};
use portcullis_keys::{KeyVersion, MasterKey, MasterKeys, Purpose, Sealer};
use portcullis_rbac::{PermissionSpec, Policy, PolicyBuilder, Principal, Resource, RoleSpec};
use portcullis_testkit::ManualClock;
use portcullis_tokens::{
    Algorithm, KeyMaterial, KeyState, NoExtra, RefreshPolicy, RefreshTokens, SigningKeys,
    TokenConfig, TokenService, TokenStores,
};
use portcullis_webhooks::{MemoryReplayGuard, Stripe, Tolerance, Verifier};
use subtle::ConstantTimeEq;

type Res<T = ()> = Result<T, Box<dyn Error>>;

fn main() -> Res {
    // The stores are async (they have Redis and PostgreSQL backends); one small runtime
    // drives them here.
    let rt = tokio::runtime::Builder::new_current_thread().build()?;
    rt.block_on(tour())
}

async fn tour() -> Res {
    println!("== Portcullis quickstart: a tour of the five crates, all in memory ==");
    let clock = ManualClock::at(UnixTime::from_secs(1_767_225_600)); // 2026-01-01 00:00 UTC
    let acme: TenantId = "acme".parse()?;
    let globex: TenantId = "globex".parse()?;
    let alice: ActorId = "alice".parse()?;

    tokens(&clock, &acme, &alice).await?;
    keys(&acme, &globex)?;
    webhooks(&clock).await?;
    rbac(&acme, &globex, &alice)?;
    audit(&clock, &acme, &alice).await?;

    println!("\nDone. Every step above ran with in-memory stores; swap in portcullis-redis");
    println!("and portcullis-postgres for production (see examples/src/axum_service/state.rs).");
    Ok(())
}

async fn tokens(clock: &ManualClock, tenant: &TenantId, alice: &ActorId) -> Res {
    println!("\n-- 1. tokens: access JWTs and refresh-token rotation --");
    // Production passes Provider::system(); the tour's clock is a manual one.
    let provider = Provider::with_clock(Arc::new(clock.clone()));
    let ring = Arc::new(SigningKeys::new());
    ring.insert(
        KeyMaterial::generate(Algorithm::EdDsa, &OsRandom)?,
        KeyState::Active,
    )?;
    // Revocations, sessions and tickets: in memory here, portcullis-redis in production.
    let stores = TokenStores::in_memory(&provider);
    let jwt = TokenService::new(
        ring.clone(),
        TokenConfig::new("https://auth.acme.example", "api")?,
        stores.clone(),
        provider.clone(),
    );
    let refresh = RefreshTokens::new(
        stores.sessions.clone(),
        SecretArray::random(&OsRandom)?,
        RefreshPolicy::default(), // grace window 10 s
        provider,
    )?;

    let session = refresh.issue(tenant, alice).await?;
    let access = jwt.issue_access(tenant, alice, Some(&session.family), &NoExtra {})?;
    let jwks = serde_json::to_string(&ring.jwks()?)?;
    println!(
        "alice logs in to {tenant}: session {} and an EdDSA access token ({} bytes)",
        session.family,
        access.token.len()
    );
    println!("resource servers verify it with the public JWKS: {jwks}");
    // One call checks signature, claims, revocation and that the session is live.
    let verified = jwt.verify_access::<NoExtra>(&access.token).await?;
    println!(
        "the access token verifies: sub={} tid={} typ={} expires in {} s",
        verified.claims.sub,
        verified.claims.tid,
        verified.claims.typ,
        verified.claims.exp.saturating_sub(verified.claims.iat)
    );
    let tampered = tamper_jwt(&access.token);
    match jwt.verify_access::<NoExtra>(&tampered).await {
        Ok(_) => return Err(unexpected("a tampered token verified")),
        Err(e) => println!("a token with one payload byte changed is rejected: {e}"),
    }

    let first = session.token;
    let second = refresh.rotate(tenant, first.expose_secret()).await?;
    println!(
        "refresh: token generation 0 is exchanged for generation {}",
        second.generation
    );
    clock.advance(Duration::from_secs(2));
    let tab = refresh.rotate(tenant, first.expose_secret()).await?;
    let same = bool::from(
        tab.token
            .expose_secret()
            .as_bytes()
            .ct_eq(second.token.expose_secret().as_bytes()),
    );
    if !same || !tab.replay {
        return Err(unexpected(
            "the grace-window replay did not return the same successor",
        ));
    }
    println!(
        "2 s later a second browser tab presents generation 0 again (inside the 10 s grace window):"
    );
    println!(
        "  it receives the same successor (same token: {same}, marked as replay: {}), so the session does not fork",
        tab.replay
    );
    clock.advance(Duration::from_secs(60));
    match refresh.rotate(tenant, first.expose_secret()).await {
        Ok(_) => return Err(unexpected("a stale refresh token was accepted")),
        Err(e) => println!("a minute later generation 0 comes back (stolen?): {e}"),
    }
    match refresh.rotate(tenant, second.token.expose_secret()).await {
        Ok(_) => return Err(unexpected("a token of a revoked family was accepted")),
        Err(e) => println!("even the legitimate generation 1 is now refused: {e}"),
    }
    println!(
        "  status of the session: {:?}",
        refresh.status(tenant, &session.family).await?
    );
    Ok(())
}

/// Flips one character in the middle of the payload.
fn tamper_jwt(token: &str) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    if let Some(payload) = parts.get_mut(1) {
        let mid = payload.len() / 2;
        let replaced: String = payload
            .chars()
            .enumerate()
            .map(|(i, c)| match (i == mid, c) {
                (true, 'A') => 'B',
                (true, _) => 'A',
                (false, c) => c,
            })
            .collect();
        *payload = replaced;
    }
    parts.join(".")
}

fn keys(acme: &TenantId, globex: &TenantId) -> Res {
    println!("\n-- 2. keys: credentials sealed per tenant --");
    let ring = MasterKeys::new(KeyVersion::new(1)?, MasterKey::generate(&OsRandom)?);
    let sealer = Sealer::new(Purpose::new("credentials")?, ring, Provider::system());
    let acme_blob = sealer.seal(acme, b"integration:stripe", b"sk_live_acme_123")?;
    let globex_blob = sealer.seal(globex, b"integration:stripe", b"sk_live_globex_456")?;
    println!(
        "sealed one Stripe key for {acme} and one for {globex} ({} and {} bytes: 33 bytes of version, nonce and tag around each)",
        acme_blob.len(),
        globex_blob.len()
    );
    let opened = sealer.open(acme, b"integration:stripe", &acme_blob)?;
    println!(
        "{acme} opens its own blob: {:?} ({} bytes, kept in a zeroizing type)",
        String::from_utf8_lossy(opened.expose_secret()),
        opened.expose_secret().len()
    );
    let opened = sealer.open(globex, b"integration:stripe", &globex_blob)?;
    println!(
        "{globex} opens its own blob: {:?}",
        String::from_utf8_lossy(opened.expose_secret())
    );
    match sealer.open(globex, b"integration:stripe", &acme_blob) {
        Ok(_) => return Err(unexpected("a blob opened for the wrong tenant")),
        Err(e) => println!("{acme}'s blob copied into {globex}'s row does not open: {e}"),
    }
    match sealer.open(acme, b"integration:github", &acme_blob) {
        Ok(_) => return Err(unexpected("a blob opened under another context")),
        Err(e) => println!("nor does it open as another credential of {acme}: {e}"),
    }
    Ok(())
}

async fn webhooks(clock: &ManualClock) -> Res {
    println!("\n-- 3. webhooks: a Stripe delivery over the raw body --");
    let secret = "whsec_quickstart_demo_secret";
    let body = br#"{"id":"evt_1","type":"invoice.paid","data":{"object":{"amount_paid":4200}}}"#;
    let headers = portcullis_webhooks::sign("stripe", secret, "", clock_secs(clock), body)?;
    for (name, value) in &headers {
        println!("Stripe would send  {name}: {value}");
    }
    let verifier = Verifier::new(
        Stripe::new(),
        [secret],
        Provider::with_clock(std::sync::Arc::new(clock.clone())),
    )?;
    let guard = MemoryReplayGuard::new(Provider::with_clock(std::sync::Arc::new(clock.clone())));
    let ttl = Tolerance::default().replay_ttl();
    let verified = verifier
        .verify_once(&guard, "acme/stripe", ttl, &&headers, body)
        .await?;
    println!(
        "the delivery verifies with secret #{} (timestamp within 300 s)",
        verified.secret_index
    );
    let tampered = body
        .to_vec()
        .iter()
        .map(|&b| if b == b'4' { b'9' } else { b })
        .collect::<Vec<u8>>();
    match verifier.verify(&&headers, &tampered) {
        Ok(_) => return Err(unexpected("a tampered body verified")),
        Err(e) => println!("the same headers with amount_paid changed: {e}"),
    }
    match verifier
        .verify_once(&guard, "acme/stripe", ttl, &&headers, body)
        .await
    {
        Ok(_) => return Err(unexpected("a replayed delivery was accepted twice")),
        Err(e) => println!("the same delivery sent again is a replay: {e}"),
    }
    Ok(())
}

fn clock_secs(clock: &ManualClock) -> u64 {
    portcullis_core::Clock::now(clock).as_secs()
}

fn rbac(acme: &TenantId, globex: &TenantId, alice: &ActorId) -> Res {
    println!("\n-- 4. rbac: decisions with reasons --");
    let policy: Policy = PolicyBuilder::new(1)
        .permission("invoices:read", PermissionSpec::read())
        .permission("invoices:write", PermissionSpec::write())
        .permission(
            "invoices:refund",
            PermissionSpec::approval().min_role("admin"),
        )
        .role("viewer", RoleSpec::new().grant("invoices:read"))
        .role(
            "member",
            RoleSpec::new().inherits("viewer").grant("invoices:write"),
        )
        .role("admin", RoleSpec::new().inherits("member"))
        .build()?;
    let read = policy.action("invoices:read").ok_or("unknown action")?;
    let write = policy.action("invoices:write").ok_or("unknown action")?;
    let refund = policy.action("invoices:refund").ok_or("unknown action")?;
    let bob: ActorId = "bob".parse()?;
    let support: ActorId = "support.sam".parse()?;

    let member = policy.resolve(&Principal::new(alice.clone(), acme.clone()).with_role("member"));
    let impersonated = policy.resolve(
        &Principal::new(bob.clone(), acme.clone())
            .with_role("admin")
            .impersonated_by(support.clone()),
    );
    let ours = Resource::new(acme, "invoice", "inv-42");
    let theirs = Resource::new(globex, "invoice", "inv-7");
    let checks = [
        (
            "alice (member of acme) reads acme invoice inv-42",
            &member,
            read,
            &ours,
        ),
        ("alice edits acme invoice inv-42", &member, write, &ours),
        ("alice refunds acme invoice inv-42", &member, refund, &ours),
        ("alice reads globex invoice inv-7", &member, read, &theirs),
        (
            "support.sam, impersonating admin bob, reads inv-42",
            &impersonated,
            read,
            &ours,
        ),
        (
            "support.sam, impersonating admin bob, edits inv-42",
            &impersonated,
            write,
            &ours,
        ),
    ];
    for (what, who, action, resource) in checks {
        let d = policy.authorize(who, action, resource);
        let verdict = if d.is_allowed() { "ALLOW" } else { "DENY " };
        println!(
            "{verdict} {what}: {} (policy v{})",
            d.reason(),
            d.policy_version()
        );
    }
    Ok(())
}

async fn audit(clock: &ManualClock, tenant: &TenantId, alice: &ActorId) -> Res {
    println!("\n-- 5. audit: a tamper-evident log per tenant --");
    let signer = NoteSigner::generate("audit.acme.example", &OsRandom)?;
    let verifier = signer.verifier();
    println!("the operator publishes its verifier key: {verifier}");
    let log = AuditLog::new(
        Arc::new(MemoryStore::new()),
        Provider::with_clock(Arc::new(clock.clone())),
    )
    .with_signer(signer);
    let actions = [
        ("user.login", "app", r#"{"method":"password"}"#),
        ("invoice.create", "invoices/42", r#"{"amount_cents":4200}"#),
        ("invoice.approve", "invoices/42", r#"{}"#),
    ];
    for (action, resource, metadata) in actions {
        clock.advance(Duration::from_secs(1));
        let entry = NewEntry::new(alice.clone(), action, resource)?
            .with_ip("203.0.113.7".parse()?)
            .with_metadata(Metadata::parse(metadata)?);
        let receipt = log.append(tenant, entry).await?;
        println!(
            "appended seq {} {action} on {resource}: hash {}",
            receipt.seq,
            short(&receipt.hash.to_string())
        );
    }
    let head = log.verify(tenant).await?;
    println!(
        "the chain of {tenant} verifies: {} entries, head {}",
        head.size,
        short(&head.hash.to_string())
    );

    let signed = log.checkpoint(tenant).await?;
    println!("signed checkpoint (C2SP signed note):");
    for line in signed.note.lines() {
        println!("  | {line}");
    }
    let origin = log.origin(tenant)?;
    let opened = Checkpoint::open(&signed.note, &verifier, &origin)?;
    println!(
        "a customer opens it with the published key: origin {}, {} entries, root matches the log",
        opened.origin(),
        opened.size()
    );
    let forged = signed.note.replacen("\n3\n", "\n2\n", 1);
    match Checkpoint::open(&forged, &verifier, &origin) {
        Ok(_) => return Err(unexpected("an edited checkpoint opened")),
        Err(e) => println!("a checkpoint edited to claim 2 entries: {e}"),
    }

    // An auditor re-checks an export in which someone edited one entry.
    let mut export: Vec<String> = Vec::new();
    for e in log.store().read(tenant, 0, u64::MAX).await? {
        export.push(e.to_json_line()?);
    }
    if let Some(line) = export.get_mut(1) {
        *line = line.replace("4200", "420000");
    }
    let edited = export
        .iter()
        .map(|l| Entry::from_json_line(l))
        .collect::<Result<Vec<_>, _>>()?;
    match verify_chain(tenant, &edited) {
        Ok(_) => return Err(unexpected("an edited export verified")),
        Err(e) => println!("an export with seq 1's amount edited: {e}"),
    }
    Ok(())
}

fn short(hex: &str) -> String {
    format!("{}…", hex.get(..16).unwrap_or(hex))
}

/// The tour stops with an error (exit code 1) if a check does not behave as described.
fn unexpected(what: &str) -> Box<dyn Error> {
    format!("unexpected: {what}").into()
}
