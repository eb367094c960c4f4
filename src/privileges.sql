-- Privileges and comments of the functions defined in Rust (the SQL-defined ones
-- carry theirs beside their definitions). Operations that write the rollup or
-- change the binding are not for PUBLIC: grant them to the operating role.
REVOKE ALL ON FUNCTION usage_rollup.attach(regclass, regclass, regclass, regclass, regclass, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION usage_rollup.detach() FROM PUBLIC;
REVOKE ALL ON FUNCTION usage_rollup.schedule(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION usage_rollup.unschedule() FROM PUBLIC;
REVOKE ALL ON FUNCTION usage_rollup._tick_locked(timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION usage_rollup._attach_task_runs() FROM PUBLIC;
REVOKE ALL ON FUNCTION usage_rollup._seal_keyed() FROM PUBLIC;
REVOKE ALL ON FUNCTION usage_rollup._seal_key_tasks() FROM PUBLIC;
REVOKE ALL ON FUNCTION usage_rollup._verify_sql(timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION usage_rollup.tick() FROM PUBLIC;
REVOKE ALL ON FUNCTION usage_rollup.freeze(timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION usage_rollup.freeze(timestamptz) IS
    'Declare the rollup''s buckets before the 15-minute boundary at or before "before" final (retention may then delete their raw rows); returns the horizon in force.';
REVOKE ALL ON PROCEDURE usage_rollup.backfill(timestamptz, timestamptz, interval) FROM PUBLIC;
-- backfill() calls _backfill_plan/_slice/_finish and, when a slice fails,
-- _record_failure with the caller's rights; they stay callable and check that the
-- session's role may execute backfill() (or tick()) themselves (privileges.rs).

-- Reports expose every workspace's usage: none for PUBLIC. A dashboard role needs
-- EXECUTE on the reports it reads and nothing else (the internal report functions
-- check that grant, see reports/access.rs). The schema itself is open, so that a
-- granted function can be named.
GRANT USAGE ON SCHEMA usage_rollup TO PUBLIC;
-- which tables are attached: a report computed with the caller's rights (under
-- row-level security) renders its query from it
GRANT SELECT ON usage_rollup.binding TO PUBLIC;
REVOKE ALL ON FUNCTION usage_rollup.daily_usage(uuid, date, date, text, uuid, uuid, uuid, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION usage_rollup.usage_by_agent(uuid, date, date, text, uuid, uuid, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION usage_rollup.usage_by_project(uuid, date, date, text, uuid, uuid, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION usage_rollup.usage_by_runtime(uuid, date, date, text, uuid, uuid, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION usage_rollup.usage_summary(uuid, date, date, text, uuid, uuid, uuid, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION usage_rollup.usage_by_hour(uuid, date, date, text, uuid, uuid, uuid, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION usage_rollup.issue_usage(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION usage_rollup.daily_runs(uuid, date, date, text, uuid, uuid, uuid, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION usage_rollup.runs_by_agent(uuid, date, date, text, uuid, uuid, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION usage_rollup.daily_outcomes(uuid, date, date, text, uuid, uuid, uuid, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION usage_rollup.outcomes_by_agent(uuid, date, date, text, uuid, uuid, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION usage_rollup.starts_by_hour(uuid, date, date, text, uuid, uuid, uuid, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION usage_rollup.kpis(uuid, date, date, text, uuid, uuid, uuid, uuid) FROM PUBLIC;

-- A tick recomputes a few scattered buckets: the plan that is linear in their raw
-- rows is nested loops (index range scan on usage.created_at per bucket, then
-- primary-key lookups of task, agent and issue). With a parameter per bucket the
-- planner cannot estimate the range and picks hash joins over whole source tables
-- (measured: 660 ms instead of a few ms for 100 buckets on 1M usage rows). The
-- same misestimate makes JIT compile the statement (200 ms) for a few thousand rows.
-- Backfill recomputes contiguous ranges and keeps the planner's choice.
ALTER FUNCTION usage_rollup._tick_locked(timestamptz)
    SET enable_hashjoin = off SET enable_mergejoin = off SET jit = off;

COMMENT ON FUNCTION usage_rollup.attach(regclass, regclass, regclass, regclass, regclass, boolean) IS
    'Bind usage_rollup to the application''s usage, tasks, agents, issues (and optional users) tables: validate, index, install triggers.';
COMMENT ON FUNCTION usage_rollup.detach() IS
    'Remove everything attach() installed: triggers, created indexes, binding, rollup rows, queue and history.';
COMMENT ON FUNCTION usage_rollup.schedule(text) IS
    'Schedule usage_rollup.tick() as the pg_cron job usage_rollup_tick; returns the job id.';
COMMENT ON FUNCTION usage_rollup.unschedule() IS
    'Remove the pg_cron job usage_rollup_tick; false if there was none.';
COMMENT ON FUNCTION usage_rollup.version() IS
    'Version of the loaded shared library.';
