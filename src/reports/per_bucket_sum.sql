-- usage.sql's per_bucket over the rollup's cells: sums per bucket and group key.
    SELECT @bucket_key@ AS bucket_start, @key@ AS k, provider, model, @sum_usage(cells)@
    FROM cells
    GROUP BY 1, 2, 3, 4
