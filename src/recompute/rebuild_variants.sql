-- The whole variant list from the usage table (see the variant table in
-- schema.sql), after it was emptied: the tasks of the rows that may pair
-- (recompute::may_pair) with two or more rows of a (lower(provider), model).
INSERT INTO usage_rollup.variant (task_id, provider, model)
SELECT u.task_id, pg_catalog.lower(u.provider), u.model FROM @usage@ u
WHERE u.task_id IN (SELECT m.task_id FROM @usage@ m WHERE @may_pair@)
GROUP BY 1, 2, 3 HAVING count(*) > 1
