//! The frozen horizon (tick_state.frozen_before, SPEC §3): before it the rollup's
//! buckets are final (freeze.rs moves it). Read by the tick, backfill, verify(), the
//! task-day seals and the reports.

use pgrx::prelude::*;

/// Whether the SQL of 0.10.0 is installed (tick_state.frozen_before and freeze()).
pub fn installed() -> bool {
    super::has(super::Sql::V0_10)
}

/// The horizon in force (the tick, backfill()). None: nothing frozen, or the SQL of
/// an earlier version.
pub fn current() -> Option<TimestampWithTimeZone> {
    if !installed() {
        return None;
    }
    crate::read::one("SELECT frozen_before FROM usage_rollup.tick_state WHERE id = 1", &[], "read the frozen horizon")
}

/// The horizon in SQL when nothing is frozen (or a report does not see frozen history).
pub const NONE: &str = "'-infinity'::timestamptz";

/// The horizon as a scalar subquery (NULL: nothing frozen), for SQL that reads it in
/// its own snapshot: verify(), the task-day seals, and the report literals.
pub fn column() -> &'static str {
    if installed() {
        "(SELECT t.frozen_before FROM usage_rollup.tick_state t WHERE t.id = 1)"
    } else {
        "NULL::timestamptz"
    }
}
