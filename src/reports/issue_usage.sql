-- issue_usage($1 = issue id): all time, no zone. Read raw: an issue's tasks are a
-- handful of index lookups (tasks by issue_id, usage by task_id), and the rollup
-- is not keyed by issue.
SELECT pg_catalog.lower(u.provider) AS provider, u.model,
       @usage_measures@
FROM @tasks@ t
JOIN @usage@ u ON u.task_id = t.id
JOIN @agents@ a ON a.id = t.agent_id
WHERE t.issue_id = $1
GROUP BY 1, 2
ORDER BY 1 NULLS LAST, 2 NULLS LAST
