-- The frozen horizon in force, the bucket of $1 (the target), and the first bucket
-- with work no tick has applied yet, which the horizon may not pass (freeze.rs,
-- advance); NULL with no tick yet. Locks tick_state's row.
SELECT s.frozen_before, usage_rollup.bucket_of($1),
                -- the first bucket with work no tick has applied yet
                CASE WHEN s.watermark IS NOT NULL THEN least(usage_rollup.bucket_of(s.watermark),
                      (SELECT pg_catalog.min(d.bucket_start) FROM usage_rollup.dirty_bucket d),
                      (SELECT pg_catalog.min(d.bucket_start) FROM usage_rollup.dirty_delta d),
                      (SELECT pg_catalog.min(d.bucket_start) FROM usage_rollup.dirty_task_bucket d),
                      (SELECT usage_rollup.bucket_of(pg_catalog.min(u.created_at)) FROM @usage@ u
                       WHERE u.updated_at >= s.watermark AND u.created_at > '-infinity')) END
         FROM usage_rollup.tick_state s WHERE s.id = 1 FOR UPDATE
