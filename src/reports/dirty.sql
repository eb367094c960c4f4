-- The usage buckets of a report's range ($8, $9) whose rollup rows may not reflect
-- the raw rows yet, in this statement's snapshot: queued invalidations and rows
-- stamped since the watermark (a literal, see usage.sql). None before the frozen
-- horizon (a literal too): those buckets are final, and their raw rows may be
-- gone (freeze.rs). A CTE of usage.sql and kpi_tasks_keyed.sql.
dirty AS (
    SELECT d.bucket_start FROM usage_rollup.dirty_bucket d WHERE d.bucket_start >= greatest($8, @frozen@) AND d.bucket_start < $9
    UNION
    SELECT @bucket@ FROM @usage@ u WHERE u.updated_at >= @watermark@ AND u.created_at >= greatest($8, @frozen@) AND u.created_at < $9
    UNION
    SELECT @bucket@ FROM @usage@ u
    WHERE u.updated_at IS NULL AND u.created_at >= greatest(@watermark@, $8, @frozen@) AND u.created_at < $9
),
