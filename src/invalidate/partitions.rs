//! Partitioned source tables (SPEC §2): the statement triggers on every partition,
//! kept in step with the partition tree, and the partitions that DDL adds or takes
//! away. The mechanism and its reasons are in partitions.sql; this module holds the
//! part SQL cannot do: read the parse tree of the command an event trigger fires
//! for. At ddl_command_start, which tables a DROP TABLE, DROP SCHEMA, DROP OWNED or
//! DETACH PARTITION ... CONCURRENTLY takes away, while their rows are still there to
//! be queued (a sql_drop trigger comes after the rows are gone, and PL/pgSQL sees
//! the command tag only); at ddl_command_end, whether the command added or detached
//! partitions at all, so that no other CREATE or ALTER TABLE pays for a sync (nor
//! does a restore's ALTER TABLE ... ADD CONSTRAINT, before the dump's own
//! partition triggers are created).

use crate::errors::SpiExt;
use crate::event_trigger::{self, list_nodes, string_value};
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::ffi::{CStr, CString};

pgrx::extension_sql_file!("partitions.sql", name = "invalidate_partitions", requires = ["invalidate_triggers"]);

/// Put the partition triggers on every partition of the bound tables and take them
/// off every other table (partitions.sql). With `enqueue`, arriving and departed
/// leaves have their buckets queued; attach() passes false.
pub fn sync(enqueue: bool) {
    if !installed() {
        return;
    }
    Spi::run_with_args("SELECT usage_rollup._sync_partition_triggers($1)", &[enqueue.into()])
        .or_raise("install the invalidation triggers on partitions");
}

/// Whether the SQL of 0.10.0 (the partition triggers) is installed.
fn installed() -> bool {
    crate::catalog::has(crate::catalog::Sql::V0_10)
}

/// What a command does to partitions, read from its parse tree.
#[derive(Default)]
struct Effect {
    /// Tables whose rows leave now (ddl_command_start).
    leaving: Vec<pg_sys::Oid>,
    /// Schemas and roles whose tables a DROP SCHEMA or DROP OWNED takes away.
    schemas: Vec<pg_sys::Oid>,
    roles: Vec<pg_sys::Oid>,
    /// Partitions were added or detached (ddl_command_end: sync).
    changes_tree: bool,
}

#[unsafe(no_mangle)]
#[doc(hidden)]
pub extern "C" fn pg_finfo_usage_rollup_partition_ddl() -> &'static pg_sys::Pg_finfo_record {
    const V1_API: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
    &V1_API
}

/// The event trigger function (no SQL arguments; the context is EventTriggerData).
/// SECURITY DEFINER without a pinned search_path (partitions.sql says why): every
/// statement it runs names its objects with their schema and takes its values as
/// typed parameters.
#[unsafe(no_mangle)]
#[pg_guard]
pub unsafe extern "C-unwind" fn usage_rollup_partition_ddl(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: called by the function manager with a valid fcinfo.
    let (at_end, effect) = unsafe {
        let data = event_trigger::data(fcinfo, "_partition_ddl");
        let at_end = !data.event.is_null() && CStr::from_ptr(data.event).to_bytes() == b"ddl_command_end";
        (at_end, effect_of(data.parsetree, at_end))
    };
    if at_end {
        if effect.changes_tree {
            sync(true);
        }
        return pg_sys::Datum::from(0);
    }
    // SAFETY: reads a backend global, valid inside a transaction.
    let caller = unsafe { pg_sys::GetOuterUserId() };
    for table in effect.leaving {
        // (_enqueue_partition decides whether the table is a partition of ours, and
        // whether the caller may drop it)
        Spi::run_with_args("SELECT usage_rollup._enqueue_partition($1, NULL, $2)", &[table.into(), caller.into()])
            .or_raise("queue the buckets of a partition that leaves");
    }
    if !effect.schemas.is_empty() || !effect.roles.is_empty() {
        Spi::run_with_args(
            "SELECT usage_rollup._enqueue_dropped($1, $2, $3)",
            &[effect.schemas.into(), effect.roles.into(), caller.into()],
        )
        .or_raise("queue the buckets of partitions that a DROP takes away");
    }
    pg_sys::Datum::from(0)
}

/// What the command of `tree` does to partitions. At ddl_command_start: the
/// existing tables a DROP TABLE names, the schemas of a DROP SCHEMA, the roles of a
/// DROP OWNED, and the partition of an ALTER TABLE ... DETACH PARTITION
/// CONCURRENTLY or FINALIZE (a plain DETACH is left to ddl_command_end: the detached
/// table still has its rows then; a concurrent one is queued in its first
/// transaction too, so that reports read those buckets from the raw rows while the
/// detach waits for other queries). At ddl_command_end: whether it is a CREATE TABLE
/// ... PARTITION OF, an ATTACH or DETACH PARTITION, or a CREATE SCHEMA (whose
/// CREATE TABLE elements fire no event trigger of their own).
///
/// # Safety
/// `tree` is the parse tree of the current utility command (or NULL).
unsafe fn effect_of(tree: *mut pg_sys::Node, at_end: bool) -> Effect {
    let mut effect = Effect::default();
    if tree.is_null() {
        return effect;
    }
    // SAFETY: node tags are checked before each cast; lists are PostgreSQL Lists of
    // the node types the grammar builds for these statements.
    unsafe {
        match (*tree).type_ {
            pg_sys::NodeTag::T_DropStmt if !at_end => {
                let stmt = tree as *mut pg_sys::DropStmt;
                match (*stmt).removeType {
                    pg_sys::ObjectType::OBJECT_TABLE => {
                        for names in list_nodes((*stmt).objects) {
                            let range = pg_sys::makeRangeVarFromNameList(names as *mut pg_sys::List);
                            effect.leaving.extend(relation_oid(range));
                        }
                    }
                    pg_sys::ObjectType::OBJECT_SCHEMA => {
                        for name in list_nodes((*stmt).objects) {
                            let Some(Ok(name)) = string_value(name).map(CString::new) else {
                                continue;
                            };
                            let schema = pg_sys::get_namespace_oid(name.as_ptr(), true);
                            if schema != pg_sys::InvalidOid {
                                effect.schemas.push(schema);
                            }
                        }
                    }
                    _ => {}
                }
            }
            pg_sys::NodeTag::T_DropOwnedStmt if !at_end => {
                let stmt = tree as *mut pg_sys::DropOwnedStmt;
                for role in list_nodes((*stmt).roles) {
                    if (*role).type_ == pg_sys::NodeTag::T_RoleSpec {
                        let oid = pg_sys::get_rolespec_oid(role as *const pg_sys::RoleSpec, true);
                        if oid != pg_sys::InvalidOid {
                            effect.roles.push(oid);
                        }
                    }
                }
            }
            pg_sys::NodeTag::T_AlterTableStmt => {
                let stmt = tree as *mut pg_sys::AlterTableStmt;
                for cmd in list_nodes((*stmt).cmds) {
                    if (*cmd).type_ != pg_sys::NodeTag::T_AlterTableCmd {
                        continue;
                    }
                    let cmd = cmd as *mut pg_sys::AlterTableCmd;
                    let def = (*cmd).def;
                    if def.is_null() || (*def).type_ != pg_sys::NodeTag::T_PartitionCmd {
                        continue;
                    }
                    let partition = def as *mut pg_sys::PartitionCmd;
                    match (*cmd).subtype {
                        pg_sys::AlterTableType::AT_AttachPartition
                        | pg_sys::AlterTableType::AT_DetachPartition
                        | pg_sys::AlterTableType::AT_DetachPartitionFinalize
                            if at_end =>
                        {
                            effect.changes_tree = true;
                        }
                        pg_sys::AlterTableType::AT_DetachPartition if (*partition).concurrent => {
                            effect.leaving.extend(relation_oid((*partition).name));
                        }
                        pg_sys::AlterTableType::AT_DetachPartitionFinalize => {
                            effect.leaving.extend(relation_oid((*partition).name));
                        }
                        _ => {}
                    }
                }
            }
            pg_sys::NodeTag::T_CreateStmt if at_end => {
                effect.changes_tree = !(*(tree as *mut pg_sys::CreateStmt)).partbound.is_null();
            }
            pg_sys::NodeTag::T_CreateSchemaStmt if at_end => {
                effect.changes_tree = true;
            }
            _ => {}
        }
    }
    effect
}

/// The oid of a named relation, without locking it; None if there is none (DROP
/// TABLE IF EXISTS of a missing table: the command itself says so).
///
/// # Safety
/// `range` is a valid RangeVar, or NULL.
unsafe fn relation_oid(range: *mut pg_sys::RangeVar) -> Option<pg_sys::Oid> {
    if range.is_null() {
        return None;
    }
    // SAFETY: a valid RangeVar; RVR_MISSING_OK returns InvalidOid instead of raising.
    let oid = unsafe {
        pg_sys::RangeVarGetRelidExtended(
            range,
            pg_sys::NoLock as pg_sys::LOCKMODE,
            pg_sys::RVROption::RVR_MISSING_OK,
            None,
            std::ptr::null_mut(),
        )
    };
    (oid != pg_sys::InvalidOid).then_some(oid)
}
