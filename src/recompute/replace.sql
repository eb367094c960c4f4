-- Recompute-and-replace of a set of buckets, in one statement (one snapshot):
-- upsert every fresh group whose measures changed, delete every rollup row of the
-- scoped buckets whose group no longer has raw rows. Never adds deltas (append.sql
-- does, where nothing but new rows changed), so running
-- it twice, or overlapping with another writer of the same buckets, converges.
-- The scope field is a predicate on r.bucket_start selecting exactly the recomputed
-- buckets. The discard field (discard_deltas.sql, with the SQL of 0.10.0) drops the
-- corrections queued for them: this snapshot's rows hold them already, and one
-- committed after it is left for the next tick, whose watermark is this cut.
WITH fresh AS MATERIALIZED (
@aggregate@
),
-- keys of the scoped buckets that no longer have raw rows (EXCEPT compares NULLs
-- as equal, like the rollup's NULLS NOT DISTINCT key)
stale AS (
    SELECT r.bucket_start, r.workspace_id, r.runtime_id, r.agent_id, r.project_id, r.provider, r.model
    FROM usage_rollup.rollup r WHERE @scope@
    EXCEPT
    SELECT f.bucket_start, f.workspace_id, f.runtime_id, f.agent_id, f.project_id, f.provider, f.model FROM fresh f
),
-- (the scope again, though every stale key is in it: without it the planner, which
-- cannot know that stale is mostly empty, sorted the whole rollup for a merge join,
-- ~3 s per 30-day slice of a backfill over 3M rollup rows)
removed AS (
    DELETE FROM usage_rollup.rollup r USING stale s
    WHERE @scope@ AND r.bucket_start = s.bucket_start AND r.agent_id = s.agent_id
      AND (r.workspace_id, r.runtime_id, r.project_id, r.provider, r.model)
          IS NOT DISTINCT FROM (s.workspace_id, s.runtime_id, s.project_id, s.provider, s.model)
    RETURNING r.bucket_start
),
written AS (
    INSERT INTO usage_rollup.rollup AS r
    SELECT * FROM fresh
    ON CONFLICT ON CONSTRAINT rollup_key DO UPDATE SET @upsert_measures(r)@
    RETURNING r.bucket_start
)@discard@
SELECT (SELECT count(*) FROM removed) + (SELECT count(*) FROM written) AS rows_written,
       (SELECT coalesce(sum(f.event_count), 0)::bigint FROM fresh f)   AS raw_rows,
       -- the buckets whose rows changed (their keyed blocks are no longer sealed)
       (SELECT pg_catalog.array_agg(DISTINCT c.bucket_start)
        FROM (SELECT * FROM removed UNION ALL SELECT * FROM written) c) AS changed
