-- The seeded randomized differential test (rollup_random) on partitioned usage and
-- tasks tables (SPEC §2), with statements addressed to partitions and partition DDL
-- mixed into the random stream: DELETE, UPDATE (corrections that forget updated_at)
-- and TRUNCATE of a partition, rows moving between partitions, DETACH of a
-- partition with rows, its re-ATTACH with the rows written meanwhile, DROP of a
-- partition, and a new partition ATTACHed with imported, backdated rows. After
-- every tick app.wl_check() compares the rollup, verify(), the task days and kpis'
-- task count with the raw rows (see rollup_random.sql and tests/fixtures/workload.sql).
-- The last seed freezes history as it goes (SPEC §3).
--
-- usage is partitioned by LIST (provider): claude (in any letter case; itself
-- sub-partitioned by HASH (task_id)), openai (detached, dropped and re-attached
-- by the stream) and a DEFAULT; tasks by HASH (id). Every unique key of a
-- partitioned table must include its partition keys: (task_id, provider, model) does.
\set SHOW_CONTEXT never
\set ECHO none
SET client_min_messages = warning;
\ir ../fixtures/reset.sql
CREATE EXTENSION usage_rollup;
\ir ../fixtures/reference_schema.sql
RESET client_min_messages;
\set tasks_partition_by 'HASH (id)'
\set tasks_keys 'PRIMARY KEY (id)'
\ir ../fixtures/partitioned_tasks.sql
\set ECHO all
CREATE TABLE app.tasks_h0 PARTITION OF app.agent_task_queue FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE app.tasks_h1 PARTITION OF app.agent_task_queue FOR VALUES WITH (MODULUS 2, REMAINDER 1);
\set ECHO none
\set usage_partition_by 'LIST (provider)'
\set usage_keys 'UNIQUE (task_id, provider, model), FOREIGN KEY (task_id) REFERENCES app.agent_task_queue (id) ON DELETE CASCADE'
\ir ../fixtures/partitioned_usage.sql
\set ECHO all
CREATE TABLE app.usage_claude PARTITION OF app.task_usage FOR VALUES IN ('claude', 'Claude', 'CLAUDE')
    PARTITION BY HASH (task_id);
CREATE TABLE app.usage_claude_0 PARTITION OF app.usage_claude FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE app.usage_claude_1 PARTITION OF app.usage_claude FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE TABLE app.usage_openai PARTITION OF app.task_usage FOR VALUES IN ('openai', 'OpenAI');
CREATE TABLE app.usage_default PARTITION OF app.task_usage DEFAULT;
\set ECHO none
SET client_min_messages = warning;
\ir ../fixtures/helpers.sql
\ir ../fixtures/workload.sql
RESET client_min_messages;
\set ECHO all

-- The state of the openai partition: 'attached', 'detached' or 'dropped'.
CREATE FUNCTION app.openai_state() RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN c.oid IS NULL THEN 'dropped'
                WHEN EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid) THEN 'attached'
                ELSE 'detached' END
    FROM (SELECT NULL) x LEFT JOIN pg_class c ON c.relname = 'usage_openai'
         AND c.relnamespace = 'app'::regnamespace
$$;

-- Partition-addressed operations and partition DDL (one in ten operations).
CREATE FUNCTION app.wl_partition_op(p_seed int, p_step int) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    r float8 := random() * 100;
    v_leaf text := app.wl_one('app.usage_claude_0', 'app.usage_claude_1', 'app.usage_default');
    v_id uuid;
    v_state text := app.openai_state();
BEGIN
    IF v_state = 'attached' AND random() < 0.5 THEN
        v_leaf := 'app.usage_openai';
    END IF;
    IF r < 25 THEN
        v_id := app.wl_pick_usage(format('tableoid = %L::regclass', v_leaf));
        EXECUTE format('DELETE FROM %s WHERE task_id = (SELECT task_id FROM app.task_usage WHERE id = $1)', v_leaf) USING v_id;
        RETURN 'partition: delete';
    ELSIF r < 45 THEN
        v_id := app.wl_pick_usage(format('tableoid = %L::regclass', v_leaf));
        EXECUTE format('UPDATE %s SET input_tokens = input_tokens + $2, cost_usd_ticks = NULL,
                                      updated_at = CASE WHEN $3 THEN updated_at ELSE now() END
                        WHERE id = $1', v_leaf) USING v_id, app.wl_int(1, 999), random() < 0.5;
        RETURN 'partition: correction';
    ELSIF r < 55 THEN
        -- a row moved to another partition (cursor -> openai, or the reverse)
        v_id := app.wl_pick_usage('provider IN (''cursor'', ''openai'')');
        UPDATE app.task_usage u SET provider = CASE WHEN provider = 'cursor' THEN 'openai' ELSE 'cursor' END,
                                    updated_at = CASE WHEN random() < 0.5 THEN updated_at ELSE now() END
        WHERE id = v_id AND NOT EXISTS (
            SELECT 1 FROM app.task_usage o WHERE o.task_id = u.task_id AND o.model = u.model
              AND o.provider = CASE WHEN u.provider = 'cursor' THEN 'openai' ELSE 'cursor' END);
        RETURN 'partition: row moved between partitions';
    ELSIF r < 60 THEN
        EXECUTE format('TRUNCATE %s', app.wl_one('app.usage_claude_1', 'app.usage_default', 'app.usage_claude'));
        RETURN 'partition: truncate';
    ELSIF r < 70 THEN
        v_id := app.wl_pick('app.agent_task_queue');
        EXECUTE format('DELETE FROM %s WHERE id = $1', app.wl_one('app.tasks_h0', 'app.tasks_h1')) USING v_id;
        RETURN 'tasks partition: delete';
    ELSIF r < 78 THEN
        v_id := app.wl_pick('app.agent_task_queue');
        EXECUTE format('UPDATE %s SET runtime_id = $2 WHERE id = $1', app.wl_one('app.tasks_h0', 'app.tasks_h1'))
            USING v_id, app.wl_pick('app.agent_runtime');
        RETURN 'tasks partition: runtime reassignment';
    ELSIF v_state = 'attached' THEN
        IF random() < 0.6 THEN
            ALTER TABLE app.task_usage DETACH PARTITION app.usage_openai;
            RETURN 'partition: detach (with rows)';
        END IF;
        DROP TABLE app.usage_openai;
        RETURN 'partition: drop (with rows)';
    ELSIF v_state = 'detached' AND random() < 0.7 THEN
        -- the openai rows written meanwhile went to the DEFAULT partition: moved in
        -- (newer wins), then the table is attached again
        WITH moved AS (DELETE FROM app.usage_default WHERE provider IN ('openai', 'OpenAI') RETURNING *)
        INSERT INTO app.usage_openai SELECT * FROM moved
        ON CONFLICT (task_id, provider, model) DO UPDATE SET
            input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens,
            cost_usd_ticks = excluded.cost_usd_ticks, updated_at = excluded.updated_at;
        ALTER TABLE app.task_usage ATTACH PARTITION app.usage_openai FOR VALUES IN ('openai', 'OpenAI');
        RETURN 'partition: re-attach (rows written meanwhile moved in)';
    ELSE
        -- a bulk import: a new table with the DEFAULT partition's openai rows and
        -- backdated rows of its own (updated_at far behind the watermark), attached
        IF v_state = 'detached' THEN
            DROP TABLE app.usage_openai;
        END IF;
        CREATE TABLE app.usage_openai (LIKE app.task_usage INCLUDING DEFAULTS);
        WITH moved AS (DELETE FROM app.usage_default WHERE provider IN ('openai', 'OpenAI') RETURNING *)
        INSERT INTO app.usage_openai SELECT * FROM moved;
        INSERT INTO app.usage_openai (task_id, provider, model, input_tokens, output_tokens, created_at, updated_at,
                                      cost_usd_ticks)
        SELECT s.id, 'OpenAI', 'import-' || p_step, app.wl_int(0, 9000), app.wl_int(0, 900), app.wl_usage_ts(s.id),
               '2025-01-01', CASE WHEN random() < 0.3 THEN NULL ELSE app.wl_int(1, 90000) END
        FROM (SELECT t.id FROM app.agent_task_queue t ORDER BY t.id LIMIT 12) s;
        ALTER TABLE app.task_usage ATTACH PARTITION app.usage_openai FOR VALUES IN ('openai', 'OpenAI');
        RETURN 'partition: attach of an imported table with backdated rows';
    END IF;
END
$$;
ALTER FUNCTION app.wl_op(int, int) RENAME TO wl_op_plain;
CREATE FUNCTION app.wl_op(p_seed int, p_step int) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF random() < 0.1 THEN
        RETURN app.wl_partition_op(p_seed, p_step);
    END IF;
    RETURN app.wl_op_plain(p_seed, p_step);
END
$$;

SET timezone = 'UTC';
SET search_path = app, public;
SET usage_rollup.safety_lag = 0;
SET usage_rollup.max_window = 0;
SET client_min_messages = warning;
SELECT usage_rollup.attach();
RESET client_min_messages;

CALL app.random_workload(11, 60, 40);
CALL app.random_workload(12, 60, 40);
CALL app.random_workload(13, 60, 40);
SELECT seed, batches, ops, checks, mismatching_batches FROM app.diff_result ORDER BY seed;
-- every kind of partition operation happened (counts over all seeds)
SELECT kind, sum(n) AS n FROM app.diff_ops WHERE kind LIKE '%partition%' GROUP BY kind ORDER BY kind;
-- and the triggers are where they belong: on every partition of both tables, and
-- on nothing else (a detached table kept none)
SELECT c.relname, count(*) AS triggers FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
WHERE t.tgname LIKE 'usage_rollup_part_%' GROUP BY 1 ORDER BY 1;

-- Frozen history (SPEC §3) in the same stream: a fourth seed freezes now and then
-- after a tick (app.wl_freeze: a horizon in the first half of the rows after the
-- one in force). From then on every check compares the rollup, verify(), the task
-- days and kpis' task count with the truth over the raw rows from the horizon on
-- plus the rows as they were frozen, while the stream goes on deleting,
-- correcting, moving, detaching, dropping and importing rows on both sides.
CALL app.random_workload(14, 60, 40, p_freeze => true);
SELECT seed, batches, ops, checks, mismatching_batches FROM app.diff_result WHERE seed = 14;
SELECT kind, sum(n) AS n FROM app.diff_ops WHERE seed = 14 AND kind LIKE 'freeze%' GROUP BY kind ORDER BY kind;
SELECT frozen_before IS NOT NULL AS frozen, frozen_changes_ignored > 0 AS changes_ignored,
       (SELECT count(*) FROM app.frozen_rows) > 0 AS rows_frozen,
       (SELECT count(*) FROM (SELECT * FROM app.frozen_rows
                              EXCEPT ALL SELECT * FROM app.live_rows WHERE created_at < s.frozen_before) x) > 0
           AS frozen_rows_changed_or_gone_since
FROM usage_rollup.status s;

SET client_min_messages = warning;
SELECT usage_rollup.detach();
DROP SCHEMA app CASCADE;
DROP EXTENSION usage_rollup;
