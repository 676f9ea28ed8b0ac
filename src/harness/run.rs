//! One run of a program under one scheduler, and what counts as its failure.

use std::cell::RefCell;
use std::future::Future as StdFuture;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use crate::base_events::Command;
use crate::config::{LoopConfig, PanicPolicy};
use crate::events::EventLoop;
use crate::exceptions::Error;
use crate::faults::FaultConfig;
use crate::panics;
use crate::scheduler::{Schedule, Scheduler};
use crate::trace::{Trace, TraceLevel};

/// What a failure is, for telling whether two runs "fail the same way" (minimisation keeps a
/// shorter schedule only then).
///
/// ```
/// use tulipsim::{check, harness::Signature, Error};
/// let f = check(|| async { Err::<(), _>(Error::msg("no")) }).ignore_env().outcome().unwrap_err();
/// assert!(matches!(f.signature, Signature::Error(_)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signature {
    /// A panic at this location (or with this message, when the location is unknown).
    Panic(String),
    /// The program returned an error of this kind and text.
    Error(String),
    /// Nothing could ever happen again.
    Deadlock,
    /// A step or time limit was reached.
    Limit,
    /// The step limit was reached while tasks were still ready to run: a ready task was
    /// starved or the program livelocked, not an assertion of the program failing.
    Starvation,
    /// The same seed did not fail the same way twice: the program is not deterministic.
    Nondeterminism,
    /// A replayed schedule no longer fits the program (the code changed since it was printed).
    Diverged,
    /// A task's error was never retrieved (nobody awaited the task): the error's kind and text.
    Unretrieved(String),
    /// A run took longer than the wall-clock watchdog allows (a task that never awaits).
    Hang,
}

impl Signature {
    /// The kind of failure in a word: `panic`, `error`, `deadlock`, `limit`, `starvation`,
    /// `nondeterminism`, `diverged`, `unretrieved`, `hang`.
    ///
    /// ```
    /// assert_eq!(tulipsim::harness::Signature::Deadlock.kind(), "deadlock");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            Signature::Panic(_) => "panic",
            Signature::Error(_) => "error",
            Signature::Deadlock => "deadlock",
            Signature::Limit => "limit",
            Signature::Starvation => "starvation",
            Signature::Nondeterminism => "nondeterminism",
            Signature::Diverged => "diverged",
            Signature::Unretrieved(_) => "unretrieved",
            Signature::Hang => "hang",
        }
    }
}

/// How a run went.
pub(crate) struct RunResult {
    pub(crate) failure: Option<(Signature, String)>,
    pub(crate) schedule: Schedule,
    pub(crate) decisions: u64,
    pub(crate) trace: Trace,
    pub(crate) divergence: Option<String>,
    pub(crate) time: f64,
}

/// What every run of a check shares.
#[derive(Clone)]
pub(crate) struct RunConfig {
    /// Where the check was made: the main task's spawn site.
    pub(crate) site: &'static std::panic::Location<'static>,
    pub(crate) faults: FaultConfig,
    pub(crate) max_steps: u64,
    pub(crate) max_time: i64,
    /// Whether a task error nobody retrieved is allowed (else it fails the run).
    pub(crate) allow_unretrieved: bool,
    /// The wall-clock watchdog's limit per run, if on.
    pub(crate) watchdog: Option<std::time::Duration>,
    /// The watchdog's replay command, naming the test the check runs in and its policy.
    pub(crate) replay: Command,
}

/// The command that replays a run of a check in `test` whose policy is named `policy`, given
/// the run's seed and its scheduler's name (the scheduler's own, when it names a policy).
pub(crate) fn replay_command(test: Option<super::report::TestName>, policy: String) -> Command {
    Arc::new(move |seed, scheduler| {
        let policy = if scheduler.parse::<crate::harness::Policy>().is_ok() {
            scheduler
        } else {
            &policy
        };
        match &test {
            Some(t) => t.command(seed, policy, None),
            None => format!("TULIPSIM_SEED={seed} TULIPSIM_POLICY={policy} cargo test"),
        }
    })
}

/// The wall-clock watchdog's default limit per run: generous, since it only ends a run that
/// would otherwise hang forever.
const DEFAULT_WATCHDOG: std::time::Duration = std::time::Duration::from_secs(120);

impl RunConfig {
    /// The defaults of [`check`](super::check), made at `site`: no faults, 1,000,000 steps and
    /// one virtual year per run, the watchdog on. `test` and `policy` are filled in when the
    /// check runs, once the environment has had its say.
    pub(crate) fn new(site: &'static std::panic::Location<'static>) -> RunConfig {
        RunConfig {
            site,
            faults: FaultConfig::default(),
            max_steps: 1_000_000,
            max_time: 365 * 24 * 3600 * 1_000_000_000,
            allow_unretrieved: false,
            watchdog: Some(DEFAULT_WATCHDOG),
            replay: replay_command(None, String::new()),
        }
    }

    /// The loop of one run with `seed`, traced at `trace`: a panic stops it, as a failure to
    /// report. The watchdog is not in it: [`run_once`] attaches one per run.
    pub(crate) fn loop_config(&self, seed: u64, trace: TraceLevel) -> LoopConfig {
        LoopConfig::default()
            .seed(seed)
            .trace(trace)
            .faults(self.faults.clone())
            .max_steps(self.max_steps)
            .max_time(self.max_time as f64 / 1e9)
            .panic_policy(PanicPolicy::StopLoop)
    }
}

thread_local! {
    /// The loop of this thread's last run, closed: the next run recycles it
    /// (`EventLoop::recycle`), unless the program kept something of it alive.
    static SPARE: RefCell<Option<EventLoop>> = const { RefCell::new(None) };
}

/// Runs `body` once with `seed` under `scheduler`; gives the scheduler back for learning.
pub(crate) fn run_once<F, Fut, T>(
    body: &F,
    seed: u64,
    scheduler: Box<dyn Scheduler>,
    trace: TraceLevel,
    cfg: &RunConfig,
) -> (RunResult, Option<Box<dyn Scheduler>>)
where
    F: Fn() -> Fut,
    Fut: StdFuture<Output = Result<T, Error>> + 'static,
    T: 'static,
{
    let spare = SPARE.with(|spare| spare.borrow_mut().take());
    // The spare, closed, still holds its run's watch in its configuration: that watch is free.
    let watch = cfg.watchdog.map(|limit| {
        super::watchdog::start(limit, seed, &scheduler.name(), &cfg.replay, spare.is_some())
    });
    let mut config = cfg.loop_config(seed, trace);
    config.watch = watch.clone();
    let lp = match spare {
        Some(spare) => spare.recycle(config),
        None => EventLoop::with_config(config),
    };
    lp.set_boxed_scheduler(scheduler);
    let outcome = panics::quietly(|| {
        catch_unwind(AssertUnwindSafe(|| {
            lp.run_until_complete_at(body(), cfg.site)
        }))
    });
    let scheduler = lp.take_scheduler();
    let mut failure = match outcome {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(classify(&e)),
        Err(payload) => Some(panic_failure(&*payload, "panicked")),
    };
    let schedule = lp.schedule();
    let decisions = lp.decisions();
    let time = lp.time();
    let divergence = scheduler.as_ref().and_then(|s| s.divergence());
    // Closing frees what the run left behind (pending tasks, their futures): a `Drop` that
    // panics there is a failure of this run like any other, not a panic of the harness.
    let closed = panics::quietly(|| {
        catch_unwind(AssertUnwindSafe(|| {
            let _ = lp.close();
            let reports = lp.take_reports();
            let trace = lp.take_trace();
            SPARE.with(|spare| *spare.borrow_mut() = Some(lp));
            (reports, trace)
        }))
    });
    let (reports, trace) = match closed {
        Ok(done) => done,
        Err(payload) => {
            if failure.is_none() {
                failure = Some(panic_failure(
                    &*payload,
                    "panicked while the loop closed (a Drop of a value the run left behind)",
                ));
            }
            (Vec::new(), Trace::default())
        }
    };
    if let Some(w) = &watch {
        w.finish();
    }
    if failure.is_none() && !cfg.allow_unretrieved {
        failure = unretrieved(&reports);
    }
    let result = RunResult {
        failure,
        schedule,
        decisions,
        trace,
        divergence,
        time,
    };
    (result, scheduler)
}

fn panic_failure(payload: &(dyn std::any::Any + Send), what: &str) -> (Signature, String) {
    let message = panics::payload_message(payload);
    let location = panics::last_location();
    let sig = location.clone().unwrap_or_else(|| message.clone());
    let at = location.map(|l| format!(" at {l}")).unwrap_or_default();
    (Signature::Panic(sig), format!("{what}: {message}{at}"))
}

/// The first task error nobody retrieved, as a failure (asyncio only logs "Task exception
/// was never retrieved"; a check fails unless told to allow it).
fn unretrieved(reports: &[crate::base_events::ExceptionContext]) -> Option<(Signature, String)> {
    let lost: Vec<&crate::base_events::ExceptionContext> = reports
        .iter()
        .filter(|r| r.message() == "Task exception was never retrieved" && r.error().is_some())
        .collect();
    let first = lost.first()?;
    let error = first.error().map(|e| e.to_string()).unwrap_or_default();
    let task = first.task().unwrap_or("a task");
    let site = first
        .site()
        .map(|s| format!(" (spawned at {s})"))
        .unwrap_or_default();
    let more = match lost.len() {
        1 => String::new(),
        n => format!(" ({} more task error(s) were never retrieved)", n - 1),
    };
    Some((
        Signature::Unretrieved(first_line(&error).to_string()),
        format!(
            "task exception was never retrieved: {task}{site} failed with {error} and nothing \
             awaited it{more}; await the task (or gather it), or allow this with \
             Check::allow_unretrieved_errors(true)"
        ),
    ))
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

fn classify(e: &Error) -> (Signature, String) {
    match e {
        Error::Panic(p) => {
            let sig = p
                .location()
                .map(str::to_string)
                .unwrap_or_else(|| p.message().to_string());
            (Signature::Panic(sig), e.to_string())
        }
        Error::Deadlock(_) => (Signature::Deadlock, e.to_string()),
        Error::Limit(l) if l.is_watchdog() => (Signature::Hang, e.to_string()),
        Error::Limit(l) if l.is_starvation_or_livelock() => (Signature::Starvation, e.to_string()),
        Error::Limit(_) => (Signature::Limit, e.to_string()),
        other => {
            let full = other.to_string();
            let text = if full.starts_with(other.kind_name()) {
                full
            } else {
                format!("{}: {full}", other.kind_name())
            };
            (Signature::Error(text.clone()), format!("returned {text}"))
        }
    }
}
