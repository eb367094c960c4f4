-- Frozen history (SPEC §3, freeze.rs): the quarter hours of a UTC day as the bits
-- 0 to 95 of a bit(96), for usage_rollup.key_task_frozen.

-- The bit of the quarter hour that holds ts, in its UTC day.
CREATE FUNCTION usage_rollup._quarter(ts timestamptz) RETURNS bit(96)
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
SET search_path = pg_catalog, pg_temp
RETURN pg_catalog.set_bit(pg_catalog.repeat('0', 96)::bit(96),
                          pg_catalog.floor(extract(epoch FROM ts - pg_catalog.date_bin('1 day'::interval, ts,
                                                                                        '2000-01-01 00:00:00+00'::timestamptz))
                                           / 900)::integer, 1);

-- The quarter hours of the UTC day that starts at day that lie in [from_ts, to_ts).
CREATE FUNCTION usage_rollup._quarters(day timestamptz, from_ts timestamptz, to_ts timestamptz) RETURNS bit(96)
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
SET search_path = pg_catalog, pg_temp
RETURN (SELECT coalesce(pg_catalog.bit_or(pg_catalog.set_bit(pg_catalog.repeat('0', 96)::bit(96), q, 1)),
                        pg_catalog.repeat('0', 96)::bit(96))
        FROM pg_catalog.generate_series(0, 95) q
        WHERE day + q * '00:15:00'::interval >= from_ts AND day + q * '00:15:00'::interval < to_ts);

-- The quarter hours of the UTC day that starts at day, before upto, whose local date
-- in zone tz is within [from_date, to_date] (the zone's local days are whole
-- quarter hours: reports/mod.rs, _report_window).
CREATE FUNCTION usage_rollup._quarters_local(day timestamptz, upto timestamptz, tz text, from_date date, to_date date)
RETURNS bit(96)
LANGUAGE sql STABLE PARALLEL SAFE STRICT
SET search_path = pg_catalog, pg_temp
RETURN (SELECT coalesce(pg_catalog.bit_or(pg_catalog.set_bit(pg_catalog.repeat('0', 96)::bit(96), q, 1)),
                        pg_catalog.repeat('0', 96)::bit(96))
        FROM pg_catalog.generate_series(0, 95) q
        WHERE day + q * '00:15:00'::interval < upto
          AND ((day + q * '00:15:00'::interval) AT TIME ZONE tz)::date BETWEEN from_date AND to_date);
