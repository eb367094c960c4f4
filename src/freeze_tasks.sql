-- The frozen tasks of the usage rows in [$1, $2) (see key_task_frozen in
-- catalog/schema.sql): added to those of the quarter hours frozen before
-- (freeze.rs, advance).
INSERT INTO usage_rollup.key_task_frozen AS k
        (task_id, bucket_start, workspace_id, agent_id, runtime_id, project_id, quarters)
    SELECT u.task_id, pg_catalog.date_bin('1 day'::interval, u.created_at, '2000-01-01 00:00:00+00'::timestamptz),
           a.workspace_id, t.agent_id, t.runtime_id, i.project_id, pg_catalog.bit_or(usage_rollup._quarter(u.created_at))
    FROM @usage@ u
    JOIN @tasks@ t ON t.id = u.task_id
    JOIN @agents@ a ON a.id = t.agent_id
    LEFT JOIN @issues@ i ON i.id = t.issue_id
    WHERE a.workspace_id IS NOT NULL AND u.created_at >= $1 AND u.created_at < $2 AND u.created_at > '-infinity'
    GROUP BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (task_id, bucket_start) DO UPDATE SET quarters = k.quarters | excluded.quarters
