-- portcullis-postgres migration 9: the random-nonce budget of portcullis-keys shared by
-- every process (PgSealBudgetStore): seals reserved per (purpose, master key version),
-- only ever raised. `last_grant` is what the latest reservation added (read back by it).

CREATE TABLE seal_budget (
    purpose text NOT NULL CHECK (purpose ~ '^[a-z0-9][a-z0-9._:-]{0,63}$'),
    key_version integer NOT NULL CHECK (key_version > 0),
    reserved bigint NOT NULL CHECK (reserved >= 0),
    last_grant bigint NOT NULL CHECK (last_grant >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (purpose, key_version)
);

REVOKE ALL ON seal_budget FROM PUBLIC;
DO $$
DECLARE
    app constant text := current_setting('portcullis.app_role');
BEGIN
    EXECUTE format('GRANT SELECT, INSERT ON seal_budget TO %I', app);
    EXECUTE format('GRANT UPDATE (reserved, last_grant, updated_at) ON seal_budget TO %I', app);
END
$$;
