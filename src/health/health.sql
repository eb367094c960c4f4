-- Health (SPEC §3, §8): the status view, lag_seconds(), verify().

CREATE VIEW usage_rollup.status AS
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
COMMENT ON VIEW usage_rollup.status IS
    'One row: watermark, seconds since the last successful tick, queue depth, last run and last error.';

-- SECURITY DEFINER: a monitoring role needs EXECUTE on it, no grant on tick_state.
CREATE FUNCTION usage_rollup.lag_seconds() RETURNS double precision
LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT extract(epoch FROM now() - s.last_success_at)::float8 FROM usage_rollup.tick_state s WHERE s.id = 1
$$;
COMMENT ON FUNCTION usage_rollup.lag_seconds() IS
    'Seconds since the last successful tick finished; NULL if no tick has succeeded since attach.';

CREATE FUNCTION usage_rollup.verify(from_ts timestamptz, to_ts timestamptz)
RETURNS TABLE (bucket_start timestamptz, workspace_id uuid, runtime_id uuid, agent_id uuid,
               project_id uuid, provider text, model text, issue text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN QUERY EXECUTE usage_rollup._verify_sql(from_ts, to_ts) USING from_ts, to_ts;
END
$$;
COMMENT ON FUNCTION usage_rollup.verify(timestamptz, timestamptz) IS
    'Rollup rows of buckets in [from_ts, to_ts) that differ from a recompute of the raw rows; empty when consistent. Rows changed after the watermark show until the next tick.';
REVOKE ALL ON FUNCTION usage_rollup.verify(timestamptz, timestamptz) FROM PUBLIC;
