//! What keeps writers of the rollup exact against each other and against open
//! transactions: the advisory locks, and the latest time a window may end at.
//!
//! The locks are transaction-scoped, so that an error, a cancel or a terminated
//! backend can never leak one (the seeds' session lock did, and every later tick
//! returned 0 forever). Their keys are spelled here only: SQL takes the rollup
//! lock through usage_rollup._try_rollup_lock().

use crate::errors::{Error, SpiExt};
use pgrx::prelude::*;

pgrx::extension_sql_file!("lock.sql", name = "lock_sql", requires = ["catalog", _try_rollup_lock]);

/// The usage_rollup advisory locks (two-int form, class 4246 like the seeds').
#[derive(Clone, Copy)]
enum Lock {
    /// Held by whoever writes the rollup and what derives from it: a tick (tried),
    /// a backfill slice and its finish, freeze(), the run rollup's build and the
    /// sealing entries of the updates (waited for).
    Rollup = 1,
    /// Serialises attach() and detach().
    Binding = 2,
}

const CLASS: i32 = 4246;

/// Take the rollup lock for this transaction, waiting for a running tick or backfill
/// slice.
pub fn rollup() {
    take(Lock::Rollup, "take the rollup lock");
}

/// Take the binding lock for this transaction, waiting for a running attach or detach.
pub fn binding() {
    take(Lock::Binding, "lock the binding");
}

fn take(lock: Lock, task: &str) {
    Spi::run_with_args("SELECT pg_catalog.pg_advisory_xact_lock($1, $2)", &[CLASS.into(), (lock as i32).into()])
        .or_raise(task);
}

/// Try the rollup lock for this transaction (tick(): false when another tick or a
/// backfill slice holds it).
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn _try_rollup_lock() -> bool {
    Spi::get_one_with_args::<bool>(
        "SELECT pg_catalog.pg_try_advisory_xact_lock($1, $2)",
        &[CLASS.into(), (Lock::Rollup as i32).into()],
    )
    .or_raise("try the rollup lock")
    .unwrap_or(false)
}

/// Latest safe end of a window (see _safe_upper_bound in lock.sql).
pub fn safe_upper_bound(lag_secs: i64) -> TimestampWithTimeZone {
    Spi::get_one_with_args::<TimestampWithTimeZone>(
        "SELECT usage_rollup._safe_upper_bound(pg_catalog.make_interval(secs => $1))",
        &[(lag_secs as f64).into()],
    )
    .or_raise("compute the window bound")
    .unwrap_or_else(|| pgrx::error!("usage_rollup could not compute the window bound: the clock gave NULL"))
}

/// Refuse to write the rollup from a transaction whose snapshot predates the window
/// bound. Under REPEATABLE READ or SERIALIZABLE the raw rows are read with the
/// transaction's first snapshot, so a transaction that committed after it but before
/// the bound was computed is neither open (to hold the bound back) nor visible, and
/// its rows would be skipped for good (found by the isolation spec tick_snapshot).
pub fn require_read_committed(operation: &'static str) {
    let level: Option<String> =
        Spi::get_one("SELECT pg_catalog.current_setting('transaction_isolation')").or_raise("read the isolation level");
    let level = level.unwrap_or_default();
    if level != "read committed" {
        Error::NotReadCommitted { operation, level }.raise();
    }
}
