//! The extension's own tables (schema.sql): binding, rollup, dirty_bucket,
//! tick_state, tick_run, and the bucket function every writer shares.

pgrx::extension_sql_file!("schema.sql", name = "catalog", bootstrap);
