//! The Lua scripts. Each store operation that reads and writes runs as exactly one of
//! these (EVALSHA, reloaded by `redis::Script` on NOSCRIPT), so it is atomic and one
//! round trip. Every key a script touches is in `KEYS` or is built inside the script from
//! a prefix passed in `ARGV` that carries the same hash tag as `KEYS[1]` (see
//! [`KeySpace`](crate::KeySpace)); numbers are decimal strings of integers, formatted with
//! `%d` so Lua's float printing never rounds them.

use redis::Script;

/// Refresh family creation. KEYS: family hash, subject index (sorted set: family id
/// scored by its absolute end). ARGV: subject, expires_at, generation, hash (hex),
/// idle_until, ttl_ms, family id, created_at. First drops from the index every id whose
/// family ended at or before created_at, so the index holds only live families (revoked
/// ones are removed when revoked). The family hash records the index key (`sk`) so a
/// revocation can remove its id (`id`). Returns 1, or 0 if the family exists.
const REFRESH_CREATE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'sub', ARGV[1], 'exp', ARGV[2], 'rev', '0',
  'cg', ARGV[3], 'ch', ARGV[4], 'iu', ARGV[5], 'sk', KEYS[2], 'id', ARGV[7])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[8])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[7])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[6]) then
  redis.call('PEXPIRE', KEYS[2], ARGV[6])
end
return 1
";

/// The rotation state machine (rows 1-7 of `portcullis_tokens::refresh`). KEYS: family
/// hash. ARGV: presented generation, presented hash (hex), successor hash (hex), now,
/// grace_until, idle_until, next generation ('' if it would overflow). Returns
/// {code, subject, expires_at}: 0 not found, 1 revoked, 2 expired, 3 rotated, 4 replay,
/// 5 reuse detected (the family is revoked and its id leaves the subject index).
const REFRESH_ROTATE: &str = r"
local f = redis.call('HMGET', KEYS[1], 'sub', 'exp', 'rev', 'cg', 'ch', 'iu', 'pg', 'ph', 'ps', 'gu',
  'sk', 'id')
if not f[1] then return {0, '', '0'} end
if f[3] ~= '0' then return {1, '', '0'} end
local now = tonumber(ARGV[4])
local exp = tonumber(f[2])
if now >= exp then return {2, '', '0'} end
if ARGV[1] == f[4] and ARGV[2] == f[5] then
  if now >= tonumber(f[6]) then return {2, '', '0'} end
  if ARGV[7] == '' then return {2, '', '0'} end
  local iu = ARGV[6]
  if tonumber(iu) > exp then iu = f[2] end
  redis.call('HSET', KEYS[1], 'pg', f[4], 'ph', f[5], 'ps', ARGV[3], 'gu', ARGV[5],
    'cg', ARGV[7], 'ch', ARGV[3], 'iu', iu)
  return {3, f[1], f[2]}
end
if f[7] and ARGV[1] == f[7] and ARGV[2] == f[8] and ARGV[3] == f[9]
  and now < tonumber(f[10]) then
  return {4, f[1], f[2]}
end
redis.call('HSET', KEYS[1], 'rev', '1')
if f[11] and f[12] then redis.call('ZREM', f[11], f[12]) end
return {5, f[1], f[2]}
";

/// Revokes one family and removes its id from the subject index. KEYS: family hash.
/// Returns 1 if it was active.
const REFRESH_REVOKE_FAMILY: &str = r"
local f = redis.call('HMGET', KEYS[1], 'rev', 'sk', 'id')
if f[1] == '0' then
  redis.call('HSET', KEYS[1], 'rev', '1')
  if f[2] and f[3] then redis.call('ZREM', f[2], f[3]) end
  return 1
end
return 0
";

/// Revokes every family of a subject. KEYS: subject index. ARGV: family key prefix
/// (same hash tag), subject. The index holds only live families (ids leave it on revoke,
/// reuse detection and, at the next create, once past their end), so the loop is bounded
/// by the subject's concurrent sessions; afterwards every listed family is revoked or
/// gone, so the index is deleted. Returns the count revoked.
const REFRESH_REVOKE_SUBJECT: &str = r"
local n = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local k = ARGV[1] .. id
  local f = redis.call('HMGET', k, 'rev', 'sub')
  if f[1] == '0' and f[2] == ARGV[2] then
    redis.call('HSET', k, 'rev', '1')
    n = n + 1
  end
end
redis.call('DEL', KEYS[1])
return n
";

/// Monotonic raise of a revocation entry. KEYS: entry hash. ARGV: epoch (0 for a jti),
/// keep_until, now (the store's clock). Keeps the maxima; expires at keep_until (at least
/// one second from now).
const REVOCATION_RAISE: &str = r"
local f = redis.call('HMGET', KEYS[1], 'e', 'k')
local e, k = ARGV[1], ARGV[2]
if f[1] and tonumber(f[1]) > tonumber(e) then e = f[1] end
if f[2] and tonumber(f[2]) > tonumber(k) then k = f[2] end
redis.call('HSET', KEYS[1], 'e', e, 'k', k)
local ttl = tonumber(k) - tonumber(ARGV[3])
if ttl < 1000 then ttl = 1000 end
redis.call('PEXPIRE', KEYS[1], string.format('%d', ttl))
return 1
";

/// Revocation check. KEYS: jti entry, subject epoch, tenant epoch. ARGV: issued_at.
/// Returns 0 not revoked, 1 jti, 2 subject epoch, 3 tenant epoch.
const REVOCATION_CHECK: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
local iat = tonumber(ARGV[1])
local s = redis.call('HGET', KEYS[2], 'e')
if s and iat <= tonumber(s) then return 2 end
local t = redis.call('HGET', KEYS[3], 'e')
if t and iat <= tonumber(t) then return 3 end
return 0
";

/// Insert-if-absent with a logical deadline. KEYS: entry. ARGV: deadline, now, ttl_ms.
/// An entry whose stored deadline is after `now` is live. Returns 1 if this call
/// recorded the entry, 0 if a live entry exists (it is left unchanged).
const MARK_ONCE: &str = r"
local v = redis.call('GET', KEYS[1])
if v and tonumber(v) > tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
";

/// API-key insert. KEYS: key hash, owner list. ARGV: id, owner, name, scopes (JSON),
/// hash (hex), created_at, expires_at or '', revoked_at or '', escaped id, per-owner cap.
/// Returns 1, 0 if the id exists, -1 if the owner list already holds the cap (nothing
/// written either way).
const API_KEY_INSERT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('LLEN', KEYS[2]) >= tonumber(ARGV[10]) then return -1 end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'owner', ARGV[2], 'name', ARGV[3],
  'scopes', ARGV[4], 'hash', ARGV[5], 'created', ARGV[6], 'expires', ARGV[7],
  'revoked', ARGV[8])
redis.call('RPUSH', KEYS[2], ARGV[9])
return 1
";

/// API-key revoke (keeps the earliest time). KEYS: key hash. ARGV: now. Returns 1 if
/// the key exists.
const API_KEY_REVOKE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local r = redis.call('HGET', KEYS[1], 'revoked')
if (not r) or r == '' or tonumber(r) > tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'revoked', ARGV[1])
end
return 1
";

/// API-key list. KEYS: owner list. ARGV: key-hash prefix (same hash tag), owner. The list
/// holds at most `MAX_API_KEYS_PER_OWNER` ids (enforced by the insert script), which
/// bounds this loop.
const API_KEY_LIST: &str = r"
local out = {}
for _, id in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  local f = redis.call('HMGET', ARGV[1] .. id, 'id', 'owner', 'name', 'scopes', 'hash',
    'created', 'expires', 'revoked')
  if f[1] and f[2] == ARGV[2] then table.insert(out, f) end
end
return out
";

/// GCRA. KEYS: bucket. ARGV: emission interval t (µs), tau = t * (burst - 1) (µs), cost
/// n, now (µs, or '' to read the server's TIME). Allowed iff now >= tat + t*(n-1) - tau;
/// then tat := max(tat, now) + t*n. Returns {allowed, wait_us, remaining}.
const GCRA: &str = r"
local now
if ARGV[4] == '' then
  local tm = redis.call('TIME')
  now = tonumber(tm[1]) * 1000000 + tonumber(tm[2])
else
  now = tonumber(ARGV[4])
end
local t, tau, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = now
local v = redis.call('GET', KEYS[1])
if v then tat = tonumber(v) end
local earliest = tat + t * (n - 1) - tau
if now < earliest then return {0, earliest - now, 0} end
local nxt = math.max(tat, now) + t * n
local ttl = math.ceil((nxt - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%d', nxt), 'PX', string.format('%d', ttl))
return {1, 0, math.floor(math.min(now + tau + t - nxt, tau + t) / t)}
";

/// Every script, hashed once.
#[derive(Debug)]
pub(crate) struct Scripts {
    pub(crate) refresh_create: Script,
    pub(crate) refresh_rotate: Script,
    pub(crate) refresh_revoke_family: Script,
    pub(crate) refresh_revoke_subject: Script,
    pub(crate) revocation_raise: Script,
    pub(crate) revocation_check: Script,
    pub(crate) mark_once: Script,
    pub(crate) api_key_insert: Script,
    pub(crate) api_key_revoke: Script,
    pub(crate) api_key_list: Script,
    pub(crate) gcra: Script,
}

impl Scripts {
    pub(crate) fn new() -> Self {
        Self {
            refresh_create: Script::new(REFRESH_CREATE),
            refresh_rotate: Script::new(REFRESH_ROTATE),
            refresh_revoke_family: Script::new(REFRESH_REVOKE_FAMILY),
            refresh_revoke_subject: Script::new(REFRESH_REVOKE_SUBJECT),
            revocation_raise: Script::new(REVOCATION_RAISE),
            revocation_check: Script::new(REVOCATION_CHECK),
            mark_once: Script::new(MARK_ONCE),
            api_key_insert: Script::new(API_KEY_INSERT),
            api_key_revoke: Script::new(API_KEY_REVOKE),
            api_key_list: Script::new(API_KEY_LIST),
            gcra: Script::new(GCRA),
        }
    }
}
