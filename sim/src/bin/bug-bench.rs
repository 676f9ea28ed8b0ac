//! `bug-bench`: how fast each scheduling policy finds each planted bug (`tulipsim_sim::bugs`).
//!
//! `cargo run --release -p tulipsim-sim --bin bug-bench [-- N]` runs every program under every
//! policy for N seeds (default 10,000) and prints, per program and policy, the share of failing
//! runs, the runs to the first failure and the wall time per schedule; beside them, the exact
//! failure share under Random (every schedule enumerated), the iterative delay-bounding
//! explorer's executions and counterexample size, and PCT's guarantee 1/(n·k^(d-1)).
//! `docs/bug-finding.md` has a run's table.

use std::time::Instant;

use rand::{RngCore, SeedableRng};
use tulipsim::scheduler::{Bytes, ChoicePoint, FaultKind, FaultRng, Fifo, Scheduler};
use tulipsim::trace::Event;
use tulipsim::{check, exhaustive, EventLoop, LoopConfig, Policy, TraceLevel};
use tulipsim_sim::bugs::{self, Program};

/// The `Bytes` policy fed with random bytes drawn from the run's seed: what a fuzzer's first,
/// unguided inputs look like.
struct RandomBytes(Bytes);

impl Scheduler for RandomBytes {
    fn name(&self) -> String {
        "bytes".into()
    }
    fn begin_run(&mut self, seed: u64) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut data = vec![0u8; 512];
        rng.fill_bytes(&mut data);
        self.0 = Bytes::new(data);
    }
    fn choose(&mut self, point: &ChoicePoint<'_>) -> usize {
        self.0.choose(point)
    }
    fn fault(&mut self, kind: FaultKind, p: f64, rng: &mut FaultRng) -> bool {
        self.0.fault(kind, p, rng)
    }
}

fn policies() -> Vec<Policy> {
    vec![
        Policy::Fifo,
        Policy::Random,
        Policy::Pct(1),
        Policy::Pct(2),
        Policy::Pct(3),
        Policy::Delay(2),
        Policy::Portfolio,
        Policy::Custom(std::sync::Arc::new(|| {
            Box::new(RandomBytes(Bytes::default()))
        })),
    ]
}

/// Tasks and decisions of the FIFO run: PCT's n and k.
fn pct_n_k(p: &Program) -> (u64, u64) {
    let lp = EventLoop::with_config(LoopConfig::default().trace(TraceLevel::Full));
    lp.set_scheduler(Fifo);
    let _ = lp.run_until_complete((p.body)());
    let n = lp
        .trace()
        .records()
        .iter()
        .filter(|r| matches!(r.event, Event::Spawned { .. }))
        .count();
    let k = lp.decisions();
    let _ = lp.close();
    let _ = lp.take_reports();
    (n as u64, k)
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    println!("# bug-bench: {n} seeds per program and policy\n");
    println!("| program | policy | failing share | runs to first failure | µs per schedule |");
    println!("|---|---|---|---|---|");
    let mut notes = Vec::new();
    for p in bugs::all() {
        let e = exhaustive(p.body).limit(1_000_000).run();
        let (tasks, k) = pct_n_k(&p);
        for policy in policies() {
            let name = policy.name();
            let started = Instant::now();
            let survey = check(p.body)
                .policy(policy)
                .seeds(0..n)
                .ignore_env()
                .survey()
                .expect("a seeded policy");
            let per = started.elapsed().as_secs_f64() * 1e6 / survey.runs.max(1) as f64;
            let first = survey
                .runs_to_first_failure(0)
                .map_or("never".to_string(), |r| r.to_string());
            println!(
                "| {} | {name} | {:.4} | {first} | {per:.1} |",
                p.name,
                survey.failure_share()
            );
        }
        let started = Instant::now();
        let idb = check(p.body)
            .policy(Policy::DelayBounding(3))
            .ignore_env()
            .minimize(false)
            .outcome();
        let secs = started.elapsed().as_secs_f64();
        let idb = match idb {
            Ok(s) => format!("no failure in {} executions", s.runs),
            Err(f) => format!(
                "failure at execution {}, {} delay(s)",
                f.run_number(),
                f.schedule.len()
            ),
        };
        println!(
            "| {} | delay-bounding (≤3 delays) | | {idb} | {:.1} total |",
            p.name,
            secs * 1e6
        );
        let bounds: Vec<String> = (1..=3u32)
            .map(|d| {
                format!(
                    "d={d}: {:.2e}",
                    1.0 / (tasks as f64 * (k.max(1) as f64).powi(d as i32 - 1))
                )
            })
            .collect();
        notes.push(format!(
            "- `{}` ({}; oracle: {}): {} schedules, {} failing; exact failing share under Random {:.4}; \
             PCT n = {tasks} tasks, k = {k} decisions, bound {}",
            p.name,
            if p.bug { "bug" } else { "control" },
            p.oracle,
            e.schedules,
            e.failing,
            e.failure_probability,
            bounds.join(", ")
        ));
    }
    println!("\n## Exact shares and PCT bounds\n");
    for note in notes {
        println!("{note}");
    }
}
