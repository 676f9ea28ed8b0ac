//! The event loop, mirroring asyncio's `base_events.py`: a ready queue of callbacks, a heap of
//! timers, and `_run_once`, on a virtual clock.
//!
//! One iteration (`run_once`) moves every timer whose deadline has come onto the ready queue,
//! then runs exactly the entries that were ready when the iteration began, first in first out;
//! what they schedule waits for the next iteration. When nothing is ready the clock jumps to the
//! earliest timer instead of sleeping. Task steps, task wakeups and done-callbacks are all ready
//! entries, as they are all `call_soon` callbacks in asyncio.

use std::cell::{Cell, RefCell};
use std::mem;
use std::panic::Location;
use std::rc::Rc;
use std::sync::Arc;
use std::task::Waker;

use crate::config::{LoopConfig, PanicPolicy};
use crate::decision::Decide;
use crate::events::{self, nanos_to_secs, Handle, HandleInner};
use crate::exceptions::{DeadlockError, Error, LimitError, LimitKind, PanicError, RunnableTask};
use crate::panics::{self, Caught};
use crate::ready::{Ready, ReadyQueue};

mod closing;
mod entry;
mod exception_context;
mod recycle;
mod runnable;
mod task_slab;
mod timer_queue;
mod timers;
mod wakers;
mod watch;

pub(crate) use closing::{ClosableFuture, CloseHook};
pub(crate) use entry::Entry;
pub use exception_context::ExceptionContext;
pub(crate) use runnable::Runnable;
pub(crate) use watch::{Armed, Command, Watch};

use closing::CallbackFutures;
use task_slab::TaskSlab;
use timer_queue::TimerQueue;
use timers::TimerAction;
use wakers::Inbox;

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

type Handler = Rc<dyn Fn(&ExceptionContext)>;

/// The state of one loop, shared by its handles, futures and tasks.
pub(crate) struct LoopInner {
    pub(crate) ready: RefCell<ReadyQueue>,
    /// Scheduled while a policy decides (the queue is borrowed for its candidates); appended
    /// to the queue once it has chosen.
    pub(crate) deferred: RefCell<Vec<Ready>>,
    timers: RefCell<TimerQueue<TimerAction>>,
    now: Cell<i64>,
    /// The id of the task whose step is running, for the trace and faults (the task itself
    /// is kept by `tasks`, as asyncio's `_current_tasks`).
    pub(crate) current_task: Cell<Option<u64>>,
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
    /// The inbox's list as it was last drained, empty, kept to swap with it.
    inbox_spare: RefCell<Vec<wakers::Woken>>,
    /// The inbox as a waker, which tasks poll with until one keeps it (see [`Inbox`]).
    shared_waker: Waker,
    shared_waker_kept: Cell<bool>,
    /// The shared waker once the inbox's was kept (see [`wakers::SharedWaker`]); made on
    /// first use, and again after each keep.
    second_waker: RefCell<Option<wakers::Shared>>,
    /// Futures that hold closure callbacks, so that closing can clear them (a closure may hold
    /// its own future: a cycle only clearing breaks). Compacted as it grows.
    callback_futures: RefCell<CallbackFutures>,
    callback_futures_compacted: Cell<usize>,
    /// The decision point and the state of faults and the trace (see `decision.rs`).
    pub(crate) decide: Decide,
    /// What registered to be shut when the loop closes (the simulated network of `streams`),
    /// in registration order; `close()` takes them.
    close_hooks: RefCell<Vec<Rc<dyn CloseHook>>>,
    /// How many runs this loop's storage served before the current one (see `recycle.rs`).
    pub(crate) generation: u64,
}

impl LoopInner {
    pub(crate) fn new(config: LoopConfig) -> Rc<LoopInner> {
        panics::install_hook();
        let inbox = Inbox::new();
        Rc::new(LoopInner {
            ready: RefCell::new(ReadyQueue::default()),
            deferred: RefCell::new(Vec::new()),
            timers: RefCell::new(TimerQueue::default()),
            now: Cell::new(0),
            current_task: Cell::new(None),
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
            inbox_spare: RefCell::new(Vec::new()),
            shared_waker: Waker::from(inbox),
            shared_waker_kept: Cell::new(false),
            second_waker: RefCell::new(None),
            callback_futures: RefCell::new(CallbackFutures::default()),
            callback_futures_compacted: Cell::new(0),
            decide: Decide::new(&config),
            config,
            close_hooks: RefCell::new(Vec::new()),
            generation: 0,
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
    ///
    /// Always inlined: every step and wakeup is scheduled here, and whether its few callers
    /// inlined it changed with unrelated edits (a call and a prologue an entry when not).
    #[inline(always)]
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

    pub(crate) fn call_soon_handle(&self, callback: impl FnOnce() + 'static) -> Handle {
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
                    w.enter(task.task_id(), task.spawned_at());
                }
                self.maybe_spurious_cancel(&task);
                task.step(self)
            }
            Entry::Call(handle) => {
                if handle.cancelled.get() {
                    return;
                }
                self.run_callback(|| handle.run(), handle.name.get());
            }
            Entry::Done(callback) => self.run_callback(callback, None),
            Entry::Stop(lp) => {
                if let Some(lp) = lp.upgrade() {
                    lp.stopping.set(true);
                }
            }
            Entry::SleepDone(task, token) => task.sleep_fired(token, self),
        }
    }

    /// Runs a callback; `name` is a user callback's, for the report if it panics.
    fn run_callback(&self, callback: impl FnOnce(), name: Option<events::CallbackName>) {
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
                if seen.insert(task.task_id()) {
                    runnable.push(RunnableTask {
                        name: task.task_name(),
                        spawned_at: task.spawned_at(),
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
}
