//! Hot standbys (SPEC §4): reports, status, lag_seconds(), verify() and the time
//! zone helpers run there (they read through crate::read, which assigns no
//! transaction id); every function that writes refuses at once with an error of
//! its own that says to run it on the primary, before it takes a lock or records
//! anything (a failed tick recorded on a standby would need a write, and the
//! failure recorder's background worker never starts during recovery).

use crate::errors::Error;
use pgrx::pg_sys;
use pgrx::prelude::*;

/// Whether this server is a standby in recovery.
pub fn in_recovery() -> bool {
    // SAFETY: reads shared memory state; callable in any backend.
    unsafe { pg_sys::RecoveryInProgress() }
}

/// Refuse usage_rollup.`function` (which writes) on a standby.
pub fn require_primary(function: &str) {
    if in_recovery() {
        Error::OnStandby { function: function.into() }.raise();
    }
}

/// require_primary() for the entry points written in SQL (tick()).
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn _require_primary(function: &str) {
    require_primary(function)
}
