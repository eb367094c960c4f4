-- The run rollup's wider blocks, each the sum of the 15-minute cells inside it
-- (attach() and the 0.5.0 update, after build.sql).
INSERT INTO usage_rollup.task_rollup (workspace_id, kind, width, bucket_start, agent_id, status, failure_reason,
                                      tasks, runs, run_seconds)
SELECT r.workspace_id, r.kind, w.width,
       pg_catalog.date_bin(w.width * '00:01:00'::interval, r.bucket_start, '2000-01-01 00:00:00+00'::timestamptz),
       r.agent_id, r.status, r.failure_reason, sum(r.tasks), sum(r.runs), sum(r.run_seconds)
FROM usage_rollup.task_rollup r
JOIN (@widths@) w(kind, agent_level, width)
  ON w.kind = r.kind AND w.agent_level = (r.agent_id IS NOT NULL) AND w.width > 15
WHERE r.width = 15
GROUP BY 1, 2, 3, 4, 5, 6, 7
