//! `Replay`: follow a recorded schedule.

use super::{ChoicePoint, Eligibility, FaultKind, FaultPlan, FaultRng, Schedule, Scheduler};

/// Takes the choices a [`Schedule`] records (FIFO wherever it has no deviation), so that a run
/// printed by a failure report happens again. A run that diverges (a recorded index past the
/// candidates, or a run that ends before a recorded decision) says where:
/// [`divergence`](Replay::divergence).
///
/// ```
/// use tulipsim::scheduler::{Replay, Scheduler};
/// let r = Replay::new("4:1".parse().unwrap());
/// assert_eq!(r.name(), "replay");
/// assert!(r.divergence().is_none());
/// ```
#[derive(Clone, Debug)]
pub struct Replay {
    schedule: Schedule,
    eligibility: Eligibility,
    divergence: Option<String>,
    faults: Option<FaultPlan>,
    fault_queries: u64,
}

impl Replay {
    /// Replays `schedule` under the causal rule.
    ///
    /// ```
    /// use tulipsim::scheduler::{Replay, Schedule};
    /// let r = Replay::new("2:1".parse::<Schedule>().unwrap());
    /// assert_eq!(r.schedule().to_string(), "2:1");
    /// ```
    pub fn new(schedule: Schedule) -> Replay {
        Replay {
            schedule,
            eligibility: Eligibility::Causal,
            divergence: None,
            faults: None,
            fault_queries: 0,
        }
    }

    /// Also follow a [`FaultPlan`]: fault query `i` fires iff the plan lists it, whatever the
    /// probabilities (a kind still needs a probability above 0 to be asked at all).
    ///
    /// ```
    /// use tulipsim::scheduler::{FaultPlan, Replay};
    /// let r = Replay::new(Default::default()).with_faults(FaultPlan::from_queries(vec![0]));
    /// # drop(r);
    /// ```
    pub fn with_faults(mut self, plan: FaultPlan) -> Replay {
        self.faults = Some(plan);
        self
    }

    /// Replays a schedule recorded under [`Eligibility::Chaos`].
    ///
    /// ```
    /// # use tulipsim::scheduler::{Replay, Scheduler, Eligibility};
    /// let r = Replay::new(Default::default()).with_eligibility(Eligibility::Chaos);
    /// assert_eq!(r.eligibility(), Eligibility::Chaos);
    /// ```
    pub fn with_eligibility(mut self, eligibility: Eligibility) -> Replay {
        self.eligibility = eligibility;
        self
    }

    /// Where the last run stopped following the schedule, if it did.
    ///
    /// ```
    /// use tulipsim::scheduler::{Replay, Schedule};
    /// assert_eq!(Replay::new(Schedule::fifo()).divergence(), None); // no run yet
    /// ```
    pub fn divergence(&self) -> Option<&str> {
        self.divergence.as_deref()
    }

    /// The schedule being replayed.
    ///
    /// ```
    /// let r = tulipsim::scheduler::Replay::new("2:1".parse().unwrap());
    /// assert_eq!(r.schedule().to_string(), "2:1");
    /// ```
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }
}

impl Scheduler for Replay {
    fn name(&self) -> String {
        "replay".into()
    }

    fn begin_run(&mut self, _: u64) {
        self.divergence = None;
        self.fault_queries = 0;
    }

    fn fault(&mut self, _: FaultKind, p: f64, rng: &mut FaultRng) -> bool {
        let index = self.fault_queries;
        self.fault_queries += 1;
        match &self.faults {
            Some(plan) => plan.fires(index),
            None => rng.chance(p),
        }
    }

    fn choose(&mut self, point: &ChoicePoint<'_>) -> usize {
        let wanted = self.schedule.index_at(point.index) as usize;
        if wanted < point.candidates.len() {
            return wanted;
        }
        if self.divergence.is_none() {
            self.divergence = Some(format!(
                "decision {}: the schedule takes candidate {wanted}, but only {} are eligible",
                point.index,
                point.candidates.len()
            ));
        }
        0
    }

    fn eligibility(&self) -> Eligibility {
        self.eligibility
    }

    fn divergence(&self) -> Option<String> {
        self.divergence.clone()
    }

    fn end_run(&mut self, decisions: u64) {
        if let Some(&(last, _)) = self.schedule.deviations().last() {
            if last >= decisions && self.divergence.is_none() {
                self.divergence = Some(format!(
                    "the run made {decisions} decisions; the schedule deviates at decision {last}"
                ));
            }
        }
    }
}
