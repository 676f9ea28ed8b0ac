//! The differential test: generated scenarios run on tulipsim (FIFO) and on CPython 3.11's
//! asyncio (on `sim/python/vloop.py`'s virtual clock) must print the same trace, line for line,
//! or differ for a reason `docs/semantics.md` writes down.
//!
//! `TULIPSIM_DIFF_CASES` sets how many random scenarios run (default 3,000);
//! `TULIPSIM_DIFF_FIRST` where they start (default 0). Without python3 >= 3.11 these tests
//! skip, unless `TULIPSIM_REQUIRE_PYTHON` is set (CI sets it). A long run is
//! `cargo run --release -p tulipsim-sim -- diff --random 100000`.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use tulipsim_sim::differential::{self, Regression, Verdict};
use tulipsim_sim::explore::random_scenario;
use tulipsim_sim::python::{self, Worker};

fn env_u64(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// Whether CPython can be run; panics if it cannot but CI requires it.
fn python_or_skip() -> bool {
    if python::available() {
        return true;
    }
    assert!(
        std::env::var_os("TULIPSIM_REQUIRE_PYTHON").is_none(),
        "TULIPSIM_REQUIRE_PYTHON is set but python3 >= 3.11 is not available"
    );
    eprintln!("skipped: python3 >= 3.11 not found");
    false
}

#[test]
fn random_scenarios_print_what_cpython_prints() {
    if !python_or_skip() {
        return;
    }
    let cases = env_u64("TULIPSIM_DIFF_CASES", 3_000);
    let first = env_u64("TULIPSIM_DIFF_FIRST", 0);
    let next = AtomicU64::new(first);
    let failures: Mutex<Vec<String>> = Mutex::default();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut worker = Worker::start().expect("python3 starts");
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= first + cases || !failures.lock().unwrap().is_empty() {
                        break;
                    }
                    let scenario = random_scenario(k);
                    match differential::compare(&mut worker, &scenario).expect("CPython runs it") {
                        Verdict::Match | Verdict::Explained(..) => {}
                        Verdict::Mismatch(m) => {
                            let mut report = format!("random:{k} differs from CPython\n{m}");
                            if let Some(s) = differential::shrink(&mut worker, &scenario) {
                                report +=
                                    &format!("\nshrunk scenario:\n{}\n{s}", s.scenario.to_json());
                            }
                            failures.lock().unwrap().push(report);
                        }
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// `sim/regressions/*.json`: scenarios that once diverged or pin a deliberate difference, each
/// with the verdict it must keep.
#[test]
fn regression_scenarios_keep_their_verdicts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    let regressions = Regression::load_dir(&dir).expect("regression files read");
    assert!(
        regressions.len() >= 5,
        "regression set missing: {} files",
        regressions.len()
    );
    let mut failures = Vec::new();
    // tulipsim's side needs no Python: its trace must be the one recorded in the file.
    for (name, r) in &regressions {
        if let Err(e) = r.check_tulipsim() {
            failures.push(format!("{name}: {e}"));
        }
    }
    if python_or_skip() {
        let mut worker = Worker::start().expect("python3 starts");
        for (name, r) in &regressions {
            if let Err(e) = r.check_cpython(&mut worker) {
                failures.push(format!("{name}: {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
