//! `vs-shuttle`: the planted bugs of `tulipsim_sim::bugs` on tulipsim and on shuttle, side by
//! side, in one run.
//!
//! `cargo run --release -p tulipsim-bench --bin vs-shuttle [-- N]` (N seeds, default 10,000).
//! For each program, and for Random and PCT depth 1-3 on each tool, it prints:
//!
//! - the share of failing seeds over N seeds (one schedule per seed; shuttle's PCT needs two per
//!   seed, since it spends its first on a calibration);
//! - schedules to the first failure in each tool's own normal use: tulipsim's `check()` over
//!   seeds 0.., shuttle's one `Runner` over many iterations (as `check_random` / `check_pct`);
//! - wall time per schedule of the N-seed sweep, on one thread for both.
//!
//! Then the pure cost of a schedule, without failures: the two controls for N schedules, in one
//! tulipsim sweep and one shuttle `Runner`. `docs/bug-finding.md` has a run's table.

use std::time::Instant;

use shuttle::scheduler::{PctScheduler, RandomScheduler};
use tulipsim::{check, Policy};
use tulipsim_bench::shuttle_bugs;
use tulipsim_sim::bugs;

struct Row {
    share: f64,
    first: Option<u64>,
    us_per_schedule: f64,
}

fn tulipsim_row(p: &bugs::Program, policy: Policy, n: u64) -> Row {
    let started = Instant::now();
    let survey = check(p.body)
        .policy(policy.clone())
        .seeds(0..n)
        .threads(1)
        .ignore_env()
        .survey()
        .expect("a seeded policy");
    let us = started.elapsed().as_secs_f64() * 1e6 / n as f64;
    Row {
        share: survey.failure_share(),
        first: survey.runs_to_first_failure(0),
        us_per_schedule: us,
    }
}

fn shuttle_row(p: &shuttle_bugs::Program, depth: Option<usize>, n: u64) -> Row {
    let started = Instant::now();
    let failing = (0..n)
        .filter(|&seed| match depth {
            None => shuttle_bugs::fails_random(p, seed),
            Some(d) => shuttle_bugs::fails_pct(p, seed, d),
        })
        .count();
    let schedules = n * if depth.is_some() { 2 } else { 1 };
    let us = started.elapsed().as_secs_f64() * 1e6 / schedules as f64;
    let iterations = n as usize;
    let (ran, failed) = match depth {
        None => shuttle_bugs::run(p, RandomScheduler::new_from_seed(0, iterations)),
        Some(d) => shuttle_bugs::run(p, PctScheduler::new_from_seed(0, d, iterations)),
    };
    Row {
        share: failing as f64 / n as f64,
        first: failed.then_some(ran),
        us_per_schedule: us,
    }
}

fn cell(r: &Row) -> String {
    let first = r.first.map_or("never".into(), |f| f.to_string());
    format!("{:.4} | {first} | {:.1}", r.share, r.us_per_schedule)
}

fn main() {
    if let Some(name) = std::env::args().skip_while(|a| a != "--profile").nth(1) {
        // One tulipsim sweep of 10,000 Random seeds, for `valgrind --tool=callgrind`.
        let p = bugs::find(&name).expect("a program of tulipsim_sim::bugs");
        tulipsim_row(&p, Policy::Random, 10_000);
        return;
    }
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    println!("# vs-shuttle: {n} seeds per program and scheduler, one thread each\n");
    println!(
        "| program | scheduler | tulipsim share | first | µs/schedule | shuttle share | first | µs/schedule | time ratio |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut ratios = Vec::new();
    for p in bugs::all() {
        let s = shuttle_bugs::find(p.name).expect("every program has a shuttle translation");
        let kinds = [
            ("random", Policy::Random, None),
            ("pct1", Policy::Pct(1), Some(1)),
            ("pct2", Policy::Pct(2), Some(2)),
            ("pct3", Policy::Pct(3), Some(3)),
        ];
        for (name, policy, depth) in kinds {
            let t = tulipsim_row(&p, policy, n);
            let sh = shuttle_row(&s, depth, n);
            let ratio = sh.us_per_schedule / t.us_per_schedule;
            ratios.push(ratio);
            println!(
                "| {} | {name} | {} | {} | {ratio:.1}× |",
                p.name,
                cell(&t),
                cell(&sh)
            );
        }
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "\nshuttle's time per schedule over tulipsim's: median {:.1}×, least {:.1}×\n",
        ratios[ratios.len() / 2],
        ratios[0]
    );

    println!("## A schedule's cost without failures: {n} schedules of each control\n");
    println!("| program | tulipsim µs/schedule (Random sweep) | shuttle µs/schedule (one Runner) | ratio |");
    println!("|---|---|---|---|");
    for p in bugs::all().into_iter().filter(|p| !p.bug) {
        let s = shuttle_bugs::find(p.name).unwrap();
        let t = tulipsim_row(&p, Policy::Random, n);
        let started = Instant::now();
        let (ran, failed) = shuttle_bugs::run(&s, RandomScheduler::new_from_seed(0, n as usize));
        assert!(
            !failed && ran == n,
            "{}: the control failed on shuttle",
            p.name
        );
        let us = started.elapsed().as_secs_f64() * 1e6 / n as f64;
        println!(
            "| {} | {:.2} | {us:.2} | {:.1}× |",
            p.name,
            t.us_per_schedule,
            us / t.us_per_schedule
        );
    }
}
