//! Health (SPEC §3): status view, lag_seconds() and verify() live in health.sql;
//! this renders verify()'s query against the binding and checks its arguments.

use crate::binding::{bin_end, bin_of, Binding, BUCKET_LIMIT, BUCKET_SECONDS};
use crate::errors::Error;
use crate::recompute;
use pgrx::prelude::*;

pgrx::extension_sql_file!("health.sql", name = "health_sql", requires = ["catalog", _verify_sql]);

/// The verify() query for the current binding ($1 = from_ts, $2 = to_ts).
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn _verify_sql(from_ts: Option<TimestampWithTimeZone>, to_ts: Option<TimestampWithTimeZone>) -> String {
    let from =
        from_ts.unwrap_or_else(|| Error::NullArgument { function: "verify".into(), argument: "from_ts" }.raise());
    let to = to_ts.unwrap_or_else(|| Error::NullArgument { function: "verify".into(), argument: "to_ts" }.raise());
    if from > to {
        Error::InvalidRange { what: "verify range", from: from.to_string(), to: to.to_string() }.raise();
    }
    let binding = Binding::require("verify()");
    // whole buckets on both sides: [bucket_of($1), end of the bucket holding $2),
    // or a bucket cut by to_ts would show as drift (rows past the last bucket and
    // at +-infinity belong to none)
    let to_end = format!(
        "CASE WHEN usage_rollup.bucket_of($2) < $2 AND $2 < '{BUCKET_LIMIT}' \
              THEN usage_rollup.bucket_of($2) + '{BUCKET_SECONDS} seconds'::interval \
              ELSE least($2, '{BUCKET_LIMIT}') END"
    );
    // from the frozen horizon on, if it is later: before it the rollup keeps what the
    // raw rows were (freeze.rs), and they may be gone
    let from = format!("greatest(usage_rollup.bucket_of($1), {})", crate::catalog::horizon::column());
    let rows = crate::sql::health::VerifyRows { binding: &binding, from: &from, to_end: &to_end }.render();
    // each coarser per-workspace width over the blocks the range touches
    let ws_blocks = recompute::coarse_widths()
        .into_iter()
        .map(|(width, _)| format!("({width}::smallint, {}, {})", bin_of(&from, width), bin_end(&to_end, width)))
        .collect::<Vec<_>>()
        .join(", ");
    let keyed = if crate::keyed::installed() {
        crate::sql::health::VerifyKeyed { from: &from, to_end: &to_end }.render()
    } else {
        String::new()
    };
    crate::sql::health::Verify {
        aggregate: &recompute::aggregate_sql(&binding, &rows),
        from: &from,
        to_end: &to_end,
        ws_blocks: &ws_blocks,
        keyed: &keyed,
    }
    .render()
}
