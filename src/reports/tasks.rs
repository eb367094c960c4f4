//! The task reports (SPEC §4.1 T: daily_runs ... starts_by_hour, and kpis' run
//! columns and task count): from the run rollup, the sealed task days and hours, or
//! the raw tables.

use super::{frozen, sealed, tiling, Groups, State};
use crate::binding::Binding;
use crate::sql::reports as sql;
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

/// The kind of a task report (reports.sql's kind argument).
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Runs,
    Outcomes,
    Starts,
    /// kpis' task count
    KpiTasks,
}

impl Kind {
    fn parse(kind: &str) -> Kind {
        match kind {
            "runs" => Kind::Runs,
            "outcomes" => Kind::Outcomes,
            "starts" => Kind::Starts,
            "kpi_tasks" => Kind::KpiTasks,
            other => pgrx::error!("usage_rollup: no task report is of the kind \"{other}\""),
        }
    }
}

/// What a task report is grouped by: the local date of completion, the agent, or
/// nothing.
#[derive(Clone, Copy, PartialEq)]
enum Grouping {
    Day,
    Agent,
    Nothing,
}

impl Grouping {
    fn parse(grouping: &str) -> Grouping {
        match grouping {
            "day" => Grouping::Day,
            "agent" => Grouping::Agent,
            "none" => Grouping::Nothing,
            other => pgrx::error!("usage_rollup: no task report is grouped by \"{other}\""),
        }
    }
}

/// The run, outcome and start reports and the kpis' task count, from the tasks
/// table (and the usage rows for the task count). `grouping`: day (local date of
/// completed_at), agent, or none. Parameters as in usage.sql.
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn _task_report_sql(kind: &str, grouping: &str) -> String {
    let (kind, grouping) = (Kind::parse(kind), Grouping::parse(grouping));
    let binding = Binding::require("a report");
    let rowgroup = match grouping {
        Grouping::Day => "(t.completed_at AT TIME ZONE $4)::date",
        Grouping::Agent => "t.agent_id",
        Grouping::Nothing => "NULL::integer",
    };
    let state = State::raw();
    let task_rows = |timestamp: &str| frozen::task_rows(&binding, timestamp, &state);
    let task_row_filters = &frozen::task_row_filters();
    match kind {
        Kind::Runs => sql::Runs { rowgroup, task_row_filters, task_rows: &task_rows }.render(),
        Kind::Outcomes => sql::Outcomes { rowgroup, task_row_filters, task_rows: &task_rows }.render(),
        Kind::Starts => sql::Starts { task_row_filters, task_rows: &task_rows }.render(),
        Kind::KpiTasks => sql::KpiTasks {
            frozen: &state.frozen,
            frozen_tasks: &frozen::tasks(&state),
            report_usage_rows: &sql::ReportUsageRows { binding: &binding }.render(),
        }
        .render(),
    }
}

/// kpis' task count from the sealed task days and hours (usage_rollup.key_task,
/// key_task_hour) and the raw rows of the rest of the range (kpi_tasks_keyed.sql).
fn kpi_tasks_keyed_sql() -> String {
    let binding = Binding::require("a report");
    let (blocks, hours, hour_counts) = if crate::keyed::tasks::hours_installed() {
        (TASK_BLOCKS, "usage_rollup.key_task_hour", "usage_rollup.key_task_hour_count")
    } else {
        (TASK_DAYS, NO_TASK_HOURS, NO_TASK_HOURS)
    };
    let state = State::read();
    let group_at = |x: &str| Groups::Range.group_at(x);
    let dirty = sql::Dirty { binding: &binding, frozen: &state.frozen, watermark: &state.watermark }.render();
    let keyed = sql::KpiTasksKeyed {
        binding: &binding,
        frozen: &state.frozen,
        frozen_rest: &frozen::rest(&state),
        group_at: &group_at,
        key_task_hour: hours,
        key_task_hour_count: hour_counts,
    }
    .render();
    format!("WITH\n{dirty}{}{keyed}", tiling("_key_blocks", &sealed(blocks), Groups::Range))
}

/// The run, outcome and start report query to run: from the run rollup (tasks.sql,
/// tasks_starts.sql) when `from_rollup` (no agent, project or runtime filter, a zone
/// whose local days are whole buckets, the rollup read mode), else from the raw
/// tables (_task_report_sql; kpis' task count always). Parameters as in usage.sql.
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn _task_query_sql(kind: &str, grouping: &str, from_rollup: bool) -> String {
    let (kind_name, grouping_name) = (kind, grouping);
    let (kind, grouping) = (Kind::parse(kind), Grouping::parse(grouping));
    if from_rollup && kind == Kind::KpiTasks && crate::keyed::tasks::installed() {
        return kpi_tasks_keyed_sql();
    }
    if !from_rollup || kind == Kind::KpiTasks {
        return _task_report_sql(kind_name, grouping_name);
    }
    let binding = Binding::require("a report");
    let state = State::read();
    let dirty_tasks = sql::DirtyTasks { frozen: &state.frozen }.render();
    let cells = crate::runs::cells_in_buckets(&binding);
    if kind == Kind::Starts {
        return sql::TasksStarts { cells: &cells, dirty_tasks: &dirty_tasks }.render();
    }
    let (measures, group_by) = if kind == Kind::Runs {
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
    let (blocks, groups, local_group, key, level) = match grouping {
        Grouping::Day => ("_task_blocks", Groups::Days, "l.local_ts::date", "NULL::uuid", "IS NULL"),
        Grouping::Agent => ("_task_agent_blocks", Groups::Range, "p.k", "x.agent_id", "IS NOT NULL"),
        Grouping::Nothing => ("_task_blocks", Groups::Range, "NULL::integer", "NULL::uuid", "IS NULL"),
    };
    let rolled = tiling(blocks, "", groups) + &sql::TasksTiled { level }.render();
    sql::Tasks {
        cells: &cells,
        dirty_tasks: &dirty_tasks,
        group_by,
        key,
        level,
        local_group,
        measures,
        rolled: &rolled,
    }
    .render()
}
