-- Invalidation trigger functions (SPEC §3). attach() installs triggers that call
-- them on the application's tables; detach() removes the triggers.
--
-- The queue is keyed by bucket only: a recompute rebuilds every rollup row of a
-- dirty 15-minute bucket from the raw rows, so a trigger never has to resolve a
-- workspace, project or runtime. That is why an agent hard delete, a task whose
-- issue was deleted in the same cascade, or an agent moved to another workspace are
-- all covered (seeds W4, W9): the trigger only needs the usage rows' created_at.
--
-- Deletes use statement triggers with transition tables (one INSERT per statement,
-- however many rows a teardown deletes) and run AFTER the statement, so whether
-- the application's foreign keys cascade, set NULL or do not exist at all, the rows
-- that still reference the deleted parents are found, and the rows the cascade
-- removed were enqueued by the usage table's own delete trigger.
--
-- Functions are SECURITY DEFINER: the application role that deletes a task needs
-- no privilege on usage_rollup, and row-level security on the usage table cannot
-- hide rows from the invalidation. The functions that need another table read it
-- from the binding, whose regclass columns follow renames and come back from
-- pg_dump by name: the oids their triggers still pass as arguments (as attach()
-- of 0.9.0 and earlier installed them) are those of the dumped database after a
-- restore, and naming a table by them broke every task update there.

-- Usage rows deleted (directly or by cascade from tasks, issues, agents, workspaces).
CREATE FUNCTION usage_rollup._invalidate_usage_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO usage_rollup.dirty_bucket (bucket_start)
    SELECT DISTINCT usage_rollup.bucket_of(o.created_at) FROM usage_rollup_old o
    WHERE o.created_at IS NOT NULL;
    RETURN NULL;
END
$$;

-- A usage row inserted or updated in a way the updated_at watermark cannot see:
-- stamped in the past (explicit or legacy NULL updated_at), counters corrected
-- without bumping updated_at, or moved to another task, time or model. The trigger's
-- WHEN clause keeps ordinary inserts and corrections from calling this at all.
CREATE FUNCTION usage_rollup._invalidate_usage_row() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.created_at IS NOT NULL THEN
        INSERT INTO usage_rollup.dirty_bucket (bucket_start) VALUES (usage_rollup.bucket_of(OLD.created_at));
    END IF;
    IF NEW.created_at IS NOT NULL
       AND (TG_OP = 'INSERT' OR usage_rollup.bucket_of(NEW.created_at) IS DISTINCT FROM usage_rollup.bucket_of(OLD.created_at)) THEN
        INSERT INTO usage_rollup.dirty_bucket (bucket_start) VALUES (usage_rollup.bucket_of(NEW.created_at));
    END IF;
    RETURN NULL;
END
$$;

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
CREATE FUNCTION usage_rollup._invalidate_usage_correct() RETURNS trigger
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

-- The buckets of every usage row of the given tasks.
CREATE FUNCTION usage_rollup._enqueue_tasks(p_usage oid, p_task_ids uuid[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format(
        'INSERT INTO usage_rollup.dirty_bucket (bucket_start)
         SELECT DISTINCT usage_rollup.bucket_of(u.created_at) FROM %s u
         WHERE u.task_id = ANY ($1) AND u.created_at IS NOT NULL', p_usage::regclass)
    USING p_task_ids;
END
$$;

-- Task re-attributed: runtime reassigned or unbound, linked to an issue (the seeds'
-- LinkTaskToIssue), moved to another agent, or re-keyed.
CREATE FUNCTION usage_rollup._invalidate_tasks_update() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM usage_rollup._enqueue_tasks(b.usage_table, ARRAY[OLD.id, NEW.id]) FROM usage_rollup.binding b;
    RETURN NULL;
END
$$;

-- Tasks deleted. With ON DELETE CASCADE to usage this finds nothing (the usage
-- trigger already enqueued those rows); without it, the now-orphaned usage rows
-- drop out of the inner join and their buckets must be recomputed.
CREATE FUNCTION usage_rollup._invalidate_tasks_delete() RETURNS trigger
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

-- Parents of tasks (agents: workspace; issues: project). TG_ARGV[2] = the tasks
-- column that references the parent.
CREATE FUNCTION usage_rollup._invalidate_parent_update() RETURNS trigger
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

-- Parents deleted. Runs after the statement: a cascade has removed the tasks (and
-- their usage, enqueued by the usage trigger); SET NULL has re-attributed them (the
-- tasks update trigger fired); with no foreign key the orphans are found here.
CREATE FUNCTION usage_rollup._invalidate_parent_delete() RETURNS trigger
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

-- The run rollup (usage_rollup.task_rollup) counts a task in the bucket of its
-- completed_at (status, failure reason, run time) and of its started_at, under its
-- agent's workspace: these queue the buckets a task change can move it out of or
-- into. Runtime and issue are not keys of the run rollup, so their changes queue
-- nothing here.

-- The start and completion buckets of the tasks whose agent is one of the given.
CREATE FUNCTION usage_rollup._enqueue_task_runs(p_tasks oid, p_agent_ids uuid[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format(
        'INSERT INTO usage_rollup.dirty_task_bucket (bucket_start)
         SELECT DISTINCT v.b FROM %s t
         CROSS JOIN LATERAL (VALUES (usage_rollup.bucket_of(t.started_at)), (usage_rollup.bucket_of(t.completed_at))) v(b)
         WHERE t.agent_id = ANY ($1) AND v.b IS NOT NULL', p_tasks::regclass)
    USING p_agent_ids;
END
$$;

-- A task inserted started or finished, or updated in its status, times, failure
-- reason, agent or id (the triggers' WHEN clauses; a task's usual life is an insert
-- with neither time, an update that starts it and one that finishes it). Its start
-- bucket is queued only if the start or the task's identity changed: the start
-- rows have no status.
CREATE FUNCTION usage_rollup._invalidate_task_runs() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO usage_rollup.dirty_task_bucket (bucket_start)
        SELECT DISTINCT v.b FROM (VALUES (usage_rollup.bucket_of(NEW.started_at)),
                                         (usage_rollup.bucket_of(NEW.completed_at))) v(b)
        WHERE v.b IS NOT NULL;
    ELSIF OLD.started_at IS DISTINCT FROM NEW.started_at OR OLD.agent_id IS DISTINCT FROM NEW.agent_id
          OR OLD.id IS DISTINCT FROM NEW.id THEN
        INSERT INTO usage_rollup.dirty_task_bucket (bucket_start)
        SELECT DISTINCT v.b FROM (VALUES (usage_rollup.bucket_of(OLD.started_at)), (usage_rollup.bucket_of(NEW.started_at)),
                                         (usage_rollup.bucket_of(OLD.completed_at)),
                                         (usage_rollup.bucket_of(NEW.completed_at))) v(b)
        WHERE v.b IS NOT NULL;
    ELSE
        INSERT INTO usage_rollup.dirty_task_bucket (bucket_start)
        SELECT DISTINCT v.b FROM (VALUES (usage_rollup.bucket_of(OLD.completed_at)),
                                         (usage_rollup.bucket_of(NEW.completed_at))) v(b)
        WHERE v.b IS NOT NULL;
    END IF;
    RETURN NULL;
END
$$;

-- TRUNCATE of any source table: every bucket the rollup holds may be affected.
CREATE FUNCTION usage_rollup._invalidate_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO usage_rollup.dirty_bucket (bucket_start)
    SELECT DISTINCT r.bucket_start FROM usage_rollup.rollup r;
    INSERT INTO usage_rollup.dirty_task_bucket (bucket_start)
    SELECT DISTINCT r.bucket_start FROM usage_rollup.task_rollup r WHERE r.width = 15;
    RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION usage_rollup._invalidate_usage_delete(), usage_rollup._invalidate_usage_row(),
    usage_rollup._invalidate_usage_correct(),
    usage_rollup._enqueue_tasks(oid, uuid[]), usage_rollup._invalidate_tasks_update(),
    usage_rollup._invalidate_tasks_delete(), usage_rollup._invalidate_parent_update(),
    usage_rollup._invalidate_parent_delete(), usage_rollup._invalidate_truncate(),
    usage_rollup._enqueue_task_runs(oid, uuid[]), usage_rollup._invalidate_task_runs() FROM PUBLIC;
