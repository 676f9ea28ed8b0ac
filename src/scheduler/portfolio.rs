//! `Portfolio`: several policies taking turns, one run each.

use super::{ChoicePoint, Delay, Eligibility, FaultKind, FaultRng, Pct, Random, Scheduler};

/// Round-robin over several policies, one per run (as Coyote's portfolio does): seed `s` uses
/// member `s % n`, so that consecutive seeds take turns and a seed alone says which member ran. No single policy finds every kind of bug quickly; taking
/// turns finds each within a small factor of the best policy for it.
///
/// The default portfolio is `Random`, `Pct(1..=3)` and `Delay(1..=2)`.
///
/// ```
/// use tulipsim::scheduler::{Portfolio, Scheduler};
/// let p = Portfolio::default();
/// assert_eq!(p.name(), "portfolio");
/// assert_eq!(p.members(), ["random", "pct1", "pct2", "pct3", "delay1", "delay2"]);
/// ```
pub struct Portfolio {
    policies: Vec<Box<dyn Scheduler>>,
    current: usize,
}

impl Default for Portfolio {
    fn default() -> Self {
        Portfolio::new(vec![
            Box::new(Random::new()),
            Box::new(Pct::new(1)),
            Box::new(Pct::new(2)),
            Box::new(Pct::new(3)),
            Box::new(Delay::new(1)),
            Box::new(Delay::new(2)),
        ])
    }
}

impl Portfolio {
    /// Takes turns among `policies` (at least one; an empty list means [`Random`]).
    ///
    /// ```
    /// use tulipsim::scheduler::{Portfolio, Random, Scheduler};
    /// let p = Portfolio::new(vec![Box::new(Random::new()), Box::new(Random::chaos())]);
    /// assert_eq!(p.members(), ["random", "chaos"]);
    /// ```
    pub fn new(mut policies: Vec<Box<dyn Scheduler>>) -> Portfolio {
        if policies.is_empty() {
            policies.push(Box::new(Random::new()));
        }
        Portfolio {
            policies,
            current: 0,
        }
    }

    /// The members' names, in turn order.
    ///
    /// ```
    /// use tulipsim::scheduler::Portfolio;
    /// assert_eq!(Portfolio::new(vec![]).members(), ["random"]); // empty: Random
    /// ```
    pub fn members(&self) -> Vec<String> {
        self.policies.iter().map(|p| p.name()).collect()
    }

    /// The name of the policy the current (or last) run uses.
    ///
    /// ```
    /// use tulipsim::scheduler::{Portfolio, Scheduler};
    /// let mut p = Portfolio::default();
    /// p.begin_run(0);
    /// assert_eq!(p.current(), "random");
    /// ```
    pub fn current(&self) -> String {
        self.policies[self.current].name()
    }
}

impl Scheduler for Portfolio {
    fn name(&self) -> String {
        "portfolio".into()
    }

    fn begin_run(&mut self, seed: u64) {
        self.current = (seed % self.policies.len() as u64) as usize;
        self.policies[self.current].begin_run(seed);
    }

    fn choose(&mut self, point: &ChoicePoint<'_>) -> usize {
        self.policies[self.current].choose(point)
    }

    fn fault(&mut self, kind: FaultKind, p: f64, rng: &mut FaultRng) -> bool {
        self.policies[self.current].fault(kind, p, rng)
    }

    fn eligibility(&self) -> Eligibility {
        self.policies[self.current].eligibility()
    }

    fn end_run(&mut self, decisions: u64) {
        // Every member learns from every run, whichever ran it.
        for p in &mut self.policies {
            p.end_run(decisions);
        }
    }
}
