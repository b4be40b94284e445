-- portcullis-postgres migration 8: the optional hash-partitioned audit layout.
-- migrate_with sets portcullis.audit_partitions to the number of partitions asked for
-- (empty otherwise). When it is set and the three audit tables are empty (a fresh schema),
-- they are rebuilt as native PostgreSQL tables PARTITION BY HASH (tenant_id) with that many
-- partitions each: same columns, defaults, checks, keys, triggers, row-level security and
-- grants as the plain tables; otherwise nothing changes here (migrate_with then refuses a
-- layout it did not get, and rolls everything back).
--
-- On a partitioned table PostgreSQL clones row-level triggers (the consistency constraint
-- triggers and audit_heads_forward) onto every partition, but a statement-level trigger of
-- the parent fires only for statements naming the parent, and row-level security of the
-- parent applies only to queries through the parent. So every partition also gets the
-- append-only statement triggers, ENABLE + FORCE ROW LEVEL SECURITY with the tenant policy,
-- and no privilege for anyone but its owner: the application role reaches the rows only
-- through the parent, where its grants and the policy apply.

DO $migration$
DECLARE
    n integer := nullif(current_setting('portcullis.audit_partitions', true), '')::integer;
    app constant text := current_setting('portcullis.app_role');
    t text;
    p text;
    i integer;
    tenant_rule constant text :=
        $r$USING (tenant_id = current_setting('portcullis.tenant_id', true))
           WITH CHECK (tenant_id = current_setting('portcullis.tenant_id', true))$r$;
BEGIN
    IF n IS NULL OR n < 1 THEN
        RETURN;
    END IF;
    -- Emptiness as the owner sees it without row-level security (FORCE would hide rows).
    ALTER TABLE audit_heads NO FORCE ROW LEVEL SECURITY;
    ALTER TABLE audit_entries NO FORCE ROW LEVEL SECURITY;
    ALTER TABLE audit_checkpoints NO FORCE ROW LEVEL SECURITY;
    IF EXISTS (SELECT 1 FROM audit_heads) OR EXISTS (SELECT 1 FROM audit_entries)
       OR EXISTS (SELECT 1 FROM audit_checkpoints) THEN
        -- Put FORCE back; migrate_with reports the layout it found and rolls back anyway.
        ALTER TABLE audit_heads FORCE ROW LEVEL SECURITY;
        ALTER TABLE audit_entries FORCE ROW LEVEL SECURITY;
        ALTER TABLE audit_checkpoints FORCE ROW LEVEL SECURITY;
        RETURN;
    END IF;

    -- Columns, defaults and CHECK constraints (with their names) from the live tables;
    -- keys and indexes by name as migration 1 made them.
    CREATE TABLE audit_heads_partitioned
        (LIKE audit_heads INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
        PARTITION BY HASH (tenant_id);
    CREATE TABLE audit_entries_partitioned
        (LIKE audit_entries INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
        PARTITION BY HASH (tenant_id);
    CREATE TABLE audit_checkpoints_partitioned
        (LIKE audit_checkpoints INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
        PARTITION BY HASH (tenant_id);
    DROP TABLE audit_heads, audit_entries, audit_checkpoints;
    ALTER TABLE audit_heads_partitioned RENAME TO audit_heads;
    ALTER TABLE audit_entries_partitioned RENAME TO audit_entries;
    ALTER TABLE audit_checkpoints_partitioned RENAME TO audit_checkpoints;
    ALTER TABLE audit_heads ADD CONSTRAINT audit_heads_pkey PRIMARY KEY (tenant_id);
    ALTER TABLE audit_entries ADD CONSTRAINT audit_entries_tenant_seq UNIQUE (tenant_id, seq);
    CREATE INDEX audit_checkpoints_tenant_size ON audit_checkpoints (tenant_id, size);

    FOR i IN 0 .. n - 1 LOOP
        FOREACH t IN ARRAY ARRAY['audit_heads', 'audit_entries', 'audit_checkpoints'] LOOP
            p := format('%s_p%s', t, i);
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES WITH (MODULUS %s, REMAINDER %s)',
                           p, t, n, i);
            EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', p);
            EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', p);
            EXECUTE format('CREATE POLICY tenant_isolation ON %I %s', p, tenant_rule);
            EXECUTE format('REVOKE ALL ON %I FROM PUBLIC', p);
            IF t = 'audit_heads' THEN
                EXECUTE format('CREATE TRIGGER %I BEFORE DELETE OR TRUNCATE ON %I
                                FOR EACH STATEMENT EXECUTE FUNCTION portcullis_refuse_change()',
                               p || '_no_delete', p);
                EXECUTE format('ALTER TABLE %I ENABLE ALWAYS TRIGGER %I', p, p || '_no_delete');
            ELSE
                EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I
                                FOR EACH STATEMENT EXECUTE FUNCTION portcullis_refuse_change()',
                               p || '_append_only', p);
                EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I
                                FOR EACH STATEMENT EXECUTE FUNCTION portcullis_refuse_change()',
                               p || '_no_truncate', p);
                EXECUTE format('ALTER TABLE %I ENABLE ALWAYS TRIGGER %I', p, p || '_append_only');
                EXECUTE format('ALTER TABLE %I ENABLE ALWAYS TRIGGER %I', p, p || '_no_truncate');
            END IF;
        END LOOP;
    END LOOP;

    -- The parents' triggers, as migrations 1, 3 and 7 made them (row-level ones are cloned
    -- onto the partitions, ENABLE ALWAYS with them).
    CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
        FOR EACH STATEMENT EXECUTE FUNCTION portcullis_refuse_change();
    CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
        FOR EACH STATEMENT EXECUTE FUNCTION portcullis_refuse_change();
    CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
        FOR EACH STATEMENT EXECUTE FUNCTION portcullis_refuse_change();
    CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
        FOR EACH STATEMENT EXECUTE FUNCTION portcullis_refuse_change();
    CREATE TRIGGER audit_heads_no_delete BEFORE DELETE OR TRUNCATE ON audit_heads
        FOR EACH STATEMENT EXECUTE FUNCTION portcullis_refuse_change();
    CREATE TRIGGER audit_heads_forward BEFORE UPDATE ON audit_heads
        FOR EACH ROW EXECUTE FUNCTION portcullis_head_forward();
    CREATE CONSTRAINT TRIGGER audit_entries_consistent AFTER INSERT ON audit_entries
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION portcullis_entry_consistent();
    CREATE CONSTRAINT TRIGGER audit_heads_consistent AFTER INSERT OR UPDATE ON audit_heads
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION portcullis_head_consistent();
    CREATE CONSTRAINT TRIGGER audit_checkpoints_consistent AFTER INSERT ON audit_checkpoints
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION portcullis_checkpoint_consistent();
    ALTER TABLE audit_entries ENABLE ALWAYS TRIGGER audit_entries_append_only;
    ALTER TABLE audit_entries ENABLE ALWAYS TRIGGER audit_entries_no_truncate;
    ALTER TABLE audit_checkpoints ENABLE ALWAYS TRIGGER audit_checkpoints_append_only;
    ALTER TABLE audit_checkpoints ENABLE ALWAYS TRIGGER audit_checkpoints_no_truncate;
    ALTER TABLE audit_heads ENABLE ALWAYS TRIGGER audit_heads_no_delete;
    ALTER TABLE audit_heads ENABLE ALWAYS TRIGGER audit_heads_forward;
    ALTER TABLE audit_entries ENABLE ALWAYS TRIGGER audit_entries_consistent;
    ALTER TABLE audit_heads ENABLE ALWAYS TRIGGER audit_heads_consistent;
    ALTER TABLE audit_checkpoints ENABLE ALWAYS TRIGGER audit_checkpoints_consistent;

    -- The parents' row-level security and grants, as migrations 1, 3 and 5 made them.
    FOREACH t IN ARRAY ARRAY['audit_heads', 'audit_entries', 'audit_checkpoints'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I %s', t, tenant_rule);
        EXECUTE format('REVOKE ALL ON %I FROM PUBLIC', t);
    END LOOP;
    EXECUTE format('GRANT SELECT, INSERT ON audit_entries, audit_checkpoints TO %I', app);
    EXECUTE format('GRANT SELECT, INSERT (tenant_id), UPDATE (size, head_hash) ON audit_heads TO %I', app);
END
$migration$;
