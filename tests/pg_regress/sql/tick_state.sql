-- tick(): watermark, catch-up cap, settings, status, lag_seconds, tick history,
-- queue retention.
\set SHOW_CONTEXT never
\ir ../fixtures/fresh.sql

-- settings take PostgreSQL time units, like statement_timeout
SET usage_rollup.safety_lag = '5min';
SHOW usage_rollup.safety_lag;
SET usage_rollup.safety_lag = '300s';
SHOW usage_rollup.safety_lag;
SET usage_rollup.max_window = '1d';
SHOW usage_rollup.max_window;
SET usage_rollup.queue_retention = '7d';
SHOW usage_rollup.queue_retention;
SET usage_rollup.safety_lag = -1;
SET usage_rollup.safety_lag = 'soon';
SET usage_rollup.safety_lag = 0;
SHOW usage_rollup.safety_lag;

SET client_min_messages = warning;
SELECT usage_rollup.attach();
RESET client_min_messages;
SELECT app.make_world();

-- attach started the watermark at (about) now; nothing has run yet
SELECT watermark > now() - interval '1 minute' AS watermark_now, lag_seconds IS NULL AS never_ticked,
       queue_depth, last_error IS NULL AS no_error, failing, attached
FROM usage_rollup.status;
SELECT usage_rollup.lag_seconds() IS NULL AS lag_null;

-- catch-up is capped per tick (seeds #8): park the watermark 3 days back
UPDATE usage_rollup.tick_state SET watermark = now() - interval '3 days';
SELECT app.task('t1', 'a1', 'r1', 'i1'), app.usage('t1', 'claude', 'opus', 100, now() - interval '36 hours');
-- back-dating updated_at behind the watermark is seen by the update trigger, which
-- queues the bucket; a recompute reads the rows stamped before the window's end,
-- so the row (stamped 36 hours ago) is in after the second tick, whose window
-- holds its stamp; the watermark moves one day per tick
UPDATE task_usage SET updated_at = now() - interval '36 hours';
SELECT usage_rollup.tick() AS rows;
SELECT round(extract(epoch FROM now() - watermark) / 86400, 1) AS days_behind FROM usage_rollup.status;
SELECT usage_rollup.tick() AS rows;
SELECT round(extract(epoch FROM now() - watermark) / 86400, 1) AS days_behind FROM usage_rollup.status;
SELECT usage_rollup.tick() AS rows;
SELECT watermark <= clock_timestamp() AND watermark > now() - interval '1 minute' AS caught_up FROM usage_rollup.status;
SELECT input FROM rollup_summary;

-- no cap with max_window = 0
SET usage_rollup.max_window = 0;
UPDATE usage_rollup.tick_state SET watermark = now() - interval '30 days';
SELECT usage_rollup.tick() AS rows;
SELECT watermark > now() - interval '1 minute' AS caught_up FROM usage_rollup.status;

-- the safety lag keeps the window behind now
SET usage_rollup.safety_lag = '1h';
SELECT usage_rollup.tick() AS rows;
SELECT watermark > now() - interval '1 minute' AS not_moved_back FROM usage_rollup.status;
SET usage_rollup.safety_lag = 0;

-- status after successful ticks; every tick is in tick_run
SELECT lag_seconds >= 0 AS lag_known, last_rows, last_duration_ms >= 0 AS timed,
       last_finished_at >= last_started_at AS ordered, failing
FROM usage_rollup.status;
SELECT usage_rollup.lag_seconds() >= 0 AS lag_known;
SELECT kind, status, count(*) FROM usage_rollup.tick_run GROUP BY 1, 2 ORDER BY 1, 2;

-- queue: the oldest rows go first, at most max_dirty_buckets per tick, but rows
-- older than queue_retention are always taken (recomputed, never dropped)
SET usage_rollup.max_dirty_buckets = 1;
INSERT INTO usage_rollup.dirty_bucket (bucket_start, enqueued_at) VALUES
    ('2026-01-01 00:00+00', now() - interval '8 days'),
    ('2026-01-02 00:00+00', now() - interval '9 days'),
    ('2026-01-03 00:00+00', now()),
    ('2026-01-04 00:00+00', now());
SELECT usage_rollup.tick() AS rows;
SELECT bucket_start FROM usage_rollup.dirty_bucket ORDER BY 1;
SELECT usage_rollup.tick() AS rows;
SELECT bucket_start FROM usage_rollup.dirty_bucket ORDER BY 1;
RESET usage_rollup.max_dirty_buckets;

-- tick history older than queue_retention is pruned
UPDATE usage_rollup.tick_run SET started_at = now() - interval '8 days';
SELECT usage_rollup.tick() AS rows;
SELECT count(*) AS runs_kept FROM usage_rollup.tick_run;

SELECT app.drift();

-- a tick inside a transaction that goes on writing: the window stops at that
-- transaction's own start, so its later rows (stamped now()) wait for the next tick
BEGIN;
SELECT app.usage('t1', 'claude', 'sonnet', 200, '2026-03-01 11:05+00');
SELECT usage_rollup.tick() >= 0 AS ticked;
SELECT app.usage('t1', 'claude', 'haiku', 300, '2026-03-01 12:05+00');
COMMIT;
SELECT usage_rollup.tick() > 0 AS wrote;
SELECT model, input FROM rollup_summary ORDER BY 1;
SELECT app.drift();

SET client_min_messages = warning;
SELECT usage_rollup.detach();
DROP SCHEMA app CASCADE;
DROP EXTENSION usage_rollup;
