//! Durable failure records (SPEC §3, reference W2).
//!
//! A failing tick must re-raise its error (so pg_cron marks the run failed), and a
//! re-raised error rolls back everything the tick's transaction wrote. The record
//! therefore has to be written by another transaction: this starts a short-lived
//! dynamic background worker that connects to the same database, writes the
//! failure into tick_state and tick_run, and exits; the caller waits for it. The
//! message travels through a dynamic shared memory segment (a worker's Datum
//! argument cannot carry a pointer).

use crate::errors::SpiExt;
use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, BgWorkerStartTime, SignalWakeFlags};
use pgrx::pg_sys;
use pgrx::prelude::*;

const FIELD_SEP: char = '\u{1}';

/// Record a failed tick or backfill slice in a separate transaction.
/// Returns false (with a WARNING) when no background worker could be started.
#[pg_extern(volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn _record_failure(kind: &str, started_at: TimestampWithTimeZone, sqlstate: &str, message: &str) -> bool {
    // nothing is recorded on a standby: it accepts no writes, and a worker that
    // starts once recovery has finished would never start (the caller would wait)
    if crate::standby::in_recovery() {
        return false;
    }
    // backfill() calls it with the caller's rights: callable by PUBLIC, for the
    // roles that may run what failed
    match kind {
        "tick" | "backfill" => crate::privileges::require_execute(kind),
        other => pgrx::error!("usage_rollup._record_failure: unknown kind \"{other}\""),
    }
    let epoch: String = Spi::get_one_with_args("SELECT extract(epoch FROM $1)::text", &[started_at.into()])
        .or_raise("format the failure time")
        .unwrap_or_default();
    let payload = [kind, &epoch, sqlstate, message].join(&FIELD_SEP.to_string());
    let bytes = payload.as_bytes();

    // SAFETY: the segment is created, filled and detached here; the worker only
    // reads it while this backend waits for the worker to exit.
    unsafe {
        let segment = pg_sys::dsm_create(bytes.len() + 4, 0);
        let base = pg_sys::dsm_segment_address(segment) as *mut u8;
        std::ptr::copy_nonoverlapping((bytes.len() as u32).to_ne_bytes().as_ptr(), base, 4);
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), base.add(4), bytes.len());
        let handle = pg_sys::dsm_segment_handle(segment);

        let started = BackgroundWorkerBuilder::new("usage_rollup failure recorder")
            .set_type("usage_rollup failure recorder")
            .set_library("usage_rollup")
            .set_function("usage_rollup_record_failure_main")
            .set_argument(Some(pg_sys::Datum::from(handle)))
            .set_extra(&pg_sys::MyDatabaseId.to_u32().to_string())
            .enable_spi_access()
            .set_start_time(BgWorkerStartTime::RecoveryFinished)
            .set_restart_time(None)
            .set_notify_pid(pg_sys::MyProcPid)
            .load_dynamic();
        let recorded = match started {
            Ok(worker) => worker.wait_for_shutdown().is_ok(),
            Err(_) => false,
        };
        pg_sys::dsm_detach(segment);
        if !recorded {
            pgrx::warning!(
                "usage_rollup could not record the {kind} failure in usage_rollup.status: no background worker could be started; \
                 raise max_worker_processes"
            );
        }
        recorded
    }
}

/// Entry point of the failure-recording worker.
#[pg_guard]
#[no_mangle]
pub extern "C-unwind" fn usage_rollup_record_failure_main(arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    let database: u32 = BackgroundWorker::get_extra().parse().unwrap_or(0);
    BackgroundWorker::connect_worker_to_spi_by_oid(Some(pg_sys::Oid::from(database)), None);
    let handle = arg.value() as pg_sys::dsm_handle;

    BackgroundWorker::transaction(|| {
        // SAFETY: the creating backend keeps the segment attached until we exit.
        let payload = unsafe {
            let segment = pg_sys::dsm_attach(handle);
            if segment.is_null() {
                return;
            }
            let base = pg_sys::dsm_segment_address(segment) as *const u8;
            let mut len = [0u8; 4];
            std::ptr::copy_nonoverlapping(base, len.as_mut_ptr(), 4);
            let len = u32::from_ne_bytes(len) as usize;
            let text = String::from_utf8_lossy(std::slice::from_raw_parts(base.add(4), len)).into_owned();
            pg_sys::dsm_detach(segment);
            text
        };
        let mut fields = payload.splitn(4, FIELD_SEP);
        let kind = fields.next().unwrap_or("tick").to_string();
        let epoch = fields.next().unwrap_or("0").to_string();
        let sqlstate = fields.next().unwrap_or("").to_string();
        let message = fields.next().unwrap_or("").to_string();
        Spi::run("SET LOCAL search_path = pg_catalog, pg_temp").or_raise("pin search_path");
        Spi::run_with_args(
            "WITH s AS (
                 INSERT INTO usage_rollup.tick_state AS t (id, last_started_at, last_finished_at, last_duration_ms,
                                                           last_rows, last_error, last_error_sqlstate, last_error_at)
                 VALUES (1, pg_catalog.to_timestamp($2::float8), pg_catalog.clock_timestamp(),
                         extract(epoch FROM pg_catalog.clock_timestamp() - pg_catalog.to_timestamp($2::float8))::float8 * 1000,
                         NULL, $4, $3, pg_catalog.clock_timestamp())
                 ON CONFLICT (id) DO UPDATE SET
                     last_started_at = excluded.last_started_at, last_finished_at = excluded.last_finished_at,
                     last_duration_ms = excluded.last_duration_ms, last_rows = NULL,
                     last_error = excluded.last_error, last_error_sqlstate = excluded.last_error_sqlstate,
                     last_error_at = excluded.last_error_at
                 RETURNING last_finished_at, last_duration_ms)
             INSERT INTO usage_rollup.tick_run (kind, started_at, finished_at, status, duration_ms, sqlstate, error)
             SELECT $1, pg_catalog.to_timestamp($2::float8), s.last_finished_at, 'failed', s.last_duration_ms, $3, $4
             FROM s",
            &[kind.into(), epoch.into(), sqlstate.into(), message.into()],
        )
        .or_raise("record a failure");
    });
}
