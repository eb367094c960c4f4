//! The per-workspace rollup, usage_rollup.rollup_ws (catalog/schema.sql): refreshed
//! from the rollup right after the rollup's buckets are recomputed, in the same
//! transaction, first the 15-minute rows of those buckets, then each coarser width
//! (hour, six hours, day) from all the rows of the width below it in its blocks.

use crate::binding::{bin_end, bin_of, BUCKET_LIMIT, WS_WIDTHS};
use crate::catalog::sql_0_3_installed;
use crate::errors::SpiExt;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;

const NARROW: &str = include_str!("narrow.sql");
const FRESH: &str = include_str!("narrow_fresh.sql");
const FULL: &str = "usage_rollup.rollup";
const QUARTERS: &str = "usage_rollup.rollup_ws";

fn refresh(width: i16, source: &str, bucket: &str, source_scope: &str, scope: &str, args: &[DatumWithOid]) -> i64 {
    let empty = Spi::get_one_with_args::<bool>(
        &format!("SELECT NOT EXISTS (SELECT 1 FROM usage_rollup.rollup_ws w WHERE w.width = {width} AND {scope})"),
        args,
    )
    .or_raise("look at the per-workspace rollup")
    .unwrap_or(false);
    // the first backfill: nothing to compare or delete, append the fresh rows
    let template = if empty {
        format!("WITH written AS (INSERT INTO usage_rollup.rollup_ws {FRESH} RETURNING 1) SELECT count(*) FROM written")
    } else {
        super::upsert_measures(NARROW, "w").replace("@fresh@", FRESH)
    };
    let sql = template
        .replace("@width@", &width.to_string())
        .replace("@source@", source)
        .replace("@bucket@", bucket)
        .replace("@source_scope@", source_scope)
        .replace("@scope@", scope);
    Spi::get_one_with_args::<i64>(&sql, args).or_raise("refresh the per-workspace rollup").unwrap_or(0)
}

/// The CTEs (each starting with a comma) that add a rollup delta `source`, a set of
/// rows shaped like usage_rollup.rollup, to the rows of every width (append.sql).
pub fn append_sql(source: &str) -> String {
    std::iter::once((15, "r.bucket_start".to_string()))
        .chain(coarse_widths().into_iter().map(|(width, _)| (width, bin_of("r.bucket_start", width))))
        .map(|(width, bucket)| {
            format!(
                ",\nadded_{width} AS (\n    INSERT INTO usage_rollup.rollup_ws AS w\n{}\n    \
                 ON CONFLICT ON CONSTRAINT rollup_ws_key DO UPDATE SET @add_measures(w)@\n)",
                FRESH
                    .trim_end()
                    .replace("@width@", &width.to_string())
                    .replace("@source@", source)
                    .replace("@bucket@", &bucket)
                    .replace("@source_scope@", "true")
            )
        })
        .collect()
}

/// The coarser widths maintained: all of WS_WIDTHS, or only the hourly rows under
/// the SQL of 0.2.0 (its width check refuses the others; a newer library runs with
/// it until ALTER EXTENSION usage_rollup UPDATE, which adds and fills them).
pub fn coarse_widths() -> Vec<(i64, i64)> {
    if sql_0_3_installed() {
        WS_WIDTHS.to_vec()
    } else {
        WS_WIDTHS[..1].to_vec()
    }
}

/// Whether the table exists: a new shared library runs with the previous version's
/// SQL objects until ALTER EXTENSION usage_rollup UPDATE, which creates the table and
/// fills it from the rollup.
pub fn installed() -> bool {
    Spi::get_one::<bool>("SELECT pg_catalog.to_regclass('usage_rollup.rollup_ws') IS NOT NULL")
        .or_raise("look up the per-workspace rollup")
        .unwrap_or(false)
}

/// After the rollup buckets `starts` were recomputed. Returns the rows written.
pub fn buckets(starts: &[TimestampWithTimeZone]) -> i64 {
    if !installed() {
        return 0;
    }
    let mut written = refresh(
        15,
        FULL,
        "r.bucket_start",
        "r.bucket_start = ANY ($1::timestamptz[])",
        "w.bucket_start = ANY ($1::timestamptz[])",
        &[starts.to_vec().into()],
    );
    for (width, below) in coarse_widths() {
        // the blocks of this width that hold the buckets, and every row of the width
        // below in those blocks (their sums are the blocks' rows)
        let (blocks, parts): (Option<Vec<TimestampWithTimeZone>>, Option<Vec<TimestampWithTimeZone>>) =
            Spi::get_two_with_args(
                &format!(
                    "WITH b AS (SELECT DISTINCT {} AS b
                                FROM pg_catalog.unnest($1::timestamptz[]) s
                                WHERE s > '-infinity' AND s < '{BUCKET_LIMIT}')
                     SELECT (SELECT pg_catalog.array_agg(b) FROM b),
                            (SELECT pg_catalog.array_agg(b.b + k * '{below} minutes'::interval)
                             FROM b, pg_catalog.generate_series(0, {} - 1) k
                             WHERE b.b + k * '{below} minutes'::interval < '{BUCKET_LIMIT}')",
                    bin_of("s", width),
                    width / below
                ),
                &[starts.to_vec().into()],
            )
            .or_raise("find the blocks of the recomputed buckets");
        let (Some(blocks), Some(parts)) = (blocks, parts) else { return written };
        written += refresh(
            width as i16,
            QUARTERS,
            &bin_of("r.bucket_start", width),
            &format!("r.width = {below} AND r.bucket_start = ANY ($1::timestamptz[])"),
            "w.bucket_start = ANY ($2::timestamptz[])",
            &[parts.into(), blocks.into()],
        );
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
        FULL,
        "r.bucket_start",
        "r.bucket_start >= $1 AND r.bucket_start < $2",
        "w.bucket_start >= $1 AND w.bucket_start < $2",
        &[from.into(), to.into()],
    );
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
            QUARTERS,
            &bin_of("r.bucket_start", width),
            &format!("r.width = {below} AND r.bucket_start >= $1 AND r.bucket_start < $2"),
            "w.bucket_start >= $1 AND w.bucket_start < $2",
            &[b0.into(), b1.into()],
        );
    }
    written
}
