//! attach() and detach() (SPEC §2, §8): bind usage_rollup to the application's tables.
//!
//! attach validates every table against the contract and fails with one error that
//! lists every problem, so a DBA fixes the schema in one round trip. It is idempotent:
//! attaching again to the same tables repairs missing triggers and indexes and keeps
//! the rollup. Everything runs in the caller's transaction, so a failed attach leaves
//! nothing behind.

pub mod contract;
mod drop_guard;
mod indexes;

pub use indexes::ensure as ensure_indexes;

use crate::catalog;
use crate::errors::{Error, SpiExt};
use crate::invalidate;
use contract::{check_columns, check_relkind, Checked, Role, AGENTS, ISSUES, TASKS, USAGE, USERS};
use pgrx::pg_sys;
use pgrx::prelude::*;

/// A regclass argument taken as its bare oid. pgrx's PgRelation opens the table
/// while converting the argument, so a dangling oid (0::regclass, a dropped table's
/// oid) failed with relation_open's internal error before attach() could say what
/// is wrong; check_relkind() reports it instead.
#[derive(Clone, Copy)]
pub struct RegClass(pub pg_sys::Oid);

impl FromDatum for RegClass {
    unsafe fn from_polymorphic_datum(datum: pg_sys::Datum, is_null: bool, _typoid: pg_sys::Oid) -> Option<Self> {
        // SAFETY: a regclass datum is an oid.
        if is_null {
            None
        } else {
            unsafe { pg_sys::Oid::from_datum(datum, false) }.map(RegClass)
        }
    }
}

impl IntoDatum for RegClass {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        Some(pg_sys::Datum::from(self.0))
    }
    fn type_oid() -> pg_sys::Oid {
        pg_sys::REGCLASSOID
    }
}

// SAFETY: a regclass argument is passed as an oid datum.
unsafe impl<'fcx> pgrx::callconv::ArgAbi<'fcx> for RegClass {
    unsafe fn unbox_arg_unchecked(arg: pgrx::callconv::Arg<'_, 'fcx>) -> Self {
        RegClass(unsafe { pg_sys::Oid::unbox_arg_unchecked(arg) })
    }
}

pgrx::impl_sql_translatable!(RegClass, "regclass");

/// Bind usage_rollup to the application's tables and install the invalidation triggers.
/// Defaults are cast through text so the names resolve at call time, in the
/// caller's search_path (a plain regclass literal would resolve at CREATE EXTENSION).
#[pg_extern(volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn attach(
    usage: default!(Option<RegClass>, "'task_usage'::text::regclass"),
    tasks: default!(Option<RegClass>, "'agent_task_queue'::text::regclass"),
    agents: default!(Option<RegClass>, "'agent'::text::regclass"),
    issues: default!(Option<RegClass>, "'issue'::text::regclass"),
    users: default!(Option<RegClass>, "NULL"),
    create_indexes: default!(Option<bool>, "true"),
) {
    crate::standby::require_primary("attach");
    let oid = |r: Option<RegClass>, arg: &'static str| {
        r.map(|r| r.0).unwrap_or_else(|| Error::NullArgument { function: "attach".into(), argument: arg }.raise())
    };
    let roles: [(&Role, pg_sys::Oid); 4] = [
        (&USAGE, oid(usage, "usage")),
        (&TASKS, oid(tasks, "tasks")),
        (&AGENTS, oid(agents, "agents")),
        (&ISSUES, oid(issues, "issues")),
    ];
    let users = users.map(|r| r.0);
    let create_indexes = create_indexes
        .unwrap_or_else(|| Error::NullArgument { function: "attach".into(), argument: "create_indexes" }.raise());

    lock_binding();

    let mut all: Vec<(&Role, pg_sys::Oid)> = roles.to_vec();
    if let Some(u) = users {
        all.push((&USERS, u));
    }
    let names: Vec<String> = all.iter().map(|(role, oid)| check_relkind(role, *oid)).collect();
    // attach runs with the extension owner's rights (it writes usage_rollup's
    // tables), so the caller's right to put triggers and indexes on each table is
    // checked here: only its owner may.
    for ((_, oid), name) in all.iter().zip(&names) {
        check_owner("attach", *oid, name);
    }
    for i in 0..all.len() {
        for j in (i + 1)..all.len() {
            if all[i].1 == all[j].1 {
                Error::SameTableTwice { relation: names[i].clone(), roles: (all[i].0.argument, all[j].0.argument) }
                    .raise();
            }
        }
    }
    let mut problems = Vec::new();
    let checked: Vec<Checked> =
        all.iter().zip(&names).map(|((role, oid), name)| check_columns(role, *oid, name, &mut problems)).collect();
    if !problems.is_empty() {
        Error::ContractViolation {
            problems,
            hint: "Pass the right tables by name, e.g. usage_rollup.attach(usage => 'app.task_usage', \
                   tasks => 'app.agent_task_queue', agents => 'app.agent', issues => 'app.issue'), \
                   or add the missing columns; see docs/attach.md."
                .into(),
        }
        .raise();
    }

    let has_cost = checked[0].present_optional.contains(&"cost_usd_ticks");
    let has_failure_reason = checked[1].present_optional.contains(&"failure_reason");
    let current = current_binding_oids();
    match current {
        Some((cur, _)) if cur != [roles[0].1, roles[1].1, roles[2].1, roles[3].1] => {
            let text: String = Spi::get_one(
                "SELECT format('usage => %s, tasks => %s, agents => %s, issues => %s', \
                        usage_table, tasks_table, agents_table, issues_table) FROM usage_rollup.binding",
            )
            .or_raise("read the binding")
            .unwrap_or_default();
            Error::AttachedElsewhere { current: text }.raise();
        }
        Some(_) => {
            Spi::run_with_args(
                "UPDATE usage_rollup.binding SET users_table = $1, has_cost = $2, has_failure_reason = $3 WHERE id = 1",
                &[users.into(), has_cost.into(), has_failure_reason.into()],
            )
            .or_raise("update the binding");
        }
        None => {
            Spi::run_with_args(
                "INSERT INTO usage_rollup.binding (usage_table, tasks_table, agents_table, issues_table, users_table, \
                                                   has_cost, has_failure_reason) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    roles[0].1.into(),
                    roles[1].1.into(),
                    roles[2].1.into(),
                    roles[3].1.into(),
                    users.into(),
                    has_cost.into(),
                    has_failure_reason.into(),
                ],
            )
            .or_raise("store the binding");
            // Rows stamped before this point are history for backfill(); ticks take
            // over from here. The bound also waits for open transactions, which may
            // still commit rows stamped earlier (SPEC §3).
            Spi::run(
                "INSERT INTO usage_rollup.tick_state (id, watermark) \
                 VALUES (1, usage_rollup._safe_upper_bound('0'::interval)) \
                 ON CONFLICT (id) DO UPDATE SET watermark = coalesce(tick_state.watermark, excluded.watermark)",
            )
            .or_raise("initialise the watermark");
        }
    }

    let usage_oid = roles[0].1;
    let tasks_oid = roles[1].1;
    indexes::ensure(usage_oid, tasks_oid, create_indexes);
    invalidate::install(usage_oid, tasks_oid, roles[2].1, roles[3].1, has_failure_reason);
    // (rows already in the partitions are history, for backfill: nothing queued)
    invalidate::partitions::sync(false);
    // after the triggers: their lock keeps task writers out until this commits, so
    // the build sees every task and misses no change (see runs::build)
    if catalog::has(catalog::Sql::V0_5) {
        crate::runs::build();
    }

    pgrx::notice!(
        "usage_rollup is attached to {} (usage), {} (tasks), {} (agents), {} (issues){}",
        names[0],
        names[1],
        names[2],
        names[3],
        users.map(|_| format!(", {} (users)", names[4])).unwrap_or_default()
    );
}

/// Remove everything attach() installed: triggers, indexes it created, the binding,
/// and the rollup built from those tables (it would be stale for any other binding).
#[pg_extern(volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn detach() {
    crate::standby::require_primary("detach");
    lock_binding();
    let Some((oids, created_indexes)) = current_binding_oids() else {
        pgrx::notice!("usage_rollup is not attached; nothing to detach");
        return;
    };
    for oid in oids {
        let name: Option<String> = Spi::get_one_with_args(
            "SELECT (SELECT $1::regclass::text FROM pg_catalog.pg_class WHERE oid = $1)",
            &[oid.into()],
        )
        .or_raise("read the binding");
        if let Some(name) = name {
            check_owner("detach", oid, &name);
        }
    }
    invalidate::remove(oids);
    indexes::drop_created(&created_indexes);
    for statement in [
        "DELETE FROM usage_rollup.binding",
        "TRUNCATE usage_rollup.rollup, usage_rollup.dirty_bucket, usage_rollup.tick_run, usage_rollup.variant",
        "DELETE FROM usage_rollup.tick_state",
    ] {
        Spi::run(statement).or_raise("remove the binding");
    }
    // with the binding gone, no table is a partition of ours: every partition trigger goes
    invalidate::partitions::sync(false);
    if crate::recompute::per_workspace_installed() {
        Spi::run("TRUNCATE usage_rollup.rollup_ws").or_raise("remove the binding");
    }
    if crate::recompute::corrections::installed() {
        Spi::run("TRUNCATE usage_rollup.dirty_delta").or_raise("remove the binding");
    }
    if catalog::has(catalog::Sql::V0_5) {
        Spi::run("TRUNCATE usage_rollup.task_rollup, usage_rollup.dirty_task_bucket").or_raise("remove the binding");
    }
    crate::keyed::clear();
    pgrx::notice!("usage_rollup is detached; its triggers, indexes and rollup rows are removed");
}

/// The role the session runs as (SET ROLE included), outside this SECURITY DEFINER
/// function, must be a member of the table's owner (superusers always are).
fn check_owner(operation: &'static str, table: pg_sys::Oid, name: &str) {
    // SAFETY: reads a backend global, valid inside a transaction.
    let caller = unsafe { pg_sys::GetOuterUserId() };
    let (owns, role): (Option<bool>, Option<String>) = Spi::get_two_with_args(
        "SELECT pg_catalog.pg_has_role($1, c.relowner, 'USAGE'), pg_catalog.pg_get_userbyid($1)::text
         FROM pg_catalog.pg_class c WHERE c.oid = $2",
        &[caller.into(), table.into()],
    )
    .or_raise("check the table's owner");
    if owns == Some(false) {
        Error::NotOwner { operation, relation: name.into(), role: role.unwrap_or_default() }.raise();
    }
}

/// Serialise attach/detach (blocking, transaction-scoped: released on error too).
fn lock_binding() {
    crate::lock::binding();
}

/// The four bound table oids (usage, tasks, agents, issues) and the indexes attach created.
pub(crate) fn current_binding_oids() -> Option<([pg_sys::Oid; 4], Vec<String>)> {
    Spi::connect(|client| {
        let rows = client
            .select(
                "SELECT usage_table::oid, tasks_table::oid, agents_table::oid, issues_table::oid, created_indexes \
                 FROM usage_rollup.binding WHERE id = 1",
                None,
                &[],
            )
            .or_raise("read the binding");
        rows.into_iter().next().map(|r| {
            let o = |i| r.get::<pg_sys::Oid>(i).or_raise("read the binding").unwrap_or(pg_sys::InvalidOid);
            ([o(1), o(2), o(3), o(4)], r.get::<Vec<String>>(5).or_raise("read the binding").unwrap_or_default())
        })
    })
}

/// The 0.5.0 update's entry: install the run rollup's triggers on the attached tasks
/// table and build it (nothing when not attached).
#[pg_extern(volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn _attach_task_runs() {
    let Some(binding) = crate::binding::Binding::load() else { return };
    crate::invalidate::install_task_runs(&binding.tasks, binding.has_failure_reason);
    if let Some(([usage, tasks, _, _], _)) = current_binding_oids() {
        // (only says which indexes are missing: an update should not lock the tables to build them)
        ensure_indexes(usage, tasks, false);
    }
    crate::runs::build();
}
