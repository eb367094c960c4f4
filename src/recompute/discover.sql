-- Buckets touched by usage rows stamped in [$1, $2): new rows and corrections
-- (updated_at), and legacy rows without updated_at (created_at). Two branches so
-- that each uses its own index.
SELECT DISTINCT @bucket@ AS bucket_start FROM @usage@ u
WHERE u.updated_at >= $1 AND u.updated_at < $2 AND u.created_at IS NOT NULL
UNION
SELECT DISTINCT @bucket@ FROM @usage@ u
WHERE u.updated_at IS NULL AND u.created_at >= $1 AND u.created_at < $2
