//! Exploring a scenario's schedules: run it over seeds under a policy, with faults, and check
//! every run's [invariants](crate::invariants). A violation comes back with its shrunk
//! schedule and the `tulipsim-sim replay` command that shows it again.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;
use std::str::FromStr;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use tulipsim::harness::{shrink_schedule, warm_up_length};
use tulipsim::scheduler::{Replay, Schedule, Scheduler};
use tulipsim::{FaultConfig, Policy, TraceLevel};

use crate::generate;
use crate::interp::{self, Ending, Run, RunOptions};
use crate::scenario::Scenario;

/// Where a scenario comes from: a JSON file, or the `k`-th random scenario (`random:K`), which
/// is the same on every machine.
///
/// ```
/// use tulipsim_sim::explore::Source;
/// let s: Source = "random:17".parse().unwrap();
/// assert_eq!(s, Source::Random(17));
/// assert_eq!(s.load().unwrap(), Source::Random(17).load().unwrap());
/// assert_eq!("cases/a.json".parse::<Source>().unwrap().to_string(), "cases/a.json");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A scenario file (JSON; `docs/scenarios.md` has the schema).
    File(PathBuf),
    /// The random scenario with this number.
    Random(u64),
}

impl Source {
    /// The scenario.
    pub fn load(&self) -> Result<Scenario, String> {
        match self {
            Source::Random(k) => Ok(random_scenario(*k)),
            Source::File(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                Scenario::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
            }
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(p) => write!(f, "{}", p.display()),
            Source::Random(k) => write!(f, "random:{k}"),
        }
    }
}

impl FromStr for Source {
    type Err = String;

    fn from_str(s: &str) -> Result<Source, String> {
        match s.strip_prefix("random:") {
            Some(k) => k
                .parse()
                .map(Source::Random)
                .map_err(|_| format!("{s:?}: write random:K with K a number")),
            None => Ok(Source::File(PathBuf::from(s))),
        }
    }
}

/// The `k`-th random scenario: [`generate::scenario`] drawn from a ChaCha stream seeded by `k`.
///
/// ```
/// let a = tulipsim_sim::explore::random_scenario(3);
/// assert_eq!(a, tulipsim_sim::explore::random_scenario(3));
/// ```
pub fn random_scenario(k: u64) -> Scenario {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&k.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed);
    thread_local! {
        // Building the recursive strategy, and proptest's default config (it reads the
        // environment), cost more than drawing a scenario: make them once per thread.
        static STRATEGY: (proptest::strategy::BoxedStrategy<Scenario>, Config) =
            (generate::scenario(), Config::default());
    }
    STRATEGY.with(|(s, config)| {
        let mut runner = TestRunner::new_with_rng(config.clone(), rng);
        s.new_tree(&mut runner)
            .expect("the scenario strategy never rejects")
            .current()
    })
}

/// The faults an exploration injects, as the CLI's flags give them.
///
/// ```
/// use tulipsim_sim::explore::Faults;
/// let f = Faults { early_timeout: 0.1, ..Faults::default() };
/// assert_eq!(f.flags(), " --early-timeout 0.1");
/// assert!(f.config().is_active());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Faults {
    /// Probability that a `wait_for` or `timeout` deadline fires at once.
    pub early_timeout: f64,
    /// Probability that a timer fires late (by up to 1 s).
    pub timer_jitter: f64,
    /// Probability that a task is cancelled before one of its steps.
    pub spurious_cancel: f64,
}

impl Faults {
    /// The loop's fault configuration.
    pub fn config(&self) -> FaultConfig {
        FaultConfig::default()
            .early_timeout(self.early_timeout)
            .timer_jitter(self.timer_jitter, 1.0)
            .spurious_cancel(self.spurious_cancel)
    }

    /// The command-line flags that give these faults (empty for none).
    pub fn flags(&self) -> String {
        let mut out = String::new();
        for (flag, p) in [
            ("--early-timeout", self.early_timeout),
            ("--timer-jitter", self.timer_jitter),
            ("--spurious-cancel", self.spurious_cancel),
        ] {
            if p > 0.0 {
                out.push_str(&format!(" {flag} {p}"));
            }
        }
        out
    }
}

/// One run's coordinates: enough to run it again.
#[derive(Clone, Debug)]
pub struct RunSpec {
    /// Where the scenario comes from.
    pub source: Source,
    /// The run's seed.
    pub seed: u64,
    /// The policy whose schedule it followed (for the eligibility rule when replaying).
    pub policy: Policy,
    /// The faults.
    pub faults: Faults,
}

impl RunSpec {
    /// The command that replays this run with `schedule`.
    ///
    /// ```
    /// use tulipsim_sim::explore::{Faults, RunSpec, Source};
    /// let spec = RunSpec { source: Source::Random(4), seed: 9, policy: tulipsim::Policy::Random, faults: Faults::default() };
    /// assert_eq!(
    ///     spec.replay_command(&"3:1".parse().unwrap()),
    ///     "cargo run -p tulipsim-sim -- replay random:4 --seed 9 --policy random --schedule '3:1'"
    /// );
    /// ```
    pub fn replay_command(&self, schedule: &Schedule) -> String {
        format!(
            "cargo run -p tulipsim-sim -- replay {} --seed {} --policy {} --schedule '{schedule}'{}",
            self.source,
            self.seed,
            self.policy.name(),
            self.faults.flags()
        )
    }
}

/// A run that broke an invariant.
#[derive(Clone, Debug)]
pub struct Violation {
    /// The run.
    pub spec: RunSpec,
    /// What broke, one message per invariant.
    pub messages: Vec<String>,
    /// The run's schedule.
    pub schedule: Schedule,
    /// A shorter schedule that still breaks an invariant, if shrinking found one.
    pub shrunk: Option<Schedule>,
}

impl Violation {
    /// The shortest schedule known to break the invariant.
    pub fn best_schedule(&self) -> &Schedule {
        self.shrunk.as_ref().unwrap_or(&self.schedule)
    }

    /// The command that replays it.
    pub fn replay_command(&self) -> String {
        self.spec.replay_command(self.best_schedule())
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "violation in {} (seed {}, policy {}):",
            self.spec.source,
            self.spec.seed,
            self.spec.policy.name()
        )?;
        for m in &self.messages {
            writeln!(f, "  - {m}")?;
        }
        writeln!(
            f,
            "  schedule: '{}' ({} deviations)",
            self.schedule,
            self.schedule.len()
        )?;
        if let Some(s) = &self.shrunk {
            writeln!(f, "  shrunk to: '{s}' ({} deviations)", s.len())?;
        }
        write!(f, "  replay: {}", self.replay_command())
    }
}

/// What a run broke: its invariant violations, plus a runaway, a panic or a leak.
pub fn problems(run: &Run) -> Vec<String> {
    let mut out = run.violations.clone();
    match &run.ending {
        Ending::Runaway(e) => out.push(format!("runaway: {e}")),
        Ending::Panic(e) => out.push(format!("tulipsim panicked: {e}")),
        Ending::Finished | Ending::Deadlock => {}
    }
    if run.leaked > 0 {
        out.push(format!(
            "leak: {} reference(s) to the program outlived its closed loop",
            run.leaked
        ));
    }
    out
}

/// Runs `scenario` once as `spec` says, following `scheduler` (FIFO if `None`).
pub fn run_with(
    scenario: &Scenario,
    spec: &RunSpec,
    scheduler: Option<Box<dyn Scheduler>>,
    trace: TraceLevel,
) -> Run {
    interp::run(
        scenario,
        RunOptions {
            seed: spec.seed,
            scheduler,
            faults: spec.faults.config(),
            trace,
        },
    )
}

/// Replays `schedule` for `spec`.
pub fn replay(scenario: &Scenario, spec: &RunSpec, schedule: &Schedule, trace: TraceLevel) -> Run {
    let replay = Replay::new(schedule.clone()).with_eligibility(spec.policy.eligibility());
    run_with(scenario, spec, Some(Box::new(replay)), trace)
}

/// How an exploration of one scenario went.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Runs made.
    pub runs: u64,
    /// Runs that ended in a deadlock (allowed: a scenario may await a future nobody sets).
    pub deadlocks: u64,
    /// Violations found (at most one per seed).
    pub violations: Vec<Violation>,
}

/// An exploration's settings.
#[derive(Clone, Debug)]
pub struct Explore {
    /// The policy.
    pub policy: Policy,
    /// The seeds (a FIFO exploration runs one).
    pub seeds: Range<u64>,
    /// The faults.
    pub faults: Faults,
    /// Run each seed twice and report a difference as a violation.
    pub determinism: bool,
}

impl Explore {
    /// Explores `scenario` (from `source`) over the seeds.
    ///
    /// ```
    /// use tulipsim_sim::explore::{Explore, Faults, Source};
    /// let e = Explore { policy: tulipsim::Policy::Random, seeds: 0..20, faults: Faults::default(), determinism: true };
    /// let s = Source::Random(1);
    /// let out = e.scenario(&s, &s.load().unwrap());
    /// assert_eq!(out.runs, 40);
    /// assert!(out.violations.is_empty());
    /// ```
    pub fn scenario(&self, source: &Source, scenario: &Scenario) -> Outcome {
        let mut out = Outcome::default();
        let spec = |seed| RunSpec {
            source: source.clone(),
            seed,
            policy: self.policy.clone(),
            faults: self.faults,
        };
        // Calibration through `check`'s own path: a seed's run does not depend on the range,
        // and with faults on the run length is learnt from 16 seeds' FIFO runs, since a fault
        // can add the very decisions a bug needs (this copy had missed that fix).
        let calibration = warm_up_length(&self.policy, self.faults.config().is_active(), |seed| {
            run_with(scenario, &spec(seed), None, TraceLevel::Off).decisions
        });
        let seeds = if matches!(self.policy, Policy::Fifo) {
            self.seeds.start..self.seeds.start.saturating_add(1).min(self.seeds.end)
        } else {
            self.seeds.clone()
        };
        for seed in seeds {
            let spec = spec(seed);
            let scheduler = || Some(self.policy.warmed_scheduler(calibration));
            let run = run_with(scenario, &spec, scheduler(), TraceLevel::Off);
            out.runs += 1;
            out.deadlocks += u64::from(run.ending == Ending::Deadlock);
            let mut messages = problems(&run);
            if self.determinism {
                out.runs += 1;
                let again = run_with(scenario, &spec, scheduler(), TraceLevel::Off);
                if again.lines != run.lines || again.schedule != run.schedule {
                    messages.push("the same seed gave two different runs".to_string());
                }
            }
            if messages.is_empty() {
                continue;
            }
            let shrunk = shrink_schedule(&run.schedule, |candidate| {
                let r = replay(scenario, &spec, candidate, TraceLevel::Off);
                (!problems(&r).is_empty()).then_some((r.schedule, ()))
            })
            .map(|(s, ())| s);
            out.violations.push(Violation {
                spec,
                messages,
                schedule: run.schedule,
                shrunk,
            });
        }
        out
    }
}
