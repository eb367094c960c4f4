//! The measure lists of the SQL templates (`@sum_measures(alias)@` and the like:
//! build.rs fills them from here, see src/sql.rs). The measures are spelled here once: the rollup
//! tables' columns are the ten of SPEC §4.1 and event_count, and every sum,
//! upsert or addition of them in a template is generated from this list (a column
//! added to one spelling and not another would be a silent wrong total).

/// The stored measures of the rollup tables, in column order: the ten usage
/// measures of §4.1, then event_count.
pub(crate) const MEASURES: [&str; 11] = [
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_usd_ticks",
    "uncosted_input_tokens",
    "uncosted_output_tokens",
    "uncosted_cache_read_tokens",
    "uncosted_cache_write_tokens",
    "task_count",
    "event_count",
];

/// The ten measures the reports return (§4.1).
pub(crate) const REPORT_MEASURES: &[&str] = MEASURES.split_at(10).0;

/// The measures that are sums of the rows' own amounts (all but the counts).
pub(crate) const AMOUNTS: &[&str] = MEASURES.split_at(9).0;

/// The AMOUNTS over rows `alias` that carry the four token columns, cost_usd_ticks
/// and a sign (+1 a row added, -1 a row taken away), each summed with its sign
/// (`@signed_amounts(alias)@`): the change a set of added and removed rows makes to a
/// cell, by the same rules as Binding::usage_measures (a NULL cost is 0, and makes
/// the row's tokens uncosted).
pub(crate) fn signed(alias: &str) -> String {
    let tokens = &AMOUNTS[..4];
    let cost = format!("{alias}.cost_usd_ticks");
    let mut parts: Vec<String> =
        tokens.iter().map(|m| format!("sum({alias}.sign * {alias}.{m})::bigint AS {m}")).collect();
    parts.push(format!("coalesce(sum({alias}.sign * {cost}), 0)::bigint AS cost_usd_ticks"));
    parts.extend(tokens.iter().map(|m| {
        format!("coalesce(sum({alias}.sign * {alias}.{m}) FILTER (WHERE {cost} IS NULL), 0)::bigint AS uncosted_{m}")
    }));
    parts.join(", ")
}

/// The ON CONFLICT tail of an upsert into a rollup table aliased `alias`
/// (`@upsert_measures(alias)@`): take the fresh measures, and write only rows whose
/// measures changed (an unchanged row is not rewritten, so a recompute of a clean
/// bucket costs no dead tuples).
pub(crate) fn upsert(alias: &str) -> String {
    let set = MEASURES.iter().map(|m| format!("{m} = excluded.{m}")).collect::<Vec<_>>().join(", ");
    let old = MEASURES.iter().map(|m| format!("{alias}.{m}")).collect::<Vec<_>>().join(", ");
    let new = MEASURES.iter().map(|m| format!("excluded.{m}")).collect::<Vec<_>>().join(", ");
    format!("{set}\n    WHERE ({old}) IS DISTINCT FROM ({new})")
}

/// The ON CONFLICT tail that adds a delta's measures to the row of a rollup table
/// aliased `alias` (`@add_measures(alias)@`; NULL sums stay NULL only while both
/// sides are NULL, as sum() over the union would).
pub(crate) fn add(alias: &str) -> String {
    MEASURES
        .iter()
        .map(|m| {
            format!(
                "{m} = CASE WHEN {alias}.{m} IS NULL THEN excluded.{m} WHEN excluded.{m} IS NULL THEN {alias}.{m} \
                 ELSE {alias}.{m} + excluded.{m} END"
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `sum(alias.m)::bigint AS m` for each of `measures`, comma-separated
/// (`@sum_measures(alias)@`, `@sum_usage(alias)@`).
pub(crate) fn sums(alias: &str, measures: &[&str]) -> String {
    measures.iter().map(|m| format!("sum({alias}.{m})::bigint AS {m}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn report_measures_are_the_ten_of_section_4_1() {
        assert_eq!(REPORT_MEASURES.len(), 10);
        assert_eq!(REPORT_MEASURES.last(), Some(&"task_count"));
        assert_eq!(AMOUNTS.last(), Some(&"uncosted_cache_write_tokens"));
        // the signed sums name the AMOUNTS, in their order
        let signed = signed("s");
        let names: Vec<&str> = signed
            .split(" AS ")
            .skip(1)
            .map(|p| p.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).next().unwrap_or_default())
            .collect();
        assert_eq!(names, AMOUNTS);
        assert_eq!(
            sums("r", &MEASURES[..2]),
            "sum(r.input_tokens)::bigint AS input_tokens, sum(r.output_tokens)::bigint AS output_tokens"
        );
    }
}
