//! The keyed blocks (usage_rollup.key_rollup; SPEC §6: every report over 90 days of
//! the largest workspace at least 20x faster than raw, in the sparse profile too):
//! the rollup summed per workspace and agent, project or runtime over sealed UTC
//! days, weeks and four weeks, for the reports grouped by one of them.
//!
//! Invariant: a block listed in usage_rollup.key_rollup_block has rows equal to the
//! rollup's sums over it. After every write of the rollup (a tick's recompute and
//! append, a backfill's range), the writer passes what recompute says it changed to
//! `unseal_written`, in its own transaction, which takes their day, week and four weeks off the list and
//! queues them (usage_rollup.key_rollup_stale). Sealing rebuilds a day from the
//! rollup (and a week or four weeks from the sealed blocks below) and lists it
//! again. Only the holder of the rollup lock writes any of these tables. Reports read
//! listed blocks and the rollup's 15-minute rows for the rest of the range, so a
//! block that is not sealed yet costs speed, never exactness. The tick seals one
//! block per run (the current day, which every tick appends to, is never sealed);
//! a backfill seals all it can.

pub mod tasks;

use crate::binding::{bin_of, BUCKET_LIMIT};
use crate::catalog::{self, Buckets};
use crate::errors::SpiExt;
use pgrx::prelude::*;

/// A day is sealed this long after it ends: usage rows are often written a little
/// after their created_at, and each late row would take the day off the list again.
const SEAL_MARGIN: &str = "01:00:00";

/// Blocks are kept only before this instant: a block must end (plus SEAL_MARGIN)
/// within PostgreSQL's timestamps. Rows of the last months before the end of time
/// (a client clock gone wild) are read from the 15-minute rollup.
pub(crate) const KEYED_LIMIT: &str = "294276-01-01 00:00:00+00";

/// Every UTC day the rollup holds (a query of column day): what the updates seal.
pub(crate) const ROLLUP_DAYS: &str =
    "SELECT DISTINCT w.bucket_start AS day FROM usage_rollup.rollup_ws w WHERE w.width = 1440";

/// No limit (as LIMIT $n).
const ALL: i64 = i64::MAX;

/// The keyed block widths in minutes above a day, each with the width it is summed
/// from (a week of days, four weeks of weeks; aligned at 2000-01-01 like every block).
pub const WIDER: [(i64, i64); 2] = [(10080, 1440), (40320, 10080)];

/// Whether the tables exist (the SQL of 0.6.0; a newer library runs with older SQL
/// until ALTER EXTENSION usage_rollup UPDATE).
pub fn installed() -> bool {
    catalog::has(catalog::Sql::V0_6)
}

/// The CTE (starting with a comma: keyed/append.sql) that adds a rollup delta
/// `source`, rows shaped like usage_rollup.rollup, to the sealed blocks holding
/// them (recompute/append.sql); empty without the tables.
pub fn append_sql(source: &str) -> String {
    if !installed() {
        return String::new();
    }
    let [day, week, four_weeks] = [1440, WIDER[0].0, WIDER[1].0].map(|w| bin_of("r.bucket_start", w));
    crate::sql::keyed::Append { source, day: &day, week: &week, four_weeks: &four_weeks }.render()
}

/// The keyed widths, with the day first (each block a query of width and
/// bucket_start over bucket starts `b`: recompute's shrunk.sql).
pub fn blocks_of(b: &str) -> Vec<String> {
    if !installed() {
        return Vec::new();
    }
    [1440, WIDER[0].0, WIDER[1].0]
        .iter()
        .map(|w| format!("SELECT {w} AS width, {} AS bucket_start FROM {b}", bin_of(&format!("{b}.bucket_start"), *w)))
        .collect()
}

/// After rollup buckets were written (recompute::Outcome): the keyed blocks of the
/// buckets whose rows `changed`, and the task days and hours of every bucket
/// `recomputed`, are no longer sealed, and are queued for the tick to seal again.
pub fn unseal_written(changed: &Buckets, recomputed: &Buckets) {
    unseal_blocks(changed);
    tasks::unseal_buckets(recomputed);
}

fn unseal_blocks(buckets: &Buckets) {
    if !installed() {
        return;
    }
    match buckets {
        Buckets::List(starts) if starts.is_empty() => {}
        Buckets::List(starts) => Spi::run_with_args(&unseal(&days_of_buckets()), &[starts.to_vec().into()])
            .or_raise("queue the keyed blocks of the written buckets"),
        // (a backfill into an empty range: the days that hold rollup rows now, or
        // were sealed, empty, before)
        Buckets::Range(from, to) => {
            let days = days_of_range("SELECT b.bucket_start FROM usage_rollup.key_rollup_block b WHERE b.width = 1440");
            Spi::run_with_args(&unseal(&days), &[(*from).into(), (*to).into()])
                .or_raise("queue the keyed blocks of the filled range")
        }
    }
}

/// The UTC days of the bucket starts $1 (a query of column day).
pub(crate) fn days_of_buckets() -> String {
    format!(
        "SELECT DISTINCT {} AS day FROM pg_catalog.unnest($1::timestamptz[]) s
         WHERE s > '-infinity' AND s < '{BUCKET_LIMIT}'",
        bin_of("s", 1440)
    )
}

/// The UTC days touching [$1, $2) that hold rollup rows, or that `listed` (a query
/// of day starts, as bucket_start) lists (a query of column day).
pub(crate) fn days_of_range(listed: &str) -> String {
    format!(
        "SELECT w.bucket_start AS day FROM usage_rollup.rollup_ws w
         WHERE w.width = 1440 AND w.bucket_start >= {from} AND w.bucket_start < $2
         UNION
         SELECT x.bucket_start FROM ({listed}) x WHERE x.bucket_start >= {from} AND x.bucket_start < $2",
        from = bin_of("$1", 1440)
    )
}

/// The statement that takes the blocks of the days `days` (a query of column day)
/// off the sealed list and queues them: each day, its week and its four weeks.
fn unseal(days: &str) -> String {
    format!(
        "WITH day AS ({days}),
         block AS (
             SELECT * FROM (SELECT 1440 AS width, day AS bucket_start FROM day
                            UNION SELECT 10080, {} FROM day
                            UNION SELECT 40320, {} FROM day) b
             WHERE b.bucket_start < '{KEYED_LIMIT}'
         ), unsealed AS (
             DELETE FROM usage_rollup.key_rollup_block b USING block x
             WHERE b.width = x.width AND b.bucket_start = x.bucket_start
         )
         INSERT INTO usage_rollup.key_rollup_stale (width, bucket_start) SELECT width, bucket_start FROM block
         ON CONFLICT (width, bucket_start) DO NOTHING",
        bin_of("day", 10080),
        bin_of("day", 40320)
    )
}

/// Queued days that ended at least SEAL_MARGIN before `cut`, newest first (at most
/// `limit`).
fn finished_days(cut: TimestampWithTimeZone, limit: i64) -> Vec<TimestampWithTimeZone> {
    finished(
        "(SELECT s.bucket_start FROM usage_rollup.key_rollup_stale s WHERE s.width = 1440)",
        SEAL_MARGIN,
        cut,
        limit,
    )
}

/// The days of `queue` (a relation of day starts, as bucket_start) that ended at least
/// `margin` before `cut`, newest first (at most `limit`).
pub(crate) fn finished(
    queue: &str,
    margin: &str,
    cut: TimestampWithTimeZone,
    limit: i64,
) -> Vec<TimestampWithTimeZone> {
    Spi::get_one_with_args::<Vec<TimestampWithTimeZone>>(
        &format!(
            "SELECT pg_catalog.array_agg(bucket_start) FROM (
                 SELECT q.bucket_start FROM {queue} q
                 WHERE q.bucket_start + '24:00:00'::interval + '{margin}'::interval <= $1
                 ORDER BY q.bucket_start DESC LIMIT $2) x"
        ),
        &[cut.into(), limit.into()],
    )
    .or_raise("find the days to seal")
    .unwrap_or_default()
}

/// Queued blocks of `width` that ended SEAL_MARGIN before `cut` and whose blocks of
/// `below` are all done, newest first: each sealed, or never holding a rollup row
/// and not queued (the days before the first usage row in a week, a week without
/// usage; their sums are nothing, so the block's rows are those of its sealed parts).
fn complete_blocks(width: i64, below: i64, cut: TimestampWithTimeZone, limit: i64) -> Vec<TimestampWithTimeZone> {
    Spi::get_one_with_args::<Vec<TimestampWithTimeZone>>(
        &format!(
            "SELECT pg_catalog.array_agg(bucket_start) FROM (
                 SELECT s.bucket_start FROM usage_rollup.key_rollup_stale s
                 WHERE s.width = {width}
                   AND s.bucket_start + '{width} minutes'::interval + '{SEAL_MARGIN}'::interval <= $2
                   AND NOT EXISTS (
                       SELECT 1 FROM pg_catalog.generate_series(s.bucket_start,
                                                                s.bucket_start + '{last} minutes'::interval,
                                                                '{below} minutes'::interval) p (part)
                       WHERE NOT EXISTS (SELECT 1 FROM usage_rollup.key_rollup_block b
                                         WHERE b.width = {below} AND b.bucket_start = p.part)
                         AND (EXISTS (SELECT 1 FROM usage_rollup.key_rollup_stale x
                                      WHERE x.width = {below} AND x.bucket_start = p.part)
                              OR EXISTS (SELECT 1 FROM usage_rollup.rollup_ws w
                                         WHERE w.width = 1440 AND w.bucket_start >= p.part
                                           AND w.bucket_start < p.part + '{below} minutes'::interval)))
                 ORDER BY 1 DESC LIMIT $1) x",
            last = width - below
        ),
        &[limit.into(), cut.into()],
    )
    .or_raise("find the blocks to seal")
    .unwrap_or_default()
}

/// Rebuild blocks of one width (`fill`: the INSERT of their rows) and list them.
fn seal(width: i64, starts: &[TimestampWithTimeZone], fill: &str) {
    if starts.is_empty() {
        return;
    }
    let args = [starts.to_vec().into()];
    for sql in [
        format!("DELETE FROM usage_rollup.key_rollup k WHERE k.width = {width} AND k.bucket_start = ANY ($1::timestamptz[])"),
        fill.to_string(),
        format!(
            "INSERT INTO usage_rollup.key_rollup_block (width, bucket_start)
             SELECT DISTINCT {width}, x FROM pg_catalog.unnest($1::timestamptz[]) x
             ON CONFLICT (width, bucket_start) DO UPDATE SET sealed_at = excluded.sealed_at"
        ),
        format!("DELETE FROM usage_rollup.key_rollup_stale s WHERE s.width = {width} AND s.bucket_start = ANY ($1::timestamptz[])"),
    ] {
        Spi::run_with_args(&sql, &args).or_raise("seal keyed blocks");
    }
}

fn seal_days(days: &[TimestampWithTimeZone]) {
    seal(1440, days, &crate::sql::keyed::SealDay {}.render());
}

fn seal_wider(width: i64, below: i64, blocks: &[TimestampWithTimeZone]) {
    let fill = crate::sql::keyed::SealWider { width: &width.to_string(), below: &below.to_string() }.render();
    seal(width, blocks, &fill);
}

/// The tick's share (rollup lock held): seal one block, the newest finished day if
/// any is queued, else the newest week, else four weeks, whose parts are all sealed.
/// One per tick keeps a tick's cost bounded by a day's rollup rows.
pub fn seal_next(cut: TimestampWithTimeZone) {
    if !installed() {
        return;
    }
    let days = finished_days(cut, 1);
    if !days.is_empty() {
        return seal_days(&days);
    }
    for (width, below) in WIDER {
        let blocks = complete_blocks(width, below, cut, 1);
        if !blocks.is_empty() {
            return seal_wider(width, below, &blocks);
        }
    }
}

/// A backfill's share (rollup lock held): seal every day, then every week and four
/// weeks that can be, that ended by `upto` (a slice's end: the days after it are not
/// rebuilt yet, and a block sealed now would be taken off the list by the next slice).
pub fn seal_all(upto: TimestampWithTimeZone) {
    if !installed() {
        return;
    }
    seal_days(&finished_days(upto, ALL));
    for (width, below) in WIDER {
        seal_wider(width, below, &complete_blocks(width, below, upto, ALL));
    }
}

/// The 0.6.0 update's entry: queue every day the rollup holds and seal what is
/// finished. Waits for a running tick.
#[pg_extern(volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn _seal_keyed() {
    if crate::binding::Binding::load().is_none() {
        return;
    }
    crate::lock::rollup();
    Spi::run(&unseal(ROLLUP_DAYS)).or_raise("queue the rollup's days");
    seal_all(crate::lock::safe_upper_bound(crate::settings::safety_lag_secs()));
}

/// Empty the keyed blocks and task days (detach).
pub fn clear() {
    tasks::clear();
    if installed() {
        Spi::run("TRUNCATE usage_rollup.key_rollup, usage_rollup.key_rollup_block, usage_rollup.key_rollup_stale")
            .or_raise("remove the keyed blocks");
    }
}
