-- Clean DROP EXTENSION (SPEC §7): refused while attached, with an error that names
-- detach() (CASCADE included: it would leave the created indexes behind); after
-- detach() it drops cleanly and the application's tables keep their rows and lose
-- every trigger and index attach() put on them. Other extensions drop as usual.
\set SHOW_CONTEXT never
\ir ../fixtures/fresh.sql
DROP INDEX app.task_usage_updated_at;   -- so that attach() creates one
SET client_min_messages = warning;
SELECT usage_rollup.attach();
RESET client_min_messages;
SELECT app.make_world();
SELECT app.task('t1', 'a1', 'r1', 'i1');
SELECT app.usage('t1', 'claude', 'opus', 100, '2026-03-01 10:00+00');
SELECT usage_rollup.tick() > 0 AS ticked;
SELECT count(*) > 0 AS has_triggers FROM pg_trigger WHERE tgname LIKE 'usage_rollup%';
SELECT cardinality(created_indexes) AS created_indexes FROM usage_rollup.binding;

DROP EXTENSION usage_rollup;
DROP EXTENSION usage_rollup CASCADE;
DROP EXTENSION IF EXISTS no_such_extension, usage_rollup;
-- the guard looks at the names dropped, not at every DROP EXTENSION
CREATE EXTENSION dblink;
DROP EXTENSION dblink;
SELECT extname FROM pg_extension WHERE extname = 'usage_rollup';

SET client_min_messages = warning;
SELECT usage_rollup.detach();
RESET client_min_messages;
DROP VIEW app.rollup_summary;   -- a test helper reading the rollup
DROP EXTENSION usage_rollup;
SELECT count(*) AS extension_left FROM pg_extension WHERE extname = 'usage_rollup';
-- PostgreSQL creates the schema of the control file for the extension but does not
-- make it a member, so it stays, empty (DROP SCHEMA usage_rollup removes it)
SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = 'usage_rollup'::regnamespace)
     + (SELECT count(*) FROM pg_proc WHERE pronamespace = 'usage_rollup'::regnamespace) AS objects_left_in_schema;
SELECT count(*) AS event_triggers_left FROM pg_event_trigger WHERE evtname LIKE 'usage_rollup%';
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgname LIKE 'usage_rollup%';
SELECT count(*) AS indexes_left FROM pg_class WHERE relname LIKE 'usage_rollup%' AND relkind = 'i';
SELECT count(*) AS usage_rows FROM app.task_usage;
-- the application keeps working without it
SELECT app.usage('t1', 'openai', 'gpt', 1, '2026-03-02 10:00+00');
SELECT count(*) AS usage_rows FROM app.task_usage;

-- tables dropped before the extension: nothing is left to detach, so it drops
CREATE EXTENSION usage_rollup;
SET client_min_messages = warning;
SELECT usage_rollup.attach();
DROP SCHEMA app CASCADE;
RESET client_min_messages;
DROP EXTENSION usage_rollup;
SELECT count(*) AS extension_left FROM pg_extension WHERE extname = 'usage_rollup';
