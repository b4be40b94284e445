//! The [`ApiKeyStore`]: records per tenant (insert, conflict, get, revoke, list) and the
//! per-owner cap.
//!
//! [`ApiKeyStore`]: portcullis_tokens::ApiKeyStore

use portcullis_core::{BackendErrorKind, TenantId, UnixTime};
use portcullis_tokens::{
    ApiKeyRecord, MAX_API_KEY_RECORDS_PER_OWNER, MAX_API_KEYS_PER_OWNER, TokenError,
};

use super::fixtures::{StoreSet, actor, tenant};

fn record(tenant_id: &TenantId, id: &str, owner: &str) -> ApiKeyRecord {
    ApiKeyRecord {
        tenant: tenant_id.clone(),
        id: id.to_owned(),
        owner: actor(owner),
        name: "ci".to_owned(),
        scopes: vec!["runs:read".to_owned()],
        hash: [9u8; 32],
        created_at: UnixTime::from_secs(1_700_000_000),
        expires_at: None,
        revoked_at: None,
    }
}

/// Insert, conflict, get, revoke and list, per tenant.
pub async fn api_key_records(stores: &StoreSet) {
    let step = "api_key_records";
    let s = &*stores.api_keys;
    let (a, b) = (tenant("tenant-a"), tenant("tenant-b"));
    s.insert(record(&a, "id0000000000000a", "kim"))
        .await
        .unwrap();
    s.insert(record(&b, "id0000000000000a", "kim"))
        .await
        .unwrap();
    match s.insert(record(&a, "id0000000000000a", "lee")).await {
        Err(TokenError::Backend(e)) => assert_eq!(e.kind(), BackendErrorKind::Conflict, "{step}"),
        other => panic!("{step}: expected a conflict, got {other:?}"),
    }
    let got = s.get(&a, "id0000000000000a").await.unwrap().unwrap();
    assert_eq!(
        got,
        record(&a, "id0000000000000a", "kim"),
        "{step}: round trip"
    );
    assert!(s.get(&a, "missing").await.unwrap().is_none(), "{step}");
    let now = UnixTime::from_secs(1_700_000_100);
    assert!(
        s.revoke(&a, "id0000000000000a", now).await.unwrap(),
        "{step}"
    );
    assert!(!s.revoke(&a, "missing", now).await.unwrap(), "{step}");
    let revoked = s.get(&a, "id0000000000000a").await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(now), "{step}: revoked_at");
    assert!(
        s.get(&b, "id0000000000000a")
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none(),
        "{step}: other tenant"
    );
    s.insert(record(&a, "id0000000000000b", "kim"))
        .await
        .unwrap();
    let listed = s.list(&a, &actor("kim")).await.unwrap();
    assert_eq!(listed.len(), 2, "{step}: list");
}

/// Each owner may hold at most [`MAX_API_KEYS_PER_OWNER`] live keys per tenant: the next
/// live insert is refused with [`TokenError::TooManyApiKeys`] and writes nothing, while
/// other owners and the same owner in another tenant are unaffected. Revoking or expiring
/// a key frees its slot (before issue 14 revoked keys counted, and nothing deleted them).
/// At most [`MAX_API_KEY_RECORDS_PER_OWNER`] records in all
/// ([`TokenError::TooManyApiKeyRecords`]); `purge` deletes the revoked and expired ones.
pub async fn api_key_owner_cap(stores: &StoreSet) {
    let step = "api_key_owner_cap";
    let s = &*stores.api_keys;
    let (a, b) = (tenant("tenant-a"), tenant("tenant-b"));
    let kim = actor("kim");
    let now = UnixTime::from_secs(1_700_000_100);
    for i in 0..MAX_API_KEYS_PER_OWNER {
        s.insert(record(&a, &format!("cap{i:013}"), "kim"))
            .await
            .unwrap();
    }
    let too_many = |r: Result<(), TokenError>, what: &str| match r {
        Err(TokenError::TooManyApiKeys { owner, max }) => {
            assert_eq!(owner, actor("kim"), "{step}: {what}");
            assert_eq!(max, MAX_API_KEYS_PER_OWNER, "{step}: {what}");
        }
        other => panic!("{step}: {what}: expected TooManyApiKeys, got {other:?}"),
    };
    too_many(
        s.insert(record(&a, "capover000000000", "kim")).await,
        "at the cap",
    );
    assert!(
        s.get(&a, "capover000000000").await.unwrap().is_none(),
        "{step}: nothing written"
    );
    // Other owners and tenants are unaffected.
    s.insert(record(&a, "capother00000000", "lee"))
        .await
        .unwrap();
    s.insert(record(&b, "capover000000000", "kim"))
        .await
        .unwrap();
    // A revoked key frees its slot; it stays listed.
    assert!(
        s.revoke(&a, "cap0000000000000", now).await.unwrap(),
        "{step}"
    );
    s.insert(record(&a, "capover000000000", "kim"))
        .await
        .unwrap();
    too_many(
        s.insert(record(&a, "capover000000001", "kim")).await,
        "full again",
    );
    // A record that is not live (revoked already) may still be stored.
    let mut dead = record(&a, "capdead000000000", "kim");
    dead.revoked_at = Some(now);
    s.insert(dead).await.unwrap();
    // An expired key frees its slot as of the next insert's creation time.
    let mut short = record(&b, "capshort00000000", "kim");
    short.expires_at = Some(UnixTime::from_secs(1_700_000_050));
    s.insert(short).await.unwrap();
    s.delete(&a, "cap0000000000001").await.unwrap();
    let mut expiring = record(&a, "capexp0000000000", "kim");
    expiring.expires_at = Some(UnixTime::from_secs(1_700_000_050));
    s.insert(expiring).await.unwrap();
    let mut later = record(&a, "caplater00000000", "kim");
    later.created_at = UnixTime::from_secs(1_700_000_060);
    s.insert(later).await.unwrap();
    let mut later2 = record(&a, "caplater00000001", "kim");
    later2.created_at = UnixTime::from_secs(1_700_000_060);
    too_many(s.insert(later2).await, "the expired slot was taken");
    assert_eq!(
        s.list(&a, &kim).await.unwrap().len(),
        MAX_API_KEYS_PER_OWNER + 3,
        "{step}: revoked and expired records stay listed"
    );
    // Purge deletes exactly the revoked and expired records of that owner and tenant.
    let purged = s.purge(&a, &kim, now).await.unwrap();
    assert_eq!(purged, 3, "{step}: cap0, capdead, capexp");
    let left = s.list(&a, &kim).await.unwrap();
    assert_eq!(left.len(), MAX_API_KEYS_PER_OWNER, "{step}");
    assert!(
        left.iter()
            .all(|r| r.revoked_at.is_none() && r.expires_at.is_none()),
        "{step}: only live keys left"
    );
    for gone in ["cap0000000000000", "capdead000000000", "capexp0000000000"] {
        assert!(s.get(&a, gone).await.unwrap().is_none(), "{step}: {gone}");
    }
    assert_eq!(
        s.list(&b, &kim).await.unwrap().len(),
        2,
        "{step}: other tenant"
    );
    assert_eq!(
        s.purge(&a, &kim, now).await.unwrap(),
        0,
        "{step}: idempotent"
    );
}

/// Delete removes one record, live or not, in its tenant only; a deleted key is unknown.
pub async fn api_key_delete(stores: &StoreSet) {
    let step = "api_key_delete";
    let s = &*stores.api_keys;
    let (a, b) = (tenant("tenant-a"), tenant("tenant-b"));
    s.insert(record(&a, "del0000000000000", "kim"))
        .await
        .unwrap();
    s.insert(record(&b, "del0000000000000", "kim"))
        .await
        .unwrap();
    assert!(s.delete(&a, "del0000000000000").await.unwrap(), "{step}");
    assert!(
        !s.delete(&a, "del0000000000000").await.unwrap(),
        "{step}: gone"
    );
    assert!(
        s.get(&a, "del0000000000000").await.unwrap().is_none(),
        "{step}"
    );
    assert!(
        s.list(&a, &actor("kim")).await.unwrap().is_empty(),
        "{step}"
    );
    assert!(
        s.get(&b, "del0000000000000").await.unwrap().is_some(),
        "{step}: other tenant"
    );
    assert!(
        !s.revoke(&a, "del0000000000000", UnixTime::from_secs(1))
            .await
            .unwrap(),
        "{step}"
    );
    // The id may be used again, by another owner.
    s.insert(record(&a, "del0000000000000", "lee"))
        .await
        .unwrap();
    assert_eq!(s.list(&a, &actor("lee")).await.unwrap().len(), 1, "{step}");
}

/// At most [`MAX_API_KEY_RECORDS_PER_OWNER`] records per owner and tenant, live, revoked
/// and expired together: beyond it [`TokenError::TooManyApiKeyRecords`], nothing written;
/// a purge makes room again.
pub async fn api_key_record_cap(stores: &StoreSet) {
    let step = "api_key_record_cap";
    let s = &*stores.api_keys;
    let a = tenant("tenant-a");
    let now = UnixTime::from_secs(1_700_000_100);
    for i in 0..MAX_API_KEY_RECORDS_PER_OWNER {
        let mut r = record(&a, &format!("rec{i:013}"), "kim");
        if i % 2 == 0 {
            r.revoked_at = Some(now);
        }
        s.insert(r).await.unwrap();
    }
    let mut dead = record(&a, "recover000000000", "kim");
    dead.revoked_at = Some(now);
    match s.insert(dead).await {
        Err(TokenError::TooManyApiKeyRecords { owner, max }) => {
            assert_eq!(owner, actor("kim"), "{step}");
            assert_eq!(max, MAX_API_KEY_RECORDS_PER_OWNER, "{step}");
        }
        other => panic!("{step}: expected TooManyApiKeyRecords, got {other:?}"),
    }
    assert!(
        s.get(&a, "recover000000000").await.unwrap().is_none(),
        "{step}"
    );
    let purged = s.purge(&a, &actor("kim"), now).await.unwrap();
    assert_eq!(
        usize::try_from(purged).unwrap(),
        MAX_API_KEY_RECORDS_PER_OWNER / 2,
        "{step}"
    );
    // Room for records again (the live half still fills the live cap).
    let mut dead = record(&a, "recover000000000", "kim");
    dead.revoked_at = Some(now);
    s.insert(dead).await.unwrap();
    assert_eq!(
        s.list(&a, &actor("kim")).await.unwrap().len(),
        MAX_API_KEY_RECORDS_PER_OWNER / 2 + 1,
        "{step}"
    );
}
