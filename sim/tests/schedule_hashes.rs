//! Refactoring guard: a digest of every trace, schedule and fault plan that a fixed set of
//! programs gives under every built-in policy, with and without faults, compared with the
//! digests recorded in `schedule_hashes.txt`. A change to the library that is meant to change
//! no behaviour (issue #19's restructure, a faster decision structure) must leave every line
//! of that file as it is; a change that is meant to change behaviour re-records it with
//! `TULIPSIM_BLESS=1 cargo test -p tulipsim-sim --test schedule_hashes` and says why in its
//! commit.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::rc::Rc;

use tulipsim::scheduler::Bytes;
use tulipsim::streams::{open_connection, start_server};
use tulipsim::{EventLoop, FaultConfig, LoopConfig, Policy, TraceLevel};
use tulipsim_sim::explore::random_scenario;
use tulipsim_sim::interp::{run, run_on, RunOptions};

/// A trace's text without the source locations of spawns: moving code inside the library
/// (where `start_server` spawns its handlers) must not count as a change of behaviour.
fn without_sites(trace: &impl std::fmt::Display) -> String {
    let mut out = String::new();
    for line in trace.to_string().lines() {
        let line = line.split(" spawned at ").next().unwrap_or(line);
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// FNV-1a: stable across Rust versions and platforms, unlike `DefaultHasher`.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn policies() -> Vec<Policy> {
    vec![
        Policy::Fifo,
        Policy::Random,
        Policy::Chaos,
        Policy::Pct(3),
        Policy::Delay(2),
        Policy::Portfolio,
    ]
}

fn scenario_faults(seed: u64) -> FaultConfig {
    if seed % 2 == 0 {
        FaultConfig::default()
    } else {
        FaultConfig::default()
            .early_timeout(0.1)
            .timer_jitter(0.1, 1.0)
            .spurious_cancel(0.05)
    }
}

/// One line per generated scenario: the digest of its runs under every policy and seed.
fn scenario_lines(out: &mut String) {
    for k in 0..40 {
        let scenario = random_scenario(k);
        let mut all = String::new();
        for policy in policies() {
            for seed in 0..4 {
                let r = run(
                    &scenario,
                    RunOptions {
                        seed,
                        scheduler: Some(policy.scheduler()),
                        faults: scenario_faults(seed),
                        trace: TraceLevel::Full,
                    },
                );
                writeln!(
                    all,
                    "{} {seed} {:?} {} {} {}\n{}",
                    policy.name(),
                    r.ending,
                    r.schedule,
                    r.decisions,
                    r.lines.join("\n"),
                    without_sites(&r.trace)
                )
                .unwrap();
            }
        }
        // Fuzzer bytes drive the choices too.
        let bytes: Vec<u8> = (0..64u64)
            .map(|i| (fnv(&format!("{k} {i}")) >> 7) as u8)
            .collect();
        let r = run(
            &scenario,
            RunOptions {
                seed: k,
                scheduler: Some(Box::new(Bytes::new(bytes))),
                faults: scenario_faults(1),
                trace: TraceLevel::Full,
            },
        );
        writeln!(
            all,
            "bytes {:?} {} {}",
            r.ending,
            r.schedule,
            without_sites(&r.trace)
        )
        .unwrap();
        writeln!(out, "scenario {k:2}: {:016x}", fnv(&all)).unwrap();
    }
}

/// A client writes numbered chunks to a server over the simulated network.
async fn transfer() -> Result<(Vec<u8>, String), tulipsim::Error> {
    let received = Rc::new(RefCell::new(Vec::new()));
    let ending = Rc::new(RefCell::new(String::new()));
    let (rx, end) = (received.clone(), ending.clone());
    let server = start_server(
        move |r, w| {
            let (rx, end) = (rx.clone(), end.clone());
            async move {
                let outcome = loop {
                    match r.read(700).await {
                        Ok(b) if b.is_empty() => break "eof".to_string(),
                        Ok(b) => rx.borrow_mut().extend_from_slice(&b),
                        Err(e) => break format!("{e:?}"),
                    }
                };
                *end.borrow_mut() = outcome;
                w.close();
                Ok(())
            }
        },
        "server",
        9000,
    )
    .await?;
    let client = async {
        let (_r, w) = open_connection("server", 9000).await?;
        for i in 0..6u8 {
            w.write([i; 1000])?;
            w.drain().await?;
        }
        w.write_eof();
        w.close();
        Ok::<(), tulipsim::Error>(())
    };
    let client_end = tulipsim::wait_for(client, 30.0).await;
    tulipsim::sleep(5.0).await?;
    server.close();
    server.wait_closed().await?;
    let received = received.borrow().clone();
    let summary = format!("{client_end:?} {}", ending.borrow());
    Ok((received, summary))
}

fn network_faults() -> FaultConfig {
    FaultConfig::default()
        .net_delay(0.3, 0.5)
        .net_reset(0.05)
        .net_partition(0.05, 2.0)
        .net_half_close(0.05)
        .net_unresponsive(0.05, 3.0)
        .timer_jitter(0.1, 0.5)
}

fn network_config(seed: u64) -> LoopConfig {
    LoopConfig::default()
        .seed(seed)
        .trace(TraceLevel::Full)
        .faults(network_faults())
        .max_steps(1_000_000)
}

/// Everything a run of the network program shows, `lp` closed after it.
fn network_run(lp: &EventLoop, policy: &Policy) -> String {
    lp.set_boxed_scheduler(policy.scheduler());
    let result = lp.run_until_complete(transfer());
    let shown = format!(
        "{:?} {} {} {}\n{}",
        result.map(|(bytes, s)| (bytes.len(), fnv(&format!("{bytes:?}")), s)),
        lp.schedule(),
        lp.fired_faults(),
        lp.decisions(),
        without_sites(&lp.trace())
    );
    let _ = lp.close();
    let reports: Vec<String> = lp.take_reports().iter().map(|r| r.to_string()).collect();
    format!("{shown}\nreports: {reports:?}")
}

/// One line per policy: the digest of the network program's runs over seeds, with every
/// network fault on.
fn network_lines(out: &mut String) {
    for policy in policies() {
        let mut all = String::new();
        for seed in 0..12 {
            let lp = EventLoop::with_config(network_config(seed));
            let shown = network_run(&lp, &policy);
            let shown = shown.rsplit_once("\nreports: ").map_or(&*shown, |(s, _)| s);
            writeln!(all, "{seed} {shown}").unwrap();
        }
        writeln!(out, "network {:10}: {:016x}", policy.name(), fnv(&all)).unwrap();
    }
}

#[test]
fn every_recorded_schedule_hash_is_unchanged() {
    let mut now = String::new();
    scenario_lines(&mut now);
    network_lines(&mut now);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schedule_hashes.txt");
    if std::env::var_os("TULIPSIM_BLESS").is_some() {
        std::fs::write(path, &now).unwrap();
        return;
    }
    let recorded = std::fs::read_to_string(path)
        .expect("tests/schedule_hashes.txt is missing: record it with TULIPSIM_BLESS=1");
    let changed: Vec<String> = recorded
        .lines()
        .zip(now.lines())
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("  recorded {a}\n  now      {b}"))
        .collect();
    assert!(
        changed.is_empty() && recorded.lines().count() == now.lines().count(),
        "behaviour changed in {} of {} programs:\n{}",
        changed.len(),
        recorded.lines().count(),
        changed.join("\n")
    );
}

/// `EventLoop::recycle` (what `check()` does between the seeds of a thread) must not change a
/// run: every scenario, policy, fault setting and seed above, and the network program, run on
/// one loop recycled from run to run, give the trace (with spawn sites), schedule, decisions,
/// invariant lines and reports a new loop gives.
#[test]
fn a_recycled_loop_runs_every_program_as_a_new_loop_does() {
    let mut spare: Option<EventLoop> = None;
    let (mut runs, mut recycled) = (0, 0);
    for k in 0..40 {
        let scenario = random_scenario(k);
        for policy in policies() {
            for seed in 0..4 {
                let opts = || RunOptions {
                    seed,
                    scheduler: Some(policy.scheduler()),
                    faults: scenario_faults(seed),
                    trace: TraceLevel::Full,
                };
                let new = run(&scenario, opts());
                let (again, lp) = run_on(spare.take(), &scenario, opts());
                runs += 1;
                recycled += u64::from(lp.generation() > 0);
                let what = format!("scenario {k}, {}, seed {seed}", policy.name());
                assert_eq!(new.lines, again.lines, "{what}");
                assert_eq!(new.ending, again.ending, "{what}");
                assert_eq!(new.violations, again.violations, "{what}");
                assert_eq!(new.schedule, again.schedule, "{what}");
                assert_eq!(new.decisions, again.decisions, "{what}");
                assert_eq!(new.trace.to_string(), again.trace.to_string(), "{what}");
                spare = Some(lp);
            }
        }
    }
    for policy in policies() {
        for seed in 0..12 {
            let config = network_config(seed);
            let new = network_run(&EventLoop::with_config(config.clone()), &policy);
            let lp = match spare.take() {
                Some(lp) => lp.recycle(config),
                None => EventLoop::with_config(config),
            };
            runs += 1;
            recycled += u64::from(lp.generation() > 0);
            assert_eq!(
                new,
                network_run(&lp, &policy),
                "network, {}, seed {seed}",
                policy.name()
            );
            spare = Some(lp);
        }
    }
    // Every run but the first reused the loop: the comparison tested recycling, not new loops.
    assert_eq!(recycled, runs - 1);
}
