-- attach() with hostile names, without optional columns and without supporting
-- indexes: names are quoted (no injection), missing indexes are created and
-- recorded, detach drops exactly those.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET client_min_messages = warning;
\set ECHO none
\ir ../fixtures/reset.sql
\set ECHO all
CREATE EXTENSION usage_rollup;
DROP SCHEMA IF EXISTS "Odd Schema" CASCADE;
RESET client_min_messages;

CREATE SCHEMA "Odd Schema";
CREATE TABLE "Odd Schema"."usage; DROP TABLE x" (
    task_id uuid, provider varchar(32), model text, input_tokens bigint, output_tokens bigint,
    cache_read_tokens bigint, cache_write_tokens bigint, created_at timestamptz, updated_at timestamptz);
CREATE TABLE "Odd Schema"."Tasks" (
    id uuid PRIMARY KEY, agent_id uuid, runtime_id uuid, issue_id uuid, status text,
    created_at timestamptz, started_at timestamptz, completed_at timestamptz);
CREATE TABLE "Odd Schema"."a""gents" (id uuid PRIMARY KEY, workspace_id uuid);
CREATE TABLE "Odd Schema".issues (id uuid PRIMARY KEY, workspace_id uuid, project_id uuid);
CREATE TABLE x (keep int);

-- without create_indexes: a NOTICE with the exact statements, nothing created
SELECT usage_rollup.attach(usage => '"Odd Schema"."usage; DROP TABLE x"', tasks => '"Odd Schema"."Tasks"',
                           agents => '"Odd Schema"."a""gents"', issues => '"Odd Schema".issues',
                           create_indexes => false);
SELECT created_indexes, has_cost, has_failure_reason FROM usage_rollup.binding;
SELECT usage_rollup.detach();

-- with them (the default)
SELECT usage_rollup.attach(usage => '"Odd Schema"."usage; DROP TABLE x"', tasks => '"Odd Schema"."Tasks"',
                           agents => '"Odd Schema"."a""gents"', issues => '"Odd Schema".issues');
SELECT created_indexes FROM usage_rollup.binding;
SELECT count(*) AS triggers FROM pg_trigger WHERE tgname LIKE 'usage_rollup%';

-- the rollup works through the odd names; no cost column means every token is uncosted
INSERT INTO "Odd Schema"."a""gents" VALUES ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-00000000000a');
INSERT INTO "Odd Schema"."Tasks" (id, agent_id, status) VALUES ('00000000-0000-0000-0000-0000000000f1', '00000000-0000-0000-0000-0000000000a1', 'completed');
INSERT INTO "Odd Schema"."usage; DROP TABLE x" VALUES
    ('00000000-0000-0000-0000-0000000000f1', 'OpenAI', 'gpt', 10, 20, 30, 40, '2026-03-01 10:00+00', '2026-03-01 10:00+00');
SET client_min_messages = warning;  -- progress NOTICEs carry timings
CALL usage_rollup.backfill(from_ts => '2026-03-01', to_ts => '2026-03-02');
RESET client_min_messages;
SELECT provider, model, input_tokens, cost_usd_ticks, uncosted_input_tokens, uncosted_cache_write_tokens
FROM usage_rollup.rollup;

SELECT usage_rollup.detach();
SELECT count(*) AS indexes_left FROM pg_indexes WHERE schemaname = 'Odd Schema' AND indexname LIKE 'usage_rollup%';
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgname LIKE 'usage_rollup%';
SELECT * FROM x;   -- still here

SET client_min_messages = warning;
DROP SCHEMA "Odd Schema" CASCADE;
DROP TABLE x;
DROP EXTENSION usage_rollup;
