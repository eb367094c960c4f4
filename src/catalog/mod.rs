//! The extension's own tables (schema.sql): binding, rollup, dirty_bucket,
//! tick_state, tick_run, and the bucket function every writer shares; and which
//! release's SQL objects are installed.
//!
//! Support window: this library runs with the SQL objects of every release from
//! 0.1.0 on. A new shared library is loaded as soon as it is installed, while the
//! catalog keeps the previous version's objects until ALTER EXTENSION usage_rollup
//! UPDATE, and the update scripts of 0.4.0 to 0.8.0 call into the library halfway
//! through the chain (to build the run rollup, seal keyed blocks and task days), so
//! every step's SQL must run. Each call reads the installed release once (`sql()`).

pub mod horizon;

use pgrx::pg_sys;
use pgrx::prelude::*;
use std::cell::Cell;

pgrx::extension_sql_file!("schema.sql", name = "catalog", bootstrap);

/// A release whose update brought SQL objects the library uses, oldest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Sql {
    V0_1,
    /// the per-workspace rollup (rollup_ws)
    V0_2,
    /// corrections queued by a statement trigger, tick_state.high_watermark, the
    /// per-workspace rollup's six-hour and daily widths
    V0_3,
    /// the run rollup (task_rollup), its queue and triggers, weekly tiling
    V0_5,
    /// the keyed blocks (key_rollup, key_rollup_block, key_rollup_stale)
    V0_6,
    /// the keyed task days (key_task, key_task_day, key_task_block, key_task_stale)
    V0_7,
    /// the keyed task hours (key_task_hour, key_task_hour_count, key_task_hour_block)
    V0_8,
    /// report edges found in Rust (_day_edges, _range_edges) and _ws_runs
    V0_9,
    /// the partition triggers, freeze() and the frozen records
    V0_10,
}

/// One lookup: the newest release whose marker object exists. Each marker is the
/// last object its update creates, so that a release counts only once all of its
/// objects are there (the update scripts call the library between steps).
const LEVEL: &str = "SELECT CASE
    WHEN pg_catalog.to_regprocedure('usage_rollup.freeze(timestamptz)') IS NOT NULL THEN 10
    WHEN pg_catalog.to_regprocedure('usage_rollup._ws_runs(timestamptz, timestamptz, timestamptz[], timestamptz[])') IS NOT NULL THEN 9
    WHEN pg_catalog.to_regclass('usage_rollup.key_task_hour_block') IS NOT NULL THEN 8
    WHEN pg_catalog.to_regprocedure('usage_rollup._seal_key_tasks()') IS NOT NULL THEN 7
    WHEN pg_catalog.to_regprocedure('usage_rollup._key_blocks(timestamptz, timestamptz, timestamptz[], timestamptz[], integer[], timestamptz[])') IS NOT NULL THEN 6
    WHEN pg_catalog.to_regprocedure('usage_rollup._task_blocks(timestamptz, timestamptz, timestamptz[], timestamptz[])') IS NOT NULL THEN 5
    WHEN pg_catalog.to_regprocedure('usage_rollup._ws_blocks(timestamptz, timestamptz, timestamptz[], timestamptz[])') IS NOT NULL THEN 3
    WHEN pg_catalog.to_regclass('usage_rollup.rollup_ws') IS NOT NULL THEN 2
    ELSE 1 END";

/// When the answer was read: the catalog can change only in another statement or,
/// inside one (ALTER EXTENSION ... UPDATE runs every step's script in one
/// statement), after a command counter increment, so these three name a moment
/// with one answer.
type Moment = (u32, i64, u32);

thread_local! {
    static READ: Cell<Option<(Moment, Sql)>> = const { Cell::new(None) };
}

fn moment() -> Moment {
    // SAFETY: plain reads of backend-local state, always set in a backend that runs SQL
    unsafe {
        #[cfg(not(feature = "pg17"))]
        let lxid = (*pg_sys::MyProc).lxid;
        #[cfg(feature = "pg17")]
        let lxid = (*pg_sys::MyProc).vxid.lxid;
        (lxid, pg_sys::GetCurrentStatementStartTimestamp(), pg_sys::GetCurrentCommandId(false))
    }
}

/// The release whose SQL objects are installed, read once per statement.
pub fn sql() -> Sql {
    let now = moment();
    if let Some((at, sql)) = READ.with(Cell::get) {
        if at == now {
            return sql;
        }
    }
    let level = crate::read::one::<i32>(LEVEL, &[], "look up the installed SQL version").unwrap_or(1);
    let sql = match level {
        10 => Sql::V0_10,
        9 => Sql::V0_9,
        8 => Sql::V0_8,
        7 => Sql::V0_7,
        6 => Sql::V0_6,
        5 => Sql::V0_5,
        3 => Sql::V0_3,
        2 => Sql::V0_2,
        _ => Sql::V0_1,
    };
    READ.with(|r| r.set(Some((now, sql))));
    sql
}

/// Whether the SQL objects of `release` (and every earlier one) are installed.
pub fn has(release: Sql) -> bool {
    sql() >= release
}

/// Rollup buckets a write covered: bucket starts (duplicates allowed), or the
/// bucket-aligned range [from, to).
pub enum Buckets {
    List(Vec<TimestampWithTimeZone>),
    Range(TimestampWithTimeZone, TimestampWithTimeZone),
}

impl Default for Buckets {
    fn default() -> Self {
        Buckets::List(Vec::new())
    }
}
