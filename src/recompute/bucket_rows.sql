-- The usage rows of the buckets $1 that a recompute may read (the included field:
-- recompute::included), as u: a FROM item for aggregate.sql.
-- LATERAL ... OFFSET 0 keeps each bucket's index range scan a unit driven by the
-- bucket list: the planner cannot estimate a range bounded by a parameter and
-- would otherwise walk whole source tables (see privileges.sql for the joins).
(SELECT DISTINCT s AS bucket_start FROM pg_catalog.unnest($1::timestamptz[]) s
          WHERE s > '-infinity' AND s < '@bucket_limit@') b
         CROSS JOIN LATERAL (SELECT * FROM @usage@ x
                             WHERE x.created_at >= b.bucket_start
                               AND x.created_at < b.bucket_start + '@bucket_seconds@ seconds'::interval
                               AND @included@
                             OFFSET 0) u
