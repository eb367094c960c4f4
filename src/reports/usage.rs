//! The usage reports (SPEC §4.1 U: daily_usage ... usage_by_hour, issue_usage and
//! kpis' usage columns): which store a report reads (the per-workspace rollup, the
//! keyed blocks, the rollup, or the raw rows alone) and its query.

use super::{frozen, sealed, tiling, Groups, State};
use crate::binding::Binding;
use crate::catalog;
use crate::errors::Error;
use crate::sql::reports as sql;
use pgrx::prelude::*;

/// What a usage report is grouped by (reports.sql's group_by argument).
#[derive(Clone, Copy, PartialEq)]
enum Grouping {
    Day,
    Hour,
    Agent,
    Project,
    Runtime,
    Nothing,
}

impl Grouping {
    fn parse(group_by: &str) -> Grouping {
        match group_by {
            "day" => Grouping::Day,
            "hour" => Grouping::Hour,
            "agent" => Grouping::Agent,
            "project" => Grouping::Project,
            "runtime" => Grouping::Runtime,
            "none" => Grouping::Nothing,
            other => pgrx::error!("usage_rollup: no usage report is grouped by \"{other}\""),
        }
    }

    /// The key column of a report grouped by agent, project or runtime, with the
    /// dimension's letter in usage_rollup.key_rollup.
    fn key(self) -> Option<(&'static str, &'static str)> {
        match self {
            Grouping::Agent => Some(("a", "agent_id")),
            Grouping::Project => Some(("p", "project_id")),
            Grouping::Runtime => Some(("r", "runtime_id")),
            _ => None,
        }
    }
}

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
/// The sealed keyed blocks (days, weeks, four weeks).
const KEYED_BLOCKS: &str = "usage_rollup.key_rollup_block";

/// The usage report query for a grouping, against the current binding. From the
/// rollup (plus the raw rows of buckets it has not caught up with), or with
/// `exact_raw` from the raw rows alone.
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn _usage_report_sql(grouping: &str, exact_raw: bool) -> String {
    let grouping = Grouping::parse(grouping);
    let binding = Binding::require("a usage report");
    // the group key over the rollup's bucket columns, over a raw row, and (for the
    // per-bucket sums) the key column kept per bucket and the key from local time
    let (group, rowgroup, key, local_group) = match grouping {
        Grouping::Day => (
            "(bucket_start AT TIME ZONE $4)::date",
            "(u.created_at AT TIME ZONE $4)::date",
            "NULL::uuid",
            "l.local_ts::date",
        ),
        Grouping::Hour => (
            "extract(hour FROM bucket_start AT TIME ZONE $4)::integer",
            "extract(hour FROM u.created_at AT TIME ZONE $4)::integer",
            "NULL::uuid",
            "extract(hour FROM l.local_ts)::integer",
        ),
        Grouping::Agent => ("agent_id", "t.agent_id", "agent_id", "p.k"),
        Grouping::Project => ("project_id", "i.project_id", "project_id", "p.k"),
        Grouping::Runtime => ("runtime_id", "t.runtime_id", "runtime_id", "p.k"),
        Grouping::Nothing => ("NULL::integer", "NULL::integer", "NULL::uuid", "NULL::integer"),
    };
    if exact_raw {
        // the usage rows of a report from the raw tables (§4.1 U, workspace, local
        // dates and filters): report_usage_rows.sql, shared with kpi_tasks.sql
        let rows = sql::ReportUsageRows { binding: &binding }.render();
        sql::RawUsage { binding: &binding, report_usage_rows: &rows, rowgroup }.render()
    } else {
        let bucket_key =
            if matches!(grouping, Grouping::Day | Grouping::Hour) { "bucket_start" } else { INTERIOR_AS_ONE };
        rollup_usage_sql(&binding, CELLS_FULL, bucket_key, group, key, local_group)
    }
}

/// The usage report query to run: from the raw rows alone (`exact_raw`), from the
/// per-workspace rollup when no agent, project or runtime filter is set and the
/// grouping allows, from the keyed blocks when grouped by agent, project or runtime
/// with no other filter, else from the rollup. Parameters as in usage.sql.
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn _usage_query_sql(group_by: &str, exact_raw: bool, unfiltered: bool) -> String {
    let grouping = Grouping::parse(group_by);
    // (the per-workspace path needs the SQL of 0.3.0: see recompute::coarse_widths)
    if !exact_raw && unfiltered && grouping.key().is_none() && catalog::has(catalog::Sql::V0_3) {
        usage_ws_sql(grouping)
    } else if !exact_raw && unfiltered && grouping.key().is_some() && catalog::has(catalog::Sql::V0_6) {
        usage_key_sql(grouping)
    } else {
        _usage_report_sql(group_by, exact_raw)
    }
}

/// The usage report query from the per-workspace rollup (usage_rollup.rollup_ws),
/// grouped by local day, local hour or nothing.
fn usage_ws_sql(grouping: Grouping) -> String {
    let binding = Binding::require("a usage report");
    let cells_ws = |groups: Groups| {
        let tiled = match groups.edges() {
            Some(edges) => sql::TilingRuns { edges }.render(),
            None => tiling("_ws_blocks", "", groups),
        };
        tiled + &sql::CellsWs.render()
    };
    let per_bucket_sum = sql::PerBucketSum { bucket_key: "bucket_start", key: "NULL::uuid" }.render();
    let (group, local_group, cells, per_bucket) = match grouping {
        Grouping::Day => (
            "(bucket_start AT TIME ZONE $4)::date",
            "l.local_ts::date",
            cells_ws(Groups::Days),
            per_bucket_sum.as_str(),
        ),
        // one range scan of one width, already summed per local hour of day
        Grouping::Hour => (
            "extract(hour FROM bucket_start AT TIME ZONE $4)::integer",
            "extract(hour FROM l.local_ts)::integer",
            sql::CellsWsHour.render(),
            PER_BUCKET_AS_IS,
        ),
        // the range's ends split hours like local midnights do
        Grouping::Nothing => ("NULL::integer", "NULL::integer", cells_ws(Groups::Days), per_bucket_sum.as_str()),
        _ => pgrx::error!("usage_rollup: no per-workspace usage report is grouped by agent, project or runtime"),
    };
    usage_sql(
        &binding,
        Rollup {
            cells: &cells,
            per_bucket,
            raw_key_columns: "NULL::uuid, NULL::uuid, NULL::uuid",
            raw_group_by: "bucket_start, provider, model",
            local_group,
            group,
        },
    )
}

/// The usage report query grouped by agent, project or runtime with no other filter,
/// from the sealed keyed blocks (usage_rollup.key_rollup) and the rollup.
fn usage_key_sql(grouping: Grouping) -> String {
    let Some((dim, column)) = grouping.key() else {
        pgrx::error!("usage_rollup: a keyed usage report is grouped by agent, project or runtime")
    };
    let key_columns = ["agent_id", "project_id", "runtime_id"]
        .map(|c| if c == column { format!("r.key AS {c}") } else { format!("NULL::uuid AS {c}") })
        .join(", ");
    let group_at = |x: &str| Groups::Range.group_at(x);
    let cells = tiling("_key_blocks", &sealed(KEYED_BLOCKS), Groups::Range)
        + &sql::CellsKey { dim, group_at: &group_at, key_column: column, key_columns: &key_columns }.render();
    rollup_usage_sql(&Binding::require("a usage report"), &cells, "bucket_start", column, column, "p.k")
}

/// usage.sql over rollup cells that carry every key column, grouped by `group`.
fn rollup_usage_sql(
    binding: &Binding,
    cells: &str,
    bucket_key: &str,
    group: &str,
    key: &str,
    local_group: &str,
) -> String {
    let per_bucket = sql::PerBucketSum { bucket_key, key }.render();
    usage_sql(
        binding,
        Rollup {
            cells,
            per_bucket: &per_bucket,
            raw_key_columns: "agent_id, project_id, runtime_id",
            raw_group_by: "bucket_start, workspace_id, runtime_id, agent_id, project_id, provider, model",
            local_group,
            group,
        },
    )
}

/// What a usage report from the rollup reads and how it groups (usage.sql).
struct Rollup<'a> {
    /// the rollup's cells of the range (rollup_cells)
    cells: &'a str,
    per_bucket: &'a str,
    raw_key_columns: &'a str,
    raw_group_by: &'a str,
    local_group: &'a str,
    group: &'a str,
}

/// usage.sql with the report's state: the queued buckets and raw tail from the
/// watermark on, frozen history (the variants' buckets) before the horizon.
fn usage_sql(binding: &Binding, r: Rollup) -> String {
    let state = State::read();
    let dirty = sql::Dirty { binding, frozen: &state.frozen, watermark: &state.watermark }.render();
    let (candidates, candidate_rows) = frozen::variants(&state);
    sql::Usage {
        binding,
        dirty: &dirty,
        frozen: &state.frozen,
        frozen_candidates: &candidates,
        frozen_candidate_rows: &candidate_rows,
        group: r.group,
        local_group: r.local_group,
        per_bucket: r.per_bucket,
        raw_group_by: r.raw_group_by,
        raw_key_columns: r.raw_key_columns,
        rollup_cells: r.cells,
    }
    .render()
}

/// The issue_usage() query ($1 = issue id), after checking the argument.
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn _issue_usage_sql(issue_id: Option<pgrx::Uuid>) -> String {
    if issue_id.is_none() {
        Error::NullArgument { function: "issue_usage".into(), argument: "issue_id" }.raise();
    }
    sql::IssueUsage { binding: &Binding::require("issue_usage()") }.render()
}
