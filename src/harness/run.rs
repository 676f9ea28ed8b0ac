//! One run of a program under one scheduler, and what counts as its failure.

use std::future::Future as StdFuture;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::config::{LoopConfig, PanicPolicy};
use crate::exceptions::Error;
use crate::faults::FaultConfig;
use crate::panics;
use crate::scheduler::{Schedule, Scheduler};
use crate::trace::{Trace, TraceLevel};
use crate::EventLoop;

/// What a failure is, for telling whether two runs "fail the same way" (minimisation keeps a
/// shorter schedule only then).
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
    let config = LoopConfig::default()
        .seed(seed)
        .trace(trace)
        .faults(cfg.faults.clone())
        .max_steps(cfg.max_steps)
        .max_time(cfg.max_time as f64 / 1e9)
        .panic_policy(PanicPolicy::StopLoop);
    let lp = EventLoop::with_config(config);
    lp.set_boxed_scheduler(scheduler);
    let outcome = panics::quietly(|| {
        catch_unwind(AssertUnwindSafe(|| {
            lp.run_until_complete_at(body(), cfg.site)
        }))
    });
    let scheduler = lp.take_scheduler();
    let failure = match outcome {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(classify(&e)),
        Err(payload) => {
            let message = panics::payload_message(&*payload);
            let location = panics::last_location();
            let sig = location.clone().unwrap_or_else(|| message.clone());
            let at = location.map(|l| format!(" at {l}")).unwrap_or_default();
            Some((Signature::Panic(sig), format!("panicked: {message}{at}")))
        }
    };
    let result = RunResult {
        failure,
        schedule: lp.schedule(),
        decisions: lp.decisions(),
        trace: lp.take_trace(),
        divergence: scheduler.as_ref().and_then(|s| s.divergence()),
        time: lp.time(),
    };
    // The run's leftovers (pending tasks, unretrieved exceptions) are not the check's concern.
    let _ = lp.close();
    let _ = lp.take_reports();
    (result, scheduler)
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
        Error::Limit(_) => (Signature::Limit, e.to_string()),
        other => {
            let text = format!("{}: {other}", other.kind_name());
            (Signature::Error(text.clone()), format!("returned {text}"))
        }
    }
}
