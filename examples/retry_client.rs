//! A retrying client of a flaky service: the first program of `docs/guide.md`.
//!
//! The service answers in 100 ms, but `buggify()` points make it slow or make it fail, in
//! simulation only. The client gives each attempt 1 s (`wait_for`), backs off and retries up
//! to three times, and fetches several keys in parallel in a `TaskGroup` under a 2 s deadline
//! for the whole batch. The planted bug: the retry loop retries on every error, the
//! `CancelledError` of the deadline included, so a batch that hits its deadline keeps running
//! past it.
//!
//! `cargo run --example retry_client` runs the batch without faults, then checks the deadline
//! over seeds with buggify on and prints the first failing seed, reruns that seed printing each
//! attempt, and last checks the fixed client over 1,000 seeds.

use std::cell::Cell;

use tulipsim::scheduler::Random;
use tulipsim::{
    buggify, check, get_running_loop, sleep, task_group, wait_for, Error, EventLoop, FaultConfig,
    LoopConfig, Policy,
};

thread_local! {
    /// Whether `fetch` prints its attempts (on for the one traced run of `main`).
    static VERBOSE: Cell<bool> = const { Cell::new(false) };
}

/// The flaky service: answers in 100 ms, but sometimes 1.5 s late, and sometimes with a 503.
pub async fn call_service(key: u32) -> Result<String, Error> {
    let mut latency = 0.1;
    if buggify() {
        latency += 1.5; // a slow replica, a GC pause
    }
    sleep(latency).await?;
    if buggify() {
        return Err(Error::msg("503 Service Unavailable"));
    }
    Ok(format!("value-{key}"))
}

/// One key, with retries: each attempt gets 1 s; a failure backs off 0.1, 0.2, then 0.4 s.
pub async fn fetch(key: u32, fixed: bool) -> Result<String, Error> {
    let mut backoff = 0.1;
    for attempt in 1..=4 {
        let outcome = wait_for(call_service(key), 1.0).await;
        if VERBOSE.get() {
            let t = get_running_loop()?.time();
            println!("  t={t:.1} key {key} attempt {attempt}: {outcome:?}");
        }
        match outcome {
            Ok(value) => return Ok(value),
            // The fix: a cancellation is not a failure to retry; let it end the task.
            Err(e) if fixed && e.is_cancelled() => return Err(e),
            Err(e) if attempt == 4 => return Err(e),
            Err(_) => {
                sleep(backoff).await?;
                backoff *= 2.0;
            }
        }
    }
    unreachable!("the fourth attempt returns")
}

/// Fetches every key in parallel; the whole batch has 2 s.
pub async fn fetch_all(keys: &[u32], fixed: bool) -> Result<Vec<String>, Error> {
    let keys = keys.to_vec();
    let tasks = wait_for(
        task_group(move |tg| async move {
            let mut tasks = Vec::new();
            for key in keys {
                tasks.push(tg.create_task_named(&format!("fetch-{key}"), fetch(key, fixed))?);
            }
            Ok(tasks)
        }),
        2.0,
    )
    .await?;
    tasks.iter().map(|t| t.result()).collect()
}

/// The property: `fetch_all` answers (a value or an error) within its 2 s.
pub async fn meets_its_deadline(fixed: bool) -> Result<(), Error> {
    let lp = get_running_loop()?;
    let start = lp.time();
    let _ = fetch_all(&[1, 2, 3], fixed).await;
    let took = lp.time() - start;
    assert!(
        took <= 2.0,
        "fetch_all took {took:.1} s, past its 2 s deadline"
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. No faults: every call takes 100 ms.
    let values = tulipsim::run(fetch_all(&[1, 2, 3], false))?;
    println!("no faults: {values:?}");

    // 2. The deadline, over seeds, with buggify on: the buggy client overruns it.
    let faults = FaultConfig::default().buggify(0.5, 0.5);
    let failure = check(|| meets_its_deadline(false))
        .policy(Policy::Random)
        .faults(faults.clone())
        .seeds(0..100)
        .ignore_env()
        .outcome()
        .err()
        .ok_or("the buggy client met its deadline on every seed")?;
    println!(
        "buggy: seed {} failed (run {} of 100): {}",
        failure.seed,
        failure.run_number(),
        failure.message
    );

    // 3. The failing seed again on a loop of our own (the same seed, faults and policy make
    //    the same run), printing each attempt.
    let config = LoopConfig::default()
        .seed(failure.seed)
        .faults(faults.clone());
    let lp = EventLoop::with_config(config);
    lp.set_scheduler(Random::new());
    println!("seed {}, attempt by attempt:", failure.seed);
    VERBOSE.set(true);
    let outcome = lp.run_until_complete(fetch_all(&[1, 2, 3], false));
    VERBOSE.set(false);
    assert_eq!(lp.schedule(), failure.schedule);
    println!("  fetch_all gave {outcome:?} at t={:.1} s", lp.time());

    // 4. The fixed client meets its deadline on every seed.
    let summary = check(|| meets_its_deadline(true))
        .policy(Policy::Random)
        .faults(faults)
        .seeds(0..1000)
        .ignore_env()
        .outcome()
        .map_err(|failure| failure.to_string())?;
    println!("fixed: {} runs passed", summary.runs);
    Ok(())
}
