//! usage_rollup: an incrementally maintained UTC rollup of per-task LLM token usage,
//! with timezone-correct reports, for PostgreSQL.
//!
//! The module layout follows SPEC.md: the source contract and attach (§2), the
//! invalidation triggers, window recompute, tick and backfill of the rollup (§3),
//! health and scheduling (§3), settings (§8).

use pgrx::prelude::*;

::pgrx::pg_module_magic!(name, version);

mod attach;
mod backfill;
mod binding;
mod catalog;
mod errors;
mod event_trigger;
mod freeze;
mod health;
mod invalidate;
mod keyed;
mod lock;
mod privileges;
mod read;
mod recompute;
mod reports;
mod runs;
mod schedule;
mod settings;
mod sql;
mod standby;
mod template;
mod tick;
mod tz;

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    errors::no_backtraces();
    settings::init();
}

/// Version of the loaded shared library, to compare with `pg_extension.extversion`
/// after an upgrade (a mismatch means the server still runs an old .so).
#[pg_extern(immutable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
