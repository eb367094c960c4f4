//! The task reports (SPEC §4.1 T: daily_runs ... starts_by_hour, and kpis' run
//! columns and task count): from the run rollup, the sealed task days and hours, or
//! the raw tables.

use super::{expand_group_at, frozen, sealed, tiling, with_state, Groups, DIRTY, IN_RANGE, REPORT_USAGE_ROWS};
use crate::binding::Binding;
use pgrx::prelude::*;

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
const DIRTY_TASKS: &str = include_str!("dirty_tasks.sql");
const TASKS_TILED: &str = include_str!("tasks_tiled.sql");
const TASKS_STARTS: &str = include_str!("tasks_starts.sql");
const RUNS: &str = include_str!("runs.sql");
const OUTCOMES: &str = include_str!("outcomes.sql");
const STARTS: &str = include_str!("starts.sql");
const KPI_TASKS: &str = include_str!("kpi_tasks.sql");

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
