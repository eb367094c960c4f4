//! DROP EXTENSION guard (SPEC §7: clean DROP EXTENSION). While attached, the
//! invalidation triggers on the application's tables depend on our functions, so a
//! plain DROP EXTENSION fails with a dependency list and a hint to use CASCADE, and
//! CASCADE would drop the triggers but leave the indexes attach() created. Neither
//! tells the DBA what to do; this ddl_command_start event trigger refuses the drop
//! first, naming detach().
//!
//! Written in Rust because only a C-language event trigger sees the parse tree: at
//! ddl_command_start PL/pgSQL knows the command tag, not which extension is dropped,
//! and a sql_drop trigger would itself be dropped with the extension before it fires.

use crate::errors::{Error, SpiExt};
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::ffi::CStr;

pgrx::extension_sql!(
    r#"
CREATE FUNCTION usage_rollup._drop_guard() RETURNS event_trigger
LANGUAGE c SET search_path = pg_catalog, pg_temp AS 'MODULE_PATHNAME', 'usage_rollup_drop_guard';
COMMENT ON FUNCTION usage_rollup._drop_guard() IS
    'Event trigger: refuses DROP EXTENSION usage_rollup while attached, naming detach().';
CREATE EVENT TRIGGER usage_rollup_drop_guard ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION') EXECUTE FUNCTION usage_rollup._drop_guard();
"#,
    name = "drop_guard",
    requires = ["catalog"]
);

#[unsafe(no_mangle)]
#[doc(hidden)]
pub extern "C" fn pg_finfo_usage_rollup_drop_guard() -> &'static pg_sys::Pg_finfo_record {
    const V1_API: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
    &V1_API
}

/// The event trigger function (no SQL arguments; the context is EventTriggerData).
#[unsafe(no_mangle)]
#[pg_guard]
pub unsafe extern "C-unwind" fn usage_rollup_drop_guard(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: called by the function manager with a valid fcinfo; the context is
    // checked to be EventTriggerData before it is read, and the parse tree of a
    // DROP EXTENSION is a DropStmt whose objects are String nodes (the names).
    unsafe {
        let context = (*fcinfo).context;
        if context.is_null() || (*context).type_ != pg_sys::NodeTag::T_EventTriggerData {
            pgrx::error!("usage_rollup._drop_guard() is an event trigger function; it cannot be called directly");
        }
        let data = context as *mut pg_sys::EventTriggerData;
        let tree = (*data).parsetree;
        if tree.is_null() || (*tree).type_ != pg_sys::NodeTag::T_DropStmt {
            return pg_sys::Datum::from(0);
        }
        let stmt = tree as *mut pg_sys::DropStmt;
        if (*stmt).removeType != pg_sys::ObjectType::OBJECT_EXTENSION || !drops_us((*stmt).objects) {
            return pg_sys::Datum::from(0);
        }
    }
    if let Some(tables) = attached_tables() {
        Error::DropWhileAttached { tables }.raise();
    }
    pg_sys::Datum::from(0)
}

/// Whether a DROP EXTENSION name list contains usage_rollup.
unsafe fn drops_us(objects: *mut pg_sys::List) -> bool {
    if objects.is_null() {
        return false;
    }
    // SAFETY: a valid List of String (Value before PostgreSQL 15) nodes.
    unsafe {
        (0..(*objects).length).any(|i| {
            let node = pg_sys::list_nth(objects, i) as *mut pg_sys::Node;
            !node.is_null() && (*node).type_ == pg_sys::NodeTag::T_String && name_of(node) == "usage_rollup"
        })
    }
}

#[cfg(not(any(feature = "pg13", feature = "pg14")))]
pub(crate) unsafe fn name_of(node: *mut pg_sys::Node) -> String {
    // SAFETY: a T_String node.
    unsafe { CStr::from_ptr((*(node as *mut pg_sys::String)).sval).to_string_lossy().into_owned() }
}

#[cfg(any(feature = "pg13", feature = "pg14"))]
pub(crate) unsafe fn name_of(node: *mut pg_sys::Node) -> String {
    // SAFETY: a T_String Value node.
    unsafe { CStr::from_ptr((*(node as *mut pg_sys::Value)).val.str_).to_string_lossy().into_owned() }
}

/// The attached tables that still exist (a binding whose tables were all dropped
/// left no trigger or index behind, so the drop is clean).
fn attached_tables() -> Option<String> {
    Spi::get_one::<String>(
        "SELECT string_agg(c.oid::pg_catalog.regclass::text, ', ' ORDER BY t.ord)
         FROM usage_rollup.binding b,
              unnest(ARRAY[b.usage_table, b.tasks_table, b.agents_table, b.issues_table]::pg_catalog.oid[])
                  WITH ORDINALITY t (relid, ord)
         JOIN pg_catalog.pg_class c ON c.oid = t.relid",
    )
    .or_raise("read the binding")
}
