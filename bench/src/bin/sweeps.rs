//! `sweeps`: seeds per second (issue #20, item 2). For each planted-bug program of
//! `tulipsim_sim::bugs` (and its controls), and for the guide's examples:
//!
//! - tulipsim through the harness as users run it: `check(body).policy(Random).seeds(0..n)
//!   .survey()` (every seed runs, failing or not), on 1 and on 2 worker threads
//!   (`Check::threads`; the default is one per core);
//! - tulipsim's raw loop: one `EventLoop` per thread recycled from seed to seed
//!   (`EventLoop::recycle`) with the `Random` scheduler, on one thread, then on two threads
//!   each sweeping half the seeds with a loop of its own;
//! - shuttle's best case: one `Runner` iterating its `RandomScheduler` (restarted with the next
//!   seed after a failing iteration, since a shuttle `Runner` stops at its first failure), on
//!   one thread, then two threads each with a `Runner` of its own.
//!
//! ```text
//! cargo run --release -p tulipsim-bench --bin sweeps [-- SEEDS [REPS]]   (20,000 seeds, 3 reps)
//! ```
//!
//! `sweeps --profile PROGRAM raw|fresh|check|shuttle N` runs one N-seed sweep on one thread
//! (`fresh`: the raw loop with a new loop per seed), for
//! `valgrind --tool=callgrind` (instructions per schedule; `bench/callgrind-sweeps.sh`);
//! `raw2|check2` on two threads, for `/usr/bin/time` (CPU seconds per seed against one
//! thread's: contention inside tulipsim, separated from the machine's load).
//!
//! Times are medians of REPS repetitions, interleaved. The guide's examples have no shuttle
//! translation: they sleep on the virtual clock, which shuttle lacks.

use std::future::Future as StdFuture;
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::time::Instant;

use shuttle::scheduler::RandomScheduler;
use shuttle::{Config, FailurePersistence, Runner};
use tulipsim::scheduler::Random;
use tulipsim::{check, Error, EventLoop, LoopConfig, Policy};
use tulipsim_bench::shuttle_bugs;
use tulipsim_sim::bugs;

#[path = "../../../examples/cache_race.rs"]
#[allow(dead_code, missing_docs)]
mod cache_race;
#[path = "../../../examples/retry_client.rs"]
#[allow(dead_code, missing_docs)]
mod retry_client;

type Main = Pin<Box<dyn StdFuture<Output = Result<(), Error>>>>;

/// A tulipsim program: a name and its main coroutine's maker.
struct Program {
    name: String,
    body: fn() -> Main,
    shuttle: Option<shuttle_bugs::Program>,
}

fn programs() -> Vec<Program> {
    let mut all: Vec<Program> = bugs::all()
        .into_iter()
        .map(|p| Program {
            name: format!("{}{}", p.name, if p.bug { "" } else { " (control)" }),
            body: p.body,
            shuttle: shuttle_bugs::find(p.name),
        })
        .collect();
    type Maker = fn() -> Main;
    let guide: [(&str, Maker); 4] = [
        ("guide: cache_race", || {
            Box::pin(async { cache_race::workload(false).await.map(drop) })
        }),
        ("guide: cache_race fixed", || {
            Box::pin(async { cache_race::workload(true).await.map(drop) })
        }),
        ("guide: retry_client", || {
            Box::pin(retry_client::meets_its_deadline(false))
        }),
        ("guide: retry_client fixed", || {
            Box::pin(retry_client::meets_its_deadline(true))
        }),
    ];
    all.extend(guide.into_iter().map(|(name, body)| Program {
        name: name.into(),
        body,
        shuttle: None,
    }));
    all
}

/// The harness, as users run it: `survey()` runs every seed (`outcome()` stops at the first
/// failure). Gives seconds and failing seeds.
fn harness(body: fn() -> Main, seeds: Range<u64>, threads: usize) -> (f64, u64) {
    let started = Instant::now();
    let survey = check(body)
        .policy(Policy::Random)
        .seeds(seeds)
        .threads(threads)
        .ignore_env()
        .survey()
        .expect("a seeded policy");
    (
        started.elapsed().as_secs_f64(),
        survey.failing_seeds.len() as u64,
    )
}

/// Seeds `seeds` one after the other on this thread, on one loop recycled from seed to seed
/// (`EventLoop::recycle`), or on a new loop each (`fresh`); gives the failures.
fn raw_range(body: fn() -> Main, seeds: Range<u64>, fresh: bool) -> u64 {
    let mut failed = 0;
    let mut spare: Option<EventLoop> = None;
    for seed in seeds {
        let config = LoopConfig::default().seed(seed);
        let lp = match spare.take() {
            Some(lp) if !fresh => lp.recycle(config),
            _ => EventLoop::with_config(config),
        };
        lp.set_scheduler(Random::new());
        let ok = catch_unwind(AssertUnwindSafe(|| lp.run_until_complete(body())))
            .is_ok_and(|r| r.is_ok());
        let _ = catch_unwind(AssertUnwindSafe(|| lp.close()));
        failed += u64::from(!ok);
        spare = Some(lp);
    }
    failed
}

/// The raw loop over `n` seeds on `threads` threads, each its own contiguous range.
fn raw(body: fn() -> Main, n: u64, threads: u64) -> (f64, u64) {
    let started = Instant::now();
    let failed = std::thread::scope(|s| {
        let parts: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || raw_range(body, t * n / threads..(t + 1) * n / threads, false))
            })
            .collect();
        parts.into_iter().map(|h| h.join().unwrap()).sum()
    });
    (started.elapsed().as_secs_f64(), failed)
}

/// Shuttle's best case on this thread: one `Runner` iterating `n` times from `seed`, started
/// again with the next seed after a failing iteration. Gives the failures.
fn shuttle_range(p: &shuttle_bugs::Program, seed: u64, n: u64) -> u64 {
    thread_local!(static RUNS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) });
    let (mut done, mut failed, mut seed) = (0, 0, seed);
    while done < n {
        RUNS.with(|r| r.set(0));
        let body = p.body;
        let mut config = Config::new();
        config.failure_persistence = FailurePersistence::None;
        config.silence_warnings = true;
        let scheduler = RandomScheduler::new_from_seed(seed, (n - done) as usize);
        let r = catch_unwind(AssertUnwindSafe(|| {
            Runner::new(scheduler, config).run(move || {
                RUNS.with(|r| r.set(r.get() + 1));
                body()
            })
        }));
        done += RUNS.with(|r| r.get());
        failed += u64::from(r.is_err());
        seed += 1;
    }
    failed
}

fn shuttle(p: &shuttle_bugs::Program, n: u64, threads: u64) -> (f64, u64) {
    let started = Instant::now();
    let failed = std::thread::scope(|s| {
        let parts: Vec<_> = (0..threads)
            .map(|t| s.spawn(move || shuttle_range(p, t << 32, n / threads)))
            .collect();
        parts.into_iter().map(|h| h.join().unwrap()).sum()
    });
    (started.elapsed().as_secs_f64(), failed)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn k(n: u64, secs: f64) -> String {
    format!("{:.0}k", n as f64 / secs / 1e3)
}

/// One sweep on this thread, for callgrind.
fn profile(mut args: impl Iterator<Item = String>) {
    let name = args.next().expect("a program name");
    let side = args.next().expect("raw|check|shuttle");
    let n: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let p = programs()
        .into_iter()
        .find(|p| p.name.split(' ').next() == Some(name.as_str()))
        .expect("a program of the table");
    match side.as_str() {
        "raw" => drop(raw_range(p.body, 0..n, false)),
        "fresh" => drop(raw_range(p.body, 0..n, true)),
        // Two threads, each its own half: under `/usr/bin/time`, CPU seconds per seed against
        // `raw`'s show whether threads contend inside tulipsim, whatever the machine's load.
        "raw2" => drop(raw(p.body, n, 2)),
        "check2" => drop(harness(p.body, 0..n, 2)),
        "check" => drop(harness(p.body, 0..n, 1)),
        "shuttle" => drop(shuttle_range(
            &p.shuttle.expect("a shuttle translation"),
            0,
            n,
        )),
        other => panic!("no side {other:?}: raw|fresh|raw2|check|check2|shuttle"),
    }
}

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("--profile") {
        std::panic::set_hook(Box::new(|_| {}));
        args.next();
        profile(args);
        return;
    }
    let n: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let reps: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    // The planted bugs panic on purpose, thousands of times: keep stderr quiet.
    std::panic::set_hook(Box::new(|_| {}));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "# sweeps: {n} seeds per program, Random on both tools, medians of {reps}; {cores} cores\n"
    );
    println!(
        "| program | check() 1 thread | check() 2 threads | raw loop 1 thread | raw loop 2 threads | \
         2-thread scaling (raw, check) | shuttle Runner 1 thread | shuttle 2 threads | \
         raw / shuttle | check() / shuttle | failing seeds (tulipsim, shuttle) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut raw_over = Vec::new();
    let mut check_over = Vec::new();
    for p in programs() {
        let mut t = vec![Vec::new(); 6];
        let (mut fails, mut shuttle_fails) = (0, 0);
        for _ in 0..reps {
            let (s, f) = harness(p.body, 0..n, 1);
            t[0].push(s);
            fails = f;
            t[1].push(harness(p.body, 0..n, 2).0);
            let (s, f) = raw(p.body, n, 1);
            t[2].push(s);
            assert_eq!(f, fails, "{}: the raw loop and check() disagree", p.name);
            t[3].push(raw(p.body, n, 2).0);
            if let Some(sp) = &p.shuttle {
                let (s, f) = shuttle(sp, n, 1);
                t[4].push(s);
                shuttle_fails = f;
                t[5].push(shuttle(sp, n, 2).0);
            }
        }
        let m: Vec<f64> = t
            .into_iter()
            .map(|v| if v.is_empty() { f64::NAN } else { median(v) })
            .collect();
        let (sh1, sh2, ratios, share) = if p.shuttle.is_some() {
            raw_over.push(m[4] / m[2]);
            check_over.push(m[4] / m[0]);
            (
                k(n, m[4]),
                k(n, m[5]),
                (
                    format!("{:.1}×", m[4] / m[2]),
                    format!("{:.1}×", m[4] / m[0]),
                ),
                format!("{fails}, {shuttle_fails}"),
            )
        } else {
            (
                "-".into(),
                "-".into(),
                ("-".into(), "-".into()),
                format!("{fails}, -"),
            )
        };
        println!(
            "| {} | {} | {} | {} | {} | {:.2}×, {:.2}× | {sh1} | {sh2} | {} | {} | {share} |",
            p.name,
            k(n, m[0]),
            k(n, m[1]),
            k(n, m[2]),
            k(n, m[3]),
            m[2] / m[3],
            m[0] / m[1],
            ratios.0,
            ratios.1,
        );
    }
    println!(
        "\nseeds/s over shuttle's one Runner, 1 thread each: raw loop median {:.1}× (least {:.1}×), \
         check() median {:.1}× (least {:.1}×)",
        median(raw_over.clone()),
        raw_over.iter().copied().fold(f64::INFINITY, f64::min),
        median(check_over.clone()),
        check_over.iter().copied().fold(f64::INFINITY, f64::min),
    );
}
