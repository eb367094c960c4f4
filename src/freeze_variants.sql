-- The buckets in [$1, $2) of the tasks with a provider in two letter cases (see
-- variant_frozen in catalog/schema.sql; freeze.rs, advance).
INSERT INTO usage_rollup.variant_frozen
        (task_id, provider, model, bucket_start, workspace_id, agent_id, runtime_id, project_id)
    SELECT DISTINCT u.task_id, v.provider, v.model, @bucket@, a.workspace_id, t.agent_id, t.runtime_id, i.project_id
    FROM usage_rollup.variant v
    JOIN @usage@ u ON u.task_id = v.task_id AND pg_catalog.lower(u.provider) IS NOT DISTINCT FROM v.provider
                  AND u.model IS NOT DISTINCT FROM v.model
    JOIN @tasks@ t ON t.id = u.task_id
    JOIN @agents@ a ON a.id = t.agent_id
    LEFT JOIN @issues@ i ON i.id = t.issue_id
    WHERE u.created_at >= $1 AND u.created_at < $2 AND u.created_at > '-infinity'
    ON CONFLICT ON CONSTRAINT variant_frozen_key DO NOTHING
