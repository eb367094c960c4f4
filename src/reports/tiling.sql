-- The tiling of a report's UTC range ($8, $9) by the blocks of a per-workspace
-- rollup (usage_rollup.rollup_ws through _ws_blocks, usage_rollup.task_rollup
-- through _task_blocks, usage_rollup.key_rollup through _key_blocks, which also
-- takes the sealed blocks): the largest blocks that lie inside one group
-- and hold no bucket of the CTE dirty, whose rows are read raw (reports/blocks.rs).
-- @group_at(x)@ is the group of the instant x.
ws_hour AS MATERIALIZED (
    SELECT h, @group_at(h - '00:15:00'::interval)@ AS before, @group_at(h)@ AS first_quarter,
           @group_at(h + '00:45:00'::interval)@ AS last_quarter
    FROM pg_catalog.generate_series($8, $9 - '01:00:00'::interval, '01:00:00'::interval) h
),
-- where a group starts: at an hour (its previous quarter is in another group), or
-- at a quarter inside an hour whose first and last quarters differ (a third
-- conversion per hour instead of lag() over the hours, whose sort cost more)
ws_edge AS (
    SELECT x.h AS e FROM ws_hour x
    WHERE x.before IS DISTINCT FROM x.first_quarter AND x.h > $8
    UNION ALL
    SELECT x.h + k * '00:15:00'::interval
    FROM ws_hour x, pg_catalog.generate_series(1, 3) k
    WHERE x.first_quarter IS DISTINCT FROM x.last_quarter
      AND @group_at(x.h + k * '00:15:00'::interval)@
          IS DISTINCT FROM @group_at(x.h + (k - 1) * '00:15:00'::interval)@
),
ws_block AS MATERIALIZED (
    SELECT b.width, b.bucket_start, b.group_start
    FROM usage_rollup.@blocks@($8, $9, (SELECT pg_catalog.array_agg(e.e) FROM ws_edge e),
                                 (SELECT pg_catalog.array_agg(d.bucket_start) FROM dirty d)@sealed@) b
),
-- consecutive blocks of one width in one group, read by one index range scan (a
-- Kolkata day is four runs of twelve blocks: measured, a third fewer lookups
-- than one per block)
ws_run AS MATERIALIZED (
    SELECT i.width, i.group_start, min(i.bucket_start) AS run_start,
           max(i.bucket_start) + i.width * '00:01:00'::interval AS run_end
    FROM (SELECT b.width, b.group_start, b.bucket_start,
                 b.bucket_start - (pg_catalog.row_number() OVER (PARTITION BY b.group_start, b.width ORDER BY b.bucket_start))
                                  * b.width * '00:01:00'::interval AS island
          FROM ws_block b) i
    GROUP BY i.width, i.group_start, i.island
),
