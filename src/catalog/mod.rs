//! The extension's own tables (schema.sql): binding, rollup, dirty_bucket,
//! tick_state, tick_run, and the bucket function every writer shares.

pgrx::extension_sql_file!("schema.sql", name = "catalog", bootstrap);

/// Whether the SQL objects of 0.3.0 are installed. A newer shared library runs with
/// the previous version's SQL until ALTER EXTENSION usage_rollup UPDATE, and 0.3.0's
/// update brings them all at once: the correction trigger function,
/// tick_state.high_watermark, tick_run.appended, the six-hour and daily widths of
/// rollup_ws and usage_rollup._ws_blocks, which stands for the lot here.
pub fn sql_0_3_installed() -> bool {
    exists("SELECT pg_catalog.to_regprocedure('usage_rollup._ws_blocks(timestamptz, timestamptz, timestamptz[], timestamptz[])') IS NOT NULL")
}

/// Whether the SQL objects of 0.5.0 are installed: the run rollup
/// (usage_rollup.task_rollup), its queue, its triggers' function and the block
/// tiling with weeks, usage_rollup._task_blocks, which stands for the lot here.
pub fn sql_0_5_installed() -> bool {
    exists("SELECT pg_catalog.to_regprocedure('usage_rollup._task_blocks(timestamptz, timestamptz, timestamptz[], timestamptz[])') IS NOT NULL")
}

/// Whether the SQL objects of 0.6.0 are installed: the keyed blocks
/// (usage_rollup.key_rollup, key_rollup_block, key_rollup_stale) and their tiling,
/// usage_rollup._key_blocks, which stands for the lot here.
pub fn sql_0_6_installed() -> bool {
    exists("SELECT pg_catalog.to_regprocedure('usage_rollup._key_blocks(timestamptz, timestamptz, timestamptz[], timestamptz[], integer[], timestamptz[])') IS NOT NULL")
}

/// Whether the SQL objects of 0.7.0 are installed: the keyed task days
/// (usage_rollup.key_task, key_task_day, key_task_block, key_task_stale), for which
/// usage_rollup._seal_key_tasks stands here.
pub fn sql_0_7_installed() -> bool {
    exists("SELECT pg_catalog.to_regprocedure('usage_rollup._seal_key_tasks()') IS NOT NULL")
}

/// Whether the SQL objects of 0.8.0 are installed: the keyed task hours
/// (usage_rollup.key_task_hour, key_task_hour_count, key_task_hour_block), for which
/// the last of them stands here.
pub fn sql_0_8_installed() -> bool {
    exists("SELECT pg_catalog.to_regclass('usage_rollup.key_task_hour_block') IS NOT NULL")
}

/// Whether the SQL objects of 0.9.0 are installed: the report tiling's edges found
/// in Rust (usage_rollup._day_edges, _range_edges) and the per-workspace rollup's
/// runs (usage_rollup._ws_runs), which stands for the lot here.
pub fn sql_0_9_installed() -> bool {
    exists("SELECT pg_catalog.to_regprocedure('usage_rollup._ws_runs(timestamptz, timestamptz, timestamptz[], timestamptz[])') IS NOT NULL")
}

/// Whether a catalog lookup (a SELECT of to_regprocedure(...) or to_regclass(...)
/// IS NOT NULL) found the object: how the library asks which SQL is installed.
pub fn exists(lookup: &str) -> bool {
    crate::read::one::<bool>(lookup, &[], "look up the installed SQL version").unwrap_or(false)
}
