-- The pg_cron entry point (SPEC §3). Thin on purpose: the lock and the error
-- handling live here because PL/pgSQL's EXCEPTION block is a subtransaction, which
-- is what undoes a failed tick's partial work cleanly.
--
-- Lock: the rollup lock, tried (src/lock.rs: transaction-scoped, so a cancelled,
-- failed or terminated tick can never leak it).
--
-- Failure: the work is rolled back, the error is written by a separate transaction
-- (_record_failure starts a short-lived background worker), then re-raised, so
-- pg_cron's cron.job_run_details shows status 'failed' with the same message while
-- usage_rollup.status keeps last_error (the seeds wrote it inside the transaction
-- the re-raise rolled back, so it was always empty: reference W2).
CREATE FUNCTION usage_rollup.tick() RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_rows bigint;
    v_state text;
    v_message text;
    v_detail text;
BEGIN
    -- on a hot standby: refuse before the lock, and record nothing
    PERFORM usage_rollup._require_primary('tick');
    IF NOT usage_rollup._try_rollup_lock() THEN
        RETURN 0;   -- another tick or a backfill slice is writing the rollup
    END IF;
    BEGIN
        v_rows := usage_rollup._tick_locked(v_started);
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL;
        PERFORM usage_rollup._record_failure('tick', v_started, v_state,
            v_message || CASE WHEN coalesce(v_detail, '') <> '' THEN E'\nDETAIL: ' || v_detail ELSE '' END);
        RAISE;
    END;
    RETURN v_rows;
END
$$;
COMMENT ON FUNCTION usage_rollup.tick() IS
    'Bring the rollup up to date: recompute buckets changed since the watermark and queued invalidations. Returns rollup rows written or deleted; 0 if another tick holds the lock.';
REVOKE ALL ON FUNCTION usage_rollup.tick() FROM PUBLIC;
