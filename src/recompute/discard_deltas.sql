-- A CTE of replace.sql: the queued corrections (usage_rollup.dirty_delta) of the
-- recomputed buckets go, in the recompute's own snapshot (see append.sql). The
-- scope is a predicate on r.bucket_start.
,
discarded AS (
    DELETE FROM usage_rollup.dirty_delta r WHERE @scope@
)