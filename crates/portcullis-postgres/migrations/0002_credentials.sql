-- portcullis-postgres migration 2: sealed credentials (portcullis-keys blobs) and sealed
-- runtime secrets. No column ever holds plaintext.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'portcullis_rotator') THEN
        CREATE ROLE portcullis_rotator NOLOGIN;
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO portcullis_rotator', current_schema());
END
$$;

CREATE TABLE sealed_credentials (
    tenant_id text NOT NULL CHECK (tenant_id ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'),
    credential_id text NOT NULL CHECK (octet_length(credential_id) BETWEEN 1 AND 256),
    -- The context the blob was sealed with (bound into its AAD).
    context bytea NOT NULL,
    -- The key version named in the blob header (for "how much is left to rotate").
    key_version integer NOT NULL CHECK (key_version > 0),
    blob bytea NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- The blob id re-encryption pages over, in byte order.
    blob_id text COLLATE "C" GENERATED ALWAYS AS (tenant_id || '/' || credential_id) STORED,
    PRIMARY KEY (tenant_id, credential_id)
);
CREATE UNIQUE INDEX sealed_credentials_blob_id ON sealed_credentials (blob_id);
CREATE INDEX sealed_credentials_key_version ON sealed_credentials (key_version);

ALTER TABLE sealed_credentials ENABLE ROW LEVEL SECURITY;
ALTER TABLE sealed_credentials FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sealed_credentials
    USING (tenant_id = current_setting('portcullis.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('portcullis.tenant_id', true));
-- Re-encryption reads every tenant's rows and swaps blobs; it runs as its own role.
CREATE POLICY rotator_all_tenants ON sealed_credentials TO portcullis_rotator
    USING (true) WITH CHECK (true);

REVOKE ALL ON sealed_credentials FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON sealed_credentials TO portcullis_app;
GRANT UPDATE (context, key_version, blob, updated_at) ON sealed_credentials TO portcullis_app;
GRANT SELECT ON sealed_credentials TO portcullis_rotator;
GRANT UPDATE (key_version, blob, updated_at) ON sealed_credentials TO portcullis_rotator;

-- Runtime secrets for portcullis-keys' SecretResolver, sealed under a deployment tenant
-- (the SecretSource's tenant) with the secret's name bound into the AAD.
CREATE TABLE sealed_secrets (
    tenant_id text NOT NULL CHECK (tenant_id ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'),
    name text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$'),
    key_version integer NOT NULL CHECK (key_version > 0),
    blob bytea NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, name)
);
ALTER TABLE sealed_secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE sealed_secrets FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sealed_secrets
    USING (tenant_id = current_setting('portcullis.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('portcullis.tenant_id', true));
REVOKE ALL ON sealed_secrets FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON sealed_secrets TO portcullis_app;
GRANT UPDATE (key_version, blob, updated_at) ON sealed_secrets TO portcullis_app;
