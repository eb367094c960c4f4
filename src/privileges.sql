-- Privileges and comments of the functions defined in Rust (the SQL-defined ones
-- carry theirs beside their definitions). Operations that write the rollup or
-- change the binding are not for PUBLIC: grant them to the operating role.
REVOKE ALL ON FUNCTION usage_rollup.attach(regclass, regclass, regclass, regclass, regclass, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION usage_rollup.detach() FROM PUBLIC;
REVOKE ALL ON FUNCTION usage_rollup.schedule(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION usage_rollup.unschedule() FROM PUBLIC;
REVOKE ALL ON FUNCTION usage_rollup._tick_locked(timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION usage_rollup._record_failure(text, timestamptz, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION usage_rollup._backfill_plan(timestamptz, timestamptz, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION usage_rollup._backfill_slice(integer, integer, timestamptz, timestamptz, interval, timestamptz, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION usage_rollup._backfill_finish(boolean, timestamptz, integer, timestamptz, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION usage_rollup._verify_sql(timestamptz, timestamptz) FROM PUBLIC;
-- the report helpers stay callable: reports run with the caller's privileges

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
