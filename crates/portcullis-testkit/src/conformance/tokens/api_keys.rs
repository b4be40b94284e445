//! The [`ApiKeyStore`]: records per tenant (insert, conflict, get, revoke, list) and the
//! per-owner cap.
//!
//! [`ApiKeyStore`]: portcullis_tokens::ApiKeyStore

use portcullis_core::{BackendErrorKind, TenantId, UnixTime};
use portcullis_tokens::{ApiKeyRecord, MAX_API_KEYS_PER_OWNER, TokenError};

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

/// Each owner may hold at most [`MAX_API_KEYS_PER_OWNER`] records per tenant, revoked ones
/// included: the next insert is refused with [`TokenError::TooManyApiKeys`] and writes
/// nothing, while other owners and the same owner in another tenant are unaffected.
pub async fn api_key_owner_cap(stores: &StoreSet) {
    let step = "api_key_owner_cap";
    let s = &*stores.api_keys;
    let (a, b) = (tenant("tenant-a"), tenant("tenant-b"));
    let now = UnixTime::from_secs(1_700_000_100);
    for i in 0..MAX_API_KEYS_PER_OWNER {
        s.insert(record(&a, &format!("cap{i:013}"), "kim"))
            .await
            .unwrap();
    }
    // Revoking does not free a slot: revoked keys stay listed.
    assert!(
        s.revoke(&a, "cap0000000000000", now).await.unwrap(),
        "{step}"
    );
    match s.insert(record(&a, "capover000000000", "kim")).await {
        Err(TokenError::TooManyApiKeys { owner, max }) => {
            assert_eq!(owner, actor("kim"), "{step}");
            assert_eq!(max, MAX_API_KEYS_PER_OWNER, "{step}");
        }
        other => panic!("{step}: expected TooManyApiKeys, got {other:?}"),
    }
    assert!(
        s.get(&a, "capover000000000").await.unwrap().is_none(),
        "{step}: nothing written"
    );
    assert_eq!(
        s.list(&a, &actor("kim")).await.unwrap().len(),
        MAX_API_KEYS_PER_OWNER,
        "{step}: list bounded"
    );
    s.insert(record(&a, "capother00000000", "lee"))
        .await
        .unwrap();
    s.insert(record(&b, "capover000000000", "kim"))
        .await
        .unwrap();
}
