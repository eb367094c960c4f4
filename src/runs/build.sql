-- The whole run rollup from the tasks table, every width at once (attach() and the
-- 0.5.0 update; the table is emptied first, under the rollup lock).
WITH cells AS MATERIALIZED (
@cells@
)
INSERT INTO usage_rollup.task_rollup (workspace_id, kind, width, bucket_start, agent_id, status, failure_reason,
                                      tasks, runs, run_seconds)
SELECT c.workspace_id, c.kind, w.width,
       pg_catalog.date_bin(w.width * '00:01:00'::interval, c.bucket_start, '2000-01-01 00:00:00+00'::timestamptz),
       c.agent_id, c.status, c.failure_reason, sum(c.tasks), sum(c.runs), sum(c.run_seconds)
FROM cells c
CROSS JOIN (VALUES (15::smallint), (60), (360), (1440), (10080)) w(width)
GROUP BY 1, 2, 3, 4, 5, 6, 7
