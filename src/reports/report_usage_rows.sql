FROM @usage@ u
JOIN @tasks@ t ON t.id = u.task_id
JOIN @agents@ a ON a.id = t.agent_id
LEFT JOIN @issues@ i ON i.id = t.issue_id
WHERE a.workspace_id = $1 AND u.created_at >= $8 AND u.created_at < $9
  AND (u.created_at AT TIME ZONE $4)::date BETWEEN $2 AND $3
  @task_filters@