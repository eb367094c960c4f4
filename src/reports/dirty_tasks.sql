-- The run rollup's buckets of a report's range ($8, $9) with task changes since the
-- last tick, in this statement's snapshot (every such change queued its buckets in
-- its own transaction: triggers.sql), as dirty and as d(b) for runs/cells.sql.
-- None before the frozen horizon (a literal: see dirty.sql).
-- CTEs of tasks.sql and tasks_starts.sql.
dirty AS (
    SELECT DISTINCT q.bucket_start FROM usage_rollup.dirty_task_bucket q
    WHERE q.bucket_start >= greatest($8, @frozen@) AND q.bucket_start < $9
),
d AS (SELECT dirty.bucket_start AS b FROM dirty),
