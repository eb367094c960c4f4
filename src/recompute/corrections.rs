//! Corrections as deltas (SPEC §6: a tick after corrections costs what was
//! corrected): the old versions of corrected usage rows wait in
//! usage_rollup.dirty_delta (invalidate/triggers.sql) until a tick's append
//! subtracts those the rollup holds (append.sql, which says why that is exact). When
//! a tick cannot append (see `prepare`), they become queued buckets, recomputed from
//! the raw rows like any other change.

use crate::binding::Binding;
use crate::catalog;
use crate::errors::SpiExt;
use crate::settings;
use pgrx::prelude::*;

/// The claim field of append.sql: every queued correction but those of the buckets
/// recomputed this tick ($4), which their recompute dropped or leaves for the next.
pub const CLAIM: &str =
    "    DELETE FROM usage_rollup.dirty_delta d WHERE NOT (d.bucket_start = ANY ($4::timestamptz[]))
    RETURNING d.bucket_start, d.task_id, d.provider, d.model, d.stamped_at, d.input_tokens, d.output_tokens,
              d.cache_read_tokens, d.cache_write_tokens, d.cost_usd_ticks";

/// The claim field when there is nothing to claim (or no table: SQL before 0.10.0).
pub const NO_CLAIM: &str =
    "    SELECT NULL::timestamptz AS bucket_start, NULL::uuid AS task_id, NULL::text AS provider,
           NULL::text AS model, NULL::timestamptz AS stamped_at, NULL::bigint AS input_tokens,
           NULL::bigint AS output_tokens, NULL::bigint AS cache_read_tokens, NULL::bigint AS cache_write_tokens,
           NULL::bigint AS cost_usd_ticks
    WHERE false";

/// Whether the queue exists (the SQL of 0.10.0).
pub fn installed() -> bool {
    catalog::has(catalog::Sql::V0_10)
}

/// Before a tick claims its buckets: whether it applies the queued corrections as
/// deltas (there are some). Not when it cannot append (`appending`: see tick's beyond_high_watermark),
/// nor when a token column may hold NULL (a sum that a subtraction leaves at 0
/// could have to be NULL: only the raw rows tell), nor when more corrections wait
/// than max_dirty_buckets x 5 (a tick stays bounded: buckets are capped); then they
/// all become queued buckets, which this tick claims like the others.
pub fn prepare(binding: &Binding, appending: bool) -> bool {
    if !installed() {
        return false;
    }
    let cap = settings::max_dirty_buckets().saturating_mul(5);
    let (pending, exact): (Option<i64>, Option<bool>) = crate::read::two(
        "SELECT (SELECT count(*) FROM (SELECT 1 FROM usage_rollup.dirty_delta LIMIT $1) d),
                (SELECT pg_catalog.bool_and(a.attnotnull) FROM pg_catalog.pg_attribute a
                 WHERE a.attrelid = $2::regclass
                   AND a.attname IN ('input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_write_tokens'))",
        &[(cap + 1).into(), binding.usage.as_str().into()],
        "look at the queued corrections",
    );
    let pending = pending.unwrap_or(0);
    if pending == 0 {
        // (one committed from here on waits for the next tick)
        return false;
    }
    if appending && exact == Some(true) && pending <= cap {
        return true;
    }
    to_queue(None);
    false
}

/// Turn the queued corrections (of [from, to) only, when given) into queued buckets.
pub fn to_queue(range: Option<(TimestampWithTimeZone, TimestampWithTimeZone)>) {
    if !installed() {
        return;
    }
    let (scope, args) = match range {
        Some((from, to)) => ("d.bucket_start >= $1 AND d.bucket_start < $2", vec![from.into(), to.into()]),
        None => ("true", Vec::new()),
    };
    Spi::run_with_args(
        &format!(
            "WITH moved AS (DELETE FROM usage_rollup.dirty_delta d WHERE {scope} RETURNING d.bucket_start)
             INSERT INTO usage_rollup.dirty_bucket (bucket_start) SELECT DISTINCT m.bucket_start FROM moved m"
        ),
        &args,
    )
    .or_raise("queue the buckets of queued corrections");
}
