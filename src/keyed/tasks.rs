//! The keyed task days (usage_rollup.key_task; SPEC §6: kpis over 90 days at least
//! 20x faster than raw): per sealed UTC day and workspace, the tasks with a usage
//! row in it, so that kpis' distinct task count over a period reads a count per day
//! and the few tasks that span days instead of every raw row.
//!
//! Invariant: the entries of a day listed in usage_rollup.key_task_block are the
//! tasks of the raw rows in that day, as long as no bucket of the day is dirty
//! (queued, or holding a row stamped since the watermark), which reports check.
//! A raw change inside a day leaves its bucket dirty until a recompute of that
//! bucket, and every recompute (a tick's queued buckets or appended rows, a
//! backfill's range) calls `recomputed` in its transaction, which takes the day off
//! the list, *whether or not the rollup changed*: a usage row moved from one task to
//! another can leave every rollup row as it was (unlike the keyed blocks, which
//! only follow the rollup).
//!
//! "single" (every row of the task lay in that day at sealing) splits the count: a
//! range's count is the sum of the single tasks of its sealed days, plus the other
//! tasks of those days and the tasks of the raw rows elsewhere in the range, counted
//! distinct, less the tasks single in one of the summed days. A task is single in at
//! most one sealed, clean day: were it single in two, the one sealed first held a
//! row of it that the later sealing did not see, a change the first day would have
//! been taken off the list for.
//!
//! The same holds per UTC hour (usage_rollup.key_task_hour, 0.8.0) for the hours of
//! the days not sealed yet, the current one above all: a tick seals one finished
//! hour per run, a recompute or an append takes the hours of its buckets off the
//! list (not the whole day: every tick appends to the current hour), and sealing a
//! day removes its hours. Any two sealed blocks are disjoint or a day and its hour,
//! which are never sealed at once; the argument above holds for any such blocks.

use super::KEYED_LIMIT;
use crate::binding::{bin_of, Binding};
use crate::catalog::{self, Buckets};
use crate::errors::SpiExt;
use pgrx::prelude::*;

/// A day's tasks are sealed this long after it ends (plus safety_lag), sooner than
/// the keyed blocks' hour: until then kpis reads the whole previous day raw (33k rows
/// in the sparse benchmark, half its time: 19x instead of 40x in the hour after UTC
/// midnight), while a late row only costs the day a reseal (~0.4 s) in a later tick.
/// status.task_day_backlog (health.sql) counts with the same margin.
const SEAL_MARGIN: &str = "00:10:00";

/// The hours of the days not sealed yet are sealed this long after they end too.
const HOUR_MARGIN: &str = SEAL_MARGIN;

/// Above this many days a seal is set-based (seal_tasks_bulk.sql), at or below it a
/// day's rows and tasks are looked up by index (seal_tasks.sql).
const BULK_DAYS: usize = 3;

/// Whether the tables exist (the SQL of 0.7.0).
pub fn installed() -> bool {
    catalog::has(catalog::Sql::V0_7)
}

/// Whether the hours' tables exist too (the SQL of 0.8.0).
pub fn hours_installed() -> bool {
    catalog::has(catalog::Sql::V0_8)
}

/// Sealed blocks of one width: their entries, single counts and list.
struct Level {
    minutes: i64,
    entries: &'static str,
    counts: &'static str,
    blocks: &'static str,
}

const DAYS: Level = Level {
    minutes: 1440,
    entries: "usage_rollup.key_task",
    counts: "usage_rollup.key_task_day",
    blocks: "usage_rollup.key_task_block",
};

const HOURS: Level = Level {
    minutes: 60,
    entries: "usage_rollup.key_task_hour",
    counts: "usage_rollup.key_task_hour_count",
    blocks: "usage_rollup.key_task_hour_block",
};

/// After the rollup's buckets were recomputed or appended to (keyed::unseal_written):
/// their days' task entries are no longer sealed, and are queued; their hours are
/// unsealed. For a range (a backfill's, after its per-workspace rows): the days it
/// touches that hold rollup rows now, or were sealed before.
pub fn unseal_buckets(buckets: &Buckets) {
    if !installed() {
        return;
    }
    let (days, hours, args): (String, String, Vec<pgrx::datum::DatumWithOid>) = match buckets {
        Buckets::List(starts) if starts.is_empty() => return,
        Buckets::List(starts) => (
            super::days_of_buckets(),
            format!(
                "DELETE FROM usage_rollup.key_task_hour_block b
                 WHERE b.bucket_start IN (SELECT {} FROM pg_catalog.unnest($1::timestamptz[]) s)",
                bin_of("s", 60)
            ),
            vec![starts.to_vec().into()],
        ),
        Buckets::Range(from, to) => (
            super::days_of_range("SELECT b.bucket_start FROM usage_rollup.key_task_block b"),
            format!(
                "DELETE FROM usage_rollup.key_task_hour_block b WHERE b.bucket_start >= {} AND b.bucket_start < $2",
                bin_of("$1", 60)
            ),
            vec![(*from).into(), (*to).into()],
        ),
    };
    Spi::run_with_args(&unseal(&days), &args).or_raise("queue the task days of the written buckets");
    if hours_installed() {
        Spi::run_with_args(&hours, &args).or_raise("unseal the task hours of the written buckets");
    }
}

/// The statement that takes the days `days` (a query of column day) off the sealed
/// list and queues them.
fn unseal(days: &str) -> String {
    format!(
        "WITH day AS MATERIALIZED ({days}),
         unsealed AS (
             DELETE FROM usage_rollup.key_task_block b USING day x WHERE b.bucket_start = x.day
         )
         INSERT INTO usage_rollup.key_task_stale (bucket_start)
         SELECT day FROM day WHERE day < '{KEYED_LIMIT}'
         ON CONFLICT (bucket_start) DO NOTHING"
    )
}

/// Queued days that ended at least SEAL_MARGIN before `cut`, newest first (at most
/// `limit`).
fn finished_days(cut: TimestampWithTimeZone, limit: i64) -> Vec<TimestampWithTimeZone> {
    super::finished("usage_rollup.key_task_stale", SEAL_MARGIN, cut, limit)
}

/// Rebuild the entries of these days from the raw rows and list them; their
/// hours go (a sealed day stands for them).
fn seal(binding: &Binding, days: &[TimestampWithTimeZone]) {
    let (Some(first), Some(last)) =
        (days.iter().min_by_key(|d| d.into_inner()), days.iter().max_by_key(|d| d.into_inner()))
    else {
        return;
    };
    if days.len() > BULK_DAYS {
        let frozen = frozen("'24:00:00'::interval");
        let bulk = crate::sql::keyed::SealTasksBulk {
            binding,
            day_of_row: &bin_of("u.created_at", 1440),
            horizon: &frozen.horizon,
            frozen_present_days: &frozen.present_days,
            frozen_single: &frozen.single,
        }
        .render();
        seal_blocks(&DAYS, days, || {
            Spi::run_with_args(&bulk, &[days.to_vec().into(), (*first).into(), (*last).into()])
        });
    } else {
        seal_blocks(&DAYS, days, || Spi::run_with_args(&seal_sql(binding, &DAYS), &[days.to_vec().into()]));
    }
    if hours_installed() {
        let args = [days.to_vec().into()];
        for table in [HOURS.entries, HOURS.counts, HOURS.blocks] {
            Spi::run_with_args(
                &format!(
                    "DELETE FROM {table} k USING pg_catalog.unnest($1::timestamptz[]) d (day)
                     WHERE k.bucket_start >= d.day AND k.bucket_start < d.day + '24:00:00'::interval"
                ),
                &args,
            )
            .or_raise("remove the hours of sealed task days");
        }
    }
    Spi::run_with_args(
        "DELETE FROM usage_rollup.key_task_stale s WHERE s.bucket_start = ANY ($1::timestamptz[])",
        &[days.to_vec().into()],
    )
    .or_raise("seal task days");
}

/// seal_tasks.sql for the blocks of `level`.
fn seal_sql(binding: &Binding, level: &Level) -> String {
    let width = format!("'{} minutes'::interval", level.minutes);
    let frozen = frozen(&width);
    crate::sql::keyed::SealTasks {
        binding,
        width: &width,
        entries: level.entries,
        counts: level.counts,
        horizon: &frozen.horizon,
        frozen_present: &frozen.present,
        frozen_single: &frozen.single,
    }
    .render()
}

/// The frozen history's part of a seal (the fields of seal_tasks.sql and
/// seal_tasks_bulk.sql of the same names).
struct Frozen {
    /// The frozen horizon: raw rows are read from there on.
    horizon: String,
    /// frozen_present: the tasks freeze recorded in the blocks (seal_tasks.sql).
    present: String,
    /// frozen_present_days: the same for whole days (seal_tasks_bulk.sql).
    present_days: String,
    /// frozen_single: a task recorded outside the block is not single.
    single: String,
}

/// The frozen history's part of a seal (seal_tasks.sql, seal_tasks_bulk.sql) for
/// blocks `width` long: none under the SQL of 0.9.0.
fn frozen(width: &str) -> Frozen {
    use crate::catalog::horizon::NONE;
    if !crate::catalog::horizon::installed() {
        return Frozen {
            horizon: NONE.to_string(),
            present: String::new(),
            present_days: String::new(),
            single: String::new(),
        };
    }
    let day = bin_of("p.day", 1440);
    let zero = "pg_catalog.repeat('0', 96)::bit(96)";
    Frozen {
        horizon: format!("coalesce({}, {NONE})", crate::catalog::horizon::column()),
        present: format!(
            "UNION
    SELECT d.day, f.workspace_id, f.task_id
    FROM day d
    JOIN usage_rollup.key_task_frozen f ON f.bucket_start = {}
    WHERE (f.quarters & usage_rollup._quarters(f.bucket_start, d.day, d.day + {width})) <> {zero}",
            bin_of("d.day", 1440)
        ),
        present_days: "UNION
    SELECT f.bucket_start, f.workspace_id, f.task_id
    FROM usage_rollup.key_task_frozen f WHERE f.bucket_start IN (SELECT day FROM day)"
            .to_string(),
        single: format!(
            "AND NOT EXISTS (SELECT 1 FROM usage_rollup.key_task_frozen f
                            WHERE f.task_id = p.task_id
                              AND (f.bucket_start <> {day}
                                   OR (f.quarters & ~usage_rollup._quarters(f.bucket_start, p.day, p.day + {width})) <> {zero}))"
        ),
    }
}

/// Delete the entries of these blocks of `level`, fill them again (`fill`), list them.
fn seal_blocks(level: &Level, starts: &[TimestampWithTimeZone], fill: impl FnOnce() -> Result<(), pgrx::spi::Error>) {
    let args = [starts.to_vec().into()];
    for table in [level.entries, level.counts] {
        Spi::run_with_args(&format!("DELETE FROM {table} k WHERE k.bucket_start = ANY ($1::timestamptz[])"), &args)
            .or_raise("seal task blocks");
    }
    fill().or_raise("seal task blocks");
    Spi::run_with_args(
        &format!(
            "INSERT INTO {} (bucket_start)
             SELECT DISTINCT x FROM pg_catalog.unnest($1::timestamptz[]) x
             ON CONFLICT (bucket_start) DO UPDATE SET sealed_at = excluded.sealed_at",
            level.blocks
        ),
        &args,
    )
    .or_raise("seal task blocks");
}

/// The finished hours not sealed of the queued days of the last two UTC days before
/// `cut` (the current day and the previous one, whose seal is near), newest first
/// (at most `limit`). Older queued days are sealed whole, one per tick.
fn finished_hours(cut: TimestampWithTimeZone, limit: i64) -> Vec<TimestampWithTimeZone> {
    Spi::get_one_with_args::<Vec<TimestampWithTimeZone>>(
        &format!(
            "SELECT pg_catalog.array_agg(h) FROM (
                 SELECT h FROM usage_rollup.key_task_stale s
                 CROSS JOIN LATERAL pg_catalog.generate_series(s.bucket_start, s.bucket_start + '23:00:00'::interval,
                                                               '01:00:00'::interval) h
                 WHERE s.bucket_start >= {today} - '24:00:00'::interval
                   AND h + '01:00:00'::interval + '{HOUR_MARGIN}'::interval <= $1
                   AND NOT EXISTS (SELECT 1 FROM usage_rollup.key_task_hour_block b WHERE b.bucket_start = h)
                 ORDER BY h DESC LIMIT $2) x",
            today = bin_of("$1", 1440)
        ),
        &[cut.into(), limit.into()],
    )
    .or_raise("find the hours to seal")
    .unwrap_or_default()
}

/// Seal the finished hours of the days not sealed yet (at most `limit`).
fn seal_hours(binding: &Binding, cut: TimestampWithTimeZone, limit: i64) {
    if !hours_installed() {
        return;
    }
    let hours = finished_hours(cut, limit);
    if !hours.is_empty() {
        seal_blocks(&HOURS, &hours, || Spi::run_with_args(&seal_sql(binding, &HOURS), &[hours.to_vec().into()]));
    }
}

/// The tick's share (rollup lock held): seal the newest finished day and the newest
/// finished hour of the days not sealed, if any.
pub fn seal_next(binding: &Binding, cut: TimestampWithTimeZone) {
    if installed() {
        seal(binding, &finished_days(cut, 1));
        seal_hours(binding, cut, 1);
    }
}

/// A backfill's finish (rollup lock held): seal every day that ended by `upto`, and
/// the finished hours of the days after.
pub fn seal_all(binding: &Binding, upto: TimestampWithTimeZone) {
    if installed() {
        seal(binding, &finished_days(upto, i64::MAX));
        seal_hours(binding, upto, i64::MAX);
    }
}

/// freeze()'s share (rollup lock held): seal every queued day that ends by the
/// horizon, margin or not: their raw rows may be deleted from now on.
pub fn seal_before(binding: &Binding, horizon: TimestampWithTimeZone) {
    if installed() {
        seal(binding, &super::finished("usage_rollup.key_task_stale", "00:00:00", horizon, i64::MAX));
    }
}

/// The 0.7.0 update's entry: queue every day the rollup holds and seal what is
/// finished. Waits for a running tick.
#[pg_extern(volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn _seal_key_tasks() {
    let Some(binding) = Binding::load() else { return };
    crate::lock::rollup();
    Spi::run(&unseal(super::ROLLUP_DAYS)).or_raise("queue the rollup's days");
    seal_all(&binding, crate::lock::safe_upper_bound(crate::settings::safety_lag_secs()));
    analyze();
}

/// Fresh statistics after sealing many days (a backfill, the update): the report's
/// plan over key_task depends on them.
pub fn analyze() {
    if installed() {
        Spi::run("ANALYZE usage_rollup.key_task, usage_rollup.key_task_day").or_raise("analyze the task days");
    }
    if hours_installed() {
        Spi::run("ANALYZE usage_rollup.key_task_hour, usage_rollup.key_task_hour_count")
            .or_raise("analyze the task hours");
    }
}

/// Empty the task days (detach).
pub fn clear() {
    if installed() {
        Spi::run(
            "TRUNCATE usage_rollup.key_task, usage_rollup.key_task_day, usage_rollup.key_task_block, \
             usage_rollup.key_task_stale",
        )
        .or_raise("remove the keyed task days");
    }
    if crate::catalog::horizon::installed() {
        Spi::run("TRUNCATE usage_rollup.key_task_frozen, usage_rollup.task_frozen, usage_rollup.variant_frozen")
            .or_raise("remove the tasks of the frozen history");
    }
    if hours_installed() {
        Spi::run(
            "TRUNCATE usage_rollup.key_task_hour, usage_rollup.key_task_hour_count, usage_rollup.key_task_hour_block",
        )
        .or_raise("remove the keyed task hours");
    }
}
