-- tiling.sql's edges under the SQL of 0.8.0 and before (tz/edges.rs finds them
-- since 0.9.0): where the group of a bucket start differs from the previous one's,
-- with group_at(x) the group of the instant x.
ws_hour AS MATERIALIZED (
    SELECT h, @group_at(h - '00:15:00'::interval)@ AS before, @group_at(h)@ AS first_quarter,
           @group_at(h + '00:45:00'::interval)@ AS last_quarter
    FROM pg_catalog.generate_series($8, $9 - '01:00:00'::interval, '01:00:00'::interval) h
),
-- where a group starts: at an hour (its previous quarter is in another group), or
-- at a quarter inside an hour whose first and last quarters differ (a third
-- conversion per hour instead of lag() over the hours, whose sort cost more)
ws_edge AS (
    SELECT x.h AS e FROM ws_hour x
    WHERE x.before IS DISTINCT FROM x.first_quarter AND x.h > $8
    UNION ALL
    SELECT x.h + k * '00:15:00'::interval
    FROM ws_hour x, pg_catalog.generate_series(1, 3) k
    WHERE x.first_quarter IS DISTINCT FROM x.last_quarter
      AND @group_at(x.h + k * '00:15:00'::interval)@
          IS DISTINCT FROM @group_at(x.h + (k - 1) * '00:15:00'::interval)@
),
