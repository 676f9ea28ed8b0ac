//! Calibration: the one place where the run length that a learning policy (PCT, delay) assumes is
//! learnt from FIFO runs of the program. [`check`](super::check), `survey`, and `tulipsim-sim`'s
//! explorer and environments all warm their schedulers through [`warm_up_length`], so a seed
//! replays the same way whichever of them printed it.

use std::future::Future as StdFuture;

use super::run::{run_once, RunConfig, RunResult};
use super::{Check, Policy};
use crate::exceptions::Error;
use crate::scheduler::Fifo;
use crate::trace::TraceLevel;

/// The seed whose FIFO run warms every run's scheduler.
const WARM_UP_SEED: u64 = 0;

/// With faults on, how many seeds' FIFO runs (from [`WARM_UP_SEED`]) the run length is learnt
/// from: each seed draws its own faults, and a fault can add the very decisions a bug needs.
const WARM_UP_FAULT_SEEDS: u64 = 16;

/// The decision count that warms every run's scheduler under `policy` (PCT's and delay's
/// estimate of a run's length), given `fifo_decisions(seed)`, the decision count of the
/// program's FIFO run with that seed: seed 0's, wherever the seeds explored start, so that a
/// seed's run depends on its seed alone (with seeded faults or `random_*` draws the FIFO run's
/// length depends on its seed: warming from the range's first seed made `TULIPSIM_SEED=k` alone
/// run a different schedule than seed k in a sweep from 0). With `faults_active` and a learning
/// policy it is the longest FIFO run of seeds 0..16, since the runs explored draw faults seed by
/// seed and a fault's extra decisions must be within the estimate.
///
/// Seed 0's FIFO run is asked for even when the policy learns nothing, so that how often each
/// caller runs the program does not depend on the policy.
///
/// ```
/// use tulipsim::{harness::warm_up_length, Policy};
/// assert_eq!(warm_up_length(&Policy::Pct(2), false, |seed| 10 + seed), 10);
/// assert_eq!(warm_up_length(&Policy::Pct(2), true, |seed| 10 + seed), 25);
/// assert_eq!(warm_up_length(&Policy::Random, true, |seed| 10 + seed), 10);
/// ```
pub fn warm_up_length(
    policy: &Policy,
    faults_active: bool,
    mut fifo_decisions: impl FnMut(u64) -> u64,
) -> u64 {
    if !policy.learns_run_length() || !faults_active {
        return fifo_decisions(WARM_UP_SEED);
    }
    (WARM_UP_SEED..WARM_UP_SEED + WARM_UP_FAULT_SEEDS)
        .map(fifo_decisions)
        .max()
        .unwrap_or(0)
}

impl<F, Fut, T> Check<F>
where
    F: Fn() -> Fut + Sync,
    Fut: StdFuture<Output = Result<T, Error>> + 'static,
    T: 'static,
{
    /// The FIFO run of the first seed: a failure there is reported before any other run.
    pub(super) fn calibrate(&self, cfg: &RunConfig) -> RunResult {
        run_once(
            &self.body,
            self.seeds.start,
            Box::new(Fifo),
            TraceLevel::Off,
            cfg,
        )
        .0
    }

    /// The decision count that warms every run's scheduler: [`Check::run_length`] if set, else
    /// [`warm_up_length`] of the check's FIFO runs (with its faults), reusing `first`, the
    /// [`calibrate`](Self::calibrate) run.
    pub(super) fn warm_up(&self, first: &RunResult, cfg: &RunConfig) -> u64 {
        if let Some(k) = self.run_length {
            return k;
        }
        warm_up_length(&self.policy, self.run.faults.is_active(), |seed| {
            if seed == self.seeds.start {
                return first.decisions;
            }
            run_once(&self.body, seed, Box::new(Fifo), TraceLevel::Off, cfg)
                .0
                .decisions
        })
    }
}
