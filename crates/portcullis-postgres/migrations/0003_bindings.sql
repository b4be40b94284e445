-- portcullis-postgres migration 3: bind credential blobs to their row; tighten the audit
-- heads; check the tenant id of every audit table. A new migration rather than edits to
-- 1 and 2, so schemas already migrated (checksums recorded) upgrade instead of refusing.

-- Credentials are sealed with a context the store derives from the credential id
-- (`portcullis-postgres/credential:<id>`), so the caller-supplied context column, which
-- the application role could rewrite together with the blob, goes (and its UPDATE grant
-- with it). Blobs sealed before this migration under another context no longer open
-- through the store: re-seal them (the crate was pre-release).
ALTER TABLE sealed_credentials DROP COLUMN context;

-- A head update must grow the size (every append adds at least one entry); an update in
-- place (same size, another hash) was a rewrite of the head.
CREATE OR REPLACE FUNCTION portcullis_head_forward() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    IF NEW.tenant_id <> OLD.tenant_id OR NEW.size <= OLD.size THEN
        RAISE EXCEPTION 'portcullis: an audit head may only move forward'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;

-- The application creates a tenant's head at genesis only: it may name the tenant, and
-- the column defaults give size 0 and the all-zero hash.
REVOKE INSERT ON audit_heads FROM portcullis_app;
GRANT INSERT (tenant_id) ON audit_heads TO portcullis_app;

-- The tenant id pattern audit_heads and the credential tables already check.
ALTER TABLE audit_entries ADD CONSTRAINT audit_entries_tenant_id_check
    CHECK (tenant_id ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$');
ALTER TABLE audit_checkpoints ADD CONSTRAINT audit_checkpoints_tenant_id_check
    CHECK (tenant_id ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$');
