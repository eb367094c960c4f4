//! Supporting indexes on the source tables. Invalidation and recompute look rows up
//! by these columns; without the indexes every tick would scan whole tables.
//!
//! attach() creates the missing ones (plain CREATE INDEX, inside its transaction, so
//! it blocks writes to that table while it builds). On a large, busy table create
//! them first with CREATE INDEX CONCURRENTLY and attach(create_indexes => false)
//! finds and uses them; the NOTICE prints the exact statements.

use crate::errors::SpiExt;
use pgrx::pg_sys;
use pgrx::prelude::*;

/// (role, column) pairs that need an index whose leading column is that column.
const NEEDED: &[(Table, &str)] = &[
    (Table::Usage, "created_at"),
    (Table::Usage, "updated_at"),
    (Table::Usage, "task_id"),
    (Table::Tasks, "agent_id"),
    (Table::Tasks, "issue_id"),
    // the run rollup recomputes a bucket's tasks by these (runs/cells.sql)
    (Table::Tasks, "completed_at"),
    (Table::Tasks, "started_at"),
];

#[derive(Clone, Copy)]
enum Table {
    Usage,
    Tasks,
}

pub fn ensure(usage: pg_sys::Oid, tasks: pg_sys::Oid, create: bool) {
    let mut missing = Vec::new();
    for (table, column) in NEEDED {
        let rel = match table {
            Table::Usage => usage,
            Table::Tasks => tasks,
        };
        let has: bool = Spi::get_one_with_args(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_index x \
                 JOIN pg_catalog.pg_class ic ON ic.oid = x.indexrelid \
                 JOIN pg_catalog.pg_am am ON am.oid = ic.relam AND am.amname = 'btree' \
                 JOIN pg_catalog.pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0] \
                 WHERE x.indrelid = $1 AND a.attname = $2 AND x.indisvalid AND x.indpred IS NULL)",
            &[rel.into(), (*column).into()],
        )
        .or_raise("look up supporting indexes")
        .unwrap_or(false);
        if !has {
            let (table_name, index_name): (Option<String>, Option<String>) = Spi::get_two_with_args(
                "SELECT c.oid::regclass::text, \
                        pg_catalog.left(format('usage_rollup_%s_%s_idx', c.relname, $2::text), 63) \
                 FROM pg_catalog.pg_class c WHERE c.oid = $1",
                &[rel.into(), (*column).into()],
            )
            .or_raise("name a supporting index");
            missing.push((table_name.unwrap_or_default(), index_name.unwrap_or_default(), *column));
        }
    }
    if missing.is_empty() {
        return;
    }
    if !create {
        let statements: Vec<String> = missing
            .iter()
            .map(|(t, i, c)| format!("CREATE INDEX CONCURRENTLY {} ON {t} ({});", quote_ident(i), quote_ident(c)))
            .collect();
        pgrx::notice!(
            "usage_rollup works best with {} more index(es) on the source tables; create them with:\n{}",
            statements.len(),
            statements.join("\n")
        );
        return;
    }
    for (table, index, column) in &missing {
        Spi::run(&format!("CREATE INDEX {} ON {table} ({})", quote_ident(index), quote_ident(column)))
            .or_raise("create a supporting index");
        let schema_qualified: String = Spi::get_one_with_args(
            "SELECT c.oid::regclass::text FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_index x ON x.indexrelid = c.oid \
             WHERE c.relname = $1 AND x.indrelid = $2::regclass",
            &[index.as_str().into(), table.as_str().into()],
        )
        .or_raise("record a supporting index")
        .unwrap_or_default();
        Spi::run_with_args(
            "UPDATE usage_rollup.binding SET created_indexes = created_indexes || $1 WHERE id = 1",
            &[schema_qualified.clone().into()],
        )
        .or_raise("record a supporting index");
        pgrx::notice!("created index {schema_qualified} on {table} ({column})");
    }
}

/// Drop the indexes attach() created (and only those).
pub fn drop_created(indexes: &[String]) {
    for index in indexes {
        // the name is regclass output, already quoted and qualified
        let exists: bool =
            Spi::get_one_with_args("SELECT pg_catalog.to_regclass($1) IS NOT NULL", &[index.as_str().into()])
                .or_raise("look up a created index")
                .unwrap_or(false);
        if exists {
            Spi::run(&format!("DROP INDEX {index}")).or_raise("drop a created index");
        }
    }
}

fn quote_ident(s: &str) -> String {
    pgrx::spi::quote_identifier(s)
}
