//! Reports (SPEC §4): the shared window (argument checks, viewer zone, the UTC range
//! of the local days) and the rendering of the usage reports. The report functions
//! themselves are thin PL/pgSQL in reports.sql, with the exact §8 signatures; whose
//! rights they read with is decided in access.rs.

mod access;
mod blocks;
mod frozen;

use crate::binding::Binding;
use crate::catalog;
use crate::errors::Error;
use crate::read;
use crate::tz;
use pgrx::datum::Date;
use pgrx::prelude::*;

pgrx::extension_sql_file!(
    "reports.sql",
    name = "reports_sql",
    requires = [
        _report_window,
        _usage_report_sql,
        _usage_query_sql,
        _issue_usage_sql,
        _task_report_sql,
        _task_query_sql,
        access::_read_mode,
        access::_check_report_access,
        "tick_sql"
    ]
);

const USAGE: &str = include_str!("usage.sql");

/// usage.sql's per_bucket over the rollup's cells: sums per bucket and group key.
const PER_BUCKET_SUM: &str = "    SELECT @bucket_key@ AS bucket_start, @key@ AS k, provider, model, @sum_usage(cells)@
    FROM cells
    GROUP BY 1, 2, 3, 4";
/// usage.sql's per_bucket when the cells are summed per bucket already.
const PER_BUCKET_AS_IS: &str = "    SELECT bucket_start, NULL::uuid AS k, provider, model, input_tokens, output_tokens,
           cache_read_tokens, cache_write_tokens, cost_usd_ticks, uncosted_input_tokens, uncosted_output_tokens,
           uncosted_cache_read_tokens, uncosted_cache_write_tokens, task_count
    FROM cells";
/// For reports grouped by a key (or nothing) only the buckets near the ends of the
/// range need their local date: every bucket from UTC midnight of from_date + 1 to
/// UTC midnight of to_date has a local date in the range under any offset within
/// +-24 hours, so they are summed as one pseudo-bucket (the first of them) instead
/// of one group per bucket (measured: 400k rollup rows of a sparse workspace became
/// 400k groups, sorted on disk, slower than the raw rows).
const INTERIOR_AS_ONE: &str = "CASE WHEN bucket_start >= (($2 + 1)::timestamp AT TIME ZONE 'UTC')
                 AND bucket_start < ($3::timestamp AT TIME ZONE 'UTC')
                THEN ($2 + 1)::timestamp AT TIME ZONE 'UTC' ELSE bucket_start END";
const CELLS_FULL: &str = include_str!("cells_full.sql");
const CELLS_WS: &str = include_str!("cells_ws.sql");
const TILING: &str = include_str!("tiling.sql");
const TILING_EDGES: &str = include_str!("tiling_edges.sql");
const TILING_RUNS: &str = include_str!("tiling_runs.sql");
const CELLS_KEY: &str = include_str!("cells_key.sql");
/// _key_blocks' further arguments (tiling.sql's @sealed@): the sealed blocks near
/// the range in `blocks` (a relation of width, bucket_start), as two arrays in one
/// order. (Arithmetic on the blocks, not on $8: a range may start at the first
/// timestamp.)
fn sealed(blocks: &str) -> String {
    let near =
        format!("FROM {blocks} k WHERE k.bucket_start < $9 AND k.bucket_start + k.width * '00:01:00'::interval > $8");
    format!(
        ",
        (SELECT pg_catalog.array_agg(k.width ORDER BY k.width, k.bucket_start) {near}),
        (SELECT pg_catalog.array_agg(k.bucket_start ORDER BY k.width, k.bucket_start) {near})"
    )
}
/// The sealed keyed blocks (days, weeks, four weeks), the sealed task days and (0.8.0)
/// task hours.
const KEYED_BLOCKS: &str = "usage_rollup.key_rollup_block";
macro_rules! sealed_task_days {
    () => {
        "SELECT 1440 AS width, d.bucket_start FROM usage_rollup.key_task_block d"
    };
}
const TASK_DAYS: &str = concat!("(", sealed_task_days!(), ")");
const TASK_BLOCKS: &str = concat!(
    "(",
    sealed_task_days!(),
    "\n          UNION ALL SELECT 60, h.bucket_start FROM usage_rollup.key_task_hour_block h)"
);
/// The task hours' tables as empty relations, for the SQL of 0.7.0.
const NO_TASK_HOURS: &str =
    "(SELECT NULL::uuid AS task_id, NULL::timestamptz AS bucket_start, NULL::uuid AS workspace_id,
          NULL::boolean AS single, NULL::bigint AS single_tasks WHERE false)";
const KPI_TASKS_KEYED: &str = include_str!("kpi_tasks_keyed.sql");
const TASKS: &str = include_str!("tasks.sql");
const DIRTY: &str = include_str!("dirty.sql");
const DIRTY_TASKS: &str = include_str!("dirty_tasks.sql");
const TASKS_TILED: &str = include_str!("tasks_tiled.sql");
const TASKS_STARTS: &str = include_str!("tasks_starts.sql");
const CELLS_WS_HOUR: &str = include_str!("cells_ws_hour.sql");
const RAW_USAGE: &str = include_str!("raw_usage.sql");
const ISSUE_USAGE: &str = include_str!("issue_usage.sql");
const RUNS: &str = include_str!("runs.sql");
const OUTCOMES: &str = include_str!("outcomes.sql");
const STARTS: &str = include_str!("starts.sql");
const KPI_TASKS: &str = include_str!("kpi_tasks.sql");

/// The usage rows of a report from the raw tables (§4.1 U, workspace, local dates
/// and filters; parameters as in usage.sql): shared by raw_usage.sql and kpi_tasks.sql.
const REPORT_USAGE_ROWS: &str = "FROM @usage@ u
JOIN @tasks@ t ON t.id = u.task_id
JOIN @agents@ a ON a.id = t.agent_id
LEFT JOIN @issues@ i ON i.id = t.issue_id
WHERE a.workspace_id = $1 AND u.created_at >= $8 AND u.created_at < $9
  AND (u.created_at AT TIME ZONE $4)::date BETWEEN $2 AND $3
  @task_filters@";

/// The local dates a report may ask for: the window adds a day either side, and
/// local days reach +-16 hours from UTC, all within PostgreSQL's timestamps.
const FIRST_REPORT_DATE: &str = "4714-11-26 BC";
const LAST_REPORT_DATE: &str = "294276-12-28";

/// Longest report span (SPEC §8: "a span over 3660 days" is an error).
const MAX_SPAN_DAYS: i32 = 3660;

/// Check a report's common arguments and resolve its window: the zone, a UTC range
/// of whole buckets that contains every local day of [from_date, to_date] (a day
/// either side: local mean time reached +-15:56, beyond any present-day offset; found
/// by the differential test reports_all_zones), and whether every local midnight
/// in the range falls on a bucket edge (false for historical local mean time).
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn _report_window(
    report: &str,
    workspace_id: Option<pgrx::Uuid>,
    from_date: Option<Date>,
    to_date: Option<Date>,
    tz: Option<&str>,
    viewer_id: Option<pgrx::Uuid>,
) -> TableIterator<
    'static,
    (
        name!(zone, String),
        name!(range_start, TimestampWithTimeZone),
        name!(range_end, TimestampWithTimeZone),
        name!(aligned, bool),
    ),
> {
    let function = report;
    if workspace_id.is_none() {
        Error::NullArgument { function: function.into(), argument: "workspace_id" }.raise();
    }
    let from =
        from_date.unwrap_or_else(|| Error::NullArgument { function: function.into(), argument: "from_date" }.raise());
    let to = to_date.unwrap_or_else(|| Error::NullArgument { function: function.into(), argument: "to_date" }.raise());
    // infinite dates first (they cannot be subtracted), the window's bounds last
    for (argument, date) in [("from_date", from), ("to_date", to)] {
        if date.is_infinity() || date.is_neg_infinity() {
            Error::DateOutOfRange {
                argument,
                value: date.to_string(),
                first: FIRST_REPORT_DATE,
                last: LAST_REPORT_DATE,
            }
            .raise();
        }
    }
    let (days, valid): (Option<i32>, Option<bool>) =
        read::two("SELECT $2 - $1 + 1, $1 <= $2", &[from.into(), to.into()], "check the dates");
    if valid != Some(true) {
        Error::InvalidRange { what: "date range", from: from.to_string(), to: to.to_string() }.raise();
    }
    let days = days.unwrap_or(0);
    if days > MAX_SPAN_DAYS {
        Error::SpanTooLong { from: from.to_string(), to: to.to_string(), days, max: MAX_SPAN_DAYS }.raise();
    }
    for (argument, date) in [("from_date", from), ("to_date", to)] {
        let inside: Option<bool> = read::one(
            "SELECT $1 BETWEEN $2::date AND $3::date",
            &[date.into(), FIRST_REPORT_DATE.into(), LAST_REPORT_DATE.into()],
            "check the dates",
        );
        if inside != Some(true) {
            Error::DateOutOfRange {
                argument,
                value: date.to_string(),
                first: FIRST_REPORT_DATE,
                last: LAST_REPORT_DATE,
            }
            .raise();
        }
    }
    let zone = tz::resolve(tz, viewer_id);
    let (start, end, aligned): (Option<TimestampWithTimeZone>, Option<TimestampWithTimeZone>, Option<bool>) =
        read::three(
            "SELECT ($1::timestamp AT TIME ZONE 'UTC') - interval '1 day',
                    (($2 + 1)::timestamp AT TIME ZONE 'UTC') + interval '1 day',
                    (SELECT bool_and(extract(epoch FROM (d AT TIME ZONE $3))::numeric % 900 = 0)
                     FROM generate_series($1::timestamp, ($2 + 1)::timestamp, interval '1 day') d)",
            &[from.into(), to.into(), zone.clone().into()],
            "compute the report window",
        );
    let (Some(start), Some(end)) = (start, end) else {
        pgrx::error!("usage_rollup could not compute the report window of {from} .. {to}")
    };
    TableIterator::once((zone, start, end, aligned.unwrap_or(false)))
}

/// The usage report query for a grouping, against the current binding. From the
/// rollup (plus the raw rows of buckets it has not caught up with), or with
/// `exact_raw` from the raw rows alone.
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn _usage_report_sql(grouping: &str, exact_raw: bool) -> String {
    let binding = Binding::require("a usage report");
    // the group key over the rollup's bucket columns, over a raw row, and (for the
    // per-bucket sums) the key column kept per bucket and the key from local time
    let (group, rowgroup, key, local_group) = match grouping {
        "day" => (
            "(bucket_start AT TIME ZONE $4)::date",
            "(u.created_at AT TIME ZONE $4)::date",
            "NULL::uuid",
            "l.local_ts::date",
        ),
        "hour" => (
            "extract(hour FROM bucket_start AT TIME ZONE $4)::integer",
            "extract(hour FROM u.created_at AT TIME ZONE $4)::integer",
            "NULL::uuid",
            "extract(hour FROM l.local_ts)::integer",
        ),
        "agent" => ("agent_id", "t.agent_id", "agent_id", "p.k"),
        "project" => ("project_id", "i.project_id", "project_id", "p.k"),
        "runtime" => ("runtime_id", "t.runtime_id", "runtime_id", "p.k"),
        _ => ("NULL::integer", "NULL::integer", "NULL::uuid", "NULL::integer"),
    };
    if exact_raw {
        binding.render(&RAW_USAGE.replace("@report_usage_rows@", REPORT_USAGE_ROWS).replace("@rowgroup@", rowgroup))
    } else {
        let bucket_key = if matches!(grouping, "day" | "hour") { "bucket_start" } else { INTERIOR_AS_ONE };
        rollup_usage_sql(CELLS_FULL, bucket_key, group, key, local_group)
    }
}

/// The usage report query to run: from the raw rows alone (`exact_raw`), from the
/// per-workspace rollup when no agent, project or runtime filter is set and the
/// grouping allows, from the keyed blocks when grouped by agent, project or runtime
/// with no other filter, else from the rollup. Parameters as in usage.sql.
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn _usage_query_sql(group_by: &str, exact_raw: bool, unfiltered: bool) -> String {
    // (the per-workspace path needs the SQL of 0.3.0: see recompute::coarse_widths)
    if !exact_raw && unfiltered && matches!(group_by, "day" | "hour" | "none") && catalog::has(catalog::Sql::V0_3) {
        usage_ws_sql(group_by)
    } else if !exact_raw
        && unfiltered
        && matches!(group_by, "agent" | "project" | "runtime")
        && catalog::has(catalog::Sql::V0_6)
    {
        usage_key_sql(group_by)
    } else {
        _usage_report_sql(group_by, exact_raw)
    }
}

/// The usage report query from the per-workspace rollup (usage_rollup.rollup_ws).
fn usage_ws_sql(group_by: &str) -> String {
    let binding = Binding::require("a usage report");
    let cells_ws = |groups: Groups| {
        let tiled = match groups.edges() {
            Some(edges) => TILING_RUNS.replace("@edges@", edges),
            None => tiling("_ws_blocks", "", groups),
        };
        expand_group_at(&format!("{tiled}{CELLS_WS}"), groups.group_at())
    };
    let (group, local_group, cells, per_bucket) = match group_by {
        "day" => ("(bucket_start AT TIME ZONE $4)::date", "l.local_ts::date", cells_ws(Groups::Days), PER_BUCKET_SUM),
        // one range scan of one width, already summed per local hour of day
        "hour" => (
            "extract(hour FROM bucket_start AT TIME ZONE $4)::integer",
            "extract(hour FROM l.local_ts)::integer",
            CELLS_WS_HOUR.to_string(),
            PER_BUCKET_AS_IS,
        ),
        // the range's ends split hours like local midnights do
        "none" => ("NULL::integer", "NULL::integer", cells_ws(Groups::Days), PER_BUCKET_SUM),
        other => pgrx::error!("usage_rollup: no per-workspace usage report is grouped by \"{other}\""),
    };
    binding.render(
        &usage_template()
            .replace("@rollup_cells@", &cells)
            .replace("@per_bucket@", per_bucket)
            .replace("@bucket_key@", "bucket_start")
            .replace("@raw_key_columns@", "NULL::uuid, NULL::uuid, NULL::uuid")
            .replace("@raw_group_by@", "bucket_start, provider, model")
            .replace("@local_group@", local_group)
            .replace("@group@", group)
            .replace("@key@", "NULL::uuid"),
    )
}

/// How a tiling's groups are told apart: by local date, or by whether the local
/// date is before, inside or after the report's days (IN_RANGE).
#[derive(Clone, Copy)]
enum Groups {
    Days,
    Range,
}

impl Groups {
    /// Where a group starts, from tz/edges.rs (the SQL of 0.9.0); None under older
    /// SQL, where tiling.sql finds them with tiling_edges.sql's CTEs.
    fn edges(self) -> Option<&'static str> {
        match (catalog::has(catalog::Sql::V0_9), self) {
            (true, Groups::Days) => Some("usage_rollup._day_edges($8, $9, $4)"),
            (true, Groups::Range) => Some("usage_rollup._range_edges($8, $9, $4, $2, $3)"),
            (false, _) => None,
        }
    }

    /// The group of an instant @x@ in SQL (@group_at(x)@ of the templates).
    fn group_at(self) -> &'static str {
        match self {
            Groups::Days => LOCAL_DATE,
            Groups::Range => IN_RANGE,
        }
    }
}

/// The local date of an instant @x@.
const LOCAL_DATE: &str = "(@x@ AT TIME ZONE $4)::date";

/// tiling.sql by a blocks function of blocks.rs, with its further arguments
/// (`sealed`: sealed() for _key_blocks, none for the others), after the CTEs that
/// find its edges under older SQL. @group_at(x)@ is left for the caller.
fn tiling(blocks: &str, sealed: &str, groups: Groups) -> String {
    let (legacy, edges) = match groups.edges() {
        Some(edges) => ("", edges),
        None => (TILING_EDGES, "(SELECT pg_catalog.array_agg(e.e) FROM ws_edge e)"),
    };
    format!("{legacy}{}", TILING.replace("@blocks@", blocks).replace("@sealed@", sealed).replace("@edges@", edges))
}

/// The usage report query grouped by agent, project or runtime with no other filter,
/// from the sealed keyed blocks (usage_rollup.key_rollup) and the rollup.
fn usage_key_sql(group_by: &str) -> String {
    let (dim, column) = match group_by {
        "agent" => ("a", "agent_id"),
        "project" => ("p", "project_id"),
        "runtime" => ("r", "runtime_id"),
        other => pgrx::error!("usage_rollup: no keyed usage report is grouped by \"{other}\""),
    };
    let key_columns = ["agent_id", "project_id", "runtime_id"]
        .map(|c| if c == column { format!("r.key AS {c}") } else { format!("NULL::uuid AS {c}") })
        .join(", ");
    let cells = expand_group_at(
        &format!(
            "{}{}",
            tiling("_key_blocks", &sealed(KEYED_BLOCKS), Groups::Range),
            CELLS_KEY.replace("@key_columns@", &key_columns).replace("@dim@", dim).replace("@key_column@", column)
        ),
        IN_RANGE,
    );
    rollup_usage_sql(&cells, "bucket_start", column, column, "p.k")
}

/// usage.sql over rollup cells that carry every key column, grouped by `group`.
fn rollup_usage_sql(cells: &str, bucket_key: &str, group: &str, key: &str, local_group: &str) -> String {
    Binding::require("a usage report").render(
        &usage_template()
            .replace("@rollup_cells@", cells)
            .replace("@per_bucket@", PER_BUCKET_SUM)
            .replace("@bucket_key@", bucket_key)
            .replace("@raw_key_columns@", "agent_id, project_id, runtime_id")
            .replace("@raw_group_by@", "bucket_start, workspace_id, runtime_id, agent_id, project_id, provider, model")
            .replace("@local_group@", local_group)
            .replace("@group@", group)
            .replace("@key@", key),
    )
}

/// usage.sql with the watermark and the frozen horizon as literals.
fn usage_template() -> String {
    let visible = frozen::visible();
    let (candidates, rows) = frozen::variants(visible);
    with_state(
        &USAGE
            .replace("@dirty@", DIRTY)
            .replace("@frozen_candidates@", &candidates)
            .replace("@frozen_candidate_rows@", &rows),
        visible,
    )
}

/// A report's text with @watermark@ and @frozen@ (the frozen horizon, -infinity
/// when nothing is frozen) as SQL literals, read in the snapshot of the statement
/// that runs the report: this function is called from the report's PL/pgSQL, which
/// is STABLE and so runs the report query in that same snapshot. (pgrx's Spi takes
/// a new snapshot once the transaction has written anything; a newer watermark
/// than the report's snapshot sees would leave rows of a tick that committed in
/// between out of both the rollup and the raw tail.) `frozen_visible`: frozen::visible().
fn with_state(sql: &str, frozen_visible: bool) -> String {
    if !(sql.contains("@watermark@") || frozen_visible && sql.contains("@frozen@")) {
        // (nothing to read: a report from the raw rows alone)
        return sql.replace("@frozen@", crate::catalog::horizon::NONE);
    }
    let (watermark, frozen) = state_literals(frozen_visible);
    sql.replace("@watermark@", &watermark).replace("@frozen@", &frozen)
}

fn state_literals(frozen_visible: bool) -> (String, String) {
    // a timestamptz as a literal that reads back the same in any session
    const LITERAL: &str = "pg_catalog.quote_literal(CASE WHEN @v@ IS NULL OR NOT pg_catalog.isfinite(@v@)
                THEN coalesce(@v@::text, '-infinity')
                ELSE pg_catalog.to_char(@v@ AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' END)
                || '::timestamptz'";
    let query = format!(
        "SELECT {}, {} FROM (SELECT (SELECT t.watermark FROM usage_rollup.tick_state t WHERE t.id = 1) AS w,
                                    {} AS f) s",
        LITERAL.replace("@v@", "s.w"),
        LITERAL.replace("@v@", "s.f"),
        if frozen_visible { crate::catalog::horizon::column() } else { "NULL::timestamptz" }
    );
    let query = std::ffi::CString::new(query).expect("no NUL in the query");
    // SAFETY: a balanced SPI_connect/SPI_finish around one read-only SELECT; an
    // error raised inside unwinds through pgrx's guard and aborts the (sub)transaction,
    // which closes the connection.
    unsafe {
        if pg_sys::SPI_connect() != pg_sys::SPI_OK_CONNECT as i32 {
            pgrx::error!("usage_rollup could not connect to SPI to read the watermark");
        }
        // read_only = true: the active snapshot, never a new one
        let rc = pg_sys::SPI_execute(query.as_ptr(), true, 1);
        if rc != pg_sys::SPI_OK_SELECT as i32 || pg_sys::SPI_processed != 1 || pg_sys::SPI_tuptable.is_null() {
            pg_sys::SPI_finish();
            pgrx::error!("usage_rollup could not read the watermark (SPI code {rc})");
        }
        let table = *pg_sys::SPI_tuptable;
        let column = |n: i32| {
            let value = pg_sys::SPI_getvalue(*table.vals, table.tupdesc, n);
            if value.is_null() {
                "'-infinity'::timestamptz".to_string()
            } else {
                std::ffi::CStr::from_ptr(value).to_string_lossy().into_owned()
            }
        };
        let literals = (column(1), column(2));
        pg_sys::SPI_finish();
        literals
    }
}

/// Replace every @group_at(x)@ of a template by the group expression of x.
fn expand_group_at(template: &str, group_at: &str) -> String {
    crate::template::expand(template, "group_at", |x| group_at.replace("@x@", &format!("({x})")))
}

/// The issue_usage() query ($1 = issue id), after checking the argument.
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn _issue_usage_sql(issue_id: Option<pgrx::Uuid>) -> String {
    if issue_id.is_none() {
        Error::NullArgument { function: "issue_usage".into(), argument: "issue_id" }.raise();
    }
    Binding::require("issue_usage()").render(ISSUE_USAGE)
}

/// The run, outcome and start reports and the kpis' task count, from the tasks
/// table (and the usage rows for the task count). `grouping`: day (local date of
/// completed_at), agent, or none. Parameters as in usage.sql.
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn _task_report_sql(kind: &str, grouping: &str) -> String {
    let binding = Binding::require("a report");
    let rowgroup = match grouping {
        "day" => "(t.completed_at AT TIME ZONE $4)::date",
        "agent" => "t.agent_id",
        _ => "NULL::integer",
    };
    let template = match kind {
        "runs" => RUNS,
        "outcomes" => OUTCOMES,
        "starts" => STARTS,
        _ => KPI_TASKS,
    };
    let visible = frozen::visible();
    let template = crate::template::expand(template, "task_rows", |x| frozen::task_rows(x, visible))
        .replace("@task_row_filters@", &frozen::task_row_filters());
    let sql =
        binding.render(&template.replace("@report_usage_rows@", REPORT_USAGE_ROWS).replace("@rowgroup@", rowgroup));
    with_state(&sql.replace("@frozen_tasks@", &frozen::fragment(frozen::FROZEN_TASKS, visible)), visible)
}

/// kpis' task count from the sealed task days and hours (usage_rollup.key_task,
/// key_task_hour) and the raw rows of the rest of the range (kpi_tasks_keyed.sql).
fn kpi_tasks_keyed_sql() -> String {
    let (blocks, hours, hour_counts) = if crate::keyed::tasks::hours_installed() {
        (TASK_BLOCKS, "usage_rollup.key_task_hour", "usage_rollup.key_task_hour_count")
    } else {
        (TASK_DAYS, NO_TASK_HOURS, NO_TASK_HOURS)
    };
    let visible = frozen::visible();
    let keyed = KPI_TASKS_KEYED
        .replace("@key_task_hour@", hours)
        .replace("@key_task_hour_count@", hour_counts)
        .replace("@frozen_rest@", &frozen::fragment(frozen::FROZEN_REST, visible));
    let sql = format!("WITH\n{}{}{}", DIRTY, tiling("_key_blocks", &sealed(blocks), Groups::Range), keyed);
    with_state(&Binding::require("a report").render(&expand_group_at(&sql, IN_RANGE)), visible)
}

/// For reports over the range as a whole: the group of an instant is before (-1),
/// inside (0) or after (1) the local days of the range.
const IN_RANGE: &str =
    "CASE WHEN (@x@ AT TIME ZONE $4)::date < $2 THEN -1 WHEN (@x@ AT TIME ZONE $4)::date > $3 THEN 1 ELSE 0 END";

/// The run, outcome and start report query to run: from the run rollup (tasks.sql,
/// tasks_starts.sql) when `from_rollup` (no agent, project or runtime filter, a zone
/// whose local days are whole buckets, the rollup read mode), else from the raw
/// tables (_task_report_sql; kpis' task count always). Parameters as in usage.sql.
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn _task_query_sql(kind: &str, grouping: &str, from_rollup: bool) -> String {
    if from_rollup && kind == "kpi_tasks" && crate::keyed::tasks::installed() {
        return kpi_tasks_keyed_sql();
    }
    if !from_rollup || !matches!(kind, "runs" | "outcomes" | "starts") {
        return _task_report_sql(kind, grouping);
    }
    let binding = Binding::require("a report");
    let visible = frozen::visible();
    let queued = |template: &str| {
        with_state(
            &template.replace("@dirty_tasks@", DIRTY_TASKS).replace("@cells@", &crate::runs::cells_of_buckets()),
            visible,
        )
    };
    if kind == "starts" {
        return binding.render(&queued(TASKS_STARTS));
    }
    let (measures, group_by) = if kind == "runs" {
        (
            "coalesce(sum(p.run_seconds), 0)::numeric AS run_seconds, sum(p.runs)::bigint AS runs,
       coalesce(sum(p.runs) FILTER (WHERE p.status = 'completed'), 0)::bigint AS completed,
       coalesce(sum(p.runs) FILTER (WHERE p.status = 'failed'), 0)::bigint AS failed,
       coalesce(sum(p.runs) FILTER (WHERE p.status = 'cancelled'), 0)::bigint AS cancelled",
            // a group of terminal tasks none of which started is not a group of runs
            "GROUP BY 1 HAVING sum(p.runs) > 0 ORDER BY 1 NULLS LAST",
        )
    } else {
        (
            "p.status, p.failure_reason, sum(p.tasks)::bigint AS tasks",
            "GROUP BY 1, 2, 3 ORDER BY 1 NULLS LAST, 2 NULLS LAST, 3 NULLS LAST",
        )
    };
    let tiled = |blocks: &str, groups: Groups| {
        expand_group_at(&format!("{}{}", tiling(blocks, "", groups), TASKS_TILED), groups.group_at())
    };
    let (rolled, local_group, key, level) = match grouping {
        "day" => (tiled("_task_blocks", Groups::Days), "l.local_ts::date", "NULL::uuid", "IS NULL"),
        "agent" => (tiled("_task_agent_blocks", Groups::Range), "p.k", "x.agent_id", "IS NOT NULL"),
        _ => (tiled("_task_blocks", Groups::Range), "NULL::integer", "NULL::uuid", "IS NULL"),
    };
    binding.render(
        &queued(TASKS)
            .replace("@rolled@", &rolled)
            .replace("@measures@", measures)
            .replace("@group_by@", group_by)
            .replace("@local_group@", local_group)
            .replace("@key@", key)
            .replace("@level@", level),
    )
}
