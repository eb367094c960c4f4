//! The run rollup (usage_rollup.task_rollup; SPEC §6: the run and outcome reports
//! need their own pre-aggregation): built whole by attach() and by the 0.5.0
//! update, kept exact by each tick from the task queue the triggers fill
//! (invalidate/triggers.sql, _invalidate_task_runs). Reports read it in
//! reports/tasks.sql.

use crate::binding::Binding;
use crate::errors::SpiExt;
use pgrx::prelude::*;

/// The widths each kind of run rollup row is kept in (kind, agent_level, width;
/// SQL VALUES). Per workspace: outcomes and runs ('c') in every width the reports
/// tile local days with; starts ('s') in 15 minutes (the
/// hour-of-day report reads those alone). Per agent (only 'c', for the per-agent
/// reports, which tile the range as a whole): weeks and days inside it, 15 minutes
/// at its ends (a sparse workload has about one agent row per task and 15 minutes:
/// hourly and six-hour rows would add as many again for little).
const WIDTHS: &str =
    "VALUES ('c'::\"char\", false, 15::smallint), ('c', false, 60), ('c', false, 360), ('c', false, 1440), \
     ('c', false, 10080), ('c', true, 15), ('c', true, 1440), ('c', true, 10080), ('s', false, 15)";

/// The end of the bucket that starts at `start`: the last bucket before the end of
/// time has none that PostgreSQL can represent (a queued bucket may be any time a
/// task or usage row was given).
fn bucket_end(start: &str) -> String {
    format!(
        "CASE WHEN {start} < '{}' THEN {start} + '00:15:00'::interval ELSE 'infinity'::timestamptz END",
        crate::binding::BUCKET_LIMIT
    )
}

/// The 15-minute cells (cells.sql) of the buckets of a CTE `d(b)`: their tasks, by
/// the index on completed_at or started_at (tasks_in_buckets.sql). The tick's
/// refresh and the reports' queued buckets share it.
pub fn cells_in_buckets(binding: &Binding) -> String {
    let bucket_end = bucket_end("d.b");
    let in_buckets =
        |column: &str| crate::sql::runs::TasksInBuckets { binding, column, bucket_end: &bucket_end }.render();
    crate::sql::runs::Cells { binding, completed: &in_buckets("completed_at"), started: &in_buckets("started_at") }
        .render()
}

/// The statement of build.sql: the cells of the whole tasks table.
fn build_sql(binding: &Binding) -> String {
    let all = format!("{} t", binding.tasks);
    let cells = crate::sql::runs::Cells { binding, completed: &all, started: &all }.render();
    crate::sql::runs::Build { cells: &cells }.render()
}

/// Rebuild the whole run rollup from the tasks table and empty its queue. Called by
/// attach() after it installed the triggers (whose lock keeps task writers out until
/// attach commits, so this statement's snapshot holds every task and no change can
/// slip between it and the triggers), and by the 0.5.0 update. Waits for a running
/// tick: ticks change this table by deltas, which only hold against what they read.
pub fn build() {
    let binding = Binding::require("building the run rollup");
    crate::lock::rollup();
    for statement in [
        "DELETE FROM usage_rollup.dirty_task_bucket".to_string(),
        "DELETE FROM usage_rollup.task_rollup".to_string(),
        build_sql(&binding),
        crate::sql::runs::BuildWidths { widths: WIDTHS }.render(),
    ] {
        Spi::run(&statement).or_raise("build the run rollup");
    }
}

/// Drain the task queue and bring its buckets up to date (the tick, under the rollup
/// lock). As for the usage queue (tick::claim_queue), the rows are deleted by
/// identity in one statement and the recompute runs in a later one, whose snapshot
/// holds every change whose queue row was drained. Rows refresh.sql leaves at zero
/// tasks are deleted after it (a statement cannot upsert and delete a row).
/// Buckets before the frozen `horizon` are drained and left as they are; returns
/// how many were.
pub fn refresh(binding: &Binding, horizon: Option<TimestampWithTimeZone>) -> i64 {
    let buckets: Vec<TimestampWithTimeZone> = Spi::get_one(
        "WITH drained AS (DELETE FROM usage_rollup.dirty_task_bucket RETURNING bucket_start)
         SELECT pg_catalog.array_agg(DISTINCT bucket_start) FROM drained",
    )
    .or_raise("drain the task queue")
    .unwrap_or_default();
    let (buckets, frozen) = crate::freeze::drop_frozen(horizon, buckets);
    if buckets.is_empty() {
        return frozen;
    }
    let sql = crate::sql::runs::Refresh {
        apply: &crate::sql::runs::Apply { widths: WIDTHS }.render(),
        cells: &cells_in_buckets(binding),
    }
    .render();
    let emptied: Option<String> = Spi::get_one_with_args(&sql, &[buckets.into()]).or_raise("recompute the run rollup");
    let emptied = emptied.unwrap_or_else(|| "[]".into());
    if emptied != "[]" {
        Spi::run_with_args(
            "DELETE FROM usage_rollup.task_rollup r
             USING pg_catalog.jsonb_array_elements($1::jsonb) e
             WHERE r.width = (e ->> 0)::smallint AND r.bucket_start = (e ->> 1)::timestamptz
               AND r.kind = (e ->> 2)::\"char\" AND r.tasks = 0
               AND (r.workspace_id, r.agent_id, r.status, r.failure_reason)
                   IS NOT DISTINCT FROM ((e ->> 3)::uuid, (e ->> 4)::uuid, e ->> 5, e ->> 6)",
            &[emptied.into()],
        )
        .or_raise("remove emptied run rollup rows");
    }
    frozen
}
