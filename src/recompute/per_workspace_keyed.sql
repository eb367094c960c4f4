-- Refresh the rows of one coarser width of usage_rollup.rollup_ws for the keys
-- (bucket of the width below, workspace, provider, model) whose rows of the width
-- below just changed ($1, jsonb): each such key's block is summed again from the
-- rows of the width below in it, and deleted if none are left. Only the changed
-- keys' blocks are read (a correction tick used to sum every key of every day
-- block it touched: measured, a second for 100 scattered corrections, sparse).
-- Returns the rows written and the changed keys of this width, for the next.
WITH k AS MATERIALIZED (
    SELECT DISTINCT @bin@ AS bucket_start, x.workspace_id, x.provider, x.model
    FROM pg_catalog.jsonb_to_recordset($1::jsonb) AS x(bucket_start timestamptz, workspace_id uuid, provider text, model text)
),
-- the key's rows below in its block, by the workspace's index (a NULL workspace,
-- which equality cannot find, by the second branch), each with its key's block; the
-- block's last row below, not its end: a block at the end of time ends past it
below AS (
    SELECT k.bucket_start AS block, y.*
    FROM k
    CROSS JOIN LATERAL (
        SELECT z.* FROM usage_rollup.rollup_ws z
        WHERE z.workspace_id = k.workspace_id AND z.width = @below@
          AND z.bucket_start >= k.bucket_start AND z.bucket_start <= k.bucket_start + '@last@ minutes'::interval
          AND z.provider IS NOT DISTINCT FROM k.provider AND z.model IS NOT DISTINCT FROM k.model
        UNION ALL
        SELECT z.* FROM usage_rollup.rollup_ws z
        WHERE k.workspace_id IS NULL AND z.workspace_id IS NULL AND z.width = @below@
          AND z.bucket_start >= k.bucket_start AND z.bucket_start <= k.bucket_start + '@last@ minutes'::interval
          AND z.provider IS NOT DISTINCT FROM k.provider AND z.model IS NOT DISTINCT FROM k.model) y
),
fresh AS MATERIALIZED (
@fresh@
),
-- keys with no rows below left (rare): their rows of this width go
stale AS (
    SELECT k.* FROM k
    WHERE NOT EXISTS (SELECT 1 FROM fresh f
                      WHERE f.bucket_start = k.bucket_start
                        AND (f.workspace_id, f.provider, f.model) IS NOT DISTINCT FROM (k.workspace_id, k.provider, k.model))
),
@write@
@result@
