-- tasks.sql's run rollup rows for reports grouped by local day, agent or nothing:
-- after tiling.sql (with _task_blocks), one index range scan per run of blocks
-- (weeks inside the range, days, ... 15 minutes at its ends), by index only
-- (task_rollup_workspace or task_rollup_workspace_agent cover these columns).
rolled AS (
    SELECT b.group_start AS bucket_start, r.agent_id, r.status, r.failure_reason, r.tasks, r.runs, r.run_seconds
    FROM ws_run b
    CROSS JOIN LATERAL (SELECT x.agent_id, x.status, x.failure_reason, x.tasks, x.runs, x.run_seconds
                        FROM usage_rollup.task_rollup x
                        WHERE x.workspace_id = $1 AND x.kind = 'c' AND x.width = b.width AND x.agent_id @level@
                          AND x.bucket_start >= b.run_start AND x.bucket_start < b.run_end
                        OFFSET 0) r
),
