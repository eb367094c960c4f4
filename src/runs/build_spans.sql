-- Every task's usage span and the run rollup's 15-minute kind 'u' cells from the
-- whole usage table (attach() and the 0.5.0 update, after build.sql; both tables
-- emptied first).
WITH spans AS (
    INSERT INTO usage_rollup.task_span (task_id, workspace_id, first_at, last_at)
    SELECT u.task_id, a.workspace_id, min(u.created_at), max(u.created_at)
    FROM @usage@ u
    JOIN @tasks@ t ON t.id = u.task_id
    JOIN @agents@ a ON a.id = t.agent_id
    WHERE pg_catalog.isfinite(u.created_at)
    GROUP BY 1, 2
    RETURNING workspace_id, first_at
)
INSERT INTO usage_rollup.task_rollup (workspace_id, kind, width, bucket_start, agent_id, status, failure_reason,
                                      tasks, runs, run_seconds)
SELECT s.workspace_id, 'u', 15, usage_rollup.bucket_of(s.first_at), NULL, NULL, NULL, count(*), 0, 0
FROM spans s
GROUP BY 1, 4
