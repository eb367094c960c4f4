-- A hostile schema first on the search_path, shadowing built-in functions and
-- operators, changes nothing: every usage_rollup function pins its search_path
-- (SPEC §5). The same work runs with and without the hostile path; results match.
\set SHOW_CONTEXT never
\ir ../fixtures/fresh.sql
SET client_min_messages = warning;
SELECT usage_rollup.attach();
RESET client_min_messages;
SELECT app.make_world();
SELECT app.task('t1', 'a1', 'r1', 'i1'), app.task('t2', 'a2', NULL, NULL);
SELECT app.usage('t1', 'Claude', 'opus', 100, '2026-03-01 18:40+00', 7), app.usage('t2', 'openai', 'gpt', 200, '2026-03-02 10:00+00');
SELECT uid('w1') AS w1 \gset

CREATE SCHEMA evil;
CREATE FUNCTION evil.lower(text) RETURNS text LANGUAGE sql AS $$ SELECT 'hijacked' $$;
CREATE FUNCTION evil.date_trunc(text, timestamptz) RETURNS timestamptz LANGUAGE sql AS $$ SELECT 'epoch'::timestamptz $$;
CREATE FUNCTION evil.date_bin(interval, timestamptz, timestamptz) RETURNS timestamptz LANGUAGE sql AS $$ SELECT 'epoch'::timestamptz $$;
CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE sql AS $$ SELECT 'epoch'::timestamptz $$;
CREATE FUNCTION evil.coalesce_ts(timestamptz, timestamptz) RETURNS timestamptz LANGUAGE sql AS $$ SELECT 'epoch'::timestamptz $$;
CREATE FUNCTION evil.uuid_eq(uuid, uuid) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
CREATE OPERATOR evil.= (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = evil.uuid_eq);
CREATE FUNCTION evil.text_concat(text, text) RETURNS text LANGUAGE sql AS $$ SELECT 'SELECT 1' $$;
CREATE OPERATOR evil.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.text_concat);
CREATE FUNCTION evil.sum(bigint) RETURNS bigint LANGUAGE sql AS $$ SELECT 0::bigint $$;

-- pg_catalog after evil: without pinning, lower() and = would resolve to evil's
SET search_path = evil, pg_catalog, app, public;
SELECT lower('X') AS unpinned_lower_is_hijacked;
SELECT usage_rollup.tick() > 0 AS ticked;
SELECT usage_rollup.resolve_tz('Asia/Kolkata') AS zone, usage_rollup.local_today('UTC') = (pg_catalog.now() AT TIME ZONE 'UTC')::date AS today_ok;
CREATE TEMP TABLE hostile AS
SELECT 'daily' AS report, day::text AS k, provider, model, input_tokens, task_count
FROM usage_rollup.daily_usage(:'w1', '2026-03-01', '2026-03-02', tz => 'Asia/Kolkata')
UNION ALL SELECT 'agent', agent_id::text, provider, model, input_tokens, task_count
FROM usage_rollup.usage_by_agent(:'w1', '2026-03-01', '2026-03-02')
UNION ALL SELECT 'issue', NULL, provider, model, input_tokens, task_count FROM usage_rollup.issue_usage(app.uid('i1'));
SET client_min_messages = warning;
CALL usage_rollup.backfill();
RESET client_min_messages;
SELECT count(*) AS drift FROM usage_rollup.verify('-infinity', 'infinity');
SELECT failing FROM usage_rollup.status;

RESET search_path;
SET search_path = app, public;
SELECT report, k, provider, model, input_tokens, task_count FROM hostile ORDER BY 1, 2, 3, 4;
SELECT count(*) AS differences FROM (
    (SELECT * FROM hostile
     EXCEPT ALL
     (SELECT 'daily', day::text, provider, model, input_tokens, task_count
      FROM usage_rollup.daily_usage(:'w1', '2026-03-01', '2026-03-02', tz => 'Asia/Kolkata')
      UNION ALL SELECT 'agent', agent_id::text, provider, model, input_tokens, task_count
      FROM usage_rollup.usage_by_agent(:'w1', '2026-03-01', '2026-03-02')
      UNION ALL SELECT 'issue', NULL, provider, model, input_tokens, task_count FROM usage_rollup.issue_usage(uid('i1'))))) x;
SELECT bucket_start, provider, input_tokens FROM usage_rollup.rollup ORDER BY 1;

SET client_min_messages = warning;
DROP TABLE hostile;
DROP SCHEMA evil CASCADE;
SELECT usage_rollup.detach();
DROP SCHEMA app CASCADE;
DROP EXTENSION usage_rollup;
