//! The examples print exactly what the reference text says they print, and the guide's
//! programs (`retry_client`, `cache_race`, `kv_retry`) find their bugs on the seeds
//! `docs/guide.md` names.
//!
//! `cargo test` builds the examples next to the test binaries (`target/<profile>/examples`);
//! these tests run them and compare their standard output.

use crate::common;

fn run_example(name: &str) -> String {
    run_example_with(name, &[])
}

fn run_example_with(name: &str, args: &[&str]) -> String {
    common::run_example_env(name, args, &[])
}

#[test]
fn factorial_prints_the_nine_lines_of_the_reference_text() {
    assert_eq!(
        run_example("factorial"),
        "Task A: Compute factorial(2)...\n\
         Task B: Compute factorial(2)...\n\
         Task C: Compute factorial(2)...\n\
         Task A: factorial(2) = 2\n\
         Task B: Compute factorial(3)...\n\
         Task C: Compute factorial(3)...\n\
         Task B: factorial(3) = 6\n\
         Task C: Compute factorial(4)...\n\
         Task C: factorial(4) = 24\n"
    );
}

#[test]
fn hello_world_greets_three_times_before_it_is_cancelled() {
    assert_eq!(run_example("hello_world"), "Hello World\n".repeat(3));
}

#[test]
fn chain_coroutines_prints_the_compute_and_the_sum() {
    assert_eq!(
        run_example("chain_coroutines"),
        "Compute 1 + 2 ...\n1 + 2 = 3\n"
    );
}

#[test]
fn the_future_examples_print_future_is_done() {
    assert_eq!(
        run_example("future_run_until_complete"),
        "Future is done!\n"
    );
    assert_eq!(run_example("future_run_forever"), "Future is done!\n");
}

#[test]
fn timeline_prints_mermaid_or_writes_an_svg() {
    let mermaid = run_example("timeline");
    assert!(mermaid.starts_with("sequenceDiagram\n"), "{mermaid}");
    for line in [
        "    participant T2 as watchdog\n",
        "    participant T3 as print_sum\n",
        "    Note over T3: awaits sleep\n",
        "    Note over Loop,T3: t = 1 s\n",
        "    T3-->>Loop: done: result\n",
        "    T2-->>Loop: done: cancelled\n",
    ] {
        assert!(mermaid.contains(line), "{line:?} in\n{mermaid}");
    }
    let dir = std::env::temp_dir().join(format!("tulipsim-timeline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("out.svg");
    assert_eq!(run_example_with("timeline", &[file.to_str().unwrap()]), "");
    let svg = std::fs::read_to_string(&file).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        svg.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg""#),
        "{svg}"
    );
    assert!(svg.contains(r#"<g class="lane" data-task="2">"#), "{svg}");
    assert!(svg.contains(r#"<g class="cancelled""#), "{svg}");
}

#[test]
fn retry_client_finds_the_swallowed_cancellation_and_the_fix_passes() {
    let out = run_example("retry_client");
    assert!(
        out.starts_with("no faults: [\"value-1\", \"value-2\", \"value-3\"]\n"),
        "{out}"
    );
    for line in [
        "buggy: seed 5 failed (run 6 of 100): task Task-1 panicked: fetch_all took 4.6 s, past its 2 s deadline at examples/retry_client.rs:",
        "seed 5, attempt by attempt:\n",
        // The deadline's cancellation, retried:
        "  t=2.0 key 2 attempt 2: Err(CancelledError)\n",
        "  t=3.2 key 2 attempt 3: Err(TimeoutError)\n",
        ") at t=4.6 s\n",
    ] {
        assert!(out.contains(line), "{line:?} in\n{out}");
    }
    assert!(out.ends_with("fixed: 1000 runs passed\n"), "{out}");
}

#[test]
fn cache_race_passes_fifo_fails_random_and_pct_and_the_fix_passes() {
    let out = run_example("cache_race");
    assert!(
        out.starts_with(
            "FIFO run: served [\"value of user:1\", \"value of user:1\"] by t = 1.011 s\n\
             random: seed 0 failed\n\
             tulipsim: run 1 of 100 failed (seed 0, policy random, virtual time 1.001000s)\n"
        ),
        "{out}"
    );
    for line in [
        "  failure: task request-2 panicked: the entry is cached: we just checked at examples/cache_race.rs:",
        "  schedule: '0:1,1:1,2:1' (3 deviation(s) from FIFO over 3 decisions)\n",
        "  minimised schedule: '0:1,1:1' (2 deviation(s))\n",
        "  replay minimised: TULIPSIM_SEED=0 TULIPSIM_POLICY=random TULIPSIM_REPLAY='0:1,1:1' cargo run --example cache_race\n",
    ] {
        assert!(out.contains(line), "{line:?} in\n{out}");
    }
    assert!(
        out.ends_with(
            "pct2: seed 5 failed (run 6 of 100)\n\
             fixed, random: 1000 runs passed\n\
             fixed, pct2: 1000 runs passed\n\
             every schedule, racy: 4 of 64 fail (a random run fails with probability 0.3125)\n\
             every schedule, fixed: 0 of 64 fail\n"
        ),
        "{out}"
    );
}

#[test]
fn cache_race_replays_the_schedule_its_report_prints() {
    let out = run_example("cache_race");
    let again = replay_printed(&out, "cache_race");
    assert!(
        again.contains(
            "tulipsim: run 1 of 1 failed (seed 0, policy random, virtual time 1.001000s)\n"
        ),
        "{again}"
    );
    assert!(
        again.contains("  schedule: '0:1,1:1' (2 deviation(s) from FIFO over 4 decisions)\n"),
        "{again}"
    );
    assert!(
        again.contains("the entry is cached: we just checked"),
        "{again}"
    );
}

#[test]
fn kv_retry_finds_the_duplicated_incr_and_the_deduping_client_passes() {
    let out = run_example("kv_retry");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "no faults: counter 9 after 9 calls", "{out}");
    assert_eq!(
        lines[1], "buggy client, net_delay(0.01, 1.0) and net_reset(0.005):",
        "{out}"
    );
    assert!(
        lines[2].starts_with("tulipsim: run 10 of 200 failed (seed 9, policy random"),
        "{out}"
    );
    assert_eq!(
        lines[3], "  failure: returned Error: the counter is 10 after 9 successful INCRs",
        "{out}"
    );
    // No reordering is needed: the faults alone fail the run in asyncio's own order.
    assert_eq!(
        lines[4], "  minimised schedule: '' (0 deviation(s))",
        "{out}"
    );
    assert_eq!(
        lines[5],
        "  replay minimised: TULIPSIM_SEED=9 TULIPSIM_POLICY=random TULIPSIM_REPLAY='' cargo run --example kv_retry",
        "{out}"
    );
    // The answer to an applied INCR came late: the client timed out and sent it again. That
    // delay is the first fault, and it fails the run with no other fault firing.
    assert_eq!(lines[6], "the faults of the minimised run:", "{out}");
    assert!(
        lines[7].contains(" fault net-delay: 2 bytes from ('kv', 6379) to ('client', "),
        "{out}"
    );
    assert!(
        out.contains(
            "\nwith only the first fault firing: returned Error: the counter is 10 after 9 successful INCRs\n"
        ),
        "{out}"
    );
    assert!(out.ends_with("fixed: 500 runs passed\n"), "{out}");
    assert_eq!(run_example("kv_retry"), out, "the output is deterministic");
}

/// Runs the replay command that `out` (example `name`'s output) prints, as a user would.
fn replay_printed(out: &str, name: &str) -> String {
    let command = out
        .lines()
        .find_map(|l| l.strip_prefix("  replay minimised: "))
        .expect("a replay command");
    let (vars, rest) = command.split_at(command.find(" cargo ").unwrap());
    assert_eq!(rest, format!(" cargo run --example {name}"));
    let env: Vec<(&str, &str)> = vars
        .split_whitespace()
        .map(|v| {
            let (k, v) = v.split_once('=').unwrap();
            (k, v.trim_matches('\''))
        })
        .collect();
    common::run_example_env(name, &[], &env)
}

/// The faults a run printed: its `fault net-...` lines.
fn fault_lines(out: &str) -> Vec<&str> {
    out.lines().filter(|l| l.contains(" fault net-")).collect()
}

#[test]
fn kv_retry_replays_the_failure_its_report_prints() {
    let out = run_example("kv_retry");
    let again = replay_printed(&out, "kv_retry");
    // An empty TULIPSIM_REPLAY is the empty schedule, replayed: one run, FIFO throughout.
    assert!(
        again.contains("tulipsim: run 1 of 1 failed (seed 9, policy random,"),
        "{again}"
    );
    assert!(
        again.contains("schedule: '' (0 deviation(s) from FIFO"),
        "{again}"
    );
    assert!(
        again.contains("the counter is 10 after 9 successful INCRs"),
        "{again}"
    );
    // The same faults, at the same moments, on the same connections: the same run.
    assert!(!fault_lines(&out).is_empty(), "{out}");
    assert_eq!(fault_lines(&again), fault_lines(&out), "{again}");
}
