-- The run rollup's 15-minute cells (SPEC §4.1 T) of the tasks in the completed
-- field (kind 'c', by completed_at: terminal tasks, per workspace and agent and per
-- workspace alone: GROUPING SETS, agent_id NULL) and in the started field (kind 's',
-- by started_at: every task, per workspace: the hour-of-day report has no agent
-- grouping). Each is a FROM item aliased t: the whole tasks table, or its rows in a
-- set of buckets (tasks_in_buckets.sql).
-- (An infinite time has no local date: no report counts it.)
SELECT 'c'::"char" AS kind, usage_rollup.bucket_of(t.completed_at) AS bucket_start, a.workspace_id, t.agent_id,
       t.status::text AS status,
       CASE WHEN t.status = 'failed' THEN coalesce(nullif(@failure_reason@::text, ''), 'unclassified') END AS failure_reason,
       count(*) AS tasks, count(t.started_at) AS runs,
       coalesce(sum(extract(epoch FROM t.completed_at - t.started_at)), 0)::numeric AS run_seconds
FROM @completed@
JOIN @agents@ a ON a.id = t.agent_id
WHERE t.status IN ('completed', 'failed', 'cancelled') AND pg_catalog.isfinite(t.completed_at)
GROUP BY GROUPING SETS ((2, 3, 4, 5, 6), (2, 3, 5, 6))
UNION ALL
SELECT 's'::"char", usage_rollup.bucket_of(t.started_at), a.workspace_id, NULL::uuid, NULL::text, NULL::text,
       count(*), 0::bigint, 0::numeric
FROM @started@
JOIN @agents@ a ON a.id = t.agent_id
WHERE pg_catalog.isfinite(t.started_at)
GROUP BY 2, 3
