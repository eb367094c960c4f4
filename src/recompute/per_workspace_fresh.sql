-- The fresh rows of usage_rollup.rollup_ws for one width (see per_workspace.sql).
-- The target bucket is that of the row of this width a source row r adds to.
    SELECT @width@::smallint AS width, @target_bucket@ AS bucket_start, r.workspace_id, r.provider, r.model,
           @sum_measures(r)@
    FROM @source@ r
    WHERE @source_scope@
    GROUP BY 2, 3, 4, 5
