//! The layering of `docs/design.md`, kept true: each module of `src/` sits on a floor, and a
//! module may import only from its own floor or those below. The picture in the design doc and
//! the table here are the same; a new module must be given a floor here, and an import that
//! goes up fails this test with the file and the path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Floors from the bottom, and the modules on each (a module path names its whole subtree
/// unless a longer path is listed too).
const FLOORS: &[(&str, &[&str])] = &[
    ("errors", &["exceptions", "panics"]),
    ("policies", &["scheduler"]),
    (
        "clock and loop",
        &[
            "trace",
            "config",
            "decision",
            "ready",
            "ready_index",
            "base_events",
            "events",
            "faults",
            "random",
        ],
    ),
    ("futures and tasks", &["futures", "tasks", "loop_tasks"]),
    (
        "task functions and sync",
        &[
            "tasks::gather",
            "tasks::wait",
            "tasks::shield",
            "timeouts",
            "taskgroups",
            "locks",
            "queues",
            "runners",
        ],
    ),
    ("exploration", &["strategies"]),
    ("streams", &["streams"]),
    ("harness", &["harness", "fuzz"]),
];

/// The module path of a file under `src/`: `tasks/mod.rs` is `tasks`, `tasks/gather.rs` is
/// `tasks::gather`, `lib.rs` is the root (empty).
fn module_of(rel: &Path) -> String {
    let mut parts: Vec<String> = rel
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts.join("::")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without comments (doc examples are comments) and string literals.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && b.get(i + 2) == Some(&b'\'') {
            // A char literal such as '"' or '{'.
            i += 3;
        } else if b[i] == b'\'' && b.get(i + 1) == Some(&b'\\') {
            // An escaped char literal ('\'', '\\', '\n', '\u{..}'): the quote, the backslash
            // and the escaped character, then up to the closing quote.
            i += 3;
            while i < b.len() && b[i] != b'\'' {
                i += 1;
            }
            i += 1;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// The code before a `#[cfg(test)] mod`: unit tests stand above every floor, like the test
/// folders, and may use the whole crate.
fn without_unit_tests(code: &str) -> String {
    let mut rest = code;
    let mut at = 0;
    while let Some(i) = rest.find("#[cfg(test)]") {
        let after = rest[i + "#[cfg(test)]".len()..].trim_start();
        if after.starts_with("mod ") {
            return code[..at + i].to_string();
        }
        at += i + 1;
        rest = &rest[i + 1..];
    }
    code.to_string()
}

/// Every path a file names through `crate::` or `super::` (expanding `use crate::{a, b::{c,
/// d}}` groups), as module-path strings such as `tasks::new_task`. `parent` is the module that
/// `super::` names in this file.
fn crate_paths(code: &str, parent: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (keyword, base) in [("crate::", ""), ("super::", parent)] {
        let mut rest = code;
        while let Some(i) = rest.find(keyword) {
            let before = rest[..i].chars().next_back();
            rest = &rest[i + keyword.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == ':') {
                continue; // `$crate::` in a macro, `super::super::`, or a longer identifier
            }
            expand(rest, base.to_string(), &mut out);
        }
    }
    out
}

/// The module `super::` names in a file of module `module` (a `mod.rs` file's module is the
/// folder, so its `super` is the folder's parent).
fn parent_of(module: &str) -> String {
    module
        .rsplit_once("::")
        .map_or(String::new(), |(p, _)| p.to_string())
}

/// Expands one path (or group) at the start of `s` below `prefix`.
fn expand(s: &str, prefix: String, out: &mut Vec<String>) {
    let s = s.trim_start();
    if let Some(group) = s.strip_prefix('{') {
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    expand(&group[start..i], prefix.clone(), out);
                    return;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&group[start..i], prefix.clone(), out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        return;
    }
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(s.len());
    let path = s[..end].trim_end_matches("::");
    let full = if prefix.is_empty() {
        path.to_string()
    } else if path.is_empty() || path == "self" {
        prefix.clone()
    } else {
        format!("{prefix}::{path}")
    };
    if s[end..].trim_start().starts_with('{') && s[..end].ends_with("::") {
        expand(&s[end..], full, out);
    } else if !full.is_empty() {
        out.push(full);
    }
}

/// The floor of a module path: its longest listed prefix's.
fn floor_of(module: &str) -> Option<(usize, &'static str)> {
    let mut best: Option<(usize, usize, &'static str)> = None;
    for (floor, (name, modules)) in FLOORS.iter().enumerate() {
        for m in modules.iter() {
            let matches = module == *m || module.starts_with(&format!("{m}::"));
            if matches && best.is_none_or(|(len, _, _)| m.len() > len) {
                best = Some((m.len(), floor, name));
            }
        }
    }
    best.map(|(_, floor, name)| (floor, name))
}

#[test]
fn no_module_imports_from_a_floor_above_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: Vec<String> = files
        .iter()
        .map(|f| module_of(f.strip_prefix(&src).unwrap()))
        .collect();
    let mut unplaced = Vec::new();
    let mut upward: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (file, module) in files.iter().zip(&modules) {
        if module.is_empty() {
            continue; // lib.rs: the crate's front door re-exports every floor
        }
        let Some((floor, floor_name)) = floor_of(module) else {
            unplaced.push(module.clone());
            continue;
        };
        let code = without_unit_tests(&code_only(&std::fs::read_to_string(file).unwrap()));
        for path in crate_paths(&code, &parent_of(module)) {
            // The module the path lands in: its longest prefix that is a module.
            let target = modules
                .iter()
                .filter(|m| !m.is_empty() && (path == **m || path.starts_with(&format!("{m}::"))))
                .max_by_key(|m| m.len());
            let Some(target) = target else {
                upward
                    .entry(format!(
                        "src/{}",
                        file.strip_prefix(&src).unwrap().display()
                    ))
                    .or_default()
                    .push(format!(
                        "crate::{path}: through the crate root; import it from its module"
                    ));
                continue;
            };
            let (to, to_name) = floor_of(target).unwrap_or((usize::MAX, "unplaced"));
            if to > floor && to != usize::MAX {
                upward
                    .entry(format!(
                        "src/{}",
                        file.strip_prefix(&src).unwrap().display()
                    ))
                    .or_default()
                    .push(format!("crate::{path} ({to_name}) from {floor_name}"));
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "modules with no floor in tests/docs/layering.rs (and docs/design.md): {unplaced:?}"
    );
    let report: Vec<String> = upward
        .iter()
        .map(|(file, paths)| {
            let mut paths = paths.clone();
            paths.sort();
            paths.dedup();
            format!("{file}:\n    {}", paths.join("\n    "))
        })
        .collect();
    assert!(
        report.is_empty(),
        "imports that go up a floor:\n{}",
        report.join("\n")
    );
}

#[test]
fn the_path_reader_expands_groups() {
    let code = "use crate::{a, b::{c, d::e}, f::g as h};\nlet x = crate::k::l(1);\n$crate::m\nuse super::{n, o::p};";
    assert_eq!(
        crate_paths(code, "tasks"),
        [
            "a",
            "b::c",
            "b::d::e",
            "f::g",
            "k::l",
            "tasks::n",
            "tasks::o::p"
        ]
    );
    assert_eq!(parent_of("tasks::gather"), "tasks");
    assert_eq!(parent_of("tasks"), "");
    assert_eq!(module_of(Path::new("tasks/mod.rs")), "tasks");
    assert_eq!(module_of(Path::new("tasks/gather.rs")), "tasks::gather");
    assert_eq!(
        floor_of("tasks::gather::x").map(|f| f.1),
        Some("task functions and sync")
    );
    assert_eq!(
        floor_of("tasks::task").map(|f| f.1),
        Some("futures and tasks")
    );
    assert_eq!(
        without_unit_tests("use crate::a;\n#[cfg(test)]\nmod tests {\n    use crate::B;\n}\n"),
        "use crate::a;\n"
    );
    // A quote inside an escaped char literal opens no string.
    let code = code_only("let q = '\\\"'; use crate::a; let s = \"crate::x\";");
    assert_eq!(crate_paths(&code, ""), ["a"]);
    assert!(code_only("a // crate::x\n\"crate::y\" b")
        .find("crate")
        .is_none());
}
