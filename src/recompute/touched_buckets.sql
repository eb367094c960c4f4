-- The tasks with rows in the recomputed buckets $1 (variants.sql), by an index
-- range scan per bucket.
SELECT DISTINCT x.task_id
    FROM (SELECT DISTINCT s AS bucket_start FROM pg_catalog.unnest($1::timestamptz[]) s
          WHERE s > '-infinity' AND s < '@bucket_limit@') b
    CROSS JOIN LATERAL (SELECT y.task_id FROM @usage@ y
                        WHERE y.created_at >= b.bucket_start
                          AND y.created_at < b.bucket_start + '@bucket_seconds@ seconds'::interval
                        OFFSET 0) x
