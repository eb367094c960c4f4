-- Refresh usage_rollup.variant for the tasks chosen by "touched" (those with rows in
-- recomputed buckets, or those of the rows a tick appended): add every (task,
-- lower(provider), model) with two or more raw rows, drop entries of these tasks
-- that no longer have them. An index probe per task.
WITH touched AS MATERIALIZED (
    @touched@
),
found AS MATERIALIZED (
    SELECT v.task_id, pg_catalog.lower(v.provider) AS provider, v.model
    FROM touched t JOIN @usage@ v ON v.task_id = t.task_id
    GROUP BY 1, 2, 3 HAVING count(*) > 1
),
gone AS (
    DELETE FROM usage_rollup.variant x USING touched t
    WHERE x.task_id = t.task_id
      AND NOT EXISTS (SELECT 1 FROM found f WHERE f.task_id = x.task_id
                      AND f.provider IS NOT DISTINCT FROM x.provider AND f.model IS NOT DISTINCT FROM x.model)
)
INSERT INTO usage_rollup.variant (task_id, provider, model)
SELECT f.task_id, f.provider, f.model FROM found f
ON CONFLICT ON CONSTRAINT variant_key DO NOTHING
