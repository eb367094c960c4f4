-- The tasks a run, outcome or start report reads (reports/frozen.rs, task_rows):
-- the tasks table from the frozen horizon on by the timestamp column, then the
-- tasks recorded before it.
(SELECT t.id, t.agent_id, t.runtime_id, t.status::text AS status, @failure_reason@::text AS failure_reason,
            t.started_at, t.completed_at, a.workspace_id, i.project_id
     FROM @tasks@ t
     JOIN @agents@ a ON a.id = t.agent_id
     LEFT JOIN @issues@ i ON i.id = t.issue_id
     WHERE t.@timestamp@ >= @frozen@@recorded@) t