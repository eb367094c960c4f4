//! CALL usage_rollup.backfill() (SPEC §3): the plan, one slice, and the finish.
//! The procedure that loops and commits is in backfill.sql.

use crate::binding::{Binding, BUCKET_LIMIT, BUCKET_SECONDS};
use crate::errors::{Error, SpiExt};
use crate::lock::{require_read_committed, safe_upper_bound};
use crate::privileges::require_execute;
use crate::recompute;
use crate::tick;
use pgrx::pg_sys::errcodes::PgSqlErrorCode;
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;
use pgrx::PgLogLevel;

pgrx::extension_sql_file!(
    "backfill.sql",
    name = "backfill_sql",
    requires = [_backfill_plan, _backfill_slice, _backfill_finish, "tick_sql"]
);

/// More slices than this is a mistake in the bounds or the slice width.
const MAX_SLICES: i32 = 1_000_000;

/// Slice the range. With both bounds NULL the whole history is covered, and the
/// watermark may then move to the bound taken before the range was read.
#[pg_extern(volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn _backfill_plan(
    from_ts: Option<TimestampWithTimeZone>,
    to_ts: Option<TimestampWithTimeZone>,
    slice: Option<Interval>,
) -> TableIterator<
    'static,
    (
        name!(range_from, TimestampWithTimeZone),
        name!(range_to, TimestampWithTimeZone),
        name!(slice_width, Interval),
        name!(slices, i32),
        name!(full_history, bool),
        name!(bound, TimestampWithTimeZone),
    ),
> {
    crate::standby::require_primary("backfill");
    // It commits after every slice: inside BEGIN ... COMMIT that fails only after
    // the first slice, with PostgreSQL's terse "invalid transaction termination".
    require_execute("backfill");
    if unsafe { pgrx::pg_sys::IsTransactionBlock() } {
        Error::InTransactionBlock { operation: "backfill()" }.raise();
    }
    require_read_committed("backfill()");
    let binding = Binding::require("backfill()");
    let slice = slice.unwrap_or_else(|| Error::NullArgument { function: "backfill".into(), argument: "slice" }.raise());
    // +-infinity is an open bound, like NULL; a finite bound must lie inside the
    // buckets (rows at or after BUCKET_LIMIT belong to none), and the range must
    // not be reversed before it is rounded out to whole buckets
    if let (Some(f), Some(t)) = (from_ts, to_ts) {
        if f > t {
            Error::InvalidRange { what: "backfill range", from: f.to_string(), to: t.to_string() }.raise();
        }
    }
    // taken before min/max are read: every row committed before this point is inside the range
    let bound = safe_upper_bound(0);
    if from_ts.is_some_and(|f| f.is_infinity()) || to_ts.is_some_and(|t| t.is_neg_infinity()) {
        pgrx::notice!("backfill: the range is empty, nothing to do");
        return TableIterator::once((bound, bound, slice, 0, false, bound));
    }
    let open = |ts: Option<TimestampWithTimeZone>| ts.filter(|t| !t.is_infinity() && !t.is_neg_infinity());
    let (from_ts, to_ts) = (open(from_ts), open(to_ts));
    for (argument, ts) in [("from_ts", from_ts), ("to_ts", to_ts)] {
        if let Some(ts) = ts {
            let inside: Option<bool> =
                Spi::get_one_with_args(&format!("SELECT $1 < '{BUCKET_LIMIT}'::timestamptz"), &[ts.into()])
                    .or_raise("check the backfill range");
            if inside != Some(true) {
                Error::TimestampOutOfRange {
                    function: "backfill",
                    argument,
                    value: ts.to_string(),
                    last: BUCKET_LIMIT,
                }
                .raise();
            }
        }
    }
    // buckets before the frozen horizon are final (freeze.rs): an explicit range may
    // not start there, an open one starts at the horizon
    let horizon = crate::catalog::horizon::current();
    if let (Some(h), Some(f)) = (horizon, from_ts) {
        if f < h {
            Error::Frozen { operation: "backfill", from: f.to_string(), horizon: h.to_string() }.raise();
        }
    }
    let full_history = from_ts.is_none() && to_ts.is_none();
    // rows stamped ±infinity (or past the last bucket) belong to no bucket
    let sql = crate::sql::BackfillRange { binding: &binding }.render();
    let (min, max): (Option<TimestampWithTimeZone>, Option<TimestampWithTimeZone>) =
        Spi::get_two(&sql).or_raise("read the usage time range");
    let min = match (min, horizon) {
        (Some(m), Some(h)) if m < h => {
            pgrx::notice!("backfill: the range starts at the frozen horizon, {h}");
            Some(h)
        }
        _ => min,
    };
    let plan = Spi::connect(|client| {
        let plan = client
            .select(
                "WITH r AS (
                     SELECT usage_rollup.bucket_of(coalesce($1, $3)) AS f,
                            usage_rollup.bucket_of(coalesce($2, $4)) + CASE WHEN $2 IS NULL OR usage_rollup.bucket_of($2) < $2
                                THEN make_interval(secs => $6) ELSE '0'::interval END AS t,
                            CASE WHEN $5 < make_interval(secs => $6) THEN make_interval(secs => $6)
                                 ELSE $5 END AS w),
                 -- epochs, not t - f: an interval overflows over 178 million years
                 e AS (SELECT f, t, w, extract(epoch FROM t) - extract(epoch FROM f) AS span FROM r)
                 SELECT f, t,
                        -- a slice wider than the range would end past the last timestamp
                        CASE WHEN span > 0 AND extract(epoch FROM w) > span THEN make_interval(secs => span::float8)
                             ELSE w END,
                        CASE WHEN f IS NULL OR t IS NULL OR t <= f THEN 0
                             ELSE least(ceil(span / extract(epoch FROM w)), 2147483647)::int END,
                        f > t
                 FROM e",
                None,
                &[
                    from_ts.into(),
                    to_ts.into(),
                    min.into(),
                    max.into(),
                    slice.into(),
                    (BUCKET_SECONDS as f64).into(),
                ],
            )
            .or_raise("plan the backfill")
            .first();
        (
            plan.get::<TimestampWithTimeZone>(1).or_raise("plan the backfill"),
            plan.get::<TimestampWithTimeZone>(2).or_raise("plan the backfill"),
            plan.get::<Interval>(3).or_raise("plan the backfill"),
            plan.get::<i32>(4).or_raise("plan the backfill"),
            plan.get::<bool>(5).or_raise("plan the backfill"),
        )
    });
    // explicit bounds were checked above; an open bound past the other one (data
    // that starts after to_ts) is an empty range
    let (f, t, w, n, reversed) = plan;
    let n = if reversed == Some(true) { 0 } else { n.unwrap_or(0) };
    if n > MAX_SLICES {
        Error::TooManySlices { slices: n, width: w.map(|w| w.to_string()).unwrap_or_default(), max: MAX_SLICES }
            .raise();
    }
    if n == 0 {
        pgrx::notice!("backfill: no usage rows in the range, nothing to do");
    } else {
        pgrx::notice!(
            "backfill: {} slice(s) of {} from {} to {}",
            n,
            w.map(|w| w.to_string()).unwrap_or_default(),
            f.map(|t| t.to_string()).unwrap_or_default(),
            t.map(|t| t.to_string()).unwrap_or_default()
        );
    }
    TableIterator::once((f.unwrap_or(bound), t.unwrap_or(bound), w.unwrap_or(slice), n, full_history, bound))
}

/// Recompute slice k of n under the rollup lock (blocking: a running tick finishes
/// first), record it, and print progress. Returns the raw rows read so far.
#[pg_extern(volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
#[allow(clippy::too_many_arguments)]
fn _backfill_slice(
    k: i32,
    n: i32,
    range_from: TimestampWithTimeZone,
    range_to: TimestampWithTimeZone,
    slice_width: Interval,
    started_at: TimestampWithTimeZone,
    rows_so_far: i64,
) -> i64 {
    require_execute("backfill");
    require_read_committed("backfill()");
    let binding = Binding::require("backfill()");
    crate::lock::rollup();
    let (from, to): (Option<TimestampWithTimeZone>, Option<TimestampWithTimeZone>) = Spi::get_two_with_args(
        // in epoch seconds: $1 + $3 * $2 itself may pass the last timestamp
        "SELECT pg_catalog.to_timestamp(extract(epoch FROM $1) + extract(epoch FROM $3) * ($2 - 1)),
                CASE WHEN extract(epoch FROM $1) + extract(epoch FROM $3) * $2 >= extract(epoch FROM $4) THEN $4
                     ELSE pg_catalog.to_timestamp(extract(epoch FROM $1) + extract(epoch FROM $3) * $2) END",
        &[range_from.into(), k.into(), slice_width.into(), range_to.into()],
    )
    .or_raise("bound the slice");
    let (from, to) = (from.unwrap_or(range_from), to.unwrap_or(range_to));
    let slice_started: TimestampWithTimeZone =
        Spi::get_one("SELECT pg_catalog.clock_timestamp()").or_raise("read the clock").unwrap_or(started_at);
    let cut = tick::rebuild_cut();
    let outcome = recompute::range(&binding, from, to, cut);
    crate::keyed::unseal_written(&outcome.changed, &outcome.recomputed);
    // the days the slice queued, and the weeks they complete, in its commit
    crate::keyed::seal_all(std::cmp::min_by_key(to, cut, |t| t.into_inner()));
    let total = rows_so_far + outcome.raw_rows;
    // The facts go in the message, the timings in the DETAIL, so that psql's
    // VERBOSITY terse (and pg_regress) shows a stable line.
    let (line, timing): (Option<String>, Option<String>) = Spi::get_two_with_args(
        "SELECT format('backfill slice %s/%s [%s, %s): %s usage rows, %s rollup rows written',
                       $2, $3, $4, $5, $6, $7),
                format('%s usage rows so far at %s rows/s; ETA %s', $8,
                       round($8 / greatest(extract(epoch FROM clock_timestamp() - $1), 0.001)),
                       CASE WHEN $2 = $3 THEN 'done'
                            ELSE (date_trunc('second', (clock_timestamp() - $1) / $2 * ($3 - $2)))::text END)",
        &[
            started_at.into(),
            k.into(),
            n.into(),
            from.into(),
            to.into(),
            outcome.raw_rows.into(),
            outcome.rows_written.into(),
            total.into(),
        ],
    )
    .or_raise("report backfill progress");
    Spi::run_with_args(
        "INSERT INTO usage_rollup.tick_run (kind, started_at, finished_at, status, window_from, window_to,
                                           raw_rows, rows_written, duration_ms)
         VALUES ('backfill', $1, clock_timestamp(), 'succeeded', $2, $3, $4, $5,
                 extract(epoch FROM clock_timestamp() - $1)::float8 * 1000)",
        &[slice_started.into(), from.into(), to.into(), outcome.raw_rows.into(), outcome.rows_written.into()],
    )
    .or_raise("record the backfill slice");
    progress(line, timing);
    total
}

/// A progress NOTICE: the stable facts as the message, timings as the detail.
fn progress(message: Option<String>, detail: Option<String>) {
    let mut report =
        ErrorReport::new(PgSqlErrorCode::ERRCODE_SUCCESSFUL_COMPLETION, message.unwrap_or_default(), "backfill");
    if let Some(d) = detail {
        report = report.set_detail(d);
    }
    report.report(PgLogLevel::NOTICE);
}

/// After the last slice. The watermark stays where it is: ticks go on from there
/// (recomputing, not appending, the rows a slice already read: see tick::rebuild_cut).
#[pg_extern(volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn _backfill_finish(
    full_history: bool,
    bound: TimestampWithTimeZone,
    slices: i32,
    started_at: TimestampWithTimeZone,
    rows: i64,
) {
    require_execute("backfill");
    // kept in the signature for the SQL of earlier versions, which passes them
    let _ = (full_history, bound);
    let binding = Binding::require("backfill()");
    crate::lock::rollup();
    // slices only see their own rows, and a provider in two letter cases may span
    // slices: the variant list is rebuilt from the whole usage table
    recompute::rebuild_variants(&binding);
    // fresh statistics, so that the next ticks' plans fit the rebuilt rollup
    Spi::run("ANALYZE usage_rollup.rollup").or_raise("analyze the rollup");
    if recompute::per_workspace_installed() {
        Spi::run("ANALYZE usage_rollup.rollup_ws").or_raise("analyze the rollup");
    }
    // the task days of the whole range at once (set-based: by slice, or a day at a
    // time, they cost a lookup per task)
    crate::keyed::tasks::seal_all(&binding, safe_upper_bound(crate::settings::safety_lag_secs()));
    crate::keyed::tasks::analyze();
    let (summary, timing): (Option<String>, Option<String>) = Spi::get_two_with_args(
        "SELECT format('backfill finished: %s slice(s), %s usage rows', $1, $2),
                format('Took %s; ticks go on from the watermark, %s.',
                       date_trunc('millisecond', clock_timestamp() - $3),
                       (SELECT watermark FROM usage_rollup.tick_state WHERE id = 1))",
        &[slices.into(), rows.into(), started_at.into()],
    )
    .or_raise("summarise the backfill");
    progress(summary, timing);
}
