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
use crate::event_trigger;
use pgrx::pg_sys;
use pgrx::prelude::*;

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
    // SAFETY: called by the function manager with a valid fcinfo; the parse tree of
    // a DROP EXTENSION is a DropStmt whose objects are String nodes (the names).
    let drops_us = unsafe {
        let data = event_trigger::data(fcinfo, "_drop_guard");
        event_trigger::node_of::<pg_sys::DropStmt>(data.parsetree, pg_sys::NodeTag::T_DropStmt).is_some_and(|stmt| {
            (*stmt).removeType == pg_sys::ObjectType::OBJECT_EXTENSION
                && event_trigger::list_nodes((*stmt).objects)
                    .into_iter()
                    .any(|name| event_trigger::string_value(name).as_deref() == Some("usage_rollup"))
        })
    };
    if drops_us {
        if let Some(tables) = attached_tables() {
            Error::DropWhileAttached { tables }.raise();
        }
    }
    pg_sys::Datum::from(0)
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
