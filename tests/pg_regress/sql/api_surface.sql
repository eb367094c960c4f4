-- The public surface: every function with its identity arguments, result,
-- volatility, security and settings. An API change shows in this diff, and a
-- function without a pinned search_path fails the last query.
SET client_min_messages = warning;
\set ECHO none
\ir ../fixtures/reset.sql
\set ECHO all
CREATE EXTENSION usage_rollup;
RESET client_min_messages;
\pset format unaligned

SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS arguments,
       CASE p.prokind WHEN 'p' THEN 'procedure' ELSE pg_get_function_result(p.oid) END AS result,
       p.provolatile AS volatility, p.prosecdef AS security_definer, p.proconfig AS settings,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'usage_rollup'
ORDER BY p.proname, arguments;

-- functions whose search_path is not pinned (must be none; backfill pins its own
-- after every COMMIT, since a procedure with a SET clause cannot commit), but the
-- event trigger _partition_ddl: it resolves the table names of the command it
-- watches in that command's search_path, and runs schema-qualified SQL only
-- (src/invalidate/partitions.sql)
SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'usage_rollup' AND p.prokind <> 'p'
  AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%');

SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'usage_rollup' AND c.relkind IN ('r', 'v') ORDER BY 1;
SELECT name, setting, unit, context FROM pg_settings WHERE name LIKE 'usage_rollup.%' ORDER BY 1;

DROP EXTENSION usage_rollup;
