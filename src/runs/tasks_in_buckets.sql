-- The tasks whose time in the column field lies in the buckets of a CTE d(b), as a
-- FROM item aliased t (cells.sql): by that column's index, a range scan per bucket.
(SELECT y.* FROM d CROSS JOIN LATERAL (SELECT * FROM @tasks@ z WHERE z.@column@ >= d.b AND z.@column@ < @bucket_end@ OFFSET 0) y) t
