-- CALL backfill(): attaching to a database with history and backfilling once gives
-- a complete rollup; progress NOTICEs (timings are in their DETAIL, hidden by
-- VERBOSITY terse); ranges; bad input.
\set SHOW_CONTEXT never
\ir ../fixtures/fresh.sql
\set VERBOSITY terse

-- history before attach: 3 days of usage, one legacy row without updated_at, one
-- row corrected long after it was created (seeds W12)
SELECT app.make_world();
SELECT app.task('t1', 'a1', 'r1', 'i1'), app.task('t2', 'a2', NULL, NULL);
SELECT app.usage('t1', 'claude', 'opus', 100, '2026-03-01 00:10+00'),
       app.usage('t1', 'claude', 'sonnet', 200, '2026-03-02 12:00+00'),
       app.usage('t2', 'openai', 'gpt', 300, '2026-03-03 23:59+00');
INSERT INTO task_usage (task_id, provider, model, input_tokens, created_at, updated_at)
VALUES (uid('t2'), 'openai', 'legacy', 7, '2026-02-28 08:00+00', NULL);
UPDATE task_usage SET input_tokens = 150, updated_at = '2026-04-01' WHERE model = 'opus';

SET client_min_messages = warning;
SELECT usage_rollup.attach();
RESET client_min_messages;
-- ticks only look forward from the attach: the history is not in the rollup yet
SELECT usage_rollup.tick() AS rows;
SELECT count(*) AS missing FROM usage_rollup.verify('-infinity', 'infinity');

-- one backfill of everything, in 1-day slices
CALL usage_rollup.backfill();
SELECT model, input FROM rollup_summary ORDER BY 1;
SELECT app.drift();
SELECT watermark >= (SELECT attached_at FROM usage_rollup.binding) AS watermark_at_backfill_start FROM usage_rollup.status;
SELECT kind, count(*) AS slices, sum(raw_rows) AS rows FROM usage_rollup.tick_run WHERE kind = 'backfill' GROUP BY 1;
-- ticks resume: new usage appears after the next tick
SELECT app.usage('t2', 'openai', 'o3', 5, now());
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT app.drift();

-- a partial range rebuilds only its buckets and leaves the watermark alone
UPDATE usage_rollup.rollup SET input_tokens = 0;
SELECT watermark AS before FROM usage_rollup.status \gset
CALL usage_rollup.backfill(from_ts => '2026-03-02', to_ts => '2026-03-02 12:10', slice => '4 hours');
SELECT model, input FROM rollup_summary ORDER BY 1;
SELECT watermark = :'before' AS watermark_unchanged FROM usage_rollup.status;
SET client_min_messages = warning;  -- ~270 daily slices up to today
CALL usage_rollup.backfill();
RESET client_min_messages;
SELECT app.drift();

-- rows stamped at infinity belong to no bucket: ignored by the default range
INSERT INTO task_usage (task_id, provider, model, input_tokens, created_at) VALUES (uid('t2'), 'x', 'forever', 1, 'infinity');
SET client_min_messages = warning;
CALL usage_rollup.backfill();
RESET client_min_messages;
SELECT count(*) AS forever_rows FROM usage_rollup.rollup WHERE model = 'forever';

-- a range with no usage
CALL usage_rollup.backfill(from_ts => '2020-01-01', to_ts => '2020-01-02');

-- bad input
CALL usage_rollup.backfill(from_ts => '2026-03-05', to_ts => '2026-03-01');
CALL usage_rollup.backfill(slice => NULL);
BEGIN;
CALL usage_rollup.backfill();
ROLLBACK;
SET default_transaction_isolation = 'repeatable read';
CALL usage_rollup.backfill();
RESET default_transaction_isolation;
SET client_min_messages = warning;
SELECT usage_rollup.detach();
RESET client_min_messages;
CALL usage_rollup.backfill();

SET client_min_messages = warning;
DROP SCHEMA app CASCADE;
DROP EXTENSION usage_rollup;
