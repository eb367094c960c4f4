//! The advisory locks (two-int form, class 4246 like the seeds' rollup lock), all
//! transaction-scoped so that an error, a cancel or a terminated backend can never
//! leak one (the seeds' session lock did, and every later tick returned 0 forever).
//! tick.sql spells the rollup lock as (4246, 1): its PL/pgSQL takes it with a try,
//! before calling into the library.

use crate::errors::SpiExt;
use pgrx::prelude::*;

/// The class of every usage_rollup advisory lock.
pub const CLASS: i32 = 4246;

/// Held by whoever writes the rollup and what derives from it: a tick (try), a
/// backfill slice and its finish, freeze(), the run rollup's build and the sealing
/// entries of the updates (wait).
pub const ROLLUP: i32 = 1;

/// Serialises attach() and detach().
pub const BINDING: i32 = 2;

/// Take the rollup lock for this transaction, waiting for a running tick or backfill
/// slice.
pub fn rollup() {
    take(ROLLUP, "take the rollup lock");
}

/// Take the binding lock for this transaction, waiting for a running attach or detach.
pub fn binding() {
    take(BINDING, "lock the binding");
}

fn take(key: i32, task: &str) {
    Spi::run_with_args("SELECT pg_catalog.pg_advisory_xact_lock($1, $2)", &[CLASS.into(), key.into()]).or_raise(task);
}
