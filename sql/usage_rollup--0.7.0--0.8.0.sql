-- usage_rollup 0.7.0 -> 0.8.0 (ALTER EXTENSION usage_rollup UPDATE).
--
-- The keyed task hours (SPEC §6: kpis over 90 days at least 20x faster than raw at
-- any time of day): per sealed UTC hour of a day not sealed yet, the tasks with a
-- usage row in it, so that kpis no longer reads the current UTC day's raw rows
-- (late in a UTC day about a day of them). The library's tick seals them (one hour
-- per run) and kpis reads them.
--
-- A fix: 0.6.0 and 0.7.0 bounded a UTC day by "+ interval '1 day'", which is a calendar day
-- in the session's TimeZone: a tick or backfill run in a session with a DST zone
-- (say America/New_York) sealed the keyed blocks and task days of a DST change's
-- UTC day over 23 or 25 hours. The day is now 24 hours everywhere, and the update
-- seals every keyed block and task day again (as the 0.6.0 and 0.7.0 updates did;
-- each waits for a running tick). status.task_day_backlog counts with 24 hours.

-- The same per hour, for the hours of a UTC day that is not sealed yet (the current
-- day, and the previous one until its seal): without them kpis read the current
-- day's raw rows, up to a whole day of them late in a UTC day (~20x instead of ~40x
-- in the sparse benchmark). "single" is relative to the hour. A day's hours are
-- removed when the day is sealed; only the holder of the rollup lock writes these.
CREATE TABLE usage_rollup.key_task_hour (
    task_id      uuid        NOT NULL,
    bucket_start timestamptz NOT NULL,   -- the UTC hour
    workspace_id uuid        NOT NULL,
    single       boolean     NOT NULL,   -- all of the task's rows were in this hour
    PRIMARY KEY (task_id, bucket_start) INCLUDE (workspace_id, single)
);
CREATE INDEX key_task_hour_rows ON usage_rollup.key_task_hour (bucket_start);
CREATE INDEX key_task_hour_spanning ON usage_rollup.key_task_hour (workspace_id, bucket_start) WHERE NOT single;
COMMENT ON TABLE usage_rollup.key_task_hour IS
    'Tasks with usage per sealed UTC hour of a day not sealed yet, and workspace (single: all their rows in that hour): kpis'' task count.';

CREATE TABLE usage_rollup.key_task_hour_count (
    workspace_id uuid        NOT NULL,
    bucket_start timestamptz NOT NULL,
    single_tasks bigint      NOT NULL,
    PRIMARY KEY (workspace_id, bucket_start)
);
COMMENT ON TABLE usage_rollup.key_task_hour_count IS
    'Single tasks (all rows in the hour) per sealed UTC hour and workspace.';

-- The hours whose key_task_hour rows are the raw rows' tasks (sealed). No queue: the
-- hours to seal are the finished ones of the queued days of the last two UTC days.
CREATE TABLE usage_rollup.key_task_hour_block (
    bucket_start timestamptz PRIMARY KEY,
    sealed_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE usage_rollup.key_task_hour_block IS
    'Sealed hours of key_task_hour: kpis reads these, the sealed days and the raw rows for the rest of its range.';

SELECT pg_catalog.pg_extension_config_dump('usage_rollup.key_task_hour', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.key_task_hour_count', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.key_task_hour_block', '');

-- a finished UTC day is 24 hours after its start in any session TimeZone
CREATE OR REPLACE VIEW usage_rollup.status AS
SELECT s.watermark,
       extract(epoch FROM now() - s.last_success_at)::float8            AS lag_seconds,
       (SELECT count(*) FROM usage_rollup.dirty_bucket)                  AS queue_depth,
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
       (SELECT min(d.enqueued_at) FROM usage_rollup.dirty_bucket d)      AS queue_oldest_at,
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
        WHERE k.bucket_start + '24:00:00'::interval + '00:10:00'::interval <= now()) AS task_day_backlog
FROM (VALUES (1)) one (id)
LEFT JOIN usage_rollup.tick_state s ON s.id = one.id;

-- every keyed block and task day sealed again, now over 24 hours
SELECT usage_rollup._seal_keyed();
SELECT usage_rollup._seal_key_tasks();
