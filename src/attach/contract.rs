//! The source contract of SPEC §2: which columns each attached table must have, and
//! the check that reports every problem of every table in one error.

use crate::errors::{Error, SpiExt};
use pgrx::pg_sys;
use pgrx::prelude::*;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Ty {
    Uuid,
    Text,
    Bigint,
    Timestamptz,
}

impl Ty {
    fn accepts(self, oid: pg_sys::Oid) -> bool {
        match self {
            Ty::Uuid => oid == pg_sys::UUIDOID,
            // varchar behaves as text for every use here (lower(), equality, grouping)
            Ty::Text => oid == pg_sys::TEXTOID || oid == pg_sys::VARCHAROID,
            Ty::Bigint => oid == pg_sys::INT8OID,
            Ty::Timestamptz => oid == pg_sys::TIMESTAMPTZOID,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Ty::Uuid => "uuid",
            Ty::Text => "text",
            Ty::Bigint => "bigint",
            Ty::Timestamptz => "timestamp with time zone",
        }
    }
}

pub struct Column {
    pub name: &'static str,
    pub ty: Ty,
    pub optional: bool,
}

const fn req(name: &'static str, ty: Ty) -> Column {
    Column { name, ty, optional: false }
}
const fn opt(name: &'static str, ty: Ty) -> Column {
    Column { name, ty, optional: true }
}

/// A role of the contract: the attach() argument name and the columns it needs.
pub struct Role {
    pub argument: &'static str,
    pub columns: &'static [Column],
}

pub const USAGE: Role = Role {
    argument: "usage",
    columns: &[
        req("task_id", Ty::Uuid),
        req("provider", Ty::Text),
        req("model", Ty::Text),
        req("input_tokens", Ty::Bigint),
        req("output_tokens", Ty::Bigint),
        req("cache_read_tokens", Ty::Bigint),
        req("cache_write_tokens", Ty::Bigint),
        req("created_at", Ty::Timestamptz),
        req("updated_at", Ty::Timestamptz),
        opt("cost_usd_ticks", Ty::Bigint),
    ],
};

pub const TASKS: Role = Role {
    argument: "tasks",
    columns: &[
        req("id", Ty::Uuid),
        req("agent_id", Ty::Uuid),
        req("runtime_id", Ty::Uuid),
        req("issue_id", Ty::Uuid),
        req("status", Ty::Text),
        req("created_at", Ty::Timestamptz),
        req("started_at", Ty::Timestamptz),
        req("completed_at", Ty::Timestamptz),
        opt("failure_reason", Ty::Text),
    ],
};

pub const AGENTS: Role = Role { argument: "agents", columns: &[req("id", Ty::Uuid), req("workspace_id", Ty::Uuid)] };

pub const ISSUES: Role = Role {
    argument: "issues",
    columns: &[req("id", Ty::Uuid), req("workspace_id", Ty::Uuid), req("project_id", Ty::Uuid)],
};

pub const USERS: Role = Role { argument: "users", columns: &[req("id", Ty::Uuid), req("timezone", Ty::Text)] };

/// What validation learned about one attached table.
pub struct Checked {
    /// Optional columns present with the right type.
    pub present_optional: Vec<&'static str>,
}

/// Check that `oid` is a table; returns its display name. Raises NotATable.
pub fn check_relkind(role: &Role, oid: pg_sys::Oid) -> String {
    let (name, kind): (Option<String>, Option<String>) = Spi::get_two_with_args(
        "SELECT (SELECT c.oid::regclass::text FROM pg_catalog.pg_class c WHERE c.oid = $1),
                (SELECT c.relkind::text FROM pg_catalog.pg_class c WHERE c.oid = $1)",
        &[oid.into()],
    )
    .or_raise("look up a source table");
    let name = name.unwrap_or_else(|| format!("oid {}", oid.to_u32()));
    let kind = match kind.as_deref() {
        Some("r") | Some("p") => return name,
        Some("v") => "a view",
        Some("m") => "a materialized view",
        Some("f") => "a foreign table",
        Some("S") => "a sequence",
        Some("i") | Some("I") => "an index",
        Some("c") => "a composite type",
        Some("t") => "a TOAST table",
        Some(_) => "not a table",
        None => "a relation that no longer exists",
    };
    Error::NotATable { role: role.argument, relation: name, kind }.raise()
}

/// Collect every missing or mistyped column of one table into `problems`.
pub fn check_columns(role: &Role, oid: pg_sys::Oid, name: &str, problems: &mut Vec<String>) -> Checked {
    let found: Vec<(String, pg_sys::Oid, String)> = Spi::connect(|client| {
        client
            .select(
                "SELECT a.attname::text, a.atttypid, pg_catalog.format_type(a.atttypid, a.atttypmod) \
                 FROM pg_catalog.pg_attribute a \
                 WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped",
                None,
                &[oid.into()],
            )
            .or_raise("read source table columns")
            .map(|r| {
                (
                    r.get::<String>(1).or_raise("read source table columns").unwrap_or_default(),
                    r.get::<pg_sys::Oid>(2).or_raise("read source table columns").unwrap_or(pg_sys::InvalidOid),
                    r.get::<String>(3).or_raise("read source table columns").unwrap_or_default(),
                )
            })
            .collect()
    });
    let mut present_optional = Vec::new();
    for col in role.columns {
        match found.iter().find(|(n, _, _)| n == col.name) {
            None if col.optional => {}
            None => problems.push(format!(
                "table {name} ({} => ...): column \"{}\" is missing (expected {})",
                role.argument,
                col.name,
                col.ty.name()
            )),
            Some((_, typ, typname)) if !col.ty.accepts(*typ) => problems.push(format!(
                "table {name} ({} => ...): column \"{}\" has type {typname}, expected {}",
                role.argument,
                col.name,
                col.ty.name()
            )),
            Some(_) => {
                if col.optional {
                    present_optional.push(col.name);
                }
            }
        }
    }
    Checked { present_optional }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_names_unique_columns() {
        for role in [&USAGE, &TASKS, &AGENTS, &ISSUES, &USERS] {
            let mut names: Vec<_> = role.columns.iter().map(|c| c.name).collect();
            names.sort_unstable();
            let before = names.len();
            names.dedup();
            assert_eq!(before, names.len(), "duplicate column in role {}", role.argument);
        }
    }

    #[test]
    fn only_cost_and_failure_reason_are_optional() {
        let optional: Vec<_> = [&USAGE, &TASKS, &AGENTS, &ISSUES, &USERS]
            .iter()
            .flat_map(|r| r.columns.iter().filter(|c| c.optional).map(|c| c.name))
            .collect();
        assert_eq!(optional, vec!["cost_usd_ticks", "failure_reason"]);
    }
}
