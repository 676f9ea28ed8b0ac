//! A key-value server and a retrying client on the simulated network: the third program of
//! `docs/guide.md`, and the bug network faults find.
//!
//! The server speaks a line protocol: `INCR key\n` adds one to `key` and answers the new
//! value, `"7\n"`. The client gives each attempt 0.5 s (`wait_for`) and retries on a timeout,
//! a reset or a cut-off answer. The planted bug: `INCR` is not idempotent, and a retry cannot
//! tell a request that was lost from an answer that was lost. When the server applied the
//! first attempt and its answer came late (a delayed packet) or never (a reset), the retry
//! applies it again, and the counter ends higher than the number of calls that succeeded.
//!
//! `cargo run --example kv_retry` runs the workload without faults, then checks the invariant
//! (the counter equals the number of successful calls) over seeds with `net_delay` and
//! `net_reset` faults on, printing the failure report's header and replay command, the faults
//! of the shrunk run and how many of them, from the first, fail it on their own; last it checks
//! the fixed client, whose requests carry an id the server dedups (`INCR key id\n`: a repeated
//! id gets the first answer again, and nothing is added). `docs/guide.md` shows the output;
//! `tests/guide.rs` keeps it up to date.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::IntoFuture;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use tulipsim::scheduler::{FaultPlan, Schedule};
use tulipsim::streams::{open_connection, start_server, Server};
use tulipsim::{
    check, create_task, get_running_loop, sleep, wait_for, Error, Failure, FaultConfig, Policy,
};

/// The server's state: the counters, and the answer already given to each request id.
#[derive(Default)]
pub struct Store {
    counters: BTreeMap<String, u64>,
    answered: BTreeMap<u64, u64>,
}

/// Serves `INCR key [id]` on ("kv", 6379).
pub async fn kv_server(store: Rc<RefCell<Store>>) -> Result<Server, Error> {
    start_server(
        move |reader, writer| {
            let store = store.clone();
            async move {
                // A reset or a client that went away ends the connection, not the server.
                while let Ok(line) = reader.readline().await {
                    let line = String::from_utf8_lossy(&line).into_owned();
                    let words: Vec<&str> = line.split_whitespace().collect();
                    let value = match words[..] {
                        ["INCR", key] => incr(&mut store.borrow_mut(), key),
                        ["INCR", key, id] => {
                            let id: u64 = id.parse().map_err(|_| Error::msg("bad id"))?;
                            let mut s = store.borrow_mut();
                            match s.answered.get(&id) {
                                Some(&v) => v, // a retry: the first answer, nothing added
                                None => {
                                    let v = incr(&mut s, key);
                                    s.answered.insert(id, v);
                                    v
                                }
                            }
                        }
                        _ => break, // the end of the stream, or nonsense
                    };
                    if writer.write(format!("{value}\n")).is_err() || writer.drain().await.is_err()
                    {
                        break;
                    }
                }
                writer.close();
                Ok(())
            }
        },
        "kv",
        6379,
    )
    .await
}

fn incr(store: &mut Store, key: &str) -> u64 {
    let v = store.counters.entry(key.to_string()).or_insert(0);
    *v += 1;
    *v
}

/// One attempt: connect, send the request, read the answer.
async fn attempt(request: String) -> Result<u64, Error> {
    let (reader, writer) = open_connection("kv", 6379).into_future().await?;
    writer.write(request)?;
    let answer = reader.readline().await;
    writer.close();
    let answer = answer?;
    if answer.last() != Some(&b'\n') {
        return Err(Error::msg("the answer was cut off"));
    }
    String::from_utf8_lossy(&answer)
        .trim()
        .parse()
        .map_err(|_| Error::msg("a bad answer"))
}

/// `INCR key`, retried on a timeout, a reset or a cut-off answer. The fixed client sends the
/// same request id with every attempt of one call.
pub async fn incr_with_retry(key: &str, id: u64, fixed: bool) -> Result<u64, Error> {
    let request = if fixed {
        format!("INCR {key} {id}\n")
    } else {
        format!("INCR {key}\n")
    };
    for _ in 0..20 {
        match wait_for(attempt(request.clone()), 0.5).await {
            Ok(v) => return Ok(v),
            Err(e) if e.is_cancelled() => return Err(e),
            Err(_) => sleep(0.1).await?, // timed out, reset, cut off: back off and retry
        }
    }
    Err(Error::msg("gave up after 20 attempts"))
}

/// Three clients make three calls each; then the counter must equal the successful calls.
pub async fn workload(fixed: bool) -> Result<(u64, u64), Error> {
    let store = Rc::new(RefCell::new(Store::default()));
    let server = kv_server(store.clone()).await?;
    let mut clients = Vec::new();
    for c in 0..3u64 {
        clients.push(create_task(async move {
            let mut ok = 0u64;
            for call in 0..3u64 {
                if incr_with_retry("hits", c * 100 + call, fixed).await.is_ok() {
                    ok += 1;
                }
            }
            Ok(ok)
        })?);
    }
    let mut successes = 0;
    for client in clients {
        successes += client.await?;
    }
    server.close();
    let counter = store.borrow().counters.get("hits").copied().unwrap_or(0);
    if counter != successes {
        return Err(Error::msg(format!(
            "the counter is {counter} after {successes} successful INCRs"
        )));
    }
    Ok((counter, successes))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. No faults: nine calls, nine increments.
    let (counter, calls) = tulipsim::run(workload(false))?;
    println!("no faults: counter {counter} after {calls} calls");

    // 2. Network faults: some packets late by up to 1 s (past the client's 0.5 s), some
    //    connections reset as data reaches them. The buggy client double-counts. This check
    //    reads TULIPSIM_SEED, TULIPSIM_POLICY and TULIPSIM_REPLAY, so the report's replay
    //    command reruns this example on the failing run.
    let ((p_delay, max_delay), p_reset) = ((0.01, 1.0), 0.005);
    let faults = FaultConfig::default()
        .net_delay(p_delay, max_delay)
        .net_reset(p_reset);
    println!("buggy client, net_delay({p_delay:?}, {max_delay:?}) and net_reset({p_reset:?}):");
    let failure = check(|| workload(false))
        .policy(Policy::Random)
        .faults(faults.clone())
        .seeds(0..200)
        .outcome()
        .err()
        .ok_or("the buggy client kept the count on every seed")?;
    // The report without the original schedule (dozens of deviations the shrinking drops) and
    // without the trace's tail (the last calls, long after the faults).
    for line in failure.to_string().lines() {
        if line.starts_with("  trace of ") {
            break;
        }
        let superseded = line.starts_with("  schedule: ") || line.starts_with("  replay: ");
        if !(failure.minimized.is_some() && superseded) {
            println!("{line}");
        }
    }
    let (schedule, label) = match &failure.minimized {
        Some((schedule, _)) => (schedule.clone(), "the minimised run"),
        None => (failure.schedule.clone(), "the run"),
    };
    which_faults(&failure, &schedule, label, &faults)?;

    // 3. The fixed client: every attempt of a call carries its id; the server dedups.
    let summary = check(|| workload(true))
        .policy(Policy::Random)
        .faults(faults)
        .seeds(0..500)
        .ignore_env()
        .outcome()
        .map_err(|failure| failure.to_string())?;
    println!("fixed: {} runs passed", summary.runs);
    Ok(())
}

/// Prints the faults of the run the replay command reruns, and the fewest of them, from the
/// first, that still fail the check on their own (the same seed and schedule, no later fault
/// firing): which faults the bug needs, not only which happened to fire. Only a prefix is
/// exact: until the first fault left out, the run is the failing one, query for query.
fn which_faults(
    failure: &Failure,
    schedule: &Schedule,
    label: &str,
    faults: &FaultConfig,
) -> Result<(), Box<dyn std::error::Error>> {
    let replay = |plan: Option<FaultPlan>, fired: Arc<Mutex<FaultPlan>>| {
        let mut c = check(move || {
            let fired = fired.clone();
            async move {
                let outcome = workload(false).await;
                *fired.lock().unwrap() = get_running_loop()?.fired_faults();
                outcome
            }
        })
        .policy(Policy::Random)
        .faults(faults.clone())
        .seed(failure.seed)
        .replay(schedule.clone())
        .ignore_env();
        if let Some(plan) = plan {
            c = c.fault_plan(plan);
        }
        c.outcome()
    };
    let fired = Arc::new(Mutex::new(FaultPlan::default()));
    let rerun = replay(None, fired.clone())
        .err()
        .ok_or("the failing run passed when replayed")?;
    let queries = fired.lock().unwrap().queries().to_vec();
    let trace = rerun.trace.to_string();
    println!("the faults of {label}:");
    for line in trace.lines().filter(|l| l.contains(" fault ")) {
        println!("  {}", line.trim());
    }
    for k in 1..=queries.len() {
        let plan = FaultPlan::from_queries(queries[..k].to_vec());
        if let Err(f) = replay(Some(plan), Arc::default()) {
            let first = if k == 1 {
                "the first fault".to_string()
            } else {
                format!("the first {k} faults")
            };
            println!("with only {first} firing: {}", f.message);
            return Ok(());
        }
    }
    Err("the failing run's faults, replayed as a plan, do not fail it".into())
}
