-- portcullis-postgres migration 5: roles per schema. Migrations 1 to 3 granted this
-- schema to the server-wide roles portcullis_app and portcullis_rotator, so two
-- deployments in two schemas of one server shared them. From here on the schema's own
-- roles, <schema>_app and <schema>_rotator (migrate sets portcullis.app_role and
-- portcullis.rotator_role to their names, after refusing existing roles with LOGIN,
-- SUPERUSER or BYPASSRLS), hold every right, and the shared roles keep none here unless
-- they are this schema's roles (the default schema `portcullis`).

DO $$
DECLARE
    s constant text := current_schema();
    app constant text := current_setting('portcullis.app_role');
    rot constant text := current_setting('portcullis.rotator_role');
    shared text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = app) THEN
        EXECUTE format('CREATE ROLE %I NOLOGIN', app);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = rot) THEN
        EXECUTE format('CREATE ROLE %I NOLOGIN', rot);
    END IF;
    FOREACH shared IN ARRAY ARRAY['portcullis_app', 'portcullis_rotator'] LOOP
        IF shared NOT IN (app, rot) AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = shared)
        THEN
            -- Revoking a table's privileges revokes its column privileges too.
            EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM %I', s, shared);
            EXECUTE format('REVOKE ALL ON SCHEMA %I FROM %I', s, shared);
        END IF;
    END LOOP;

    -- The rights migrations 1 to 3 gave, now to the schema's roles.
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I, %I', s, app, rot);
    EXECUTE format('GRANT SELECT, INSERT ON audit_entries, audit_checkpoints TO %I', app);
    EXECUTE format('GRANT SELECT, INSERT (tenant_id), UPDATE (size, head_hash) ON audit_heads TO %I', app);
    EXECUTE format('GRANT SELECT, INSERT, DELETE ON sealed_credentials, sealed_secrets TO %I', app);
    EXECUTE format('GRANT UPDATE (key_version, blob, updated_at) ON sealed_credentials, sealed_secrets TO %I', app);
    EXECUTE format('GRANT SELECT, UPDATE (key_version, blob, updated_at) ON sealed_credentials TO %I', rot);
    DROP POLICY rotator_all_tenants ON sealed_credentials;
    EXECUTE format('CREATE POLICY rotator_all_tenants ON sealed_credentials TO %I USING (true) WITH CHECK (true)', rot);
END
$$;
