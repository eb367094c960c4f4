-- The same report as usage.sql straight from the raw rows: the §4.1 ground truth.
-- Used when the zone's local days are not whole 15-minute buckets in the range
-- (historical offsets such as local mean time); parameters as in usage.sql.
SELECT @rowgroup@ AS g, pg_catalog.lower(u.provider) AS provider, u.model,
       @usage_measures@
FROM @usage@ u
JOIN @tasks@ t ON t.id = u.task_id
JOIN @agents@ a ON a.id = t.agent_id
LEFT JOIN @issues@ i ON i.id = t.issue_id
WHERE a.workspace_id = $1 AND u.created_at >= $8 AND u.created_at < $9
  AND (u.created_at AT TIME ZONE $4)::date BETWEEN $2 AND $3
  @task_filters@
GROUP BY 1, 2, 3
ORDER BY 1 NULLS LAST, 2 NULLS LAST, 3 NULLS LAST
