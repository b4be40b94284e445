-- portcullis-postgres migration 6: sealed secrets survive key rotation. Like
-- sealed_credentials, sealed_secrets gets a bytewise-ordered blob id to page over
-- (`<tenant>/<name>`; tenant ids hold no `/`) and the schema's rotator role may read
-- every tenant's secrets and swap their blobs (PgSecretSource's BlobSource/BlobSink).

ALTER TABLE sealed_secrets
    ADD COLUMN blob_id text COLLATE "C" GENERATED ALWAYS AS (tenant_id || '/' || name) STORED;
CREATE UNIQUE INDEX sealed_secrets_blob_id ON sealed_secrets (blob_id);
CREATE INDEX sealed_secrets_key_version ON sealed_secrets (key_version);

DO $$
DECLARE
    rot constant text := current_setting('portcullis.rotator_role');
BEGIN
    EXECUTE format('CREATE POLICY rotator_all_tenants ON sealed_secrets TO %I
                    USING (true) WITH CHECK (true)', rot);
    EXECUTE format('GRANT SELECT, UPDATE (key_version, blob, updated_at) ON sealed_secrets TO %I',
                   rot);
END
$$;
