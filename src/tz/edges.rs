//! Where a report's local groups start inside its UTC range (the edges the block
//! tiling must not cross, reports/blocks.rs): the 15-minute bucket starts whose
//! local date differs from the previous bucket's (`_day_edges`), or whose place
//! before, inside or after the report's local days does (`_range_edges`).
//!
//! Local time is PostgreSQL's own: the same zone lookup and the same pg_localtime as
//! `AT TIME ZONE` (timestamptz_zone), so an edge is exactly where the reports' SQL
//! sees the date change. Before 0.9.0 these edges were found in SQL with three
//! `AT TIME ZONE` per UTC hour, ~3.5 ms of a 90-day daily report's ~25 (SPEC §6);
//! here one pg_localtime per hour, and one per quarter only in an hour whose date or
//! UTC offset changes.

use crate::binding::{bucket_edge, timestamp};
use pgrx::datum::Date;
use pgrx::prelude::*;
use std::ffi::CString;

const QUARTER: i64 = 15 * 60 * 1_000_000;
const HOUR: i64 = 4 * QUARTER;
const DAY: i64 = 24 * HOUR;
/// What edges() could not do, in its errors.
const TASK: &str = "find the local days of a report range";
/// Seconds from 1970-01-01 (pg_time_t's epoch) to 2000-01-01 (a timestamp's).
const UNIX_TO_PG_EPOCH: i64 = 946_684_800;

/// A zone as `AT TIME ZONE` reads its name: a timezone abbreviation first
/// (timezone_abbreviations), else a zone of the tz database.
enum Clock {
    Zone(*mut pg_sys::pg_tz),
    /// An abbreviation (UTC, GMT, or one a DBA configured): asked of
    /// timestamptz_zone itself, once per instant (rare, so not worth its own code).
    Abbreviation(pg_sys::Datum),
}

impl Clock {
    fn new(zone: &str) -> Clock {
        let name = CString::new(zone)
            .unwrap_or_else(|_| pgrx::error!("usage_rollup: time zone name {zone:?} contains a zero byte"));
        // SAFETY: PostgreSQL's own lookups, on a NUL-terminated copy of the name;
        // downcase_truncate_identifier returns a palloc'd string, DecodeTimezoneAbbrev
        // only reads it, and pg_tzset returns a cached zone (or NULL) that lives as
        // long as the backend.
        unsafe {
            let lower = pg_sys::downcase_truncate_identifier(name.as_ptr(), zone.len() as i32, false);
            let (mut offset, mut tz) = (0, std::ptr::null_mut());
            if pg_sys::DecodeTimezoneAbbrev(0, lower, &mut offset, &mut tz) != pg_sys::UNKNOWN_FIELD as i32 {
                let Some(datum) = zone.into_datum() else {
                    pgrx::error!("usage_rollup could not pass the time zone \"{zone}\" to PostgreSQL")
                };
                return Clock::Abbreviation(datum);
            }
            let tz = pg_sys::pg_tzset(name.as_ptr());
            if tz.is_null() {
                pgrx::error!("usage_rollup: time zone \"{zone}\" not recognized");
            }
            Clock::Zone(tz)
        }
    }

    /// The local wall time of instant `t` (both microseconds since 2000-01-01).
    fn local(&self, t: i64) -> i64 {
        match self {
            Clock::Zone(tz) => {
                let secs: pg_sys::pg_time_t = t.div_euclid(1_000_000) + UNIX_TO_PG_EPOCH;
                // SAFETY: pg_localtime reads the instant and the zone and returns a
                // pointer to a static struct (or NULL past its range).
                let gmtoff = unsafe {
                    let tm = pg_sys::pg_localtime(&secs, *tz);
                    if tm.is_null() {
                        pgrx::error!("usage_rollup could not convert {t} to local time");
                    }
                    (*tm).tm_gmtoff
                };
                t + gmtoff * 1_000_000
            }
            Clock::Abbreviation(name) => {
                // SAFETY: timestamptz_zone(text, timestamptz) is strict and returns a
                // pass-by-value timestamp.
                let local = unsafe {
                    pgrx::direct_function_call::<i64>(
                        pg_sys::timestamptz_zone,
                        &[Some(*name), Some(pg_sys::Datum::from(t))],
                    )
                };
                local.unwrap_or_else(|| pgrx::error!("usage_rollup could not convert {t} to local time"))
            }
        }
    }
}

/// The quarters in (start, end) where `group` of the local time changes. `group` is
/// monotone in local time: within an hour whose UTC offset is the same at both ends
/// (tzdata has no zone that changes its offset twice within an hour) a group that
/// is equal at both ends holds for the whole hour, so only hours whose group or
/// offset differ are looked at quarter by quarter. (The offset test is for a
/// fall-back from after a midnight to before it inside one hour, which would leave
/// and re-enter a date; no zone in the test tz_edges does that, so no test fails
/// without it.)
fn edges(
    clock: &Clock,
    start: TimestampWithTimeZone,
    end: TimestampWithTimeZone,
    group: impl Fn(i64) -> i64,
) -> Vec<TimestampWithTimeZone> {
    let (start, end) = (bucket_edge(start, TASK), bucket_edge(end, TASK));
    let mut found = Vec::new();
    let mut t = start;
    let mut local = clock.local(t);
    while t < end {
        let next = (t + HOUR).min(end);
        let local_next = clock.local(next);
        if group(local_next) != group(local) || local_next - next != local - t {
            let mut before = group(local);
            for u in (t + QUARTER..=next).step_by(QUARTER as usize) {
                let g = group(clock.local(u));
                if g != before && u < end {
                    found.push(timestamp(u, TASK));
                }
                before = g;
            }
        }
        (t, local) = (next, local_next);
    }
    found
}

/// The bucket starts in (range_start, range_end) where a new local date of `zone`
/// starts (tiling.sql's edges for reports grouped by local day).
#[pg_extern(immutable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn _day_edges(
    range_start: TimestampWithTimeZone,
    range_end: TimestampWithTimeZone,
    zone: &str,
) -> Vec<TimestampWithTimeZone> {
    let clock = Clock::new(zone);
    edges(&clock, range_start, range_end, |local| local.div_euclid(DAY))
}

/// The bucket starts in (range_start, range_end) where local time of `zone` enters
/// or leaves the local dates [first_date, last_date] (tiling.sql's edges for reports
/// over the range as a whole: groups before, inside and after it).
#[pg_extern(immutable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn _range_edges(
    range_start: TimestampWithTimeZone,
    range_end: TimestampWithTimeZone,
    zone: &str,
    first_date: Date,
    last_date: Date,
) -> Vec<TimestampWithTimeZone> {
    let clock = Clock::new(zone);
    let (first, last) = (first_date.to_pg_epoch_days() as i64, last_date.to_pg_epoch_days() as i64);
    let place = |local: i64| {
        let day = local.div_euclid(DAY);
        if day < first {
            -1
        } else if day > last {
            1
        } else {
            0
        }
    };
    edges(&clock, range_start, range_end, place)
}
