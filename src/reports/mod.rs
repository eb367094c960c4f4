//! Reports (SPEC §4): the shared window (argument checks, viewer zone, the UTC range
//! of the local days), the tiling of a range by sealed blocks and the report state
//! (watermark, frozen horizon) every family shares; the usage reports in usage.rs,
//! the task reports in tasks.rs. The report functions
//! themselves are thin PL/pgSQL in reports.sql, with the exact §8 signatures; whose
//! rights they read with is decided in access.rs.

mod access;
mod blocks;
mod frozen;
mod tasks;
mod usage;

use crate::catalog;
use crate::errors::Error;
use crate::read;
use crate::sql;
use crate::tz;
use pgrx::datum::Date;
use pgrx::prelude::*;

pgrx::extension_sql_file!(
    "reports.sql",
    name = "reports_sql",
    requires = [
        _report_window,
        usage::_usage_report_sql,
        usage::_usage_query_sql,
        usage::_issue_usage_sql,
        tasks::_task_report_sql,
        tasks::_task_query_sql,
        access::_read_mode,
        access::_check_report_access,
        "tick_sql"
    ]
);

/// _key_blocks' further arguments (tiling.sql's sealed placeholder): the sealed blocks near
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
    let out_of_range = |argument: &'static str, date: Date| -> ! {
        Error::DateOutOfRange { argument, value: date.to_string(), first: FIRST_REPORT_DATE, last: LAST_REPORT_DATE }
            .raise()
    };
    // infinite dates first (they cannot be subtracted), the window's bounds last
    for (argument, date) in [("from_date", from), ("to_date", to)] {
        if date.is_infinity() || date.is_neg_infinity() {
            out_of_range(argument, date);
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
            out_of_range(argument, date);
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

    /// The group of an instant `x` in SQL (the templates' group_at): its local date,
    /// or whether that is before (-1), inside (0) or after (1) the report's days.
    fn group_at(self, x: &str) -> String {
        match self {
            Groups::Days => format!("(({x}) AT TIME ZONE $4)::date"),
            Groups::Range => format!(
                "CASE WHEN (({x}) AT TIME ZONE $4)::date < $2 THEN -1 WHEN (({x}) AT TIME ZONE $4)::date > $3 THEN 1 \
                 ELSE 0 END"
            ),
        }
    }
}

/// tiling.sql by a blocks function of blocks.rs, with its further arguments
/// (`sealed`: sealed() for _key_blocks, none for the others), after the CTEs that
/// find its edges under older SQL (tiling_edges.sql).
fn tiling(blocks: &str, sealed: &str, groups: Groups) -> String {
    let group_at = |x: &str| groups.group_at(x);
    let (legacy, edges) = match groups.edges() {
        Some(edges) => (String::new(), edges),
        None => (
            sql::reports::TilingEdges { group_at: &group_at }.render(),
            "(SELECT pg_catalog.array_agg(e.e) FROM ws_edge e)",
        ),
    };
    legacy + &sql::reports::Tiling { blocks, sealed, edges }.render()
}

/// What a report reads besides its tables, as SQL literals: the watermark and the
/// frozen horizon (-infinity when nothing is frozen, or when the report does not see
/// frozen history), read in the snapshot of the statement that runs the report: the
/// query builders are called from the report's PL/pgSQL, which is STABLE and so
/// runs the report query in that same snapshot. (pgrx's Spi takes a new snapshot
/// once the transaction has written anything; a newer watermark than the report's
/// snapshot sees would leave rows of a tick that committed in between out of both
/// the rollup and the raw tail.)
struct State {
    watermark: String,
    frozen: String,
    /// Whether the report sees frozen history (frozen::visible()).
    visible: bool,
}

impl State {
    /// Read for a report from the rollup (and for any report that sees frozen history).
    fn read() -> State {
        State::read_for(frozen::visible())
    }

    fn read_for(visible: bool) -> State {
        let (watermark, frozen) = state_literals(visible);
        State { watermark, frozen, visible }
    }

    /// A report from the raw rows alone: reads nothing, frozen history included
    /// only when it is visible (then it is read).
    fn raw() -> State {
        let visible = frozen::visible();
        if visible {
            return State::read_for(true);
        }
        let none = crate::catalog::horizon::NONE.to_string();
        State { watermark: none.clone(), frozen: none, visible }
    }
}

fn state_literals(frozen_visible: bool) -> (String, String) {
    // a timestamptz as a literal that reads back the same in any session
    let literal = |v: &str| {
        format!(
            "pg_catalog.quote_literal(CASE WHEN {v} IS NULL OR NOT pg_catalog.isfinite({v})
                THEN coalesce({v}::text, '-infinity')
                ELSE pg_catalog.to_char({v} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' END)
                || '::timestamptz'"
        )
    };
    let query = format!(
        "SELECT {}, {} FROM (SELECT (SELECT t.watermark FROM usage_rollup.tick_state t WHERE t.id = 1) AS w,
                                    {} AS f) s",
        literal("s.w"),
        literal("s.f"),
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

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    /// Every query a report can build, rendered against the reference schema and
    /// planned by PostgreSQL: each usage grouping from the raw rows, the rollup, the
    /// per-workspace rollup and the keyed blocks; each task report kind and grouping
    /// from the raw tables and the run rollup; kpis' task count both ways;
    /// issue_usage. A template that renders to SQL PostgreSQL refuses fails here, on
    /// every path, not only on those the SQL tests happen to take.
    #[pg_test]
    fn every_report_query_renders_and_plans() {
        Spi::run(include_str!("../../tests/fixtures/reference_schema.sql")).unwrap();
        Spi::run("SET client_min_messages = warning").unwrap();
        Spi::run(
            "SELECT usage_rollup.attach(usage => 'app.task_usage', tasks => 'app.agent_task_queue',
                                        agents => 'app.agent', issues => 'app.issue')",
        )
        .unwrap();
        // some history, frozen in part, so that every store and record has rows
        Spi::run(
            "INSERT INTO app.workspace (id, name) VALUES ('00000000-0000-0000-0000-000000000001', 'w');
             INSERT INTO app.agent (id, workspace_id) VALUES
                 ('00000000-0000-0000-0000-000000000002', '00000000-0000-0000-0000-000000000001');
             INSERT INTO app.agent_task_queue (id, agent_id, status, started_at, completed_at) VALUES
                 ('00000000-0000-0000-0000-000000000003', '00000000-0000-0000-0000-000000000002', 'completed',
                  '2026-03-02 10:00+00', '2026-03-02 11:00+00');
             INSERT INTO app.task_usage (task_id, provider, model, input_tokens, created_at) VALUES
                 ('00000000-0000-0000-0000-000000000003', 'Claude', 'opus', 5, '2026-03-02 10:20+00'),
                 ('00000000-0000-0000-0000-000000000003', 'claude', 'opus', 7, '2026-03-02 10:50+00')",
        )
        .unwrap();
        Spi::run("SET LOCAL usage_rollup.safety_lag = 0").unwrap();
        Spi::run("SELECT usage_rollup.tick()").unwrap();
        Spi::run("SELECT usage_rollup.freeze('2026-03-02 10:30+00')").unwrap();

        let mut builders = Vec::new();
        for grouping in ["day", "hour", "agent", "project", "runtime", "none"] {
            for (raw, unfiltered) in [(false, false), (false, true), (true, false), (true, true)] {
                builders.push(format!("usage_rollup._usage_query_sql('{grouping}', {raw}, {unfiltered})"));
            }
        }
        for kind in ["runs", "outcomes", "starts", "kpi_tasks"] {
            for grouping in ["day", "agent", "none"] {
                for rollup in [false, true] {
                    builders.push(format!("usage_rollup._task_query_sql('{kind}', '{grouping}', {rollup})"));
                }
            }
        }
        let params = "uuid, date, date, text, uuid, uuid, uuid, timestamptz, timestamptz";
        let args = "'00000000-0000-0000-0000-000000000001', '2026-03-01', '2026-03-31', 'Asia/Kolkata', \
                    NULL, NULL, NULL, '2026-02-28 00:00+00', '2026-04-02 00:00+00'";
        let mut plans = 0;
        for (n, builder) in builders.iter().enumerate() {
            let sql: String = Spi::get_one(&format!("SELECT {builder}")).unwrap().unwrap();
            assert!(!sql.contains("@"), "{builder} left a placeholder:\n{sql}");
            Spi::run(&format!("PREPARE report_{n}({params}) AS {sql}"))
                .unwrap_or_else(|e| panic!("{builder} does not parse: {e}\n{sql}"));
            let plan: Option<String> = Spi::get_one(&format!("EXPLAIN EXECUTE report_{n}({args})"))
                .unwrap_or_else(|e| panic!("{builder} does not plan: {e}\n{sql}"));
            assert!(plan.is_some(), "{builder} has no plan");
            plans += 1;
        }
        let sql: String = Spi::get_one("SELECT usage_rollup._issue_usage_sql(gen_random_uuid())").unwrap().unwrap();
        Spi::run(&format!("PREPARE issue_report(uuid) AS {sql}")).unwrap();
        Spi::run("EXPLAIN EXECUTE issue_report(gen_random_uuid())").unwrap();
        assert_eq!(plans, 48);
    }
}
