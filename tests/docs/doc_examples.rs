//! README promises an example on every public item. rustdoc counts them
//! (`cargo +nightly rustdoc -- -Z unstable-options --show-coverage`), but only on nightly; this
//! test keeps the promise on stable: every `pub fn`, `pub struct`, `pub enum`, `pub trait` and
//! `macro_rules!` under `src/` needs a code block in its doc comment ("See [`X`] for an
//! example." does not count, as rustdoc does not count it).
//!
//! It reads the source text, not the compiled crate, so it is a lint: items in a `#[doc(hidden)]`
//! or `pub(crate)` position are skipped, and trait methods without `pub` are not seen (rustdoc
//! sees them). `KNOWN` lists the files that still lack examples, with how many; the numbers may
//! only go down.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Files with items still missing an example, and how many (others are being rewritten as this
/// is written; their examples come with that work).
const KNOWN: &[(&str, usize)] = &[];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The public items of `text` whose doc comment has no code block, as `line: signature`.
fn missing_examples(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut missing = Vec::new();
    // The closing line of the inline private module being skipped, if any.
    let mut private_until: Option<String> = None;
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]") {
            break; // unit-test modules come last in this crate's files
        }
        if let Some(end) = &private_until {
            if *line == end.as_str() {
                private_until = None;
            }
            continue;
        }
        if (t.starts_with("mod ") || t.starts_with("pub(crate) mod ")) && t.ends_with('{') {
            let indent = &line[..line.len() - t.len()];
            private_until = Some(format!("{indent}}}"));
            continue;
        }
        let public = [
            "pub fn ",
            "pub async fn ",
            "pub struct ",
            "pub enum ",
            "pub trait ",
        ]
        .iter()
        .any(|p| t.starts_with(p))
            || t.starts_with("macro_rules!");
        if !public {
            continue;
        }
        // The doc comment above, past attributes.
        let mut j = i;
        let mut hidden = false;
        let mut exported_macro = !t.starts_with("macro_rules!");
        while j > 0 && lines[j - 1].trim_start().starts_with("#[") {
            let attr = lines[j - 1].trim_start();
            hidden |= attr.starts_with("#[doc(hidden)]");
            exported_macro |= attr.starts_with("#[macro_export]");
            j -= 1;
        }
        if hidden || !exported_macro {
            continue;
        }
        let mut has_example = false;
        while j > 0 && lines[j - 1].trim_start().starts_with("///") {
            has_example |= lines[j - 1].contains("```");
            j -= 1;
        }
        if !has_example {
            missing.push(format!("{}: {}", i + 1, t));
        }
    }
    missing
}

#[test]
fn every_public_item_has_an_example() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    let known: BTreeMap<&str, usize> = KNOWN.iter().copied().collect();
    let mut problems = Vec::new();
    for file in files {
        let rel = file
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let missing = missing_examples(&std::fs::read_to_string(&file).unwrap());
        let allowed = known.get(rel.as_str()).copied().unwrap_or(0);
        if missing.len() > allowed {
            problems.push(format!(
                "{rel}: {} item(s) without an example (allowed {allowed}):\n  {}",
                missing.len(),
                missing.join("\n  ")
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_lint_sees_a_missing_example() {
    let text = "/// Does x.\n///\n/// See [`y`] for an example.\n#[track_caller]\npub fn x() {}\n\
                /// Does y.\n///\n/// ```\n/// y();\n/// ```\npub fn y() {}\n";
    assert_eq!(missing_examples(text), ["5: pub fn x() {}"]);
    let private = "pub(crate) mod private {\n    pub struct Hidden;\n}\npub struct Seen;\n";
    assert_eq!(missing_examples(private), ["4: pub struct Seen;"]);
}
