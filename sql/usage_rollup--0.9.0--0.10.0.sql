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
--
-- Frozen history (SPEC §3): usage_rollup.freeze(before), tick_state.frozen_before
-- and frozen_changes_ignored, the status view's two new columns (at its end), and
-- usage_rollup.key_task_frozen with its quarter-hour helpers (src/freeze.sql) and
-- usage_rollup.task_frozen and variant_frozen.

CREATE FUNCTION usage_rollup."_require_primary"(
	"function" TEXT
) RETURNS void
STRICT STABLE PARALLEL SAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', '_require_primary_wrapper';

-- The rollup lock's key is spelled once, in the library (src/lock.rs): tick() tries
-- it through this function.
CREATE FUNCTION usage_rollup."_try_rollup_lock"() RETURNS bool
STRICT VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', '_try_rollup_lock_wrapper';
REVOKE ALL ON FUNCTION usage_rollup._try_rollup_lock() FROM PUBLIC;

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
    IF NOT usage_rollup._try_rollup_lock() THEN
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

-- The trigger functions that named a table by the oid their trigger passed read it
-- from the binding now: after a pg_dump and restore those oids were the dumped
-- database's, and every task update, task delete and issue or agent change failed
-- with a syntax error (src/invalidate/triggers.sql).
CREATE OR REPLACE FUNCTION usage_rollup._invalidate_tasks_update() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM usage_rollup._enqueue_tasks(b.usage_table, ARRAY[OLD.id, NEW.id]) FROM usage_rollup.binding b;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION usage_rollup._invalidate_tasks_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_bound usage_rollup.binding;
BEGIN
    SELECT * INTO v_bound FROM usage_rollup.binding;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    -- the run rollup counted them by their start and completion
    INSERT INTO usage_rollup.dirty_task_bucket (bucket_start)
    SELECT DISTINCT v.b FROM usage_rollup_old o
    CROSS JOIN LATERAL (VALUES (usage_rollup.bucket_of(o.started_at)), (usage_rollup.bucket_of(o.completed_at))) v(b)
    WHERE v.b IS NOT NULL;
    EXECUTE format(
        'INSERT INTO usage_rollup.dirty_bucket (bucket_start)
         SELECT DISTINCT usage_rollup.bucket_of(u.created_at)
         FROM usage_rollup_old o JOIN %s u ON u.task_id = o.id
         WHERE u.created_at IS NOT NULL', v_bound.usage_table);
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION usage_rollup._invalidate_parent_update() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_bound usage_rollup.binding;
BEGIN
    SELECT * INTO v_bound FROM usage_rollup.binding;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    EXECUTE format(
        'INSERT INTO usage_rollup.dirty_bucket (bucket_start)
         SELECT DISTINCT usage_rollup.bucket_of(u.created_at)
         FROM %s t JOIN %s u ON u.task_id = t.id
         WHERE t.%I IN ($1, $2) AND u.created_at IS NOT NULL',
        v_bound.tasks_table, v_bound.usage_table, TG_ARGV[2])
    USING OLD.id, NEW.id;
    IF TG_ARGV[2] = 'agent_id' THEN
        PERFORM usage_rollup._enqueue_task_runs(v_bound.tasks_table, ARRAY[OLD.id, NEW.id]);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION usage_rollup._invalidate_parent_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_bound usage_rollup.binding;
BEGIN
    SELECT * INTO v_bound FROM usage_rollup.binding;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    EXECUTE format(
        'INSERT INTO usage_rollup.dirty_bucket (bucket_start)
         SELECT DISTINCT usage_rollup.bucket_of(u.created_at)
         FROM usage_rollup_old o JOIN %s t ON t.%I = o.id JOIN %s u ON u.task_id = t.id
         WHERE u.created_at IS NOT NULL',
        v_bound.tasks_table, TG_ARGV[2], v_bound.usage_table);
    -- tasks left without their agent drop out of the run rollup's join
    IF TG_ARGV[2] = 'agent_id' THEN
        PERFORM usage_rollup._enqueue_task_runs(v_bound.tasks_table, ARRAY(SELECT o.id FROM usage_rollup_old o));
    END IF;
    RETURN NULL;
END
$$;

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

-- Frozen history (src/freeze.rs)
ALTER TABLE usage_rollup.tick_state
    ADD COLUMN frozen_before timestamptz,
    ADD COLUMN frozen_changes_ignored bigint NOT NULL DEFAULT 0;

-- Corrections as deltas (SPEC §6, src/recompute/corrections.rs): a correction
-- queues the old version of each row it changes in usage_rollup.dirty_delta instead
-- of its bucket, and the next tick subtracts it and adds the new version; the status
-- view counts the queued corrections in queue_depth and queue_oldest_at.
-- Usage rows corrected in place (SPEC §6: a tick after corrections costs what was
-- corrected, not the buckets they lie in): the version each UPDATE replaced, as the
-- rollup may hold it. Append-only like dirty_bucket, for the same reason. A tick
-- subtracts every such version stamped before its watermark (the rollup holds it)
-- and adds the rows stamped in its window, the new versions among them
-- (recompute/append.sql); a bucket it recomputes instead drops its rows here in
-- the same statement (replace.sql).
CREATE TABLE usage_rollup.dirty_delta (
    id                 bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bucket_start       timestamptz NOT NULL,
    task_id            uuid,
    provider           text,
    model              text,
    -- the old version's updated_at (else created_at)
    stamped_at         timestamptz NOT NULL,
    input_tokens       bigint,
    output_tokens      bigint,
    cache_read_tokens  bigint,
    cache_write_tokens bigint,
    cost_usd_ticks     bigint,
    enqueued_at        timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE usage_rollup.dirty_delta IS
    'Old versions of corrected usage rows, for tick() to subtract from the rollup.';
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.dirty_delta', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.dirty_delta_id_seq', '');

-- Usage rows updated while the rollup may already hold them: their old version was
-- stamped before now(), so a tick may have summed it. The old versions go to
-- usage_rollup.dirty_delta: a tick subtracts those the rollup holds and adds the
-- new versions, which bump updated_at and are found through the watermark like new
-- rows (SPEC §6: a tick after corrections costs what was corrected, not every row
-- of their buckets and days). One INSERT per statement. A statement that corrects
-- more than 100,000 rows (a repricing of a month) queues its buckets instead: then
-- recomputing them reads fewer rows than the deltas would hold. A row inserted and
-- corrected in the same transaction was never seen by a tick and is skipped. A
-- correction that moves a row (task, time, provider, model) or stamps it in the
-- past also queues its buckets (_invalidate_usage_row); a tick that recomputes a
-- bucket drops its deltas.
CREATE OR REPLACE FUNCTION usage_rollup._invalidate_usage_correct() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_cost boolean;
BEGIN
    IF (SELECT count(*) FROM usage_rollup_old) > 100000 THEN
        INSERT INTO usage_rollup.dirty_bucket (bucket_start)
        SELECT DISTINCT usage_rollup.bucket_of(o.created_at) FROM usage_rollup_old o
        WHERE o.created_at IS NOT NULL AND coalesce(o.updated_at, o.created_at) < pg_catalog.now();
        RETURN NULL;
    END IF;
    SELECT b.has_cost INTO v_cost FROM usage_rollup.binding b;
    -- (the cost column is optional in the contract: named only when it exists)
    EXECUTE format(
        'INSERT INTO usage_rollup.dirty_delta (bucket_start, task_id, provider, model, stamped_at, input_tokens,
                                               output_tokens, cache_read_tokens, cache_write_tokens, cost_usd_ticks)
         SELECT usage_rollup.bucket_of(o.created_at), o.task_id, o.provider, o.model,
                coalesce(o.updated_at, o.created_at), o.input_tokens, o.output_tokens, o.cache_read_tokens,
                o.cache_write_tokens, %s
         FROM usage_rollup_old o
         WHERE o.created_at IS NOT NULL AND coalesce(o.updated_at, o.created_at) < pg_catalog.now()',
        CASE WHEN v_cost THEN 'o.cost_usd_ticks' ELSE 'NULL::bigint' END);
    RETURN NULL;
END
$$;

CREATE OR REPLACE VIEW usage_rollup.status AS
SELECT s.watermark,
       extract(epoch FROM now() - s.last_success_at)::float8            AS lag_seconds,
       -- queued buckets and queued corrections
       (SELECT count(*) FROM usage_rollup.dirty_bucket)
       + (SELECT count(*) FROM usage_rollup.dirty_delta)                 AS queue_depth,
       s.last_started_at,
       s.last_finished_at,
       s.last_rows,
       s.last_duration_ms,
       s.last_error,
       s.last_error_at,
       s.last_error_sqlstate,
       s.last_success_at,
       -- the most recent run failed (an older error stays visible in last_error)
       (s.last_error_at IS NOT NULL
        AND s.last_error_at >= coalesce(s.last_success_at, '-infinity'::timestamptz)) AS failing,
       -- how far behind the rollup's own data is; reports add the raw tail after it
       extract(epoch FROM now() - s.watermark)::float8                  AS watermark_age_seconds,
       least((SELECT min(d.enqueued_at) FROM usage_rollup.dirty_bucket d),
             (SELECT min(d.enqueued_at) FROM usage_rollup.dirty_delta d)) AS queue_oldest_at,
       (SELECT count(*) FROM usage_rollup.binding) = 1                   AS attached,
       -- buckets of task starts and completions changed since the last tick (the
       -- run rollup's queue; reports read them from the tasks table until then)
       (SELECT count(*) FROM usage_rollup.dirty_task_bucket)             AS task_queue_depth,
       -- finished keyed blocks not sealed (again) yet: reports grouped by agent,
       -- project or runtime read them from the 15-minute rollup until a tick does
       (SELECT count(*) FROM usage_rollup.key_rollup_stale k
        WHERE k.bucket_start + k.width * '00:01:00'::interval + '01:00:00'::interval <= now()) AS keyed_backlog,
       -- finished UTC days whose tasks are not sealed (again) yet: kpis reads their
       -- raw rows until a tick does
       (SELECT count(*) FROM usage_rollup.key_task_stale k
        WHERE k.bucket_start + '24:00:00'::interval + '00:10:00'::interval <= now()) AS task_day_backlog,
       -- the history horizon (usage_rollup.freeze()): buckets before it are final
       s.frozen_before,
       -- changes to frozen buckets (deletes, corrections, late rows) left out of the rollup
       coalesce(s.frozen_changes_ignored, 0)                            AS frozen_changes_ignored
FROM (VALUES (1)) one (id)
LEFT JOIN usage_rollup.tick_state s ON s.id = one.id;

-- The tasks of the frozen history (SPEC §3, freeze.rs): per UTC day, each task with a
-- usage row before the horizon in that day, the quarter hours (15-minute buckets,
-- bits 0 to 95) they lay in, and the task's workspace, agent, runtime and project
-- then. Written from the raw rows as the horizon moves over them, never changed
-- after: kpis' task count reads these instead of the raw rows before the horizon
-- (which retention may delete), and sealing a task day takes them in.
CREATE TABLE usage_rollup.key_task_frozen (
    task_id      uuid        NOT NULL,
    bucket_start timestamptz NOT NULL,   -- the UTC day
    workspace_id uuid        NOT NULL,
    agent_id     uuid        NOT NULL,
    runtime_id   uuid,
    project_id   uuid,
    quarters     bit(96)     NOT NULL,
    PRIMARY KEY (task_id, bucket_start)
);
-- (a report reads a workspace's tasks of some days, a seal a day's tasks)
CREATE INDEX key_task_frozen_days ON usage_rollup.key_task_frozen (bucket_start, workspace_id);
COMMENT ON TABLE usage_rollup.key_task_frozen IS
    'Tasks with usage before the frozen horizon, per UTC day and the quarter hours they had rows in: kpis'' task count over frozen history.';

SELECT pg_catalog.pg_extension_config_dump('usage_rollup.key_task_frozen', '');

-- The tasks of the frozen history (SPEC §3, freeze.rs): each task that had started
-- or completed before the horizon, as it was when the horizon moved over it, with
-- its workspace and project then. Run, outcome and start reports with a filter read
-- the tasks table from the horizon on and these before it, so that retention may
-- delete old tasks too (the reports without a filter read the run rollup, which
-- the horizon freezes as well).
CREATE TABLE usage_rollup.task_frozen (
    task_id        uuid        PRIMARY KEY,
    workspace_id   uuid,
    agent_id       uuid        NOT NULL,
    runtime_id     uuid,
    project_id     uuid,
    status         text,
    failure_reason text,
    started_at     timestamptz,
    completed_at   timestamptz
);
CREATE INDEX task_frozen_completed ON usage_rollup.task_frozen (workspace_id, completed_at);
CREATE INDEX task_frozen_started ON usage_rollup.task_frozen (workspace_id, started_at);
COMMENT ON TABLE usage_rollup.task_frozen IS
    'Tasks started or completed before the frozen horizon, as they were then: filtered run, outcome and start reports over frozen history.';

SELECT pg_catalog.pg_extension_config_dump('usage_rollup.task_frozen', '');

-- The buckets before the frozen horizon of the tasks in usage_rollup.variant (a
-- provider in two letter cases), with their keys then (freeze.rs): reports correct
-- their task counts from these instead of the raw rows retention may delete.
CREATE TABLE usage_rollup.variant_frozen (
    task_id      uuid        NOT NULL,
    provider     text,
    model        text,
    bucket_start timestamptz NOT NULL,
    workspace_id uuid,
    agent_id     uuid        NOT NULL,
    runtime_id   uuid,
    project_id   uuid,
    CONSTRAINT variant_frozen_key UNIQUE NULLS NOT DISTINCT (task_id, provider, model, bucket_start)
);
COMMENT ON TABLE usage_rollup.variant_frozen IS
    'Buckets before the frozen horizon of tasks with a provider in two letter cases: exact task counts over frozen history.';

SELECT pg_catalog.pg_extension_config_dump('usage_rollup.variant_frozen', '');

-- Frozen history (SPEC §3, freeze.rs): the quarter hours of a UTC day as the bits
-- 0 to 95 of a bit(96), for usage_rollup.key_task_frozen.

-- The bit of the quarter hour that holds ts, in its UTC day.
CREATE FUNCTION usage_rollup._quarter(ts timestamptz) RETURNS bit(96)
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
SET search_path = pg_catalog, pg_temp
RETURN pg_catalog.set_bit(pg_catalog.repeat('0', 96)::bit(96),
                          pg_catalog.floor(extract(epoch FROM ts - pg_catalog.date_bin('1 day'::interval, ts,
                                                                                        '2000-01-01 00:00:00+00'::timestamptz))
                                           / 900)::integer, 1);

-- The quarter hours of the UTC day that starts at day that lie in [from_ts, to_ts).
CREATE FUNCTION usage_rollup._quarters(day timestamptz, from_ts timestamptz, to_ts timestamptz) RETURNS bit(96)
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
SET search_path = pg_catalog, pg_temp
RETURN (SELECT coalesce(pg_catalog.bit_or(pg_catalog.set_bit(pg_catalog.repeat('0', 96)::bit(96), q, 1)),
                        pg_catalog.repeat('0', 96)::bit(96))
        FROM pg_catalog.generate_series(0, 95) q
        WHERE day + q * '00:15:00'::interval >= from_ts AND day + q * '00:15:00'::interval < to_ts);

-- The quarter hours of the UTC day that starts at day, before upto, whose local date
-- in zone tz is within [from_date, to_date] (the zone's local days are whole
-- quarter hours: reports/mod.rs, _report_window).
CREATE FUNCTION usage_rollup._quarters_local(day timestamptz, upto timestamptz, tz text, from_date date, to_date date)
RETURNS bit(96)
LANGUAGE sql STABLE PARALLEL SAFE STRICT
SET search_path = pg_catalog, pg_temp
RETURN (SELECT coalesce(pg_catalog.bit_or(pg_catalog.set_bit(pg_catalog.repeat('0', 96)::bit(96), q, 1)),
                        pg_catalog.repeat('0', 96)::bit(96))
        FROM pg_catalog.generate_series(0, 95) q
        WHERE day + q * '00:15:00'::interval < upto
          AND ((day + q * '00:15:00'::interval) AT TIME ZONE tz)::date BETWEEN from_date AND to_date);

CREATE FUNCTION usage_rollup."freeze"(
	"before" timestamp with time zone
) RETURNS timestamp with time zone
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'freeze_wrapper';
REVOKE ALL ON FUNCTION usage_rollup.freeze(timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION usage_rollup.freeze(timestamptz) IS
    'Declare the rollup''s buckets before the 15-minute boundary at or before "before" final (retention may then delete their raw rows); returns the horizon in force.';
