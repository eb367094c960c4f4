//! Typed SQL templates. Every `src/**/*.sql` file with placeholders (`@name@`, or
//! `@name(argument)@`) becomes a struct in `crate::sql` (src/reports/usage.sql:
//! `crate::sql::reports::Usage`) with one field per placeholder the caller fills and
//! a `render()` that writes the text once, left to right, so that a value is never
//! scanned for placeholders again. A placeholder misspelt in a file, a field left
//! out or one the file does not use is a compile error, not a syntax error at run
//! time on one path.
//!
//! Some names are filled from one place rather than by every caller (GLOBALS): the
//! bound tables and their optional columns (from a `binding` field, which the
//! struct then has), the bucket expression, the measure lists. Files without
//! placeholders (the extension's own install SQL) are left alone.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Placeholders filled without a field of their own: (name, takes an argument,
/// whether it reads the binding, Rust expression of a &str; ARG is the argument).
const GLOBALS: &[(&str, bool, bool, &str)] = &[
    ("usage", false, true, "&self.binding.usage"),
    ("tasks", false, true, "&self.binding.tasks"),
    ("agents", false, true, "&self.binding.agents"),
    ("issues", false, true, "&self.binding.issues"),
    ("cost", false, true, "self.binding.cost()"),
    ("failure_reason", false, true, "self.binding.failure_reason()"),
    ("bucket", false, false, "crate::binding::BUCKET_EXPR"),
    ("bucket_limit", false, false, "crate::binding::BUCKET_LIMIT"),
    ("bucket_seconds", false, false, "crate::binding::BUCKET_SECONDS_TEXT"),
    ("usage_measures", false, true, "&self.binding.usage_measures()"),
    ("task_filters", false, false, "&crate::binding::task_filters(\"i.project_id\", \"t.runtime_id\", \"t.agent_id\")"),
    ("sum_usage", true, false, "&crate::template::sums(ARG, crate::template::REPORT_MEASURES)"),
    ("sum_measures", true, false, "&crate::template::sums(ARG, &crate::template::MEASURES)"),
    ("upsert_measures", true, false, "&crate::template::upsert(ARG)"),
    ("add_measures", true, false, "&crate::template::add(ARG)"),
    ("sum_amounts", true, false, "&crate::template::sums(ARG, crate::template::AMOUNTS)"),
    ("signed_amounts", true, false, "&crate::template::signed(ARG)"),
];

enum Piece {
    Text(String),
    Slot { name: String, arg: Option<String> },
}

/// Split a template into text and placeholders. A placeholder in a `--` comment is
/// refused: filled with a value of several lines it would end the comment early.
fn parse(path: &Path, text: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut rest = text;
    let mut literal = String::new();
    while let Some(at) = rest.find('@') {
        let after = &rest[at + 1..];
        let len = after.bytes().take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_').count();
        let name = &after[..len];
        let tail = &after[len..];
        let slot = if len == 0 || !name.as_bytes()[0].is_ascii_lowercase() {
            None
        } else if let Some(t) = tail.strip_prefix('@') {
            Some((None, t))
        } else if let Some(t) = tail.strip_prefix('(') {
            t.find(")@").map(|end| (Some(t[..end].to_string()), &t[end + 2..]))
        } else {
            None
        };
        match slot {
            Some((arg, next)) => {
                let offset = text.len() - rest.len() + at;
                let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
                if text[line_start..offset].contains("--") {
                    panic!("{}: @{name}@ is in a comment: name it without the @s there", path.display());
                }
                literal.push_str(&rest[..at]);
                pieces.push(Piece::Text(std::mem::take(&mut literal)));
                pieces.push(Piece::Slot { name: name.to_string(), arg });
                rest = next;
            }
            None => {
                literal.push_str(&rest[..=at]);
                rest = &rest[at + 1..];
            }
        }
    }
    literal.push_str(rest);
    pieces.push(Piece::Text(literal));
    pieces.retain(|p| !matches!(p, Piece::Text(t) if t.is_empty()));
    pieces
}

fn camel(stem: &str) -> String {
    stem.split('_').map(|w| w[..1].to_ascii_uppercase() + &w[1..]).collect()
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    // (a directory's own change time: a template added or removed)
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "sql") {
            println!("cargo:rerun-if-changed={}", path.display());
            out.push(path);
        }
    }
}

/// The struct and render() of one template.
fn generate(name: &str, path: &Path, pieces: &[Piece]) -> String {
    let global = |n: &str| GLOBALS.iter().find(|g| g.0 == n);
    let mut fields: BTreeMap<String, bool> = BTreeMap::new();
    let mut binding = false;
    for piece in pieces {
        if let Piece::Slot { name: n, arg } = piece {
            match global(n) {
                Some(g) => {
                    if g.1 != arg.is_some() {
                        panic!("{}: @{n}@ {} an argument", path.display(), if g.1 { "takes" } else { "takes no" });
                    }
                    binding |= g.2;
                }
                None => {
                    if fields.insert(n.clone(), arg.is_some()).is_some_and(|f| f != arg.is_some()) {
                        panic!("{}: @{n}@ is used with and without an argument", path.display());
                    }
                }
            }
        }
    }
    let mut s = String::new();
    writeln!(s, "/// `{}`, rendered.", path.display()).unwrap();
    let lifetime = binding || !fields.is_empty();
    if !lifetime {
        writeln!(s, "pub struct {name};\n").unwrap();
    } else {
        writeln!(s, "pub struct {name}<'a> {{").unwrap();
    }
    if binding {
        writeln!(s, "    pub binding: &'a crate::binding::Binding,").unwrap();
    }
    for (field, func) in &fields {
        let ty = if *func { "&'a dyn Fn(&str) -> String" } else { "&'a str" };
        writeln!(s, "    pub {field}: {ty},").unwrap();
    }
    if lifetime {
        writeln!(s, "}}\n").unwrap();
    }
    writeln!(s, "impl {name}{} {{", if lifetime { "<'_>" } else { "" }).unwrap();
    writeln!(s, "    pub fn render(&self) -> String {{").unwrap();
    writeln!(s, "        let mut out = String::with_capacity(4096);").unwrap();
    for piece in pieces {
        match piece {
            Piece::Text(t) if t.chars().count() == 1 => {
                writeln!(s, "        out.push({:?});", t.chars().next().unwrap()).unwrap()
            }
            Piece::Text(t) => writeln!(s, "        out.push_str({t:?});").unwrap(),
            Piece::Slot { name: n, arg } => {
                let expr = match (global(n), arg) {
                    (Some(g), Some(a)) => g.3.replace("ARG", &format!("{a:?}")),
                    (Some(g), None) => g.3.to_string(),
                    (None, Some(a)) => format!("&(self.{n})({a:?})"),
                    (None, None) => format!("self.{n}"),
                };
                writeln!(s, "        out.push_str({expr});").unwrap();
            }
        }
    }
    writeln!(s, "        out\n    }}\n}}\n").unwrap();
    s
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    files(&root, &mut paths);
    // module path (directories under src/) -> generated items
    let mut modules: BTreeMap<Vec<String>, String> = BTreeMap::new();
    for path in &paths {
        let text = std::fs::read_to_string(path).unwrap();
        let pieces = parse(path, &text);
        if !pieces.iter().any(|p| matches!(p, Piece::Slot { .. })) {
            continue;
        }
        let rel = path.strip_prefix(&root).unwrap();
        let module: Vec<String> =
            rel.parent().into_iter().flat_map(|p| p.iter()).map(|c| c.to_string_lossy().into_owned()).collect();
        assert!(module.len() <= 1, "{}: templates live one directory deep at most", rel.display());
        let name = camel(&rel.file_stem().unwrap().to_string_lossy());
        let code = generate(&name, Path::new("src").join(rel).as_path(), &pieces);
        modules.entry(module).or_default().push_str(&code);
    }
    let mut out = String::from("// Generated by build.rs from the SQL templates in src/: do not edit.\n\n");
    for (module, code) in &modules {
        for m in module {
            writeln!(out, "pub mod {m} {{").unwrap();
        }
        out.push_str(code);
        for _ in module {
            out.push_str("}\n");
        }
    }
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("sql.rs");
    std::fs::write(dest, out).unwrap();
}
