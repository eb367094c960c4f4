//! The run rollup (usage_rollup.task_rollup; SPEC §6: the run and outcome reports
//! need their own pre-aggregation): built whole by attach() and by the 0.5.0
//! update, kept exact by each tick from the task queue the triggers fill
//! (invalidate/triggers.sql, _invalidate_task_runs). Reports read it in
//! reports/tasks.sql.

use crate::binding::Binding;
use crate::errors::SpiExt;
use crate::tick::LOCK_ROLLUP;
use pgrx::prelude::*;

pub const CELLS: &str = include_str!("cells.sql");
const BUILD: &str = include_str!("build.sql");
const REFRESH: &str = include_str!("refresh.sql");

/// The tasks of the queued buckets, by the index on completed_at or started_at.
pub fn tasks_in_buckets(column: &str) -> String {
    format!(
        "(SELECT y.* FROM d CROSS JOIN LATERAL (SELECT * FROM @tasks@ z \
          WHERE z.{column} >= d.b AND z.{column} < d.b + '00:15:00'::interval OFFSET 0) y) t"
    )
}

/// Rebuild the whole run rollup from the tasks table and empty its queue. Called by
/// attach() after it installed the triggers (whose lock keeps task writers out until
/// attach commits, so this statement's snapshot holds every task and no change can
/// slip between it and the triggers), and by the 0.5.0 update. Waits for a running
/// tick: ticks change this table by deltas, which only hold against what they read.
pub fn build() {
    let binding = Binding::require("building the run rollup");
    Spi::run_with_args("SELECT pg_catalog.pg_advisory_xact_lock(4246, $1)", &[LOCK_ROLLUP.into()])
        .or_raise("take the rollup lock");
    for statement in [
        "DELETE FROM usage_rollup.dirty_task_bucket".to_string(),
        "DELETE FROM usage_rollup.task_rollup".to_string(),
        binding.render(&BUILD.replace("@cells@", CELLS).replace("@completed@", "@tasks@ t").replace("@started@", "@tasks@ t")),
    ] {
        Spi::run(&statement).or_raise("build the run rollup");
    }
}

/// The 0.5.0 update's entry: install the run rollup's triggers on the attached tasks
/// table and build it (nothing when not attached).
#[pg_extern(volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn _attach_task_runs() {
    let Some(binding) = Binding::load() else { return };
    crate::invalidate::install_task_runs(&binding.tasks, binding.has_failure_reason);
    let (usage, tasks): (Option<pg_sys::Oid>, Option<pg_sys::Oid>) =
        Spi::get_two("SELECT usage_table::oid, tasks_table::oid FROM usage_rollup.binding WHERE id = 1")
            .or_raise("read the binding");
    if let (Some(usage), Some(tasks)) = (usage, tasks) {
        // (only says which indexes are missing: an update should not lock the tables to build them)
        crate::attach::ensure_indexes(usage, tasks, false);
    }
    build();
}

/// Drain the task queue and bring its buckets up to date (the tick, under the rollup
/// lock). As for the usage queue (tick::claim_queue), the rows are deleted by
/// identity in one statement and the recompute runs in a later one, whose snapshot
/// holds every change whose queue row was drained. Returns the rows written.
pub fn refresh(binding: &Binding) -> i64 {
    let buckets: Vec<TimestampWithTimeZone> = Spi::get_one(
        "WITH drained AS (DELETE FROM usage_rollup.dirty_task_bucket RETURNING bucket_start)
         SELECT pg_catalog.array_agg(DISTINCT bucket_start) FROM drained",
    )
    .or_raise("drain the task queue")
    .unwrap_or_default();
    if buckets.is_empty() {
        return 0;
    }
    let sql = binding.render(
        &REFRESH
            .replace("@cells@", CELLS)
            .replace("@completed@", &tasks_in_buckets("completed_at"))
            .replace("@started@", &tasks_in_buckets("started_at")),
    );
    let (written, emptied): (Option<i64>, Option<String>) =
        Spi::get_two_with_args(&sql, &[buckets.into()]).or_raise("recompute the run rollup");
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
    written.unwrap_or(0)
}
