//! The Lua scripts. Each store operation that reads and writes runs as exactly one of
//! these (EVALSHA, reloaded by `redis::Script` on NOSCRIPT), so it is atomic and one
//! round trip. Every key a script touches is passed in `KEYS` (never built inside a
//! script, which a cluster does not allow), and all keys of one call share one hash tag
//! (see [`KeySpace`](crate::KeySpace)); a test parses every script and checks that each
//! key argument of each `redis.call` is a `KEYS[...]` expression. Numbers are decimal strings of integers, formatted with
//! `%d` so Lua's float printing never rounds them.

use redis::Script;

/// Refresh family creation under the per-subject session cap. KEYS: family hash, subject
/// index (sorted set: family id scored by its absolute end), then candidate families to
/// evict (possibly none). ARGV: subject, expires_at, generation, hash (hex), idle_until,
/// ttl_ms, family id, created_at, cap, label ('' for none), then the candidates' ids, in
/// KEYS order. The family hash also records the label (`lb`) and the last use (`lu`, the
/// login time until the first rotation).
///
/// First drops from the index every id whose family ended at or before created_at, so the
/// index holds only live families (revoked ones leave it when revoked). If the subject
/// would then exceed the cap, as many candidates as must go are revoked and removed,
/// lowest score first (the sessions that end first; a login that raced in after the
/// caller read the index ends no earlier than any candidate, ties aside). If too few
/// candidates are still indexed, nothing is written and {-1, live count} asks the caller
/// to pass the index as it is now. The index is bounded by the cap, so is the loop.
/// Returns {1, 0} created, {0, 0} if the family exists.
const REFRESH_CREATE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, 0} end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[8])
local live = redis.call('ZCARD', KEYS[2])
local need = live + 1 - tonumber(ARGV[9])
if need > 0 then
  local at = {}
  for i = 3, #KEYS do at[ARGV[8 + i]] = i end
  local picked = {}
  for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
    if #picked == need then break end
    if at[id] then table.insert(picked, id) end
  end
  if #picked < need then return {-1, live} end
  for _, id in ipairs(picked) do
    if redis.call('HGET', KEYS[at[id]], 'rev') == '0' then
      redis.call('HSET', KEYS[at[id]], 'rev', '1')
    end
    redis.call('ZREM', KEYS[2], id)
  end
end
redis.call('HSET', KEYS[1], 'sub', ARGV[1], 'exp', ARGV[2], 'rev', '0',
  'cg', ARGV[3], 'ch', ARGV[4], 'iu', ARGV[5], 'ca', ARGV[8], 'lu', ARGV[8], 'lb', ARGV[10])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[7])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[6]) then
  redis.call('PEXPIRE', KEYS[2], ARGV[6])
end
return {1, 0}
";

/// The rotation state machine (rows 1-7 of `portcullis_tokens::refresh`). KEYS: family
/// hash, tenant refresh epoch (row 2: a family created at or before it — or with no
/// recorded creation time — is revoked). ARGV: presented generation, presented hash (hex),
/// successor hash (hex), now, grace_until, idle_until, next generation ('' if it would
/// overflow), the grace chain's length (`GRACE_CHAIN`). The field `rc` holds the tokens
/// rotated less than a grace window ago as `gen:hash:grace_until` joined by `;`, oldest
/// first (a family written before the chain existed has `pg`/`ph`/`gu` instead: its one
/// previous token). Returns {code, subject, expires_at, current generation, current hash}:
/// 0 not found, 1 revoked, 2 expired, 3 rotated, 4 replay, 5 reuse detected (the family
/// is revoked; the caller then removes its id from the subject index, a key this script
/// cannot name).
const REFRESH_ROTATE: &str = r"
local f = redis.call('HMGET', KEYS[1], 'sub', 'exp', 'rev', 'cg', 'ch', 'iu', 'rc', 'ca',
  'pg', 'ph', 'gu')
if not f[1] then return {0, '', '0', '', ''} end
if f[3] ~= '0' then return {1, '', '0', '', ''} end
local ep = redis.call('HGET', KEYS[2], 'e')
if ep and tonumber(f[8] or '0') <= tonumber(ep) then return {1, '', '0', '', ''} end
local now = tonumber(ARGV[4])
local exp = tonumber(f[2])
if now >= exp then return {2, '', '0', '', ''} end
local recent = {}
if f[7] then
  for e in string.gmatch(f[7], '[^;]+') do table.insert(recent, e) end
elseif f[9] and f[10] and f[11] then
  table.insert(recent, f[9] .. ':' .. f[10] .. ':' .. f[11])
end
if ARGV[1] == f[4] and ARGV[2] == f[5] then
  if now >= tonumber(f[6]) then return {2, '', '0', '', ''} end
  if ARGV[7] == '' then return {2, '', '0', '', ''} end
  local iu = ARGV[6]
  if tonumber(iu) > exp then iu = f[2] end
  local kept = {}
  for _, e in ipairs(recent) do
    local gu = tonumber(string.match(e, ':(%d+)$'))
    if gu and now < gu then table.insert(kept, e) end
  end
  table.insert(kept, f[4] .. ':' .. f[5] .. ':' .. ARGV[5])
  while #kept > tonumber(ARGV[8]) do table.remove(kept, 1) end
  redis.call('HSET', KEYS[1], 'rc', table.concat(kept, ';'), 'cg', ARGV[7], 'ch', ARGV[3],
    'iu', iu, 'lu', ARGV[4])
  redis.call('HDEL', KEYS[1], 'pg', 'ph', 'ps', 'gu')
  return {3, f[1], f[2], ARGV[7], ARGV[3]}
end
local probe = table.concat({ARGV[1], ARGV[2], ''}, ':')
for _, e in ipairs(recent) do
  if string.sub(e, 1, #probe) == probe then
    local gu = tonumber(string.sub(e, #probe + 1))
    if gu and now < gu then return {4, f[1], f[2], f[4], f[5]} end
  end
end
redis.call('HSET', KEYS[1], 'rev', '1')
return {5, f[1], f[2], '', ''}
";

/// Revokes one family. KEYS: family hash. Returns {1, subject} if it was active (the
/// caller then removes its id from the subject index), else {0, ''}.
const REFRESH_REVOKE_FAMILY: &str = r"
local f = redis.call('HMGET', KEYS[1], 'rev', 'sub')
if f[1] == '0' then
  redis.call('HSET', KEYS[1], 'rev', '1')
  return {1, f[2]}
end
return {0, ''}
";

/// Revokes every family of a subject. KEYS: subject index, then the hash of every family
/// the caller read from the index. ARGV: subject, then those families' ids in KEYS order.
/// If the index no longer holds exactly these ids (a login or revocation ran in between),
/// nothing is written and -1 asks the caller to read it again. The index never holds more
/// than the session cap (at most `MAX_SESSIONS_PER_SUBJECT`), which bounds the loop.
/// Returns the count revoked.
const REFRESH_REVOKE_SUBJECT: &str = r"
local n = #KEYS - 1
if redis.call('ZCARD', KEYS[1]) ~= n then return -1 end
for i = 1, n do
  if not redis.call('ZSCORE', KEYS[1], ARGV[1 + i]) then return -1 end
end
local count = 0
for i = 1, n do
  local f = redis.call('HMGET', KEYS[1 + i], 'rev', 'sub')
  if f[1] == '0' and f[2] == ARGV[1] then
    redis.call('HSET', KEYS[1 + i], 'rev', '1')
    count = count + 1
  end
end
redis.call('DEL', KEYS[1])
return count
";

/// Revokes every family of a subject but one. KEYS: subject index, then the hash of every
/// family the caller read from the index. ARGV: subject, the family to keep, then the
/// families' ids in KEYS order. As `REFRESH_REVOKE_SUBJECT` (the same index check, -1 to
/// read again), but the kept family stays live and indexed. Returns the count revoked.
const REFRESH_REVOKE_SUBJECT_EXCEPT: &str = r"
local n = #KEYS - 1
if redis.call('ZCARD', KEYS[1]) ~= n then return -1 end
for i = 1, n do
  if not redis.call('ZSCORE', KEYS[1], ARGV[2 + i]) then return -1 end
end
local count = 0
for i = 1, n do
  if ARGV[2 + i] ~= ARGV[2] then
    local f = redis.call('HMGET', KEYS[1 + i], 'rev', 'sub')
    if f[1] == '0' and f[2] == ARGV[1] then
      redis.call('HSET', KEYS[1 + i], 'rev', '1')
      count = count + 1
    end
    redis.call('ZREM', KEYS[1], ARGV[2 + i])
  end
end
return count
";

/// A subject's live sessions. KEYS: tenant refresh epoch, then the hash of every family
/// the caller read from the subject index. ARGV: now, subject, then the families' ids in
/// KEYS order. Returns {id, created, last used, expires, label} for each family that is
/// the subject's, not revoked, created after the epoch, before its end and its idle
/// deadline.
const REFRESH_LIST: &str = r"
local now = tonumber(ARGV[1])
local ep = tonumber(redis.call('HGET', KEYS[1], 'e') or '-1')
local out = {}
for i = 2, #KEYS do
  local f = redis.call('HMGET', KEYS[i], 'sub', 'rev', 'exp', 'iu', 'ca', 'lu', 'lb')
  if f[1] == ARGV[2] and f[2] == '0' and f[5] and tonumber(f[5]) > ep
      and now < tonumber(f[3]) and now < tonumber(f[4]) then
    table.insert(out, {ARGV[1 + i], f[5], f[6] or f[5], f[3], f[7] or ''})
  end
end
return out
";

/// A family's status fields and its tenant's refresh epoch, in one read. KEYS: family
/// hash, tenant refresh epoch. Returns {sub, rev, exp, iu, ca, epoch} (false for absent).
const REFRESH_STATUS: &str = r"
local f = redis.call('HMGET', KEYS[1], 'sub', 'rev', 'exp', 'iu', 'ca')
table.insert(f, redis.call('HGET', KEYS[2], 'e'))
return f
";

/// Monotonic raise of a revocation entry (also the tenant refresh epoch). KEYS: entry hash. ARGV: epoch (0 for a jti),
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

/// API-key insert. KEYS: key hash, owner list (every id), owner live index (a sorted set
/// of the ids neither revoked nor expired, scored by expiry in ms, `+inf` for none). ARGV:
/// id, owner, name, scopes (JSON), hash (hex), created_at, expires_at or '', revoked_at
/// or '', escaped id, live cap, record cap. Expired ids leave the live index first (as of
/// created_at). Returns 1, 0 if the id exists, -1 if the record is live and the owner
/// holds the live cap, -2 if the owner list holds the record cap (nothing written unless
/// 1, besides dropping expired ids from the index).
const API_KEY_INSERT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local now = tonumber(ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local live = ARGV[8] == '' and (ARGV[7] == '' or tonumber(ARGV[7]) > now)
if live and redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[10]) then return -1 end
if redis.call('LLEN', KEYS[2]) >= tonumber(ARGV[11]) then return -2 end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'owner', ARGV[2], 'name', ARGV[3],
  'scopes', ARGV[4], 'hash', ARGV[5], 'created', ARGV[6], 'expires', ARGV[7],
  'revoked', ARGV[8])
redis.call('RPUSH', KEYS[2], ARGV[9])
if live then
  local score = ARGV[7]
  if score == '' then score = '+inf' end
  redis.call('ZADD', KEYS[3], score, ARGV[9])
end
return 1
";

/// API-key revoke (keeps the earliest time). KEYS: key hash, its owner's live index.
/// ARGV: now, escaped id, owner (read by the caller). Returns 1 if the key exists, 0 if
/// not, -1 if its owner is not ARGV[3] (nothing written).
const API_KEY_REVOKE: &str = r"
local f = redis.call('HMGET', KEYS[1], 'revoked', 'owner')
if not f[2] then return 0 end
if f[2] ~= ARGV[3] then return -1 end
if (not f[1]) or f[1] == '' or tonumber(f[1]) > tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'revoked', ARGV[1])
end
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
";

/// API-key delete. KEYS: key hash, its owner's list, its owner's live index. ARGV:
/// escaped id, owner (read by the caller). Returns 1 if deleted, 0 if absent, -1 if its
/// owner is not ARGV[2] (nothing written).
const API_KEY_DELETE: &str = r"
local owner = redis.call('HGET', KEYS[1], 'owner')
if not owner then return 0 end
if owner ~= ARGV[2] then return -1 end
redis.call('DEL', KEYS[1])
redis.call('LREM', KEYS[2], 0, ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
";

/// API-key purge. KEYS: owner list, owner live index, then the record of every id the
/// caller read from the list. ARGV: now, owner, then those escaped ids in KEYS order.
/// Deletes the records of that owner that are revoked or expired at `now`, and rebuilds
/// the list without them in one pass (ids inserted meanwhile are kept). The list holds at
/// most `MAX_API_KEY_RECORDS_PER_OWNER` ids, which bounds both loops. Returns the count.
const API_KEY_PURGE: &str = r"
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local gone = {}
local n = 0
for i = 3, #KEYS do
  local f = redis.call('HMGET', KEYS[i], 'owner', 'revoked', 'expires')
  if f[1] == ARGV[2] and ((f[2] and f[2] ~= '')
      or (f[3] and f[3] ~= '' and tonumber(f[3]) <= now)) then
    redis.call('DEL', KEYS[i])
    redis.call('ZREM', KEYS[2], ARGV[i])
    gone[ARGV[i]] = true
    n = n + 1
  end
end
if n > 0 then
  local ids = redis.call('LRANGE', KEYS[1], 0, -1)
  local kept = {}
  for _, id in ipairs(ids) do
    if not gone[id] then table.insert(kept, id) end
  end
  redis.call('DEL', KEYS[1])
  for i = 1, #kept, 500 do
    redis.call('RPUSH', KEYS[1], unpack(kept, i, math.min(i + 499, #kept)))
  end
end
return n
";

/// API-key list. KEYS: owner list, then the record of every id the caller read from it.
/// ARGV: owner. The list holds at most `MAX_API_KEY_RECORDS_PER_OWNER` ids (enforced by
/// the insert script), which bounds this loop; records of another owner are skipped.
const API_KEY_LIST: &str = r"
local out = {}
for i = 2, #KEYS do
  local f = redis.call('HMGET', KEYS[i], 'id', 'owner', 'name', 'scopes', 'hash',
    'created', 'expires', 'revoked')
  if f[1] and f[2] == ARGV[1] then table.insert(out, f) end
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
    pub(crate) refresh_revoke_subject_except: Script,
    pub(crate) refresh_list: Script,
    pub(crate) refresh_revoke_family: Script,
    pub(crate) refresh_revoke_subject: Script,
    pub(crate) refresh_status: Script,
    pub(crate) revocation_raise: Script,
    pub(crate) revocation_check: Script,
    pub(crate) mark_once: Script,
    pub(crate) api_key_insert: Script,
    pub(crate) api_key_revoke: Script,
    pub(crate) api_key_delete: Script,
    pub(crate) api_key_purge: Script,
    pub(crate) api_key_list: Script,
    pub(crate) gcra: Script,
}

impl Scripts {
    pub(crate) fn new() -> Self {
        Self {
            refresh_create: Script::new(REFRESH_CREATE),
            refresh_rotate: Script::new(REFRESH_ROTATE),
            refresh_revoke_subject_except: Script::new(REFRESH_REVOKE_SUBJECT_EXCEPT),
            refresh_list: Script::new(REFRESH_LIST),
            refresh_revoke_family: Script::new(REFRESH_REVOKE_FAMILY),
            refresh_revoke_subject: Script::new(REFRESH_REVOKE_SUBJECT),
            refresh_status: Script::new(REFRESH_STATUS),
            revocation_raise: Script::new(REVOCATION_RAISE),
            revocation_check: Script::new(REVOCATION_CHECK),
            mark_once: Script::new(MARK_ONCE),
            api_key_insert: Script::new(API_KEY_INSERT),
            api_key_revoke: Script::new(API_KEY_REVOKE),
            api_key_delete: Script::new(API_KEY_DELETE),
            api_key_purge: Script::new(API_KEY_PURGE),
            api_key_list: Script::new(API_KEY_LIST),
            gcra: Script::new(GCRA),
        }
    }
}

/// Every script source, by name (for the key-declaration test).
#[cfg(test)]
const ALL: &[(&str, &str)] = &[
    ("refresh_create", REFRESH_CREATE),
    ("refresh_rotate", REFRESH_ROTATE),
    (
        "refresh_revoke_subject_except",
        REFRESH_REVOKE_SUBJECT_EXCEPT,
    ),
    ("refresh_list", REFRESH_LIST),
    ("refresh_revoke_family", REFRESH_REVOKE_FAMILY),
    ("refresh_revoke_subject", REFRESH_REVOKE_SUBJECT),
    ("refresh_status", REFRESH_STATUS),
    ("revocation_raise", REVOCATION_RAISE),
    ("revocation_check", REVOCATION_CHECK),
    ("mark_once", MARK_ONCE),
    ("api_key_insert", API_KEY_INSERT),
    ("api_key_revoke", API_KEY_REVOKE),
    ("api_key_delete", API_KEY_DELETE),
    ("api_key_purge", API_KEY_PURGE),
    ("api_key_list", API_KEY_LIST),
    ("gcra", GCRA),
];

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing, clippy::panic)]
    use super::ALL;

    /// Commands our scripts may call that take no key.
    const KEYLESS: &[&str] = &["TIME"];

    /// Each `redis.call(` in `src`: (command, first argument expression).
    fn calls(src: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut rest = src;
        while let Some(i) = rest.find("redis.call(") {
            rest = &rest[i + "redis.call(".len()..];
            let args_end = rest.find(')').unwrap_or(rest.len());
            let mut args = rest[..args_end].split(',').map(str::trim);
            let cmd = args.next().unwrap_or("").trim_matches('\'').to_owned();
            let first = args.next().unwrap_or("").to_owned();
            out.push((cmd, first));
        }
        out
    }

    #[test]
    fn every_key_a_script_touches_is_declared_in_keys() {
        let mut seen = 0;
        for (name, src) in ALL {
            assert!(!src.contains("#!"), "{name}: no shebang flags");
            assert!(
                !src.contains(".. id") && !src.contains("ARGV[1] .."),
                "{name} builds a key"
            );
            for (cmd, first) in calls(src) {
                seen += 1;
                if KEYLESS.contains(&cmd.as_str()) {
                    assert!(first.is_empty(), "{name}: {cmd} takes no argument here");
                    continue;
                }
                assert!(
                    first.starts_with("KEYS[") && first.ends_with(']'),
                    "{name}: {cmd} touches `{first}`, which is not a declared key"
                );
            }
        }
        assert!(seen > 40, "the parser found only {seen} calls");
    }

    #[test]
    fn the_parser_sees_an_undeclared_key() {
        let bad = "local f = redis.call('HGET', KEYS[1], 'sk')\nredis.call('ZREM', f, 'x')";
        let c = calls(bad);
        assert_eq!(c.len(), 2);
        assert_eq!(c[1], ("ZREM".to_owned(), "f".to_owned()));
    }
}
