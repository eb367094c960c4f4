//! The current binding (SPEC §2) and what SQL templates read of it (src/sql.rs).
//!
//! Source table names never reach SQL as raw text: they are read back from regclass
//! columns, whose output is quoted and (under the pinned search_path of every
//! usage_rollup function) schema-qualified.

use crate::errors::{Error, SpiExt};
use pgrx::prelude::*;

/// 15 minutes: every present-day UTC offset and DST shift is a multiple of it (SPEC §3).
pub const BUCKET_SECONDS: i64 = 900;
/// BUCKET_SECONDS in SQL text (`@bucket_seconds@` of the templates).
pub const BUCKET_SECONDS_TEXT: &str = "900";

/// The start of the last 15-minute bucket, whose end is past PostgreSQL's largest
/// timestamp. Usage rows from here on, like rows at +-infinity, belong to no bucket
/// and no report date: a bucket end computed for them would overflow, and one such
/// row used to fail every tick until its bucket was removed from the queue by hand.
pub const BUCKET_LIMIT: &str = "294276-12-31 23:45:00+00";

/// An instant in microseconds since 2000-01-01 00:00 UTC, checked to be a bucket
/// edge: the report tilings and the local-day edges work in whole buckets. `task`
/// completes "usage_rollup could not ..." in the error.
pub fn bucket_edge(t: TimestampWithTimeZone, task: &str) -> i64 {
    let micros = t.into_inner();
    if micros.rem_euclid(BUCKET_SECONDS * 1_000_000) != 0 {
        pgrx::error!("usage_rollup could not {task}: {} is not on a 15-minute bucket edge", t.to_iso_string());
    }
    micros
}

/// The timestamp of an instant in microseconds since 2000-01-01 00:00 UTC.
pub fn timestamp(t: i64, task: &str) -> TimestampWithTimeZone {
    TimestampWithTimeZone::try_from(t)
        .unwrap_or_else(|_| pgrx::error!("usage_rollup could not {task}: {t} is not a timestamp"))
}

/// The coarser widths of usage_rollup.rollup_ws, in minutes, each made of whole
/// rows of the one before it (15-minute rows first): an hour, six hours, a UTC day.
pub const WS_WIDTHS: [(i64, i64); 3] = [(60, 15), (360, 60), (1440, 360)];

/// The start of the `minutes`-wide UTC block holding the instant `ts` (an SQL
/// expression): the bucket of a per-workspace row of that width.
pub fn bin_of(ts: &str, minutes: i64) -> String {
    format!("pg_catalog.date_bin('{minutes} minutes'::interval, {ts}, '2000-01-01 00:00:00+00'::timestamptz)")
}

/// The end of the last `minutes`-wide block that a range ending (exclusive) at `end`
/// touches; 'infinity' near PostgreSQL's last timestamp, past which a block's end
/// cannot be computed.
pub fn bin_end(end: &str, minutes: i64) -> String {
    format!(
        "CASE WHEN {end} > '294276-12-30 00:00:00+00' THEN 'infinity'::timestamptz \
              ELSE {} + '{minutes} minutes'::interval END",
        bin_of(&format!("({end}) - '00:00:00.000001'::interval"), minutes)
    )
}

/// The bucket of a usage row, inlined into set-based SQL (a function call with a
/// pinned search_path cannot be inlined and costs a GUC save/restore per row).
pub const BUCKET_EXPR: &str =
    "pg_catalog.date_bin('00:15:00'::interval, u.created_at, '2000-01-01 00:00:00+00'::timestamptz)";

/// The report filters (§4.1: equality when not NULL), with $5 project, $6 runtime,
/// $7 agent, over the columns that hold them (`@task_filters@` of a template: over
/// tasks `t` and issues `i`).
pub fn task_filters(project: &str, runtime: &str, agent: &str) -> String {
    format!(
        "AND ($5::uuid IS NULL OR {project} = $5) AND ($6::uuid IS NULL OR {runtime} = $6) \
         AND ($7::uuid IS NULL OR {agent} = $7)"
    )
}

pub struct Binding {
    pub usage: String,
    pub tasks: String,
    pub agents: String,
    pub issues: String,
    pub has_cost: bool,
    pub has_failure_reason: bool,
}

impl Binding {
    /// The binding, or None when usage_rollup is not attached.
    pub fn load() -> Option<Binding> {
        Spi::connect(|client| {
            let rows = client
                .select(
                    "SELECT usage_table::text, tasks_table::text, agents_table::text, issues_table::text, \
                            has_cost, has_failure_reason, \
                            (SELECT pg_catalog.string_agg(r.role, ', ') \
                             FROM (VALUES ('usage', usage_table::oid), ('tasks', tasks_table::oid), \
                                          ('agents', agents_table::oid), ('issues', issues_table::oid)) r(role, oid) \
                             WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = r.oid)) \
                     FROM usage_rollup.binding WHERE id = 1",
                    None,
                    &[],
                )
                .or_raise("read the binding");
            rows.into_iter().next().map(|row| {
                if let Some(gone) = row.get::<String>(7).or_raise("read the binding") {
                    Error::BoundTableDropped { tables: gone }.raise();
                }
                Binding {
                    usage: row.get(1).or_raise("read the binding").unwrap_or_default(),
                    tasks: row.get(2).or_raise("read the binding").unwrap_or_default(),
                    agents: row.get(3).or_raise("read the binding").unwrap_or_default(),
                    issues: row.get(4).or_raise("read the binding").unwrap_or_default(),
                    has_cost: row.get(5).or_raise("read the binding").unwrap_or(false),
                    has_failure_reason: row.get(6).or_raise("read the binding").unwrap_or(false),
                }
            })
        })
    }

    /// The usage row's cost (`@cost@`): NULL without the optional column.
    pub fn cost(&self) -> &'static str {
        if self.has_cost {
            "u.cost_usd_ticks"
        } else {
            "NULL::bigint"
        }
    }

    /// The task row's failure reason (`@failure_reason@`): NULL without the column.
    pub fn failure_reason(&self) -> &'static str {
        if self.has_failure_reason {
            "t.failure_reason"
        } else {
            "NULL::text"
        }
    }

    /// The ten usage measures of SPEC §4.1 over raw rows `u`, AS the report columns
    /// (`@usage_measures@`): one definition for the rollup's recompute, verify() and
    /// every raw report.
    pub fn usage_measures(&self) -> String {
        let cost = self.cost();
        format!(
            "sum(u.input_tokens)::bigint AS input_tokens, \
             sum(u.output_tokens)::bigint AS output_tokens, \
             sum(u.cache_read_tokens)::bigint AS cache_read_tokens, \
             sum(u.cache_write_tokens)::bigint AS cache_write_tokens, \
             coalesce(sum({cost}), 0)::bigint AS cost_usd_ticks, \
             coalesce(sum(u.input_tokens) FILTER (WHERE {cost} IS NULL), 0)::bigint AS uncosted_input_tokens, \
             coalesce(sum(u.output_tokens) FILTER (WHERE {cost} IS NULL), 0)::bigint AS uncosted_output_tokens, \
             coalesce(sum(u.cache_read_tokens) FILTER (WHERE {cost} IS NULL), 0)::bigint AS uncosted_cache_read_tokens, \
             coalesce(sum(u.cache_write_tokens) FILTER (WHERE {cost} IS NULL), 0)::bigint AS uncosted_cache_write_tokens, \
             count(DISTINCT u.task_id) AS task_count"
        )
    }

    /// The binding, or the "not attached" error naming the operation.
    pub fn require(operation: &'static str) -> Binding {
        Binding::load().unwrap_or_else(|| Error::NotAttached { operation }.raise())
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    fn sample(has_cost: bool) -> Binding {
        Binding {
            usage: "app.task_usage".into(),
            tasks: "app.agent_task_queue".into(),
            agents: "app.agent".into(),
            issues: "\"Odd\".\"issue\"".into(),
            has_cost,
            has_failure_reason: false,
        }
    }

    #[test]
    fn templates_read_the_bound_tables_and_columns() {
        let sql = crate::sql::reports::ReportUsageRows { binding: &sample(true) }.render();
        assert!(sql.contains("FROM app.task_usage u\nJOIN app.agent_task_queue t ON t.id = u.task_id"));
        assert!(sql.contains("LEFT JOIN \"Odd\".\"issue\" i ON"));
        assert_eq!(sample(true).cost(), "u.cost_usd_ticks");
    }

    #[test]
    fn without_the_cost_column_every_row_is_uncosted() {
        assert_eq!(sample(false).cost(), "NULL::bigint");
        let measures = sample(false).usage_measures();
        assert!(measures.contains("coalesce(sum(NULL::bigint), 0)::bigint AS cost_usd_ticks"));
        assert!(measures.contains("FILTER (WHERE NULL::bigint IS NULL), 0)::bigint AS uncosted_input_tokens"));
    }
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    /// The bucket is absolute UTC time, whatever the session's TimeZone: a
    /// date_trunc in a +05:30 session would give half-hour-aligned buckets.
    #[pg_test]
    fn bucket_of_ignores_the_session_timezone() {
        for zone in ["UTC", "Asia/Kolkata", "Asia/Kathmandu", "Pacific/Chatham", "America/St_Johns"] {
            Spi::run(&format!("SET LOCAL timezone = '{zone}'")).unwrap();
            for (ts, expected) in [
                ("2026-03-01 18:40:00+00", "2026-03-01 18:30:00+00"),
                ("2026-03-01 18:14:59.999999+00", "2026-03-01 18:00:00+00"),
                ("2026-03-01 18:15:00+00", "2026-03-01 18:15:00+00"),
                ("1969-12-31 23:59:59+00", "1969-12-31 23:45:00+00"),
            ] {
                let same: bool = Spi::get_one(&format!(
                    "SELECT usage_rollup.bucket_of('{ts}'::timestamptz) = '{expected}'::timestamptz"
                ))
                .unwrap()
                .unwrap();
                assert!(same, "bucket_of({ts}) in {zone}");
            }
        }
    }

    /// The embedded SQL templates render against a real binding and parse.
    #[pg_test]
    fn verify_sql_renders_and_plans() {
        Spi::run(
            "CREATE TABLE public.task_usage (task_id uuid, provider text, model text, input_tokens bigint,
                 output_tokens bigint, cache_read_tokens bigint, cache_write_tokens bigint,
                 created_at timestamptz, updated_at timestamptz);
             CREATE TABLE public.agent_task_queue (id uuid, agent_id uuid, runtime_id uuid, issue_id uuid,
                 status text, created_at timestamptz, started_at timestamptz, completed_at timestamptz);
             CREATE TABLE public.agent (id uuid, workspace_id uuid);
             CREATE TABLE public.issue (id uuid, workspace_id uuid, project_id uuid);",
        )
        .unwrap();
        Spi::run("SET client_min_messages = warning").unwrap();
        Spi::run("SELECT usage_rollup.attach()").unwrap();
        let drift: i64 =
            Spi::get_one("SELECT count(*) FROM usage_rollup.verify('-infinity', 'infinity')").unwrap().unwrap();
        assert_eq!(drift, 0);
    }

    #[pg_test(error = "usage_rollup is not attached, so tick() has nothing to work on")]
    fn tick_needs_a_binding() {
        Spi::run("SELECT usage_rollup.tick()").unwrap();
    }
}
