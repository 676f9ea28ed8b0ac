//! What a check says: a summary, or a failure report with the command that replays it.

use std::fmt;
use std::panic::Location;

use super::run::{RunResult, Signature};
use crate::scheduler::Schedule;
use crate::trace::Trace;

/// A check that passed: how many runs, and how many decisions they made in all.
///
/// ```
/// let s = tulipsim::check(|| async { Ok(()) }).seeds(0..3)
///     .policy(tulipsim::Policy::Random).ignore_env().outcome().unwrap();
/// assert_eq!(s.runs, 3);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Runs made (twice the seeds with the determinism check on).
    pub runs: u64,
    /// Decisions made across the runs.
    pub decisions: u64,
}

/// What [`Check::survey`](crate::Check::survey) found: how many seeds ran, and which failed.
///
/// ```
/// use std::{cell::Cell, rc::Rc};
/// use tulipsim::{check, create_task, gather, sleep, Policy};
/// let lost_update = || async {
///     let n = Rc::new(Cell::new(0));
///     let bump = |n: Rc<Cell<u32>>| async move {
///         let v = n.get();
///         sleep(0).await?;
///         n.set(v + 1);
///         Ok(())
///     };
///     gather(vec![create_task(bump(n.clone()))?, create_task(bump(n.clone()))?]).await?;
///     assert_eq!(n.get(), 2, "an update was lost");
///     Ok(())
/// };
/// let survey = check(lost_update).policy(Policy::Random).seeds(0..100).ignore_env().survey().unwrap();
/// assert_eq!(survey.runs, 100);
/// assert!(!survey.failing_seeds.is_empty() && survey.failing_seeds.len() < 100);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Survey {
    /// Runs made (one per seed).
    pub runs: u64,
    /// The seeds whose run failed, in order.
    pub failing_seeds: Vec<u64>,
    /// For each failing seed (in the same order), how it failed.
    pub failures: Vec<SeedFailure>,
}

/// How one seed of a [`Survey`] failed: its kind ([`Signature::kind`]: `panic`, `error`,
/// `deadlock`, `limit`, `starvation`, `unretrieved`, `hang`, ...) and its message.
///
/// ```
/// use tulipsim::{check, Error, Policy};
/// let s = check(|| async { Err::<(), _>(Error::msg("no")) })
///     .policy(Policy::Random).seeds(0..2).ignore_env().survey().unwrap();
/// assert_eq!(s.failures[0].seed, 0);
/// assert_eq!(s.failures[0].signature.kind(), "error");
/// assert!(s.failures[0].message.contains("no"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedFailure {
    /// The seed.
    pub seed: u64,
    /// How it failed.
    pub signature: Signature,
    /// What went wrong, as a failure report's `failure:` line says it.
    pub message: String,
}

impl Survey {
    /// The share of runs that failed.
    ///
    /// ```
    /// let s = tulipsim::Survey { runs: 4, failing_seeds: vec![2], ..Default::default() };
    /// assert_eq!(s.failure_share(), 0.25);
    /// ```
    pub fn failure_share(&self) -> f64 {
        self.failing_seeds.len() as f64 / self.runs.max(1) as f64
    }

    /// How many runs until the first failure (the first failing seed's position, from 1), if
    /// any failed.
    ///
    /// ```
    /// let s = tulipsim::Survey { runs: 4, failing_seeds: vec![2, 3], ..Default::default() };
    /// assert_eq!(s.runs_to_first_failure(0), Some(3));
    /// ```
    pub fn runs_to_first_failure(&self, first_seed: u64) -> Option<u64> {
        self.failing_seeds.first().map(|s| s - first_seed + 1)
    }
}

/// The test a check runs in, to print a command that reruns just it.
#[derive(Clone, Debug)]
pub(crate) struct TestName {
    /// `--test NAME`, `--lib`, `--example NAME`, or nothing when unknown.
    target: Option<String>,
    /// The libtest test path (its thread name), if running under libtest.
    name: Option<String>,
}

impl TestName {
    pub(crate) fn capture(site: &'static Location<'static>) -> TestName {
        let file = site.file().replace('\\', "/");
        let stem = |prefix: &str| {
            file.find(prefix).map(|i| {
                let rest = &file[i + prefix.len()..];
                let first = rest.split('/').next().unwrap_or(rest);
                first.trim_end_matches(".rs").to_string()
            })
        };
        let target = if let Some(t) = stem("tests/") {
            Some(format!("--test {t}"))
        } else if let Some(e) = stem("examples/") {
            Some(format!("--example {e}"))
        } else if file.contains("src/") {
            Some("--lib".to_string())
        } else {
            None
        };
        let name = std::thread::current()
            .name()
            .filter(|n| *n != "main")
            .map(str::to_string);
        TestName { target, name }
    }
}

/// A failing run, as a check reports it: what failed, how to replay it, its shrunk schedule,
/// and the tail of its trace. Its `Display` is the report a failing test prints.
///
/// ```
/// use std::{cell::Cell, rc::Rc};
/// use tulipsim::{check, create_task, gather, sleep, Policy};
/// let lost_update = || async {
///     let n = Rc::new(Cell::new(0));
///     let bump = |n: Rc<Cell<u32>>| async move {
///         let v = n.get();
///         sleep(0).await?;
///         n.set(v + 1);
///         Ok(())
///     };
///     gather(vec![create_task(bump(n.clone()))?, create_task(bump(n.clone()))?]).await?;
///     assert_eq!(n.get(), 2, "an update was lost");
///     Ok(())
/// };
/// let failure = check(lost_update).policy(Policy::Random).seeds(0..100).ignore_env();
/// let failure = failure.outcome().unwrap_err();
/// assert!(failure.message.contains("an update was lost"));
/// assert!(failure.to_string().contains("replay"));
/// ```
#[derive(Clone, Debug)]
pub struct Failure {
    /// The seed of the failing run.
    pub seed: u64,
    /// The policy it ran under.
    pub policy: String,
    pub(crate) index: usize,
    pub(crate) total: usize,
    /// What went wrong (a panic, an error the program returned, a deadlock, a limit).
    pub message: String,
    /// How it went wrong, for comparing failures.
    pub signature: Signature,
    /// The failing run's choices.
    pub schedule: Schedule,
    pub(crate) decisions: u64,
    pub(crate) time: f64,
    /// The failing run's trace.
    pub trace: Trace,
    pub(crate) divergence: Option<String>,
    /// A shorter schedule failing the same way, and its trace, if minimisation found one.
    pub minimized: Option<(Schedule, Trace)>,
    pub(crate) test: TestName,
}

impl Failure {
    pub(crate) fn config(message: String) -> Failure {
        Failure {
            seed: 0,
            policy: String::new(),
            index: 0,
            total: 0,
            message: format!("bad configuration: {message}"),
            signature: Signature::Error("configuration".into()),
            schedule: Schedule::fifo(),
            decisions: 0,
            time: 0.0,
            trace: Trace::default(),
            divergence: None,
            minimized: None,
            test: TestName {
                target: None,
                name: None,
            },
        }
    }

    /// True if nothing ran because the check's configuration (a `TULIPSIM_*` variable, a
    /// builder setting) is wrong.
    ///
    /// ```
    /// let f = tulipsim::check(|| async { Ok(()) })
    ///     .replay("1:1".parse().unwrap())
    ///     .policy(tulipsim::Policy::DelayBounding(1))
    ///     .ignore_env()
    ///     .survey()
    ///     .unwrap_err();
    /// assert!(f.is_config_error());
    /// assert!(f.to_string().starts_with("tulipsim: bad configuration:"));
    /// assert!(!f.to_string().contains("replay:"));
    /// ```
    pub fn is_config_error(&self) -> bool {
        self.signature == Signature::Error("configuration".into())
    }

    /// Which run of the check failed, counting from 1 (for the delay-bounding explorer, how
    /// many executions it took to find the failure).
    ///
    /// ```
    /// let f = tulipsim::check(|| async { Err::<(), _>(tulipsim::Error::msg("no")) })
    ///     .ignore_env()
    ///     .outcome()
    ///     .unwrap_err();
    /// assert_eq!(f.run_number(), 1);
    /// ```
    pub fn run_number(&self) -> usize {
        self.index + 1
    }

    /// The shortest failing schedule known: the shrunk one, else the original.
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// use tulipsim::{check, create_task, gather, sleep, Policy};
    /// let lost_update = || async {
    ///     let n = Rc::new(Cell::new(0));
    ///     let bump = |n: Rc<Cell<u32>>| async move {
    ///         let v = n.get();
    ///         sleep(0).await?;
    ///         n.set(v + 1);
    ///         Ok(())
    ///     };
    ///     gather(vec![create_task(bump(n.clone()))?, create_task(bump(n.clone()))?]).await?;
    ///     assert_eq!(n.get(), 2, "an update was lost");
    ///     Ok(())
    /// };
    /// let f = check(lost_update).policy(Policy::Random).seeds(0..100).ignore_env();
    /// let f = f.outcome().unwrap_err();
    /// assert!(f.best_schedule().len() <= f.schedule.len());
    /// ```
    pub fn best_schedule(&self) -> &Schedule {
        self.minimized.as_ref().map_or(&self.schedule, |(s, _)| s)
    }

    /// The shell command that replays the failure exactly (the shortest schedule known).
    ///
    /// ```
    /// let f = tulipsim::check(|| async { Err::<(), _>(tulipsim::Error::msg("no")) })
    ///     .ignore_env()
    ///     .outcome()
    ///     .unwrap_err();
    /// assert!(f.replay_command().starts_with("TULIPSIM_SEED=0 "));
    /// ```
    pub fn replay_command(&self) -> String {
        self.command_for(self.best_schedule())
    }

    fn command_for(&self, schedule: &Schedule) -> String {
        let text = schedule.to_string();
        let arg = match self.schedule_file(&text) {
            Some(path) => format!("@{}", path.display()),
            None => text,
        };
        self.test.command(self.seed, &self.policy, Some(&arg))
    }

    /// A schedule too long to print goes to a file (under the system's temporary directory,
    /// named by test, seed, policy and schedule), which `TULIPSIM_REPLAY=@FILE` reads.
    fn schedule_file(&self, text: &str) -> Option<std::path::PathBuf> {
        if text.len() <= LONG_SCHEDULE {
            return None;
        }
        let mut h = crate::trace::Fnv::new();
        h.write(text.as_bytes());
        let test: String = self
            .test
            .name
            .as_deref()
            .unwrap_or("check")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let dir = std::env::temp_dir().join("tulipsim-schedules");
        let path = dir.join(format!(
            "{test}-seed{}-{}-{:016x}.schedule",
            self.seed,
            self.policy,
            h.finish()
        ));
        std::fs::create_dir_all(&dir).ok()?;
        std::fs::write(&path, text).ok()?;
        Some(path)
    }

    /// A schedule as the report prints it: itself, or where it was written when too long.
    fn show(&self, schedule: &Schedule) -> String {
        let text = schedule.to_string();
        match self.schedule_file(&text) {
            Some(path) => format!("(too long to print: written to {})", path.display()),
            None => format!("'{text}'"),
        }
    }
}

impl TestName {
    /// The command that reruns this test with one seed under one policy (and one schedule).
    pub(crate) fn command(&self, seed: u64, policy: &str, schedule: Option<&str>) -> String {
        // A check in an example's `main` (not in one of its tests) reruns with `cargo run`.
        let in_example = self
            .target
            .as_ref()
            .is_some_and(|t| t.starts_with("--example "));
        let run = in_example && self.name.is_none();
        let replay = schedule
            .map(|s| format!(" TULIPSIM_REPLAY='{s}'"))
            .unwrap_or_default();
        let mut cmd = format!(
            "TULIPSIM_SEED={seed} TULIPSIM_POLICY={policy}{replay} cargo {}",
            if run { "run" } else { "test" }
        );
        if let Some(t) = &self.target {
            cmd.push(' ');
            cmd.push_str(t);
        }
        if let Some(n) = &self.name {
            cmd.push_str(&format!(" {n} -- --exact"));
        }
        cmd
    }
}

/// Schedules longer than this (in characters) are written to a file instead of printed.
const LONG_SCHEDULE: usize = 200;

/// A `Failure` is an error, so `?` takes it in a `main` or test returning
/// `Result<(), Box<dyn std::error::Error>>`:
///
/// ```
/// fn sweep() -> Result<(), Box<dyn std::error::Error>> {
///     tulipsim::check(|| async { Err::<(), _>(tulipsim::Error::msg("no")) })
///         .ignore_env()
///         .outcome()?;
///     Ok(())
/// }
/// let e = sweep().unwrap_err();
/// assert!(e.to_string().contains("failed"));
/// ```
impl std::error::Error for Failure {}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_config_error() {
            // Nothing ran: no seed, no schedule, no replay command to show.
            return writeln!(f, "tulipsim: {} (nothing ran)", self.message);
        }
        writeln!(
            f,
            "tulipsim: run {} of {} failed (seed {}, policy {}, virtual time {:.6}s)",
            self.index + 1,
            self.total.max(1),
            self.seed,
            self.policy,
            self.time
        )?;
        writeln!(f, "  failure: {}", self.message.replace('\n', "\n    "))?;
        writeln!(
            f,
            "  schedule: {} ({} deviation(s) from FIFO over {} decisions)",
            self.show(&self.schedule),
            self.schedule.len(),
            self.decisions
        )?;
        if let Some(d) = &self.divergence {
            writeln!(f, "  the replay diverged: {d}")?;
        }
        writeln!(f, "  replay: {}", self.command_for(&self.schedule))?;
        let (trace, label) = match &self.minimized {
            Some((s, t)) => {
                writeln!(
                    f,
                    "  minimised schedule: {} ({} deviation(s))",
                    self.show(s),
                    s.len()
                )?;
                writeln!(f, "  replay minimised: {}", self.command_for(s))?;
                (t, "the minimised run")
            }
            None => (&self.trace, "the run"),
        };
        let schedule = self.minimized.as_ref().map_or(&self.schedule, |(s, _)| s);
        write_excerpt(f, trace, schedule, label)
    }
}

/// Lines of context around each point of interest in a report's trace.
const CONTEXT: usize = 6;
/// Lines shown before the failure.
const BEFORE_FAILURE: usize = 16;

/// The part of the trace a person needs: around the decisive (last) deviation, and up to the
/// failure (the last task that ended in an error), not the whole run nor only its shutdown.
fn write_excerpt(
    f: &mut fmt::Formatter<'_>,
    trace: &Trace,
    schedule: &Schedule,
    label: &str,
) -> fmt::Result {
    use crate::trace::{Event, Outcome};
    let records = trace.records();
    let n = records.len();
    let mut ranges: Vec<(usize, usize, &str)> = Vec::new();
    if let Some(&(d, _)) = schedule.deviations().last() {
        let at = records
            .iter()
            .position(|r| matches!(r.event, Event::Decision { index, .. } if index == d));
        if let Some(i) = at {
            ranges.push((
                i.saturating_sub(CONTEXT),
                (i + CONTEXT + 1).min(n),
                "decisive deviation",
            ));
        }
    }
    let failed = records.iter().rposition(|r| {
        matches!(
            r.event,
            Event::Done {
                outcome: Outcome::Exception(_),
                ..
            }
        )
    });
    match failed {
        Some(i) => ranges.push((i.saturating_sub(BEFORE_FAILURE), (i + 3).min(n), "failure")),
        None => ranges.push((n.saturating_sub(BEFORE_FAILURE + 4), n, "end")),
    }
    ranges.sort();
    // Merge overlapping ranges.
    let mut merged: Vec<(usize, usize, String)> = Vec::new();
    for (a, b, what) in ranges {
        match merged.last_mut() {
            Some(last) if a <= last.1 => {
                last.1 = last.1.max(b);
                last.2 = format!("{} and {what}", last.2);
            }
            _ => merged.push((a, b, what.to_string())),
        }
    }
    writeln!(
        f,
        "  trace of {label} ({n} lines; around the {}):",
        merged
            .iter()
            .map(|m| m.2.as_str())
            .collect::<Vec<_>>()
            .join(", then the ")
    )?;
    let mut shown = 0;
    for (a, b, _) in &merged {
        if *a > shown {
            writeln!(f, "    ... ({} lines)", a - shown)?;
        }
        for i in *a..*b {
            if let Some(line) = trace.line_at(i) {
                writeln!(f, "    {line}")?;
            }
        }
        shown = *b;
    }
    if shown < n {
        writeln!(f, "    ... ({} lines)", n - shown)?;
    }
    Ok(())
}

/// Compares two runs of one seed: `None` if they agree, else where they first differ.
pub(crate) fn nondeterminism(a: &RunResult, b: &RunResult) -> Option<String> {
    if a.trace.hash() == b.trace.hash() && a.schedule == b.schedule {
        return None;
    }
    let decision = a
        .schedule
        .deviations()
        .iter()
        .zip(b.schedule.deviations())
        .find(|(x, y)| x != y)
        .map(|(x, y)| format!("first differing decision: {x:?} vs {y:?}; "))
        .unwrap_or_default();
    let line = match a.trace.first_difference(&b.trace) {
        Some((n, x, y)) => format!("trace line {n}: {x:?} vs {y:?}"),
        None => "the traces agree, the schedules do not".to_string(),
    };
    Some(format!(
        "the same seed gave two different runs (nondeterminism in the program: a clock, a \
         thread, a HashMap order?): {decision}{line}"
    ))
}
