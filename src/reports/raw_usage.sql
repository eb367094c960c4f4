-- The same report as usage.sql straight from the raw rows: the §4.1 ground truth.
-- Used when the zone's local days are not whole 15-minute buckets in the range
-- (historical offsets such as local mean time); parameters as in usage.sql.
SELECT @rowgroup@ AS g, pg_catalog.lower(u.provider) AS provider, u.model,
       @usage_measures@
@report_usage_rows@
GROUP BY 1, 2, 3
ORDER BY 1 NULLS LAST, 2 NULLS LAST, 3 NULLS LAST
