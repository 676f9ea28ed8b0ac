//! What a policy sees of a decision: the kinds of ready entries, the candidates among them and
//! the choice point that lists them.
//!
//! A candidate carries data about its entry (kind, origin, task id, spawn site), never the
//! entry. It still holds its task, seen as a [`CandidateTask`], to read the task's name only
//! if a policy asks: copying every name into every candidate cost a policy that weighs each
//! candidate (PCT) an allocation per named task per decision.
//!
//! The ready queue is below the policies' floor's reach, so a decision sees it as an
//! [`EligibleQueue`], the interface defined here that the loop's queue implements. Its calls
//! are coarse: the count is read once by the loop when it makes the decision, and listing the
//! candidates is one dynamic call that fills them all (seeing each candidate through a dynamic
//! call cost PCT measurably).

use std::fmt;
use std::panic::Location;
use std::rc::Rc;

/// What a policy may see of a candidate's task beyond its id: implemented by the loop's tasks.
pub(crate) trait CandidateTask {
    /// The task's name (`Task-N` unless named).
    fn task_name(&self) -> String;
}

/// What a decision reads of the loop's ready queue: its eligible entries, oldest first (the
/// loop's `ReadyQueue` implements it; a policy never sees it, only [`Candidates`]).
pub(crate) trait EligibleQueue {
    /// The `i`-th eligible entry, as a policy sees it.
    fn candidate_at(&self, i: usize) -> Option<Candidate>;
    /// Every eligible entry, oldest first, as a policy sees them.
    fn candidates(&self) -> Vec<Candidate>;
    /// What the `i`-th eligible entry is, without its task handle.
    fn probe_at(&self, i: usize) -> Option<Probe>;
    /// How many eligible entries were removed so far (wrapping), and whether the last removal
    /// made the next entry of its origin eligible (at the removed one's index).
    fn last_removal(&self) -> (u64, bool);
}

/// A candidate's identity without its task handle: what PCT's view reads of the entries it
/// fetches (two a decision). Building a [`Candidate`] clones the task's `Rc` and copies the
/// whole struct out through the dynamic call, then drops it: ~230 instructions of the ~340 a
/// fetch cost on the yield storm, where the k-th search is the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Probe {
    pub(crate) kind: EntryKind,
    pub(crate) task: Option<u64>,
    pub(crate) origin: u64,
}

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
    pub(crate) run: Option<Rc<dyn CandidateTask>>,
}

impl Candidate {
    /// The name of the candidate's task (`Task-N` unless named), if it belongs to one.
    ///
    /// ```
    /// use tulipsim::scheduler::{ChoicePoint, Scheduler};
    /// use tulipsim::{sleep, EventLoop};
    ///
    /// /// Prefers the task named "urgent".
    /// struct Urgent;
    /// impl Scheduler for Urgent {
    ///     fn name(&self) -> String { "urgent".into() }
    ///     fn choose(&mut self, p: &ChoicePoint<'_>) -> usize {
    ///         p.candidates.iter().position(|c| c.task_name().as_deref() == Some("urgent")).unwrap_or(0)
    ///     }
    /// }
    /// let lp = EventLoop::new();
    /// lp.set_scheduler(Urgent);
    /// let log = std::rc::Rc::new(std::cell::RefCell::new(vec![]));
    /// for name in ["calm", "urgent"] {
    ///     let log = log.clone();
    ///     lp.create_task_named(name, async move {
    ///         // Tasks spawned by one step start in spawn order (the causal rule); after a
    ///         // step of their own, either may go first.
    ///         sleep(0).await?;
    ///         log.borrow_mut().push(name);
    ///         Ok(())
    ///     });
    /// }
    /// lp.run_until_complete(sleep(0)).unwrap();
    /// assert_eq!(*log.borrow(), ["urgent", "calm"]);
    /// ```
    pub fn task_name(&self) -> Option<String> {
        self.run.as_ref().map(|t| t.task_name())
    }
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

/// A decision the loop asks a [`Scheduler`](super::Scheduler) to make.
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
    /// The loop's queue, with its eligible count read when the decision was made.
    Queue(&'a dyn EligibleQueue, usize),
}

impl<'a> Candidates<'a> {
    /// The `eligible` eligible entries of `queue` (the count is the loop's to give: reading it
    /// here would be a dynamic call for every `len`).
    pub(crate) fn of_queue(queue: &'a dyn EligibleQueue, eligible: usize) -> Candidates<'a> {
        Candidates(Source::Queue(queue, eligible))
    }

    /// True when these are the loop's ready queue, which changes between two decisions only
    /// as a queue does (what was chosen leaves, its origin's next entry moves up, new entries
    /// append): what lets [`Pct`](super::Pct) keep its view instead of scanning. Candidates a
    /// caller builds itself carry no such promise.
    pub(crate) fn is_ready_queue(&self) -> bool {
        matches!(self.0, Source::Queue(..))
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
            Source::Queue(_, n) => n,
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
            Source::Queue(q, _) => q.candidate_at(i),
        }
    }

    /// What the `i`-th is ([`Candidates::get`] without the task handle).
    pub(crate) fn probe(&self, i: usize) -> Option<Probe> {
        match self.0 {
            Source::Slice(s) => s.get(i).map(|c| Probe {
                kind: c.kind,
                task: c.task,
                origin: c.origin,
            }),
            Source::Queue(q, _) => q.probe_at(i),
        }
    }

    /// The queue's removal record ([`EligibleQueue::last_removal`]); None for candidates a
    /// caller builds itself.
    pub(crate) fn last_removal(&self) -> Option<(u64, bool)> {
        match self.0 {
            Source::Slice(_) => None,
            Source::Queue(q, _) => Some(q.last_removal()),
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
        // One vector's iterator whatever the source: a policy that collects the candidates
        // (PCT) gets the listed vector itself back, neither copied nor allocated again.
        match self.0 {
            Source::Slice(s) => s.to_vec(),
            Source::Queue(q, _) => q.candidates(),
        }
        .into_iter()
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
