-- The tiling of a report's UTC range ($8, $9) by the blocks of a per-workspace
-- rollup (usage_rollup.task_rollup through _task_blocks, usage_rollup.key_rollup
-- through _key_blocks, which also takes the sealed blocks): the largest blocks that
-- lie inside one group and hold no bucket of the CTE dirty, whose rows are read raw
-- (reports/blocks.rs). edges is the array of instants where a group starts
-- (tz/edges.rs). (usage_rollup.rollup_ws: tiling_runs.sql since 0.9.0, this with
-- _ws_blocks before.)
ws_block AS MATERIALIZED (
    SELECT b.width, b.bucket_start, b.group_start
    FROM usage_rollup.@blocks@($8, $9, @edges@,
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
