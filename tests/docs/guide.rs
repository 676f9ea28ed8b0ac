//! `docs/guide.md` shows what the code prints, never a hand-written copy: the examples' output,
//! the Mermaid diagram and the SVG timeline (`docs/guide-timeline.svg`) of the cache race's
//! failing run, and the test that snapshots that run's trace (which is also here, and runs).
//!
//! Each test compares the guide with what the code gives now and fails on any difference;
//! `cargo build --examples && TULIPSIM_BLESS=1 cargo test --test docs guide::` rewrites the guide's marked blocks and the SVG
//! instead. A marked block sits between `<!-- guide-NAME:start -->` and `<!-- guide-NAME:end -->`.
//!
//! The examples run as programs, as `cargo run --example` runs them (so the call sites in their
//! output read `examples/...`). `cargo test` builds them; `cargo test --test docs` alone does
//! not, so run `cargo build --examples` first after editing one. The guide's Rust listings
//! themselves are doc tests (`src/lib.rs` includes the guide).

use crate::common;

use std::path::Path;
use std::sync::Mutex;

use tulipsim::{check, Error, Policy};

#[allow(dead_code)]
#[path = "../../examples/cache_race.rs"]
mod cache_race;

/// The racy cache's workload, under the name the guide's listings give it.
async fn workload() -> Result<Vec<String>, Error> {
    cache_race::workload(false).await
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn blessing() -> bool {
    std::env::var("TULIPSIM_BLESS").is_ok_and(|v| v.trim() == "1")
}

/// Serialises the tests' reads and rewrites of docs/guide.md.
static GUIDE: Mutex<()> = Mutex::new(());

/// Checks that the guide's block `name` is a ```` ```lang ```` fence holding exactly `text`
/// (or, when blessing, makes it so).
fn guide_block(name: &str, lang: &str, text: &str) {
    let _lock = GUIDE.lock().unwrap_or_else(|p| p.into_inner());
    let path = root().join("docs/guide.md");
    let guide = std::fs::read_to_string(&path).unwrap();
    let (start, end) = (
        format!("<!-- guide-{name}:start -->\n"),
        format!("<!-- guide-{name}:end -->"),
    );
    let from = guide
        .find(&start)
        .unwrap_or_else(|| panic!("docs/guide.md has no {start:?}"))
        + start.len();
    let to = from
        + guide[from..]
            .find(&end)
            .unwrap_or_else(|| panic!("docs/guide.md has no {end:?}"));
    assert!(text.ends_with('\n') && !text.contains("```"), "{text}");
    let want = format!("```{lang}\n{text}```\n");
    if guide[from..to] == want {
        return;
    }
    if blessing() {
        std::fs::write(&path, format!("{}{want}{}", &guide[..from], &guide[to..])).unwrap();
        return;
    }
    panic!(
        "docs/guide.md's block {name:?} is not what the code gives now; \
         rerun with TULIPSIM_BLESS=1 to rewrite it. It should be:\n{want}"
    );
}

/// Runs an example as `cargo run --example name -- args` would, with no `TULIPSIM_*`
/// variables (the cache and key-value examples read them, as their replay commands expect).
fn run_example(name: &str, args: &[&str]) -> String {
    common::run_example_env(name, args, &[])
}

/// The trace text without the line:column of call sites, so that edits elsewhere in a file
/// leave the snapshot alone.
fn without_line_numbers(text: &str) -> String {
    text.lines()
        .map(|l| {
            let mut out = String::new();
            let mut rest = l;
            while let Some(i) = rest.find(".rs:") {
                out.push_str(&rest[..i + 3]);
                rest = rest[i + 3..].trim_start_matches(|c: char| c.is_ascii_digit() || c == ':');
            }
            out.push_str(rest);
            out
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_retry_client_output_is_the_guides() {
    guide_block("retry-output", "text", &run_example("retry_client", &[]));
}

/// The whole output, report and faults included: its counts, seed and fault lines are what the
/// prose around the block reads.
#[test]
fn the_kv_retry_output_is_the_guides() {
    guide_block("kv-output", "text", &run_example("kv_retry", &[]));
}

#[test]
fn the_cache_race_report_and_results_are_the_guides() {
    let out = run_example("cache_race", &[]);
    let report_at = out.find("tulipsim: run ").expect("a failure report");
    let report_len = out[report_at..].find("\n\n").expect("the report's end") + 1;
    let report = &out[report_at..report_at + report_len];
    guide_block("cache-report", "text", report);
    let results_at = out.find("\npct2: ").expect("the PCT line") + 1;
    guide_block("cache-results", "text", &out[results_at..]);
}

#[test]
fn the_mermaid_diagram_is_the_failing_runs() {
    let diagram = run_example("cache_race", &["--mermaid"]);
    assert!(diagram.starts_with("sequenceDiagram\n"), "{diagram}");
    guide_block("mermaid", "mermaid", &diagram);
}

#[test]
fn the_svg_timeline_is_the_failing_runs() {
    let dir = std::env::temp_dir().join(format!("tulipsim-guide-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("timeline.svg");
    run_example("cache_race", &["--svg", file.to_str().unwrap()]);
    let svg = std::fs::read_to_string(&file).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(svg.starts_with("<svg xmlns="), "{svg}");
    let path = root().join("docs/guide-timeline.svg");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != svg {
        assert!(
            blessing(),
            "docs/guide-timeline.svg is not what `cargo run --example cache_race -- --svg` \
             draws now; rerun with TULIPSIM_BLESS=1 to rewrite it"
        );
        std::fs::write(&path, svg).unwrap();
    }
    let guide = std::fs::read_to_string(root().join("docs/guide.md")).unwrap();
    assert!(guide.contains("![timeline](guide-timeline.svg)"));
}

/// The guide's snapshot listing is this file's test below, word for word.
#[test]
fn the_guides_snapshot_listing_is_this_test() {
    let source = include_str!("guide.rs");
    let start = source
        .find("#[test]\nfn the_failing_run_matches_its_snapshot()")
        .expect("the snapshot test");
    let len = source[start..].find("\n}\n").expect("its end") + 3;
    guide_block("snapshot-test", "rust,ignore", &source[start..start + len]);
}

#[test]
fn the_failing_run_matches_its_snapshot() {
    let failure = check(workload)
        .policy(Policy::Random)
        .ignore_env()
        .outcome()
        .unwrap_err();
    let (schedule, trace) = failure.minimized.as_ref().expect("a shrunk schedule");
    assert_eq!(schedule.to_string(), "0:1,1:1");
    insta::assert_snapshot!(without_line_numbers(&trace.to_string()));
}
