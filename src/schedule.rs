//! schedule() / unschedule() (SPEC §3): register the tick with pg_cron.
//!
//! The job is named usage_rollup_tick and runs as the role that scheduled it.
//! pg_cron is referenced only through dynamic SQL, so usage_rollup installs and
//! works without it (call tick() from any scheduler).

use crate::errors::{Error, SpiExt};
use pgrx::pg_sys::errcodes::PgSqlErrorCode;
use pgrx::prelude::*;

const JOB_NAME: &str = "usage_rollup_tick";

fn require_pg_cron() {
    let installed: bool =
        Spi::get_one("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_cron')")
            .or_raise("look up pg_cron")
            .unwrap_or(false);
    if !installed {
        Error::PgCronMissing.raise();
    }
}

/// Schedule usage_rollup.tick() with pg_cron (or change the schedule of the existing job).
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn schedule(cron: default!(Option<&str>, "'*/5 * * * *'")) -> i64 {
    crate::standby::require_primary("schedule");
    let cron = cron.unwrap_or_else(|| Error::NullArgument { function: "schedule".into(), argument: "cron" }.raise());
    require_pg_cron();
    // pg_cron ignores fields past the fifth ("0 0 1 1 * garbage" runs yearly) and
    // words its errors without the value
    let fields = cron.split_whitespace().count();
    let seconds = cron.trim().trim_end_matches('s').trim_end_matches("second").trim().parse::<u32>().is_ok();
    if fields == 0 || (!cron.trim_start().starts_with('@') && !seconds && fields != 5) {
        Error::InvalidSchedule { value: cron.into(), detail: format!("It has {fields} fields.") }.raise();
    }
    PgTryBuilder::new(|| {
        Spi::get_one_with_args::<i64>(
            "SELECT cron.schedule($1, $2, 'SELECT usage_rollup.tick()')",
            &[JOB_NAME.into(), cron.into()],
        )
        .or_raise("schedule the tick")
        .unwrap_or(0)
    })
    .catch_when(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, |e| {
        let detail = match &e {
            pg_sys::panic::CaughtError::PostgresError(r) | pg_sys::panic::CaughtError::ErrorReport(r) => {
                format!("pg_cron: {}.", r.message())
            }
            _ => String::new(),
        };
        Error::InvalidSchedule { value: cron.into(), detail }.raise()
    })
    .execute()
}

/// Remove the pg_cron job; false if there was none.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn unschedule() -> bool {
    crate::standby::require_primary("unschedule");
    require_pg_cron();
    let exists: bool = Spi::get_one_with_args(
        "SELECT EXISTS (SELECT 1 FROM cron.job WHERE jobname = $1 AND username = current_user)",
        &[JOB_NAME.into()],
    )
    .or_raise("look up the pg_cron job")
    .unwrap_or(false);
    if !exists {
        return false;
    }
    Spi::get_one_with_args::<bool>("SELECT cron.unschedule($1)", &[JOB_NAME.into()])
        .or_raise("unschedule the tick")
        .unwrap_or(false)
}
