//! Which fault queries of a run fire, and its text form.

use std::fmt;
use std::str::FromStr;

use super::ScheduleParseError;

/// Which fault queries fire: a run asks "does this fault happen?" at each fault point of a
/// kind that is on (probability above 0), in order; the plan lists the numbers of the queries
/// that fire. Like a [`Schedule`](super::Schedule), dropping one entry leaves the others in place, so plans
/// shrink well (proptest shrinks them toward no fault). [`Replay::with_faults`](super::Replay::with_faults) follows one,
/// ignoring the probabilities. A plan says which faults happen; how much a jittered timer is
/// delayed still comes from the run's fault stream, so replay a plan with the same seed.
///
/// ```
/// use tulipsim::scheduler::FaultPlan;
/// let p: FaultPlan = "2,9".parse().unwrap();
/// assert!(p.fires(9) && !p.fires(3));
/// assert_eq!(p.to_string(), "2,9");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FaultPlan {
    fire: Vec<u64>,
}

impl FaultPlan {
    /// Makes it the empty plan again, keeping its storage.
    pub(crate) fn clear(&mut self) {
        self.fire.clear();
    }

    /// A plan firing exactly these queries.
    ///
    /// ```
    /// let p = tulipsim::scheduler::FaultPlan::from_queries(vec![5, 1, 5]);
    /// assert_eq!(p.to_string(), "1,5");
    /// ```
    pub fn from_queries(mut fire: Vec<u64>) -> FaultPlan {
        fire.sort_unstable();
        fire.dedup();
        FaultPlan { fire }
    }

    /// True if query `index` fires.
    ///
    /// ```
    /// let p = tulipsim::scheduler::FaultPlan::from_queries(vec![4]);
    /// assert!(p.fires(4));
    /// assert!(!p.fires(5));
    /// ```
    pub fn fires(&self, index: u64) -> bool {
        self.fire.binary_search(&index).is_ok()
    }

    /// The queries that fire.
    ///
    /// ```
    /// assert!(tulipsim::scheduler::FaultPlan::default().queries().is_empty());
    /// ```
    pub fn queries(&self) -> &[u64] {
        &self.fire
    }

    pub(crate) fn push(&mut self, index: u64) {
        self.fire.push(index);
    }
}

impl fmt::Display for FaultPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, q) in self.fire.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{q}")?;
        }
        Ok(())
    }
}

impl FromStr for FaultPlan {
    type Err = ScheduleParseError;

    fn from_str(text: &str) -> Result<FaultPlan, ScheduleParseError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(FaultPlan::default());
        }
        text.split(',')
            .map(|q| {
                q.trim()
                    .parse::<u64>()
                    .map_err(|_| ScheduleParseError(text.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(FaultPlan::from_queries)
    }
}
