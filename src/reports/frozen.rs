//! Frozen history in reports (SPEC §3, freeze.rs): before the horizon a report reads
//! what was recorded as the horizon moved instead of the raw rows, which retention
//! may have deleted. The fragments here go into the report templates of mod.rs.

use super::{access, State};
use crate::binding::{bin_of, task_filters, Binding};
use crate::sql::reports as sql;

/// Whether reports read frozen history (freeze.rs): with the SQL of 0.10.0, unless a
/// row-level security policy applies to the caller on a source table. Such a report
/// is computed from the raw rows the policy lets the caller see, and nothing else:
/// the records of frozen history are not under the source tables' policies.
pub(super) fn visible() -> bool {
    crate::catalog::horizon::installed() && access::read_mode() != "raw"
}

/// usage.sql's tasks with a provider in two letter cases before the frozen horizon,
/// and their buckets there, as the horizon recorded them (usage_rollup.variant_frozen:
/// their raw rows may be gone); nothing when the report does not see frozen history.
pub(super) fn variants(state: &State) -> (String, String) {
    if !state.visible {
        return (String::new(), String::new());
    }
    let frozen = &state.frozen;
    let filters = frozen_filters();
    (
        format!(
            "UNION
    SELECT f.task_id, f.provider, f.model FROM usage_rollup.variant_frozen f
    WHERE f.workspace_id = $1 AND f.bucket_start >= $8 AND f.bucket_start < least($9, {frozen})"
        ),
        format!(
            "UNION ALL
    SELECT f.bucket_start, f.agent_id, f.project_id, f.runtime_id, f.provider, f.model, f.task_id
    FROM candidates c
    JOIN usage_rollup.variant_frozen f ON f.task_id = c.task_id AND f.provider IS NOT DISTINCT FROM c.provider
                                      AND f.model IS NOT DISTINCT FROM c.model
    WHERE f.workspace_id = $1 AND f.bucket_start >= $8 AND f.bucket_start < least($9, {frozen})
      {filters}"
        ),
    )
}

/// The filters of §4.1 over the keys recorded with frozen history (alias f).
fn frozen_filters() -> String {
    task_filters("f.project_id", "f.runtime_id", "f.agent_id")
}

/// The tasks a run, outcome or start report reads (T of §4.1, as t, with the
/// workspace and project as columns; the templates' task_rows): the tasks table
/// from the frozen horizon on by their timestamp column, and before it the tasks
/// recorded as the horizon moved (usage_rollup.task_frozen), whose rows retention
/// may have deleted.
pub(super) fn task_rows(binding: &Binding, timestamp: &str, state: &State) -> String {
    let frozen = &state.frozen;
    let recorded = if state.visible {
        format!(
            "
     UNION ALL
     SELECT f.task_id, f.agent_id, f.runtime_id, f.status, f.failure_reason, f.started_at, f.completed_at,
            f.workspace_id, f.project_id
     FROM usage_rollup.task_frozen f WHERE f.{timestamp} < {frozen}"
        )
    } else {
        String::new()
    };
    sql::TaskRows { binding, frozen, recorded: &recorded, timestamp }.render()
}

/// The filters of §4.1 over task_rows().
pub(super) fn task_row_filters() -> String {
    task_filters("t.project_id", "t.runtime_id", "t.agent_id")
}

/// The tasks of the frozen history in kpis' range, by the filters: the tasks
/// freeze recorded (usage_rollup.key_task_frozen) in the quarter hours before the
/// horizon whose local date is in the range (kpi_tasks.sql's frozen tasks); nothing
/// when the report does not see frozen history.
pub(super) fn tasks(state: &State) -> String {
    if !state.visible {
        return String::new();
    }
    let (frozen, day_of_start, filters) = (&state.frozen, bin_of("$8", 1440), frozen_filters());
    format!(
        "UNION
    SELECT f.task_id
    FROM pg_catalog.generate_series({day_of_start}, least($9, {frozen}) - '00:15:00'::interval, '1 day'::interval) d (day)
    CROSS JOIN LATERAL (SELECT usage_rollup._quarters_local(d.day, {frozen}, $4, $2, $3) AS mask) m
    JOIN usage_rollup.key_task_frozen f ON f.bucket_start = d.day AND f.workspace_id = $1
    WHERE (f.quarters & m.mask) <> pg_catalog.repeat('0', 96)::bit(96)
      {filters}"
    )
}

/// The same for the rest of an unfiltered kpis' range (in kpi_tasks_keyed.sql): the
/// recorded tasks in the quarter hours of its runs `rest`.
pub(super) fn rest(state: &State) -> String {
    if !state.visible {
        return String::new();
    }
    let (frozen, day_of_run) = (&state.frozen, bin_of("r.run_start", 1440));
    format!(
        "UNION
    SELECT f.task_id
    FROM rest r
    CROSS JOIN LATERAL pg_catalog.generate_series({day_of_run}, least(r.run_end, {frozen}) - '00:15:00'::interval,
                                                  '1 day'::interval) d (day)
    JOIN usage_rollup.key_task_frozen f ON f.bucket_start = d.day AND f.workspace_id = $1
    WHERE (f.quarters & usage_rollup._quarters(d.day, r.run_start, least(r.run_end, {frozen})))
          <> pg_catalog.repeat('0', 96)::bit(96)"
    )
}
