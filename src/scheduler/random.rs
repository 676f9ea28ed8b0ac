//! `Random`: a uniform choice among the eligible entries at every decision.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::{seeded_stream, ChoicePoint, Eligibility, Scheduler, SCHEDULE_STREAM};

/// At every decision, each eligible entry is equally likely to run next (a seeded ChaCha8
/// stream, so a seed always gives the same run).
///
/// [`Random::chaos`] lifts the causal rule: any ready entry may run next, even before an entry
/// the same step registered earlier. That finds code relying on asyncio's FIFO guarantee, and
/// also reports correct code that relies on it.
///
/// ```
/// use tulipsim::scheduler::{Random, Scheduler};
/// assert_eq!(Random::new().name(), "random");
/// assert_eq!(Random::chaos().name(), "chaos");
/// ```
#[derive(Clone, Debug)]
pub struct Random {
    seed: u64,
    /// The seed's stream, seeded at the first decision: many runs make none (a fresh loop
    /// should not pay for a ChaCha key schedule it never draws from).
    rng: Option<ChaCha8Rng>,
    eligibility: Eligibility,
}

impl Default for Random {
    fn default() -> Self {
        Random::new()
    }
}

impl Random {
    /// Uniform over the entries the causal rule allows.
    ///
    /// ```
    /// use tulipsim::scheduler::Random;
    /// use tulipsim::{EventLoop, LoopConfig};
    /// let lp = EventLoop::with_config(LoopConfig::default().seed(4));
    /// lp.set_scheduler(Random::new());
    /// lp.run_until_complete(tulipsim::sleep(1)).unwrap();
    /// ```
    pub fn new() -> Random {
        Random {
            seed: 0,
            rng: None,
            eligibility: Eligibility::Causal,
        }
    }

    /// Uniform over every ready entry.
    ///
    /// ```
    /// use tulipsim::scheduler::{Eligibility, Random, Scheduler};
    /// assert_eq!(Random::chaos().eligibility(), Eligibility::Chaos);
    /// ```
    pub fn chaos() -> Random {
        Random {
            eligibility: Eligibility::Chaos,
            ..Random::new()
        }
    }
}

impl Scheduler for Random {
    fn name(&self) -> String {
        match self.eligibility {
            Eligibility::Causal => "random".into(),
            Eligibility::Chaos => "chaos".into(),
        }
    }

    fn begin_run(&mut self, seed: u64) {
        self.seed = seed;
        self.rng = None;
    }

    fn choose(&mut self, point: &ChoicePoint<'_>) -> usize {
        let seed = self.seed;
        self.rng
            .get_or_insert_with(|| seeded_stream(seed, SCHEDULE_STREAM))
            .random_range(0..point.candidates.len())
    }

    fn eligibility(&self) -> Eligibility {
        self.eligibility
    }
}
