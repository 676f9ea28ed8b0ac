//! `Replay`: follow a recorded schedule.

use super::{ChoicePoint, Eligibility, Schedule, Scheduler};

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
}

impl Replay {
    /// Replays `schedule` under the causal rule.
    ///
    /// See [`Replay`] for an example.
    pub fn new(schedule: Schedule) -> Replay {
        Replay {
            schedule,
            eligibility: Eligibility::Causal,
            divergence: None,
        }
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
    /// See [`Replay`] for an example.
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
