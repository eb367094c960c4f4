-- Synthetic multi-tenant usage for the benchmark (set-based, no row-by-row loops).
--   bench.generate(p_rows, p_profile, p_days)
-- profile 'dense':  two agents, one runtime and one project per workspace (every task
--                   bound, every issue in the project); busy agents, so a 15-minute
--                   bucket key of the large workspace holds tens of usage rows at 3M.
-- profile 'sparse': many agents x runtimes x projects x models, spread so that a bucket
--                   key holds about one usage row (the rollup barely compresses).
-- Skew: workspace 1 gets 40% of the tasks, 9 more share 40%, 90 small ones the rest.
-- Every task has 1-3 usage rows (one per model), created at the task's completion.
CREATE SCHEMA IF NOT EXISTS bench;

CREATE OR REPLACE FUNCTION bench.generate(p_rows bigint, p_profile text, p_days int DEFAULT 90)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_tasks bigint := p_rows / 2;           -- about 2 usage rows per task
    v_agents int := CASE p_profile WHEN 'dense' THEN 2 ELSE 400 END;      -- per large workspace
    v_runtimes int := CASE p_profile WHEN 'dense' THEN 1 ELSE 40 END;
    v_projects int := CASE p_profile WHEN 'dense' THEN 1 ELSE 60 END;
    v_models text[] := CASE p_profile WHEN 'dense' THEN ARRAY['claude-sonnet', 'gpt-5']
                       ELSE ARRAY['claude-sonnet', 'claude-opus', 'claude-haiku', 'gpt-5', 'gpt-5-mini', 'o3',
                                  'gemini-pro', 'gemini-flash', 'grok-4', 'deepseek', 'qwen', 'llama'] END;
    v_rows bigint;
BEGIN
    PERFORM setseed(0.42);
    INSERT INTO app.workspace (id, name) SELECT md5('ws' || w)::uuid, 'ws ' || w FROM generate_series(1, 100) w;
    -- large workspaces (1..10) get the full profile, small ones 2 agents, 1 runtime, 1 project
    INSERT INTO app.agent (id, workspace_id)
    SELECT md5('ag' || w || '/' || a)::uuid, md5('ws' || w)::uuid
    FROM generate_series(1, 100) w, generate_series(1, CASE WHEN w <= 10 THEN v_agents ELSE 2 END) a;
    INSERT INTO app.agent_runtime (id, workspace_id)
    SELECT md5('rt' || w || '/' || r)::uuid, md5('ws' || w)::uuid
    FROM generate_series(1, 100) w, generate_series(1, CASE WHEN w <= 10 THEN v_runtimes ELSE 1 END) r;
    INSERT INTO app.project (id, workspace_id, name)
    SELECT md5('pr' || w || '/' || p)::uuid, md5('ws' || w)::uuid, 'p' || p
    FROM generate_series(1, 100) w, generate_series(1, CASE WHEN w <= 10 THEN v_projects ELSE 1 END) p;
    INSERT INTO app.issue (id, workspace_id, project_id)
    SELECT md5('is' || w || '/' || i)::uuid, md5('ws' || w)::uuid,
           CASE WHEN i % 5 = 0 AND p_profile = 'sparse' THEN NULL
                ELSE md5('pr' || w || '/' || (1 + i % CASE WHEN w <= 10 THEN v_projects ELSE 1 END))::uuid END
    FROM generate_series(1, 100) w, generate_series(1, CASE WHEN w <= 10 THEN v_projects * 5 ELSE 5 END) i;

    INSERT INTO app.agent_task_queue (id, agent_id, runtime_id, issue_id, status, created_at, started_at,
                                      completed_at, failure_reason)
    SELECT md5('tk' || t)::uuid,
           md5('ag' || w || '/' || (1 + (t * 7) % na))::uuid,
           CASE WHEN t % 10 = 0 AND p_profile = 'sparse' THEN NULL ELSE md5('rt' || w || '/' || (1 + (t * 3) % nr))::uuid END,
           CASE WHEN t % 4 = 0 AND p_profile = 'sparse' THEN NULL ELSE md5('is' || w || '/' || (1 + (t * 11) % ni))::uuid END,
           (ARRAY['completed', 'completed', 'completed', 'failed', 'cancelled'])[1 + t % 5],
           at - interval '2 minutes', at - interval '90 seconds', at + (30 + t % 900) * interval '1 second',
           CASE WHEN t % 5 = 3 THEN (ARRAY['timeout', 'agent_error', '', NULL])[1 + t % 4] END
    FROM (SELECT t, w,
                 CASE WHEN w <= 10 THEN v_agents ELSE 2 END AS na,
                 CASE WHEN w <= 10 THEN v_runtimes ELSE 1 END AS nr,
                 CASE WHEN w <= 10 THEN v_projects * 5 ELSE 5 END AS ni,
                 -- (a task's usage rows are stamped at its completion, up to 15.5 minutes
                 -- after "at": none in the future, where a row stays newer than the
                 -- watermark and its bucket is read raw until its time comes, which
                 -- skewed the reports measured right after a quick 1M rebuild)
                 now() - interval '20 minutes' - random() * p_days * interval '1 day' AS at
          FROM (SELECT t, CASE WHEN r < 0.4 THEN 1 WHEN r < 0.8 THEN 2 + (t % 9) ELSE 11 + (t % 90) END AS w
                FROM (SELECT t, random() AS r FROM generate_series(1, v_tasks) t) x) y) z;

    INSERT INTO app.task_usage (task_id, provider, model, input_tokens, output_tokens, cache_read_tokens,
                                cache_write_tokens, created_at, updated_at, cost_usd_ticks)
    SELECT t.id, CASE WHEN m.model LIKE 'claude%' THEN 'anthropic' ELSE 'openai' END, m.model,
           1000 + (abs(hashtext(t.id::text || m.model)) % 50000), 100 + (abs(hashtext(m.model || t.id::text)) % 5000),
           abs(hashtext(t.id::text)) % 20000, abs(hashtext(t.id::text || 'w')) % 2000,
           t.completed_at, t.completed_at,
           CASE WHEN abs(hashtext(t.id::text || 'c')) % 10 < 3 THEN NULL
                ELSE abs(hashtext(t.id::text || 'p'))::bigint * 100 END
    FROM app.agent_task_queue t
    CROSS JOIN LATERAL (
        SELECT v_models[1 + (abs(hashtext(t.id::text)) + k * 5) % cardinality(v_models)] AS model
        FROM generate_series(0, abs(hashtext(t.id::text || 'n')) % 3) k) m
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    RETURN v_rows;
END
$$;

-- PARTITIONED=1 (bench/run.sh): tests/fixtures/partitioned_usage.sql makes the
-- usage table partitioned by range of created_at; these are its partitions, weekly
-- as pg_partman would make them, over the generated days and the weeks around
-- them, and a DEFAULT.
CREATE OR REPLACE FUNCTION bench.weekly_partitions() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    w timestamptz;
    n bigint := 0;
BEGIN
    FOR w IN SELECT generate_series(date_trunc('week', now() - interval '100 days'), now() + interval '14 days',
                                    interval '7 days') LOOP
        EXECUTE format('CREATE TABLE app.%I PARTITION OF app.task_usage FOR VALUES FROM (%L) TO (%L)',
                       'task_usage_' || to_char(w, 'IYYY"w"IW'), w, w + interval '7 days');
        n := n + 1;
    END LOOP;
    CREATE TABLE app.task_usage_default PARTITION OF app.task_usage DEFAULT;
    RETURN n;
END
$$;
