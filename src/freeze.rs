//! Frozen history (SPEC §3): usage_rollup.freeze(before) and the setting
//! usage_rollup.freeze_after move a horizon forward, before which the rollup's
//! buckets are final, so that retention may delete the raw rows (or drop their
//! partitions) and the dashboards keep the history.
//!
//! What "final" means, path by path:
//! - the tick drops every invalidation of a bucket before the horizon (a queued
//!   bucket, a bucket of rows stamped since the watermark, a queued run bucket)
//!   and counts it in tick_state.frozen_changes_ignored;
//! - reports never read raw rows before the horizon (reports/dirty.sql,
//!   dirty_tasks.sql: the raw tail and the queued buckets start there), so a
//!   deleted or corrected raw row there changes nothing;
//! - verify() compares buckets from the horizon on; backfill() refuses a range
//!   that starts before it;
//! - kpis' task count and the filtered run, outcome and start reports read, before
//!   the horizon, what was recorded as it moved (usage_rollup.key_task_frozen: the
//!   tasks of each UTC day and the quarter hours they had usage in;
//!   usage_rollup.task_frozen: the tasks that had started or completed), so
//!   retention may delete old tasks too; the task days before it are sealed.
//!
//! The horizon never moves back, and never past work that is still pending: a
//! queued bucket, a queued run bucket, or a raw row stamped since the watermark
//! (a change no tick has applied yet) stops it, with a NOTICE, so that freezing
//! never drops a change the rollup has not seen.

use crate::binding::Binding;
use crate::catalog::horizon;
use crate::errors::{Error, SpiExt};
use crate::settings;
use pgrx::prelude::*;

pgrx::extension_sql_file!("freeze.sql", name = "freeze_sql", requires = ["catalog"]);

/// usage_rollup.freeze(before): move the horizon to the bucket at or before
/// `before`, and return the horizon in force.
#[pg_extern(volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn freeze(before: Option<TimestampWithTimeZone>) -> Option<TimestampWithTimeZone> {
    crate::standby::require_primary("freeze");
    crate::lock::require_read_committed("freeze()");
    let before =
        before.unwrap_or_else(|| Error::NullArgument { function: "freeze".into(), argument: "before" }.raise());
    if before.is_infinity() || before.is_neg_infinity() {
        Error::NotFinite { function: "freeze", argument: "before", value: before.to_string() }.raise();
    }
    let binding = Binding::require("freeze()");
    // waits for a running tick or backfill slice: the queue and the watermark it
    // reads next are theirs to change
    crate::lock::rollup();
    advance(&binding, before, true)
}

/// Move the horizon toward the bucket of `before` (rollup lock held): never back,
/// never past pending work (see the module's comment). `explain`: NOTICEs when it
/// stops short (freeze(); the tick's freeze_after stays quiet). Returns the horizon
/// in force.
pub fn advance(binding: &Binding, before: TimestampWithTimeZone, explain: bool) -> Option<TimestampWithTimeZone> {
    let sql = crate::sql::FreezeHorizon { binding }.render();
    let (current, target, pending): (
        Option<TimestampWithTimeZone>,
        Option<TimestampWithTimeZone>,
        Option<TimestampWithTimeZone>,
    ) = Spi::get_three_with_args(&sql, &[before.into()]).or_raise("read the frozen horizon");
    let Some(target) = target else { return current };
    if current.is_some_and(|c| c >= target) {
        if explain && current.is_some_and(|c| c > target) {
            pgrx::notice!(
                "freeze: the horizon stays at {}: it never moves back",
                current.map(|c| c.to_string()).unwrap_or_default()
            );
        }
        return current;
    }
    // a NULL watermark (no tick yet) leaves nothing known to be final
    let Some(pending) = pending else {
        if explain {
            pgrx::notice!(
                "freeze: nothing is frozen yet: no tick has run since attach; run usage_rollup.tick() and freeze again"
            );
        }
        return current;
    };
    let horizon = if pending < target { pending } else { target };
    if horizon < target && explain {
        pgrx::notice!(
            "freeze: the horizon stops at {horizon}, not {target}: the buckets from there on have changes no tick has \
             applied yet (queued, or rows stamped since the watermark); run usage_rollup.tick() and freeze again"
        );
    }
    if current.is_some_and(|c| c >= horizon) {
        return current;
    }
    // kpis counts the tasks before the horizon from key_task_frozen from now on, and
    // reads a task day that is not sealed from its raw rows, which may go now
    let from = current.unwrap_or_else(TimestampWithTimeZone::negative_infinity);
    for (sql, task) in [
        (crate::sql::FreezeTasks { binding }.render(), "record the tasks of the frozen usage"),
        (crate::sql::FreezeRuns { binding }.render(), "record the tasks of the frozen runs"),
        (
            crate::sql::FreezeVariants { binding }.render(),
            "record the buckets of the frozen tasks with a provider in two letter cases",
        ),
    ] {
        Spi::run_with_args(&sql, &[from.into(), horizon.into()]).or_raise(task);
    }
    crate::keyed::tasks::seal_before(binding, horizon);
    Spi::run_with_args("UPDATE usage_rollup.tick_state SET frozen_before = $1 WHERE id = 1", &[horizon.into()])
        .or_raise("record the frozen horizon");
    Some(horizon)
}

/// The tick's share (rollup lock held): freeze now() - usage_rollup.freeze_after,
/// when that is set and the SQL of 0.10.0 is installed.
pub fn on_tick(binding: &Binding) {
    let after = settings::freeze_after_secs();
    if after <= 0 || !horizon::installed() {
        return;
    }
    let before: Option<TimestampWithTimeZone> =
        Spi::get_one_with_args("SELECT now() - pg_catalog.make_interval(secs => $1)", &[(after as f64).into()])
            .or_raise("compute the freeze_after horizon");
    if let Some(before) = before {
        advance(binding, before, false);
    }
}

/// Split bucket starts into those at or after the horizon (kept) and the number
/// before it (dropped: changes to frozen history).
pub fn drop_frozen(
    horizon: Option<TimestampWithTimeZone>,
    buckets: Vec<TimestampWithTimeZone>,
) -> (Vec<TimestampWithTimeZone>, i64) {
    let Some(h) = horizon else { return (buckets, 0) };
    let (kept, dropped): (Vec<_>, Vec<_>) = buckets.into_iter().partition(|b| *b >= h);
    (kept, dropped.len() as i64)
}
