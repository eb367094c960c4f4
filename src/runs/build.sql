-- The whole run rollup's 15-minute cells from the tasks table (attach() and the
-- 0.5.0 update; the table is emptied first, under the rollup lock). The wider
-- blocks follow from them (build_widths.sql).
INSERT INTO usage_rollup.task_rollup (workspace_id, kind, width, bucket_start, agent_id, status, failure_reason,
                                      tasks, runs, run_seconds)
SELECT c.workspace_id, c.kind, 15, c.bucket_start, c.agent_id, c.status, c.failure_reason, c.tasks, c.runs, c.run_seconds
FROM (
@cells@
) c
