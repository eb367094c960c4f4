-- Partitioned source tables (SPEC §2): every statement addressed to a partition and
-- every partition that arrives or leaves is an invalidation path.
--
-- What PostgreSQL does for us, and what it does not:
-- * Row triggers on a partitioned table are cloned to every partition, present and
--   future, and an UPDATE that moves a row between partitions shows up in the
--   UPDATE's transition tables of the table it addressed. So inserts, row updates
--   and row movement need nothing here.
-- * Statement triggers fire only on the table a statement names: a DELETE or
--   UPDATE addressed to a partition does not fire the parent's. Every partition
--   (leaf or partitioned) of the usage and tasks tables therefore gets the
--   parent's statement triggers, under their own names (usage_rollup_part_*), kept
--   in step by _sync_partition_triggers() (attach(), and the event trigger after a
--   command that adds or detaches partitions).
-- * TRUNCATE of a partitioned table fires the TRUNCATE triggers of every partition
--   below it, so leaves alone carry one: a BEFORE TRUNCATE trigger that queues the
--   buckets of the rows about to go (a partitioned root has no TRUNCATE trigger of
--   its own, or a TRUNCATE of it would queue everything twice).
-- * DROP, DETACH and ATTACH fire no trigger at all. ATTACH (rows arrive) and
--   DETACH are seen at ddl_command_end, by the same sync: a leaf without our
--   triggers is new, one with them outside the tree has left, and the buckets of
--   their rows are queued. DROP (rows gone at the end) is seen at
--   ddl_command_start, where the rows can still be read, as are DETACH ...
--   CONCURRENTLY (whose first transaction hides the partition from new queries
--   long before the end), DROP SCHEMA and DROP OWNED (partitions.rs reads the
--   command's parse tree; PL/pgSQL cannot tell which table a DROP names).
-- * Not seen: DDL under session_replication_role = replica (event triggers do not
--   fire), DML addressed to a foreign-table partition.
--
-- A partition's buckets are found by a loose index scan over created_at: one index
-- probe per non-empty 15-minute bucket, never a read of its rows (a weekly
-- partition of ten million rows is at most 672 probes). A tasks partition's usage
-- buckets are those of its tasks' usage rows: one probe of the usage table's
-- task_id index per task of the partition (tasks tables are far smaller than usage).

-- Every partition, at any depth, of the bound usage and tasks tables (not the
-- tables themselves), with its parent and the role of its root.
CREATE FUNCTION usage_rollup._partitions() RETURNS TABLE (relid oid, parentrelid oid, isleaf boolean, role text)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT p.relid, p.parentrelid, p.isleaf, r.role
    FROM usage_rollup.binding b
    CROSS JOIN LATERAL (VALUES (b.usage_table::oid, 'usage'), (b.tasks_table::oid, 'tasks')) r (root, role)
    CROSS JOIN LATERAL pg_partition_tree(r.root) p
    WHERE p.relid <> r.root
$$;

-- Queue the buckets of every row of p_rel, a leaf or branch of the usage or the
-- tasks table at any depth (or, when a DETACH has already taken it out, p_parent
-- is one; the bound table may itself be a partition of another). p_caller: the
-- role running a DROP or DETACH, seen before PostgreSQL checks its privileges: the
-- rows are read only for a role that may drop the table (a member of the owner of
-- the table, its schema or its parent), or anyone could make the extension read a
-- big table. Returns the number of queue rows written.
CREATE FUNCTION usage_rollup._enqueue_partition(p_rel oid, p_parent oid DEFAULT NULL, p_caller oid DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_usage oid;
    v_tasks oid;
    v_role text;
    n bigint;
    m bigint := 0;
BEGIN
    SELECT b.usage_table, b.tasks_table INTO v_usage, v_tasks FROM usage_rollup.binding b;
    IF v_usage IS NULL OR p_rel IN (v_usage, v_tasks) THEN
        RETURN 0;
    END IF;
    SELECT CASE WHEN v_usage = ANY (a.ids) THEN 'usage' WHEN v_tasks = ANY (a.ids) THEN 'tasks' END INTO v_role
    FROM (SELECT array_agg(x.relid::oid) AS ids FROM pg_partition_ancestors(coalesce(p_parent, p_rel)) x) a;
    IF v_role IS NULL THEN
        RETURN 0;
    END IF;
    IF p_caller IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
        LEFT JOIN pg_inherits i ON i.inhrelid = c.oid LEFT JOIN pg_class pc ON pc.oid = i.inhparent
        WHERE c.oid = p_rel
          AND (pg_has_role(p_caller, c.relowner, 'USAGE') OR pg_has_role(p_caller, s.nspowner, 'USAGE')
               OR coalesce(pg_has_role(p_caller, pc.relowner, 'USAGE'), false))) THEN
        RETURN 0;
    END IF;
    IF v_role = 'usage' THEN
        IF EXISTS (SELECT 1 FROM pg_index x JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0]
                   WHERE x.indrelid = p_rel AND a.attname = 'created_at' AND x.indisvalid AND x.indpred IS NULL) THEN
            EXECUTE format(
                'WITH RECURSIVE b (bucket_start) AS (
                     SELECT usage_rollup.bucket_of(min(u.created_at)) FROM %1$s u
                     WHERE u.created_at > ''-infinity'' AND u.created_at < ''294276-12-31 23:45:00+00''
                     UNION ALL
                     SELECT (SELECT usage_rollup.bucket_of(min(u.created_at)) FROM %1$s u
                             WHERE u.created_at >= b.bucket_start + interval ''15 minutes''
                               AND u.created_at < ''294276-12-31 23:45:00+00'')
                     FROM b WHERE b.bucket_start IS NOT NULL)
                 INSERT INTO usage_rollup.dirty_bucket (bucket_start)
                 SELECT b.bucket_start FROM b WHERE b.bucket_start IS NOT NULL', p_rel::regclass);
        ELSE
            -- without an index on created_at a probe per bucket would read the table
            -- once per bucket: one pass instead
            EXECUTE format(
                'INSERT INTO usage_rollup.dirty_bucket (bucket_start)
                 SELECT DISTINCT usage_rollup.bucket_of(u.created_at) FROM %s u
                 WHERE u.created_at > ''-infinity'' AND u.created_at < ''294276-12-31 23:45:00+00''', p_rel::regclass);
        END IF;
        GET DIAGNOSTICS n = ROW_COUNT;
        RETURN n;
    END IF;
    EXECUTE format(
        'INSERT INTO usage_rollup.dirty_task_bucket (bucket_start)
         SELECT DISTINCT v.b FROM %s t
         CROSS JOIN LATERAL (VALUES (usage_rollup.bucket_of(t.started_at)), (usage_rollup.bucket_of(t.completed_at))) v(b)
         WHERE v.b IS NOT NULL', p_rel::regclass);
    GET DIAGNOSTICS n = ROW_COUNT;
    -- (the usage table may be gone: a dangling binding has nothing left to queue)
    IF EXISTS (SELECT 1 FROM pg_class WHERE oid = v_usage) THEN
        -- their usage rows by task_id, one index probe per task (a join the planner
        -- would hash would read the whole usage table)
        EXECUTE format(
            'INSERT INTO usage_rollup.dirty_bucket (bucket_start)
             SELECT DISTINCT usage_rollup.bucket_of(u.created_at)
             FROM %s t CROSS JOIN LATERAL (SELECT x.created_at FROM %s x WHERE x.task_id = t.id OFFSET 0) u
             WHERE u.created_at IS NOT NULL', p_rel::regclass, v_usage::regclass);
        GET DIAGNOSTICS m = ROW_COUNT;
    END IF;
    RETURN n + m;
END
$$;

-- DROP SCHEMA ... CASCADE and DROP OWNED BY take partitions with them without
-- naming them: the partitions of ours in those schemas, or owned by those roles,
-- as far as p_caller may drop them (the topmost of each dropped branch only).
CREATE FUNCTION usage_rollup._enqueue_dropped(p_schemas oid[], p_roles oid[], p_caller oid) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r record;
    n bigint := 0;
BEGIN
    -- (the usage table itself goes too: nothing left to keep exact)
    IF EXISTS (SELECT 1 FROM usage_rollup.binding b JOIN pg_class c ON c.oid = b.usage_table
               WHERE c.relnamespace = ANY (p_schemas) OR c.relowner = ANY (p_roles)) THEN
        RETURN 0;
    END IF;
    FOR r IN
        WITH gone AS (
            SELECT m.relid, m.parentrelid
            FROM usage_rollup._partitions() m JOIN pg_class c ON c.oid = m.relid JOIN pg_namespace s ON s.oid = c.relnamespace
            WHERE (c.relnamespace = ANY (p_schemas) AND pg_has_role(p_caller, s.nspowner, 'USAGE'))
               OR (c.relowner = ANY (p_roles) AND pg_has_role(p_caller, c.relowner, 'USAGE'))
        )
        SELECT g.relid FROM gone g WHERE NOT EXISTS (SELECT 1 FROM gone h WHERE h.relid = g.parentrelid)
        ORDER BY g.relid
    LOOP
        n := n + usage_rollup._enqueue_partition(r.relid);
    END LOOP;
    RETURN n;
END
$$;

-- BEFORE TRUNCATE of a leaf partition (directly, or through any table above it).
CREATE FUNCTION usage_rollup._invalidate_partition_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM usage_rollup._enqueue_partition(TG_RELID);
    RETURN NULL;
END
$$;

-- Put the statement triggers on every partition of the bound usage and tasks
-- tables that lacks them (or has one calling something else), and take them off
-- every table that is no longer one (detached, or the binding is gone).
-- Foreign-table partitions get none (PostgreSQL allows no transition table there). With p_enqueue, a leaf that
-- had none is a partition that arrived (ATTACH PARTITION with rows, CREATE TABLE
-- ... PARTITION OF) and a leaf that had them and is no longer a partition left (a
-- DETACH finished, perhaps CONCURRENTLY in a second transaction): the buckets of
-- their rows are queued. attach() syncs without: its partitions' rows are history,
-- for backfill().
CREATE FUNCTION usage_rollup._sync_partition_triggers(p_enqueue boolean) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r record;
    v_queued bigint := 0;
BEGIN
    FOR r IN
        WITH b AS (
            SELECT usage_table::oid AS usage_oid, tasks_table::oid AS tasks_oid FROM usage_rollup.binding
        ), member AS (
            SELECT m.relid, m.isleaf, m.role FROM usage_rollup._partitions() m
        ), wanted AS (
            SELECT m.relid, w.name, w.timing || ' ON %s ' || w.transition || 'FOR EACH STATEMENT EXECUTE FUNCTION '
                                    || w.call AS definition, w.call, m.isleaf
            FROM member m JOIN pg_class c ON c.oid = m.relid AND c.relkind <> 'f'
            CROSS JOIN LATERAL (VALUES
                ('usage', 'usage_rollup_part_usage_delete', false, 'AFTER DELETE',
                 'REFERENCING OLD TABLE AS usage_rollup_old ', 'usage_rollup._invalidate_usage_delete()'),
                ('usage', 'usage_rollup_part_usage_correct', false, 'AFTER UPDATE',
                 'REFERENCING OLD TABLE AS usage_rollup_old ', 'usage_rollup._invalidate_usage_correct()'),
                ('usage', 'usage_rollup_part_usage_truncate', true, 'BEFORE TRUNCATE', '',
                 'usage_rollup._invalidate_partition_truncate()'),
                ('tasks', 'usage_rollup_part_tasks_delete', false, 'AFTER DELETE',
                 'REFERENCING OLD TABLE AS usage_rollup_old ',
                 'usage_rollup._invalidate_tasks_delete()'),
                ('tasks', 'usage_rollup_part_tasks_truncate', true, 'BEFORE TRUNCATE', '',
                 'usage_rollup._invalidate_partition_truncate()')
            ) w (role, name, leaf_only, timing, transition, call)
            WHERE w.role = m.role AND (m.isleaf OR NOT w.leaf_only)
        ), ours AS (
            SELECT t.tgrelid AS relid, t.tgname::text AS name, pg_get_triggerdef(t.oid) AS def
            FROM pg_trigger t
            WHERE t.tgname IN ('usage_rollup_part_usage_delete', 'usage_rollup_part_usage_correct',
                               'usage_rollup_part_usage_truncate', 'usage_rollup_part_tasks_delete',
                               'usage_rollup_part_tasks_truncate')
        ), fit AS (
            SELECT w.relid, w.name FROM wanted w JOIN ours o USING (relid, name)
            WHERE position(w.call IN o.def) > 0
        )
        -- (drops first: a trigger calling the wrong function is dropped, then made again)
        SELECT 1 AS step, 'drop' AS action, o.relid, o.name, NULL AS definition, false AS arrived,
               -- a leaf that left the tree: queue its rows' buckets once (on its truncate trigger)
               CASE WHEN o.name LIKE '%truncate' AND NOT EXISTS (SELECT 1 FROM member m WHERE m.relid = o.relid)
                    THEN (SELECT CASE WHEN o.name = 'usage_rollup_part_usage_truncate' THEN b.usage_oid ELSE b.tasks_oid END
                          FROM b) END AS left_parent
        FROM ours o WHERE NOT EXISTS (SELECT 1 FROM fit f WHERE f.relid = o.relid AND f.name = o.name)
        UNION ALL
        SELECT 2, 'create', w.relid, w.name, w.definition,
               w.isleaf AND NOT EXISTS (SELECT 1 FROM ours o WHERE o.relid = w.relid), NULL
        FROM wanted w WHERE NOT EXISTS (SELECT 1 FROM fit f WHERE f.relid = w.relid AND f.name = w.name)
        ORDER BY 1, 3, 4
    LOOP
        IF r.action = 'create' THEN
            IF p_enqueue AND r.arrived AND r.name LIKE '%truncate' THEN
                v_queued := v_queued + usage_rollup._enqueue_partition(r.relid);
            END IF;
            EXECUTE format('CREATE TRIGGER %I ', r.name) || format(r.definition, r.relid::regclass);
        ELSE
            IF p_enqueue AND r.left_parent IS NOT NULL THEN
                v_queued := v_queued + usage_rollup._enqueue_partition(r.relid, r.left_parent);
            END IF;
            EXECUTE format('DROP TRIGGER %I ON %s', r.name, r.relid::regclass);
        END IF;
    END LOOP;
    RETURN v_queued;
END
$$;

-- The event trigger (partitions.rs), at the start of the commands that take
-- partitions away with their rows (DROP TABLE, DETACH PARTITION ... CONCURRENTLY or
-- FINALIZE, DROP SCHEMA, DROP OWNED), and at the end of those that add or detach
-- partitions (CREATE TABLE ... PARTITION OF, ATTACH and DETACH PARTITION, CREATE
-- SCHEMA with such a table inside). Any other command only has its parse tree
-- looked at. Not pinned to a search_path, on purpose: the table names of the
-- command it watches resolve in that command's search_path; the only SQL it runs
-- names every object with its schema.
CREATE FUNCTION usage_rollup._partition_ddl() RETURNS event_trigger
LANGUAGE c SECURITY DEFINER AS 'MODULE_PATHNAME', 'usage_rollup_partition_ddl';
CREATE EVENT TRIGGER usage_rollup_partition_ddl_start ON ddl_command_start
    WHEN TAG IN ('DROP TABLE', 'ALTER TABLE', 'DROP SCHEMA', 'DROP OWNED')
    EXECUTE FUNCTION usage_rollup._partition_ddl();
CREATE EVENT TRIGGER usage_rollup_partition_ddl_end ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE', 'CREATE SCHEMA')
    EXECUTE FUNCTION usage_rollup._partition_ddl();
COMMENT ON FUNCTION usage_rollup._partition_ddl() IS
    'Event trigger: keeps the invalidation triggers on every partition of the attached tables and queues the buckets of partitions that arrive or leave.';

REVOKE ALL ON FUNCTION usage_rollup._partitions(), usage_rollup._enqueue_partition(oid, oid, oid), usage_rollup._enqueue_dropped(oid[], oid[], oid),
    usage_rollup._invalidate_partition_truncate(), usage_rollup._sync_partition_triggers(boolean),
    usage_rollup._partition_ddl() FROM PUBLIC;
