//! Health (SPEC §3): status view, lag_seconds() and verify() live in health.sql;
//! this renders verify()'s query against the binding and checks its arguments.

use crate::binding::Binding;
use crate::errors::Error;
use crate::recompute;
use pgrx::prelude::*;

pgrx::extension_sql_file!("health.sql", name = "health_sql", requires = ["catalog", _verify_sql]);

const VERIFY: &str = include_str!("verify.sql");

/// The verify() query for the current binding ($1 = from_ts, $2 = to_ts).
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn _verify_sql(from_ts: Option<TimestampWithTimeZone>, to_ts: Option<TimestampWithTimeZone>) -> String {
    let from = from_ts.unwrap_or_else(|| Error::NullArgument { function: "verify".into(), argument: "from_ts" }.raise());
    let to = to_ts.unwrap_or_else(|| Error::NullArgument { function: "verify".into(), argument: "to_ts" }.raise());
    if from > to {
        Error::InvalidRange { what: "verify range", from: from.to_string(), to: to.to_string() }.raise();
    }
    let binding = Binding::require("verify()");
    let rows = "(SELECT * FROM @usage@ WHERE created_at >= usage_rollup.bucket_of($1) AND created_at < $2) u";
    VERIFY.replace("@aggregate@", &recompute::aggregate_sql(&binding, rows))
}
