-- Run, outcome and start reports and kpis (SPEC §4.1 T, §8).
\set SHOW_CONTEXT never
\ir ../fixtures/fresh.sql
SET client_min_messages = warning;
SELECT usage_rollup.attach();
RESET client_min_messages;
SELECT app.make_world();
CREATE FUNCTION app.run(p_task text, p_agent text, p_runtime text, p_issue text, p_status text,
                        p_started timestamptz, p_completed timestamptz, p_reason text DEFAULT NULL) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO app.agent_task_queue (id, agent_id, runtime_id, issue_id, status, started_at, completed_at, failure_reason)
    VALUES (app.uid(p_task), app.uid(p_agent), CASE WHEN p_runtime IS NOT NULL THEN app.uid(p_runtime) END,
            CASE WHEN p_issue IS NOT NULL THEN app.uid(p_issue) END, p_status, p_started, p_completed, p_reason);
$$;
-- New York's spring-forward night, 2026-03-08: 02:00 EST jumps to 03:00 EDT
SELECT app.run('r1', 'a1', 'r1', 'i1', 'completed', '2026-03-08 06:50+00', '2026-03-08 07:10:00.5+00'),  -- 01:50 EST .. 03:10 EDT
       app.run('r2', 'a1', 'r1', NULL, 'failed', '2026-03-08 10:00+00', '2026-03-08 10:01+00', 'timeout'),
       app.run('r3', 'a2', NULL, 'i2', 'failed', NULL, '2026-03-08 11:00+00', ''),            -- never started
       app.run('r4', 'a2', NULL, 'i2', 'failed', '2026-03-09 03:59+00', '2026-03-09 04:59+00', NULL),   -- 23:59 EDT, 03-08
       app.run('r5', 'a1', 'r2', 'i3', 'cancelled', NULL, '2026-03-08 12:00+00'),              -- cancelled while queued
       app.run('r6', 'a1', 'r2', 'i3', 'cancelled', '2026-03-08 12:00+00', '2026-03-08 12:15+00'),
       app.run('r7', 'a1', 'r1', 'i1', 'running', '2026-03-08 13:00+00', NULL),               -- not terminal
       app.run('r8', 'a3', NULL, NULL, 'completed', '2026-03-08 13:00+00', '2026-03-08 14:00+00');  -- other workspace

SELECT * FROM usage_rollup.daily_runs(uid('w1'), '2026-03-07', '2026-03-09', tz => 'America/New_York');
SELECT * FROM usage_rollup.daily_runs(uid('w1'), '2026-03-07', '2026-03-09');
SELECT label(agent_id) AS agent, run_seconds, runs, completed, failed, cancelled
FROM usage_rollup.runs_by_agent(uid('w1'), '2026-03-08', '2026-03-08', tz => 'America/New_York');
SELECT * FROM usage_rollup.daily_outcomes(uid('w1'), '2026-03-08', '2026-03-08', tz => 'America/New_York');
SELECT label(agent_id) AS agent, status, failure_reason, tasks
FROM usage_rollup.outcomes_by_agent(uid('w1'), '2026-03-08', '2026-03-08', tz => 'America/New_York', project_id => uid('p2'));
SELECT * FROM usage_rollup.starts_by_hour(uid('w1'), '2026-03-08', '2026-03-08', tz => 'America/New_York');
SELECT * FROM usage_rollup.daily_runs(uid('w1'), '2026-03-08', '2026-03-08', runtime_id => uid('r2'));
SELECT * FROM usage_rollup.daily_runs(uid('w1'), '2026-03-08', '2026-03-08', agent_id => uid('a2'));

-- kpis: one row; task_count counts a task once across models and days
SELECT app.usage('r1', 'claude', 'opus', 100, '2026-03-08 07:00+00', 10),
       app.usage('r1', 'openai', 'gpt', 50, '2026-03-09 07:00+00'),
       app.usage('r2', 'claude', 'opus', 1, '2026-03-08 10:00+00');
SELECT * FROM usage_rollup.kpis(uid('w1'), '2026-03-08', '2026-03-09');
SELECT usage_rollup.tick() > 0 AS ticked;
SELECT * FROM usage_rollup.kpis(uid('w1'), '2026-03-08', '2026-03-09');
SELECT input_tokens, task_count, runs FROM usage_rollup.kpis(uid('w1'), '2026-03-09', '2026-03-09');
SELECT * FROM usage_rollup.kpis(uid('nowhere'), '2026-03-08', '2026-03-09');

-- without the optional failure_reason column every failure is 'unclassified'
SET client_min_messages = warning;
SELECT usage_rollup.detach();
ALTER TABLE agent_task_queue DROP COLUMN failure_reason;
SELECT usage_rollup.attach();
RESET client_min_messages;
SELECT * FROM usage_rollup.daily_outcomes(uid('w1'), '2026-03-08', '2026-03-08', tz => 'America/New_York');

-- bad input
SELECT * FROM usage_rollup.daily_runs(NULL, '2026-03-08', '2026-03-08');
SELECT * FROM usage_rollup.daily_outcomes(uid('w1'), '2026-03-09', '2026-03-08');
SELECT * FROM usage_rollup.starts_by_hour(uid('w1'), '2026-03-08', '2026-03-08', tz => 'EST');
SELECT * FROM usage_rollup.kpis(uid('w1'), NULL, '2026-03-08');

SET client_min_messages = warning;
SELECT usage_rollup.detach();
DROP SCHEMA app CASCADE;
DROP EXTENSION usage_rollup;
