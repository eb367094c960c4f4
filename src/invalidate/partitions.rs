//! Partitioned source tables (SPEC §2): the statement triggers on every partition,
//! kept in step with the partition tree, and the partitions that DDL adds or takes
//! away. The mechanism and its reasons are in partitions.sql; this module holds the
//! one part SQL cannot do: at ddl_command_start, read which tables a DROP TABLE or
//! an ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY names, while their rows are
//! still there to be queued (a sql_drop trigger comes after the rows are gone, and
//! PL/pgSQL sees the command tag only).

use crate::errors::SpiExt;
use pgrx::pg_sys;
use pgrx::prelude::*;

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
    crate::catalog::exists(
        "SELECT pg_catalog.to_regprocedure('usage_rollup._sync_partition_triggers(boolean)') IS NOT NULL",
    )
}

#[unsafe(no_mangle)]
#[doc(hidden)]
pub extern "C" fn pg_finfo_usage_rollup_partition_ddl_start() -> &'static pg_sys::Pg_finfo_record {
    const V1_API: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
    &V1_API
}

/// The event trigger function (no SQL arguments; the context is EventTriggerData).
#[unsafe(no_mangle)]
#[pg_guard]
pub unsafe extern "C-unwind" fn usage_rollup_partition_ddl_start(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: called by the function manager with a valid fcinfo; the context is
    // checked to be EventTriggerData before it is read.
    let leaving = unsafe {
        let context = (*fcinfo).context;
        if context.is_null() || (*context).type_ != pg_sys::NodeTag::T_EventTriggerData {
            pgrx::error!(
                "usage_rollup._partition_ddl_start() is an event trigger function; it cannot be called directly"
            );
        }
        leaving_tables((*(context as *mut pg_sys::EventTriggerData)).parsetree)
    };
    if leaving.is_empty() {
        return pg_sys::Datum::from(0);
    }
    for table in leaving {
        // (_enqueue_partition decides whether the table is a partition of ours)
        Spi::run_with_args("SELECT usage_rollup._enqueue_partition($1)", &[table.into()])
            .or_raise("queue the buckets of a partition that leaves");
    }
    pg_sys::Datum::from(0)
}

/// The existing tables whose rows a DROP TABLE or an ALTER TABLE ... DETACH
/// PARTITION CONCURRENTLY (or FINALIZE) is about to take away. A plain DETACH is
/// left to ddl_command_end (the detached table still has its rows then); a
/// concurrent one is queued here too, in its first transaction, so that reports
/// read those buckets from the raw rows while the detach waits for other queries.
///
/// # Safety
/// `tree` is the parse tree of the current utility command (or NULL).
unsafe fn leaving_tables(tree: *mut pg_sys::Node) -> Vec<pg_sys::Oid> {
    let mut found = Vec::new();
    if tree.is_null() {
        return found;
    }
    // SAFETY: node tags are checked before each cast; lists are PostgreSQL Lists of
    // the node types the grammar builds for these statements.
    unsafe {
        match (*tree).type_ {
            pg_sys::NodeTag::T_DropStmt => {
                let stmt = tree as *mut pg_sys::DropStmt;
                if (*stmt).removeType != pg_sys::ObjectType::OBJECT_TABLE {
                    return found;
                }
                for names in list_nodes((*stmt).objects) {
                    let range = pg_sys::makeRangeVarFromNameList(names as *mut pg_sys::List);
                    found.extend(relation_oid(range));
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
                    let concurrent = (*partition).concurrent;
                    match (*cmd).subtype {
                        pg_sys::AlterTableType::AT_DetachPartition if concurrent => {}
                        pg_sys::AlterTableType::AT_DetachPartitionFinalize => {}
                        _ => continue,
                    }
                    found.extend(relation_oid((*partition).name));
                }
            }
            _ => {}
        }
    }
    found
}

/// The nodes of a List (empty for NIL).
///
/// # Safety
/// `list` is a valid List of pointers, or NULL.
unsafe fn list_nodes(list: *mut pg_sys::List) -> Vec<*mut pg_sys::Node> {
    if list.is_null() {
        return Vec::new();
    }
    // SAFETY: a valid pointer List.
    unsafe { (0..(*list).length).map(|i| pg_sys::list_nth(list, i) as *mut pg_sys::Node).collect() }
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
