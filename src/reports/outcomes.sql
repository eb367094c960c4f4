-- Outcome reports (SPEC §4.1): terminal tasks with completed_at, started or not,
-- per status and failure reason (failed only; NULL or empty is 'unclassified').
SELECT @rowgroup@ AS g, t.status AS status,
       CASE WHEN t.status = 'failed' THEN coalesce(nullif(t.failure_reason, ''), 'unclassified') END AS failure_reason,
       count(*) AS tasks
FROM @task_rows(completed_at)@
WHERE t.workspace_id = $1 AND t.status IN ('completed', 'failed', 'cancelled')
  AND t.completed_at IS NOT NULL
  AND t.completed_at >= $8 AND t.completed_at < $9
  AND (t.completed_at AT TIME ZONE $4)::date BETWEEN $2 AND $3
  @task_row_filters@
GROUP BY 1, 2, 3
ORDER BY 1 NULLS LAST, 2 NULLS LAST, 3 NULLS LAST
