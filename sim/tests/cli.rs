//! The `tulipsim-sim` command line, as a user runs it: each command's output and exit code.

use std::path::Path;
use std::process::{Command, Output};

use tulipsim_sim::interp::{run, RunOptions};
use tulipsim_sim::scenario::Scenario;

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tulipsim-sim"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn explore_checks_runs_and_prints_a_summary() {
    let o = cli(&[
        "explore", "--random", "40", "--seeds", "0..5", "--policy", "pct2", "--faults", "0.1",
    ]);
    let out = stdout(&o);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("explored 40 scenario(s) x seeds 0..5 under pct2 with --early-timeout 0.1"),
        "{out}"
    );
    assert!(out.contains("200 runs"), "{out}");
    assert!(out.contains("0 violation(s)"), "{out}");
}

#[test]
fn bad_input_is_a_clear_error_with_exit_code_2() {
    let o = cli(&["replay", "no/such/file.json"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("cannot read no/such/file.json"), "{err}");
    let o = cli(&["replay", "random:1", "--schedule", "3-1"]);
    assert_eq!(o.status.code(), Some(2)); // clap's usage error
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a schedule"));
    let o = cli(&["explore", "--policy", "delay-bounding", "random:1"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn replay_prints_both_traces_and_the_invariants() {
    let o = cli(&["replay", "random:12", "--seed", "4", "--policy", "random"]);
    let out = stdout(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.starts_with("# canonical trace\n"), "{out}");
    assert!(out.contains("\n# loop trace"), "{out}");
    assert!(out.contains("Task-1 spawned at"), "{out}");
    assert!(out.trim_end().ends_with("every invariant held"), "{out}");
    // The canonical part is the interpreter's trace of the same run.
    let s = tulipsim_sim::explore::random_scenario(12);
    let lines = run(&s, RunOptions::default()).lines;
    assert!(out.contains(&lines.join("\n")), "{out}");
}

#[test]
fn chrome_traces_have_one_lane_per_task_and_balanced_slices() {
    let dir = std::env::temp_dir().join(format!("tulipsim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("run.json");
    let o = cli(&[
        "trace",
        "random:43",
        "--format",
        "chrome",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let events: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).expect("valid JSON");
    std::fs::remove_dir_all(&dir).ok();
    let tid = |e: &serde_json::Value| e["tid"].as_u64().unwrap();
    let lanes: Vec<u64> = events.iter().filter(|e| e["ph"] == "M").map(tid).collect();
    let spawned: Vec<u64> = events
        .iter()
        .filter(|e| {
            e["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("spawned at"))
        })
        .map(tid)
        .collect();
    assert!(spawned.len() >= 2, "random:43 spawns tasks");
    let mut expected = vec![0];
    expected.extend(&spawned);
    assert_eq!(lanes, expected, "one lane for the loop, then one per task");
    for lane in &spawned {
        let depth = events
            .iter()
            .filter(|e| tid(e) == *lane)
            .try_fold(0i64, |d, e| {
                let d = d + match e["ph"].as_str().unwrap() {
                    "B" => 1,
                    "E" => -1,
                    _ => 0,
                };
                (d >= 0).then_some(d)
            });
        assert_eq!(
            depth,
            Some(0),
            "lane {lane}: every slice ends, none ends twice"
        );
    }
    let ts: Vec<i64> = events.iter().filter_map(|e| e["ts"].as_i64()).collect();
    assert!(
        ts.windows(2).all(|w| w[0] <= w[1]),
        "timestamps never go back"
    );
}

#[test]
fn json_traces_are_one_object_per_line() {
    let o = cli(&["trace", "random:14", "--format", "json"]);
    let out = stdout(&o);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.lines().count() > 10);
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("each line is JSON");
        assert!(v["event"].is_string(), "{line}");
    }
}

#[test]
fn svg_traces_are_a_standalone_svg_document() {
    let o = cli(&["trace", "random:43", "--format", "svg"]);
    let out = stdout(&o);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        out.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg""#),
        "{out}"
    );
    assert!(out.contains(r#"<g class="lane" data-task="1">"#), "{out}");
    assert!(out.trim_end().ends_with("</svg>"), "{out}");
}

#[test]
fn mermaid_traces_are_a_sequence_diagram() {
    let o = cli(&["trace", "random:43", "--format", "mermaid"]);
    let out = stdout(&o);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.starts_with("sequenceDiagram\n"), "{out}");
    assert!(
        out.contains("\n    participant Loop as event loop\n"),
        "{out}"
    );
    assert!(out.contains("\n    participant T1 as "), "{out}");
}

#[test]
fn show_prints_a_scenario_that_reads_back() {
    let o = cli(&["show", "random:365"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let back = Scenario::from_json(&stdout(&o)).expect("show's JSON reads back");
    assert_eq!(back, tulipsim_sim::explore::random_scenario(365));
    let as_python = cli(&["show", "random:365", "--as", "python"]);
    assert!(
        as_python.status.success(),
        "{}",
        String::from_utf8_lossy(&as_python.stderr)
    );
    let py = stdout(&as_python);
    assert!(
        py.contains("import vloop") && py.contains("def run():"),
        "{py}"
    );
}

#[test]
fn diff_compares_with_cpython() {
    if !tulipsim_sim::python::available() {
        assert!(
            std::env::var_os("TULIPSIM_REQUIRE_PYTHON").is_none(),
            "python3 >= 3.11 required"
        );
        return;
    }
    let o = cli(&["diff", "--random", "20"]);
    let out = stdout(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("compared 20 scenario(s) with CPython"),
        "{out}"
    );
    assert!(out.contains("0 mismatched"), "{out}");
}

/// The example file in docs/scenarios.md reads, and runs as the doc says.
#[test]
fn the_documented_scenario_file_runs() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/scenarios.md"))
            .unwrap();
    let json = doc
        .split("```json\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a json block");
    let s = Scenario::from_json(json).expect("the documented file parses");
    let lines = run(&s, RunOptions::default()).lines;
    // T1 sets F0 at 0.5 s, inside T0's 1 s wait_for.
    assert!(
        lines.contains(&"0.500 T0 wait_for F0 1.0 -> 7".to_string()),
        "{lines:#?}"
    );
    let bad = Scenario::from_json(r#"{"tasks": [[{"sleep": 0.3}]]}"#).unwrap_err();
    assert!(bad.contains("multiples of 0.5"), "{bad}");
}
