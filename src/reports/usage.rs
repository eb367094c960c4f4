//! The usage reports (SPEC §4.1 U: daily_usage ... usage_by_hour, issue_usage and
//! kpis' usage columns): which store a report reads (the per-workspace rollup, the
//! keyed blocks, the rollup, or the raw rows alone) and its query.

use super::{
    expand_group_at, frozen, sealed, tiling, with_state, Groups, DIRTY, IN_RANGE, REPORT_USAGE_ROWS, TILING_RUNS,
};
use crate::binding::Binding;
use crate::catalog;
use crate::errors::Error;
use pgrx::prelude::*;

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
const CELLS_KEY: &str = include_str!("cells_key.sql");
/// The sealed keyed blocks (days, weeks, four weeks), the sealed task days and (0.8.0)
/// task hours.
const KEYED_BLOCKS: &str = "usage_rollup.key_rollup_block";
const CELLS_WS_HOUR: &str = include_str!("cells_ws_hour.sql");
const RAW_USAGE: &str = include_str!("raw_usage.sql");
const ISSUE_USAGE: &str = include_str!("issue_usage.sql");
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

/// The issue_usage() query ($1 = issue id), after checking the argument.
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn _issue_usage_sql(issue_id: Option<pgrx::Uuid>) -> String {
    if issue_id.is_none() {
        Error::NullArgument { function: "issue_usage".into(), argument: "issue_id" }.raise();
    }
    Binding::require("issue_usage()").render(ISSUE_USAGE)
}
