-- starts_by_hour: every task of the group (any status) whose started_at falls on a
-- local date in the range, by local hour.
SELECT extract(hour FROM t.started_at AT TIME ZONE $4)::integer AS g, count(*) AS tasks
FROM @task_rows(started_at)@
WHERE t.workspace_id = $1 AND t.started_at IS NOT NULL
  AND t.started_at >= $8 AND t.started_at < $9
  AND (t.started_at AT TIME ZONE $4)::date BETWEEN $2 AND $3
  @task_row_filters@
GROUP BY 1
ORDER BY 1
