//! Every GUC of SPEC §8. Time settings are integer GUCs in seconds with PostgreSQL's
//! own unit handling, like statement_timeout, so '5min', '300s' and 0 all work.

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};

static SAFETY_LAG: GucSetting<i32> = GucSetting::<i32>::new(300);
static MAX_WINDOW: GucSetting<i32> = GucSetting::<i32>::new(86_400);
static QUEUE_RETENTION: GucSetting<i32> = GucSetting::<i32>::new(7 * 86_400);
static MAX_DIRTY_BUCKETS: GucSetting<i32> = GucSetting::<i32>::new(20_000);
static FREEZE_AFTER: GucSetting<i32> = GucSetting::<i32>::new(0);

pub fn init() {
    GucRegistry::define_int_guc(
        c"usage_rollup.safety_lag",
        c"How far behind now() a tick's window ends.",
        c"Usage rows stamped later than now() minus this lag wait for a later tick. Open transactions \
          hold the window back on their own, so this only absorbs clock skew between writers; tests set 0.",
        &SAFETY_LAG,
        0,
        i32::MAX,
        GucContext::Userset,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_int_guc(
        c"usage_rollup.max_window",
        c"Largest span of updated_at one tick scans (catch-up cap); 0 means no cap.",
        c"After a pause, ticks catch up this much time each, so one tick never holds the rollup lock for long.",
        &MAX_WINDOW,
        0,
        i32::MAX,
        GucContext::Userset,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_int_guc(
        c"usage_rollup.queue_retention",
        c"Longest time an invalidation may wait in the queue, and how long tick history is kept.",
        c"A tick always recomputes and removes queue rows older than this, beyond usage_rollup.max_dirty_buckets; \
          tick_run rows older than this are deleted.",
        &QUEUE_RETENTION,
        0,
        i32::MAX,
        GucContext::Userset,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_int_guc(
        c"usage_rollup.max_dirty_buckets",
        c"Most queued invalidations one tick drains (oldest first).",
        c"Bounds the work of one tick after a bulk delete or re-attribution; the rest waits for the next tick.",
        &MAX_DIRTY_BUCKETS,
        1,
        i32::MAX,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"usage_rollup.freeze_after",
        c"Age after which every tick freezes the rollup's history (usage_rollup.freeze); 0 means off.",
        c"Each tick calls usage_rollup.freeze(now() - freeze_after). Set it shorter than the retention of the raw \
          usage rows (pg_partman's retention), so the rollup keeps the history their deletion would take.",
        &FREEZE_AFTER,
        0,
        i32::MAX,
        GucContext::Userset,
        GucFlags::UNIT_S,
    );
}

/// Seconds; see `usage_rollup.safety_lag`.
pub fn safety_lag_secs() -> i64 {
    i64::from(SAFETY_LAG.get())
}

/// Seconds, 0 = no cap; see `usage_rollup.max_window`.
pub fn max_window_secs() -> i64 {
    i64::from(MAX_WINDOW.get())
}

/// Seconds; see `usage_rollup.queue_retention`.
pub fn queue_retention_secs() -> i64 {
    i64::from(QUEUE_RETENTION.get())
}

pub fn max_dirty_buckets() -> i64 {
    i64::from(MAX_DIRTY_BUCKETS.get())
}

/// Seconds, 0 = off; see `usage_rollup.freeze_after`.
pub fn freeze_after_secs() -> i64 {
    i64::from(FREEZE_AFTER.get())
}
