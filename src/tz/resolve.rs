//! Viewer time zone resolution (SPEC §4): an explicit `tz`, else the viewer's stored
//! zone in the attached users table, else UTC. Only IANA zone names pass; anything
//! else is an error that quotes the value and suggests close valid names.
//!
//! Names are checked against chrono-tz's compiled IANA list (tzdata 2025b) and the
//! server's own zone data (pg_timezone_names): a report slices days with the
//! server's `AT TIME ZONE`, so a name the server does not know is refused even if
//! chrono-tz knows it, and the server's offsets are the ones used.

use crate::errors::{Error, SpiExt};
use crate::read;
use chrono_tz::TZ_VARIANTS;
use pgrx::prelude::*;
use std::collections::HashSet;
use std::sync::OnceLock;

/// Why a string is not a zone name, for the error detail and hint.
#[derive(Debug, PartialEq, Eq)]
pub struct Rejection {
    pub detail: String,
    pub hint: String,
}

/// Common abbreviations people type, and the zone they most likely mean.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("PST", "America/Los_Angeles"),
    ("PDT", "America/Los_Angeles"),
    ("MST", "America/Denver"),
    ("MDT", "America/Denver"),
    ("CST", "America/Chicago"),
    ("CDT", "America/Chicago"),
    ("EST", "America/New_York"),
    ("EDT", "America/New_York"),
    ("AKST", "America/Anchorage"),
    ("HST", "Pacific/Honolulu"),
    ("BST", "Europe/London"),
    ("WET", "Europe/Lisbon"),
    ("CET", "Europe/Paris"),
    ("CEST", "Europe/Paris"),
    ("MET", "Europe/Paris"),
    ("EET", "Europe/Athens"),
    ("EEST", "Europe/Athens"),
    ("MSK", "Europe/Moscow"),
    ("IST", "Asia/Kolkata"),
    ("NPT", "Asia/Kathmandu"),
    ("PKT", "Asia/Karachi"),
    ("SGT", "Asia/Singapore"),
    ("HKT", "Asia/Hong_Kong"),
    ("KST", "Asia/Seoul"),
    ("JST", "Asia/Tokyo"),
    ("AWST", "Australia/Perth"),
    ("ACST", "Australia/Adelaide"),
    ("AEST", "Australia/Sydney"),
    ("AEDT", "Australia/Sydney"),
    ("NZST", "Pacific/Auckland"),
    ("NZDT", "Pacific/Auckland"),
];

/// IANA names that are also abbreviations; refused like abbreviations, because a
/// viewer who types them means a region's clock, not a fixed legacy offset.
const ABBREVIATION_LIKE_ZONES: &[&str] = &["EST", "MST", "HST", "WET", "CET", "MET", "EET"];

/// Zone names used as examples when an offset is given instead of a name.
const OFFSET_EXAMPLES: &[(i32, &str)] = &[
    (-10, "Pacific/Honolulu"),
    (-8, "America/Los_Angeles"),
    (-7, "America/Denver"),
    (-6, "America/Chicago"),
    (-5, "America/New_York"),
    (-3, "America/Sao_Paulo"),
    (0, "Europe/London"),
    (1, "Europe/Paris"),
    (2, "Europe/Athens"),
    (3, "Europe/Moscow"),
    (4, "Asia/Dubai"),
    (5, "Asia/Karachi"),
    (7, "Asia/Bangkok"),
    (8, "Asia/Shanghai"),
    (9, "Asia/Tokyo"),
    (10, "Australia/Sydney"),
    (12, "Pacific/Auckland"),
];

/// The canonical IANA name for `value`, or why it is not one. Pure: the server's
/// own list is checked separately (see `resolve_name`).
pub fn canonical(value: &str) -> Result<&'static str, Rejection> {
    let example = "Use an IANA zone name such as \"Europe/Berlin\" or \"Asia/Kolkata\" (SELECT name FROM pg_timezone_names lists them).";
    if value.is_empty() {
        return Err(Rejection {
            detail: "The time zone name is empty.".into(),
            hint: format!("Pass NULL to use the viewer's zone or UTC. {example}"),
        });
    }
    if value.trim() != value {
        return Err(Rejection {
            detail: "The name has leading or trailing white space.".into(),
            hint: format!("Did you mean \"{}\"?", value.trim()),
        });
    }
    if ABBREVIATION_LIKE_ZONES.contains(&value) || (!value.contains('/') && abbreviation_zone(value).is_some()) {
        let meant = abbreviation_zone(value).unwrap_or("Europe/Paris");
        return Err(Rejection {
            detail: format!(
                "\"{value}\" is a time zone abbreviation, which has a fixed offset and does not follow daylight saving time."
            ),
            hint: format!("Use the zone of a place, such as \"{meant}\"."),
        });
    }
    if value.len() > MAX_NAME_LEN {
        return Err(Rejection {
            detail: format!("The name is {} bytes long; no IANA zone name is longer than {MAX_NAME_LEN}.", value.len()),
            hint: example.into(),
        });
    }
    if let Some(offset) = posix_offset(value) {
        // "UTC-2147483648" is a string, not an offset anyone uses: no overflow
        let east = offset.checked_neg().unwrap_or(i32::MAX);
        let example_zone = OFFSET_EXAMPLES.iter().find(|(o, _)| *o == east).map(|(_, z)| *z);
        return Err(Rejection {
            detail: format!(
                "\"{value}\" is a POSIX time zone string, not an IANA zone name; PostgreSQL reads its offset with the \
                 opposite sign (\"UTC+8\" is 8 hours west of Greenwich), and it has no daylight saving rules."
            ),
            hint: match example_zone {
                Some(z) => format!(
                    "Use an IANA zone name such as \"{z}\" (UTC{}{:02}:00).",
                    if east < 0 { '-' } else { '+' },
                    east.abs()
                ),
                None => example.into(),
            },
        });
    }
    if let Some(tz) = TZ_VARIANTS.iter().find(|tz| tz.name() == value) {
        return Ok(tz.name());
    }
    if let Some(tz) = TZ_VARIANTS.iter().find(|tz| tz.name().eq_ignore_ascii_case(value)) {
        return Ok(tz.name());
    }
    let suggestions = suggest(value);
    Err(Rejection {
        detail: if value.eq_ignore_ascii_case("local") {
            "\"Local\" means the server's own zone, which is not the viewer's.".into()
        } else {
            format!("\"{value}\" is not an IANA time zone name.")
        },
        hint: if suggestions.is_empty() {
            example.into()
        } else {
            format!("Did you mean {}?", suggestions.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", "))
        },
    })
}

fn abbreviation_zone(value: &str) -> Option<&'static str> {
    ABBREVIATIONS.iter().find(|(a, _)| a.eq_ignore_ascii_case(value)).map(|(_, z)| *z)
}

/// `UTC+8`, `GMT-05:30`, `EST5EDT,M3.2.0,M11.1.0`, `<+08>-8`: a POSIX TZ string
/// (never an IANA name: EST5EDT and Etc/GMT+8 are). Returns its offset in hours
/// west of Greenwich, or 0 when it has rules but no readable offset.
fn posix_offset(value: &str) -> Option<i32> {
    if value.contains('/') || TZ_VARIANTS.iter().any(|tz| tz.name() == value) {
        return None;
    }
    let rest = match value.strip_prefix('<') {
        Some(quoted) => quoted.split_once('>').map(|(_, rest)| rest)?,
        None => {
            let letters = value.chars().take_while(|c| c.is_ascii_alphabetic()).count();
            if letters < 3 {
                return None;
            }
            &value[letters..]
        }
    };
    let digits: String = rest
        .chars()
        .enumerate()
        .take_while(|(i, c)| c.is_ascii_digit() || (*i == 0 && "+-".contains(*c)))
        .map(|(_, c)| c)
        .collect();
    match digits.parse::<i32>() {
        Ok(hours) => Some(hours),
        Err(_) if value.contains(',') => Some(0),
        Err(_) => None,
    }
}

/// Longest accepted name (the longest IANA name has 32 bytes): bounds the work of
/// the suggestions below, which are quadratic in the name's length.
const MAX_NAME_LEN: usize = 64;

/// Up to three zone names closest to `value` (case-insensitive edit distance on the
/// whole name and on its last component, so "Kolkatta" finds "Asia/Kolkata").
fn suggest(value: &str) -> Vec<&'static str> {
    let needle = value.to_ascii_lowercase();
    // two letters are two edits from any two-letter name: nothing to suggest
    if needle.chars().filter(|c| c.is_ascii_alphabetic()).count() < 3 {
        return Vec::new();
    }
    let mut scored: Vec<(usize, &'static str)> = TZ_VARIANTS
        .iter()
        // only Area/City names: the others are legacy links and abbreviation-like
        // names ("EST", "GB"), several of which canonical() itself refuses
        .filter(|tz| tz.name().contains('/') && !tz.name().starts_with("Etc/"))
        .map(|tz| {
            let name = tz.name();
            let lower = name.to_ascii_lowercase();
            let city = lower.rsplit('/').next().unwrap_or(&lower).to_string();
            let d = levenshtein(&needle, &lower).min(levenshtein(&needle, &city) + 1);
            (d, name)
        })
        .collect();
    scored.sort();
    let limit = (needle.len() / 3).max(2);
    scored.into_iter().filter(|(d, _)| *d <= limit).take(3).map(|(_, n)| n).collect()
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The server's zone names (pg_timezone_names reads the zone files; once per backend).
fn server_zones() -> &'static HashSet<String> {
    static ZONES: OnceLock<HashSet<String>> = OnceLock::new();
    ZONES.get_or_init(|| {
        Spi::connect(|client| {
            client
                .select("SELECT name FROM pg_catalog.pg_timezone_names", None, &[])
                .or_raise("read the server's time zones")
                .filter_map(|r| r.get::<String>(1).ok().flatten())
                .collect()
        })
    })
}

/// Validate a name against both lists; `source` says where it came from.
fn resolve_name(value: &str, source: Source) -> String {
    let rejected = |r: Rejection| -> ! {
        Error::InvalidTimeZone { value: value.to_string(), source: source.describe(), detail: r.detail, hint: r.hint }
            .raise()
    };
    let name = canonical(value).unwrap_or_else(|r| rejected(r));
    if !server_zones().contains(name) {
        rejected(Rejection {
            detail: format!("This server's time zone data has no zone \"{name}\"."),
            hint: "Update the server's tzdata, or use a zone listed in pg_timezone_names.".into(),
        });
    }
    name.to_string()
}

#[derive(Clone, Copy)]
enum Source {
    Argument,
    Viewer(pgrx::Uuid),
}

impl Source {
    fn describe(self) -> String {
        match self {
            Source::Argument => "the tz argument".into(),
            Source::Viewer(id) => format!("the timezone stored for viewer {id}"),
        }
    }
}

/// The zone a report uses (SPEC §4): explicit tz, else the viewer's stored zone,
/// else UTC.
pub fn resolve(tz: Option<&str>, viewer_id: Option<pgrx::Uuid>) -> String {
    if let Some(tz) = tz {
        return resolve_name(tz, Source::Argument);
    }
    let Some(viewer) = viewer_id else {
        return "UTC".into();
    };
    let users: Option<String> =
        read::one("SELECT (SELECT users_table::text FROM usage_rollup.binding WHERE id = 1)", &[], "read the binding");
    let Some(users) = users else {
        Error::NoUsersTable { viewer: viewer.to_string() }.raise();
    };
    let (found, stored): (Option<bool>, Option<String>) = read::two(
        &format!(
            "SELECT EXISTS (SELECT 1 FROM {users} u WHERE u.id = $1), \
                    (SELECT u.timezone::text FROM {users} u WHERE u.id = $1 LIMIT 1)"
        ),
        &[viewer.into()],
        "read the viewer's time zone",
    );
    if found != Some(true) {
        Error::UnknownViewer { viewer: viewer.to_string(), users }.raise();
    }
    match stored {
        None => "UTC".into(),
        Some(stored) => resolve_name(&stored, Source::Viewer(viewer)),
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    fn rejected(value: &str) -> Rejection {
        canonical(value).expect_err(value)
    }

    #[test]
    fn iana_names_pass_and_are_canonical() {
        for name in [
            "UTC",
            "Asia/Kolkata",
            "Asia/Kathmandu",
            "Pacific/Chatham",
            "Australia/Lord_Howe",
            "America/New_York",
            "Etc/GMT+8",
            "EST5EDT",
            "America/Argentina/Buenos_Aires",
        ] {
            assert_eq!(canonical(name), Ok(name));
        }
        assert_eq!(canonical("asia/kolkata"), Ok("Asia/Kolkata"));
        assert_eq!(canonical("utc"), Ok("UTC"));
    }

    #[test]
    fn abbreviations_are_refused_with_the_place_meant() {
        assert!(rejected("PST").hint.contains("America/Los_Angeles"));
        assert!(rejected("IST").hint.contains("Asia/Kolkata"));
        assert!(rejected("EST").detail.contains("abbreviation"));
        assert!(rejected("CET").detail.contains("abbreviation"));
    }

    #[test]
    fn posix_strings_are_refused_with_the_sign_explained() {
        let r = rejected("UTC+8");
        assert!(r.detail.contains("opposite sign"), "{r:?}");
        assert!(r.hint.contains("America/Los_Angeles"), "UTC+8 is 8 hours west: {r:?}");
        assert!(rejected("UTC-8").hint.contains("Asia/Shanghai"));
        assert!(rejected("EST5EDT,M3.2.0,M11.1.0").detail.contains("POSIX"));
        assert!(rejected("<+0545>-5:45").detail.contains("POSIX"));
        assert!(rejected("GMT-05:30").detail.contains("POSIX"));
    }

    #[test]
    fn empty_padded_and_unknown_names_are_refused() {
        assert!(rejected("").detail.contains("empty"));
        assert!(rejected(" Asia/Kolkata").hint.contains("\"Asia/Kolkata\""));
        assert!(rejected("Asia/Kolkata ").hint.contains("\"Asia/Kolkata\""));
        assert!(rejected("Asia/Kolkatta").hint.contains("Asia/Kolkata"));
        assert!(rejected("Mars/Olympus").detail.contains("not an IANA"));
        assert!(rejected("Local").detail.contains("server's own zone"));
    }

    #[test]
    fn edit_distance() {
        assert_eq!(levenshtein("kolkatta", "kolkata"), 1);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("same", "same"), 0);
    }
}
