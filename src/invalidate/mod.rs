//! Installation of the invalidation triggers on the attached tables (SPEC §3).
//! The trigger functions themselves are in triggers.sql; the reasons for their shape
//! are written there.

pub mod partitions;

use crate::catalog;
use crate::errors::SpiExt;
use pgrx::pg_sys;
use pgrx::prelude::*;

pgrx::extension_sql_file!("triggers.sql", name = "invalidate_triggers", requires = ["catalog"]);

/// Trigger names per table. Named usage_rollup_<role>_<event> so that `\d task_usage`
/// shows who owns them.
const USAGE_TRIGGERS: &[&str] = &[
    "usage_rollup_usage_delete",
    "usage_rollup_usage_insert",
    "usage_rollup_usage_update",
    CORRECTION_TRIGGER,
    "usage_rollup_usage_truncate",
];

/// The usage trigger that queues corrected rows (triggers.sql). A tick appends new
/// rows to the rollup instead of recomputing their buckets only while it is in
/// place: a shared library newer than the installed SQL runs without it until
/// ALTER EXTENSION usage_rollup UPDATE installs it.
pub const CORRECTION_TRIGGER: &str = "usage_rollup_usage_correct";
const TASKS_TRIGGERS: &[&str] = &[
    "usage_rollup_tasks_delete",
    "usage_rollup_tasks_update",
    "usage_rollup_tasks_truncate",
    "usage_rollup_tasks_runs_insert",
    "usage_rollup_tasks_runs_update",
];
const AGENTS_TRIGGERS: &[&str] =
    &["usage_rollup_agents_delete", "usage_rollup_agents_update", "usage_rollup_agents_truncate"];
const ISSUES_TRIGGERS: &[&str] =
    &["usage_rollup_issues_delete", "usage_rollup_issues_update", "usage_rollup_issues_truncate"];

fn relname(oid: pg_sys::Oid) -> String {
    Spi::get_one_with_args("SELECT $1::regclass::text", &[oid.into()])
        .or_raise("name a source table")
        .unwrap_or_default()
}

/// Install (or repair: CREATE OR REPLACE) every trigger. (The table oids some of
/// them pass as arguments are no longer read: triggers.sql reads the binding.)
pub fn install(
    usage: pg_sys::Oid,
    tasks: pg_sys::Oid,
    agents: pg_sys::Oid,
    issues: pg_sys::Oid,
    has_failure_reason: bool,
) {
    let (u, t, a, i) = (relname(usage), relname(tasks), relname(agents), relname(issues));
    let (uo, to) = (usage.to_u32(), tasks.to_u32());
    let statements = [
        // usage
        format!(
            "CREATE OR REPLACE TRIGGER usage_rollup_usage_delete AFTER DELETE ON {u} \
             REFERENCING OLD TABLE AS usage_rollup_old FOR EACH STATEMENT \
             EXECUTE FUNCTION usage_rollup._invalidate_usage_delete()"
        ),
        // An ordinary insert stamps updated_at = now() (or later) and is found by the
        // watermark; only a row stamped in the past needs the queue.
        format!(
            "CREATE OR REPLACE TRIGGER usage_rollup_usage_insert AFTER INSERT ON {u} FOR EACH ROW \
             WHEN (coalesce(NEW.updated_at, NEW.created_at) < pg_catalog.now()) \
             EXECUTE FUNCTION usage_rollup._invalidate_usage_row()"
        ),
        format!(
            "CREATE OR REPLACE TRIGGER usage_rollup_usage_update AFTER UPDATE ON {u} FOR EACH ROW \
             WHEN (OLD.task_id IS DISTINCT FROM NEW.task_id OR OLD.created_at IS DISTINCT FROM NEW.created_at \
                   OR OLD.provider IS DISTINCT FROM NEW.provider OR OLD.model IS DISTINCT FROM NEW.model \
                   OR NOT (coalesce(NEW.updated_at, NEW.created_at) >= pg_catalog.now())) \
             EXECUTE FUNCTION usage_rollup._invalidate_usage_row()"
        ),
        truncate_trigger("usage_rollup_usage_truncate", usage, &u),
        // tasks: agent_id is immutable in the contract, but if it ever changes the
        // usage must follow the new agent's workspace (the seeds only had a comment).
        format!(
            "CREATE OR REPLACE TRIGGER usage_rollup_tasks_update AFTER UPDATE OF id, agent_id, runtime_id, issue_id \
             ON {t} FOR EACH ROW \
             WHEN (OLD.id IS DISTINCT FROM NEW.id OR OLD.agent_id IS DISTINCT FROM NEW.agent_id \
                   OR OLD.runtime_id IS DISTINCT FROM NEW.runtime_id OR OLD.issue_id IS DISTINCT FROM NEW.issue_id) \
             EXECUTE FUNCTION usage_rollup._invalidate_tasks_update('{uo}')"
        ),
        format!(
            "CREATE OR REPLACE TRIGGER usage_rollup_tasks_delete AFTER DELETE ON {t} \
             REFERENCING OLD TABLE AS usage_rollup_old FOR EACH STATEMENT \
             EXECUTE FUNCTION usage_rollup._invalidate_tasks_delete('{uo}')"
        ),
        truncate_trigger("usage_rollup_tasks_truncate", tasks, &t),
        // agents: hard delete (seeds W4) and a change of workspace
        format!(
            "CREATE OR REPLACE TRIGGER usage_rollup_agents_update AFTER UPDATE OF id, workspace_id ON {a} FOR EACH ROW \
             WHEN (OLD.id IS DISTINCT FROM NEW.id OR OLD.workspace_id IS DISTINCT FROM NEW.workspace_id) \
             EXECUTE FUNCTION usage_rollup._invalidate_parent_update('{uo}', '{to}', 'agent_id')"
        ),
        format!(
            "CREATE OR REPLACE TRIGGER usage_rollup_agents_delete AFTER DELETE ON {a} \
             REFERENCING OLD TABLE AS usage_rollup_old FOR EACH STATEMENT \
             EXECUTE FUNCTION usage_rollup._invalidate_parent_delete('{uo}', '{to}', 'agent_id')"
        ),
        format!(
            "CREATE OR REPLACE TRIGGER usage_rollup_agents_truncate AFTER TRUNCATE ON {a} FOR EACH STATEMENT \
             EXECUTE FUNCTION usage_rollup._invalidate_truncate()"
        ),
        // issues: project move (and project delete via SET NULL), issue delete
        format!(
            "CREATE OR REPLACE TRIGGER usage_rollup_issues_update AFTER UPDATE OF id, project_id ON {i} FOR EACH ROW \
             WHEN (OLD.id IS DISTINCT FROM NEW.id OR OLD.project_id IS DISTINCT FROM NEW.project_id) \
             EXECUTE FUNCTION usage_rollup._invalidate_parent_update('{uo}', '{to}', 'issue_id')"
        ),
        format!(
            "CREATE OR REPLACE TRIGGER usage_rollup_issues_delete AFTER DELETE ON {i} \
             REFERENCING OLD TABLE AS usage_rollup_old FOR EACH STATEMENT \
             EXECUTE FUNCTION usage_rollup._invalidate_parent_delete('{uo}', '{to}', 'issue_id')"
        ),
        format!(
            "CREATE OR REPLACE TRIGGER usage_rollup_issues_truncate AFTER TRUNCATE ON {i} FOR EACH STATEMENT \
             EXECUTE FUNCTION usage_rollup._invalidate_truncate()"
        ),
    ];
    for statement in &statements {
        Spi::run(statement).or_raise("install an invalidation trigger");
    }
    // the SQL of a version before 0.3.0 (under this library until ALTER EXTENSION
    // UPDATE, which installs it) has no correction trigger function
    if catalog::has(catalog::Sql::V0_3) {
        Spi::run(&format!(
            "CREATE OR REPLACE TRIGGER {CORRECTION_TRIGGER} AFTER UPDATE ON {u} \
             REFERENCING OLD TABLE AS usage_rollup_old FOR EACH STATEMENT \
             EXECUTE FUNCTION usage_rollup._invalidate_usage_correct()"
        ))
        .or_raise("install an invalidation trigger");
    }
    // (the run rollup and its queue come with the 0.5.0 SQL)
    if catalog::has(catalog::Sql::V0_5) {
        install_task_runs(&t, has_failure_reason);
    }
}

/// The TRUNCATE trigger of the usage or tasks table; on a partitioned one, none: its
/// TRUNCATE fires the TRUNCATE triggers of all its partitions, which carry their own
/// (partitions.sql), and one on the table itself would queue every bucket again.
fn truncate_trigger(name: &str, oid: pg_sys::Oid, table: &str) -> String {
    let partitioned =
        Spi::get_one_with_args::<bool>("SELECT relkind = 'p' FROM pg_catalog.pg_class WHERE oid = $1", &[oid.into()])
            .or_raise("look up a source table")
            .unwrap_or(false);
    if partitioned {
        format!("DROP TRIGGER IF EXISTS {name} ON {table}")
    } else {
        format!(
            "CREATE OR REPLACE TRIGGER {name} AFTER TRUNCATE ON {table} FOR EACH STATEMENT \
             EXECUTE FUNCTION usage_rollup._invalidate_truncate()"
        )
    }
}

/// The tasks table's triggers for the run rollup (triggers.sql, _invalidate_task_runs):
/// a change to a task's status, times, failure reason, agent or id queues its
/// buckets. Inserts of tasks that have neither time, and updates of anything else
/// (a heartbeat, a runtime binding), do not call the function at all.
pub fn install_task_runs(tasks: &str, has_failure_reason: bool) {
    let failure_reason =
        if has_failure_reason { " OR OLD.failure_reason IS DISTINCT FROM NEW.failure_reason" } else { "" };
    for statement in [
        format!(
            "CREATE OR REPLACE TRIGGER usage_rollup_tasks_runs_insert AFTER INSERT ON {tasks} FOR EACH ROW \
             WHEN (NEW.started_at IS NOT NULL OR NEW.completed_at IS NOT NULL) \
             EXECUTE FUNCTION usage_rollup._invalidate_task_runs()"
        ),
        format!(
            "CREATE OR REPLACE TRIGGER usage_rollup_tasks_runs_update AFTER UPDATE ON {tasks} FOR EACH ROW \
             WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.started_at IS DISTINCT FROM NEW.started_at \
                   OR OLD.completed_at IS DISTINCT FROM NEW.completed_at OR OLD.agent_id IS DISTINCT FROM NEW.agent_id \
                   OR OLD.id IS DISTINCT FROM NEW.id{failure_reason}) \
             EXECUTE FUNCTION usage_rollup._invalidate_task_runs()"
        ),
    ] {
        Spi::run(&statement).or_raise("install an invalidation trigger");
    }
}

/// Whether corrections of the usage table are queued: the correction trigger exists
/// and is enabled (see CORRECTION_TRIGGER).
pub fn corrections_queued(usage: &str) -> bool {
    Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger \
                        WHERE tgrelid = pg_catalog.to_regclass($1) AND tgname = $2 AND tgenabled <> 'D')",
        &[usage.into(), CORRECTION_TRIGGER.into()],
    )
    .or_raise("look up the correction trigger")
    .unwrap_or(false)
}

/// Drop every trigger attach() installed. Tables dropped since attach are skipped.
pub fn remove(oids: [pg_sys::Oid; 4]) {
    let sets = [USAGE_TRIGGERS, TASKS_TRIGGERS, AGENTS_TRIGGERS, ISSUES_TRIGGERS];
    for (oid, triggers) in oids.iter().zip(sets) {
        let exists: bool = Spi::get_one_with_args(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class WHERE oid = $1)",
            &[(*oid).into()],
        )
        .or_raise("look up a source table")
        .unwrap_or(false);
        if !exists {
            continue;
        }
        let table = relname(*oid);
        for trigger in triggers {
            Spi::run(&format!("DROP TRIGGER IF EXISTS {trigger} ON {table}")).or_raise("drop an invalidation trigger");
        }
    }
}
