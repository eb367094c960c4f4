//! Time zones (SPEC §4): resolve_tz() and local_today(). Local days are sliced with
//! the server's own zone data (`AT TIME ZONE` in SQL, and the same lookup and
//! pg_localtime in edges.rs), so report boundaries agree with what users compare
//! against; this module decides which zone that is.

mod edges;
mod resolve;

use pgrx::prelude::*;
pub use resolve::resolve;

/// The zone reports use: tz if given (validated), else the viewer's stored zone,
/// else UTC.
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn resolve_tz(tz: default!(Option<&str>, "NULL"), viewer_id: default!(Option<pgrx::Uuid>, "NULL")) -> String {
    resolve(tz, viewer_id)
}

/// Today's date in that zone: the start of "last N days" is
/// local_today(...) - (N - 1), a local midnight, never a UTC one.
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn local_today(
    tz: default!(Option<&str>, "NULL"),
    viewer_id: default!(Option<pgrx::Uuid>, "NULL"),
) -> pgrx::datum::Date {
    let zone = resolve(tz, viewer_id);
    crate::read::one::<pgrx::datum::Date>(
        "SELECT (pg_catalog.now() AT TIME ZONE $1)::date",
        &[zone.clone().into()],
        "compute today's date",
    )
    .unwrap_or_else(|| pgrx::error!("usage_rollup could not compute today's date in \"{zone}\""))
}
