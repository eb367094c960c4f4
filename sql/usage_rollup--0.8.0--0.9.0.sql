-- usage_rollup 0.8.0 -> 0.9.0 (ALTER EXTENSION usage_rollup UPDATE).
--
-- Faster report tiling (SPEC §6: a 90-day daily report at least 100x faster than
-- raw, in Asia/Kolkata too): where a report's local groups start is found in Rust
-- with PostgreSQL's own zone lookup and pg_localtime (before: three AT TIME ZONE per
-- UTC hour of the range in SQL), and the per-workspace rollup's blocks come as runs
-- (before: a window, a sort and a grouping over the blocks in SQL). No table
-- changes; the reports of the new library use these once they exist.

CREATE FUNCTION usage_rollup."_day_edges"(
	"range_start" timestamp with time zone,
	"range_end" timestamp with time zone,
	"zone" TEXT
) RETURNS timestamp with time zone[]
IMMUTABLE STRICT PARALLEL SAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', '_day_edges_wrapper';

CREATE FUNCTION usage_rollup."_range_edges"(
	"range_start" timestamp with time zone,
	"range_end" timestamp with time zone,
	"zone" TEXT,
	"first_date" date,
	"last_date" date
) RETURNS timestamp with time zone[]
IMMUTABLE STRICT PARALLEL SAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', '_range_edges_wrapper';

CREATE FUNCTION usage_rollup."_ws_runs"(
	"range_start" timestamp with time zone,
	"range_end" timestamp with time zone,
	"edges" timestamp with time zone[],
	"dirty" timestamp with time zone[]
) RETURNS TABLE (
	"width" smallint,
	"group_start" timestamp with time zone,
	"run_start" timestamp with time zone,
	"run_end" timestamp with time zone
)
IMMUTABLE PARALLEL SAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', '_ws_runs_wrapper';
-- (see reports/blocks.rs: a runs' count near a 90-day report's, not the default 1000)
ALTER FUNCTION usage_rollup._ws_runs(timestamptz, timestamptz, timestamptz[], timestamptz[]) ROWS 400;
