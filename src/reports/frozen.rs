//! Frozen history in reports (SPEC §3, freeze.rs): before the horizon a report reads
//! what was recorded as the horizon moved instead of the raw rows, which retention
//! may have deleted. The fragments here go into the report templates of mod.rs.

use super::access;
use crate::binding::{bin_of, task_filters};

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
pub(super) fn variants(visible: bool) -> (String, String) {
    if !visible {
        return (String::new(), String::new());
    }
    let (candidates, rows) = FROZEN_VARIANTS;
    (candidates.to_string(), rows.replace("@frozen_filters@", &frozen_filters()))
}

const FROZEN_VARIANTS: (&str, &str) = (
    "UNION
    SELECT f.task_id, f.provider, f.model FROM usage_rollup.variant_frozen f
    WHERE f.workspace_id = $1 AND f.bucket_start >= $8 AND f.bucket_start < least($9, @frozen@)",
    "UNION ALL
    SELECT f.bucket_start, f.agent_id, f.project_id, f.runtime_id, f.provider, f.model, f.task_id
    FROM candidates c
    JOIN usage_rollup.variant_frozen f ON f.task_id = c.task_id AND f.provider IS NOT DISTINCT FROM c.provider
                                      AND f.model IS NOT DISTINCT FROM c.model
    WHERE f.workspace_id = $1 AND f.bucket_start >= $8 AND f.bucket_start < least($9, @frozen@)
      @frozen_filters@",
);

/// The filters of §4.1 over the keys recorded with frozen history (alias f).
fn frozen_filters() -> String {
    task_filters("f.project_id", "f.runtime_id", "f.agent_id")
}

/// The tasks a run, outcome or start report reads (T of §4.1, as t, with the
/// workspace and project as columns; the templates' task_rows placeholder): the tasks
/// table from the frozen horizon on by their timestamp x, and before it the tasks
/// recorded as the horizon moved (usage_rollup.task_frozen), whose rows retention
/// may have deleted.
pub(super) fn task_rows(timestamp: &str, visible: bool) -> String {
    let frozen = if visible {
        format!(
            "
     UNION ALL
     SELECT f.task_id, f.agent_id, f.runtime_id, f.status, f.failure_reason, f.started_at, f.completed_at,
            f.workspace_id, f.project_id
     FROM usage_rollup.task_frozen f WHERE f.{timestamp} < @frozen@"
        )
    } else {
        String::new()
    };
    format!(
        "(SELECT t.id, t.agent_id, t.runtime_id, t.status::text AS status, @failure_reason@::text AS failure_reason,
            t.started_at, t.completed_at, a.workspace_id, i.project_id
     FROM @tasks@ t
     JOIN @agents@ a ON a.id = t.agent_id
     LEFT JOIN @issues@ i ON i.id = t.issue_id
     WHERE t.{timestamp} >= @frozen@{frozen}) t"
    )
}

/// The filters of §4.1 over task_rows().
pub(super) fn task_row_filters() -> String {
    task_filters("t.project_id", "t.runtime_id", "t.agent_id")
}

/// The tasks of the frozen history in kpis' range, by the filters: the tasks
/// freeze recorded (usage_rollup.key_task_frozen) in the quarter hours before the
/// horizon whose local date is in the range. (kpi_tasks.sql's frozen tasks.)
pub(super) const FROZEN_TASKS: &str = "UNION
    SELECT f.task_id
    FROM pg_catalog.generate_series(@day_of_start@, least($9, @frozen@) - '00:15:00'::interval, '1 day'::interval) d (day)
    CROSS JOIN LATERAL (SELECT usage_rollup._quarters_local(d.day, @frozen@, $4, $2, $3) AS mask) m
    JOIN usage_rollup.key_task_frozen f ON f.bucket_start = d.day AND f.workspace_id = $1
    WHERE (f.quarters & m.mask) <> pg_catalog.repeat('0', 96)::bit(96)
      @frozen_filters@";

/// The same for the rest of an unfiltered kpis' range (in kpi_tasks_keyed.sql): the
/// recorded tasks in the quarter hours of its runs `rest`.
pub(super) const FROZEN_REST: &str = "UNION
    SELECT f.task_id
    FROM rest r
    CROSS JOIN LATERAL pg_catalog.generate_series(@day_of_run@, least(r.run_end, @frozen@) - '00:15:00'::interval,
                                                  '1 day'::interval) d (day)
    JOIN usage_rollup.key_task_frozen f ON f.bucket_start = d.day AND f.workspace_id = $1
    WHERE (f.quarters & usage_rollup._quarters(d.day, r.run_start, least(r.run_end, @frozen@)))
          <> pg_catalog.repeat('0', 96)::bit(96)";

/// A frozen-history fragment, or nothing when the report does not see frozen history.
pub(super) fn fragment(fragment: &str, visible: bool) -> String {
    if visible {
        fragment
            .replace("@day_of_start@", &bin_of("$8", 1440))
            .replace("@day_of_run@", &bin_of("r.run_start", 1440))
            .replace("@frozen_filters@", &frozen_filters())
    } else {
        String::new()
    }
}
