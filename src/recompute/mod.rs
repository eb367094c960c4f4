//! Window recompute (SPEC §3): discover dirty buckets, rebuild them from raw rows,
//! replace. Cost is linear in the raw rows of the dirty buckets: each bucket is an
//! index range scan on usage.created_at, never a walk of every task of a runtime
//! or agent (the seeds' recompute did that: reference W8).

use crate::binding::Binding;
use crate::catalog::Buckets;
use crate::errors::SpiExt;
use pgrx::prelude::*;

pub mod corrections;
mod per_workspace;
pub use per_workspace::coarse_widths;
pub use per_workspace::installed as per_workspace_installed;

/// What a recompute did: rollup rows inserted, updated or deleted, raw usage rows
/// read, and the buckets the stores derived from the rollup must take off their
/// sealed lists (keyed::unseal_written).
#[derive(Default)]
pub struct Outcome {
    pub rows_written: i64,
    pub raw_rows: i64,
    /// The buckets whose rollup rows changed: a recompute that finds a bucket as it
    /// was writes nothing, and leaves its keyed blocks sealed.
    pub changed: Buckets,
    /// Every bucket recomputed or appended to, changed or not: a row moved between
    /// tasks can leave the rollup as it was and still change a task day.
    pub recomputed: Buckets,
}

/// The §4.1 aggregate at rollup grain over the usage rows chosen by `rows`
/// (a FROM item that binds `u`, rendered). Shared by recompute and verify().
pub fn aggregate_sql(binding: &Binding, rows: &str) -> String {
    crate::sql::recompute::Aggregate { binding, rows }.render()
}

/// The rows a recompute may read: stamped (updated_at, else created_at) before a
/// cut, the end of the tick's window (or a backfill's bound, recorded as the high
/// watermark). A row stamped later is left for the tick whose window holds its
/// stamp, which adds it (append) or recomputes its bucket: had this recompute
/// summed it too, an append would count it twice. (A condition on the usage row
/// `x`: the included field of bucket_rows.sql and range_rows.sql.)
fn included(cut: &str) -> String {
    format!("coalesce(x.updated_at, x.created_at) < {cut}")
}

/// Returns what it did, with the buckets whose rollup rows changed.
fn replace(binding: &Binding, rows: &str, scope: &str, args: &[pgrx::datum::DatumWithOid]) -> Outcome {
    let discard =
        if corrections::installed() { crate::sql::recompute::DiscardDeltas { scope }.render() } else { String::new() };
    let sql =
        crate::sql::recompute::Replace { aggregate: &aggregate_sql(binding, rows), scope, discard: &discard }.render();
    let (written, raw, changed): (Option<i64>, Option<i64>, Option<Vec<TimestampWithTimeZone>>) =
        Spi::get_three_with_args(&sql, args).or_raise("recompute rollup buckets");
    Outcome {
        rows_written: written.unwrap_or(0),
        raw_rows: raw.unwrap_or(0),
        changed: Buckets::List(changed.unwrap_or_default()),
        recomputed: Buckets::default(),
    }
}

/// Rebuild the given buckets (bucket starts, duplicates allowed) from their rows
/// stamped before `cut`.
pub fn buckets(binding: &Binding, starts: &[TimestampWithTimeZone], cut: TimestampWithTimeZone) -> Outcome {
    if starts.is_empty() {
        return Outcome::default();
    }
    // each bucket's rows by an index range scan of its own (bucket_rows.sql)
    let rows = crate::sql::recompute::BucketRows { binding, included: &included("$2") }.render();
    let outcome =
        replace(binding, &rows, "r.bucket_start = ANY ($1::timestamptz[])", &[starts.to_vec().into(), cut.into()]);
    // its rows are not counted: tick() returns the rollup rows it wrote (SPEC §8)
    per_workspace::buckets(starts);
    Outcome { recomputed: Buckets::List(starts.to_vec()), ..outcome }
}

/// Refresh the variant list for the tasks with rows in these buckets (see the
/// variant table in schema.sql).
pub fn variants_of_buckets(binding: &Binding, starts: &[TimestampWithTimeZone]) {
    if starts.is_empty() {
        return;
    }
    let touched = crate::sql::recompute::TouchedBuckets { binding }.render();
    refresh_variants(binding, &touched, &[starts.to_vec().into()]);
}

/// Refresh the variant list for the tasks of the rows append() added: those stamped
/// in [from, to) in these buckets.
pub fn variants_of_new(
    binding: &Binding,
    starts: &[TimestampWithTimeZone],
    from: TimestampWithTimeZone,
    to: TimestampWithTimeZone,
) {
    if starts.is_empty() {
        return;
    }
    let touched = crate::sql::recompute::TouchedNew { window_rows: &window_rows(binding) }.render();
    refresh_variants(binding, &touched, &[starts.to_vec().into(), from.into(), to.into()]);
}

/// Refresh the variant list for the tasks `touched` (a query of column task_id,
/// rendered: touched_buckets.sql, touched_new.sql).
fn refresh_variants(binding: &Binding, touched: &str, args: &[pgrx::datum::DatumWithOid]) {
    let sql = crate::sql::recompute::Variants { binding, touched }.render();
    Spi::run_with_args(&sql, args).or_raise("refresh the variant list");
}

/// The usage rows stamped in a tick's window [$2, $3), as `u` (window_rows.sql):
/// the rows append() adds, and whose tasks variants_of_new() looks at.
fn window_rows(binding: &Binding) -> String {
    crate::sql::recompute::WindowRows { binding }.render()
}

/// What a tick's append did (append.sql).
pub struct Appended {
    pub rows_written: i64,
    pub raw_rows: i64,
    /// Buckets where a task gained or lost rows in a cell: their task days are no
    /// longer sealed (the keyed blocks took the delta and stay sealed).
    pub moved: Vec<TimestampWithTimeZone>,
    /// Distinct buckets before the frozen horizon whose corrections were left out.
    pub frozen: i64,
}

/// Add to the rollup, the per-workspace rollup and the sealed keyed blocks the rows
/// stamped in [from, to) of the buckets `starts` (which must hold no other change
/// since the watermark `from`), and, with `deltas`, take away the old versions of
/// the queued corrections of every bucket but those `recomputed` this tick, leaving
/// out those before `horizon` (append.sql says why this is exact).
pub fn append(
    binding: &Binding,
    starts: &[TimestampWithTimeZone],
    window: (TimestampWithTimeZone, TimestampWithTimeZone),
    deltas: bool,
    recomputed: &[TimestampWithTimeZone],
    horizon: Option<TimestampWithTimeZone>,
) -> Appended {
    if starts.is_empty() && !deltas {
        return Appended { rows_written: 0, raw_rows: 0, moved: Vec::new(), frozen: 0 };
    }
    let per_workspace = if per_workspace::installed() { per_workspace::append_sql("delta") } else { String::new() };
    let keyed = crate::keyed::append_sql("delta");
    let claim = if deltas { corrections::CLAIM } else { corrections::NO_CLAIM };
    let sql = crate::sql::recompute::Append {
        binding,
        claim,
        window_rows: &window_rows(binding),
        per_workspace: &per_workspace,
        keyed: &keyed,
    }
    .render();
    let (written, raw, moved, shrunk, frozen) = Spi::connect_mut(|c| {
        let row = c
            .update(
                &sql,
                Some(1),
                &[starts.to_vec().into(), window.0.into(), window.1.into(), recomputed.to_vec().into(), horizon.into()],
            )?
            .first();
        Ok::<_, pgrx::spi::Error>((
            row.get::<i64>(1)?,
            row.get::<i64>(2)?,
            row.get::<Vec<TimestampWithTimeZone>>(3)?,
            row.get::<Vec<TimestampWithTimeZone>>(4)?,
            row.get::<i64>(5)?,
        ))
    })
    .or_raise("append new rows to the rollup");
    let mut rows_written = written.unwrap_or(0);
    if let Some(shrunk) = shrunk.filter(|s| !s.is_empty()) {
        rows_written += remove_empty(&shrunk);
    }
    Appended { rows_written, raw_rows: raw.unwrap_or(0), moved: moved.unwrap_or_default(), frozen: frozen.unwrap_or(0) }
}

/// The rows of the buckets `shrunk`, and of the per-workspace rows and keyed blocks
/// holding them, left with no raw row (shrunk.sql). Returns the rows removed.
fn remove_empty(shrunk: &[TimestampWithTimeZone]) -> i64 {
    let mut blocks = vec!["    SELECT 15 AS width, b.bucket_start FROM b".to_string()];
    blocks.extend(
        per_workspace::coarse_widths()
            .into_iter()
            .map(|(w, _)| format!("    SELECT {w}, {} FROM b", crate::binding::bin_of("b.bucket_start", w))),
    );
    blocks.extend(crate::keyed::blocks_of("b"));
    let sql = crate::sql::recompute::Shrunk { blocks: &blocks.join("\n    UNION\n") }.render();
    Spi::get_one_with_args::<i64>(&sql, &[shrunk.to_vec().into()]).or_raise("remove emptied rollup rows").unwrap_or(0)
}

/// Rebuild the whole variant list from the usage table (one pass; after backfill).
pub fn rebuild_variants(binding: &Binding) {
    Spi::run("DELETE FROM usage_rollup.variant").or_raise("rebuild the variant list");
    let sql = crate::sql::recompute::RebuildVariants { binding, may_pair: &may_pair(binding, "m") }.render();
    Spi::run(&sql).or_raise("rebuild the variant list");
}

/// A condition on a usage row `alias` that every row of a variant pair (two rows of
/// one task, lower(provider) and model) meets at least once per pair. When the usage
/// table is unique on (task_id, provider, model), or on fewer of them, a pair needs
/// a provider that is not lower-case (or a NULL, which a unique index lets repeat):
/// then the whole list is rebuilt from those few rows' tasks instead of every task
/// (measured: 4.7 s after a 3M-row backfill, by the task index with heap fetches).
/// Without such an index any two rows may pair: `true`. (A tick's refresh cannot
/// use it: a recomputed bucket may hold only the lower-case row of a pair.)
fn may_pair(binding: &Binding, alias: &str) -> String {
    let unique: Option<bool> = Spi::get_one_with_args(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_index i
                        WHERE i.indrelid = $1::regclass AND i.indisunique AND i.indisvalid
                          AND i.indpred IS NULL AND i.indexprs IS NULL
                          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                                          WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey::int2[])
                                            AND a.attname NOT IN ('task_id', 'provider', 'model')))",
        &[binding.usage.as_str().into()],
    )
    .or_raise("look at the usage table's unique indexes");
    if unique == Some(true) {
        format!(
            "({alias}.provider IS DISTINCT FROM pg_catalog.lower({alias}.provider) \
             OR {alias}.provider IS NULL OR {alias}.model IS NULL)"
        )
    } else {
        "true".to_string()
    }
}

/// Rebuild every bucket in [from, to) from its rows stamped before `cut`; both
/// bounds must be bucket-aligned.
pub fn range(
    binding: &Binding,
    from: TimestampWithTimeZone,
    to: TimestampWithTimeZone,
    cut: TimestampWithTimeZone,
) -> Outcome {
    let empty = range_is_empty(from, to);
    let outcome = if empty {
        fill(binding, from, to, cut)
    } else {
        replace(
            binding,
            &crate::sql::recompute::RangeRows { binding, from: "$1", to: "$2", included: &included("$3") }.render(),
            "r.bucket_start >= $1 AND r.bucket_start < $2",
            &[from.into(), to.into(), cut.into()],
        )
    };
    per_workspace::range(from, to);
    // into an empty range, every day is new
    let changed = if empty { Buckets::Range(from, to) } else { outcome.changed };
    Outcome { changed, recomputed: Buckets::Range(from, to), ..outcome }
}

/// Whether the rollup has no row in [from, to): the first backfill of a history.
fn range_is_empty(from: TimestampWithTimeZone, to: TimestampWithTimeZone) -> bool {
    Spi::get_one_with_args::<bool>(
        "SELECT NOT EXISTS (SELECT 1 FROM usage_rollup.rollup r WHERE r.bucket_start >= $1 AND r.bucket_start < $2)",
        &[from.into(), to.into()],
    )
    .or_raise("look at the rollup")
    .unwrap_or(false)
}

/// Rebuild into an empty range (the caller holds the rollup lock, so it stays
/// empty): nothing to compare or delete, so the aggregate is computed by CREATE
/// TABLE AS, which may run in parallel (a statement that also writes never does:
/// measured 2.6 s instead of 8 s of aggregate for 1M rows), then appended.
fn fill(
    binding: &Binding,
    from: TimestampWithTimeZone,
    to: TimestampWithTimeZone,
    cut: TimestampWithTimeZone,
) -> Outcome {
    // a utility statement takes no parameters: the bounds go in as literals
    let (f, t, c): (Option<String>, Option<String>, Option<String>) = Spi::get_three_with_args(
        "SELECT pg_catalog.quote_literal($1), pg_catalog.quote_literal($2), pg_catalog.quote_literal($3)",
        &[from.into(), to.into(), cut.into()],
    )
    .or_raise("quote the range");
    let literal = |q: Option<String>| format!("{}::timestamptz", q.unwrap_or_default());
    let rows = crate::sql::recompute::RangeRows {
        binding,
        from: &literal(f),
        to: &literal(t),
        included: &included(&literal(c)),
    }
    .render();
    Spi::run(&format!("CREATE TEMPORARY TABLE usage_rollup_fill ON COMMIT DROP AS {}", aggregate_sql(binding, &rows)))
        .or_raise("aggregate the range");
    let (written, raw): (Option<i64>, Option<i64>) = Spi::get_two(
        "WITH written AS (INSERT INTO usage_rollup.rollup SELECT * FROM pg_temp.usage_rollup_fill RETURNING 1)
         SELECT (SELECT count(*) FROM written), (SELECT coalesce(sum(event_count), 0)::bigint FROM pg_temp.usage_rollup_fill)",
    )
    .or_raise("fill the rollup");
    Spi::run("DROP TABLE pg_temp.usage_rollup_fill").or_raise("fill the rollup");
    // the corrections queued for the range: those committed before the aggregate's
    // snapshot are in it, the others not, and which is which is not known here
    // (replace.sql drops them in its own snapshot): their buckets are recomputed
    corrections::to_queue(Some((from, to)));
    Outcome { rows_written: written.unwrap_or(0), raw_rows: raw.unwrap_or(0), ..Outcome::default() }
}

/// Buckets of usage rows stamped (updated_at, else created_at) in [from, to).
pub fn discover(
    binding: &Binding,
    from: TimestampWithTimeZone,
    to: TimestampWithTimeZone,
) -> Vec<TimestampWithTimeZone> {
    if from >= to {
        return Vec::new();
    }
    let sql = format!(
        "SELECT pg_catalog.array_agg(bucket_start) FROM ({}) d",
        crate::sql::recompute::Discover { binding }.render()
    );
    Spi::get_one_with_args::<Vec<TimestampWithTimeZone>>(&sql, &[from.into(), to.into()])
        .or_raise("discover changed usage rows")
        .unwrap_or_default()
}
