//! [`ApiKeyStore`] on Redis.

use portcullis_core::{ActorId, BackendError, BackendErrorKind, TenantId, UnixTime};
use portcullis_tokens::{
    ApiKeyRecord, ApiKeyStore, MAX_API_KEY_RECORDS_PER_OWNER, MAX_API_KEYS_PER_OWNER, TokenError,
};

use crate::backend::RedisBackend;
use crate::error::{BadReply, corrupt};
use crate::keyspace::escape;

/// API-key records in Redis: one hash per `(tenant, id)` (found by id without scanning),
/// one list of ids per owner (every record, oldest first) and one sorted set per owner of
/// the live ids scored by expiry (revoke and delete remove an id; expired ids leave it at
/// the owner's next insert or purge). Records never expire by TTL: revoked and expired
/// keys stay listed, as the trait requires, until `delete` or `purge`. The insert script
/// refuses a live key beyond [`MAX_API_KEYS_PER_OWNER`] ([`TokenError::TooManyApiKeys`])
/// and any record beyond [`MAX_API_KEY_RECORDS_PER_OWNER`]
/// ([`TokenError::TooManyApiKeyRecords`]) per owner and tenant, which bounds the owner
/// list, `list` and `purge`.
///
/// Records written before the live index existed are not in it: they do not count toward
/// the live cap until revoked, deleted or purged (they still count toward the record cap).
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

/// How often revoke/delete re-read a key's owner when it changed in between (a delete and
/// a re-insert of the same id under another owner).
const OWNER_RETRIES: usize = 4;

#[derive(Debug, thiserror::Error)]
#[error("the api key's owner kept changing")]
struct OwnerChanged;

impl RedisApiKeyStore {
    /// Reads the owner of `(tenant, id)`, then runs the script `invoke` builds for that
    /// owner's keys; the script answers 1 (done), 0 (no such key) or -1 (the owner changed
    /// in between: read it again). Returns whether the key existed.
    async fn with_owner<'a>(
        &self,
        op: &'static str,
        tenant: &TenantId,
        id: &str,
        invoke: impl Fn(&ActorId) -> redis::ScriptInvocation<'a>,
    ) -> Result<bool, TokenError> {
        for _ in 0..OWNER_RETRIES {
            let Some(owner) = self.owner_of(op, tenant, id).await? else {
                return Ok(false);
            };
            match self.backend.run::<i64>(op, &invoke(&owner)).await? {
                1 => return Ok(true),
                0 => return Ok(false),
                -1 => {}
                _ => return Err(BackendError::corrupt(op, BadReply).into()),
            }
        }
        Err(BackendError::new(BackendErrorKind::Conflict, op, OwnerChanged).into())
    }

    /// The owner recorded for `(tenant, id)`, if the key exists.
    async fn owner_of(
        &self,
        op: &'static str,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<ActorId>, BackendError> {
        let mut cmd = redis::cmd("HGET");
        cmd.arg(self.backend.keys.api_key(tenant, id)).arg("owner");
        let owner: Option<String> = self.backend.query(op, &cmd).await?;
        owner
            .map(|o| ActorId::new(o).map_err(|_| corrupt(op, "owner")))
            .transpose()
    }
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
            .key(keys.api_key_live(&record.tenant, &record.owner))
            .arg(&record.id)
            .arg(record.owner.as_str())
            .arg(&record.name)
            .arg(scopes)
            .arg(hex::encode(record.hash))
            .arg(record.created_at.as_millis())
            .arg(opt_time(record.expires_at))
            .arg(opt_time(record.revoked_at))
            .arg(escape(&record.id))
            .arg(MAX_API_KEYS_PER_OWNER)
            .arg(MAX_API_KEY_RECORDS_PER_OWNER);
        let inserted: i64 = self.backend.run(OP, &inv).await?;
        match inserted {
            1 => Ok(()),
            0 => Err(BackendError::new(BackendErrorKind::Conflict, OP, Exists).into()),
            -1 => Err(TokenError::TooManyApiKeys {
                owner: record.owner,
                max: MAX_API_KEYS_PER_OWNER,
            }),
            -2 => Err(TokenError::TooManyApiKeyRecords {
                owner: record.owner,
                max: MAX_API_KEY_RECORDS_PER_OWNER,
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
        let keys = &self.backend.keys;
        let script = &self.backend.scripts.api_key_revoke;
        self.with_owner("apikeys.revoke", tenant, id, |owner| {
            let mut inv = script.prepare_invoke();
            inv.key(keys.api_key(tenant, id))
                .key(keys.api_key_live(tenant, owner))
                .arg(now.as_millis())
                .arg(escape(id))
                .arg(owner.as_str());
            inv
        })
        .await
    }

    async fn delete(&self, tenant: &TenantId, id: &str) -> Result<bool, TokenError> {
        let keys = &self.backend.keys;
        let script = &self.backend.scripts.api_key_delete;
        self.with_owner("apikeys.delete", tenant, id, |owner| {
            let mut inv = script.prepare_invoke();
            inv.key(keys.api_key(tenant, id))
                .key(keys.api_key_owner(tenant, owner))
                .key(keys.api_key_live(tenant, owner))
                .arg(escape(id))
                .arg(owner.as_str());
            inv
        })
        .await
    }

    async fn purge(
        &self,
        tenant: &TenantId,
        owner: &ActorId,
        now: UnixTime,
    ) -> Result<u64, TokenError> {
        const OP: &str = "apikeys.purge";
        let keys = &self.backend.keys;
        let list = keys.api_key_owner(tenant, owner);
        // The owner's ids (at most MAX_API_KEY_RECORDS_PER_OWNER), then one script over
        // their records, each named in KEYS; an id inserted in between is live and kept.
        let mut read = redis::cmd("LRANGE");
        read.arg(&list).arg(0).arg(-1);
        let ids: Vec<String> = self.backend.query(OP, &read).await?;
        let mut inv = self.backend.scripts.api_key_purge.prepare_invoke();
        inv.key(&list)
            .key(keys.api_key_live(tenant, owner))
            .arg(now.as_millis())
            .arg(owner.as_str());
        for id in &ids {
            inv.key(format!("{}{id}", keys.api_key_prefix(tenant)))
                .arg(id);
        }
        let n: i64 = self.backend.run(OP, &inv).await?;
        u64::try_from(n).map_err(|_| BackendError::corrupt(OP, BadReply).into())
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
