-- usage_rollup 0.9.0 -> 0.10.0 (ALTER EXTENSION usage_rollup UPDATE).
--
-- Hot standbys (SPEC §4): reports, status, lag_seconds(), verify() and the time
-- zone helpers no longer assign a transaction id (the library reads without one),
-- so they run on a streaming replica; tick() refuses there at once, before its
-- lock, with an error that says to run it on the primary (the library's
-- attach(), detach(), backfill(), schedule() and unschedule() refuse the same
-- way). No table changes.
--
-- Partitioned usage and tasks tables (SPEC §2): the statement triggers go on every
-- partition, an event trigger keeps them there as partitions come and go, and
-- DROP, DETACH and ATTACH of a partition queue the buckets of its rows (the
-- functions below are those of src/invalidate/partitions.sql). Attached to a
-- partitioned table, the partitions get their triggers at the end of this script.

CREATE FUNCTION usage_rollup."_require_primary"(
	"function" TEXT
) RETURNS void
STRICT STABLE PARALLEL SAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', '_require_primary_wrapper';

CREATE OR REPLACE FUNCTION usage_rollup.tick() RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_rows bigint;
    v_state text;
    v_message text;
    v_detail text;
BEGIN
    -- on a hot standby: refuse before the lock, and record nothing
    PERFORM usage_rollup._require_primary('tick');
    IF NOT pg_try_advisory_xact_lock(4246, 1) THEN
        RETURN 0;   -- another tick or a backfill slice is writing the rollup
    END IF;
    BEGIN
        v_rows := usage_rollup._tick_locked(v_started);
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL;
        PERFORM usage_rollup._record_failure('tick', v_started, v_state,
            v_message || CASE WHEN coalesce(v_detail, '') <> '' THEN E'\nDETAIL: ' || v_detail ELSE '' END);
        RAISE;
    END;
    RETURN v_rows;
END
$$;

-- Queue the buckets of every row of p_rel, a leaf or branch of the usage or the
-- tasks table (or, when a DETACH has already taken it out, p_parent is). Returns
-- the number of queue rows written.
CREATE FUNCTION usage_rollup._enqueue_partition(p_rel oid, p_parent oid DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_usage oid;
    v_tasks oid;
    v_root oid := pg_partition_root(coalesce(p_parent, p_rel));
    n bigint;
    m bigint;
BEGIN
    SELECT b.usage_table, b.tasks_table INTO v_usage, v_tasks FROM usage_rollup.binding b;
    IF v_root IS NULL OR v_root NOT IN (v_usage, v_tasks) OR p_rel IN (v_usage, v_tasks) THEN
        RETURN 0;
    END IF;
    IF v_root = v_usage THEN
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
        GET DIAGNOSTICS n = ROW_COUNT;
        RETURN n;
    END IF;
    EXECUTE format(
        'INSERT INTO usage_rollup.dirty_task_bucket (bucket_start)
         SELECT DISTINCT v.b FROM %s t
         CROSS JOIN LATERAL (VALUES (usage_rollup.bucket_of(t.started_at)), (usage_rollup.bucket_of(t.completed_at))) v(b)
         WHERE v.b IS NOT NULL', p_rel::regclass);
    GET DIAGNOSTICS n = ROW_COUNT;
    EXECUTE format(
        'INSERT INTO usage_rollup.dirty_bucket (bucket_start)
         SELECT DISTINCT usage_rollup.bucket_of(u.created_at)
         FROM %s t JOIN %s u ON u.task_id = t.id
         WHERE u.created_at IS NOT NULL', p_rel::regclass, v_usage::regclass);
    GET DIAGNOSTICS m = ROW_COUNT;
    RETURN n + m;
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
-- tables that lacks them, and take them off every table that is no longer one
-- (detached, or the binding is gone). With p_enqueue, a leaf that had none is a
-- partition that arrived (ATTACH PARTITION with rows, CREATE TABLE ... PARTITION
-- OF) and a leaf that had them and is no longer a partition left (a DETACH
-- finished, perhaps CONCURRENTLY in a second transaction): the buckets of their
-- rows are queued. attach() syncs without: its partitions' rows are history, for
-- backfill().
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
            SELECT p.relid, p.isleaf, 'usage' AS role, b.usage_oid FROM b, pg_partition_tree(b.usage_oid) p
            WHERE p.relid <> b.usage_oid
            UNION ALL
            SELECT p.relid, p.isleaf, 'tasks', b.usage_oid FROM b, pg_partition_tree(b.tasks_oid) p
            WHERE p.relid <> b.tasks_oid
        ), wanted AS (
            SELECT m.relid, w.name, w.definition, m.isleaf
            FROM member m
            CROSS JOIN LATERAL (VALUES
                ('usage', 'usage_rollup_part_usage_delete', false,
                 'AFTER DELETE ON %s REFERENCING OLD TABLE AS usage_rollup_old FOR EACH STATEMENT '
                 'EXECUTE FUNCTION usage_rollup._invalidate_usage_delete()'),
                ('usage', 'usage_rollup_part_usage_correct', false,
                 'AFTER UPDATE ON %s REFERENCING OLD TABLE AS usage_rollup_old FOR EACH STATEMENT '
                 'EXECUTE FUNCTION usage_rollup._invalidate_usage_correct()'),
                ('usage', 'usage_rollup_part_usage_truncate', true,
                 'BEFORE TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION usage_rollup._invalidate_partition_truncate()'),
                ('tasks', 'usage_rollup_part_tasks_delete', false,
                 'AFTER DELETE ON %s REFERENCING OLD TABLE AS usage_rollup_old FOR EACH STATEMENT '
                 'EXECUTE FUNCTION usage_rollup._invalidate_tasks_delete(''' || m.usage_oid || ''')'),
                ('tasks', 'usage_rollup_part_tasks_truncate', true,
                 'BEFORE TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION usage_rollup._invalidate_partition_truncate()')
            ) w (role, name, leaf_only, definition)
            WHERE w.role = m.role AND (m.isleaf OR NOT w.leaf_only)
        ), ours AS (
            SELECT t.tgrelid AS relid, t.tgname::text AS name, c.relkind
            FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            WHERE t.tgname IN ('usage_rollup_part_usage_delete', 'usage_rollup_part_usage_correct',
                               'usage_rollup_part_usage_truncate', 'usage_rollup_part_tasks_delete',
                               'usage_rollup_part_tasks_truncate')
        )
        SELECT 'create' AS action, w.relid, w.name, w.definition,
               w.isleaf AND NOT EXISTS (SELECT 1 FROM ours o WHERE o.relid = w.relid) AS arrived,
               NULL::oid AS left_parent
        FROM wanted w WHERE NOT EXISTS (SELECT 1 FROM ours o WHERE o.relid = w.relid AND o.name = w.name)
        UNION ALL
        SELECT 'drop', o.relid, o.name, NULL, false,
               -- a leaf that left the tree: queue its rows' buckets once (on its truncate trigger)
               CASE WHEN o.name IN ('usage_rollup_part_usage_truncate', 'usage_rollup_part_tasks_truncate')
                    THEN (SELECT CASE WHEN o.name = 'usage_rollup_part_usage_truncate' THEN b.usage_oid ELSE b.tasks_oid END
                          FROM b) END
        FROM ours o WHERE NOT EXISTS (SELECT 1 FROM wanted w WHERE w.relid = o.relid AND w.name = o.name)
        ORDER BY 1, 2, 3
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

-- ddl_command_end of CREATE TABLE and ALTER TABLE: new partitions get their
-- triggers (and arriving rows are queued), detached ones lose them. Cheap when the
-- command touched no partition of ours: two catalog reads.
CREATE FUNCTION usage_rollup._partition_ddl_end() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM usage_rollup.binding) AND NOT pg_is_in_recovery() THEN
        PERFORM usage_rollup._sync_partition_triggers(true);
    END IF;
END
$$;
CREATE EVENT TRIGGER usage_rollup_partition_ddl_end ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE') EXECUTE FUNCTION usage_rollup._partition_ddl_end();

-- ddl_command_start of DROP TABLE and ALTER TABLE (partitions.rs): the tables a
-- DROP or a DETACH PARTITION takes out of the usage or tasks table, while their
-- rows can still be read.
CREATE FUNCTION usage_rollup._partition_ddl_start() RETURNS event_trigger
LANGUAGE c SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'usage_rollup_partition_ddl_start';
CREATE EVENT TRIGGER usage_rollup_partition_ddl_start ON ddl_command_start
    WHEN TAG IN ('DROP TABLE', 'ALTER TABLE') EXECUTE FUNCTION usage_rollup._partition_ddl_start();

COMMENT ON FUNCTION usage_rollup._partition_ddl_start() IS
    'Event trigger: queues the buckets of partitions of the attached tables that a DROP TABLE or DETACH PARTITION removes.';
COMMENT ON FUNCTION usage_rollup._partition_ddl_end() IS
    'Event trigger: keeps the invalidation triggers on every partition of the attached tables; queues the buckets of attached partitions.';

REVOKE ALL ON FUNCTION usage_rollup._enqueue_partition(oid, oid), usage_rollup._invalidate_partition_truncate(),
    usage_rollup._sync_partition_triggers(boolean), usage_rollup._partition_ddl_end(),
    usage_rollup._partition_ddl_start() FROM PUBLIC;

-- Already attached: the partitions get their triggers now (their rows are in the
-- rollup, or history for backfill: nothing queued), and a partitioned table loses
-- its own TRUNCATE trigger (those of its partitions fire instead).
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT t.tgname, t.tgrelid::regclass AS rel
             FROM usage_rollup.binding b JOIN pg_trigger t ON t.tgrelid IN (b.usage_table, b.tasks_table)
             JOIN pg_class c ON c.oid = t.tgrelid
             WHERE c.relkind = 'p' AND t.tgname IN ('usage_rollup_usage_truncate', 'usage_rollup_tasks_truncate')
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', r.tgname, r.rel);
    END LOOP;
    PERFORM usage_rollup._sync_partition_triggers(false);
END
$$;
