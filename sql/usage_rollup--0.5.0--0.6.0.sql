-- usage_rollup 0.5.0 -> 0.6.0 (ALTER EXTENSION usage_rollup UPDATE).
--
-- The keyed blocks (SPEC §6: reports grouped by agent, project or runtime at least
-- 20x faster than raw in the sparse profile too): usage_rollup.key_rollup (the
-- rollup per workspace and agent, project or runtime in sealed UTC days, weeks and
-- four weeks), the list of sealed blocks and the queue of blocks to seal; their
-- tiling (_key_blocks). The library's tick and backfill keep them; the update
-- seals every finished day the rollup holds (_seal_keyed, which waits for a
-- running tick).

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

SELECT pg_catalog.pg_extension_config_dump('usage_rollup.key_rollup', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.key_rollup_block', '');
SELECT pg_catalog.pg_extension_config_dump('usage_rollup.key_rollup_stale', '');

CREATE FUNCTION usage_rollup._key_blocks(range_start timestamptz, range_end timestamptz, edges timestamptz[],
                                         dirty timestamptz[], sealed_widths integer[], sealed_starts timestamptz[])
RETURNS TABLE (width integer, bucket_start timestamptz, group_start timestamptz)
IMMUTABLE PARALLEL SAFE SET search_path TO pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', '_key_blocks_wrapper';

CREATE FUNCTION usage_rollup._seal_keyed() RETURNS void
STRICT VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path TO pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', '_seal_keyed_wrapper';
REVOKE ALL ON FUNCTION usage_rollup._seal_keyed() FROM PUBLIC;

-- the keyed blocks waiting to be sealed, in the status view
CREATE OR REPLACE VIEW usage_rollup.status AS
SELECT s.watermark,
       extract(epoch FROM now() - s.last_success_at)::float8            AS lag_seconds,
       (SELECT count(*) FROM usage_rollup.dirty_bucket)                  AS queue_depth,
       s.last_started_at,
       s.last_finished_at,
       s.last_rows,
       s.last_duration_ms,
       s.last_error,
       s.last_error_at,
       s.last_error_sqlstate,
       s.last_success_at,
       -- the most recent run failed (an older error stays visible in last_error)
       (s.last_error_at IS NOT NULL
        AND s.last_error_at >= coalesce(s.last_success_at, '-infinity'::timestamptz)) AS failing,
       -- how far behind the rollup's own data is; reports add the raw tail after it
       extract(epoch FROM now() - s.watermark)::float8                  AS watermark_age_seconds,
       (SELECT min(d.enqueued_at) FROM usage_rollup.dirty_bucket d)      AS queue_oldest_at,
       (SELECT count(*) FROM usage_rollup.binding) = 1                   AS attached,
       -- buckets of task starts and completions changed since the last tick (the
       -- run rollup's queue; reports read them from the tasks table until then)
       (SELECT count(*) FROM usage_rollup.dirty_task_bucket)             AS task_queue_depth,
       -- finished keyed blocks not sealed (again) yet: reports grouped by agent,
       -- project or runtime read them from the 15-minute rollup until a tick does
       (SELECT count(*) FROM usage_rollup.key_rollup_stale k
        WHERE k.bucket_start + k.width * '00:01:00'::interval + '01:00:00'::interval <= now()) AS keyed_backlog
FROM (VALUES (1)) one (id)
LEFT JOIN usage_rollup.tick_state s ON s.id = one.id;

-- the keyed blocks of the days the rollup holds
SELECT usage_rollup._seal_keyed();
