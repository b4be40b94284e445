-- portcullis-postgres migration 7: the consistency check of migration 4, with static SQL.
-- Migration 4's function found the schema at run time (TG_TABLE_SCHEMA) and ran its three
-- queries through EXECUTE, so each query was parsed and planned again at every call: once
-- per inserted entry, head change and checkpoint, at every commit. This schema's own copy
-- names this schema's tables, so PL/pgSQL prepares each query once per session. The rules
-- and the SQLSTATEs (PC001, PC002, PC003) are unchanged; the triggers keep calling the
-- function by name.

DO $migration$
BEGIN
    EXECUTE format($fn$
CREATE OR REPLACE FUNCTION %1$I.portcullis_audit_consistent() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog AS $body$
DECLARE
    h_size bigint;
    h_hash bytea;
    beyond bigint;
    last_hash bytea;
    cp_size bigint;
BEGIN
    SELECT size, head_hash INTO h_size, h_hash FROM %1$I.audit_heads
     WHERE tenant_id = NEW.tenant_id;
    IF h_size IS NULL THEN
        h_size := 0;
        h_hash := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
    END IF;
    SELECT min(seq) INTO beyond FROM %1$I.audit_entries
     WHERE tenant_id = NEW.tenant_id AND seq >= h_size;
    IF beyond IS NOT NULL THEN
        RAISE EXCEPTION 'portcullis: audit entry %% is not covered by its head (size %%)',
            beyond, h_size USING ERRCODE = 'PC001';
    END IF;
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
    SELECT max(size) INTO cp_size FROM %1$I.audit_checkpoints WHERE tenant_id = NEW.tenant_id;
    IF cp_size > h_size THEN
        RAISE EXCEPTION 'portcullis: a checkpoint of size %% exceeds the audit head (size %%)',
            cp_size, h_size USING ERRCODE = 'PC003';
    END IF;
    RETURN NULL;
END
$body$
$fn$, current_schema());
END
$migration$;
