-- A CTE of append.sql (recompute::per_workspace::append_sql): add a rollup delta's
-- sums (per_workspace_fresh.sql) to the per-workspace rows of one width.
,
added_@width@ AS (
    INSERT INTO usage_rollup.rollup_ws AS w
@fresh@
    ON CONFLICT ON CONSTRAINT rollup_ws_key DO UPDATE SET @add_measures(w)@
)
