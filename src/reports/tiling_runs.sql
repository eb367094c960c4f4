-- tiling.sql for usage_rollup.rollup_ws (0.9.0): the runs of blocks straight from
-- _ws_runs (reports/blocks.rs), one index range scan each in cells_ws.sql.
ws_run AS MATERIALIZED (
    SELECT r.width, r.group_start, r.run_start, r.run_end
    FROM usage_rollup._ws_runs($8, $9, @edges@, (SELECT pg_catalog.array_agg(d.bucket_start) FROM dirty d)) r
),
