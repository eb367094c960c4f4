//! Queries that only read (SPEC §4: reports run on a hot standby and burn no
//! transaction id). pgrx's `Spi::get_one`, `get_two`, `get_three` and `Spi::run`
//! go through `Spi::connect_mut`, which calls GetCurrentTransactionId() before the
//! query: a pure read then assigns a transaction id, which a standby refuses
//! ("cannot assign TransactionIds during recovery") and which on the primary moves
//! the cluster toward wraparound for nothing. Everything on a report's path reads
//! through these instead: `Spi::connect` + `select`, which runs the query read-only
//! in the snapshot of the calling statement while the transaction has written
//! nothing, and like any other query once it has.
//!
//! Each takes the query, its arguments and the task that completes "usage_rollup
//! could not ..." should SPI fail; a query here returns exactly one row.

use crate::errors::SpiExt;
use pgrx::datum::{DatumWithOid, FromDatum, IntoDatum};
use pgrx::prelude::*;

/// The first column of the query's one row.
pub fn one<A: FromDatum + IntoDatum>(query: &str, args: &[DatumWithOid<'_>], task: &str) -> Option<A> {
    Spi::connect(|client| client.select(query, Some(1), args)?.first().get_one::<A>()).or_raise(task)
}

/// The first two columns of the query's one row.
pub fn two<A: FromDatum + IntoDatum, B: FromDatum + IntoDatum>(
    query: &str,
    args: &[DatumWithOid<'_>],
    task: &str,
) -> (Option<A>, Option<B>) {
    Spi::connect(|client| client.select(query, Some(1), args)?.first().get_two::<A, B>()).or_raise(task)
}

/// The first three columns of the query's one row.
pub fn three<A: FromDatum + IntoDatum, B: FromDatum + IntoDatum, C: FromDatum + IntoDatum>(
    query: &str,
    args: &[DatumWithOid<'_>],
    task: &str,
) -> (Option<A>, Option<B>, Option<C>) {
    Spi::connect(|client| client.select(query, Some(1), args)?.first().get_three::<A, B, C>()).or_raise(task)
}
