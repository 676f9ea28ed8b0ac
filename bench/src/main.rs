//! `tulipsim-bench`: tulipsim against tokio's current-thread runtime with paused time, and
//! against a bare executor, in one run (`docs/performance.md`).
//!
//! ```text
//! cargo run --release -p tulipsim-bench             # the whole table, 5 repetitions each
//! cargo run --release -p tulipsim-bench -- --quick  # sizes / 10, 3 repetitions: a smoke run
//! cargo run --release -p tulipsim-bench -- --reps 9
//! ```
//!
//! Each workload runs on every side, repetitions interleaved (tokio, tulipsim FIFO, Random,
//! traced, then again), and the table gives medians. Checksums must agree across sides.

use std::process::Command;
use std::time::Instant;

use tulipsim_bench::workloads::on_tulipsim::{self, Explore, Mode};
use tulipsim_bench::workloads::{floor, on_tokio, Workload};

struct Options {
    reps: usize,
    scale: u64,
    /// `--only W9,W10`: just these rows of the first table (and nothing after it).
    only: Option<Vec<String>>,
    /// `--policies`: only the exploration-price table (every workload × every policy).
    policies_only: bool,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        reps: 5,
        scale: 1,
        only: None,
        policies_only: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => {
                o.reps = 3;
                o.scale = 10;
            }
            "--reps" => {
                o.reps = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .ok_or("--reps takes a positive number")?;
            }
            "--only" => {
                let list = args.next().ok_or("--only takes a list like W9,W10")?;
                o.only = Some(list.split(',').map(str::to_string).collect());
            }
            "--policies" => o.policies_only = true,
            "--scale" => {
                o.scale = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .ok_or("--scale takes a positive divisor of the sizes")?;
            }
            "--memory-child" => {
                let side = args
                    .next()
                    .ok_or("--memory-child takes a side and a count")?;
                let n = args.next().and_then(|n| n.parse().ok()).ok_or("a count")?;
                memory_child(&side, n);
                std::process::exit(0);
            }
            "--profile" => {
                // One workload on one side, for `valgrind --tool=callgrind` or `perf record`.
                let w = args
                    .next()
                    .ok_or("--profile takes W0..W7, W9 or W10 and a side")?;
                let side = args.next().ok_or(
                    "--profile takes a side: tokio|fifo|random|traced|policy:NAME [calibration]",
                )?;
                let calibration = args.next().and_then(|c| c.parse().ok());
                profile(&w, &side, calibration, o.scale)?;
                std::process::exit(0);
            }
            "-h" | "--help" => {
                println!(
                    "usage: tulipsim-bench [--quick] [--reps N] [--only W9,W10] [--policies]\n       \
                     tulipsim-bench [--scale N] --profile W0..W7|W4c|W9|W10 \
                     tokio|fifo|random|traced|policy:NAME [calibration]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(o)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn timed(f: impl FnOnce() -> u64) -> (f64, u64) {
    let started = Instant::now();
    let sum = f();
    (started.elapsed().as_secs_f64(), sum)
}

/// Median seconds of each side: tokio, then tulipsim in each mode.
struct Measured {
    tokio: f64,
    modes: Vec<(Mode, f64)>,
}

fn measure(w: Workload, modes: &[Mode], reps: usize) -> Measured {
    let mut tokio = Vec::new();
    let mut ours: Vec<Vec<f64>> = vec![Vec::new(); modes.len()];
    for _ in 0..reps {
        let (t, expected) = timed(|| on_tokio::run(w));
        tokio.push(t);
        for (i, &mode) in modes.iter().enumerate() {
            let (t, sum) = timed(|| on_tulipsim::run(w, mode).expect("the workload runs"));
            assert_eq!(
                sum, expected,
                "{w:?} in {mode:?}: checksums differ from tokio's"
            );
            ours[i].push(t);
        }
    }
    Measured {
        tokio: median(tokio),
        modes: modes
            .iter()
            .copied()
            .zip(ours.into_iter().map(median))
            .collect(),
    }
}

fn rate(units: u64, secs: f64) -> String {
    let r = units as f64 / secs;
    if r >= 1e6 {
        format!("{:.2} M/s", r / 1e6)
    } else {
        format!("{:.0} k/s", r / 1e3)
    }
}

fn main() {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("tulipsim-bench: {e}");
            std::process::exit(2);
        }
    };
    let s = o.scale;
    println!(
        "# tulipsim-bench: medians of {} repetitions{}\n",
        o.reps,
        if s > 1 { ", sizes / 10 (--quick)" } else { "" }
    );
    let table = workloads(s);
    if o.policies_only {
        exploration_price(&workloads(s * 100), o.reps, o.only.as_deref());
        return;
    }
    let modes = [Mode::Fifo, Mode::Random, Mode::Traced];
    println!("| workload | unit | tokio | tulipsim FIFO | × tokio | Random | Random cost | traced | trace cost |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut yield_fifo = 0.0;
    for &w in &table {
        let (name, unit) = w.label();
        let code = name.split(' ').next().unwrap_or(name);
        if o.only
            .as_ref()
            .is_some_and(|only| !only.iter().any(|c| c == code))
        {
            continue;
        }
        let m = measure(w, &modes, o.reps);
        let n = w.units();
        let fifo = m.modes[0].1;
        let (random, traced) = (m.modes[1].1, m.modes[2].1);
        if matches!(w, Workload::YieldStorm { .. }) {
            yield_fifo = fifo;
        }
        println!(
            "| {name} | {unit} | {} | {} | {:.2}× | {} | {:+.0}% | {} | {:.2}× |",
            rate(n, m.tokio),
            rate(n, fifo),
            m.tokio / fifo,
            rate(n, random),
            (random / fifo - 1.0) * 100.0,
            rate(n, traced),
            traced / fifo
        );
    }

    exploration_price(&workloads(s * 100), o.reps, o.only.as_deref());
    if o.only.is_some() {
        return;
    }
    let (tasks, yields) = (1_000, 1_000 / s);
    let floor_secs = median(
        (0..o.reps)
            .map(|_| {
                let (t, sum) = timed(|| floor::yield_storm(tasks, yields));
                assert_eq!(sum, tasks * yields);
                t
            })
            .collect(),
    );
    let steps = (tasks * yields) as f64;
    println!(
        "\nW0 floor (a bare VecDeque executor, the yield storm): {} ({:.1} ns a poll); \
         tulipsim FIFO {:.1} ns a step, {:.2}× the floor\n",
        rate(tasks * yields, floor_secs),
        floor_secs * 1e9 / steps,
        yield_fifo * 1e9 / steps,
        yield_fifo / floor_secs
    );

    println!("## W8 scaling: ns per task as the task count grows\n");
    println!("| workload | tasks | tokio ns/task | tulipsim ns/task | × tokio |");
    println!("|---|---|---|---|---|");
    for n in [1_000u64, 10_000, 100_000, 1_000_000] {
        let n = (n / s).max(100);
        for w in [Workload::SpawnJoin(n), Workload::Timers(n)] {
            let m = measure(w, &[Mode::Fifo], o.reps);
            println!(
                "| {} | {n} | {:.0} | {:.0} | {:.2}× |",
                w.label().0,
                m.tokio * 1e9 / n as f64,
                m.modes[0].1 * 1e9 / n as f64,
                m.tokio / m.modes[0].1
            );
        }
    }

    let pending = 1_000_000 / s;
    println!("\n## Memory: {pending} tasks pending on a sleep\n");
    let per_task = |side: &str| -> Option<f64> {
        let exe = std::env::current_exe().ok()?;
        let out = Command::new(exe)
            .args(["--memory-child", side, &pending.to_string()])
            .output()
            .ok()?;
        String::from_utf8(out.stdout).ok()?.trim().parse().ok()
    };
    match (per_task("tokio"), per_task("tulipsim")) {
        (Some(tokio), Some(ours)) => println!(
            "resident bytes per pending task: tokio {tokio:.0}, tulipsim {ours:.0} ({:.2}× tokio)",
            ours / tokio
        ),
        _ => println!("memory: could not read /proc/self/status (Linux only)"),
    }
}

/// The first table's workloads at scale `s` (1, or 10 for `--quick`).
fn workloads(s: u64) -> Vec<Workload> {
    vec![
        Workload::SpawnJoin(100_000 / s),
        Workload::YieldStorm {
            tasks: 1_000,
            yields: 1_000 / s,
        },
        Workload::Timers(100_000 / s),
        Workload::PingPong(1_000_000 / s),
        Workload::PingPongChannel(1_000_000 / s),
        Workload::Timeouts(100_000 / s),
        Workload::Cancellation(100_000 / s),
        Workload::TinyRuns(100_000 / s),
        Workload::ConcurrentWaitFor {
            tasks: 1_000,
            calls: 100 / s,
        },
        Workload::ConcurrentScopes {
            tasks: 1_000,
            calls: 100 / s,
        },
    ]
}

/// Issue #20, item 1: every workload under every seeded policy of the harness, each policy's
/// scheduler warmed as `check()` warms it, as a ratio of time to FIFO's (the same boxed
/// scheduler path, which `check()` uses for `Policy::Fifo`); and FIFO's own price over the
/// loop with no scheduler at all. Repetitions are interleaved; medians. The sizes are the first table's
/// / 100: PCT (and Portfolio, which gives seed 1 to PCT) scans every candidate per decision,
/// so W2 at full size would take minutes a run.
fn exploration_price(workloads: &[Workload], reps: usize, only: Option<&[String]>) {
    println!(
        "\n## Exploration's price: time as a multiple of FIFO's, sizes / 100 (medians of {reps})\n"
    );
    let names: Vec<String> = Explore::ALL.iter().map(|p| p.name()).collect();
    println!(
        "| workload | calibration (FIFO decisions) | no scheduler | FIFO | × no scheduler | {} | worst |",
        names[1..].join(" | ")
    );
    println!(
        "|---|---|---|---|---|{}---|",
        "---|".repeat(names.len() - 1)
    );
    for &w in workloads {
        let (name, _) = w.label();
        let code = name.split(' ').next().unwrap_or(name);
        if only.is_some_and(|only| !only.iter().any(|c| c == code)) {
            continue;
        }
        let calibration = on_tulipsim::fifo_decisions(w).expect("the workload runs");
        let mut secs: Vec<Vec<f64>> = vec![Vec::new(); Explore::ALL.len()];
        let mut plain = Vec::new();
        let mut expected = None;
        for _ in 0..reps {
            // The loop with no scheduler set (`EventLoop::new()`'s plain deque).
            let (t, sum) = timed(|| on_tulipsim::run(w, Mode::Fifo).expect("the workload runs"));
            assert_eq!(
                *expected.get_or_insert(sum),
                sum,
                "{w:?} without a scheduler"
            );
            plain.push(t);
            for (i, &policy) in Explore::ALL.iter().enumerate() {
                let mode = Mode::Policy {
                    policy,
                    calibration,
                };
                let (t, sum) = timed(|| on_tulipsim::run(w, mode).expect("the workload runs"));
                assert_eq!(*expected.get_or_insert(sum), sum, "{w:?} {policy:?}");
                secs[i].push(t);
            }
        }
        let med: Vec<f64> = secs.into_iter().map(median).collect();
        let ratios: Vec<f64> = med[1..].iter().map(|t| t / med[0]).collect();
        let worst = ratios.iter().copied().fold(0.0, f64::max);
        let plain = median(plain);
        println!(
            "| {name} | {calibration} | {} | {} | {:.2}× | {} | {worst:.2}× |",
            rate(w.units(), plain),
            rate(w.units(), med[0]),
            med[0] / plain,
            ratios
                .iter()
                .map(|r| format!("{r:.2}×"))
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
}

/// Runs one workload once on one side (the full size, or / `--scale`, which must come first). A `policy:NAME` side is warmed with
/// `calibration` (or with a FIFO run of the workload first, which callgrind then counts too).
fn profile(w: &str, side: &str, calibration: Option<u64>, scale: u64) -> Result<(), String> {
    if w == "W0" {
        floor::yield_storm(1_000, 1_000 / scale);
        return Ok(());
    }
    let Some(&w) = workloads(scale)
        .iter()
        .find(|x| x.label().0.split(' ').next() == Some(w))
    else {
        return Err(format!("no workload {w:?}: W0..W7, W4c, W9, W10"));
    };
    if side == "calibrate" {
        // The FIFO decision count that warms the learning policies, for a later
        // `--profile W policy:NAME CALIBRATION` that callgrind should not count it in.
        println!(
            "{}",
            on_tulipsim::fifo_decisions(w).map_err(|e| e.to_string())?
        );
        return Ok(());
    }
    let mode = match side {
        "tokio" => {
            on_tokio::run(w);
            return Ok(());
        }
        "fifo" => Mode::Fifo,
        "random" => Mode::Random,
        "traced" => Mode::Traced,
        other if other.starts_with("policy:") => {
            let policy = match other["policy:".len()..].parse::<tulipsim::Policy>()? {
                tulipsim::Policy::Fifo => Explore::Fifo,
                tulipsim::Policy::Random => Explore::Random,
                tulipsim::Policy::Chaos => Explore::Chaos,
                tulipsim::Policy::Pct(d) => Explore::Pct(d),
                tulipsim::Policy::Delay(b) => Explore::Delay(b),
                tulipsim::Policy::Portfolio => Explore::Portfolio,
                _ => return Err(format!("{other}: not a seeded policy")),
            };
            let calibration = match calibration {
                Some(c) => c,
                None => on_tulipsim::fifo_decisions(w).map_err(|e| e.to_string())?,
            };
            Mode::Policy {
                policy,
                calibration,
            }
        }
        other => {
            return Err(format!(
                "no side {other:?}: tokio|fifo|random|traced|policy:NAME"
            ))
        }
    };
    on_tulipsim::run(w, mode).map_err(|e| e.to_string())?;
    Ok(())
}

/// The resident set size in bytes, from `/proc/self/status`.
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// In a fresh process: prints the resident bytes per task with `n` tasks pending.
fn memory_child(side: &str, n: u64) {
    let before = rss_bytes().unwrap_or(0);
    let report = move || {
        let during = rss_bytes().unwrap_or(0);
        println!("{}", during.saturating_sub(before) as f64 / n as f64);
    };
    match side {
        "tokio" => on_tokio::pending(n, report),
        _ => on_tulipsim::pending(n, report).expect("the pending tasks run"),
    }
}
