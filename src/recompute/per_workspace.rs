//! The per-workspace rollup, usage_rollup.rollup_ws (catalog/schema.sql): refreshed
//! from the rollup right after the rollup's buckets are recomputed, in the same
//! transaction, first the 15-minute rows of those buckets, then each coarser width
//! (hour, six hours, day) from the rows of the width below it in its blocks: after
//! a tick's recompute, only the blocks of the keys whose rows below changed; after
//! a backfill's range, every block the range touches.

use crate::binding::{bin_end, bin_of, WS_WIDTHS};
use crate::errors::SpiExt;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;

/// The sources of a refresh: the rollup for the 15-minute rows, the per-workspace
/// rollup itself for each coarser width (summed from the width below).
const ROLLUP: &str = "usage_rollup.rollup";
const PER_WORKSPACE: &str = "usage_rollup.rollup_ws";

/// What a refresh statement returns: the rows written, and (KEYS) the keys of the
/// changed rows as a jsonb array of {bucket_start, workspace_id, provider, model}.
const COUNT: &str = "SELECT (SELECT count(*) FROM removed) + (SELECT count(*) FROM written), NULL::text";
const KEYS: &str = "SELECT count(*), coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(c)), '[]'::jsonb)::text
FROM (SELECT * FROM removed UNION ALL SELECT * FROM written) c";

fn refresh(
    width: i16,
    source: &str,
    bucket: &str,
    source_scope: &str,
    scope: &str,
    args: &[DatumWithOid],
    result: &str,
) -> (i64, String) {
    let empty = Spi::get_one_with_args::<bool>(
        &format!("SELECT NOT EXISTS (SELECT 1 FROM usage_rollup.rollup_ws w WHERE w.width = {width} AND {scope})"),
        args,
    )
    .or_raise("look at the per-workspace rollup")
    .unwrap_or(false);
    let width = width.to_string();
    let fresh = crate::sql::recompute::PerWorkspaceFresh { width: &width, target_bucket: bucket, source, source_scope }
        .render();
    // the first backfill: nothing to compare or delete, append the fresh rows
    let sql = if empty {
        format!(
            "WITH written AS (INSERT INTO usage_rollup.rollup_ws AS w {fresh} \
             RETURNING w.bucket_start, w.workspace_id, w.provider, w.model), \
             removed AS (SELECT * FROM written WHERE false) {result}"
        )
    } else {
        crate::sql::recompute::PerWorkspace { fresh: &fresh, result, scope, width: &width, write: &write(&width) }
            .render()
    };
    let (written, keys): (Option<i64>, Option<String>) =
        Spi::get_two_with_args(&sql, args).or_raise("refresh the per-workspace rollup");
    (written.unwrap_or(0), keys.unwrap_or_default())
}

/// The write of a refresh of the rows of `width` (per_workspace_write.sql).
fn write(width: &str) -> String {
    crate::sql::recompute::PerWorkspaceWrite { width }.render()
}

/// Refresh the rows of a coarser width for the changed keys of the width below
/// (per_workspace_keyed.sql); returns the rows written and this width's changed keys.
fn refresh_keys(width: i64, below: i64, keys: &str) -> (i64, String) {
    let width_text = width.to_string();
    // the fresh sums of each key's rows below, under its block
    let fresh = crate::sql::recompute::PerWorkspaceFresh {
        width: &width_text,
        target_bucket: "r.block",
        source: "below",
        source_scope: "true",
    }
    .render();
    let sql = crate::sql::recompute::PerWorkspaceKeyed {
        bin: &bin_of("x.bucket_start", width),
        below: &below.to_string(),
        last: &(width - below).to_string(),
        fresh: &fresh,
        write: &write(&width_text),
        result: KEYS,
    }
    .render();
    let (written, keys): (Option<i64>, Option<String>) =
        Spi::get_two_with_args(&sql, &[keys.into()]).or_raise("refresh the per-workspace rollup");
    (written.unwrap_or(0), keys.unwrap_or_default())
}

/// The CTEs (each starting with a comma: per_workspace_append.sql) that add a rollup
/// delta `source`, a set of rows shaped like usage_rollup.rollup, to the rows of
/// every width (append.sql).
pub fn append_sql(source: &str) -> String {
    std::iter::once((15, "r.bucket_start".to_string()))
        .chain(coarse_widths().into_iter().map(|(width, _)| (width, bin_of("r.bucket_start", width))))
        .map(|(width, bucket)| {
            let width = width.to_string();
            let fresh = crate::sql::recompute::PerWorkspaceFresh {
                width: &width,
                target_bucket: &bucket,
                source,
                source_scope: "true",
            }
            .render();
            crate::sql::recompute::PerWorkspaceAppend { width: &width, fresh: fresh.trim_end() }.render()
        })
        .collect()
}

/// The coarser widths maintained: all of WS_WIDTHS, or only the hourly rows under
/// the SQL of 0.2.0 (its width check refuses the others; a newer library runs with
/// it until ALTER EXTENSION usage_rollup UPDATE, which adds and fills them).
pub fn coarse_widths() -> Vec<(i64, i64)> {
    if crate::catalog::has(crate::catalog::Sql::V0_3) {
        WS_WIDTHS.to_vec()
    } else {
        WS_WIDTHS[..1].to_vec()
    }
}

/// Whether the table exists: a new shared library runs with the previous version's
/// SQL objects until ALTER EXTENSION usage_rollup UPDATE, which creates the table and
/// fills it from the rollup.
pub fn installed() -> bool {
    crate::catalog::has(crate::catalog::Sql::V0_2)
}

/// After the rollup buckets `starts` were recomputed. Returns the rows written.
pub fn buckets(starts: &[TimestampWithTimeZone]) -> i64 {
    if !installed() {
        return 0;
    }
    let (mut written, mut keys) = refresh(
        15,
        ROLLUP,
        "r.bucket_start",
        "r.bucket_start = ANY ($1::timestamptz[])",
        "w.bucket_start = ANY ($1::timestamptz[])",
        &[starts.to_vec().into()],
        KEYS,
    );
    // each coarser width: only the blocks of keys whose rows below changed
    for (width, below) in coarse_widths() {
        if keys == "[]" {
            break;
        }
        let (n, changed) = refresh_keys(width, below, &keys);
        written += n;
        keys = changed;
    }
    written
}

/// After the rollup buckets of [from, to) (bucket edges) were recomputed.
pub fn range(from: TimestampWithTimeZone, to: TimestampWithTimeZone) -> i64 {
    if !installed() {
        return 0;
    }
    let mut written = refresh(
        15,
        ROLLUP,
        "r.bucket_start",
        "r.bucket_start >= $1 AND r.bucket_start < $2",
        "w.bucket_start >= $1 AND w.bucket_start < $2",
        &[from.into(), to.into()],
        COUNT,
    )
    .0;
    for (width, below) in coarse_widths() {
        // the blocks that [from, to) touches; the last one may end past the last timestamp
        let (b0, b1): (Option<TimestampWithTimeZone>, Option<TimestampWithTimeZone>) = Spi::get_two_with_args(
            &format!("SELECT {}, {}", bin_of("$1", width), bin_end("$2", width)),
            &[from.into(), to.into()],
        )
        .or_raise("find the blocks of the recomputed range");
        let (Some(b0), Some(b1)) = (b0, b1) else { return written };
        written += refresh(
            width as i16,
            PER_WORKSPACE,
            &bin_of("r.bucket_start", width),
            &format!("r.width = {below} AND r.bucket_start >= $1 AND r.bucket_start < $2"),
            "w.bucket_start >= $1 AND w.bucket_start < $2",
            &[b0.into(), b1.into()],
            COUNT,
        )
        .0;
    }
    written
}
