//! What a policy sees of a decision: the kinds of ready entries, the candidates among them and
//! the choice point that lists them.
//!
//! A candidate carries data about its entry (kind, origin, task id, spawn site), never the
//! entry. It still holds its task, to read the task's name only if a policy asks: copying
//! every name into every candidate cost a policy that weighs each candidate (PCT) an
//! allocation per named task per decision. A decision still reads the ready queue itself:
//! seeing it through a trait cost PCT a dynamic call per candidate, measurably.

use std::fmt;
use std::panic::Location;
use std::rc::Rc;

use crate::ready::{Ready, ReadyQueue};
use crate::tasks::TaskRun;

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
    pub(crate) run: Option<Rc<dyn TaskRun>>,
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
        self.run.as_ref().map(|t| t.header().name())
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
    Queue(&'a ReadyQueue),
}

impl<'a> Candidates<'a> {
    pub(crate) fn of_queue(queue: &'a ReadyQueue) -> Candidates<'a> {
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
            Source::Queue(q) => q.eligible_at(i).map(Ready::candidate),
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
            Source::Queue(q) => (None, Some(q.eligible_iter().map(Ready::candidate))),
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
