//! What a failing run becomes: replayed once to tell a bug from nondeterminism, its schedule
//! shrunk, and the [`Failure`] report built.

use std::future::Future as StdFuture;

use super::report::{self, Failure};
use super::run::{run_once, RunConfig, RunResult, Signature};
use super::{minimize, Check};
use crate::exceptions::Error;
use crate::scheduler::{Replay, Schedule};
use crate::trace::TraceLevel;

impl<F, Fut, T> Check<F>
where
    F: Fn() -> Fut + Sync,
    Fut: StdFuture<Output = Result<T, Error>> + 'static,
    T: 'static,
{
    /// Builds the report of a failing run: its trace, its replay command, and (unless off)
    /// its shrunk schedule.
    pub(super) fn failure(
        &self,
        r: RunResult,
        seed: u64,
        index: usize,
        total: usize,
        cfg: &RunConfig,
        test: &report::TestName,
    ) -> Failure {
        let eligibility = self.policy.eligibility();
        let replay = |schedule: &Schedule| {
            let rep = Replay::new(schedule.clone()).with_eligibility(eligibility);
            run_once(&self.body, seed, Box::new(rep), TraceLevel::Full, cfg).0
        };
        let (mut signature, mut message) = r
            .failure
            .clone()
            .unwrap_or((Signature::Deadlock, "(no failure recorded)".into()));
        // Replay the schedule once, as the printed replay command will: a failure that does
        // not come back is not the program's bug to chase but its nondeterminism.
        let mut traced = r;
        if signature != Signature::Nondeterminism && signature != Signature::Hang {
            let again = replay(&traced.schedule);
            let same = again.failure.as_ref().map(|(s, _)| s) == Some(&signature);
            if !same {
                let (s, m) = not_deterministic(&traced, &again, seed, &self.policy.name());
                signature = s;
                message = m;
                if traced.trace.is_empty() {
                    traced.trace = again.trace;
                }
            } else if traced.trace.is_empty() {
                traced = again;
            }
        }
        let minimized = if self.minimize
            && !traced.schedule.is_fifo()
            && signature != Signature::Nondeterminism
            && signature != Signature::Hang
        {
            minimize::shrink(&traced.schedule, &signature, &replay)
        } else {
            None
        };
        Failure {
            seed,
            policy: self.policy.name(),
            index,
            total,
            message,
            signature,
            schedule: traced.schedule.clone(),
            decisions: traced.decisions,
            time: traced.time,
            trace: traced.trace,
            divergence: traced.divergence,
            minimized,
            test: test.clone(),
        }
    }

    /// The report of a failing replay: no exploring, no second replay, no shrinking.
    pub(super) fn replay_failure(
        &self,
        r: RunResult,
        seed: u64,
        test: &report::TestName,
    ) -> Failure {
        let (signature, message) = r
            .failure
            .clone()
            .unwrap_or((Signature::Deadlock, String::new()));
        Failure {
            seed,
            policy: self.policy.name(),
            index: 0,
            total: 1,
            message,
            signature,
            schedule: r.schedule,
            decisions: r.decisions,
            time: r.time,
            trace: r.trace,
            divergence: r.divergence,
            minimized: None,
            test: test.clone(),
        }
    }
}

/// The report of a failure that did not come back when its schedule was replayed.
fn not_deterministic(
    first: &RunResult,
    again: &RunResult,
    seed: u64,
    policy: &str,
) -> (Signature, String) {
    let was = first
        .failure
        .as_ref()
        .map_or("(nothing)".to_string(), |(_, m)| m.clone());
    let now = match &again.failure {
        None => "passed".to_string(),
        Some((_, m)) => format!("failed differently: {m}"),
    };
    let divergence = if first.trace.is_empty() {
        "the failing run was not traced, and three more runs of this seed under this policy did \
         not fail the same way"
            .to_string()
    } else {
        match first.trace.first_difference(&again.trace) {
            Some((n, x, y)) => format!(
                "the two runs' traces first differ at line {n}:\n  failing run: {x}\n  replay:      {y}"
            ),
            None => "the two runs' traces do not differ: what differs is outside the loop".into(),
        }
    };
    (
        Signature::Nondeterminism,
        format!(
            "this failure is not deterministic: seed {seed} under {policy} failed ({was}), but \
             replaying the same seed and schedule {now}. A replay command cannot reproduce it. \
             Likely causes: the program reads something tulipsim does not control: a random \
             generator not from tulipsim (thread_rng, rand::random), the wall clock \
             (Instant::now, SystemTime), a HashMap's or HashSet's iteration order, a thread, \
             real I/O, or a static shared between runs. Check with \
             TULIPSIM_DETERMINISM=1 (Check::determinism_check). {divergence}"
        ),
    )
}
