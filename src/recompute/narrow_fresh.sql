-- The fresh rows of usage_rollup.rollup_ws for one width (see narrow.sql).
    SELECT @width@::smallint AS width, @bucket@ AS bucket_start, r.workspace_id, r.provider, r.model,
           sum(r.input_tokens)::bigint AS input_tokens, sum(r.output_tokens)::bigint AS output_tokens,
           sum(r.cache_read_tokens)::bigint AS cache_read_tokens, sum(r.cache_write_tokens)::bigint AS cache_write_tokens,
           sum(r.cost_usd_ticks)::bigint AS cost_usd_ticks, sum(r.uncosted_input_tokens)::bigint AS uncosted_input_tokens,
           sum(r.uncosted_output_tokens)::bigint AS uncosted_output_tokens,
           sum(r.uncosted_cache_read_tokens)::bigint AS uncosted_cache_read_tokens,
           sum(r.uncosted_cache_write_tokens)::bigint AS uncosted_cache_write_tokens,
           sum(r.task_count)::bigint AS task_count, sum(r.event_count)::bigint AS event_count
    FROM @source@ r
    WHERE @source_scope@
    GROUP BY 2, 3, 4, 5
