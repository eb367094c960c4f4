-- The tasks that started or completed in [$1, $2) (see task_frozen in
-- catalog/schema.sql; freeze.rs, advance). A task recorded before (it started
-- before the last horizon) gets its completion now; what was frozen stays.
INSERT INTO usage_rollup.task_frozen AS k
        (task_id, workspace_id, agent_id, runtime_id, project_id, status, failure_reason, started_at, completed_at)
    SELECT t.id, a.workspace_id, t.agent_id, t.runtime_id, i.project_id, t.status::text, @failure_reason@::text,
           t.started_at, t.completed_at
    FROM @tasks@ t
    JOIN @agents@ a ON a.id = t.agent_id
    LEFT JOIN @issues@ i ON i.id = t.issue_id
    WHERE (t.started_at >= $1 AND t.started_at < $2) OR (t.completed_at >= $1 AND t.completed_at < $2)
    ON CONFLICT (task_id) DO UPDATE SET status = excluded.status, failure_reason = excluded.failure_reason,
                                        completed_at = excluded.completed_at
        WHERE excluded.completed_at >= $1 AND excluded.completed_at < $2
