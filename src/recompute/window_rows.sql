-- The usage rows stamped in a tick's window [$2, $3), as u, by the same two
-- indexes as discover.sql (the caller keeps those of its buckets): the rows
-- append.sql adds, and whose tasks touched_new.sql looks at.
(SELECT * FROM @usage@ x
          WHERE x.updated_at >= $2 AND x.updated_at < $3
            AND x.created_at > '-infinity' AND x.created_at < '@bucket_limit@'
          UNION ALL
          SELECT * FROM @usage@ x
          WHERE x.updated_at IS NULL AND x.created_at >= $2 AND x.created_at < $3
            AND x.created_at > '-infinity' AND x.created_at < '@bucket_limit@') u
