-- portcullis-postgres migration 4: the database checks that a tenant's audit rows agree.
-- At the commit of any transaction that inserted an entry, created or moved a head, or
-- inserted a checkpoint, the tenant's rows must satisfy:
--   (a) every entry lies below the head (seq < size): an entry commits only together
--       with the head move that covers it;
--   (b) the head names its last entry: size 0 with the all-zero hash, or the entry at
--       seq = size - 1 exists and its hash is the head's hash;
--   (c) no checkpoint exceeds the head's size.
-- Rows already present are not re-checked by this migration; PgAuditStore reports any
-- disagreement on read (see the crate docs for the repair procedure).

CREATE FUNCTION portcullis_audit_consistent() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    h_size bigint;
    h_hash bytea;
    beyond bigint;
    last_hash bytea;
    cp_size bigint;
BEGIN
    EXECUTE format('SELECT size, head_hash FROM %I.audit_heads WHERE tenant_id = $1',
                   TG_TABLE_SCHEMA)
        INTO h_size, h_hash USING NEW.tenant_id;
    IF h_size IS NULL THEN
        h_size := 0;
        h_hash := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
    END IF;
    EXECUTE format('SELECT min(seq) FROM %I.audit_entries WHERE tenant_id = $1 AND seq >= $2',
                   TG_TABLE_SCHEMA)
        INTO beyond USING NEW.tenant_id, h_size;
    IF beyond IS NOT NULL THEN
        RAISE EXCEPTION 'portcullis: audit entry % is not covered by its head (size %)',
            beyond, h_size USING ERRCODE = 'PC001';
    END IF;
    IF h_size = 0 THEN
        last_hash := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
    ELSE
        EXECUTE format('SELECT entry_hash FROM %I.audit_entries WHERE tenant_id = $1 AND seq = $2',
                       TG_TABLE_SCHEMA)
            INTO last_hash USING NEW.tenant_id, h_size - 1;
    END IF;
    IF last_hash IS DISTINCT FROM h_hash THEN
        RAISE EXCEPTION 'portcullis: the audit head (size %) does not name its last entry', h_size
            USING ERRCODE = 'PC002';
    END IF;
    EXECUTE format('SELECT max(size) FROM %I.audit_checkpoints WHERE tenant_id = $1',
                   TG_TABLE_SCHEMA)
        INTO cp_size USING NEW.tenant_id;
    IF cp_size > h_size THEN
        RAISE EXCEPTION 'portcullis: a checkpoint of size % exceeds the audit head (size %)',
            cp_size, h_size USING ERRCODE = 'PC003';
    END IF;
    RETURN NULL;
END
$$;

-- Deferred to the commit, so the entries and the head move of one transaction (in any
-- statement order) are checked together; ENABLE ALWAYS as the append-only triggers.
CREATE CONSTRAINT TRIGGER audit_entries_consistent AFTER INSERT ON audit_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION portcullis_audit_consistent();
CREATE CONSTRAINT TRIGGER audit_heads_consistent AFTER INSERT OR UPDATE ON audit_heads
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION portcullis_audit_consistent();
CREATE CONSTRAINT TRIGGER audit_checkpoints_consistent AFTER INSERT ON audit_checkpoints
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION portcullis_audit_consistent();
ALTER TABLE audit_entries ENABLE ALWAYS TRIGGER audit_entries_consistent;
ALTER TABLE audit_heads ENABLE ALWAYS TRIGGER audit_heads_consistent;
ALTER TABLE audit_checkpoints ENABLE ALWAYS TRIGGER audit_checkpoints_consistent;
