//! The per-workspace rollup, usage_rollup.rollup_ws (catalog/schema.sql): refreshed
//! from the rollup right after the rollup's buckets are recomputed, in the same
//! transaction, first the 15-minute rows of those buckets, then the hourly rows of
//! their hours (from all four quarters of each hour).

use crate::binding::{hour_end, hour_of, BUCKET_LIMIT};
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
/// rows shaped like usage_rollup.rollup, to the 15-minute and hourly rows (append.sql).
pub fn append_sql(source: &str) -> String {
    [(15, "r.bucket_start".to_string()), (60, hour_of("r.bucket_start"))]
        .iter()
        .map(|(width, bucket)| {
            format!(
                ",\nadded_{width} AS (\n    INSERT INTO usage_rollup.rollup_ws AS w\n{}\n    \
                 ON CONFLICT ON CONSTRAINT rollup_ws_key DO UPDATE SET @add_measures(w)@\n)",
                FRESH
                    .trim_end()
                    .replace("@width@", &width.to_string())
                    .replace("@source@", source)
                    .replace("@bucket@", bucket)
                    .replace("@source_scope@", "true")
            )
        })
        .collect()
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
    let written = refresh(
        15,
        FULL,
        "r.bucket_start",
        "r.bucket_start = ANY ($1::timestamptz[])",
        "w.bucket_start = ANY ($1::timestamptz[])",
        &[starts.to_vec().into()],
    );
    let (hours, quarters): (Option<Vec<TimestampWithTimeZone>>, Option<Vec<TimestampWithTimeZone>>) =
        Spi::get_two_with_args(
            &format!(
                "WITH h AS (SELECT DISTINCT {} AS h
                            FROM pg_catalog.unnest($1::timestamptz[]) s
                            WHERE s > '-infinity' AND s < '{BUCKET_LIMIT}')
                 SELECT (SELECT pg_catalog.array_agg(h) FROM h),
                        (SELECT pg_catalog.array_agg(h.h + q * '00:15:00'::interval) FROM h, pg_catalog.generate_series(0, 3) q)",
                hour_of("s")
            ),
            &[starts.to_vec().into()],
        )
        .or_raise("find the hours of the recomputed buckets");
    let (Some(hours), Some(quarters)) = (hours, quarters) else { return written };
    written
        + refresh(
            60,
            QUARTERS,
            &hour_of("r.bucket_start"),
            "r.width = 15 AND r.bucket_start = ANY ($1::timestamptz[])",
            "w.bucket_start = ANY ($2::timestamptz[])",
            &[quarters.into(), hours.into()],
        )
}

/// After the rollup buckets of [from, to) (bucket edges) were recomputed.
pub fn range(from: TimestampWithTimeZone, to: TimestampWithTimeZone) -> i64 {
    if !installed() {
        return 0;
    }
    let written = refresh(
        15,
        FULL,
        "r.bucket_start",
        "r.bucket_start >= $1 AND r.bucket_start < $2",
        "w.bucket_start >= $1 AND w.bucket_start < $2",
        &[from.into(), to.into()],
    );
    // the hours that [from, to) touches; the last hour ends past the last timestamp
    let (h0, h1): (Option<TimestampWithTimeZone>, Option<TimestampWithTimeZone>) = Spi::get_two_with_args(
        &format!("SELECT {}, {}", hour_of("$1"), hour_end("$2")),
        &[from.into(), to.into()],
    )
    .or_raise("find the hours of the recomputed range");
    let (Some(h0), Some(h1)) = (h0, h1) else { return written };
    written
        + refresh(
            60,
            QUARTERS,
            &hour_of("r.bucket_start"),
            "r.width = 15 AND r.bucket_start >= $1 AND r.bucket_start < $2",
            "w.bucket_start >= $1 AND w.bucket_start < $2",
            &[h0.into(), h1.into()],
        )
}
