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

-- tick() tries the rollup lock through it; nobody else needs it
REVOKE ALL ON FUNCTION usage_rollup._try_rollup_lock() FROM PUBLIC;
