-- usage_rollup 0.2.0 -> 0.3.0 (ALTER EXTENSION usage_rollup UPDATE).
-- Frozen once released; tests/pg_regress/sql/upgrade.sql updates a 0.1.0 install
-- through every step and checks that the result has exactly the objects,
-- definitions, privileges and comments of a fresh install, and that binding,
-- state, rollup and reports survive.
--
-- What changes:
--   * A tick adds the rows it finds in a bucket to the rollup instead of
--     recomputing the bucket, when nothing else in the bucket changed. For that,
--     a correction of a usage row the rollup may hold must queue its bucket: a new
--     statement trigger on the usage table, usage_rollup_usage_correct, does. The
--     shared library appends only while that trigger is in place, so a 0.3.0
--     library under 0.2.0 SQL keeps recomputing.
--   * Recomputes read only the rows stamped before the watermark (0.2.0 read every
--     row of the bucket). Buckets 0.2.0 recomputed may hold rows stamped after the
--     watermark, which a tick would add a second time: they are queued here, and
--     the next tick recomputes them.
--   * tick_state.high_watermark: a tick appends only from the furthest point a
--     tick or backfill has read to (a watermark moved back by hand, or a backfill
--     that read past it, means recomputing until the watermark gets there);
--     tick_run.appended counts the buckets a tick appended to.
--   * backfill() no longer moves the watermark; no SQL change.
--   * usage_rollup.rollup_ws gets six-hour and daily rows (widths 360 and 1440),
--     filled here from the hourly rows; unfiltered usage reports read the largest
--     rows that fit each local day (usage_rollup._ws_blocks).

\echo Use "ALTER EXTENSION usage_rollup UPDATE" to load this file. \quit

CREATE FUNCTION usage_rollup._invalidate_usage_correct() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO usage_rollup.dirty_bucket (bucket_start)
    SELECT DISTINCT usage_rollup.bucket_of(o.created_at) FROM usage_rollup_old o
    WHERE o.created_at IS NOT NULL AND coalesce(o.updated_at, o.created_at) < pg_catalog.now();
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION usage_rollup._invalidate_usage_correct() FROM PUBLIC;

-- NULL: the first tick after the update recomputes what it finds
ALTER TABLE usage_rollup.tick_state ADD COLUMN high_watermark timestamptz;
ALTER TABLE usage_rollup.tick_run ADD COLUMN appended bigint;

DO $$
DECLARE
    v_usage regclass;
    v_watermark timestamptz;
BEGIN
    SELECT b.usage_table INTO v_usage FROM usage_rollup.binding b WHERE b.id = 1;
    IF v_usage IS NULL OR pg_catalog.to_regclass(v_usage::text) IS NULL THEN
        RETURN;   -- not attached (or the usage table is gone: detach() cleans up)
    END IF;
    EXECUTE pg_catalog.format(
        'CREATE OR REPLACE TRIGGER usage_rollup_usage_correct AFTER UPDATE ON %s '
        'REFERENCING OLD TABLE AS usage_rollup_old FOR EACH STATEMENT '
        'EXECUTE FUNCTION usage_rollup._invalidate_usage_correct()', v_usage);
    SELECT s.watermark INTO v_watermark FROM usage_rollup.tick_state s WHERE s.id = 1;
    EXECUTE pg_catalog.format(
        'INSERT INTO usage_rollup.dirty_bucket (bucket_start)
         SELECT DISTINCT usage_rollup.bucket_of(u.created_at) FROM %s u
         WHERE u.created_at > ''-infinity'' AND u.created_at < ''294276-12-31 23:45:00+00''
           AND ($1 IS NULL OR coalesce(u.updated_at, u.created_at) >= $1)', v_usage)
    USING v_watermark;
END
$$;

ALTER TABLE usage_rollup.rollup_ws DROP CONSTRAINT rollup_ws_width_check;
ALTER TABLE usage_rollup.rollup_ws ADD CONSTRAINT rollup_ws_width_check CHECK (width IN (15, 60, 360, 1440));
COMMENT ON TABLE usage_rollup.rollup_ws IS
    'The rollup per workspace, provider and model, in 15-minute, hourly, six-hour and daily UTC blocks: the unfiltered dashboards'' path.';
INSERT INTO usage_rollup.rollup_ws
SELECT 360, pg_catalog.date_bin('06:00:00'::interval, r.bucket_start, '2000-01-01 00:00:00+00'::timestamptz),
       r.workspace_id, r.provider, r.model,
       sum(r.input_tokens), sum(r.output_tokens), sum(r.cache_read_tokens), sum(r.cache_write_tokens),
       sum(r.cost_usd_ticks), sum(r.uncosted_input_tokens), sum(r.uncosted_output_tokens),
       sum(r.uncosted_cache_read_tokens), sum(r.uncosted_cache_write_tokens), sum(r.task_count), sum(r.event_count)
FROM usage_rollup.rollup_ws r WHERE r.width = 60
GROUP BY 2, r.workspace_id, r.provider, r.model;
INSERT INTO usage_rollup.rollup_ws
SELECT 1440, pg_catalog.date_bin('1 day'::interval, r.bucket_start, '2000-01-01 00:00:00+00'::timestamptz),
       r.workspace_id, r.provider, r.model,
       sum(r.input_tokens), sum(r.output_tokens), sum(r.cache_read_tokens), sum(r.cache_write_tokens),
       sum(r.cost_usd_ticks), sum(r.uncosted_input_tokens), sum(r.uncosted_output_tokens),
       sum(r.uncosted_cache_read_tokens), sum(r.uncosted_cache_write_tokens), sum(r.task_count), sum(r.event_count)
FROM usage_rollup.rollup_ws r WHERE r.width = 360
GROUP BY 2, r.workspace_id, r.provider, r.model;

CREATE FUNCTION usage_rollup._ws_blocks(range_start timestamptz, range_end timestamptz, edges timestamptz[],
                                        dirty timestamptz[])
RETURNS TABLE (width smallint, bucket_start timestamptz, group_start timestamptz)
IMMUTABLE PARALLEL SAFE SET search_path TO pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', '_ws_blocks_wrapper';
