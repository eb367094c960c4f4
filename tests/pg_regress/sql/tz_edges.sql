-- Where report groups start (src/tz/edges.rs): usage_rollup._day_edges and
-- _range_edges equal the edges found in SQL quarter by quarter with AT TIME ZONE
-- (how §4.1 slices local days), for every zone the server knows across the 2026
-- DST changes of both hemispheres, for zones and years with odd changes (a skipped
-- day, fall-backs that repeat or return across midnight, local mean time), and
-- for names AT TIME ZONE reads as abbreviations (a fixed offset for CET).
\set SHOW_CONTEXT never
\ir ../fixtures/fresh.sql

CREATE TEMP TABLE edge_case (zone text, from_date date, to_date date);
INSERT INTO edge_case
SELECT z.name, d.f, d.t
FROM pg_catalog.pg_timezone_names z,
     (VALUES ('2026-03-01'::date, '2026-04-15'::date), ('2026-09-25', '2026-11-10')) d (f, t);
INSERT INTO edge_case VALUES
    ('Pacific/Apia', '2011-12-20', '2012-01-10'),       -- 2011-12-30 skipped
    ('America/Havana', '2025-10-20', '2025-11-10'),     -- 01:00 back to 00:00
    ('America/Asuncion', '2024-03-15', '2024-04-05'),   -- 00:00 back to 23:00
    ('America/Santiago', '2025-03-30', '2025-04-15'),   -- 24:00 back to 23:00
    ('Asia/Kolkata', '1941-09-20', '1942-09-10'),       -- +05:53:20 to +06:30
    ('Europe/Amsterdam', '1937-06-20', '1937-07-10'),   -- +00:19:32 to +00:20
    ('Australia/Lord_Howe', '2026-03-25', '2026-04-15'),
    ('CET', '2026-03-20', '2026-04-10'), ('EET', '2026-10-15', '2026-11-05'),
    ('UTC', '2026-01-01', '2026-02-01'), ('GMT', '2026-01-01', '2026-01-20');

-- per case: the UTC range of a report over [from_date, to_date] (a day either
-- side, as _report_window) and its quarters q with the local date of q and of the
-- quarter before; the range's groups are before, inside or after the dates a week
-- in from either end
CREATE TEMP TABLE edge_check AS
SELECT c.zone, c.from_date, k.*
FROM edge_case c
CROSS JOIN LATERAL (
    WITH r AS (SELECT (c.from_date - 1)::timestamp AT TIME ZONE 'UTC' AS s,
                      (c.to_date + 2)::timestamp AT TIME ZONE 'UTC' AS e,
                      c.from_date + 7 AS first, c.to_date - 7 AS last),
    quarter AS (
        SELECT q, d, lag(d) OVER (ORDER BY q) AS d0
        FROM r, LATERAL (SELECT q, (q AT TIME ZONE c.zone)::date AS d
                         FROM pg_catalog.generate_series(r.s - interval '15 minutes', r.e - interval '15 minutes',
                                                         interval '15 minutes') q) x
    ),
    place AS (SELECT q.q, q.d, q.d0,
                     CASE WHEN q.d < r.first THEN -1 WHEN q.d > r.last THEN 1 ELSE 0 END AS p,
                     CASE WHEN q.d0 < r.first THEN -1 WHEN q.d0 > r.last THEN 1 ELSE 0 END AS p0
              FROM quarter q, r WHERE q.q > r.s),
    day_sql AS (SELECT q FROM place WHERE d <> d0),
    range_sql AS (SELECT q FROM place WHERE p <> p0),
    day_rust AS (SELECT pg_catalog.unnest(usage_rollup._day_edges(r.s, r.e, c.zone)) AS q FROM r),
    range_rust AS (SELECT pg_catalog.unnest(usage_rollup._range_edges(r.s, r.e, c.zone, r.first, r.last)) AS q FROM r)
    SELECT (SELECT count(*) FROM day_sql) AS day_edges,
           (SELECT count(*) FROM range_sql) AS range_edges,
           (SELECT count(*) FROM ((TABLE day_sql EXCEPT ALL TABLE day_rust)
                                  UNION ALL (TABLE day_rust EXCEPT ALL TABLE day_sql)) x) AS day_mismatches,
           (SELECT count(*) FROM ((TABLE range_sql EXCEPT ALL TABLE range_rust)
                                  UNION ALL (TABLE range_rust EXCEPT ALL TABLE range_sql)) x) AS range_mismatches
) k;

-- every case checked; local dates change about once a day and the range's place
-- twice; no edge differs
SELECT count(*) > 1000 AS all_zones, bool_and(day_edges >= to_date - from_date) AS days_seen,
       bool_and(range_edges = 2) AS range_edges_seen,
       sum(day_mismatches) AS day_mismatches, sum(range_mismatches) AS range_mismatches
FROM edge_check JOIN edge_case USING (zone, from_date);
SELECT zone, from_date, day_edges, range_edges, day_mismatches, range_mismatches
FROM edge_check WHERE day_mismatches + range_mismatches > 0 OR range_edges <> 2 ORDER BY 1, 2 LIMIT 10;

-- the odd cases, readable: Kolkata's local days start at 18:30 UTC, Apia skips a
-- date (one edge, no day of 2011-12-30), Asuncion's fall-back leaves midnight once
SET timezone = 'UTC';
SELECT e FROM pg_catalog.unnest(usage_rollup._day_edges('2026-03-01', '2026-03-03', 'Asia/Kolkata')) e;
SELECT e, (e AT TIME ZONE 'Pacific/Apia')::date AS local_date
FROM pg_catalog.unnest(usage_rollup._day_edges('2011-12-29', '2011-12-31 12:00', 'Pacific/Apia')) e;
SELECT e, e AT TIME ZONE 'America/Asuncion' AS local_time
FROM pg_catalog.unnest(usage_rollup._day_edges('2024-03-23', '2024-03-25', 'America/Asuncion')) e;
-- the range's place: before from_date, inside, after to_date (Kathmandu, +05:45)
SELECT e FROM pg_catalog.unnest(usage_rollup._range_edges('2026-03-01', '2026-03-10', 'Asia/Kathmandu',
                                                          '2026-03-03', '2026-03-05')) e;
-- a range with no group change; a bound off the 15-minute grid is an error
SELECT usage_rollup._day_edges('2026-03-01 00:00', '2026-03-01 12:00', 'UTC') AS none;
SELECT usage_rollup._day_edges('2026-03-01 00:05', '2026-03-02', 'UTC');
