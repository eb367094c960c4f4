//! The tick (SPEC §3): under the rollup lock (taken by the SQL wrapper in tick.sql),
//! drain the queue exactly, discover rows stamped since the watermark, recompute
//! those buckets, advance the watermark, and record the run.

mod record_failure;

use crate::binding::Binding;
use crate::catalog;
use crate::errors::SpiExt;
use crate::invalidate;
use crate::lock::{require_read_committed, safe_upper_bound};
use crate::recompute;
use crate::settings;
use pgrx::prelude::*;

pgrx::extension_sql_file!(
    "tick.sql",
    name = "tick_sql",
    requires = ["catalog", "lock_sql", _tick_locked, _record_failure, standby::_require_primary]
);

/// The window a tick covers: [watermark, upper).
pub struct Window {
    pub from: TimestampWithTimeZone,
    pub to: TimestampWithTimeZone,
}

/// The stamp before which a rebuild (backfill slice) reads usage rows: the safe
/// bound, as for a tick (or the watermark, should that be later). Rows stamped
/// between the watermark and this cut are then in the rollup before a tick's window
/// reaches them, so high_watermark moves to the cut: ticks recompute, never append,
/// until the watermark passes it (see beyond_high_watermark). A NULL watermark
/// starts here, where a tick would start. Call with the rollup lock held.
pub fn rebuild_cut() -> TimestampWithTimeZone {
    let bound = safe_upper_bound(settings::safety_lag_secs());
    // (the column comes with the 0.3.0 SQL; before it, ticks never append)
    let high_watermark = if catalog::has(catalog::Sql::V0_3) {
        ", high_watermark = greatest(s.high_watermark, s.watermark, excluded.watermark)"
    } else {
        ""
    };
    Spi::get_one_with_args::<TimestampWithTimeZone>(
        &format!(
            "INSERT INTO usage_rollup.tick_state AS s (id, watermark) VALUES (1, $1)
             ON CONFLICT (id) DO UPDATE SET watermark = coalesce(s.watermark, excluded.watermark){high_watermark}
             RETURNING greatest(s.watermark, $1)"
        ),
        &[bound.into()],
    )
    .or_raise("record the rebuild's cut")
    .unwrap_or(bound)
}

/// The next window: from the watermark to the safe bound, capped by max_window.
/// Never moves backwards (a bound behind the watermark gives an empty window).
fn next_window(watermark: TimestampWithTimeZone) -> Window {
    let bound = safe_upper_bound(settings::safety_lag_secs());
    let cap = settings::max_window_secs();
    let to: TimestampWithTimeZone = Spi::get_one_with_args(
        "SELECT greatest($1, CASE WHEN $3 > 0 THEN least($2, $1 + pg_catalog.make_interval(secs => $3)) ELSE $2 END)",
        &[watermark.into(), bound.into(), (cap as f64).into()],
    )
    .or_raise("compute the window")
    .unwrap_or(watermark);
    Window { from: watermark, to }
}

/// Remove and return the queued buckets this tick will recompute: the oldest
/// max_dirty_buckets rows plus every row older than queue_retention.
///
/// Exactness (SPEC §3, reference W11): rows are deleted by identity in this
/// statement, and the recompute runs in a later statement whose snapshot contains
/// every transaction whose queue row was deleted here. A row committed after this
/// statement started is not seen, so it stays for the next tick. The queue is
/// append-only and only ticks delete from it (serialised by the lock), so there is
/// nothing to wait for and nothing to skip.
fn claim_queue() -> Vec<TimestampWithTimeZone> {
    Spi::get_one_with_args::<Vec<TimestampWithTimeZone>>(
        "WITH claimed AS (
             (SELECT id FROM usage_rollup.dirty_bucket ORDER BY id LIMIT $1)
             UNION
             SELECT id FROM usage_rollup.dirty_bucket
             WHERE enqueued_at < pg_catalog.clock_timestamp() - pg_catalog.make_interval(secs => $2)
         ), drained AS (
             DELETE FROM usage_rollup.dirty_bucket d USING claimed c WHERE d.id = c.id RETURNING d.bucket_start
         )
         SELECT pg_catalog.array_agg(DISTINCT bucket_start) FROM drained",
        &[settings::max_dirty_buckets().into(), (settings::queue_retention_secs() as f64).into()],
    )
    .or_raise("drain the invalidation queue")
    .unwrap_or_default()
}

/// The body of usage_rollup.tick(), called with the rollup lock held.
#[pg_extern(volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn _tick_locked(started_at: TimestampWithTimeZone) -> i64 {
    // (tick() refuses before this under the SQL of 0.10.0; this is for older SQL)
    crate::standby::require_primary("tick");
    require_read_committed("tick()");
    let binding = Binding::require("tick()");
    Spi::run("INSERT INTO usage_rollup.tick_state (id) VALUES (1) ON CONFLICT (id) DO NOTHING")
        .or_raise("create the tick state");
    let watermark: Option<TimestampWithTimeZone> =
        Spi::get_one("SELECT watermark FROM usage_rollup.tick_state WHERE id = 1 FOR UPDATE")
            .or_raise("read the tick state");
    // attach() sets the watermark; a NULL one (state restored without it) restarts at
    // the bound, and nothing is known about what the rollup holds: no appending
    let known = watermark.is_some();
    let watermark = watermark.unwrap_or_else(|| safe_upper_bound(settings::safety_lag_secs()));
    let window = next_window(watermark);

    // corrections are applied as deltas only where the tick appends (otherwise they
    // become queued buckets, claimed next)
    let tracked = invalidate::corrections_queued(&binding.usage);
    let appending = known && tracked && beyond_high_watermark(window.from);
    let deltas = recompute::corrections::prepare(&binding, appending);
    // changes to buckets before the frozen horizon are dropped, and counted
    let horizon = crate::catalog::horizon::current();
    let (claimed, frozen_queued) = crate::freeze::drop_frozen(horizon, claim_queue());
    let queued = claimed.len();
    let (discovered, frozen_discovered) =
        crate::freeze::drop_frozen(horizon, recompute::discover(&binding, window.from, window.to));
    let mut ignored = frozen_queued + frozen_discovered;
    let (mut dirty, appended) =
        if appending { split_discovered(claimed, discovered) } else { ([claimed, discovered].concat(), Vec::new()) };
    let mut outcome = recompute::buckets(&binding, &dirty, window.to);
    recompute::variants_of_buckets(&binding, &dirty);
    let added = recompute::append(&binding, &appended, (window.from, window.to), deltas, &dirty, horizon);
    // (the variant list changes only where a task gained or lost rows)
    recompute::variants_of_new(&binding, &added.moved, window.from, window.to);
    outcome.rows_written += added.rows_written;
    outcome.raw_rows += added.raw_rows;
    ignored += added.frozen;
    // the keyed blocks took the append's delta; the task days of its buckets where a
    // task gained or lost rows are no longer sealed
    let touched = crate::catalog::Buckets::List([dirty.as_slice(), added.moved.as_slice()].concat());
    crate::keyed::unseal_written(&outcome.changed, &touched);
    // the run rollup's queue (0.5.0 SQL); tick() counts the usage rollup's rows, as before
    if catalog::has(catalog::Sql::V0_5) {
        ignored += crate::runs::refresh(&binding, horizon);
    }
    // one keyed block per tick, after this tick's own writes took theirs off the list
    crate::keyed::seal_next(window.to);
    crate::keyed::tasks::seal_next(&binding, window.to);
    crate::freeze::on_tick(&binding);
    let appended_count = appended.len() as i64;
    dirty.extend(appended);
    // high_watermark and tick_run.appended come with the SQL (0.3.0) that installs
    // the correction trigger; the SQL of an earlier version has neither
    let (high_watermark, appended_column, appended_value) = if tracked {
        (", high_watermark = greatest(coalesce(high_watermark, $2), $2)", ", appended", ", $7")
    } else {
        ("", "", "")
    };
    // (the column comes with the SQL of 0.10.0, as does any horizon)
    let frozen = if ignored > 0 {
        format!(", frozen_changes_ignored = frozen_changes_ignored + {ignored}")
    } else {
        String::new()
    };

    Spi::run_with_args(
        &format!(
            "WITH s AS (
                 UPDATE usage_rollup.tick_state SET
                     watermark = $2, last_started_at = $1, last_finished_at = pg_catalog.clock_timestamp(),
                     last_success_at = pg_catalog.clock_timestamp(), last_rows = $3,
                     last_duration_ms = extract(epoch FROM pg_catalog.clock_timestamp() - $1)::float8 * 1000
                     {high_watermark}{frozen}
                 WHERE id = 1 RETURNING last_finished_at, last_duration_ms)
             INSERT INTO usage_rollup.tick_run (kind, started_at, finished_at, status, window_from, window_to,
                                                buckets, raw_rows, rows_written, duration_ms{appended_column})
             SELECT 'tick', $1, s.last_finished_at, 'succeeded', $4, $2, $5, $6, $3, s.last_duration_ms{appended_value}
             FROM s"
        ),
        &[
            started_at.into(),
            window.to.into(),
            outcome.rows_written.into(),
            window.from.into(),
            (dirty.len() as i64).into(),
            outcome.raw_rows.into(),
            appended_count.into(),
        ],
    )
    .or_raise("record the tick");
    prune_history();
    if queued > 0 {
        pgrx::debug1!("usage_rollup tick drained {queued} queued bucket(s)");
    }
    outcome.rows_written
}

/// Whether the rollup holds no row stamped at or after `from`: no tick got further
/// (a watermark moved back by hand leaves rows in the rollup that a window from
/// there would find again). Unknown (NULL: no tick since attach) counts as no.
fn beyond_high_watermark(from: TimestampWithTimeZone) -> bool {
    Spi::get_one_with_args::<bool>(
        "SELECT high_watermark <= $1 FROM usage_rollup.tick_state WHERE id = 1",
        &[from.into()],
    )
    .or_raise("read the high watermark")
    .unwrap_or(false)
}

/// Which discovered buckets get their new rows appended and which are recomputed:
/// a bucket in the queue (claimed now, or left for a later tick by
/// max_dirty_buckets) had a change the watermark cannot see, so it is recomputed;
/// in any other the rows stamped in the window are all new (see append.sql).
fn split_discovered(
    claimed: Vec<TimestampWithTimeZone>,
    discovered: Vec<TimestampWithTimeZone>,
) -> (Vec<TimestampWithTimeZone>, Vec<TimestampWithTimeZone>) {
    if discovered.is_empty() {
        return (claimed, discovered);
    }
    let (recompute, append): (Option<Vec<TimestampWithTimeZone>>, Option<Vec<TimestampWithTimeZone>>) =
        Spi::get_two_with_args(
            "SELECT pg_catalog.array_agg(b) FILTER (WHERE queued), pg_catalog.array_agg(b) FILTER (WHERE NOT queued)
             FROM (SELECT b, b = ANY ($2::timestamptz[])
                             OR b IN (SELECT d.bucket_start FROM usage_rollup.dirty_bucket d) AS queued
                   FROM (SELECT DISTINCT b FROM pg_catalog.unnest($1::timestamptz[]) b) u) s",
            &[discovered.into(), claimed.clone().into()],
        )
        .or_raise("look up queued buckets");
    ([claimed, recompute.unwrap_or_default()].concat(), append.unwrap_or_default())
}

/// Tick history older than queue_retention goes.
fn prune_history() {
    Spi::run_with_args(
        "DELETE FROM usage_rollup.tick_run \
         WHERE started_at < pg_catalog.clock_timestamp() - pg_catalog.make_interval(secs => $1)",
        &[(settings::queue_retention_secs() as f64).into()],
    )
    .or_raise("prune tick history");
}
