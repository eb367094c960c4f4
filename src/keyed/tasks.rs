//! The keyed task days (usage_rollup.key_task; SPEC §6: kpis over 90 days at least
//! 20x faster than raw): per sealed UTC day and workspace, the tasks with a usage
//! row in it, so that kpis' distinct task count over a period reads a count per day
//! and the few tasks that span days instead of every raw row.
//!
//! Invariant: the entries of a day listed in usage_rollup.key_task_block are the
//! tasks of the raw rows in that day, as long as no bucket of the day is dirty
//! (queued, or holding a row stamped since the watermark), which reports check.
//! A raw change inside a day leaves its bucket dirty until a recompute of that
//! bucket, and every recompute (a tick's queued buckets or appended rows, a
//! backfill's range) calls `recomputed` in its transaction, which takes the day off
//! the list, *whether or not the rollup changed*: a usage row moved from one task to
//! another can leave every rollup row as it was (unlike the keyed blocks, which
//! only follow the rollup).
//!
//! "single" (every row of the task lay in that day at sealing) splits the count: a
//! range's count is the sum of the single tasks of its sealed days, plus the other
//! tasks of those days and the tasks of the raw rows elsewhere in the range, counted
//! distinct, less the tasks single in one of the summed days. A task is single in at
//! most one sealed, clean day: were it single in two, the one sealed first held a
//! row of it that the later sealing did not see, a change the first day would have
//! been taken off the list for.

use super::KEYED_LIMIT;
use crate::binding::{bin_of, Binding};
use crate::catalog;
use crate::errors::SpiExt;
use pgrx::prelude::*;

const SEAL_TASKS: &str = include_str!("seal_tasks.sql");
const SEAL_TASKS_BULK: &str = include_str!("seal_tasks_bulk.sql");

/// A day's tasks are sealed this long after it ends (plus safety_lag), sooner than
/// the keyed blocks' hour: until then kpis reads the whole previous day raw (33k rows
/// in the sparse benchmark, half its time: 19x instead of 40x in the hour after UTC
/// midnight), while a late row only costs the day a reseal (~0.4 s) in a later tick.
/// status.task_day_backlog (health.sql) counts with the same margin.
const SEAL_MARGIN: &str = "00:10:00";

/// Above this many days a seal is set-based (seal_tasks_bulk.sql), at or below it a
/// day's rows and tasks are looked up by index (seal_tasks.sql).
const BULK_DAYS: usize = 3;

/// Whether the tables exist (the SQL of 0.7.0).
pub fn installed() -> bool {
    catalog::sql_0_7_installed()
}

/// After the rollup buckets `starts` were recomputed or appended to: their days'
/// task entries are no longer sealed, and are queued.
pub fn recomputed(starts: &[TimestampWithTimeZone]) {
    if starts.is_empty() || !installed() {
        return;
    }
    Spi::run_with_args(&unseal(&super::days_of_buckets()), &[starts.to_vec().into()])
        .or_raise("queue the task days of the recomputed buckets");
}

/// After the rollup's buckets in [from, to) were rebuilt (a backfill's range, after
/// its per-workspace rows): the days it touches that hold rollup rows now, or were
/// sealed before, are no longer sealed, and are queued.
pub fn recomputed_range(from: TimestampWithTimeZone, to: TimestampWithTimeZone) {
    if !installed() {
        return;
    }
    let days = super::days_of_range("SELECT b.bucket_start FROM usage_rollup.key_task_block b");
    Spi::run_with_args(&unseal(&days), &[from.into(), to.into()]).or_raise("queue the task days of the rebuilt range");
}

/// The statement that takes the days `days` (a query of column day) off the sealed
/// list and queues them.
fn unseal(days: &str) -> String {
    format!(
        "WITH day AS MATERIALIZED ({days}),
         unsealed AS (
             DELETE FROM usage_rollup.key_task_block b USING day x WHERE b.bucket_start = x.day
         )
         INSERT INTO usage_rollup.key_task_stale (bucket_start)
         SELECT day FROM day WHERE day < '{KEYED_LIMIT}'
         ON CONFLICT (bucket_start) DO NOTHING"
    )
}

/// Queued days that ended at least SEAL_MARGIN before `cut`, newest first (at most
/// `limit`).
fn finished_days(cut: TimestampWithTimeZone, limit: i64) -> Vec<TimestampWithTimeZone> {
    super::finished("usage_rollup.key_task_stale", SEAL_MARGIN, cut, limit)
}

/// Rebuild the entries of these days from the raw rows and list them.
fn seal(binding: &Binding, days: &[TimestampWithTimeZone]) {
    let (Some(first), Some(last)) = (days.iter().min_by_key(|d| d.into_inner()), days.iter().max_by_key(|d| d.into_inner()))
    else {
        return;
    };
    let args = [days.to_vec().into()];
    for sql in [
        "DELETE FROM usage_rollup.key_task k WHERE k.bucket_start = ANY ($1::timestamptz[])",
        "DELETE FROM usage_rollup.key_task_day k WHERE k.bucket_start = ANY ($1::timestamptz[])",
    ] {
        Spi::run_with_args(sql, &args).or_raise("seal task days");
    }
    if days.len() > BULK_DAYS {
        let sql = binding.render(SEAL_TASKS_BULK).replace("@day_of_row@", &bin_of("u.created_at", 1440));
        Spi::run_with_args(&sql, &[days.to_vec().into(), (*first).into(), (*last).into()])
    } else {
        Spi::run_with_args(&binding.render(SEAL_TASKS), &args)
    }
    .or_raise("seal task days");
    for sql in [
        "INSERT INTO usage_rollup.key_task_block (bucket_start)
         SELECT DISTINCT x FROM pg_catalog.unnest($1::timestamptz[]) x
         ON CONFLICT (bucket_start) DO UPDATE SET sealed_at = excluded.sealed_at",
        "DELETE FROM usage_rollup.key_task_stale s WHERE s.bucket_start = ANY ($1::timestamptz[])",
    ] {
        Spi::run_with_args(sql, &args).or_raise("seal task days");
    }
}

/// The tick's share (rollup lock held): seal the newest finished day, if any.
pub fn seal_next(binding: &Binding, cut: TimestampWithTimeZone) {
    if installed() {
        seal(binding, &finished_days(cut, 1));
    }
}

/// A backfill's finish (rollup lock held): seal every day that ended by `upto`.
pub fn seal_all(binding: &Binding, upto: TimestampWithTimeZone) {
    if installed() {
        seal(binding, &finished_days(upto, i64::MAX));
    }
}

/// The 0.7.0 update's entry: queue every day the rollup holds and seal what is
/// finished. Waits for a running tick.
#[pg_extern(volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn _seal_key_tasks() {
    let Some(binding) = Binding::load() else { return };
    super::lock_rollup();
    Spi::run(&unseal(super::ROLLUP_DAYS)).or_raise("queue the rollup's days");
    seal_all(&binding, crate::tick::safe_upper_bound(crate::settings::safety_lag_secs()));
    analyze();
}

/// Fresh statistics after sealing many days (a backfill, the update): the report's
/// plan over key_task depends on them.
pub fn analyze() {
    if installed() {
        Spi::run("ANALYZE usage_rollup.key_task, usage_rollup.key_task_day").or_raise("analyze the task days");
    }
}

/// Empty the task days (detach).
pub fn clear() {
    if installed() {
        Spi::run(
            "TRUNCATE usage_rollup.key_task, usage_rollup.key_task_day, usage_rollup.key_task_block, \
             usage_rollup.key_task_stale",
        )
        .or_raise("remove the keyed task days");
    }
}
