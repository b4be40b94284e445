//! [`ApiKeyStore`] on Redis.

use portcullis_core::{ActorId, BackendError, BackendErrorKind, TenantId, UnixTime};
use portcullis_tokens::{ApiKeyRecord, ApiKeyStore, MAX_API_KEYS_PER_OWNER, TokenError};

use crate::backend::RedisBackend;
use crate::error::{BadReply, corrupt};
use crate::keyspace::escape;

/// API-key records in Redis: one hash per `(tenant, id)` (found by id without scanning)
/// and one list of ids per owner. Records never expire: revoked and expired keys stay
/// listed, as the trait requires, so the insert script refuses a record beyond
/// [`MAX_API_KEYS_PER_OWNER`] per owner and tenant ([`TokenError::TooManyApiKeys`]),
/// which bounds the owner list and `list`.
#[derive(Debug, Clone)]
pub struct RedisApiKeyStore {
    backend: RedisBackend,
}

impl RedisApiKeyStore {
    /// A store on `backend`.
    pub fn new(backend: RedisBackend) -> Self {
        Self { backend }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("api key id already exists")]
struct Exists;

const FIELDS: [&str; 8] = [
    "id", "owner", "name", "scopes", "hash", "created", "expires", "revoked",
];

fn opt_time(t: Option<UnixTime>) -> String {
    t.map(|t| t.as_millis().to_string()).unwrap_or_default()
}

fn field(
    op: &'static str,
    v: Option<&Option<String>>,
    name: &'static str,
) -> Result<String, BackendError> {
    v.and_then(Clone::clone).ok_or_else(|| corrupt(op, name))
}

fn parse_opt_time(
    op: &'static str,
    s: &str,
    name: &'static str,
) -> Result<Option<UnixTime>, BackendError> {
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<u64>()
        .map(|ms| Some(UnixTime::from_millis(ms)))
        .map_err(|_| corrupt(op, name))
}

fn decode(
    op: &'static str,
    tenant: &TenantId,
    f: &[Option<String>],
) -> Result<ApiKeyRecord, BackendError> {
    let get = |i: usize, name: &'static str| field(op, f.get(i), name);
    let owner = ActorId::new(get(1, "owner")?).map_err(|_| corrupt(op, "owner"))?;
    let scopes: Vec<String> =
        serde_json::from_str(&get(3, "scopes")?).map_err(|_| corrupt(op, "scopes"))?;
    let hash: [u8; 32] = hex::decode(get(4, "hash")?)
        .ok()
        .and_then(|v| <[u8; 32]>::try_from(v.as_slice()).ok())
        .ok_or_else(|| corrupt(op, "hash"))?;
    let created = parse_opt_time(op, &get(5, "created")?, "created")?
        .ok_or_else(|| corrupt(op, "created"))?;
    Ok(ApiKeyRecord {
        tenant: tenant.clone(),
        id: get(0, "id")?,
        owner,
        name: get(2, "name")?,
        scopes,
        hash,
        created_at: created,
        expires_at: parse_opt_time(op, &get(6, "expires")?, "expires")?,
        revoked_at: parse_opt_time(op, &get(7, "revoked")?, "revoked")?,
    })
}

#[async_trait::async_trait]
impl ApiKeyStore for RedisApiKeyStore {
    async fn insert(&self, record: ApiKeyRecord) -> Result<(), TokenError> {
        const OP: &str = "apikeys.insert";
        let keys = &self.backend.keys;
        let scopes =
            serde_json::to_string(&record.scopes).map_err(|e| BackendError::other(OP, e))?;
        let mut inv = self.backend.scripts.api_key_insert.prepare_invoke();
        inv.key(keys.api_key(&record.tenant, &record.id))
            .key(keys.api_key_owner(&record.tenant, &record.owner))
            .arg(&record.id)
            .arg(record.owner.as_str())
            .arg(&record.name)
            .arg(scopes)
            .arg(hex::encode(record.hash))
            .arg(record.created_at.as_millis())
            .arg(opt_time(record.expires_at))
            .arg(opt_time(record.revoked_at))
            .arg(escape(&record.id))
            .arg(MAX_API_KEYS_PER_OWNER);
        let inserted: i64 = self.backend.run(OP, &inv).await?;
        match inserted {
            1 => Ok(()),
            0 => Err(BackendError::new(BackendErrorKind::Conflict, OP, Exists).into()),
            -1 => Err(TokenError::TooManyApiKeys {
                owner: record.owner,
                max: MAX_API_KEYS_PER_OWNER,
            }),
            _ => Err(BackendError::corrupt(OP, BadReply).into()),
        }
    }

    async fn get(&self, tenant: &TenantId, id: &str) -> Result<Option<ApiKeyRecord>, TokenError> {
        const OP: &str = "apikeys.get";
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(self.backend.keys.api_key(tenant, id))
            .arg(&FIELDS[..]);
        let f: Vec<Option<String>> = self.backend.query(OP, &cmd).await?;
        if f.first().is_none_or(Option::is_none) {
            return Ok(None);
        }
        Ok(Some(decode(OP, tenant, &f)?))
    }

    async fn revoke(&self, tenant: &TenantId, id: &str, now: UnixTime) -> Result<bool, TokenError> {
        let mut inv = self.backend.scripts.api_key_revoke.prepare_invoke();
        inv.key(self.backend.keys.api_key(tenant, id))
            .arg(now.as_millis());
        let found: i64 = self.backend.run("apikeys.revoke", &inv).await?;
        Ok(found == 1)
    }

    async fn list(
        &self,
        tenant: &TenantId,
        owner: &ActorId,
    ) -> Result<Vec<ApiKeyRecord>, TokenError> {
        const OP: &str = "apikeys.list";
        let keys = &self.backend.keys;
        let list = keys.api_key_owner(tenant, owner);
        // The owner's ids (at most MAX_API_KEYS_PER_OWNER), then one script over their
        // records, each named in KEYS. Ids are append-only, so reading them first only
        // means a key inserted in between is not listed yet.
        let mut read = redis::cmd("LRANGE");
        read.arg(&list).arg(0).arg(-1);
        let ids: Vec<String> = self.backend.query(OP, &read).await?;
        let mut inv = self.backend.scripts.api_key_list.prepare_invoke();
        inv.key(&list).arg(owner.as_str());
        for id in &ids {
            inv.key(format!("{}{id}", keys.api_key_prefix(tenant)));
        }
        let rows: Vec<Vec<Option<String>>> = self.backend.run(OP, &inv).await?;
        rows.iter()
            .map(|f| decode(OP, tenant, f).map_err(TokenError::from))
            .collect()
    }
}
