-- The variant list (usage_rollup.variant: tasks with two raw rows of one
-- lower(provider) and model, whose rows in different buckets the reports must not
-- count twice) after a backfill, which rebuilds it from the whole usage table:
-- from the tasks that have a provider which is not lower-case when the usage table
-- is unique on (task_id, provider, model), from every task otherwise (then two rows
-- may share even the letter case). The daily task counts stay exact either way.
\set SHOW_CONTEXT never
\ir ../fixtures/fresh.sql
SET client_min_messages = warning;
SELECT usage_rollup.attach();
RESET client_min_messages;
SELECT app.make_world();
CREATE VIEW variants AS
SELECT CASE v.task_id WHEN app.uid('t1') THEN 't1' WHEN app.uid('t2') THEN 't2' WHEN app.uid('t3') THEN 't3' END AS task,
       v.provider, v.model
FROM usage_rollup.variant v ORDER BY 1, 2, 3;
-- the daily report's task counts next to count(DISTINCT task_id) over the raw rows
CREATE VIEW day_counts AS
SELECT r.provider, r.model, r.task_count,
       (SELECT count(DISTINCT u.task_id) FROM task_usage u
        WHERE lower(u.provider) = r.provider AND u.model = r.model
          AND u.created_at >= '2026-03-01' AND u.created_at < '2026-03-02') AS raw_task_count
FROM usage_rollup.daily_usage(app.uid('w1'), '2026-03-01', '2026-03-01') r ORDER BY 1, 2;

SELECT app.task('t1', 'a1', 'r1', 'i1'), app.task('t2', 'a1', 'r1', 'i1'), app.task('t3', 'a1', 'r1', 'i1');
-- t1: one provider in two letter cases, in two buckets of one day; t2: two models
SELECT app.usage('t1', 'OpenAI', 'gpt', 10, '2026-03-01 10:01+00'),
       app.usage('t1', 'openai', 'gpt', 20, '2026-03-01 12:01+00'),
       app.usage('t2', 'openai', 'gpt', 1, '2026-03-01 10:02+00'),
       app.usage('t2', 'openai', 'o3', 1, '2026-03-01 11:02+00'),
       app.usage('t3', 'anthropic', 'opus', 1, '2026-03-01 10:03+00');
SET client_min_messages = warning;
CALL usage_rollup.backfill();
RESET client_min_messages;
SELECT * FROM variants;
SELECT * FROM day_counts;
SELECT app.drift();

-- without the unique constraint, t3 gets a second row with the very same provider
-- and model in another bucket: only a pass over every task finds it
ALTER TABLE task_usage DROP CONSTRAINT task_usage_task_id_provider_model_key;
SELECT app.usage('t3', 'anthropic', 'opus', 2, '2026-03-01 13:03+00');
SET client_min_messages = warning;
CALL usage_rollup.backfill();
RESET client_min_messages;
SELECT * FROM variants;
SELECT * FROM day_counts;
SELECT app.drift();

-- a unique index that also holds created_at does not make rows unique per task,
-- provider and model either
CREATE UNIQUE INDEX task_usage_unique_at ON task_usage (task_id, provider, model, created_at);
SET client_min_messages = warning;
CALL usage_rollup.backfill();
RESET client_min_messages;
SELECT * FROM variants;
SELECT * FROM day_counts;

-- with it back, the pass looks only at the tasks of non-lower-case providers and
-- still finds t1 (t3's duplicate is gone first: the constraint would refuse it)
DELETE FROM task_usage WHERE task_id = app.uid('t3') AND input_tokens = 2;
ALTER TABLE task_usage ADD CONSTRAINT task_usage_task_id_provider_model_key UNIQUE (task_id, provider, model);
SET client_min_messages = warning;
CALL usage_rollup.backfill();
RESET client_min_messages;
SELECT * FROM variants;
SELECT * FROM day_counts;
-- the backfill covered the usage rows' range, which now ends before the deleted
-- row's bucket: the delete queued that bucket, and the tick drains it
SELECT app.drift() AS before_tick;
SELECT usage_rollup.tick() >= 0 AS ticked;
SELECT app.drift();
