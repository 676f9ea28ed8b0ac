//! The policy registry: every scheduling policy a check can explore with, its name (as
//! `TULIPSIM_POLICY`, `#[tulipsim::test(policy = ..)]`, the `tulipsim-sim` command line and reports
//! spell it), its scheduler, and what the harness needs to know about it. A new policy is added
//! here and nowhere else.

use std::sync::Arc;

use crate::scheduler::{Delay, Eligibility, Fifo, Pct, Portfolio, Random, Scheduler};

/// Which scheduling policy a [`Check`](super::Check) explores with. Names (for `TULIPSIM_POLICY` and
/// reports): `fifo`, `random`, `chaos`, `pct1`..`pctN` (`pct` is `pct2`), `delay1`..`delayN`
/// (`delay` is `delay2`), `portfolio`, `delay-bounding`.
///
/// ```
/// use tulipsim::Policy;
/// assert_eq!("pct3".parse::<Policy>().unwrap().name(), "pct3");
/// assert!("nonsense".parse::<Policy>().is_err());
/// ```
#[derive(Clone)]
pub enum Policy {
    /// asyncio's order. Without faults every seed gives the same run, so it runs once; with
    /// faults each seed draws its own, so every seed runs.
    Fifo,
    /// [`Random`]: uniform over the eligible entries.
    Random,
    /// [`Random::chaos`]: uniform over every ready entry, ignoring the causal rule.
    Chaos,
    /// [`Pct`] with this depth.
    Pct(u32),
    /// [`Delay`] with this budget.
    Delay(u32),
    /// [`Portfolio::default`]: the policies above taking turns, by seed.
    Portfolio,
    /// The iterative delay-bounding explorer: every schedule with 0 delays, then 1, then 2, up
    /// to this many, stopping at the first failure (whose schedule then has the fewest delays).
    /// Seeds only seed faults.
    DelayBounding(u32),
    /// A policy of one's own: a fresh scheduler per run.
    Custom(Arc<dyn Fn() -> Box<dyn Scheduler> + Send + Sync>),
}

impl Policy {
    /// The policy's name, as `TULIPSIM_POLICY` and reports spell it.
    ///
    /// ```
    /// use tulipsim::Policy;
    /// assert_eq!(Policy::Random.name(), "random");
    /// assert_eq!(Policy::Fifo.name(), "fifo");
    /// ```
    pub fn name(&self) -> String {
        match self {
            Policy::Fifo => "fifo".into(),
            Policy::Random => "random".into(),
            Policy::Chaos => "chaos".into(),
            Policy::Pct(d) => format!("pct{d}"),
            Policy::Delay(b) => format!("delay{b}"),
            Policy::Portfolio => "portfolio".into(),
            Policy::DelayBounding(_) => "delay-bounding".into(),
            Policy::Custom(make) => make().name(),
        }
    }

    /// A fresh scheduler for this policy, not yet warmed: see
    /// [`warmed_scheduler`](Self::warmed_scheduler). [`Policy::DelayBounding`] is an explorer,
    /// not a scheduler: its runs each follow one schedule, so this gives [`Fifo`].
    ///
    /// ```
    /// use tulipsim::Policy;
    /// assert_eq!(Policy::Pct(3).scheduler().name(), "pct3");
    /// ```
    pub fn scheduler(&self) -> Box<dyn Scheduler> {
        match self {
            Policy::Fifo | Policy::DelayBounding(_) => Box::new(Fifo),
            Policy::Random => Box::new(Random::new()),
            Policy::Chaos => Box::new(Random::chaos()),
            Policy::Pct(d) => Box::new(Pct::new(*d)),
            Policy::Delay(b) => Box::new(Delay::new(*b)),
            Policy::Portfolio => Box::new(Portfolio::default()),
            Policy::Custom(make) => make(),
        }
    }

    /// A scheduler for one run, warmed as [`check`](super::check) warms each seed's: a learning policy (PCT's
    /// and delay's estimate of the run length) learns from `fifo_decisions`, the decision count
    /// of one FIFO run of the same program. Each run then depends on its seed alone, which is
    /// what makes a printed seed replay on its own.
    ///
    /// ```
    /// use tulipsim::Policy;
    /// let s = Policy::Random.warmed_scheduler(40);
    /// assert_eq!(s.name(), "random");
    /// ```
    pub fn warmed_scheduler(&self, fifo_decisions: u64) -> Box<dyn Scheduler> {
        let mut s = self.scheduler();
        s.begin_run(0);
        s.end_run(fifo_decisions);
        s
    }

    /// Which entries this policy may reorder: what a [`Replay`](crate::scheduler::Replay) of its schedules must use.
    ///
    /// ```
    /// use tulipsim::{scheduler::Eligibility, Policy};
    /// assert_eq!(Policy::Chaos.eligibility(), Eligibility::Chaos);
    /// assert_eq!(Policy::Random.eligibility(), Eligibility::Causal);
    /// ```
    pub fn eligibility(&self) -> Eligibility {
        match self {
            Policy::Chaos => Eligibility::Chaos,
            Policy::Custom(make) => make().eligibility(),
            _ => Eligibility::Causal,
        }
    }

    /// Whether this policy's scheduler learns the run length from a FIFO run (see
    /// [`warm_up_length`](super::warm_up_length)); a custom one may, so it is warmed too.
    pub(crate) fn learns_run_length(&self) -> bool {
        matches!(
            self,
            Policy::Pct(_) | Policy::Delay(_) | Policy::Portfolio | Policy::Custom(_)
        )
    }

    /// Whether every seed gives this policy the same run when no faults are drawn, so that one
    /// seed stands for all.
    pub(crate) fn ignores_seed(&self) -> bool {
        matches!(self, Policy::Fifo)
    }
}

impl std::str::FromStr for Policy {
    type Err = String;

    fn from_str(s: &str) -> Result<Policy, String> {
        let s = s.trim().to_ascii_lowercase();
        let num = |rest: &str, default: u32| -> Result<u32, String> {
            if rest.is_empty() {
                Ok(default)
            } else {
                rest.parse().map_err(|_| format!("not a policy: {s:?}"))
            }
        };
        Ok(match s.as_str() {
            "fifo" => Policy::Fifo,
            "random" => Policy::Random,
            "chaos" => Policy::Chaos,
            "portfolio" => Policy::Portfolio,
            "delay-bounding" | "delay_bounding" | "idb" => Policy::DelayBounding(3),
            other if other.starts_with("pct") => Policy::Pct(num(&other[3..], 2)?.max(1)),
            other if other.starts_with("delay") => Policy::Delay(num(&other[5..], 2)?),
            _ => {
                return Err(format!(
                    "not a policy: {s:?} (fifo, random, chaos, pctN, delayN, portfolio, delay-bounding)"
                ))
            }
        })
    }
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}
