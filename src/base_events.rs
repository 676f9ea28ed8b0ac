//! The event loop, mirroring asyncio's `base_events.py`: a ready queue of callbacks, a heap of
//! timers, and `_run_once`, on a virtual clock.
//!
//! One iteration (`run_once`) moves every timer whose deadline has come onto the ready queue,
//! then runs exactly the entries that were ready when the iteration began, first in first out;
//! what they schedule waits for the next iteration. When nothing is ready the clock jumps to the
//! earliest timer instead of sleeping. Task steps, task wakeups and done-callbacks are all ready
//! entries, as they are all `call_soon` callbacks in asyncio.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fmt;
use std::mem;
use std::panic::Location;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};

use crate::config::{LoopConfig, PanicPolicy};
use crate::decision::Decide;
use crate::events::{self, nanos_to_secs, Handle, HandleInner, TimerHandle};
use crate::exceptions::{DeadlockError, Error, LimitError, LimitKind, PanicError, RunnableTask};
use crate::futures::AnyFuture;
use crate::panics::{self, Caught};
use crate::ready::{Ready, ReadyQueue};
use crate::scheduler::EntryKind;
use crate::tasks::{TaskHeader, TaskRef, TaskRun};

/// One entry of the ready queue: what asyncio would hold as a `Handle` in `_ready`.
pub(crate) enum Entry {
    /// A task's `__step`: its first step, after a bare yield, or after a foreign wake.
    Step(Rc<dyn TaskRun>),
    /// A task's `__wakeup`: a future it awaited is done.
    Wakeup(Rc<dyn TaskRun>),
    /// A `call_soon` callback, or a timer whose deadline came.
    Call(Rc<HandleInner>),
    /// A future's done-callback, bound to the future.
    Done(Box<dyn FnOnce()>),
    /// A task's sleep timer came due: completes the sleep's future (see `tasks::SleepSlot`).
    SleepDone(Rc<dyn TaskRun>, u64),
    /// `run_until_complete`'s done-callback: stops that loop. A variant of its own rather than
    /// a boxed closure in `Done`, so that a run allocates nothing for it.
    Stop(Weak<LoopInner>),
}

impl Entry {
    /// What a policy sees of this entry (a timer coming due is marked by the loop itself).
    fn kind(&self) -> EntryKind {
        match self {
            Entry::Step(_) => EntryKind::Step,
            Entry::Wakeup(_) => EntryKind::Wakeup,
            Entry::Call(_) => EntryKind::Callback,
            Entry::Done(_) | Entry::Stop(_) => EntryKind::DoneCallback,
            Entry::SleepDone(..) => EntryKind::Timer,
        }
    }

    /// Frees what the entry holds without running it; a callback is taken out first so that a
    /// closure holding its own handle cannot keep itself alive.
    fn discard(self) {
        if let Entry::Call(h) = &self {
            drop(h.take());
        }
        drop(self);
    }
}

struct Timer {
    when: i64,
    seq: u64,
    action: TimerAction,
}

enum TimerAction {
    Call(Rc<HandleInner>),
    /// A task's sleep, by token; stale once the task's slot moved on.
    Sleep(Rc<dyn TaskRun>, u64),
}

impl Timer {
    fn cancelled(&self) -> bool {
        match &self.action {
            TimerAction::Call(h) => h.cancelled.get(),
            TimerAction::Sleep(task, token) => !task.header().sleep_pending(*token),
        }
    }

    fn into_entry(self) -> Entry {
        match self.action {
            TimerAction::Call(h) => Entry::Call(h),
            TimerAction::Sleep(task, token) => Entry::SleepDone(task, token),
        }
    }

    fn discard(self) {
        if let TimerAction::Call(h) = &self.action {
            drop(h.take());
        }
    }
}

impl PartialEq for Timer {
    fn eq(&self, other: &Self) -> bool {
        (self.when, self.seq) == (other.when, other.seq)
    }
}
impl Eq for Timer {}
impl PartialOrd for Timer {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timer {
    /// Reversed, so that `BinaryHeap` pops the earliest deadline, and among equal deadlines the
    /// one scheduled first (asyncio leaves that order undefined; see docs/semantics.md).
    fn cmp(&self, other: &Self) -> Ordering {
        (other.when, other.seq).cmp(&(self.when, self.seq))
    }
}

/// Wakes from `std::task::Waker`s (foreign futures) land here; the loop drains them between
/// entries, so a waker never runs anything inline.
///
/// The inbox is also the loop's *shared waker*: tasks poll with it, as whichever task is
/// polling (`slot`, `task_id`), until a poll keeps a clone of it; that task keeps it, and
/// tasks polled later get a [`TaskWaker`] of their own. tulipsim's awaitables never touch the
/// waker, so a program without foreign futures allocates no waker at all.
pub(crate) struct Inbox {
    pending: AtomicBool,
    woken: Mutex<Vec<(usize, u64)>>,
    slot: AtomicUsize,
    task_id: AtomicU64,
}

impl Inbox {
    fn push(&self, slot: usize, task_id: u64) {
        let mut woken = self
            .woken
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        woken.push((slot, task_id));
        self.pending.store(true, AtomicOrdering::Release);
    }
}

impl Wake for Inbox {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.push(
            self.slot.load(AtomicOrdering::Relaxed),
            self.task_id.load(AtomicOrdering::Relaxed),
        );
    }
}

pub(crate) struct TaskWaker {
    inbox: Arc<Inbox>,
    slot: usize,
    task_id: u64,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.inbox.push(self.slot, self.task_id);
    }
}

/// The pending tasks of a loop, by slot; a done task leaves its slot.
#[derive(Default)]
struct TaskSlab {
    slots: Vec<Slot>,
    /// The most recently freed slot, reused first; the free slots chain through `Slot::Free`
    /// rather than a list of their own, which was an allocation per loop.
    free: Option<usize>,
}

enum Slot {
    Task(Rc<dyn TaskRun>),
    /// The next free slot, older.
    Free(Option<usize>),
}

impl TaskSlab {
    fn insert(&mut self, task: Rc<dyn TaskRun>) -> usize {
        match self.free {
            Some(slot) => {
                let old = mem::replace(&mut self.slots[slot], Slot::Task(task));
                if let Slot::Free(next) = old {
                    self.free = next;
                }
                slot
            }
            None => {
                self.slots.push(Slot::Task(task));
                self.slots.len() - 1
            }
        }
    }

    fn remove(&mut self, slot: usize) -> Option<Rc<dyn TaskRun>> {
        let s = self.slots.get_mut(slot)?;
        if matches!(s, Slot::Free(_)) {
            return None;
        }
        match mem::replace(s, Slot::Free(self.free)) {
            Slot::Task(t) => {
                self.free = Some(slot);
                Some(t)
            }
            Slot::Free(_) => None,
        }
    }

    fn is_empty(&self) -> bool {
        self.slots.iter().all(|s| matches!(s, Slot::Free(_)))
    }

    fn tasks(&self) -> impl Iterator<Item = &Rc<dyn TaskRun>> {
        self.slots.iter().filter_map(|s| match s {
            Slot::Task(t) => Some(t),
            Slot::Free(_) => None,
        })
    }

    fn get(&self, slot: usize) -> Option<&Rc<dyn TaskRun>> {
        match self.slots.get(slot)? {
            Slot::Task(t) => Some(t),
            Slot::Free(_) => None,
        }
    }

    /// Every pending task in creation order (slot order depends on reuse, ids do not).
    fn sorted(&self) -> Vec<Rc<dyn TaskRun>> {
        let mut v: Vec<_> = self.tasks().cloned().collect();
        v.sort_by_key(|t| t.header().id);
        v
    }
}

/// Marks the loop as no longer running when `run_forever` ends, even by a panic escaping from
/// user code the loop does not catch (a `Drop` impl), so that the thread can run loops again.
struct RunningGuard<'a>(&'a LoopInner);

impl Drop for RunningGuard<'_> {
    fn drop(&mut self) {
        self.0.stopping.set(false);
        self.0.running.set(false);
        events::leave_running();
    }
}

/// What the loop reports to its exception handler: asyncio's `context` dict.
///
/// ```
/// use tulipsim::{create_task, Error, EventLoop};
///
/// let lp = EventLoop::new();
/// lp.run_until_complete(async {
///     // A task whose exception nobody retrieves...
///     drop(create_task(async { Err::<(), _>(Error::msg("lost")) })?);
///     tulipsim::sleep(0).await?;
///     tulipsim::sleep(0).await
/// }).unwrap();
/// // ...is reported once it is freed.
/// let reports = lp.take_reports();
/// assert_eq!(reports.len(), 1);
/// assert_eq!(reports[0].message(), "Task exception was never retrieved");
/// assert_eq!(reports[0].error().unwrap().to_string(), "lost");
/// ```
///
/// A program makes its own with [`new`](Self::new) and the `with_` methods, and reports it
/// with [`LoopHandle::call_exception_handler`](crate::LoopHandle::call_exception_handler).
#[derive(Clone, Debug)]
pub struct ExceptionContext {
    pub(crate) message: String,
    pub(crate) error: Option<Error>,
    pub(crate) task: Option<String>,
    pub(crate) future: Option<String>,
    pub(crate) site: Option<&'static Location<'static>>,
}

impl ExceptionContext {
    /// A report saying `message`, about nothing in particular yet.
    ///
    /// ```
    /// use tulipsim::{Error, ExceptionContext};
    /// let ctx = ExceptionContext::new("cache flush failed").with_error(Error::msg("disk full"));
    /// assert_eq!(ctx.message(), "cache flush failed");
    /// assert_eq!(ctx.to_string(), "cache flush failed\n  exception: disk full");
    /// ```
    pub fn new(message: impl Into<String>) -> ExceptionContext {
        ExceptionContext {
            message: message.into(),
            error: None,
            task: None,
            future: None,
            site: None,
        }
    }

    /// The same report with `error` as its exception (asyncio's `'exception'` key).
    ///
    /// ```
    /// use tulipsim::{Error, ExceptionContext};
    /// let ctx = ExceptionContext::new("flush failed").with_error(Error::msg("disk full"));
    /// assert_eq!(ctx.error().unwrap().to_string(), "disk full");
    /// ```
    pub fn with_error(mut self, error: Error) -> ExceptionContext {
        self.error = Some(error);
        self
    }

    /// The same report about the task named `name` (asyncio's `'task'` key).
    ///
    /// ```
    /// let ctx = tulipsim::ExceptionContext::new("slow").with_task("worker-1");
    /// assert_eq!(ctx.task(), Some("worker-1"));
    /// ```
    pub fn with_task(mut self, name: impl Into<String>) -> ExceptionContext {
        self.task = Some(name.into());
        self
    }

    /// The same report about the future labelled `label` (asyncio's `'future'` key; see
    /// [`Future::set_label`](crate::Future::set_label)).
    ///
    /// ```
    /// let ctx = tulipsim::ExceptionContext::new("late reply").with_future("reply");
    /// assert_eq!(ctx.future(), Some("reply"));
    /// ```
    pub fn with_future(mut self, label: impl Into<String>) -> ExceptionContext {
        self.future = Some(label.into());
        self
    }

    /// The same report with `site` as where the thing involved was created.
    ///
    /// ```
    /// let here = std::panic::Location::caller();
    /// let ctx = tulipsim::ExceptionContext::new("x").with_site(here);
    /// assert_eq!(ctx.site(), Some(here));
    /// ```
    pub fn with_site(mut self, site: &'static Location<'static>) -> ExceptionContext {
        self.site = Some(site);
        self
    }

    /// What happened, in asyncio's words ("Task was destroyed but it is pending!", ...).
    ///
    /// ```
    /// let ctx = tulipsim::ExceptionContext::new("flush failed");
    /// assert_eq!(ctx.message(), "flush failed");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The exception involved, if any.
    ///
    /// ```
    /// use tulipsim::{Error, ExceptionContext};
    /// assert!(ExceptionContext::new("x").error().is_none());
    /// let ctx = ExceptionContext::new("x").with_error(Error::Timeout);
    /// assert_eq!(ctx.error(), Some(&Error::Timeout));
    /// ```
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }

    /// The task involved, by name, if any.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// drop(lp.create_task_named("forgotten", async { Ok(()) }));
    /// lp.close().unwrap(); // the task never ran
    /// assert_eq!(lp.take_reports()[0].task(), Some("forgotten"));
    /// ```
    pub fn task(&self) -> Option<&str> {
        self.task.as_deref()
    }

    /// The plain future involved, by its label, if it has one (see
    /// [`Future::set_label`](crate::Future::set_label)).
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let f = lp.create_future::<()>();
    /// f.set_label("reply");
    /// f.set_exception(tulipsim::Error::msg("x")).unwrap();
    /// drop(f); // never retrieved
    /// assert_eq!(lp.take_reports()[0].future(), Some("reply"));
    /// ```
    pub fn future(&self) -> Option<&str> {
        self.future.as_deref()
    }

    /// Where the future or task involved was created, or the callback involved scheduled.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let _t = lp.create_task(async { Ok(()) });
    /// lp.close().unwrap();
    /// assert_eq!(lp.take_reports()[0].site().unwrap().line(), line!() - 2);
    /// ```
    pub fn site(&self) -> Option<&'static Location<'static>> {
        self.site
    }
}

impl fmt::Display for ExceptionContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(t) = &self.task {
            write!(f, "\n  task: {t}")?;
        }
        if let Some(l) = &self.future {
            write!(f, "\n  future: {l}")?;
        }
        if let Some(s) = self.site {
            write!(f, "\n  created at: {s}")?;
        }
        if let Some(e) = &self.error {
            write!(f, "\n  exception: {e}")?;
        }
        Ok(())
    }
}

type Handler = Rc<dyn Fn(&ExceptionContext)>;

/// The futures registered for `close()`, in registration order. The first is kept inline: a
/// run usually registers one (the main future, for `run_until_complete`'s stop callback),
/// and a fresh loop should not allocate for it.
#[derive(Default)]
struct CallbackFutures {
    first: Option<Weak<dyn AnyFuture>>,
    rest: Vec<Weak<dyn AnyFuture>>,
}

impl CallbackFutures {
    fn push(&mut self, fut: Weak<dyn AnyFuture>) {
        if self.first.is_none() && self.rest.is_empty() {
            self.first = Some(fut);
        } else {
            self.rest.push(fut);
        }
    }

    fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// In place: rebuilding the list made every compaction grow a fresh vector from nothing
    /// (issue #20: a fifth of a `wait_for`'s allocator time). A dropped `first` leaves the
    /// survivors in `rest`, still after it in order, which `push` and `into_iter` allow.
    fn retain(&mut self, mut keep: impl FnMut(&Weak<dyn AnyFuture>) -> bool) {
        self.first = self.first.take().filter(&mut keep);
        self.rest.retain(keep);
    }

    fn into_iter(self) -> impl Iterator<Item = Weak<dyn AnyFuture>> {
        self.first.into_iter().chain(self.rest)
    }
}

/// The state of one loop, shared by its handles, futures and tasks.
pub(crate) struct LoopInner {
    pub(crate) ready: RefCell<ReadyQueue>,
    /// Scheduled while a policy decides (the queue is borrowed for its candidates); appended
    /// to the queue once it has chosen.
    pub(crate) deferred: RefCell<Vec<Ready>>,
    timers: RefCell<BinaryHeap<Timer>>,
    now: Cell<i64>,
    timer_seq: Cell<u64>,
    /// The task whose step is running (asyncio's `_current_tasks[loop]`).
    pub(crate) current: RefCell<Option<Rc<dyn TaskRun>>>,
    tasks: RefCell<TaskSlab>,
    next_task_id: Cell<u64>,
    pub(crate) running: Cell<bool>,
    pub(crate) stopping: Cell<bool>,
    pub(crate) closed: Cell<bool>,
    pub(crate) steps: Cell<u64>,
    pub(crate) config: LoopConfig,
    pub(crate) reports: RefCell<Vec<ExceptionContext>>,
    pub(crate) handler: RefCell<Option<Handler>>,
    fatal: RefCell<Option<Error>>,
    has_fatal: Cell<bool>,
    /// Numbers the `run_until_complete` calls, so that each removes its own stop callback.
    runs: Cell<u64>,
    inbox: Arc<Inbox>,
    /// The inbox as a waker, which tasks poll with until one keeps it (see [`Inbox`]).
    shared_waker: Waker,
    shared_waker_kept: Cell<bool>,
    /// Futures that hold closure callbacks, so that closing can clear them (a closure may hold
    /// its own future: a cycle only clearing breaks). Compacted as it grows.
    callback_futures: RefCell<CallbackFutures>,
    callback_futures_compacted: Cell<usize>,
    /// The decision point, faults and trace (see `decision.rs`).
    pub(crate) decide: Decide,
    /// What registered to be shut when the loop closes (the simulated network of `streams`),
    /// in registration order; `close()` takes them.
    close_hooks: RefCell<Vec<Rc<dyn CloseHook>>>,
}

/// Something kept by a loop, made on first use, that must be shut when the loop closes: the
/// loop holds it without knowing what it is (the simulated network registers itself so).
pub(crate) trait CloseHook: Any {
    /// The loop is closing: free whatever may hold user values (a server's handler may hold
    /// anything, its own server included).
    fn close(&self);
}

impl LoopInner {
    pub(crate) fn new(config: LoopConfig) -> Rc<LoopInner> {
        panics::install_hook();
        let inbox = Arc::new(Inbox {
            pending: AtomicBool::new(false),
            woken: Mutex::new(Vec::new()),
            slot: AtomicUsize::new(0),
            task_id: AtomicU64::new(0),
        });
        Rc::new(LoopInner {
            ready: RefCell::new(ReadyQueue::default()),
            deferred: RefCell::new(Vec::new()),
            timers: RefCell::new(BinaryHeap::new()),
            now: Cell::new(0),
            timer_seq: Cell::new(0),
            current: RefCell::new(None),
            tasks: RefCell::new(TaskSlab::default()),
            next_task_id: Cell::new(1),
            running: Cell::new(false),
            stopping: Cell::new(false),
            closed: Cell::new(false),
            steps: Cell::new(0),
            reports: RefCell::new(Vec::new()),
            handler: RefCell::new(None),
            fatal: RefCell::new(None),
            has_fatal: Cell::new(false),
            runs: Cell::new(0),
            inbox: inbox.clone(),
            shared_waker: Waker::from(inbox),
            shared_waker_kept: Cell::new(false),
            callback_futures: RefCell::new(CallbackFutures::default()),
            callback_futures_compacted: Cell::new(0),
            decide: Decide::new(&config),
            config,
            close_hooks: RefCell::new(Vec::new()),
        })
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.get()
    }

    #[inline]
    pub(crate) fn now(&self) -> i64 {
        self.now.get()
    }

    /// `call_soon` for internal entries. On a closed loop the entry is freed, not run.
    #[inline]
    pub(crate) fn schedule(&self, entry: Entry) {
        if self.closed.get() {
            entry.discard();
            return;
        }
        let kind = entry.kind();
        let origin = self.decide.origin.get();
        let r = Ready {
            entry,
            origin,
            kind,
        };
        match self.ready.try_borrow_mut() {
            Ok(mut ready) => ready.push_back(r),
            Err(_) => self.deferred.borrow_mut().push(r),
        }
    }

    pub(crate) fn call_soon_handle(&self, callback: Box<dyn FnOnce()>) -> Handle {
        let inner = HandleInner::new(callback, None);
        let handle = Handle {
            inner: inner.clone(),
        };
        if self.closed.get() {
            self.refused_on_closed_loop("call_soon");
            handle.cancel();
        } else {
            self.schedule(Entry::Call(inner));
        }
        handle
    }

    /// A sleeper's timer: the timer-jitter fault may make it fire late.
    pub(crate) fn call_at_nanos(&self, when: i64, callback: Box<dyn FnOnce()>) -> TimerHandle {
        self.call_at_nanos_as(when, callback, true)
    }

    /// A deadline's timer (a timeout's): only the early-timeout fault moves it, where the
    /// timeout is armed, so the timer-jitter fault leaves it alone.
    pub(crate) fn call_at_nanos_exact(
        &self,
        when: i64,
        callback: Box<dyn FnOnce()>,
    ) -> TimerHandle {
        self.call_at_nanos_as(when, callback, false)
    }

    fn call_at_nanos_as(
        &self,
        when: i64,
        callback: Box<dyn FnOnce()>,
        jittered: bool,
    ) -> TimerHandle {
        let inner = HandleInner::new(callback, Some(when));
        let handle = Handle {
            inner: inner.clone(),
        };
        if self.closed.get() {
            self.refused_on_closed_loop("call_at");
            handle.cancel();
        } else {
            let when = if jittered { self.jitter(when) } else { when };
            self.push_timer(when, TimerAction::Call(inner));
        }
        TimerHandle { handle }
    }

    pub(crate) fn add_sleep_timer(&self, when: i64, task: Rc<dyn TaskRun>, token: u64) {
        if !self.closed.get() {
            let when = self.jitter(when);
            self.push_timer(when, TimerAction::Sleep(task, token));
        }
    }

    fn push_timer(&self, when: i64, action: TimerAction) {
        let seq = self.timer_seq.get();
        self.timer_seq.set(seq + 1);
        self.timers.borrow_mut().push(Timer { when, seq, action });
    }

    /// asyncio raises `RuntimeError('Event loop is closed')` here; tulipsim hands back a
    /// cancelled handle instead (so `call_soon` needs no `Result`) and reports the refusal.
    #[cold]
    fn refused_on_closed_loop(&self, what: &str) {
        self.report(ExceptionContext {
            future: None,
            message: format!("{what}() on a closed event loop: the callback will never run"),
            error: Some(Error::runtime("Event loop is closed")),
            task: None,
            site: None,
        });
    }

    // ---- tasks -------------------------------------------------------------------------

    /// Reserves an id for a task about to be created.
    pub(crate) fn new_task_id(&self) -> u64 {
        let id = self.next_task_id.get();
        self.next_task_id.set(id + 1);
        id
    }

    /// The waker to poll `task` with: its own if it has one, else the shared one (see
    /// [`Inbox`]) naming `task`. Call [`after_poll`](Self::after_poll) once the poll is over.
    #[inline]
    pub(crate) fn waker_for<'a>(&'a self, task: &'a TaskHeader) -> &'a Waker {
        if let Some(waker) = task.waker.get() {
            return waker;
        }
        if self.shared_waker_kept.get() {
            return self.own_waker(task);
        }
        self.inbox
            .slot
            .store(task.slot.get() as usize, AtomicOrdering::Relaxed);
        self.inbox.task_id.store(task.id, AtomicOrdering::Relaxed);
        &self.shared_waker
    }

    /// A task polled with the shared waker keeps it if the poll kept a clone of it.
    #[inline]
    pub(crate) fn after_poll(&self, task: &TaskHeader) {
        // Until a task keeps it, the inbox has two owners: the loop and `shared_waker`. More,
        // after a poll with the shared waker (the task still has none of its own), means the
        // poll kept a clone, which must go on waking this task.
        if Arc::strong_count(&self.inbox) > 2 && task.waker.get().is_none() {
            self.keep_shared_waker(task);
        } else {
            // A clone that woke from another thread and was dropped read this task's identity
            // before it let go; the next task's identity is written after.
            std::sync::atomic::fence(AtomicOrdering::Acquire);
        }
    }

    #[cold]
    fn keep_shared_waker(&self, task: &TaskHeader) {
        self.shared_waker_kept.set(true);
        let _ = task.waker.set(self.shared_waker.clone());
    }

    /// Another task kept the shared waker: this one gets a waker of its own.
    #[cold]
    fn own_waker<'a>(&self, task: &'a TaskHeader) -> &'a Waker {
        task.waker.get_or_init(|| {
            Waker::from(Arc::new(TaskWaker {
                inbox: self.inbox.clone(),
                slot: task.slot.get() as usize,
                task_id: task.id,
            }))
        })
    }

    /// The id of the task whose step is running, if any.
    pub(crate) fn current_task_id(&self) -> Option<u64> {
        self.current.borrow().as_ref().map(|t| t.header().id)
    }

    pub(crate) fn register_task(&self, task: Rc<dyn TaskRun>) -> usize {
        self.tasks.borrow_mut().insert(task)
    }

    pub(crate) fn unregister_task(&self, slot: usize) {
        let t = self.tasks.borrow_mut().remove(slot);
        drop(t);
    }

    pub(crate) fn all_tasks(&self) -> Vec<TaskRef> {
        self.tasks
            .borrow()
            .sorted()
            .into_iter()
            .map(TaskRef::from_run)
            .collect()
    }

    /// Runs after every entry, so the check is a plain load; the swap is a locked instruction.
    #[inline]
    fn drain_inbox(&self) {
        if self.inbox.pending.load(AtomicOrdering::Relaxed) {
            self.drain_inbox_slow();
        }
    }

    #[cold]
    fn drain_inbox_slow(&self) {
        if !self.inbox.pending.swap(false, AtomicOrdering::Acquire) {
            return;
        }
        let woken = mem::take(
            &mut *self
                .inbox
                .woken
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        for (slot, id) in woken {
            let task = self.tasks.borrow().get(slot).cloned();
            if let Some(task) = task {
                if task.header().id == id {
                    task.foreign_wake(self);
                }
            }
        }
    }

    // ---- reports and panics --------------------------------------------------------------

    pub(crate) fn report(&self, ctx: ExceptionContext) {
        self.reports.borrow_mut().push(ctx);
    }

    /// Hands collected reports to a custom handler, at a point where no loop state is borrowed.
    pub(crate) fn dispatch_reports(&self) {
        let Some(handler) = self.handler.borrow().clone() else {
            return;
        };
        loop {
            let batch = mem::take(&mut *self.reports.borrow_mut());
            if batch.is_empty() {
                break;
            }
            for ctx in &batch {
                handler(ctx);
            }
        }
    }

    /// Turns a caught panic into an [`Error::Panic`]; under [`PanicPolicy::StopLoop`] it also
    /// ends the run with it.
    pub(crate) fn panicked(
        &self,
        caught: Caught,
        task: Option<(String, &'static Location<'static>)>,
    ) -> Error {
        let (task, spawned_at) = match task {
            Some((name, site)) => (Some(name), Some(site)),
            None => (None, None),
        };
        let err = Error::Panic(Rc::new(PanicError {
            message: caught.message,
            task,
            location: caught.location,
            spawned_at,
            seed: self.config.seed,
        }));
        if self.config.panic_policy == PanicPolicy::StopLoop {
            let mut fatal = self.fatal.borrow_mut();
            if fatal.is_none() {
                *fatal = Some(err.clone());
                self.has_fatal.set(true);
            }
        }
        err
    }

    pub(crate) fn panic_stops_loop(&self) -> bool {
        self.config.panic_policy == PanicPolicy::StopLoop
    }

    /// A fresh number for a `run_until_complete` call.
    pub(crate) fn next_run(&self) -> u64 {
        let run = self.runs.get();
        self.runs.set(run + 1);
        run
    }

    /// The loop's `T`, made with `make` and registered to be closed with the loop on first use.
    pub(crate) fn close_hook<T: CloseHook>(&self, make: impl FnOnce() -> T) -> Rc<T> {
        for hook in self.close_hooks.borrow().iter() {
            let any: Rc<dyn Any> = hook.clone();
            if let Ok(found) = any.downcast::<T>() {
                return found;
            }
        }
        let made = Rc::new(make());
        self.close_hooks.borrow_mut().push(made.clone());
        made
    }

    pub(crate) fn register_callback_future(&self, fut: Weak<dyn AnyFuture>) {
        let mut v = self.callback_futures.borrow_mut();
        v.push(fut);
        if v.len() >= 2 * self.callback_futures_compacted.get().max(32) {
            v.retain(|w| w.upgrade().is_some_and(|f| !f.is_done()));
            self.callback_futures_compacted.set(v.len());
        }
    }

    // ---- running -----------------------------------------------------------------------

    pub(crate) fn run_forever(self: &Rc<Self>) -> Result<(), Error> {
        if self.closed.get() {
            return Err(Error::runtime("Event loop is closed"));
        }
        if self.running.get() {
            return Err(Error::runtime("This event loop is already running"));
        }
        events::enter_running(self)?;
        events::set_thread_loop(self);
        self.running.set(true);
        let running = RunningGuard(self);
        let result = loop {
            if let Err(e) = self.run_once() {
                break Err(e);
            }
            if self.stopping.get() {
                break Ok(());
            }
        };
        drop(running);
        self.dispatch_reports();
        result
    }

    /// asyncio's `_run_once`, with time jumping instead of sleeping.
    fn run_once(self: &Rc<Self>) -> Result<(), Error> {
        self.drain_inbox();
        if self.ready.borrow().is_empty() && !self.stopping.get() {
            match self.next_deadline() {
                None => return Err(self.deadlock()),
                Some(when) if when > self.now.get() => {
                    if when > self.config.max_time {
                        return Err(self.limit(LimitKind::Time));
                    }
                    self.now.set(when);
                }
                Some(_) => {}
            }
        }
        self.move_due_timers();

        let ntodo = self.ready.borrow().len();
        for _ in 0..ntodo {
            let Some(ready) = self.pick() else {
                break;
            };
            self.decide.enter_entry();
            self.record_ran(&ready);
            self.run_entry(ready.entry);
            self.decide.leave_entry();
            let steps = self.steps.get() + 1;
            self.steps.set(steps);
            self.drain_inbox();
            if self.has_fatal.get() {
                self.has_fatal.set(false);
                if let Some(err) = self.fatal.borrow_mut().take() {
                    return Err(err);
                }
            }
            if steps >= self.config.max_steps {
                return Err(self.limit(LimitKind::Steps));
            }
            if self.config.watch.as_ref().is_some_and(|w| w.expired()) {
                return Err(self.limit(LimitKind::Wall));
            }
        }
        self.dispatch_reports();
        Ok(())
    }

    fn run_entry(self: &Rc<Self>, entry: Entry) {
        match entry {
            Entry::Step(task) | Entry::Wakeup(task) => {
                if let Some(w) = &self.config.watch {
                    w.enter(task.header().id, task.header().spawned_at);
                }
                self.maybe_spurious_cancel(&task);
                task.step(self)
            }
            Entry::Call(handle) => {
                if handle.cancelled.get() {
                    return;
                }
                if let Some(callback) = handle.take() {
                    self.run_callback(callback, handle.name.get());
                }
            }
            Entry::Done(callback) => self.run_callback(callback, None),
            Entry::Stop(lp) => {
                if let Some(lp) = lp.upgrade() {
                    lp.stopping.set(true);
                }
            }
            Entry::SleepDone(task, token) => task.header().sleep_fired(token, self, &task),
        }
    }

    /// Runs a callback; `name` is a user callback's, for the report if it panics.
    fn run_callback(&self, callback: Box<dyn FnOnce()>, name: Option<events::CallbackName>) {
        if let Err(caught) = panics::catch(callback) {
            let err = self.panicked(caught, None);
            let done_callback = panics::take_callback();
            if self.config.panic_policy == PanicPolicy::Capture {
                // asyncio: "Exception in callback cb() at file.py:12" (where cb is defined).
                let (message, site) = match (name, done_callback) {
                    (Some((name, site)), _) => (
                        format!("Exception in callback {name} scheduled at {site}"),
                        Some(site),
                    ),
                    (None, Some(name)) => (format!("Exception in callback {name}"), None),
                    (None, None) => ("Exception in callback".to_string(), None),
                };
                self.report(ExceptionContext {
                    future: None,
                    message,
                    error: Some(err),
                    task: None,
                    site,
                });
            }
        }
    }

    /// The earliest deadline of a live timer, dropping cancelled ones from the head.
    fn next_deadline(&self) -> Option<i64> {
        let mut timers = self.timers.borrow_mut();
        while let Some(t) = timers.peek() {
            if !t.cancelled() {
                return Some(t.when);
            }
            if let Some(t) = timers.pop() {
                t.discard();
            }
        }
        None
    }

    fn move_due_timers(&self) {
        let now = self.now.get();
        let mut timers = self.timers.borrow_mut();
        let mut ready = self.ready.borrow_mut();
        while timers.peek().is_some_and(|t| t.when <= now) {
            let Some(t) = timers.pop() else { break };
            if !t.cancelled() {
                // Each timer is a group of its own: a policy may reorder it with anything.
                ready.push_back(Ready {
                    entry: t.into_entry(),
                    origin: self.decide.fresh_origin(),
                    kind: EntryKind::Timer,
                });
            }
        }
    }

    fn deadlock(&self) -> Error {
        let tasks = self
            .tasks
            .borrow()
            .sorted()
            .iter()
            .map(|t| t.waiting_task())
            .collect();
        Error::Deadlock(Rc::new(DeadlockError {
            time: nanos_to_secs(self.now.get()),
            tasks,
        }))
    }

    fn limit(&self, what: LimitKind) -> Error {
        // At the step limit, the tasks still ready: a starved task or a livelock, with how
        // long each has been ready (origins advance by two a step).
        let mut runnable = Vec::new();
        let mut ready_entries = 0;
        if what == LimitKind::Steps {
            let now = self.decide.origin.get();
            let ready = self.ready.borrow();
            ready_entries = ready.len();
            let mut seen = std::collections::BTreeSet::new();
            for r in ready.iter() {
                let Some(task) = r.task() else { continue };
                let h = task.header();
                if seen.insert(h.id) {
                    runnable.push(RunnableTask {
                        name: h.name(),
                        spawned_at: h.spawned_at,
                        waited_steps: now.saturating_sub(r.origin) / 2,
                    });
                }
            }
        }
        let watchdog = self
            .config
            .watch
            .as_ref()
            .filter(|_| what == LimitKind::Wall)
            .map(|w| (w.limit(), w.running_task()));
        Error::Limit(Rc::new(LimitError {
            what,
            watchdog,
            steps: self.steps.get(),
            time: nanos_to_secs(self.now.get()),
            max_steps: self.config.max_steps,
            max_time: nanos_to_secs(self.config.max_time),
            ready_entries,
            runnable,
        }))
    }

    /// Frees everything the loop holds: queued entries, timers, pending tasks (reported as
    /// destroyed while pending) and the callbacks of pending futures. Repeats until nothing
    /// is left, since freeing user values may schedule more.
    pub(crate) fn close(&self) -> Result<(), Error> {
        if self.running.get() {
            return Err(Error::runtime("Cannot close a running event loop"));
        }
        if self.closed.replace(true) {
            return Ok(());
        }
        loop {
            // Checked in place, so that closing an idle loop (the end of most runs) moves and
            // sorts nothing.
            if self.ready.borrow().is_empty()
                && self.timers.borrow().is_empty()
                && self.tasks.borrow().is_empty()
                && self.callback_futures.borrow().is_empty()
                && self.close_hooks.borrow().is_empty()
            {
                break;
            }
            let mut ready = mem::take(&mut *self.ready.borrow_mut());
            let timers = mem::take(&mut *self.timers.borrow_mut());
            let tasks = mem::take(&mut *self.tasks.borrow_mut()).sorted();
            let futures = mem::take(&mut *self.callback_futures.borrow_mut());
            let hooks = mem::take(&mut *self.close_hooks.borrow_mut());
            for hook in hooks {
                hook.close();
            }
            ready.take_all().for_each(|r| r.entry.discard());
            timers.into_vec().into_iter().for_each(Timer::discard);
            for task in tasks {
                task.destroy(self);
            }
            for fut in futures.into_iter().filter_map(|w| w.upgrade()) {
                fut.clear_callbacks();
            }
        }
        let current = self.current.borrow_mut().take();
        drop(current);
        self.dispatch_reports();
        Ok(())
    }
}
