//! The one decision point: every choice the loop makes goes through a [`Scheduler`].
//!
//! When two or more ready entries could run next, the loop builds the list of *candidates*
//! (eligible entries, oldest first) and asks the scheduler for an index into it. Index 0 is
//! what asyncio's FIFO loop would run; anything else is a *deviation*. The loop records every
//! deviation as `(decision number, index)`: that sparse list is the run's [`Schedule`], which
//! [`Replay`] reproduces and the harness shrinks by dropping deviations one at a time.
//!
//! Which entries are eligible is the *causal rule* (see [`Eligibility`]): entries that one step
//! registered keep their order, entries from different steps may overtake each other. Faults
//! are decisions too ([`Scheduler::fault`]), drawn from a random stream of their own so that
//! turning a fault on does not reshuffle the schedule.

mod bytes;
mod candidate;
mod delay;
mod fault_kind;
mod fault_plan;
mod fifo;
mod pct;
mod portfolio;
mod random;
mod replay;
mod schedule;
mod streams;

pub use bytes::Bytes;
pub use candidate::{Candidate, Candidates, ChoicePoint, EntryKind};
pub(crate) use candidate::{CandidateTask, EligibleQueue, Probe};
pub use delay::Delay;
pub use fault_kind::FaultKind;
pub use fault_plan::FaultPlan;
pub use fifo::Fifo;
pub use pct::Pct;
pub use portfolio::Portfolio;
pub use random::Random;
pub use replay::Replay;
pub use schedule::{Schedule, ScheduleParseError};
pub(crate) use streams::{seeded_stream, AMOUNT_STREAM, SCHEDULE_STREAM};
pub use streams::{FaultRng, UserRng};

/// Which ready entries a policy may choose among.
///
/// ```
/// use tulipsim::scheduler::Eligibility;
/// assert_eq!(Eligibility::default(), Eligibility::Causal);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Eligibility {
    /// The default: entries registered by one step keep their order (a future's
    /// done-callbacks run in registration order, as asyncio promises), entries of different
    /// steps may be reordered (as if one wakeup were delayed).
    #[default]
    Causal,
    /// Any ready entry may run next. This finds code that relies on asyncio's FIFO guarantee
    /// for `call_soon`, and reports correct code that relies on it as buggy.
    Chaos,
}

/// Decides every choice of a run: which candidate runs next, and whether each fault happens.
///
/// A scheduler is given to a loop with [`EventLoop::set_scheduler`](crate::LoopHandle::set_scheduler)
/// or to the harness; the harness keeps one per worker across runs, so a policy may learn
/// (`begin_run`/`end_run`). See [`Candidate`] for a small policy of one's own.
///
/// ```
/// use tulipsim::scheduler::{ChoicePoint, Scheduler};
/// use tulipsim::{create_task, sleep, EventLoop};
///
/// /// Always runs the newest candidate (LIFO).
/// struct Newest;
/// impl Scheduler for Newest {
///     fn name(&self) -> String { "newest".into() }
///     fn choose(&mut self, point: &ChoicePoint<'_>) -> usize { point.candidates.len() - 1 }
/// }
/// let lp = EventLoop::new();
/// lp.set_scheduler(Newest);
/// lp.run_until_complete(async {
///     create_task(sleep(0))?;
///     create_task(sleep(0))?;
///     sleep(0).await
/// }).unwrap();
/// assert!(lp.decisions() > 0);
/// ```
pub trait Scheduler {
    /// The policy's name, as failure reports and `TULIPSIM_POLICY` spell it.
    ///
    /// ```
    /// use tulipsim::scheduler::{Random, Scheduler};
    /// assert_eq!(Random::new().name(), "random");
    /// assert_eq!(Random::chaos().name(), "chaos");
    /// ```
    fn name(&self) -> String;

    /// A run with `seed` starts.
    ///
    /// ```
    /// use tulipsim::scheduler::{ChoicePoint, Scheduler};
    /// /// Remembers the seed of the run (a policy may seed its own stream from it).
    /// struct Seeded(u64);
    /// impl Scheduler for Seeded {
    ///     fn name(&self) -> String { "seeded".into() }
    ///     fn begin_run(&mut self, seed: u64) { self.0 = seed }
    ///     fn choose(&mut self, _: &ChoicePoint<'_>) -> usize { 0 }
    /// }
    /// let lp = tulipsim::EventLoop::with_config(tulipsim::LoopConfig::default().seed(11));
    /// lp.set_scheduler(Seeded(0));
    /// lp.run_until_complete(tulipsim::sleep(0)).unwrap();
    /// ```
    fn begin_run(&mut self, seed: u64) {
        let _ = seed;
    }

    /// Which candidate runs next: an index into `point.candidates` (0 is FIFO). An index out
    /// of range counts as 0.
    ///
    /// ```
    /// use tulipsim::scheduler::{ChoicePoint, Scheduler};
    /// /// asyncio's own order: always the oldest candidate.
    /// struct Oldest;
    /// impl Scheduler for Oldest {
    ///     fn name(&self) -> String { "oldest".into() }
    ///     fn choose(&mut self, _point: &ChoicePoint<'_>) -> usize { 0 }
    /// }
    /// ```
    fn choose(&mut self, point: &ChoicePoint<'_>) -> usize;

    /// Whether fault `kind` happens, where the run's configuration gives it probability `p`.
    /// The default draws from `rng`, the run's fault stream.
    ///
    /// ```
    /// use tulipsim::scheduler::{ChoicePoint, FaultKind, FaultRng, Scheduler};
    /// struct NeverFaults;
    /// impl Scheduler for NeverFaults {
    ///     fn name(&self) -> String { "never-faults".into() }
    ///     fn choose(&mut self, _: &ChoicePoint<'_>) -> usize { 0 }
    ///     fn fault(&mut self, _: FaultKind, _: f64, _: &mut FaultRng) -> bool { false }
    /// }
    /// ```
    fn fault(&mut self, kind: FaultKind, p: f64, rng: &mut FaultRng) -> bool {
        let _ = kind;
        rng.chance(p)
    }

    /// A number for the code under test: every [`random_u64`](crate::random_u64) draw and what
    /// is built on it (`random_range`, `tulipsim-tokio`'s `select!` branch order). The default
    /// draws from `rng`, the run's user stream, so a seed gives the same numbers under every
    /// policy; a policy that drives a run from outside overrides it ([`Bytes`] reads fuzzer
    /// input, so a fuzzer explores the program's own random choices too).
    ///
    /// ```
    /// use tulipsim::scheduler::{ChoicePoint, Scheduler, UserRng};
    /// /// Every random draw of the program is 7.
    /// struct Sevens;
    /// impl Scheduler for Sevens {
    ///     fn name(&self) -> String { "sevens".into() }
    ///     fn choose(&mut self, _: &ChoicePoint<'_>) -> usize { 0 }
    ///     fn next_u64(&mut self, _: &mut UserRng) -> u64 { 7 }
    /// }
    /// let lp = tulipsim::EventLoop::new();
    /// lp.set_scheduler(Sevens);
    /// assert_eq!(lp.run_until_complete(async { tulipsim::random_u64() }).unwrap(), 7);
    /// ```
    fn next_u64(&mut self, rng: &mut UserRng) -> u64 {
        rng.next_u64()
    }

    /// Which entries are eligible; [`Eligibility::Causal`] unless the policy says otherwise.
    ///
    /// ```
    /// use tulipsim::scheduler::{Eligibility, Random, Scheduler};
    /// assert_eq!(Random::new().eligibility(), Eligibility::Causal);
    /// assert_eq!(Random::chaos().eligibility(), Eligibility::Chaos);
    /// ```
    fn eligibility(&self) -> Eligibility {
        Eligibility::Causal
    }

    /// The run is over; `decisions` is how many choice points it had. A policy that learns
    /// across runs learns from this alone, so that the harness can warm fresh schedulers
    /// identically (each seed's run then depends on nothing but its seed).
    ///
    /// ```
    /// use tulipsim::scheduler::{ChoicePoint, Scheduler};
    /// /// Counts the decisions of every run it scheduled.
    /// #[derive(Default)]
    /// struct Counting(u64);
    /// impl Scheduler for Counting {
    ///     fn name(&self) -> String { "counting".into() }
    ///     fn choose(&mut self, _: &ChoicePoint<'_>) -> usize { 0 }
    ///     fn end_run(&mut self, decisions: u64) { self.0 += decisions }
    /// }
    /// ```
    fn end_run(&mut self, decisions: u64) {
        let _ = decisions;
    }

    /// Where the last run stopped following a prescribed schedule, if the policy follows one
    /// ([`Replay`]); failure reports print it.
    ///
    /// ```
    /// use tulipsim::scheduler::{Random, Scheduler};
    /// assert_eq!(Random::new().divergence(), None); // follows no prescribed schedule
    /// ```
    fn divergence(&self) -> Option<String> {
        None
    }
}
