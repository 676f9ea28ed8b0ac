//! docs/fuzzing.md's commands, checked on stable as a user pastes them (issue #17): the
//! `cargo +nightly fuzz` lines cannot run here, so their arguments are checked against the
//! `fuzz/` tree they run in; the `tulipsim-sim` lines run, from `fuzz/`, as written.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn doc() -> String {
    std::fs::read_to_string(root().join("docs/fuzzing.md")).unwrap()
}

/// The first ```sh block: the commands to paste, in order.
fn sh_block(doc: &str) -> Vec<String> {
    let start = doc
        .find("```sh\n")
        .expect("docs/fuzzing.md has an sh block")
        + 6;
    let end = start + doc[start..].find("```").unwrap();
    doc[start..end]
        .lines()
        .map(|l| l.split(" #").next().unwrap().trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// The fuzz targets `fuzz/Cargo.toml` declares.
fn targets() -> Vec<String> {
    let toml = std::fs::read_to_string(root().join("fuzz/Cargo.toml")).unwrap();
    toml.lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .map(|n| n.trim_end_matches('"').to_string())
        .filter(|n| n != "tulipsim-fuzz")
        .collect()
}

#[test]
fn the_fuzz_run_commands_use_a_scratch_corpus_made_first_and_a_time_limit() {
    let lines = sh_block(&doc());
    let cd = lines
        .iter()
        .position(|l| l == "cd fuzz")
        .expect("`cd fuzz`");
    let fuzz = root().join("fuzz");
    let mut made: Vec<String> = Vec::new();
    let mut runs = Vec::new();
    for line in &lines[cd + 1..] {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let Some(dirs) = line.strip_prefix("mkdir -p ") {
            made.extend(dirs.split_whitespace().map(str::to_string));
            continue;
        }
        assert!(
            line.starts_with("cargo +nightly fuzz run "),
            "unexpected command after `cd fuzz`: {line}"
        );
        let target = words[4];
        assert!(targets().iter().any(|t| t == target), "no target {target}");
        let dash = words
            .iter()
            .position(|w| *w == "--")
            .expect("`-- -max_total_time`");
        assert!(
            words[dash + 1..]
                .iter()
                .any(|w| w.starts_with("-max_total_time=")),
            "no time limit: {line}"
        );
        let corpora = &words[5..dash];
        assert!(
            corpora.len() >= 2,
            "a scratch corpus, then the committed one: {line}"
        );
        // New inputs go to the first directory: a scratch one, made before the run.
        assert!(
            !corpora[0].starts_with("corpus/") && made.iter().any(|m| m == corpora[0]),
            "the first corpus of `{line}` must be a scratch directory that `mkdir -p` made"
        );
        for c in &corpora[1..] {
            assert!(fuzz.join(c).is_dir(), "{c} is not a directory of fuzz/");
        }
        runs.push(target.to_string());
    }
    let mut all = targets();
    all.sort();
    runs.sort();
    assert_eq!(runs, all, "every target is run");
}

#[test]
fn the_crash_paths_are_relative_to_fuzz() {
    let doc = doc();
    let section =
        &doc[doc.find("## From a crash").unwrap()..doc.find("## Fuzzing your own").unwrap()];
    assert!(section.contains("Still in `fuzz/`"));
    for cmd in section
        .split('`')
        .filter(|c| c.starts_with("cargo +nightly fuzz "))
    {
        let path = cmd.split_whitespace().nth(5).unwrap();
        assert!(
            path.starts_with("artifacts/") && !path.starts_with("fuzz/"),
            "`{cmd}`: a crash path relative to fuzz/"
        );
        let dir = Path::new(path).parent().unwrap();
        let target = dir.file_name().unwrap().to_str().unwrap();
        assert!(
            targets().iter().any(|t| t == target),
            "`{cmd}`: no target {target}"
        );
    }
}

/// The `tulipsim-sim` commands of the crash section, run from `fuzz/` as written, on a saved
/// scenario (cargo's own part, `cargo run --manifest-path ../Cargo.toml -p tulipsim-sim --`,
/// is checked to name this workspace's manifest, which has `sim` as a member).
#[test]
fn the_sim_commands_run_from_fuzz() {
    let doc = doc();
    let fuzz = root().join("fuzz");
    let prefix = "cargo run --manifest-path ../Cargo.toml -p tulipsim-sim -- ";
    let commands: Vec<&str> = doc
        .split('`')
        .filter(|c| c.starts_with("cargo run"))
        .collect();
    assert_eq!(commands.len(), 2, "{commands:?}");
    let manifest = std::fs::read_to_string(fuzz.join("../Cargo.toml")).unwrap();
    assert!(
        manifest.contains("\"sim\""),
        "../Cargo.toml from fuzz/ has sim as a member"
    );
    let scratch =
        std::env::temp_dir().join(format!("tulipsim-fuzzing-docs-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    // The JSON a crash's message prints: a scenario's `to_json`.
    let case = scratch.join("case.json");
    let scenario = tulipsim_sim::explore::random_scenario(14);
    std::fs::write(&case, scenario.to_json()).unwrap();
    for cmd in commands {
        let args = cmd
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("`{cmd}` must start with `{prefix}`"));
        let args: Vec<String> = args
            .split_whitespace()
            .map(|a| a.trim_matches('\'').to_string())
            .map(|a| match a.as_str() {
                "case.json" => case.display().to_string(),
                "case.trace.json" => scratch.join("case.trace.json").display().to_string(),
                _ => a,
            })
            .collect();
        let out = Command::new(env!("CARGO_BIN_EXE_tulipsim-sim"))
            .current_dir(&fuzz)
            .args(&args)
            .output()
            .unwrap();
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "`{cmd}` from fuzz/: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(scratch.join("case.trace.json").is_file());
    let _ = std::fs::remove_dir_all(&scratch);
}
