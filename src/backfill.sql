-- CALL usage_rollup.backfill(from_ts, to_ts, slice): rebuild history slice by slice,
-- committing after each slice, with NOTICE progress (SPEC §3).
--
-- A procedure, not a function, so it can COMMIT per slice: an interrupted backfill
-- keeps the slices it finished, and each slice holds the rollup lock only briefly,
-- so ticks keep running between slices (a tick that meets a slice returns 0).
-- PostgreSQL forbids transaction control in SECURITY DEFINER procedures and in
-- procedures with a SET clause, so this one pins search_path itself after every
-- COMMIT and leaves the privileged work to usage_rollup._backfill_slice().
CREATE PROCEDURE usage_rollup.backfill(from_ts timestamptz DEFAULT NULL, to_ts timestamptz DEFAULT NULL,
                                       slice interval DEFAULT '1 day')
LANGUAGE plpgsql AS $$
DECLARE
    p record;
    k integer;
    v_rows bigint := 0;
    v_started timestamptz;
    v_state text;
    v_message text;
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    SELECT * INTO p FROM usage_rollup._backfill_plan(from_ts, to_ts, slice);
    v_started := pg_catalog.clock_timestamp();
    FOR k IN 1 .. p.slices LOOP
        BEGIN
            v_rows := usage_rollup._backfill_slice(k, p.slices, p.range_from, p.range_to, p.slice_width,
                                                   v_started, v_rows);
        EXCEPTION WHEN OTHERS OR query_canceled THEN
            GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT;
            PERFORM usage_rollup._record_failure('backfill', v_started, v_state, v_message);
            RAISE;
        END;
        COMMIT;
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    END LOOP;
    PERFORM usage_rollup._backfill_finish(p.full_history, p.bound, p.slices, v_started, v_rows);
END
$$;
COMMENT ON PROCEDURE usage_rollup.backfill(timestamptz, timestamptz, interval) IS
    'Rebuild the rollup for usage created in [from_ts, to_ts) (default: all history), one committed slice at a time, with NOTICE progress.';
REVOKE ALL ON PROCEDURE usage_rollup.backfill(timestamptz, timestamptz, interval) FROM PUBLIC;
