-- usage_rollup catalog: the binding to the application's tables, the UTC rollup,
-- the invalidation queue and the tick's durable state.
--
-- Every table is registered with pg_extension_config_dump so that pg_dump carries
-- the binding, the state and the rollup itself (a restored database must not need
-- a multi-hour backfill before its dashboards work again).

-- The attached source tables (SPEC §2). One row at most. regclass columns follow
-- renames and are dumped schema-qualified by pg_dump.
CREATE TABLE usage_rollup.binding (
    id               smallint    PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    usage_table      regclass    NOT NULL,
    tasks_table      regclass    NOT NULL,
    agents_table     regclass    NOT NULL,
    issues_table     regclass    NOT NULL,
    users_table      regclass,
    -- optional columns of the contract, detected at attach time
    has_cost         boolean     NOT NULL,
    has_failure_reason boolean   NOT NULL,
    -- supporting indexes attach created on the source tables (detach drops exactly these)
    created_indexes  text[]      NOT NULL DEFAULT '{}',
    attached_at      timestamptz NOT NULL DEFAULT now(),
    attached_by      name        NOT NULL DEFAULT current_user
);
COMMENT ON TABLE usage_rollup.binding IS
    'The application tables usage_rollup is attached to (one row; written by attach(), removed by detach()).';

-- The UTC rollup (SPEC §3). 15-minute buckets: every present-day UTC offset and DST
-- shift is a multiple of 15 minutes, so any IANA zone's local day is a whole number
-- of buckets (hourly buckets put up to 45 minutes of a Kolkata or Kathmandu day on
-- the wrong date: seeds W1).
CREATE TABLE usage_rollup.rollup (
    bucket_start                 timestamptz NOT NULL,
    workspace_id                 uuid,
    runtime_id                   uuid,       -- NULL: task never bound or runtime unbound (seeds W5)
    agent_id                     uuid        NOT NULL,
    project_id                   uuid,       -- NULL: no issue, or issue without project
    provider                     text,       -- lower-cased so mixed-case history merges
    model                        text,
    input_tokens                 bigint,     -- sum(); NULL only if every raw value is NULL
    output_tokens                bigint,
    cache_read_tokens            bigint,
    cache_write_tokens           bigint,
    cost_usd_ticks               bigint      NOT NULL,
    uncosted_input_tokens        bigint      NOT NULL,
    uncosted_output_tokens       bigint      NOT NULL,
    uncosted_cache_read_tokens   bigint      NOT NULL,
    uncosted_cache_write_tokens  bigint      NOT NULL,
    task_count                   bigint      NOT NULL,
    event_count                  bigint      NOT NULL,
    CONSTRAINT rollup_key UNIQUE NULLS NOT DISTINCT
        (bucket_start, workspace_id, runtime_id, agent_id, project_id, provider, model)
);
CREATE INDEX rollup_workspace_time ON usage_rollup.rollup (workspace_id, bucket_start);
CREATE INDEX rollup_runtime_time ON usage_rollup.rollup (runtime_id, bucket_start);
CREATE INDEX rollup_workspace_agent_time ON usage_rollup.rollup (workspace_id, agent_id, bucket_start);
CREATE INDEX rollup_workspace_project_time ON usage_rollup.rollup (workspace_id, project_id, bucket_start);
COMMENT ON TABLE usage_rollup.rollup IS
    'UTC 15-minute rollup of the attached usage table; a cache of the raw rows, maintained by tick() and backfill().';

-- The per-workspace rollup (SPEC §6: dashboards that do not filter by agent, project
-- or runtime): the rollup summed over runtime, agent and project, in 15-minute
-- buckets (width 15) and in UTC blocks of an hour, six hours and a day (widths 60,
-- 360, 1440, each the sums of the rows of the width below; task_count too, which
-- reports correct for multi-bucket tasks from raw rows as they do for the rollup).
-- Where every agent has its own key, the rollup barely compresses the raw rows;
-- this table has a row per workspace, block, provider and model, and a report reads
-- the largest blocks that fit its local days (reports/blocks.rs). Written from the
-- rollup by the same statements' transaction that writes it, so it is exactly as
-- fresh.
CREATE TABLE usage_rollup.rollup_ws (
    width                        smallint    NOT NULL CHECK (width IN (15, 60, 360, 1440)),
    bucket_start                 timestamptz NOT NULL,
    workspace_id                 uuid,
    provider                     text,
    model                        text,
    input_tokens                 bigint,
    output_tokens                bigint,
    cache_read_tokens            bigint,
    cache_write_tokens           bigint,
    cost_usd_ticks               bigint      NOT NULL,
    uncosted_input_tokens        bigint      NOT NULL,
    uncosted_output_tokens       bigint      NOT NULL,
    uncosted_cache_read_tokens   bigint      NOT NULL,
    uncosted_cache_write_tokens  bigint      NOT NULL,
    task_count                   bigint      NOT NULL,
    event_count                  bigint      NOT NULL,
    CONSTRAINT rollup_ws_key UNIQUE NULLS NOT DISTINCT (width, bucket_start, workspace_id, provider, model)
);
-- Covering: unfiltered reports read a workspace's rows by index only (a sparse
-- Kolkata 90-day report reads 13k rows scattered over 4k heap pages otherwise).
CREATE INDEX rollup_ws_workspace_time ON usage_rollup.rollup_ws (workspace_id, width, bucket_start)
    INCLUDE (provider, model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd_ticks,
             uncosted_input_tokens, uncosted_output_tokens, uncosted_cache_read_tokens, uncosted_cache_write_tokens,
             task_count);
COMMENT ON TABLE usage_rollup.rollup_ws IS
    'The rollup per workspace, provider and model, in 15-minute, hourly, six-hour and daily UTC blocks: the unfiltered dashboards'' path.';

-- Invalidation queue. Append-only on purpose: enqueuers never update an existing
-- row, so they never wait on each other or on a tick, and a tick drains exactly the
-- rows it read (by id), so an invalidation committed while a tick runs survives it
-- (the seeds' ON CONFLICT queue could lose one: reference W11).
CREATE TABLE usage_rollup.dirty_bucket (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bucket_start timestamptz NOT NULL,
    enqueued_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE usage_rollup.dirty_bucket IS
    'Buckets whose raw rows changed in ways the updated_at watermark cannot see (deletes, re-attributions); drained by tick().';

-- Usage rows corrected in place (SPEC §6: a tick after corrections costs what was
-- corrected, not the buckets they lie in): the version each UPDATE replaced, as the
-- rollup may hold it. Append-only like dirty_bucket, for the same reason. A tick
-- subtracts every such version stamped before its watermark (the rollup holds it)
-- and adds the rows stamped in its window, the new versions among them
-- (recompute/append.sql); a bucket it recomputes instead drops its rows here in
-- the same statement (replace.sql).
CREATE TABLE usage_rollup.dirty_delta (
    id                 bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bucket_start       timestamptz NOT NULL,
    task_id            uuid,
    provider           text,
    model              text,
    -- the old version's updated_at (else created_at)
    stamped_at         timestamptz NOT NULL,
    input_tokens       bigint,
    output_tokens      bigint,
    cache_read_tokens  bigint,
    cache_write_tokens bigint,
    cost_usd_ticks     bigint,
    enqueued_at        timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE usage_rollup.dirty_delta IS
    'Old versions of corrected usage rows, for tick() to subtract from the rollup.';

-- (task, lower(provider), model) that have two or more raw rows: the same provider
-- in two letter cases. Each such row is its own (bucket, key) cell in the rollup,
-- so summing task_count across buckets would count the task more than once;
-- reports subtract that from the raw rows of these few tasks (SPEC §4: task counts
-- are exact). A superset is harmless (the correction is computed from raw rows), so
-- entries are added when ticks or backfill see them and dropped when a tick finds
-- the task no longer has the pair.
CREATE TABLE usage_rollup.variant (
    task_id  uuid NOT NULL,
    provider text,
    model    text,
    CONSTRAINT variant_key UNIQUE NULLS NOT DISTINCT (task_id, provider, model)
);
COMMENT ON TABLE usage_rollup.variant IS
    'Tasks with the same provider in two letter cases for one model (for exact task counts in reports).';

-- One row: the watermark and the last run. Failures are written by a separate
-- transaction (see tick/record_failure) so they survive the failed tick (seeds W2).
-- The row is created by attach(), not by this script: pg_dump restores config
-- table rows after CREATE EXTENSION, and a row inserted here would collide.
CREATE TABLE usage_rollup.tick_state (
    id                   smallint    PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    watermark            timestamptz,
    last_started_at      timestamptz,
    last_finished_at     timestamptz,
    last_success_at      timestamptz,
    last_rows            bigint,
    last_duration_ms     double precision,
    last_error           text,
    last_error_sqlstate  text,
    last_error_at        timestamptz,
    -- the furthest stamp a tick or backfill has read rows to. Below it the rollup
    -- may hold rows stamped after the watermark (a backfill read them, or someone
    -- moved the watermark back), so a tick appends new rows only from there on
    -- (see recompute/append.sql)
    high_watermark       timestamptz,
    -- the frozen horizon (SPEC §3, freeze()): the buckets before it are final
    frozen_before        timestamptz,
    -- invalidations of frozen buckets that ticks dropped (see freeze.rs)
    frozen_changes_ignored bigint    NOT NULL DEFAULT 0
);
COMMENT ON TABLE usage_rollup.tick_state IS
    'Watermark of the rollup and the outcome of the last tick (one row).';

-- One row per tick (including those that found nothing to do) and per backfill slice,
-- succeeded or failed, like cron.job_run_details.
CREATE TABLE usage_rollup.tick_run (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind          text        NOT NULL CHECK (kind IN ('tick', 'backfill')),
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz NOT NULL,
    status        text        NOT NULL CHECK (status IN ('succeeded', 'failed')),
    window_from   timestamptz,
    window_to     timestamptz,
    buckets       bigint,
    raw_rows      bigint,
    rows_written  bigint,
    duration_ms   double precision,
    sqlstate      text,
    error         text,
    appended      bigint      -- of the buckets, those whose new rows a tick appended
);
CREATE INDEX tick_run_started_at ON usage_rollup.tick_run (started_at);
COMMENT ON TABLE usage_rollup.tick_run IS
    'History of ticks and backfill slices (kept for usage_rollup.queue_retention).';

-- The run rollup (SPEC §6: "the run and outcome reports need their own
-- pre-aggregation"): terminal tasks by the 15-minute UTC bucket of completed_at
-- (kind 'c': status, failure reason, run count and run time), per workspace and
-- per agent, and every started task by the bucket of started_at (kind 's', per
-- workspace). Per workspace
-- (agent_id NULL) the unfiltered dashboards read a row per bucket, status and
-- reason instead of one per agent. Widths as in rollup_ws plus a week (10080,
-- aligned like the others at 2000-01-01, a Saturday), for the per-agent reports
-- (whose rows are kept in weeks, days and 15 minutes only) and 90-day ranges;
-- which kind is kept in which width: runs/mod.rs, WIDTHS. Runtime and project are
-- not keys: a report filtered by them (or by agent) reads the tasks table. Kept
-- exact by the tick from the queue below; built whole by attach().
CREATE TABLE usage_rollup.task_rollup (
    workspace_id     uuid,
    kind             "char"      NOT NULL CHECK (kind IN ('c', 's')),
    width            smallint    NOT NULL CHECK (width IN (15, 60, 360, 1440, 10080)),
    bucket_start     timestamptz NOT NULL,
    agent_id         uuid,       -- NULL: every agent of the workspace
    status           text,       -- kind 'c' only
    failure_reason   text,       -- failed only: NULL or empty reads 'unclassified'
    tasks            bigint      NOT NULL,   -- 'c': terminal tasks with completed_at; 's': started tasks
    runs             bigint      NOT NULL,   -- kind 'c': of those, the ones that started
    run_seconds      numeric     NOT NULL,   -- their completed_at - started_at, exact
    -- (leads with the bucket: a tick recomputes a bucket of every workspace)
    CONSTRAINT task_rollup_key UNIQUE NULLS NOT DISTINCT
        (width, bucket_start, kind, workspace_id, agent_id, status, failure_reason)
);
-- Reports read by index only: the per-workspace rows, and (per-agent reports) the
-- agent rows of a workspace. An agent filter reads the tasks table by agent_id.
CREATE INDEX task_rollup_workspace ON usage_rollup.task_rollup (workspace_id, kind, width, bucket_start)
    INCLUDE (status, failure_reason, tasks, runs, run_seconds) WHERE agent_id IS NULL;
CREATE INDEX task_rollup_workspace_agent ON usage_rollup.task_rollup (workspace_id, kind, width, bucket_start)
    INCLUDE (agent_id, status, failure_reason, tasks, runs, run_seconds) WHERE agent_id IS NOT NULL;
COMMENT ON TABLE usage_rollup.task_rollup IS
    'Task outcomes, runs and starts per workspace (and agent) in 15-minute to weekly UTC blocks: the run and outcome reports'' path.';

-- Buckets (of started_at or completed_at) whose tasks changed since the last tick.
-- Append-only like dirty_bucket, for the same reason; every change to a task the
-- run rollup counts queues its buckets here (triggers.sql), so reports read these
-- buckets from the tasks table and every other one from the run rollup.
CREATE TABLE usage_rollup.dirty_task_bucket (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bucket_start timestamptz NOT NULL,
    enqueued_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE usage_rollup.dirty_task_bucket IS
    'Buckets of task starts and completions changed since the last tick; drained by tick().';

-- The keyed blocks (SPEC §6, reports grouped by agent, project or runtime): the
-- rollup summed per workspace, one key (dim 'a' agent, 'p' project, 'r' runtime),
-- provider and model over whole UTC days, weeks and four weeks (widths 1440,
-- 10080, 40320, aligned at 2000-01-01 like rollup_ws). In the sparse profile the
-- rollup holds about as many rows as the raw table, so a 90-day report grouped by
-- agent read 1.2M rows; these blocks are one row per key and model per block.
-- Unlike rollup_ws they are not written with the rollup: a block is built from the
-- rollup once it is finished ("sealed", keyed/seal.sql) and listed in
-- key_rollup_block; any later write of the rollup inside it takes it off that list
-- in the same transaction, and reports use listed blocks only (the rest of the
-- range from the rollup's 15-minute rows). So the tick's steady appends to the
-- current day never touch this table.
CREATE TABLE usage_rollup.key_rollup (
    width                        integer     NOT NULL CHECK (width IN (1440, 10080, 40320)),
    bucket_start                 timestamptz NOT NULL,
    workspace_id                 uuid,
    dim                          "char"      NOT NULL CHECK (dim IN ('a', 'p', 'r')),
    key                          uuid,       -- the agent, project or runtime (NULL: no project / runtime)
    provider                     text,
    model                        text,
    input_tokens                 bigint,
    output_tokens                bigint,
    cache_read_tokens            bigint,
    cache_write_tokens           bigint,
    cost_usd_ticks               bigint      NOT NULL,
    uncosted_input_tokens        bigint      NOT NULL,
    uncosted_output_tokens       bigint      NOT NULL,
    uncosted_cache_read_tokens   bigint      NOT NULL,
    uncosted_cache_write_tokens  bigint      NOT NULL,
    task_count                   bigint      NOT NULL,
    event_count                  bigint      NOT NULL,
    -- (leads with the workspace: a report reads one workspace's blocks of one width)
    CONSTRAINT key_rollup_key UNIQUE NULLS NOT DISTINCT (workspace_id, dim, width, bucket_start, key, provider, model)
);
-- (a block is rebuilt for every workspace at once)
CREATE INDEX key_rollup_block_rows ON usage_rollup.key_rollup (width, bucket_start);
COMMENT ON TABLE usage_rollup.key_rollup IS
    'The rollup per workspace and agent, project or runtime in sealed UTC days, weeks and four weeks: the path of reports grouped by one of them.';

-- The blocks of key_rollup that equal the rollup's sums over them (sealed).
CREATE TABLE usage_rollup.key_rollup_block (
    width        integer     NOT NULL CHECK (width IN (1440, 10080, 40320)),
    bucket_start timestamptz NOT NULL,
    sealed_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (width, bucket_start)
);
COMMENT ON TABLE usage_rollup.key_rollup_block IS
    'Sealed blocks of key_rollup: reports read these and the rollup''s 15-minute rows for the rest.';

-- Blocks whose rollup rows changed since they were sealed (or that never were): a
-- day, with its week and four weeks. The tick seals one per run (the newest
-- finished day, else the newest week or four weeks whose parts are all sealed),
-- a backfill all it can.
CREATE TABLE usage_rollup.key_rollup_stale (
    width        integer     NOT NULL CHECK (width IN (1440, 10080, 40320)),
    bucket_start timestamptz NOT NULL,
    PRIMARY KEY (width, bucket_start)
);
COMMENT ON TABLE usage_rollup.key_rollup_stale IS
    'Keyed blocks to seal (again): tick() seals one each run, backfill all it can.';

-- The keyed task days (SPEC §6, kpis' distinct task count over a period): per
-- sealed UTC day, the tasks with a usage row in it, per workspace. A task whose
-- rows all lay in that day when it was sealed is "single": single tasks are
-- counted per day (key_task_day) and summed over the sealed days of a range, the
-- others (and the raw rows of the rest of the range) are counted distinct, less
-- those single in one of the summed days. Sealed from the raw rows, listed in
-- key_task_block; any recompute of a bucket inside a day (changed or not: moving a
-- row between two tasks can leave the rollup as it was) takes it off the list in
-- the same transaction. Only the holder of the rollup lock writes these tables.
CREATE TABLE usage_rollup.key_task (
    task_id      uuid        NOT NULL,
    bucket_start timestamptz NOT NULL,   -- the UTC day
    workspace_id uuid        NOT NULL,
    single       boolean     NOT NULL,   -- all of the task's rows were in this day
    -- (a report looks up tasks by id: covering, an index-only scan)
    PRIMARY KEY (task_id, bucket_start) INCLUDE (workspace_id, single)
);
-- (a day is rebuilt for every workspace at once)
CREATE INDEX key_task_rows ON usage_rollup.key_task (bucket_start);
-- (a report reads a workspace's tasks of several days; single ones only by task)
CREATE INDEX key_task_spanning ON usage_rollup.key_task (workspace_id, bucket_start) WHERE NOT single;
COMMENT ON TABLE usage_rollup.key_task IS
    'Tasks with usage per sealed UTC day and workspace (single: all their rows in that day): kpis'' task count.';

-- The number of single tasks per sealed day and workspace.
CREATE TABLE usage_rollup.key_task_day (
    workspace_id uuid        NOT NULL,
    bucket_start timestamptz NOT NULL,
    single_tasks bigint      NOT NULL,
    PRIMARY KEY (workspace_id, bucket_start)
);
COMMENT ON TABLE usage_rollup.key_task_day IS
    'Single tasks (all rows in the day) per sealed UTC day and workspace.';

-- The days whose key_task rows are the raw rows' tasks (sealed).
CREATE TABLE usage_rollup.key_task_block (
    bucket_start timestamptz PRIMARY KEY,
    sealed_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE usage_rollup.key_task_block IS
    'Sealed days of key_task: kpis reads these and the raw rows for the rest of its range.';

-- Days whose buckets were recomputed since they were sealed (or never were).
CREATE TABLE usage_rollup.key_task_stale (
    bucket_start timestamptz PRIMARY KEY
);
COMMENT ON TABLE usage_rollup.key_task_stale IS
    'Keyed task days to seal (again): tick() seals one each run, backfill all it can.';

-- The same per hour, for the hours of a UTC day that is not sealed yet (the current
-- day, and the previous one until its seal): without them kpis read the current
-- day's raw rows, up to a whole day of them late in a UTC day (~20x instead of ~40x
-- in the sparse benchmark). "single" is relative to the hour. A day's hours are
-- removed when the day is sealed; only the holder of the rollup lock writes these.
CREATE TABLE usage_rollup.key_task_hour (
    task_id      uuid        NOT NULL,
    bucket_start timestamptz NOT NULL,   -- the UTC hour
    workspace_id uuid        NOT NULL,
    single       boolean     NOT NULL,   -- all of the task's rows were in this hour
    PRIMARY KEY (task_id, bucket_start) INCLUDE (workspace_id, single)
);
CREATE INDEX key_task_hour_rows ON usage_rollup.key_task_hour (bucket_start);
CREATE INDEX key_task_hour_spanning ON usage_rollup.key_task_hour (workspace_id, bucket_start) WHERE NOT single;
COMMENT ON TABLE usage_rollup.key_task_hour IS
    'Tasks with usage per sealed UTC hour of a day not sealed yet, and workspace (single: all their rows in that hour): kpis'' task count.';

CREATE TABLE usage_rollup.key_task_hour_count (
    workspace_id uuid        NOT NULL,
    bucket_start timestamptz NOT NULL,
    single_tasks bigint      NOT NULL,
    PRIMARY KEY (workspace_id, bucket_start)
);
COMMENT ON TABLE usage_rollup.key_task_hour_count IS
    'Single tasks (all rows in the hour) per sealed UTC hour and workspace.';

-- The hours whose key_task_hour rows are the raw rows' tasks (sealed). No queue: the
-- hours to seal are the finished ones of the queued days of the last two UTC days.
CREATE TABLE usage_rollup.key_task_hour_block (
    bucket_start timestamptz PRIMARY KEY,
    sealed_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE usage_rollup.key_task_hour_block IS
    'Sealed hours of key_task_hour: kpis reads these, the sealed days and the raw rows for the rest of its range.';

-- The tasks of the frozen history (SPEC §3, freeze.rs): per UTC day, each task with a
-- usage row before the horizon in that day, the quarter hours (15-minute buckets,
-- bits 0 to 95) they lay in, and the task's workspace, agent, runtime and project
-- then. Written from the raw rows as the horizon moves over them, never changed
-- after: kpis' task count reads these instead of the raw rows before the horizon
-- (which retention may delete), and sealing a task day takes them in.
CREATE TABLE usage_rollup.key_task_frozen (
    task_id      uuid        NOT NULL,
    bucket_start timestamptz NOT NULL,   -- the UTC day
    workspace_id uuid        NOT NULL,
    agent_id     uuid        NOT NULL,
    runtime_id   uuid,
    project_id   uuid,
    quarters     bit(96)     NOT NULL,
    PRIMARY KEY (task_id, bucket_start)
);
-- (a report reads a workspace's tasks of some days, a seal a day's tasks)
CREATE INDEX key_task_frozen_days ON usage_rollup.key_task_frozen (bucket_start, workspace_id);
COMMENT ON TABLE usage_rollup.key_task_frozen IS
    'Tasks with usage before the frozen horizon, per UTC day and the quarter hours they had rows in: kpis'' task count over frozen history.';

-- The tasks of the frozen history (SPEC §3, freeze.rs): each task that had started
-- or completed before the horizon, as it was when the horizon moved over it, with
-- its workspace and project then. Run, outcome and start reports with a filter read
-- the tasks table from the horizon on and these before it, so that retention may
-- delete old tasks too (the reports without a filter read the run rollup, which
-- the horizon freezes as well).
CREATE TABLE usage_rollup.task_frozen (
    task_id        uuid        PRIMARY KEY,
    workspace_id   uuid,
    agent_id       uuid        NOT NULL,
    runtime_id     uuid,
    project_id     uuid,
    status         text,
    failure_reason text,
    started_at     timestamptz,
    completed_at   timestamptz
);
CREATE INDEX task_frozen_completed ON usage_rollup.task_frozen (workspace_id, completed_at);
CREATE INDEX task_frozen_started ON usage_rollup.task_frozen (workspace_id, started_at);
COMMENT ON TABLE usage_rollup.task_frozen IS
    'Tasks started or completed before the frozen horizon, as they were then: filtered run, outcome and start reports over frozen history.';

-- The buckets before the frozen horizon of the tasks in usage_rollup.variant (a
-- provider in two letter cases), with their keys then (freeze.rs): reports correct
-- their task counts from these instead of the raw rows retention may delete.
CREATE TABLE usage_rollup.variant_frozen (
    task_id      uuid        NOT NULL,
    provider     text,
    model        text,
    bucket_start timestamptz NOT NULL,
    workspace_id uuid,
    agent_id     uuid        NOT NULL,
    runtime_id   uuid,
    project_id   uuid,
    CONSTRAINT variant_frozen_key UNIQUE NULLS NOT DISTINCT (task_id, provider, model, bucket_start)
);
COMMENT ON TABLE usage_rollup.variant_frozen IS
    'Buckets before the frozen horizon of tasks with a provider in two letter cases: exact task counts over frozen history.';

SELECT pg_catalog.pg_extension_config_dump('usage_rollup.binding', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.rollup', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.rollup_ws', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.dirty_bucket', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.tick_state', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.tick_run', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.variant', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.task_rollup', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.dirty_task_bucket', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.key_rollup', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.key_rollup_block', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.key_rollup_stale', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.key_task', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.key_task_day', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.key_task_block', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.key_task_stale', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.key_task_hour', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.key_task_hour_count', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.key_task_hour_block', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.key_task_frozen', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.task_frozen', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.variant_frozen', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.dirty_delta', '');
-- identity sequences too, or restored ids collide with new ones
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.dirty_bucket_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.tick_run_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.dirty_task_bucket_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.dirty_delta_id_seq', '');

-- The bucket of a timestamp. date_bin works on absolute time, so the result does not
-- depend on the session TimeZone (a bare date_trunc would: reference §3).
CREATE FUNCTION usage_rollup.bucket_of(ts timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
SET search_path = pg_catalog, pg_temp
RETURN pg_catalog.date_bin('15 minutes'::interval, ts, '2000-01-01 00:00:00+00'::timestamptz);
COMMENT ON FUNCTION usage_rollup.bucket_of(timestamptz) IS
    'Start of the 15-minute UTC rollup bucket containing ts.';
