-- Run reports (SPEC §4.1 T): terminal tasks that started and completed, by the local
-- date of completed_at. Parameters as in usage.sql. Read from the tasks table.
-- rowgroup is the group key of a task row.
SELECT @rowgroup@ AS g,
       coalesce(sum(extract(epoch FROM t.completed_at - t.started_at)), 0)::numeric AS run_seconds,
       count(*) AS runs,
       count(*) FILTER (WHERE t.status = 'completed') AS completed,
       count(*) FILTER (WHERE t.status = 'failed') AS failed,
       count(*) FILTER (WHERE t.status = 'cancelled') AS cancelled
FROM @task_rows(completed_at)@
WHERE t.workspace_id = $1 AND t.status IN ('completed', 'failed', 'cancelled')
  AND t.started_at IS NOT NULL AND t.completed_at IS NOT NULL
  AND t.completed_at >= $8 AND t.completed_at < $9
  AND (t.completed_at AT TIME ZONE $4)::date BETWEEN $2 AND $3
  @task_row_filters@
GROUP BY 1
ORDER BY 1 NULLS LAST
