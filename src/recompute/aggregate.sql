-- The §4.1 usage aggregate at rollup grain: one row per (15-minute UTC bucket,
-- workspace, runtime, agent, project, lower(provider), model). The workspace comes
-- from the task's agent, never from its issue (seeds W9); a missing runtime or
-- project is a NULL group of its own (seeds W5). The rows field selects the usage
-- rows (a FROM item aliased u: bucket_rows.sql, range_rows.sql).
SELECT @bucket@                                    AS bucket_start,
       a.workspace_id,
       t.runtime_id,
       t.agent_id,
       i.project_id,
       pg_catalog.lower(u.provider)                AS provider,
       u.model,
       @usage_measures@,
       count(*)                                    AS event_count
FROM @rows@
JOIN @tasks@ t ON t.id = u.task_id
JOIN @agents@ a ON a.id = t.agent_id
LEFT JOIN @issues@ i ON i.id = t.issue_id
GROUP BY 1, 2, 3, 4, 5, 6, 7
