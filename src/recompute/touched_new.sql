-- The tasks of the rows append.sql added (variants.sql): those of the window's
-- rows (window_rows.sql) in the buckets $1.
SELECT DISTINCT u.task_id FROM @window_rows@ WHERE @bucket@ = ANY ($1::timestamptz[])
