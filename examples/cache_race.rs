//! A cache whose background refresh races a reader: the second program of `docs/guide.md`.
//!
//! The cache serves requests from memory and loads misses from a backend that takes 10 ms. A
//! refresh task clears it and reloads the hot key. A request checks that its key is cached,
//! writes an access-log line (an await of 1 ms), then reads the entry, which the refresh may
//! have cleared in between: the read panics. Under FIFO (asyncio's own order) the refresh always
//! runs first at the instant where the two meet, so the program passes; other interleavings of
//! that same instant fail.
//!
//! `cargo run --example cache_race` runs the workload once under FIFO, then checks the racy
//! cache over seeds with `Policy::Random` (printing the failure report, whose replay command
//! reruns this example on the failing schedule) and `Policy::Pct(2)`, then checks the fixed
//! cache over 1,000 seeds of each, and last runs both caches under every schedule
//! (`exhaustive`): 4 of the 64 fail for the racy one, none for the fixed one.
//!
//! `cargo run --example cache_race -- --mermaid` prints the Mermaid sequence diagram of the
//! failing run (its shrunk schedule); `cargo run --example cache_race -- --svg out.svg` writes
//! its SVG timeline. `docs/guide.md` shows both; `tests/guide.rs` keeps them up to date.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use tulipsim::{check, exhaustive, sleep, task_group, Error, Policy};

/// The database behind the cache: a read takes 10 ms.
pub struct Backend;

impl Backend {
    /// Loads `key`'s value.
    pub async fn load(&self, key: &str) -> Result<String, Error> {
        sleep(0.010).await?;
        Ok(format!("value of {key}"))
    }
}

/// An in-memory cache in front of the [`Backend`].
pub struct Cache {
    entries: RefCell<BTreeMap<String, String>>,
    backend: Backend,
}

impl Cache {
    /// Serves a request for `key` (the racy version).
    pub async fn get(&self, key: &str) -> Result<String, Error> {
        if !self.entries.borrow().contains_key(key) {
            let value = self.backend.load(key).await?;
            self.entries.borrow_mut().insert(key.to_string(), value);
        }
        self.log_access(key).await?;
        // The bug: the entry was there before the await; a refresh may have cleared it since.
        let value = self.entries.borrow().get(key).cloned();
        Ok(value.expect("the entry is cached: we just checked"))
    }

    /// Serves a request for `key` (the fixed version): the value is taken in the same step as
    /// the check, so no await separates them.
    pub async fn get_fixed(&self, key: &str) -> Result<String, Error> {
        let cached = self.entries.borrow().get(key).cloned();
        let value = match cached {
            Some(value) => value,
            None => {
                let value = self.backend.load(key).await?;
                self.entries
                    .borrow_mut()
                    .insert(key.to_string(), value.clone());
                value
            }
        };
        self.log_access(key).await?;
        Ok(value)
    }

    /// Writes an access-log line (1 ms).
    async fn log_access(&self, _key: &str) -> Result<(), Error> {
        sleep(0.001).await
    }

    /// Drops every entry, then reloads the hot key.
    pub async fn refresh(&self) -> Result<(), Error> {
        self.entries.borrow_mut().clear();
        let value = self.backend.load("user:1").await?;
        self.entries
            .borrow_mut()
            .insert("user:1".to_string(), value);
        Ok(())
    }
}

/// One second of traffic: a request for `user:1` every 500 ms, and the refresh at t = 1 s.
/// Gives what the requests were served.
pub async fn workload(fixed: bool) -> Result<Vec<String>, Error> {
    let cache = Rc::new(Cache {
        entries: RefCell::default(),
        backend: Backend,
    });
    task_group(|tg| async move {
        let c = cache.clone();
        tg.create_task_named("refresh", async move {
            sleep(1.0).await?;
            c.refresh().await
        })?;
        let mut requests = Vec::new();
        for i in 1..=2 {
            sleep(0.5).await?;
            let c = cache.clone();
            let request = async move {
                if fixed {
                    c.get_fixed("user:1").await
                } else {
                    c.get("user:1").await
                }
            };
            requests.push(tg.create_task_named(&format!("request-{i}"), request)?);
        }
        Ok(requests)
    })
    .await?
    .iter()
    .map(|r| r.result())
    .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    match std::env::args().nth(1).as_deref() {
        Some("--mermaid") => print!("{}", failing_run()?.to_mermaid()),
        Some("--svg") => {
            let path = std::env::args().nth(2).ok_or("--svg needs a file name")?;
            std::fs::write(&path, failing_run()?.to_svg())?;
        }
        Some(other) => return Err(format!("unknown argument {other:?}").into()),
        None => explore()?,
    }
    Ok(())
}

/// The trace of the racy cache's failing run under the shrunk schedule.
fn failing_run() -> Result<tulipsim::Trace, Box<dyn std::error::Error>> {
    let failure = check(|| workload(false))
        .policy(Policy::Random)
        .ignore_env()
        .outcome()
        .err()
        .ok_or("the racy cache passed")?;
    let (_, trace) = failure.minimized.ok_or("no shrunk schedule")?;
    Ok(trace)
}

fn explore() -> Result<(), Box<dyn std::error::Error>> {
    // 1. One run, asyncio's order: it passes.
    let lp = tulipsim::EventLoop::new();
    let served = lp.run_until_complete(workload(false))?;
    println!("FIFO run: served {served:?} by t = {} s", lp.time());

    // 2. Other interleavings: the first failing seed under Random, with its report. This check
    //    reads TULIPSIM_SEED, TULIPSIM_POLICY and TULIPSIM_REPLAY, so the report's replay
    //    command reruns this example on the failing schedule.
    match check(|| workload(false))
        .policy(Policy::Random)
        .seeds(0..100)
        .outcome()
    {
        Ok(summary) => println!("random: {} runs passed", summary.runs),
        Err(failure) => println!("random: seed {} failed\n{failure}", failure.seed),
    }

    // 3. PCT with depth 2 finds it too.
    let pct = check(|| workload(false))
        .policy(Policy::Pct(2))
        .seeds(0..100)
        .minimize(false)
        .ignore_env()
        .outcome();
    match pct {
        Ok(summary) => println!("pct2: {} runs passed", summary.runs),
        Err(failure) => println!(
            "pct2: seed {} failed (run {} of 100)",
            failure.seed,
            failure.run_number()
        ),
    }

    // 4. The fixed cache passes every seed of both.
    for policy in [Policy::Random, Policy::Pct(2)] {
        let name = policy.name();
        let summary = check(|| workload(true))
            .policy(policy)
            .seeds(0..1000)
            .ignore_env()
            .outcome()
            .map_err(|failure| failure.to_string())?;
        println!("fixed, {name}: {} runs passed", summary.runs);
    }

    // 5. The workload is small enough to run every schedule: the racy cache fails in some,
    //    the fixed one in none.
    let racy = exhaustive(|| workload(false)).run();
    println!(
        "every schedule, racy: {} of {} fail (a random run fails with probability {})",
        racy.failing, racy.schedules, racy.failure_probability
    );
    let fixed = exhaustive(|| workload(true)).run();
    assert!(fixed.complete);
    println!(
        "every schedule, fixed: {} of {} fail",
        fixed.failing, fixed.schedules
    );
    Ok(())
}
