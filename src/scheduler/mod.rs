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
mod delay;
mod fifo;
mod pct;
mod portfolio;
mod random;
mod replay;

use std::fmt;
use std::panic::Location;
use std::str::FromStr;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

pub use bytes::Bytes;
pub use delay::Delay;
pub use fifo::Fifo;
pub use pct::Pct;
pub use portfolio::Portfolio;
pub use random::Random;
pub use replay::Replay;

/// What a ready entry is, as a policy sees it.
///
/// ```
/// use tulipsim::scheduler::EntryKind;
/// assert_eq!(EntryKind::Step.name(), "step");
/// assert_ne!(EntryKind::Timer, EntryKind::Callback);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// A task's step: its first, or after `sleep(0)`, or after a foreign waker.
    Step,
    /// A task's wakeup: a future it awaited is done.
    Wakeup,
    /// A future's done-callback.
    DoneCallback,
    /// A `call_soon` callback.
    Callback,
    /// A timer's callback, or a task's sleep, whose deadline came.
    Timer,
}

impl EntryKind {
    /// A short lower-case name, as traces print it.
    ///
    /// ```
    /// assert_eq!(tulipsim::scheduler::EntryKind::Wakeup.name(), "wakeup");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            EntryKind::Step => "step",
            EntryKind::Wakeup => "wakeup",
            EntryKind::DoneCallback => "done-callback",
            EntryKind::Callback => "callback",
            EntryKind::Timer => "timer",
        }
    }
}

/// One entry that may run next.
///
/// ```
/// use tulipsim::scheduler::{Candidate, ChoicePoint, EntryKind, Scheduler};
///
/// /// Runs task steps before anything else (a policy of one's own).
/// struct TasksFirst;
/// impl Scheduler for TasksFirst {
///     fn name(&self) -> String { "tasks-first".into() }
///     fn choose(&mut self, point: &ChoicePoint<'_>) -> usize {
///         point.candidates.iter()
///             .position(|c: Candidate| c.kind == EntryKind::Step)
///             .unwrap_or(0)
///     }
/// }
/// ```
#[derive(Clone)]
pub struct Candidate {
    /// What the entry is.
    pub kind: EntryKind,
    /// The task it belongs to (its id in the loop, from 1): a task's step, wakeup or sleep.
    pub task: Option<u64>,
    /// Where that task was spawned.
    pub spawned_at: Option<&'static Location<'static>>,
    /// Which step registered this entry: entries of one origin keep their order under the
    /// causal rule. Entries registered outside any step share the origin of that stretch of
    /// time; each timer coming due has one of its own.
    pub origin: u64,
    pub(crate) run: Option<std::rc::Rc<dyn crate::tasks::TaskRun>>,
}

impl fmt::Debug for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Candidate")
            .field("kind", &self.kind)
            .field("task", &self.task)
            .field("origin", &self.origin)
            .finish()
    }
}

/// A decision the loop asks a [`Scheduler`] to make.
///
/// ```
/// use tulipsim::scheduler::{Candidate, Candidates, ChoicePoint};
/// let none: &[Candidate] = &[];
/// let point = ChoicePoint { index: 3, candidates: Candidates::from(none), time_ns: 1_000 };
/// assert_eq!((point.index, point.time_ns), (3, 1_000));
/// ```
#[derive(Debug)]
pub struct ChoicePoint<'a> {
    /// How many decisions (points with two or more candidates) came before this one in the run.
    pub index: u64,
    /// The eligible entries, oldest first: index 0 is asyncio's FIFO choice.
    pub candidates: Candidates<'a>,
    /// The virtual time, in nanoseconds.
    pub time_ns: i64,
}

/// The eligible entries of a [`ChoicePoint`], oldest first: index 0 is asyncio's FIFO choice.
///
/// Counting them is O(1) and fetching one O(log n), so a policy that only needs how many there
/// are (`Random`, `Bytes`, `Delay`) decides in O(log n) however many tasks are ready; a
/// [`Candidate`] is built only when asked for. A policy of one's own can be tested on a slice:
///
/// ```
/// use tulipsim::scheduler::{Candidate, Candidates, ChoicePoint, Random, Scheduler};
/// let none: &[Candidate] = &[];
/// let point = ChoicePoint { index: 0, candidates: Candidates::from(none), time_ns: 0 };
/// assert!(point.candidates.is_empty());
/// assert_eq!(point.candidates.iter().count(), 0);
/// assert!(point.candidates.get(0).is_none());
/// ```
#[derive(Clone, Copy)]
pub struct Candidates<'a>(Source<'a>);

#[derive(Clone, Copy)]
enum Source<'a> {
    Slice(&'a [Candidate]),
    Queue(&'a crate::ready::ReadyQueue),
}

impl<'a> Candidates<'a> {
    pub(crate) fn of_queue(queue: &'a crate::ready::ReadyQueue) -> Candidates<'a> {
        Candidates(Source::Queue(queue))
    }

    /// How many there are (at least two at a decision the loop asks about).
    ///
    /// ```
    /// use tulipsim::scheduler::{Candidate, Candidates};
    /// let none: &[Candidate] = &[];
    /// assert_eq!(Candidates::from(none).len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        match self.0 {
            Source::Slice(s) => s.len(),
            Source::Queue(q) => q.eligible(),
        }
    }

    /// True if there are none.
    ///
    /// ```
    /// use tulipsim::scheduler::{Candidate, Candidates};
    /// let none: &[Candidate] = &[];
    /// assert!(Candidates::from(none).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th, oldest first.
    ///
    /// ```
    /// use tulipsim::scheduler::{Candidate, Candidates};
    /// let none: &[Candidate] = &[];
    /// assert!(Candidates::from(none).get(0).is_none());
    /// ```
    pub fn get(&self, i: usize) -> Option<Candidate> {
        match self.0 {
            Source::Slice(s) => s.get(i).cloned(),
            Source::Queue(q) => q.eligible_at(i).map(crate::decision::Ready::candidate),
        }
    }

    /// All of them, oldest first (O(ready entries): for policies that weigh each one).
    ///
    /// ```
    /// use tulipsim::scheduler::{Candidate, Candidates};
    /// let none: &[Candidate] = &[];
    /// assert_eq!(Candidates::from(none).iter().count(), 0);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = Candidate> + 'a {
        let (slice, queue) = match self.0 {
            Source::Slice(s) => (Some(s.iter().cloned()), None),
            Source::Queue(q) => (
                None,
                Some(q.eligible_iter().map(crate::decision::Ready::candidate)),
            ),
        };
        slice
            .into_iter()
            .flatten()
            .chain(queue.into_iter().flatten())
    }
}

impl<'a> From<&'a [Candidate]> for Candidates<'a> {
    fn from(candidates: &'a [Candidate]) -> Candidates<'a> {
        Candidates(Source::Slice(candidates))
    }
}

impl fmt::Debug for Candidates<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// A kind of injected fault, as [`Scheduler::fault`] is asked about it.
///
/// ```
/// use tulipsim::scheduler::FaultKind;
/// assert_eq!(FaultKind::NetReset.name(), "net-reset");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// A `wait_for` or `timeout` scope's timer fires now instead of at its deadline.
    EarlyTimeout,
    /// A timer fires later than asked (never earlier).
    TimerJitter,
    /// A task is cancelled out of the blue before one of its steps.
    SpuriousCancel,
    /// A `buggify!()` call site is enabled for this run.
    BuggifyEnable,
    /// An enabled `buggify!()` call site fires.
    BuggifyFire,
    /// A packet of a stream connection arrives late (its order kept).
    NetDelay,
    /// A stream connection is reset as a data packet reaches one of its ends.
    NetReset,
    /// The link between two hosts stops delivering for a while.
    NetPartition,
    /// A stream connection's sending end has its write side shut as a data packet arrives.
    NetHalfClose,
    /// A host stops responding for a while: every packet from or to it is held.
    NetUnresponsive,
}

impl FaultKind {
    /// A short name, as traces print it.
    ///
    /// ```
    /// assert_eq!(tulipsim::scheduler::FaultKind::EarlyTimeout.name(), "early-timeout");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::EarlyTimeout => "early-timeout",
            FaultKind::TimerJitter => "timer-jitter",
            FaultKind::SpuriousCancel => "spurious-cancel",
            FaultKind::BuggifyEnable => "buggify-enable",
            FaultKind::BuggifyFire => "buggify-fire",
            FaultKind::NetDelay => "net-delay",
            FaultKind::NetReset => "net-reset",
            FaultKind::NetPartition => "net-partition",
            FaultKind::NetHalfClose => "net-half-close",
            FaultKind::NetUnresponsive => "net-unresponsive",
        }
    }
}

/// The random stream fault decisions draw from: seeded from the run's seed, separate from the
/// scheduling stream.
///
/// ```
/// let mut rng = tulipsim::scheduler::FaultRng::seeded(1);
/// let draws: Vec<u64> = (0..3).map(|_| rng.below(100)).collect();
/// let mut again = tulipsim::scheduler::FaultRng::seeded(1);
/// assert_eq!(draws, (0..3).map(|_| again.below(100)).collect::<Vec<_>>()); // seeded
/// ```
pub struct FaultRng(pub(crate) ChaCha8Rng);

impl FaultRng {
    /// True with probability `p` (clamped to `[0, 1]`).
    ///
    /// ```
    /// let mut rng = tulipsim::scheduler::FaultRng::seeded(7);
    /// assert!(!rng.chance(0.0));
    /// assert!(rng.chance(1.0));
    /// ```
    pub fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            false
        } else if p >= 1.0 {
            true
        } else {
            self.0.random_bool(p)
        }
    }

    /// A uniform integer in `0..n` (0 when `n` is 0).
    ///
    /// ```
    /// let mut rng = tulipsim::scheduler::FaultRng::seeded(7);
    /// assert!(rng.below(10) < 10);
    /// ```
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.0.random_range(0..n)
        }
    }

    /// The fault stream of `seed`.
    ///
    /// ```
    /// let mut a = tulipsim::scheduler::FaultRng::seeded(42);
    /// let mut b = tulipsim::scheduler::FaultRng::seeded(42);
    /// assert_eq!(a.below(1_000_000), b.below(1_000_000));
    /// ```
    pub fn seeded(seed: u64) -> FaultRng {
        FaultRng(seeded_stream(seed, FAULT_STREAM))
    }
}

/// The random stream the code under test draws from ([`random_u64`](crate::random_u64) and
/// what is built on it): seeded from the run's seed, separate from the scheduling and fault
/// streams, so that drawing moves neither.
///
/// ```
/// let mut a = tulipsim::scheduler::UserRng::seeded(5);
/// let mut b = tulipsim::scheduler::UserRng::seeded(5);
/// assert_eq!(a.next_u64(), b.next_u64());
/// ```
pub struct UserRng(pub(crate) ChaCha8Rng);

impl UserRng {
    /// The user stream of `seed`.
    ///
    /// ```
    /// let mut other = tulipsim::scheduler::UserRng::seeded(6);
    /// let mut mine = tulipsim::scheduler::UserRng::seeded(5);
    /// assert_ne!(mine.next_u64(), other.next_u64());
    /// ```
    pub fn seeded(seed: u64) -> UserRng {
        UserRng(seeded_stream(seed, USER_STREAM))
    }

    /// The next draw.
    ///
    /// ```
    /// let mut rng = tulipsim::scheduler::UserRng::seeded(1);
    /// assert_ne!(rng.next_u64(), rng.next_u64());
    /// ```
    pub fn next_u64(&mut self) -> u64 {
        use rand::RngCore;
        self.0.next_u64()
    }
}

pub(crate) const SCHEDULE_STREAM: u64 = 0;
pub(crate) const FAULT_STREAM: u64 = 1;
pub(crate) const AMOUNT_STREAM: u64 = 2;
/// The code under test's own draws (`tulipsim::random_u64` and friends).
pub(crate) const USER_STREAM: u64 = 3;

/// The ChaCha8 stream `stream` of `seed`: independent streams of one seed.
pub(crate) fn seeded_stream(seed: u64, stream: u64) -> ChaCha8Rng {
    use rand_chacha::rand_core::SeedableRng;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

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

/// A run's choices as deviations from FIFO: `(decision number, candidate index)` pairs for
/// every decision that did not take index 0, in order.
///
/// Its text form, `"3:1,17:2"`, is what failure reports print and `TULIPSIM_REPLAY` reads; the
/// empty string is the FIFO schedule.
///
/// ```
/// use tulipsim::scheduler::Schedule;
/// let s: Schedule = "3:1,17:2".parse().unwrap();
/// assert_eq!(s.deviations(), [(3, 1), (17, 2)]);
/// assert_eq!(s.to_string(), "3:1,17:2");
/// assert!("".parse::<Schedule>().unwrap().is_fifo());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Schedule {
    deviations: Vec<(u64, u32)>,
}

impl Schedule {
    /// The FIFO schedule: no deviation.
    ///
    /// ```
    /// use tulipsim::scheduler::Schedule;
    /// assert!(Schedule::fifo().is_fifo());
    /// assert_eq!(Schedule::fifo().to_string(), "");
    /// ```
    pub fn fifo() -> Schedule {
        Schedule::default()
    }

    /// A schedule from deviations; they are sorted by decision number, index-0 and duplicate
    /// entries dropped (the first for a decision number wins).
    ///
    /// ```
    /// use tulipsim::scheduler::Schedule;
    /// let s = Schedule::from_deviations(vec![(9, 1), (2, 0), (4, 3), (9, 2)]);
    /// assert_eq!(s.to_string(), "4:3,9:1");
    /// ```
    pub fn from_deviations(mut deviations: Vec<(u64, u32)>) -> Schedule {
        deviations.retain(|&(_, o)| o != 0);
        deviations.sort_by_key(|&(d, _)| d);
        deviations.dedup_by_key(|&mut (d, _)| d);
        Schedule { deviations }
    }

    /// The deviations, by decision number.
    ///
    /// ```
    /// let s: tulipsim::scheduler::Schedule = "2:1,7:3".parse().unwrap();
    /// assert_eq!(s.deviations(), [(2, 1), (7, 3)]);
    /// ```
    pub fn deviations(&self) -> &[(u64, u32)] {
        &self.deviations
    }

    /// True for the FIFO schedule.
    ///
    /// ```
    /// let s: tulipsim::scheduler::Schedule = "2:1".parse().unwrap();
    /// assert!(!s.is_fifo());
    /// assert!(s.without(0).is_fifo());
    /// ```
    pub fn is_fifo(&self) -> bool {
        self.deviations.is_empty()
    }

    /// How many deviations (the schedule's length, which minimisation shortens).
    ///
    /// ```
    /// assert_eq!("1:1,5:2".parse::<tulipsim::scheduler::Schedule>().unwrap().len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.deviations.len()
    }

    /// True when there is no deviation (same as [`is_fifo`](Self::is_fifo)).
    ///
    /// ```
    /// assert!(tulipsim::scheduler::Schedule::fifo().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.deviations.is_empty()
    }

    /// The candidate index this schedule takes at decision `index`.
    ///
    /// ```
    /// let s: tulipsim::scheduler::Schedule = "3:2".parse().unwrap();
    /// assert_eq!((s.index_at(3), s.index_at(4)), (2, 0));
    /// ```
    pub fn index_at(&self, index: u64) -> u32 {
        match self.deviations.binary_search_by_key(&index, |&(d, _)| d) {
            Ok(i) => self.deviations[i].1,
            Err(_) => 0,
        }
    }

    /// This schedule without its `i`-th deviation.
    ///
    /// ```
    /// let s: tulipsim::scheduler::Schedule = "1:1,5:2".parse().unwrap();
    /// assert_eq!(s.without(0).to_string(), "5:2");
    /// ```
    pub fn without(&self, i: usize) -> Schedule {
        let mut deviations = self.deviations.clone();
        if i < deviations.len() {
            deviations.remove(i);
        }
        Schedule { deviations }
    }

    pub(crate) fn push(&mut self, index: u64, offset: u32) {
        if offset != 0 {
            self.deviations.push((index, offset));
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (d, o)) in self.deviations.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{d}:{o}")?;
        }
        Ok(())
    }
}

/// Why a text is not a [`Schedule`].
///
/// ```
/// assert!("3-1".parse::<tulipsim::scheduler::Schedule>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleParseError(String);

impl fmt::Display for ScheduleParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not a schedule: {:?} (expected decision:index pairs separated by commas, e.g. \"3:1,17:2\")",
            self.0
        )
    }
}

impl std::error::Error for ScheduleParseError {}

impl FromStr for Schedule {
    type Err = ScheduleParseError;

    fn from_str(text: &str) -> Result<Schedule, ScheduleParseError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Schedule::fifo());
        }
        let bad = || ScheduleParseError(text.to_string());
        let mut deviations = Vec::new();
        for pair in text.split(',') {
            let (d, o) = pair.trim().split_once(':').ok_or_else(bad)?;
            let d: u64 = d.trim().parse().map_err(|_| bad())?;
            let o: u32 = o.trim().parse().map_err(|_| bad())?;
            deviations.push((d, o));
        }
        Ok(Schedule::from_deviations(deviations))
    }
}

/// Fuzzer input as a schedule: a sparse list of deviations, as `cargo fuzz` targets take them.
///
/// ```
/// use arbitrary::{Arbitrary, Unstructured};
/// let s = tulipsim::scheduler::Schedule::arbitrary(&mut Unstructured::new(&[1, 2, 3, 4, 5])).unwrap();
/// assert!(s.len() <= 5);
/// ```
impl<'a> arbitrary::Arbitrary<'a> for Schedule {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Schedule> {
        let deviations: Vec<(u16, u8)> = u.arbitrary()?;
        Ok(Schedule::from_deviations(
            deviations
                .into_iter()
                .map(|(d, o)| (u64::from(d), u32::from(o % 4)))
                .collect(),
        ))
    }
}

/// Which fault queries fire: a run asks "does this fault happen?" at each fault point of a
/// kind that is on (probability above 0), in order; the plan lists the numbers of the queries
/// that fire. Like a [`Schedule`], dropping one entry leaves the others in place, so plans
/// shrink well (proptest shrinks them toward no fault). [`Replay::with_faults`] follows one,
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
