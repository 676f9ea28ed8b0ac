//! The examples print exactly what the reference text says they print.
//!
//! `cargo test` builds the examples next to the test binaries (`target/<profile>/examples`);
//! these tests run them and compare their standard output.

use std::path::PathBuf;
use std::process::Command;

fn run_example(name: &str) -> String {
    run_example_with(name, &[])
}

fn run_example_with(name: &str, args: &[&str]) -> String {
    let exe = std::env::current_exe().unwrap();
    let dir: PathBuf = exe.parent().unwrap().parent().unwrap().join("examples");
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} was not built; `cargo test` builds examples (run it without --test filters)",
        path.display()
    );
    let out = Command::new(&path).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
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
