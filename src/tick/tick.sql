-- The pg_cron entry point (SPEC §3). Thin on purpose: the lock and the error
-- handling live here because PL/pgSQL's EXCEPTION block is a subtransaction, which
-- is what undoes a failed tick's partial work cleanly.
--
-- Lock: transaction-scoped, so a cancelled, failed or terminated tick can never
-- leak it (the seeds' session lock did, and every later tick returned 0 forever).
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
    IF NOT pg_try_advisory_xact_lock(4246, 1) THEN
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

-- Latest time a window may end at: before clock_timestamp() - lag, and before the
-- start of any transaction in this database that is still open, the caller's own
-- included, because such a transaction can
-- still commit usage rows stamped with its start time (updated_at DEFAULT now()).
-- The seeds relied on a 5-minute lag alone, which a longer transaction defeats
-- (reference W11). Prepared transactions do not show their start, so their
-- prepare time minus the lag stands in for it.
-- pg_stat_activity is a per-transaction snapshot taken at its first read, so it is
-- cleared first: a second tick in the same transaction must see transactions that
-- began after the first one (found by the isolation spec tick_snapshot).
-- SECURITY DEFINER: other roles' xact_start is only visible to privileged roles.
CREATE FUNCTION usage_rollup._safe_upper_bound(lag interval) RETURNS timestamptz
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM pg_stat_clear_snapshot();
    RETURN least(
        clock_timestamp() - lag,
        -- the caller's own transaction may go on writing rows stamped now()
        now(),
        (SELECT min(s.xact_start) FROM pg_stat_activity s
         WHERE s.datname = current_database() AND s.pid <> pg_backend_pid() AND s.xact_start IS NOT NULL
           AND s.backend_type NOT IN ('autovacuum launcher', 'autovacuum worker', 'walsender', 'walreceiver',
                                      'walwriter', 'checkpointer', 'background writer', 'startup', 'archiver')),
        (SELECT min(p.prepared) - lag FROM pg_prepared_xacts p WHERE p.database = current_database()));
END
$$;
REVOKE ALL ON FUNCTION usage_rollup._safe_upper_bound(interval) FROM PUBLIC;
