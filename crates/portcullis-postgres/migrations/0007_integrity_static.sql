-- portcullis-postgres migration 7: the consistency checks of migration 4, cheaper.
-- Migration 4's one function found the schema at run time and ran three queries through
-- EXECUTE at every call (one call per inserted entry, head change and checkpoint, at every
-- commit), so each query was parsed and planned again each time, and each call checked the
-- whole tenant. Here each trigger gets its own function, with static SQL naming this
-- schema's tables (PL/pgSQL prepares it once per session), checking what its row can
-- change. With entries append-only and heads forward-only (the triggers of migrations 1
-- and 3), these per-row checks keep exactly the rules of migration 4 for everything
-- committed since:
--   (a) an inserted entry lies below its tenant's head (seq < size) at commit;
--   (b) an inserted or moved head names its last entry (size 0 with the all-zero hash,
--       or the entry at seq = size - 1 exists with the head's hash);
--   (c) an inserted checkpoint does not exceed its tenant's head.
-- (A head never shrinks, so (a) and (c) hold for older rows once they held; only a head
-- change can break (b).) The SQLSTATEs stay PC001, PC002, PC003; rows from before
-- migration 4 are still only reported by PgAuditStore's reads.

DO $migration$
DECLARE
    s constant text := current_schema();
BEGIN
    EXECUTE format($fn$
CREATE FUNCTION %1$I.portcullis_entry_consistent() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog AS $body$
DECLARE
    h_size bigint;
BEGIN
    SELECT size INTO h_size FROM %1$I.audit_heads WHERE tenant_id = NEW.tenant_id;
    IF h_size IS NULL OR NEW.seq >= h_size THEN
        RAISE EXCEPTION 'portcullis: audit entry %% is not covered by its head (size %%)',
            NEW.seq, coalesce(h_size, 0) USING ERRCODE = 'PC001';
    END IF;
    RETURN NULL;
END
$body$
$fn$, s);
    EXECUTE format($fn$
CREATE FUNCTION %1$I.portcullis_head_consistent() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog AS $body$
DECLARE
    h_size bigint;
    h_hash bytea;
    last_hash bytea;
BEGIN
    -- The head as it is at commit (a later statement may have moved it again).
    SELECT size, head_hash INTO h_size, h_hash FROM %1$I.audit_heads
     WHERE tenant_id = NEW.tenant_id;
    IF h_size = 0 THEN
        last_hash := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
    ELSE
        SELECT entry_hash INTO last_hash FROM %1$I.audit_entries
         WHERE tenant_id = NEW.tenant_id AND seq = h_size - 1;
    END IF;
    IF last_hash IS DISTINCT FROM h_hash THEN
        RAISE EXCEPTION 'portcullis: the audit head (size %%) does not name its last entry', h_size
            USING ERRCODE = 'PC002';
    END IF;
    RETURN NULL;
END
$body$
$fn$, s);
    EXECUTE format($fn$
CREATE FUNCTION %1$I.portcullis_checkpoint_consistent() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog AS $body$
DECLARE
    h_size bigint;
BEGIN
    SELECT size INTO h_size FROM %1$I.audit_heads WHERE tenant_id = NEW.tenant_id;
    IF NEW.size > coalesce(h_size, 0) THEN
        RAISE EXCEPTION 'portcullis: a checkpoint of size %% exceeds the audit head (size %%)',
            NEW.size, coalesce(h_size, 0) USING ERRCODE = 'PC003';
    END IF;
    RETURN NULL;
END
$body$
$fn$, s);
END
$migration$;

DROP TRIGGER audit_entries_consistent ON audit_entries;
DROP TRIGGER audit_heads_consistent ON audit_heads;
DROP TRIGGER audit_checkpoints_consistent ON audit_checkpoints;
DROP FUNCTION portcullis_audit_consistent();
CREATE CONSTRAINT TRIGGER audit_entries_consistent AFTER INSERT ON audit_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION portcullis_entry_consistent();
CREATE CONSTRAINT TRIGGER audit_heads_consistent AFTER INSERT OR UPDATE ON audit_heads
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION portcullis_head_consistent();
CREATE CONSTRAINT TRIGGER audit_checkpoints_consistent AFTER INSERT ON audit_checkpoints
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION portcullis_checkpoint_consistent();
ALTER TABLE audit_entries ENABLE ALWAYS TRIGGER audit_entries_consistent;
ALTER TABLE audit_heads ENABLE ALWAYS TRIGGER audit_heads_consistent;
ALTER TABLE audit_checkpoints ENABLE ALWAYS TRIGGER audit_checkpoints_consistent;
