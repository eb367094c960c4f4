//! Privileges (SPEC §5). Operations that write are not for PUBLIC (privileges.sql).
//! Internal SECURITY DEFINER functions that a public entry point calls with the
//! caller's rights stay callable by PUBLIC and check, here, that the session's role
//! holds EXECUTE on that entry point: a role granted backfill() or a report needs
//! no grant on the internals, and one without the grant gets nothing from them.

use crate::errors::Error;
use pgrx::pg_sys;

pgrx::extension_sql_file!("privileges.sql", name = "privileges", finalize);

/// The role the session runs as (SET ROLE included), outside every SECURITY DEFINER
/// function; inside one, current_user is the extension's owner.
pub fn session_role() -> pg_sys::Oid {
    // SAFETY: reads a backend global, valid inside a transaction.
    unsafe { pg_sys::GetOuterUserId() }
}

/// Raise unless the session's role may execute usage_rollup.<entry_point>.
pub fn require_execute(entry_point: &str) {
    let role = session_role();
    let (granted, name): (Option<bool>, Option<String>) = crate::read::two(
        "SELECT (SELECT bool_and(pg_catalog.has_function_privilege($1, p.oid, 'EXECUTE'))
                 FROM pg_catalog.pg_proc p
                 WHERE p.pronamespace = 'usage_rollup'::pg_catalog.regnamespace AND p.proname = $2),
                pg_catalog.pg_get_userbyid($1)::text",
        &[role.into(), entry_point.into()],
        "check privileges",
    );
    if granted != Some(true) {
        Error::NoExecute {
            entry_point: entry_point.into(),
            role: name.unwrap_or_default(),
            reason: "has no EXECUTE privilege on it",
        }
        .raise();
    }
}

/// Whether row-level security filters `relation` for `role` (InvalidOid: the
/// current user), as the executor would decide it.
pub fn rls_applies(relation: pg_sys::Oid, role: pg_sys::Oid) -> bool {
    // SAFETY: check_enable_rls with noError = true only reads the catalogs; a
    // dropped relation yields RLS_NONE.
    let result = unsafe { pg_sys::check_enable_rls(relation, role, true) };
    result == pg_sys::CheckEnableRlsResult::RLS_ENABLED as i32
}
