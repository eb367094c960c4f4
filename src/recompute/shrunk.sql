-- After append.sql took rows away from cells of the buckets $1: the rows of the
-- rollup, and of the per-workspace rows and keyed blocks holding those buckets
-- (the blocks field: a query of width and bucket_start over b), that no raw row is
-- left in go (SPEC §3: no rollup row whose raw aggregate is empty).
WITH b AS MATERIALIZED (
    SELECT DISTINCT x AS bucket_start FROM pg_catalog.unnest($1::timestamptz[]) x
),
blocks AS MATERIALIZED (
@blocks@
),
cells AS (
    DELETE FROM usage_rollup.rollup r USING b WHERE r.bucket_start = b.bucket_start AND r.event_count <= 0
    RETURNING 1
),
per_workspace AS (
    DELETE FROM usage_rollup.rollup_ws w USING blocks x
    WHERE w.width = x.width AND w.bucket_start = x.bucket_start AND w.event_count <= 0
    RETURNING 1
),
keyed AS (
    DELETE FROM usage_rollup.key_rollup k USING blocks x
    WHERE k.width = x.width AND k.bucket_start = x.bucket_start AND k.event_count <= 0
    RETURNING 1
)
SELECT (SELECT count(*) FROM cells) + (SELECT count(*) FROM per_workspace) + (SELECT count(*) FROM keyed)
