//! `tulipsim-sim`: explore generated asyncio programs on tulipsim, replay a run, compare a
//! program against CPython 3.11, and export a run's trace.
//!
//! `cargo run -p tulipsim-sim -- --help` explains each command; `docs/scenarios.md` gives the
//! scenario file format.

use std::io::Write as _;
use std::ops::Range;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use tulipsim::scheduler::Schedule;
use tulipsim::{Policy, TraceLevel};
use tulipsim_sim::differential::{self, Verdict};
use tulipsim_sim::explore::{self, Explore, Faults, RunSpec, Source, Violation};
use tulipsim_sim::python::{self, Worker};

#[derive(Parser)]
#[command(
    name = "tulipsim-sim",
    version,
    about = "Explore generated asyncio programs on tulipsim, replay runs, compare with CPython 3.11",
    long_about = "Explore generated asyncio programs on tulipsim, replay runs, compare with CPython 3.11.\n\n\
        A SCENARIO is a JSON file (docs/scenarios.md gives the format) or random:K, the K-th \
        generated scenario (the same on every machine)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run scenarios over seeds under a policy, with faults, and check every run's invariants.
    /// Prints each violation with the command that replays it; exits 1 if there was one.
    Explore(ExploreArgs),
    /// Run one scenario with one seed and schedule; print its canonical trace, the loop's
    /// trace and any broken invariant (exit 1 if one broke).
    Replay(ReplayArgs),
    /// Run scenarios on tulipsim (FIFO) and on CPython 3.11 (python3) and compare their traces
    /// line for line. Exits 1 on a mismatch not explained by a documented difference.
    Diff(DiffArgs),
    /// Export one run's loop trace as text, JSON lines, Chrome trace events (open those in
    /// https://ui.perfetto.dev as a timeline of tasks), a Mermaid sequence diagram or an SVG
    /// timeline.
    Trace(TraceArgs),
    /// Print a scenario as JSON (to save it as a file) or as its Python program.
    Show(ShowArgs),
}

#[derive(Args)]
struct Scenarios {
    /// Scenario files or random:K names.
    scenarios: Vec<String>,
    /// Also take N random scenarios: random:FIRST .. random:FIRST+N-1.
    #[arg(long, value_name = "N")]
    random: Option<u64>,
    /// The first random scenario --random takes.
    #[arg(long, default_value_t = 0, value_name = "K")]
    first: u64,
}

impl Scenarios {
    fn sources(&self) -> Result<Vec<Source>, String> {
        let mut out: Vec<Source> = self
            .scenarios
            .iter()
            .map(|s| s.parse())
            .collect::<Result<_, _>>()?;
        if let Some(n) = self.random {
            out.extend((self.first..self.first.saturating_add(n)).map(Source::Random));
        }
        if out.is_empty() {
            return Err("no scenario: give files, random:K names, or --random N".into());
        }
        Ok(out)
    }
}

#[derive(Args, Clone, Copy)]
struct FaultArgs {
    /// Probability that a wait_for or timeout deadline fires at once.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    early_timeout: f64,
    /// Probability that a timer fires late (by up to 1 s).
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    timer_jitter: f64,
    /// Probability that a task is cancelled just before one of its steps.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    spurious_cancel: f64,
    /// Every fault above at probability P (a flag above overrides it).
    #[arg(long, value_name = "P")]
    faults: Option<f64>,
}

impl FaultArgs {
    fn faults(&self) -> Result<Faults, String> {
        let all = self.faults.unwrap_or(0.0);
        let pick = |p: f64| if p > 0.0 { p } else { all };
        let f = Faults {
            early_timeout: pick(self.early_timeout),
            timer_jitter: pick(self.timer_jitter),
            spurious_cancel: pick(self.spurious_cancel),
        };
        for p in [f.early_timeout, f.timer_jitter, f.spurious_cancel] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("a fault probability must be within 0..=1, not {p}"));
            }
        }
        Ok(f)
    }
}

#[derive(Args)]
struct ExploreArgs {
    #[command(flatten)]
    scenarios: Scenarios,
    /// Seeds to run each scenario with: A..B, or N for 0..N.
    #[arg(long, default_value = "0..100", value_parser = parse_seeds)]
    seeds: Range<u64>,
    /// Scheduling policy: fifo, random, chaos, pctN, delayN, portfolio.
    #[arg(long, default_value = "random", value_parser = parse_policy)]
    policy: Policy,
    #[command(flatten)]
    faults: FaultArgs,
    /// Run every seed twice and report runs that differ.
    #[arg(long)]
    determinism: bool,
    /// Worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Stop after this many violations.
    #[arg(long, default_value_t = 10)]
    max_violations: usize,
}

#[derive(Args)]
struct ReplayArgs {
    /// A scenario file or random:K.
    scenario: String,
    /// The run's seed (it seeds the faults).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The policy the schedule came from (only its eligibility rule matters: chaos or not).
    #[arg(long, default_value = "random", value_parser = parse_policy)]
    policy: Policy,
    /// The schedule: decision:index pairs, as a violation prints it ('' is FIFO).
    #[arg(long, default_value = "", value_parser = parse_schedule)]
    schedule: Schedule,
    #[command(flatten)]
    faults: FaultArgs,
}

#[derive(Args)]
struct DiffArgs {
    #[command(flatten)]
    scenarios: Scenarios,
    /// Worker threads, each with its own python3 (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Print every explained difference, not just the summary.
    #[arg(long)]
    verbose: bool,
    /// Stop after this many mismatches.
    #[arg(long, default_value_t = 5)]
    max_mismatches: usize,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// The loop's trace, one line per event.
    Text,
    /// One JSON object per event.
    Json,
    /// Chrome trace events, for Perfetto or chrome://tracing.
    Chrome,
    /// A Mermaid sequence diagram: one participant per task, plus the loop.
    Mermaid,
    /// A standalone SVG timeline: one lane per task.
    Svg,
}

#[derive(Args)]
struct TraceArgs {
    #[command(flatten)]
    run: ReplayArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    output: Option<std::path::PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum ShowAs {
    /// The scenario file format.
    Json,
    /// The CPython 3.11 asyncio program the differential test runs.
    Python,
    /// A regression file for sim/regressions/: the scenario, tulipsim's trace, and the verdict
    /// of comparing it with CPython (needs python3).
    Regression,
}

#[derive(Args)]
struct ShowArgs {
    /// A scenario file or random:K.
    scenario: String,
    /// What to print.
    #[arg(long = "as", value_enum, default_value_t = ShowAs::Json)]
    show_as: ShowAs,
    /// With --as regression: what the scenario shows.
    #[arg(long)]
    why: Option<String>,
}

fn parse_seeds(s: &str) -> Result<Range<u64>, String> {
    let bad = || format!("{s:?}: expected N or A..B");
    match s.split_once("..") {
        Some((a, b)) => {
            let r = a.trim().parse().map_err(|_| bad())?..b.trim().parse().map_err(|_| bad())?;
            if r.is_empty() {
                return Err(format!("{s:?} is an empty range"));
            }
            Ok(r)
        }
        None => Ok(0..s.trim().parse().map_err(|_| bad())?),
    }
}

fn parse_policy(s: &str) -> Result<Policy, String> {
    let p: Policy = s.parse()?;
    if matches!(p, Policy::DelayBounding(_)) {
        return Err("delay-bounding is an explorer of its own: use it from tulipsim::check".into());
    }
    Ok(p)
}

fn parse_schedule(s: &str) -> Result<Schedule, String> {
    s.parse()
        .map_err(|e: tulipsim::scheduler::ScheduleParseError| e.to_string())
}

fn threads(asked: Option<usize>, jobs: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    asked.unwrap_or(cores).clamp(1, jobs.max(1))
}

fn progress(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    let style = format!(
        "{{elapsed_precise}} [{{bar:40}}] {{pos}}/{{len}} {what} ({{per_sec}}, eta {{eta}})"
    );
    bar.set_style(
        ProgressStyle::with_template(&style)
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar
}

/// Runs `job` on every index of `0..n` on worker threads, each starting with its own state
/// from `init` (a Python worker, say) and taking the next index until none is left, `stop()`
/// says so, or an error came back. Shows a progress bar; prints and gives the errors.
fn in_parallel<S>(
    n: usize,
    threads_asked: Option<usize>,
    init: impl Fn() -> Result<S, String> + Sync,
    stop: impl Fn() -> bool + Sync,
    job: impl Fn(&mut S, usize, &ProgressBar) -> Result<(), String> + Sync,
) -> Vec<String> {
    let bar = progress(n as u64, "scenarios");
    let next = AtomicU64::new(0);
    let errors: Mutex<Vec<String>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads(threads_asked, n) {
            scope.spawn(|| {
                let mut state = match init() {
                    Ok(s) => s,
                    Err(e) => return errors.lock().unwrap().push(e),
                };
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    if i >= n || stop() || !errors.lock().unwrap().is_empty() {
                        break;
                    }
                    if let Err(e) = job(&mut state, i, &bar) {
                        errors.lock().unwrap().push(e);
                    }
                    bar.inc(1);
                }
            });
        }
    });
    bar.finish_and_clear();
    let errors = errors.into_inner().unwrap();
    for e in &errors {
        eprintln!("error: {e}");
    }
    errors
}

fn explore(args: ExploreArgs) -> Result<ExitCode, String> {
    let sources = args.scenarios.sources()?;
    let cfg = Explore {
        policy: args.policy.clone(),
        seeds: args.seeds.clone(),
        faults: args.faults.faults()?,
        determinism: args.determinism,
    };
    let started = Instant::now();
    let (runs, deadlocks) = (AtomicU64::new(0), AtomicU64::new(0));
    let found: Mutex<Vec<Violation>> = Mutex::new(Vec::new());
    let errors = in_parallel(
        sources.len(),
        args.threads,
        || Ok(()),
        || found.lock().unwrap().len() >= args.max_violations,
        |(), i, bar| {
            let scenario = sources[i].load()?;
            let out = cfg.scenario(&sources[i], &scenario);
            runs.fetch_add(out.runs, Ordering::Relaxed);
            deadlocks.fetch_add(out.deadlocks, Ordering::Relaxed);
            for v in out.violations {
                bar.suspend(|| println!("{v}\n"));
                found.lock().unwrap().push(v);
            }
            Ok(())
        },
    );
    let found = found.into_inner().unwrap();
    let runs = runs.into_inner();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "explored {} scenario(s) x seeds {:?} under {}{}: {runs} runs in {secs:.1} s ({:.0} runs/s), \
         {} deadlocked (allowed), {} violation(s)",
        sources.len(),
        cfg.seeds,
        cfg.policy.name(),
        if cfg.faults.flags().is_empty() { String::new() } else { format!(" with{}", cfg.faults.flags()) },
        runs as f64 / secs.max(1e-9),
        deadlocks.into_inner(),
        found.len()
    );
    Ok(if found.is_empty() && errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn load(scenario: &str) -> Result<(Source, tulipsim_sim::scenario::Scenario), String> {
    let source: Source = scenario.parse()?;
    let s = source.load()?;
    Ok((source, s))
}

fn replay_run(args: &ReplayArgs, trace: TraceLevel) -> Result<tulipsim_sim::interp::Run, String> {
    let (source, scenario) = load(&args.scenario)?;
    let spec = RunSpec {
        source,
        seed: args.seed,
        policy: args.policy.clone(),
        faults: args.faults.faults()?,
    };
    Ok(explore::replay(&scenario, &spec, &args.schedule, trace))
}

fn replay(args: ReplayArgs) -> Result<ExitCode, String> {
    let run = replay_run(&args, TraceLevel::Full)?;
    println!("# canonical trace");
    for line in &run.lines {
        println!("{line}");
    }
    println!(
        "\n# loop trace ({} decisions, schedule '{}')",
        run.decisions, run.schedule
    );
    print!("{}", run.trace);
    if let Some(d) = &run.divergence {
        println!("\nthe replay diverged: {d}");
    }
    let problems = explore::problems(&run);
    if problems.is_empty() {
        println!("\nevery invariant held");
        return Ok(ExitCode::SUCCESS);
    }
    println!("\n{} broken invariant(s):", problems.len());
    for p in problems {
        println!("  - {p}");
    }
    Ok(ExitCode::FAILURE)
}

fn diff(args: DiffArgs) -> Result<ExitCode, String> {
    let sources = args.scenarios.sources()?;
    let started = Instant::now();
    let matched = AtomicU64::new(0);
    let explained: Mutex<std::collections::BTreeMap<&'static str, u64>> = Mutex::default();
    let mismatches = AtomicU64::new(0);
    let errors = in_parallel(
        sources.len(),
        args.threads,
        || Worker::start().map_err(|e| e.to_string()),
        || mismatches.load(Ordering::Relaxed) >= args.max_mismatches as u64,
        |worker, i, bar| {
            let source = &sources[i];
            let scenario = source.load()?;
            let verdict =
                differential::compare(worker, &scenario).map_err(|e| format!("{source}: {e}"))?;
            match verdict {
                Verdict::Match => {
                    matched.fetch_add(1, Ordering::Relaxed);
                }
                Verdict::Explained(d, m) => {
                    *explained.lock().unwrap().entry(d.name()).or_default() += 1;
                    if args.verbose || sources.len() == 1 {
                        bar.suspend(|| println!("{source}: explained ({}):\n{m}", d.name()));
                    }
                    if sources.len() == 1 {
                        if let Some(s) = differential::shrink(worker, &m.scenario) {
                            let json = s.scenario.to_json();
                            println!("shrunk scenario, explained the same way:\n{json}");
                        }
                    }
                }
                Verdict::Mismatch(m) => {
                    mismatches.fetch_add(1, Ordering::Relaxed);
                    let shrunk = differential::shrink(worker, &m.scenario);
                    bar.suspend(|| {
                        println!("{source}: MISMATCH\n{m}");
                        if let Some(s) = shrunk {
                            println!("shrunk scenario:\n{}\n{s}", s.scenario.to_json());
                        }
                    });
                }
            }
            Ok(())
        },
    );
    let explained = explained.into_inner().unwrap();
    let mismatches = mismatches.into_inner();
    let compared = matched.load(Ordering::Relaxed) + explained.values().sum::<u64>() + mismatches;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "compared {compared} scenario(s) with CPython in {secs:.1} s: {} identical, {} explained, {mismatches} mismatched",
        matched.into_inner(),
        explained.values().sum::<u64>()
    );
    for (name, n) in &explained {
        println!("  explained by {name}: {n}");
    }
    Ok(if mismatches == 0 && errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn trace(args: TraceArgs) -> Result<ExitCode, String> {
    let run = replay_run(&args.run, TraceLevel::Full)?;
    let text = match args.format {
        Format::Text => run.trace.to_string(),
        Format::Json => run.trace.to_json_lines(),
        Format::Chrome => run.trace.to_chrome_json(),
        Format::Mermaid => run.trace.to_mermaid(),
        Format::Svg => run.trace.to_svg(),
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, text)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            eprintln!("wrote {} ({} events)", path.display(), run.trace.len());
        }
        None => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show(args: ShowArgs) -> Result<ExitCode, String> {
    let (source, scenario) = load(&args.scenario)?;
    match args.show_as {
        ShowAs::Json => print!("{}", scenario.to_json()),
        ShowAs::Python => print!("{}", python::emit(&scenario)),
        ShowAs::Regression => {
            let mut worker = Worker::start().map_err(|e| e.to_string())?;
            let verdict =
                differential::compare(&mut worker, &scenario).map_err(|e| e.to_string())?;
            let mut why = args.why.clone().unwrap_or_else(|| "why it is kept".into());
            if let Source::Random(_) = source {
                why += &format!(" ({source})");
            }
            print!(
                "{}",
                differential::Regression::record(&why, &scenario, verdict.name()).to_json()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Explore(a) => explore(a),
        Command::Replay(a) => replay(a),
        Command::Diff(a) => diff(a),
        Command::Trace(a) => trace(a),
        Command::Show(a) => show(a),
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })
}
