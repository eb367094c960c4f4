-- The first and last created_at of the usage rows (backfill.rs, _backfill_plan):
-- rows stamped ±infinity (or past the last bucket) belong to no bucket.
SELECT pg_catalog.min(u.created_at), pg_catalog.max(u.created_at) FROM @usage@ u
WHERE u.created_at > '-infinity' AND u.created_at < '@bucket_limit@'
