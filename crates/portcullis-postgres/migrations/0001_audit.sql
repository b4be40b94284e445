-- portcullis-postgres migration 1: append-only audit log.
-- Runs inside the migration transaction with search_path set to the target schema.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'portcullis_app') THEN
        CREATE ROLE portcullis_app NOLOGIN;
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO portcullis_app', current_schema());
END
$$;

-- One row per tenant: the chain head. Appends lock it (SELECT ... FOR UPDATE), so
-- concurrent appenders of one tenant serialize and never fork the chain.
CREATE TABLE audit_heads (
    tenant_id text NOT NULL PRIMARY KEY CHECK (tenant_id ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'),
    size bigint NOT NULL DEFAULT 0 CHECK (size >= 0),
    head_hash bytea NOT NULL DEFAULT '\x0000000000000000000000000000000000000000000000000000000000000000'
        CHECK (octet_length(head_hash) = 32)
);

CREATE TABLE audit_entries (
    tenant_id text NOT NULL,
    seq bigint NOT NULL CHECK (seq >= 0),
    prev_hash bytea NOT NULL CHECK (octet_length(prev_hash) = 32),
    entry_hash bytea NOT NULL CHECK (octet_length(entry_hash) = 32),
    time_ms bigint NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    resource text NOT NULL,
    -- The entry's JSON-line form (portcullis-audit); the hash covers its binary encoding.
    record text NOT NULL,
    inserted_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT audit_entries_tenant_seq UNIQUE (tenant_id, seq)
);

CREATE TABLE audit_checkpoints (
    tenant_id text NOT NULL,
    size bigint NOT NULL CHECK (size >= 0),
    note text NOT NULL,
    stored_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_checkpoints_tenant_size ON audit_checkpoints (tenant_id, size);

-- Append-only: any UPDATE, DELETE or TRUNCATE of entries or checkpoints raises, for every
-- role (the triggers are statement-level, so they fire even when no row is visible, and
-- ENABLE ALWAYS keeps them firing under session_replication_role = replica).
CREATE FUNCTION portcullis_refuse_change() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    RAISE EXCEPTION 'portcullis: % on %.% is not allowed (append-only)',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION portcullis_refuse_change();
CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION portcullis_refuse_change();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION portcullis_refuse_change();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION portcullis_refuse_change();
-- Heads only move forward and are never removed.
CREATE TRIGGER audit_heads_no_delete BEFORE DELETE OR TRUNCATE ON audit_heads
    FOR EACH STATEMENT EXECUTE FUNCTION portcullis_refuse_change();
CREATE FUNCTION portcullis_head_forward() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    IF NEW.tenant_id <> OLD.tenant_id OR NEW.size < OLD.size THEN
        RAISE EXCEPTION 'portcullis: an audit head may only move forward'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_heads_forward BEFORE UPDATE ON audit_heads
    FOR EACH ROW EXECUTE FUNCTION portcullis_head_forward();

ALTER TABLE audit_entries ENABLE ALWAYS TRIGGER audit_entries_append_only;
ALTER TABLE audit_entries ENABLE ALWAYS TRIGGER audit_entries_no_truncate;
ALTER TABLE audit_checkpoints ENABLE ALWAYS TRIGGER audit_checkpoints_append_only;
ALTER TABLE audit_checkpoints ENABLE ALWAYS TRIGGER audit_checkpoints_no_truncate;
ALTER TABLE audit_heads ENABLE ALWAYS TRIGGER audit_heads_no_delete;
ALTER TABLE audit_heads ENABLE ALWAYS TRIGGER audit_heads_forward;

-- Row-level security keyed on the per-transaction setting portcullis.tenant_id. FORCE
-- applies it to the table owner too; without the setting no row is visible or writable.
ALTER TABLE audit_heads ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_heads FORCE ROW LEVEL SECURITY;
ALTER TABLE audit_entries ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_entries FORCE ROW LEVEL SECURITY;
ALTER TABLE audit_checkpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_checkpoints FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_heads
    USING (tenant_id = current_setting('portcullis.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('portcullis.tenant_id', true));
CREATE POLICY tenant_isolation ON audit_entries
    USING (tenant_id = current_setting('portcullis.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('portcullis.tenant_id', true));
CREATE POLICY tenant_isolation ON audit_checkpoints
    USING (tenant_id = current_setting('portcullis.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('portcullis.tenant_id', true));

-- The application role: INSERT/SELECT on entries and checkpoints, and what the append
-- needs on heads (create a tenant's row, lock it, move it forward).
REVOKE ALL ON audit_heads, audit_entries, audit_checkpoints FROM PUBLIC;
GRANT SELECT, INSERT ON audit_entries, audit_checkpoints TO portcullis_app;
GRANT SELECT, INSERT ON audit_heads TO portcullis_app;
GRANT UPDATE (size, head_hash) ON audit_heads TO portcullis_app;
