-- kpis' task_count: distinct tasks with any usage row on a local date in the range
-- (any provider, any model). Read from the raw rows.
SELECT count(DISTINCT u.task_id)
FROM @usage@ u
JOIN @tasks@ t ON t.id = u.task_id
JOIN @agents@ a ON a.id = t.agent_id
LEFT JOIN @issues@ i ON i.id = t.issue_id
WHERE a.workspace_id = $1 AND u.created_at >= $8 AND u.created_at < $9
  AND (u.created_at AT TIME ZONE $4)::date BETWEEN $2 AND $3
  AND ($5::uuid IS NULL OR i.project_id = $5) AND ($6::uuid IS NULL OR t.runtime_id = $6)
  AND ($7::uuid IS NULL OR t.agent_id = $7)
