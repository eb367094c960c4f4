-- usage_rollup 0.9.0 -> 0.10.0 (ALTER EXTENSION usage_rollup UPDATE).
--
-- Hot standbys (SPEC §4): reports, status, lag_seconds(), verify() and the time
-- zone helpers no longer assign a transaction id (the library reads without one),
-- so they run on a streaming replica; tick() refuses there at once, before its
-- lock, with an error that says to run it on the primary (the library's
-- attach(), detach(), backfill(), schedule() and unschedule() refuse the same
-- way). No table changes.

CREATE FUNCTION usage_rollup."_require_primary"(
	"function" TEXT
) RETURNS void
STRICT STABLE PARALLEL SAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', '_require_primary_wrapper';

CREATE OR REPLACE FUNCTION usage_rollup.tick() RETURNS bigint
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
