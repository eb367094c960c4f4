//! Whose rights a report reads with (SPEC §5: reports honour row-level security,
//! and a role granted a report can read it).
//!
//! The rollup aggregates every workspace and is computed without anyone's row-level
//! security, so a report reads it with the extension owner's rights only when no
//! policy applies to the caller: then the answer equals what the caller would
//! aggregate from the raw rows, and EXECUTE on the report is the whole grant a
//! dashboard role needs. When a policy applies to the caller on a source table, the
//! report is computed from the raw rows with the caller's rights (exact under any
//! policy); when one applies on a rollup table only, the rollup tables are read
//! with the caller's rights.

use crate::errors::Error;
use crate::privileges::{require_execute, rls_applies, session_role};
use crate::read;
use pgrx::pg_sys;
use pgrx::prelude::*;

/// How the current user reads reports: 'owner' (no policy applies: the rollup with
/// the extension owner's rights), 'raw' (a policy applies on a source table),
/// 'rollup' (a policy applies on a rollup table only).
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn _read_mode() -> &'static str {
    if bound_relations().into_iter().any(|oid| rls_applies(oid, pg_sys::InvalidOid)) {
        "raw"
    } else if rollup_oids().into_iter().any(|oid| rls_applies(oid, pg_sys::InvalidOid)) {
        "rollup"
    } else {
        "owner"
    }
}

/// _read_mode() for the report SQL built in Rust.
pub(super) fn read_mode() -> &'static str {
    _read_mode()
}

/// Guard of a report's owner-rights path (the *_as_owner functions, callable by
/// PUBLIC): the session's role must hold EXECUTE on the public report and no policy
/// may apply to it, or calling the internal function directly would bypass both.
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn _check_report_access(report: &str) {
    require_execute(report);
    let role = session_role();
    if bound_relations().into_iter().chain(rollup_oids()).any(|oid| rls_applies(oid, role)) {
        let name: Option<String> =
            read::one("SELECT pg_catalog.pg_get_userbyid($1)::text", &[role.into()], "name the role");
        Error::NoExecute {
            entry_point: report.into(),
            role: name.unwrap_or_default(),
            reason: "is subject to row-level security, so the report must run with its own rights",
        }
        .raise();
    }
}

/// The attached tables, read with the owner's rights (the caller may not read the binding).
fn bound_relations() -> Vec<pg_sys::Oid> {
    read::one::<Vec<pg_sys::Oid>>("SELECT usage_rollup._bound_relations()", &[], "read the binding").unwrap_or_default()
}

/// The rollup tables reports read besides the sources: the rollup, the per-workspace
/// rollup, the run rollup (0.5.0), the keyed blocks (0.6.0), task days (0.7.0) and hours (0.8.0),
/// the records of frozen history (0.10.0), those installed.
fn rollup_oids() -> Vec<pg_sys::Oid> {
    read::one::<Vec<pg_sys::Oid>>(
        "SELECT pg_catalog.array_remove(ARRAY[pg_catalog.to_regclass('usage_rollup.rollup'),
                                              pg_catalog.to_regclass('usage_rollup.rollup_ws'),
                                              pg_catalog.to_regclass('usage_rollup.task_rollup'),
                                              pg_catalog.to_regclass('usage_rollup.key_rollup'),
                                              pg_catalog.to_regclass('usage_rollup.key_task'),
                                              pg_catalog.to_regclass('usage_rollup.key_task_hour'),
                                              pg_catalog.to_regclass('usage_rollup.key_task_frozen'),
                                              pg_catalog.to_regclass('usage_rollup.task_frozen'),
                                              pg_catalog.to_regclass('usage_rollup.variant_frozen')]::pg_catalog.oid[], NULL)",
        &[],
        "find the rollup",
    )
    .unwrap_or_default()
}
