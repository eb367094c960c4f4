//! Every user-facing error, in PostgreSQL's message style: a lower-case primary
//! message quoting the offending value, a detail with the facts and a hint saying
//! what to do. Raised as a real ereport(ERROR) with its SQLSTATE, so callers (and
//! pg_regress expected files) see the code, the detail and the hint.

use pgrx::pg_sys::errcodes::PgSqlErrorCode;
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::PgLogLevel;

pub enum Error {
    /// One or more source tables miss columns or have wrong types (all problems at once).
    ContractViolation { problems: Vec<String>, hint: String },
    /// A source argument names something that is not a plain or partitioned table.
    NotATable { role: &'static str, relation: String, kind: &'static str },
    /// The same table was passed for two roles.
    SameTableTwice { relation: String, roles: (&'static str, &'static str) },
    /// attach() called with other tables while already attached.
    AttachedElsewhere { current: String },
    /// A table of the binding was dropped after attach().
    BoundTableDropped { tables: String },
    /// An operation that needs a binding ran before attach().
    NotAttached { operation: &'static str },
    /// A required argument was NULL.
    NullArgument { function: String, argument: &'static str },
    /// from > to, or similar.
    InvalidRange { what: &'static str, from: String, to: String },
    /// tick()/backfill() outside READ COMMITTED.
    NotReadCommitted { operation: &'static str, level: String },
    /// A procedure that commits was called inside BEGIN ... COMMIT.
    InTransactionBlock { operation: &'static str },
    /// Not an IANA zone name (argument or stored value).
    InvalidTimeZone { value: String, source: String, detail: String, hint: String },
    /// viewer_id given but no users table attached.
    NoUsersTable { viewer: String },
    /// viewer_id not in the users table.
    UnknownViewer { viewer: String, users: String },
    /// A report date that is infinite or too close to the ends of the timestamp range.
    DateOutOfRange { argument: &'static str, value: String, first: &'static str, last: &'static str },
    /// A timestamp bound that is infinite or beyond the last bucket.
    TimestampOutOfRange { function: &'static str, argument: &'static str, value: String, last: &'static str },
    /// A backfill range that would take more slices than anyone means to run.
    TooManySlices { slices: i32, width: String, max: i32 },
    /// A cron schedule pg_cron refuses (or would misread).
    InvalidSchedule { value: String, detail: String },
    /// A report range longer than allowed.
    SpanTooLong { from: String, to: String, days: i32, max: i32 },
    /// pg_cron is needed but not installed in this database.
    PgCronMissing,
    /// DROP EXTENSION usage_rollup while its triggers are still on the application's tables.
    DropWhileAttached { tables: String },
    /// attach()/detach() by a role that does not own a source table.
    NotOwner { operation: &'static str, relation: String, role: String },
    /// An internal function reached by a role without EXECUTE on its public entry
    /// point (or, for a report's owner-rights path, one that row-level security applies to).
    NoExecute { entry_point: String, role: String, reason: &'static str },
    /// A function that writes, called on a hot standby.
    OnStandby { function: String },
    /// A write of rollup buckets that freeze() declared final.
    Frozen { operation: &'static str, from: String, horizon: String },
    /// freeze() with a bound that is no point in time.
    NotFinite { function: &'static str, argument: &'static str, value: String },
}

impl Error {
    fn parts(self) -> (PgSqlErrorCode, String, Option<String>, Option<String>) {
        use PgSqlErrorCode::*;
        match self {
            Error::ContractViolation { problems, hint } => (
                ERRCODE_DATATYPE_MISMATCH,
                "source tables do not satisfy the usage_rollup contract".into(),
                Some(format!(
                    "{} problem{} found:\n{}",
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" },
                    problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n")
                )),
                Some(hint),
            ),
            Error::NotATable { role, relation, kind } => (
                ERRCODE_WRONG_OBJECT_TYPE,
                format!("\"{relation}\" is not a table"),
                Some(format!("The {role} argument must name a table or a partitioned table; \"{relation}\" is {kind}.")),
                Some(format!("Pass the underlying table as {role} => 'schema.table'.")),
            ),
            Error::SameTableTwice { relation, roles } => (
                ERRCODE_INVALID_PARAMETER_VALUE,
                format!("table \"{relation}\" was passed as both {} and {}", roles.0, roles.1),
                Some("Each role of the source contract needs its own table.".into()),
                None,
            ),
            Error::AttachedElsewhere { current } => (
                ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                "usage_rollup is already attached to other tables".into(),
                Some(format!("The current binding is {current}.")),
                Some("Call usage_rollup.detach() first, then attach to the new tables.".into()),
            ),
            Error::BoundTableDropped { tables } => (
                ERRCODE_UNDEFINED_TABLE,
                "a table usage_rollup is attached to no longer exists".into(),
                Some(format!("Dropped since attach(): {tables}.")),
                Some("Call usage_rollup.detach(), then usage_rollup.attach() with the current tables.".into()),
            ),
            Error::NotAttached { operation } => (
                ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                format!("usage_rollup is not attached, so {operation} has nothing to work on"),
                None,
                Some("Call usage_rollup.attach() with the application's tables first.".into()),
            ),
            Error::NullArgument { function, argument } => (
                ERRCODE_NULL_VALUE_NOT_ALLOWED,
                format!("{argument} must not be NULL"),
                Some(format!("usage_rollup.{function}() needs a value for {argument}.")),
                None,
            ),
            Error::InvalidRange { what, from, to } => (
                ERRCODE_INVALID_PARAMETER_VALUE,
                format!("invalid {what}: \"{from}\" is after \"{to}\""),
                None,
                Some("Pass the earlier bound first.".into()),
            ),
            Error::NotReadCommitted { operation, level } => (
                ERRCODE_FEATURE_NOT_SUPPORTED,
                format!("usage_rollup.{operation} must run at READ COMMITTED isolation, not \"{level}\""),
                Some(
                    "At stricter levels the raw rows are read with a snapshot older than the window bound, \
                     so rows committed in between would be skipped."
                        .into(),
                ),
                Some(
                    "Call it in a transaction of its own, or SET default_transaction_isolation = 'read committed' \
                     for the role or database that runs it."
                        .into(),
                ),
            ),
            Error::InTransactionBlock { operation } => (
                ERRCODE_ACTIVE_SQL_TRANSACTION,
                format!("usage_rollup.{operation} cannot run inside a transaction block"),
                Some("It commits after every slice, so that an interrupted run keeps its progress.".into()),
                Some("CALL it on its own, outside BEGIN ... COMMIT (psql -c with several statements runs them as one transaction).".into()),
            ),
            Error::InvalidTimeZone { value, source, detail, hint } => (
                ERRCODE_INVALID_PARAMETER_VALUE,
                format!("invalid time zone \"{value}\""),
                Some(format!("{detail} It comes from {source}.")),
                Some(hint),
            ),
            Error::NoUsersTable { viewer } => (
                ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                format!("cannot look up the time zone of viewer \"{viewer}\": no users table is attached"),
                None,
                Some("Pass tz => 'Area/City', or attach the users table: usage_rollup.attach(..., users => 'app.user').".into()),
            ),
            Error::UnknownViewer { viewer, users } => (
                ERRCODE_INVALID_PARAMETER_VALUE,
                format!("viewer \"{viewer}\" does not exist"),
                Some(format!("No row of {users} has this id.")),
                Some("Pass the id of an existing user, or tz => 'Area/City'.".into()),
            ),
            Error::DateOutOfRange { argument, value, first, last } => (
                ERRCODE_DATETIME_FIELD_OVERFLOW,
                format!("{argument} \"{value}\" is outside the dates reports cover"),
                Some(format!("Reports cover the local dates {first} to {last}, so that a day either side is a valid timestamp.")),
                Some("Pass a finite date in that range.".into()),
            ),
            Error::TimestampOutOfRange { function, argument, value, last } => (
                ERRCODE_DATETIME_FIELD_OVERFLOW,
                format!("{argument} \"{value}\" is out of range for usage_rollup.{function}()"),
                Some(format!("Bounds must be finite and before {last}, the end of the last 15-minute bucket.")),
                Some(format!("Pass NULL for an open bound: usage_rollup.{function}() then covers every usage row on that side.")),
            ),
            Error::TooManySlices { slices, width, max } => (
                ERRCODE_PROGRAM_LIMIT_EXCEEDED,
                format!("backfill range needs {slices} slices of {width}"),
                Some(format!("At most {max} slices are run by one call; each commits on its own.")),
                Some("Pass a larger slice (slice => '30 days'), or bounds closer to the usage rows.".into()),
            ),
            Error::InvalidSchedule { value, detail } => (
                ERRCODE_INVALID_PARAMETER_VALUE,
                format!("invalid schedule \"{value}\""),
                Some(detail),
                Some("Use five cron fields (minute hour day month weekday), e.g. '*/5 * * * *', or '30 seconds'.".into()),
            ),
            Error::SpanTooLong { from, to, days, max } => (
                ERRCODE_INVALID_PARAMETER_VALUE,
                format!("date range from \"{from}\" to \"{to}\" is too long"),
                Some(format!("It spans {days} days; a report covers at most {max}.")),
                Some("Ask for a shorter range, or several.".into()),
            ),
            Error::PgCronMissing => (
                ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                "extension \"pg_cron\" is not installed".into(),
                Some("usage_rollup.schedule() registers the tick as a pg_cron job.".into()),
                Some(
                    "Add pg_cron to shared_preload_libraries, set cron.database_name to this database, restart, \
                     and run CREATE EXTENSION pg_cron; or call SELECT usage_rollup.tick() from any other scheduler."
                        .into(),
                ),
            ),
            Error::DropWhileAttached { tables } => (
                ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST,
                "cannot drop extension usage_rollup while it is attached".into(),
                Some(format!("Its invalidation triggers are on {tables}, and the indexes it created would stay behind.")),
                Some("Run SELECT usage_rollup.detach(); first, then DROP EXTENSION usage_rollup.".into()),
            ),
            Error::NotOwner { operation, relation, role } => (
                ERRCODE_INSUFFICIENT_PRIVILEGE,
                format!("role \"{role}\" must own table \"{relation}\" to {operation} it"),
                Some(format!("usage_rollup.{operation}() installs triggers and indexes on the table, which only its owner may do.")),
                Some("Call it as the owner of the application's tables (or a member of that role), or as a superuser.".into()),
            ),
            Error::NoExecute { entry_point, role, reason } => (
                ERRCODE_INSUFFICIENT_PRIVILEGE,
                format!("permission denied for usage_rollup.{entry_point}"),
                Some(format!("Role \"{role}\" {reason}.")),
                Some(format!("Call usage_rollup.{entry_point}() itself, as a role granted EXECUTE on it (see docs/operations.md, Privileges).")),
            ),
            Error::OnStandby { function } => (
                ERRCODE_READ_ONLY_SQL_TRANSACTION,
                format!("cannot run usage_rollup.{function}() on a standby"),
                Some(format!(
                    "usage_rollup.{function}() changes data, and this server is a hot standby: it replays the \
                     primary's changes and accepts no writes of its own."
                )),
                Some(
                    "Run it on the primary; the standby receives the result by replication. Reports, status, \
                     lag_seconds() and verify() work here. pg_cron runs jobs on the primary only, so schedule \
                     the tick there."
                        .into(),
                ),
            ),
            Error::Frozen { operation, from, horizon } => (
                ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                format!("{operation} range starts at \"{from}\", before the frozen horizon \"{horizon}\""),
                Some(format!(
                    "usage_rollup.freeze() declared the buckets before {horizon} final: their raw rows may be gone \
                     (retention), so rebuilding them from the raw rows would erase the history the rollup keeps."
                )),
                Some(format!("Start the range at or after {horizon} (from_ts => '{horizon}'), or pass NULL: the range then starts there.")),
            ),
            Error::NotFinite { function, argument, value } => (
                ERRCODE_INVALID_PARAMETER_VALUE,
                format!("{argument} must be a finite timestamp, not \"{value}\""),
                Some(format!("usage_rollup.{function}() moves the frozen horizon to the 15-minute bucket at or before {argument}.")),
                Some("Pass a point in time, for example now() - interval '90 days'.".into()),
            ),
        }
    }

    /// Raise this error as ereport(ERROR); never returns.
    #[track_caller]
    pub fn raise(self) -> ! {
        let (code, message, detail, hint) = self.parts();
        let mut report = ErrorReport::new(code, message, "usage_rollup");
        if let Some(d) = detail {
            report = report.set_detail(d);
        }
        if let Some(h) = hint {
            report = report.set_hint(h);
        }
        report.report(PgLogLevel::ERROR);
        unreachable!("ereport(ERROR) returned")
    }
}

/// Replace pgrx's panic hook (installed when the library loads, just before
/// _PG_init) by one that records nothing. pgrx's hook captures a Rust backtrace for
/// every unwind, PostgreSQL errors caught at an FFI boundary included, and reports
/// it in the error's DETAIL whenever the server runs with RUST_BACKTRACE set: on
/// 0.9.0 an SPI error reached users as a 49-line backtrace (SPEC §5). Without the
/// hook an error keeps its SQLSTATE, message, detail, hint and context; only the
/// backtrace and a Rust panic's source location (never shown to users) are gone.
/// Backends run this library on their one thread, so nothing else panics here.
/// (Another pgrx extension loaded later into the same backend installs pgrx's hook
/// again; errors then carry a backtrace only if the server has RUST_BACKTRACE set.)
pub fn no_backtraces() {
    std::panic::set_hook(Box::new(|_| {}));
}

/// Unwrap an SPI result. SPI reports an error of PostgreSQL's own (a permission
/// denied, a lock timeout, a cancel) by raising it, and that reaches the user as it
/// is; an `Err` here is something the extension's own query did not expect (a
/// result of another type, no row), an internal bug, reported as one: in words,
/// without the Rust type names pgrx's description carries.
pub trait SpiExt<T> {
    fn or_raise(self, context: &str) -> T;
}

impl<T> SpiExt<T> for Result<T, pgrx::spi::Error> {
    #[track_caller]
    fn or_raise(self, context: &str) -> T {
        match self {
            Ok(v) => v,
            Err(e) => {
                use pgrx::datum::TryFromDatumError;
                use pgrx::spi::Error as E;
                let detail = match e {
                    E::SpiError(code) => format!("SPI failed with {code:?}."),
                    E::DatumError(TryFromDatumError::IncompatibleTypes { datum_type, .. }) => {
                        format!("A query returned a value of type {datum_type}, which is not the type expected.")
                    }
                    E::DatumError(_) | E::NoTupleTable | E::InvalidPosition => {
                        "A query returned fewer columns or rows than expected.".into()
                    }
                    E::PreparedStatementArgumentMismatch { expected, got } => {
                        format!("A query expected {expected} arguments and got {got}.")
                    }
                    other => format!("SPI: {other}."),
                };
                ErrorReport::new(
                    PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                    format!("usage_rollup could not {context}"),
                    "usage_rollup",
                )
                .set_detail(detail)
                .set_hint("This is a bug in usage_rollup: please report it, with the statement that failed.")
                .report(PgLogLevel::ERROR);
                unreachable!()
            }
        }
    }
}
