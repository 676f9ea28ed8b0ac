//! asyncio's `Future`, mirroring `futures.py`: three states (pending, cancelled, finished), a
//! list of done-callbacks scheduled with `call_soon` when the future completes, and an
//! awaitable that suspends the current task until then.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::IntoFuture;
use std::mem;
use std::panic::Location;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};

use crate::base_events::{Entry, LoopInner};
use crate::events;
use crate::events::LoopHandle;
use crate::exceptions::{CancelledError, Error};
use crate::tasks::{self, TaskHeader, TaskRun};

pub(crate) enum State<T> {
    Pending,
    Finished(Result<T, Error>),
    Cancelled(Option<Rc<str>>),
    /// The result was moved out by `run_until_complete`, which owned the only way to reach it.
    Consumed,
}

pub(crate) enum Callback<T> {
    /// A task awaiting this future: its `__wakeup`.
    Wakeup(Rc<dyn TaskRun>),
    Done(DoneCallback<T>),
    /// A callback of the task functions, which watch futures of different result types.
    Any(AnyCallback),
    /// `run_until_complete`'s: stops the loop, and the number of the run that added it. It
    /// counts as a closure callback (it registers the future for `close()` as one would), but
    /// allocates nothing.
    Stop(Weak<LoopInner>, u64),
}

/// A done-callback that sees the future without its result type (gather's, wait's, a task
/// group's). Removed by identity, like [`DoneCallback`].
pub(crate) type AnyCallback = Rc<dyn Fn(&Rc<dyn AnyFuture>)>;

/// A future without its result type, as the task functions see it. Opaque.
#[doc(hidden)]
pub struct ErasedFuture(pub(crate) Rc<dyn AnyFuture>);

/// A done-callback: a closure that receives the completed future.
///
/// Any `Fn(&Future<T>)` closure converts into one, so `add_done_callback(|f| ...)` just works.
/// Build one explicitly to remove it later: [`Future::remove_done_callback`] removes every
/// registration of the same `DoneCallback` (clones included) and says how many there were.
///
/// ```
/// use tulipsim::{DoneCallback, EventLoop, Future};
///
/// let lp = EventLoop::new();
/// let fut = lp.create_future::<i32>();
/// let cb = DoneCallback::new(|f: &Future<i32>| println!("done: {:?}", f.result()));
/// fut.add_done_callback(cb.clone());
/// fut.add_done_callback(cb.clone());
/// assert_eq!(fut.remove_done_callback(&cb), 2);
/// ```
pub struct DoneCallback<T>(Rc<CallbackFn<T>>);

type CallbackFn<T> = dyn DoneFn<T>;

/// A done-callback's closure, with its type's name for the report if it panics.
pub(crate) trait DoneFn<T> {
    fn call(&self, fut: &Future<T>);
    fn name(&self) -> &'static str;
}

impl<T, F: Fn(&Future<T>)> DoneFn<T> for F {
    fn call(&self, fut: &Future<T>) {
        self(fut)
    }

    fn name(&self) -> &'static str {
        std::any::type_name::<F>()
    }
}

impl<T> DoneCallback<T> {
    /// Wraps a closure.
    ///
    /// ```
    /// use tulipsim::{DoneCallback, Future};
    /// let cb = DoneCallback::new(|f: &Future<i32>| println!("done: {:?}", f.result()));
    /// let lp = tulipsim::EventLoop::new();
    /// let fut = lp.create_future::<i32>();
    /// fut.add_done_callback(cb.clone());
    /// assert_eq!(fut.remove_done_callback(&cb), 1);
    /// ```
    pub fn new(f: impl Fn(&Future<T>) + 'static) -> Self {
        DoneCallback(Rc::new(f))
    }
}

impl<T> Clone for DoneCallback<T> {
    fn clone(&self) -> Self {
        DoneCallback(self.0.clone())
    }
}

impl<T, F: Fn(&Future<T>) + 'static> From<F> for DoneCallback<T> {
    fn from(f: F) -> Self {
        DoneCallback(Rc::new(f))
    }
}

/// A future's done-callbacks in registration order. Most futures have exactly one (the task
/// awaiting it), which lives inline: awaiting a fresh future allocates nothing here, and a
/// future with none or one costs 32 bytes for the list.
#[derive(Default)]
pub(crate) enum CallbackList<T> {
    #[default]
    Empty,
    One(Callback<T>),
    Many(Vec<Callback<T>>),
}

impl<T> CallbackList<T> {
    fn push(&mut self, cb: Callback<T>) {
        *self = match mem::take(self) {
            CallbackList::Empty => CallbackList::One(cb),
            CallbackList::One(first) => CallbackList::Many(vec![first, cb]),
            CallbackList::Many(mut all) => {
                all.push(cb);
                CallbackList::Many(all)
            }
        };
    }

    fn is_empty(&self) -> bool {
        match self {
            CallbackList::Empty => true,
            CallbackList::One(_) => false,
            CallbackList::Many(all) => all.is_empty(),
        }
    }

    fn into_iter(self) -> impl Iterator<Item = Callback<T>> {
        let (one, many) = match self {
            CallbackList::Empty => (None, Vec::new()),
            CallbackList::One(cb) => (Some(cb), Vec::new()),
            CallbackList::Many(all) => (None, all),
        };
        one.into_iter().chain(many)
    }

    fn len(&self) -> usize {
        match self {
            CallbackList::Empty => 0,
            CallbackList::One(_) => 1,
            CallbackList::Many(all) => all.len(),
        }
    }

    /// Splits off the callbacks `pred` selects, keeping the others in order.
    ///
    /// The usual cases allocate nothing (issue #20: `wait_for` removes its callback from a
    /// one-callback list on every call, and a miss is as common as a hit): an empty list, a
    /// lone callback, and a list where nothing matches.
    fn extract(&mut self, mut pred: impl FnMut(&Callback<T>) -> bool) -> CallbackList<T> {
        match self {
            CallbackList::Empty => CallbackList::Empty,
            CallbackList::One(cb) => {
                if pred(cb) {
                    mem::take(self)
                } else {
                    CallbackList::Empty
                }
            }
            CallbackList::Many(all) => {
                if !all.iter().any(&mut pred) {
                    return CallbackList::Empty;
                }
                let mut gone = CallbackList::Empty;
                for cb in mem::take(self).into_iter() {
                    if pred(&cb) {
                        gone.push(cb);
                    } else {
                        self.push(cb);
                    }
                }
                gone
            }
        }
    }
}

/// The state every future has, plain or task.
pub(crate) struct FutureCore<T> {
    state: RefCell<State<T>>,
    callbacks: RefCell<CallbackList<T>>,
    /// A `Cell`, not a `RefCell`: read by taking it out and putting it back (8 bytes less).
    lp: Cell<Weak<LoopInner>>,
    /// asyncio's `__log_traceback`: an exception was set and nobody has looked at it yet.
    log_traceback: Cell<bool>,
    registered_for_close: Cell<bool>,
    pub(crate) created_at: &'static Location<'static>,
    /// A plain future's label ([`Future::set_label`]), shown in reports and traces. Boxed:
    /// a thin pointer, so the rare label costs every future and task 8 bytes, not 16.
    label: Cell<Option<Box<Rc<str>>>>,
}

/// What `Future<T>` points at: a plain future or a task, which share [`FutureCore`] but cancel
/// differently.
pub(crate) trait FutureObj<T>: 'static {
    fn core(&self) -> &FutureCore<T>;
    /// `Future.cancel` for a plain future, `Task.cancel` for a task.
    fn cancel_obj(self: Rc<Self>, msg: Option<Rc<str>>) -> bool;
    fn task_header(&self) -> Option<&TaskHeader>;
    fn to_any(self: Rc<Self>) -> Rc<dyn AnyFuture>;
    fn to_task(self: Rc<Self>) -> Option<Rc<dyn TaskRun>>;
}

/// A future with its result type erased: what a task's waiter and the loop's cleanup see.
///
/// Each kind of future (plain, task, gathering) implements what differs; the rest goes to its
/// [`FutureCore`] through [`CoreOps`].
pub(crate) trait AnyFuture {
    /// The core, without its result type.
    fn core_ops(&self) -> &dyn CoreOps;
    fn cancel_any(self: Rc<Self>, msg: Option<Rc<str>>) -> bool;
    fn add_wakeup(self: Rc<Self>, task: Rc<dyn TaskRun>);
    fn add_any_callback(self: Rc<Self>, cb: AnyCallback);
    fn describe(&self) -> String;
    /// [`describe`](Self::describe), shared: a full trace records it at every await.
    fn describe_shared(&self) -> std::sync::Arc<str> {
        self.describe().into()
    }
    /// The task id, if this future is a task.
    fn task_id(&self) -> Option<u64> {
        None
    }

    fn is_done(&self) -> bool {
        self.core_ops().is_done()
    }
    fn is_cancelled(&self) -> bool {
        self.core_ops().is_cancelled()
    }
    fn remove_wakeup(&self, task_id: u64) {
        self.core_ops().remove_wakeup_of(task_id)
    }
    fn remove_any_callback(&self, cb: &AnyCallback) -> usize {
        self.core_ops().remove_any_callback(cb)
    }
    fn clear_callbacks(&self) {
        self.core_ops().clear_all_callbacks()
    }
    fn belongs_to(&self, lp: &Rc<LoopInner>) -> bool {
        self.core_ops().belongs_to(lp)
    }
    /// The outcome was seen: do not report the exception as never retrieved.
    fn mark_retrieved(&self) {
        self.core_ops().clear_log_traceback()
    }
    /// The exception, as `exception()` gives it (and marking it retrieved).
    fn exception_any(&self) -> Result<Option<Error>, Error> {
        self.core_ops().exception()
    }
    fn loop_inner(&self) -> Option<Rc<LoopInner>> {
        self.core_ops().loop_inner()
    }
}

/// What a [`FutureCore`] can do without its result type.
pub(crate) trait CoreOps {
    fn is_done(&self) -> bool;
    fn is_cancelled(&self) -> bool;
    fn remove_wakeup_of(&self, task_id: u64);
    fn remove_any_callback(&self, cb: &AnyCallback) -> usize;
    fn clear_all_callbacks(&self);
    fn belongs_to(&self, lp: &Rc<LoopInner>) -> bool;
    fn clear_log_traceback(&self);
    fn exception(&self) -> Result<Option<Error>, Error>;
    fn loop_inner(&self) -> Option<Rc<LoopInner>>;
}

impl<T: 'static> CoreOps for FutureCore<T> {
    fn is_done(&self) -> bool {
        FutureCore::is_done(self)
    }
    fn is_cancelled(&self) -> bool {
        FutureCore::is_cancelled(self)
    }
    fn remove_wakeup_of(&self, task_id: u64) {
        FutureCore::remove_wakeup_of(self, task_id)
    }
    fn remove_any_callback(&self, cb: &AnyCallback) -> usize {
        FutureCore::remove_any_callback(self, cb)
    }
    fn clear_all_callbacks(&self) {
        FutureCore::clear_all_callbacks(self)
    }
    fn belongs_to(&self, lp: &Rc<LoopInner>) -> bool {
        FutureCore::belongs_to(self, lp)
    }
    fn clear_log_traceback(&self) {
        FutureCore::clear_log_traceback(self)
    }
    fn exception(&self) -> Result<Option<Error>, Error> {
        FutureCore::exception(self)
    }
    fn loop_inner(&self) -> Option<Rc<LoopInner>> {
        FutureCore::loop_inner(self)
    }
}

impl<T: 'static> FutureCore<T> {
    pub(crate) fn new(lp: Weak<LoopInner>, created_at: &'static Location<'static>) -> Self {
        FutureCore {
            state: RefCell::new(State::Pending),
            callbacks: RefCell::new(CallbackList::default()),
            lp: Cell::new(lp),
            log_traceback: Cell::new(false),
            registered_for_close: Cell::new(false),
            created_at,
            label: Cell::new(None),
        }
    }

    pub(crate) fn loop_inner(&self) -> Option<Rc<LoopInner>> {
        let lp = self.lp.take();
        let up = lp.upgrade();
        self.lp.set(lp);
        up
    }

    fn is_unbound(&self) -> bool {
        let lp = self.lp.take();
        let unbound = Weak::ptr_eq(&lp, &Weak::new());
        self.lp.set(lp);
        unbound
    }

    /// True if this future belongs to `lp`; an unbound future (created with no loop around)
    /// is bound to `lp` now.
    pub(crate) fn belongs_to(&self, lp: &Rc<LoopInner>) -> bool {
        if self.is_unbound() {
            self.lp.set(Rc::downgrade(lp));
            return true;
        }
        let mine = self.lp.take();
        let same = std::ptr::eq(mine.as_ptr(), Rc::as_ptr(lp));
        self.lp.set(mine);
        same
    }

    pub(crate) fn is_done(&self) -> bool {
        !matches!(*self.state.borrow(), State::Pending)
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        matches!(*self.state.borrow(), State::Cancelled(_))
    }

    pub(crate) fn clear_log_traceback(&self) {
        self.log_traceback.set(false);
    }

    pub(crate) fn take_log_traceback(&self) -> bool {
        self.log_traceback.replace(false)
    }

    /// Moves the future to a done state and schedules its callbacks (asyncio's `set_result`,
    /// `set_exception` and `cancel` share this). `this` is the handle callbacks receive.
    pub(crate) fn complete(this: &Rc<dyn FutureObj<T>>, new: State<T>) -> Result<(), Error> {
        let core = this.core();
        {
            let mut state = core.state.borrow_mut();
            if !matches!(*state, State::Pending) {
                return Err(Error::invalid_state(format!(
                    "{}: the future is already done",
                    describe_state(&state)
                )));
            }
            core.log_traceback
                .set(matches!(new, State::Finished(Err(_))));
            *state = new;
        }
        Self::schedule_callbacks(this)
    }

    fn schedule_callbacks(this: &Rc<dyn FutureObj<T>>) -> Result<(), Error> {
        let core = this.core();
        let callbacks = mem::take(&mut *core.callbacks.borrow_mut());
        if callbacks.is_empty() {
            return Ok(());
        }
        let Some(lp) = core.loop_inner().filter(|lp| !lp.is_closed()) else {
            drop(callbacks);
            return Err(Error::runtime("Event loop is closed"));
        };
        for cb in callbacks.into_iter() {
            Self::schedule_one(&lp, this, cb);
        }
        Ok(())
    }

    fn schedule_one(lp: &LoopInner, this: &Rc<dyn FutureObj<T>>, cb: Callback<T>) {
        match cb {
            Callback::Wakeup(task) => task.header().wake(lp, &task),
            Callback::Done(DoneCallback(f)) => {
                let fut = Future { obj: this.clone() };
                lp.schedule(Entry::Done(Box::new(move || {
                    // Left set if `f` panics: the loop's report names it.
                    crate::panics::enter_callback(f.name());
                    f.call(&fut);
                    crate::panics::leave_callback();
                })));
            }
            Callback::Any(f) => {
                let fut = this.clone().to_any();
                lp.schedule(Entry::Done(Box::new(move || f(&fut))));
            }
            Callback::Stop(target, _) => lp.schedule(Entry::Stop(target)),
        }
    }

    pub(crate) fn add_callback(this: &Rc<dyn FutureObj<T>>, cb: Callback<T>) {
        let core = this.core();
        if core.is_done() {
            match core.loop_inner() {
                Some(lp) => Self::schedule_one(&lp, this, cb),
                None => drop(cb),
            }
            return;
        }
        if !matches!(cb, Callback::Wakeup(_)) && !core.registered_for_close.replace(true) {
            if core.is_unbound() {
                if let Some(lp) = events::current_or_thread_loop().upgrade() {
                    core.lp.set(Rc::downgrade(&lp));
                }
            }
            if let Some(lp) = core.loop_inner() {
                lp.register_callback_future(Rc::downgrade(&this.clone().to_any()));
            }
        }
        core.callbacks.borrow_mut().push(cb);
    }

    /// Removes the stop callback of run `run` of `lp` (see [`Callback::Stop`]).
    pub(crate) fn remove_stop_callback(&self, lp: &Rc<LoopInner>, run: u64) {
        let mut callbacks = self.callbacks.borrow_mut();
        if callbacks.is_empty() {
            // The usual end of a run: the main future completed and its callbacks were taken.
            return;
        }
        let removed = callbacks.extract(
            |c| matches!(c, Callback::Stop(l, r) if *r == run && std::ptr::eq(l.as_ptr(), Rc::as_ptr(lp))),
        );
        drop(callbacks);
        drop(removed);
    }

    pub(crate) fn remove_callback(&self, cb: &DoneCallback<T>) -> usize {
        let removed = self
            .callbacks
            .borrow_mut()
            .extract(|c| matches!(c, Callback::Done(d) if Rc::ptr_eq(&d.0, &cb.0)));
        // Freed outside the borrow: a closure's captures may run code that touches this future.
        removed.len()
    }

    /// The outcome, cloned, as `result()` gives it.
    pub(crate) fn result(&self) -> Result<T, Error>
    where
        T: Clone,
    {
        match &*self.state.borrow() {
            State::Pending => Err(Error::invalid_state("Result is not ready.")),
            State::Cancelled(msg) => Err(cancelled(msg)),
            State::Consumed => Err(Error::invalid_state(
                "Result was moved out by run_until_complete.",
            )),
            State::Finished(r) => {
                self.log_traceback.set(false);
                r.clone()
            }
        }
    }

    /// Moves the result out (for the task `run_until_complete` created and alone can see).
    pub(crate) fn take_result(&self) -> Result<T, Error> {
        let mut state = self.state.borrow_mut();
        match &*state {
            State::Pending => Err(Error::invalid_state("Result is not ready.")),
            State::Cancelled(msg) => Err(cancelled(msg)),
            State::Finished(Err(e)) => {
                self.log_traceback.set(false);
                Err(e.clone())
            }
            State::Consumed => Err(Error::invalid_state("Result was already taken.")),
            State::Finished(Ok(_)) => match mem::replace(&mut *state, State::Consumed) {
                State::Finished(Ok(v)) => Ok(v),
                _ => unreachable!("matched Finished(Ok) above"),
            },
        }
    }

    pub(crate) fn exception(&self) -> Result<Option<Error>, Error> {
        match &*self.state.borrow() {
            State::Pending => Err(Error::invalid_state("Exception is not set.")),
            State::Cancelled(msg) => Err(cancelled(msg)),
            State::Finished(Ok(_)) | State::Consumed => Ok(None),
            State::Finished(Err(e)) => {
                self.log_traceback.set(false);
                Ok(Some(e.clone()))
            }
        }
    }

    pub(crate) fn remove_any_callback(&self, cb: &AnyCallback) -> usize {
        let removed = self
            .callbacks
            .borrow_mut()
            .extract(|c| matches!(c, Callback::Any(f) if Rc::ptr_eq(f, cb)));
        removed.len()
    }

    pub(crate) fn remove_wakeup_of(&self, task_id: u64) {
        let removed = self
            .callbacks
            .borrow_mut()
            .extract(|c| matches!(c, Callback::Wakeup(t) if t.header().id == task_id));
        drop(removed);
    }

    pub(crate) fn clear_all_callbacks(&self) {
        let cbs = mem::take(&mut *self.callbacks.borrow_mut());
        drop(cbs);
    }

    pub(crate) fn state_ref(&self) -> std::cell::Ref<'_, State<T>> {
        self.state.borrow()
    }

    pub(crate) fn state_name(&self) -> &'static str {
        describe_state(&self.state.borrow())
    }

    pub(crate) fn label(&self) -> Option<Rc<str>> {
        let label = self.label.take();
        let copy = label.as_deref().cloned();
        self.label.set(label);
        copy
    }

    pub(crate) fn set_label(&self, label: Rc<str>) {
        self.label.set(Some(Box::new(label)));
    }
}

fn describe_state<T>(s: &State<T>) -> &'static str {
    match s {
        State::Pending => "PENDING",
        State::Cancelled(_) => "CANCELLED",
        State::Finished(_) | State::Consumed => "FINISHED",
    }
}

fn cancelled(msg: &Option<Rc<str>>) -> Error {
    Error::Cancelled(CancelledError {
        message: msg.clone(),
    })
}

impl<T> Drop for FutureCore<T> {
    fn drop(&mut self) {
        if self.log_traceback.get() {
            // Plain futures report here; a task reports first in its own Drop and clears this.
            if let State::Finished(Err(e)) = &*self.state.borrow() {
                let weak = self.lp.take();
                if let Some(lp) = weak.upgrade() {
                    lp.report(crate::ExceptionContext {
                        message: "Future exception was never retrieved".to_string(),
                        error: Some(e.clone()),
                        task: None,
                        future: self.label.take().map(|l| l.to_string()),
                        site: Some(self.created_at),
                    });
                }
            }
        }
    }
}

impl<T: 'static> FutureObj<T> for FutureCore<T> {
    fn core(&self) -> &FutureCore<T> {
        self
    }

    fn cancel_obj(self: Rc<Self>, msg: Option<Rc<str>>) -> bool {
        self.log_traceback.set(false);
        if self.is_done() {
            return false;
        }
        let this: Rc<dyn FutureObj<T>> = self;
        // A closed loop cannot run the callbacks; the future is cancelled all the same.
        let _ = FutureCore::complete(&this, State::Cancelled(msg));
        true
    }

    fn task_header(&self) -> Option<&TaskHeader> {
        None
    }

    fn to_any(self: Rc<Self>) -> Rc<dyn AnyFuture> {
        self
    }

    fn to_task(self: Rc<Self>) -> Option<Rc<dyn TaskRun>> {
        None
    }
}

impl<T: 'static> AnyFuture for FutureCore<T> {
    fn core_ops(&self) -> &dyn CoreOps {
        self
    }

    fn cancel_any(self: Rc<Self>, msg: Option<Rc<str>>) -> bool {
        self.cancel_obj(msg)
    }

    fn add_wakeup(self: Rc<Self>, task: Rc<dyn TaskRun>) {
        let this: Rc<dyn FutureObj<T>> = self;
        FutureCore::add_callback(&this, Callback::Wakeup(task));
    }

    fn add_any_callback(self: Rc<Self>, cb: AnyCallback) {
        let this: Rc<dyn FutureObj<T>> = self;
        FutureCore::add_callback(&this, Callback::Any(cb));
    }

    fn describe(&self) -> String {
        match self.label() {
            Some(label) => format!(
                "Future<{}> {label:?} created at {}",
                short_type_name::<T>(),
                self.created_at
            ),
            None => format!(
                "Future<{}> created at {}",
                short_type_name::<T>(),
                self.created_at
            ),
        }
    }

    fn describe_shared(&self) -> std::sync::Arc<str> {
        if self.label().is_some() {
            return self.describe().into();
        }
        thread_local! {
            // By type and creation site: what the description depends on. The addresses only
            // find it again; they never show in a trace.
            static DESCRIBED: RefCell<std::collections::BTreeMap<(usize, usize, usize), std::sync::Arc<str>>> =
                RefCell::default();
        }
        let full = std::any::type_name::<T>();
        let site: *const Location<'static> = self.created_at;
        let key = (full.as_ptr() as usize, full.len(), site as usize);
        DESCRIBED.with(|all| {
            if let Some(d) = all.borrow().get(&key) {
                return d.clone();
            }
            let d: std::sync::Arc<str> = self.describe().into();
            all.borrow_mut().insert(key, d.clone());
            d
        })
    }
}

/// `alloc::string::String` → `String`, `core::option::Option<i32>` → `Option<i32>`.
///
/// Remembered per type: a full trace describes the future of every await with it, and
/// shortening the name each time was most of what tracing cost.
pub(crate) fn short_type_name<T>() -> Rc<str> {
    thread_local! {
        // Keyed by where the full name lives; the value depends on the name alone, so the
        // address never shows in a trace.
        static SHORT: RefCell<std::collections::HashMap<(usize, usize), Rc<str>>> =
            RefCell::default();
    }
    let full = std::any::type_name::<T>();
    let key = (full.as_ptr() as usize, full.len());
    SHORT.with(|names| {
        if let Some(short) = names.borrow().get(&key) {
            return short.clone();
        }
        let short: Rc<str> = shorten_type_name(full).into();
        names.borrow_mut().insert(key, short.clone());
        short
    })
}

fn shorten_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut segment = String::new();
    let mut chars = full.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            segment.clear();
        } else if c.is_alphanumeric() || c == '_' {
            segment.push(c);
        } else {
            out.push_str(&segment);
            segment.clear();
            out.push(c);
        }
    }
    out.push_str(&segment);
    out
}

/// asyncio's `Future`: a result that will be available later, shared by every handle.
///
/// Clone the handle to share it; every clone is the same future. A [`Task`](crate::Task) is a
/// future too ([`Task::as_future`](crate::Task::as_future)); a `Future` that is a task cancels
/// as a task does, and refuses `set_result`.
///
/// Awaiting a future (by value or by reference) suspends the current task until the future is
/// done, then gives its result, its exception, or [`Error::Cancelled`]. Every awaiter gets its
/// own copy of the outcome, so awaiting needs `T: Clone` (wrap other values in an `Rc`).
///
/// `Future` implements [`IntoFuture`] rather than `std::future::Future`, so that `.await`
/// records where the task is suspended; a combinator that wants a `std::future::Future`
/// (`futures::join!`, `select!`) takes `fut.into_future()`.
///
/// ```
/// use tulipsim::{create_task, sleep, EventLoop, Future};
///
/// let lp = EventLoop::new();
/// let answer = lp.run_until_complete(async {
///     let fut: Future<u32> = Future::new();
///     let setter = fut.clone();
///     create_task(async move {
///         sleep(1).await?;
///         setter.set_result(42)
///     })?;
///     (&fut).await // suspends until the task sets the result
/// });
/// assert_eq!(answer.unwrap(), 42);
/// ```
pub struct Future<T> {
    pub(crate) obj: Rc<dyn FutureObj<T>>,
}

impl<T> Clone for Future<T> {
    fn clone(&self) -> Self {
        Future {
            obj: self.obj.clone(),
        }
    }
}

impl<T: 'static> Default for Future<T> {
    #[track_caller]
    fn default() -> Self {
        Future::new()
    }
}

impl<T: 'static> fmt::Debug for Future<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let core = self.obj.core();
        write!(
            f,
            "<Future<{}> {}",
            short_type_name::<T>(),
            core.state_name()
        )?;
        if let (Some(label), None) = (core.label(), self.obj.task_header()) {
            write!(f, " {label:?}")?;
        }
        write!(f, " created at {}>", core.created_at)
    }
}

impl<T: 'static> Future<T> {
    /// A new pending future bound to the running loop, or else to the newest open loop of this
    /// thread (asyncio's `Future()`); with no loop at all it binds to the first loop that
    /// awaits it.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let fut = tulipsim::Future::<i32>::new(); // bound to `lp`, the newest loop of this thread
    /// let f = fut.clone();
    /// lp.call_soon(move || f.set_result(5).unwrap());
    /// assert_eq!(lp.run_until_complete(fut), Ok(5));
    /// ```
    #[track_caller]
    pub fn new() -> Future<T> {
        Future::bound(events::current_or_thread_loop(), Location::caller())
    }

    pub(crate) fn bound(lp: Weak<LoopInner>, site: &'static Location<'static>) -> Future<T> {
        Future {
            obj: Rc::new(FutureCore::<T>::new(lp, site)),
        }
    }

    fn core(&self) -> &FutureCore<T> {
        self.obj.core()
    }

    /// Cancels the future and schedules its callbacks; false if it was already done
    /// ("If the future is already done or cancelled, return False").
    ///
    /// On a future that is a task this is `Task.cancel`: a request the task may refuse.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let f = lp.create_future::<()>();
    /// assert!(f.cancel());
    /// assert!(f.cancelled());
    /// assert!(!f.cancel());
    /// ```
    pub fn cancel(&self) -> bool {
        self.obj.clone().cancel_obj(None)
    }

    /// [`cancel`](Self::cancel) with a message, which the `CancelledError` carries.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let f = lp.create_future::<()>();
    /// f.cancel_with("no longer needed");
    /// assert_eq!(f.result().unwrap_err().to_string(), "CancelledError: no longer needed");
    /// ```
    pub fn cancel_with(&self, msg: impl Into<Rc<str>>) -> bool {
        self.obj.clone().cancel_obj(Some(msg.into()))
    }

    /// True if the future was cancelled.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let f = lp.create_future::<()>();
    /// assert!(!f.cancelled());
    /// f.cancel();
    /// assert!(f.cancelled() && f.done());
    /// ```
    pub fn cancelled(&self) -> bool {
        self.core().is_cancelled()
    }

    /// True if the future is done: it has a result or an exception, or was cancelled.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let f = lp.create_future::<i32>();
    /// assert!(!f.done());
    /// f.set_result(1).unwrap();
    /// assert!(f.done());
    /// ```
    pub fn done(&self) -> bool {
        self.core().is_done()
    }

    /// The result: `Err(Cancelled)` if cancelled, `Err(InvalidState)` if not done yet, the
    /// exception if one was set.
    ///
    /// ```
    /// use tulipsim::Error;
    /// let lp = tulipsim::EventLoop::new();
    /// let f = lp.create_future::<i32>();
    /// assert!(matches!(f.result(), Err(Error::InvalidState(_))));
    /// f.set_result(3).unwrap();
    /// assert_eq!(f.result(), Ok(3));
    /// ```
    pub fn result(&self) -> Result<T, Error>
    where
        T: Clone,
    {
        self.core().result()
    }

    /// The exception (`Ok(None)` if the future finished with a result); `Err(Cancelled)` if it
    /// was cancelled, `Err(InvalidState)` if it is not done.
    ///
    /// ```
    /// use tulipsim::Error;
    /// let lp = tulipsim::EventLoop::new();
    /// let f = lp.create_future::<i32>();
    /// f.set_exception(Error::msg("bad")).unwrap();
    /// assert_eq!(f.exception().unwrap().unwrap().to_string(), "bad");
    /// ```
    pub fn exception(&self) -> Result<Option<Error>, Error> {
        self.core().exception()
    }

    /// Names the future, as a task has a name: the label shows in its `Debug`, in traces (the
    /// awaits on it) and in reports about it ([`ExceptionContext::future`](crate::ExceptionContext::future)). On a future that
    /// is a task, this sets the task's name.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let f = lp.create_future::<i32>();
    /// assert_eq!(f.label(), None);
    /// f.set_label("reply");
    /// assert_eq!(f.label().as_deref(), Some("reply"));
    /// assert!(format!("{f:?}").starts_with("<Future<i32> PENDING \"reply\" created at "));
    /// ```
    pub fn set_label(&self, label: impl Into<Rc<str>>) {
        let label = label.into();
        match self.obj.task_header() {
            Some(h) => h.set_name(Some(label)),
            None => self.core().set_label(label),
        }
    }

    /// The label given with [`set_label`](Self::set_label), if any; on a future that is a
    /// task, the task's name.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let f = lp.create_future::<()>();
    /// f.set_label("reply");
    /// assert_eq!(f.label().as_deref(), Some("reply"));
    /// let t = lp.create_task_named("worker", async { Ok(()) });
    /// assert_eq!(t.as_future().label().as_deref(), Some("worker")); // a task's name
    /// ```
    pub fn label(&self) -> Option<String> {
        match self.obj.task_header() {
            Some(h) => Some(h.name()),
            None => self.core().label().map(|l| l.to_string()),
        }
    }

    /// Adds a callback to run, through the loop, when the future is done; if it is done
    /// already, the callback is scheduled with `call_soon` at once. Callbacks run in
    /// registration order, one loop iteration after completion at the earliest.
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// let lp = tulipsim::EventLoop::new();
    /// let f = lp.create_future::<i32>();
    /// let seen = Rc::new(Cell::new(0));
    /// let s = seen.clone();
    /// f.add_done_callback(move |f: &tulipsim::Future<i32>| s.set(f.result().unwrap()));
    /// f.set_result(5).unwrap();
    /// assert_eq!(seen.get(), 0); // not yet: scheduled, not called
    /// lp.run_until_complete(tulipsim::sleep(0)).unwrap();
    /// assert_eq!(seen.get(), 5);
    /// ```
    pub fn add_done_callback(&self, callback: impl Into<DoneCallback<T>>) {
        FutureCore::add_callback(&self.obj, Callback::Done(callback.into()));
    }

    pub(crate) fn add_callback(&self, callback: Callback<T>) {
        FutureCore::add_callback(&self.obj, callback);
    }

    /// Removes every registration of `callback` from the list of callbacks not yet scheduled,
    /// and returns how many were removed.
    ///
    /// ```
    /// use tulipsim::{DoneCallback, Future};
    /// let lp = tulipsim::EventLoop::new();
    /// let fut = lp.create_future::<()>();
    /// let cb = DoneCallback::new(|_: &Future<()>| {});
    /// assert_eq!(fut.remove_done_callback(&cb), 0); // never added
    /// fut.add_done_callback(cb.clone());
    /// assert_eq!(fut.remove_done_callback(&cb), 1);
    /// ```
    pub fn remove_done_callback(&self, callback: &DoneCallback<T>) -> usize {
        self.core().remove_callback(callback)
    }

    /// Marks the future done with `result` and schedules its callbacks; `Err(InvalidState)`
    /// if it is already done. On a task, `Err(Runtime)`: a task's result is its coroutine's.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let f = lp.create_future::<&str>();
    /// f.set_result("ok").unwrap();
    /// assert!(matches!(f.set_result("again"), Err(tulipsim::Error::InvalidState(_))));
    /// ```
    pub fn set_result(&self, result: T) -> Result<(), Error> {
        if self.obj.task_header().is_some() {
            return Err(Error::runtime("Task does not support set_result operation"));
        }
        FutureCore::complete(&self.obj, State::Finished(Ok(result)))
    }

    /// Marks the future done with an exception and schedules its callbacks;
    /// `Err(InvalidState)` if it is already done, `Err(Runtime)` on a task.
    ///
    /// ```
    /// use tulipsim::Error;
    /// let lp = tulipsim::EventLoop::new();
    /// let f = lp.create_future::<i32>();
    /// f.set_exception(Error::msg("bad")).unwrap();
    /// assert!(f.set_exception(Error::msg("again")).is_err()); // done already
    /// assert_eq!(f.result().unwrap_err().to_string(), "bad");
    /// ```
    pub fn set_exception(&self, exception: Error) -> Result<(), Error> {
        if self.obj.task_header().is_some() {
            return Err(Error::runtime(
                "Task does not support set_exception operation",
            ));
        }
        FutureCore::complete(&self.obj, State::Finished(Err(exception)))
    }

    /// The loop this future is bound to, if it still exists.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// assert!(lp.create_future::<()>().get_loop().is_some());
    /// ```
    pub fn get_loop(&self) -> Option<LoopHandle> {
        self.core().loop_inner().map(|inner| LoopHandle { inner })
    }

    /// The task this future is, if it is one.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let t = lp.create_task(async { Ok(()) });
    /// assert_eq!(t.as_future().as_task().unwrap().get_name(), "Task-1");
    /// assert!(lp.create_future::<()>().as_task().is_none());
    /// ```
    pub fn as_task(&self) -> Option<crate::TaskRef> {
        self.obj.clone().to_task().map(crate::TaskRef::from_run)
    }

    /// True if both handles are the same future.
    ///
    /// ```
    /// let lp = tulipsim::EventLoop::new();
    /// let f = lp.create_future::<()>();
    /// assert!(f.same(&f.clone()));
    /// assert!(!f.same(&lp.create_future()));
    /// ```
    pub fn same(&self, other: &Future<T>) -> bool {
        std::ptr::addr_eq(Rc::as_ptr(&self.obj), Rc::as_ptr(&other.obj))
    }

    /// This future without its result type.
    pub(crate) fn any(&self) -> Rc<dyn AnyFuture> {
        self.obj.clone().to_any()
    }

    /// Awaits this future, recording `site` as where the task is suspended.
    pub(crate) fn wait_at(self, site: &'static Location<'static>) -> Wait<T> {
        Wait {
            core: WaitCore::new(self.obj.clone().to_any(), site),
            fut: self,
        }
    }
}

impl<T: Clone + 'static> IntoFuture for Future<T> {
    type Output = Result<T, Error>;
    type IntoFuture = Wait<T>;

    #[track_caller]
    fn into_future(self) -> Wait<T> {
        self.wait_at(Location::caller())
    }
}

impl<T: Clone + 'static> IntoFuture for &Future<T> {
    type Output = Result<T, Error>;
    type IntoFuture = Wait<T>;

    #[track_caller]
    fn into_future(self) -> Wait<T> {
        self.clone().wait_at(Location::caller())
    }
}

/// The awaitable of a [`Future`] or [`Task`](crate::Task) (what `.await` on one polls).
///
/// Suspends the current task until the future is done: it registers the task's wakeup as a
/// done-callback and becomes the task's waiter, so that cancelling the task cancels the
/// future, as asyncio's `Task.cancel` does. Dropping it before completion (as `select!` does)
/// unregisters it.
///
/// ```
/// # let lp = tulipsim::EventLoop::new();
/// let f = lp.create_future::<i32>();
/// f.set_result(1).unwrap();
/// assert_eq!(lp.run_until_complete(async move { f.await }).unwrap(), 1);
/// ```
pub struct Wait<T: 'static> {
    core: WaitCore,
    fut: Future<T>,
}

// `Wait` never pins its fields, so it can move freely whatever `T` is.
impl<T: 'static> Unpin for Wait<T> {}

impl<T: Clone + 'static> std::future::Future for Wait<T> {
    type Output = Result<T, Error>;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.core.poll_done() {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(exc)) => Poll::Ready(Err(exc)),
            Poll::Ready(Ok(())) => Poll::Ready(self.fut.core().result()),
        }
    }
}

/// The part of awaiting a future that does not depend on its result type: suspending the
/// current task until the future is done, as asyncio's `Future.__await__` together with
/// `Task.__step` does.
///
/// On the first poll that must suspend, it registers the task's wakeup as a done-callback and
/// makes the future the task's waiter (so that `Task.cancel` cancels it). On a later poll it
/// first takes an exception the task's step is throwing: the await where the coroutine is
/// suspended is where asyncio's `coro.throw()` lands. Dropped early (as `select!` does), it
/// unregisters.
pub(crate) struct WaitCore {
    fut: Rc<dyn AnyFuture>,
    /// The task whose wakeup is in the future's callbacks.
    registered: Option<Rc<dyn TaskRun>>,
    /// True once this await has suspended: a throw at the next step lands here.
    polled: bool,
    site: &'static Location<'static>,
}

impl WaitCore {
    pub(crate) fn new(fut: Rc<dyn AnyFuture>, site: &'static Location<'static>) -> WaitCore {
        WaitCore {
            fut,
            registered: None,
            polled: false,
            site,
        }
    }

    /// `Ready(Ok(()))` once the future is done (read its outcome then); `Ready(Err(e))` when
    /// the task's step throws `e` here, or when there is no task to suspend.
    pub(crate) fn poll_done(&mut self) -> Poll<Result<(), Error>> {
        if let Some(task) = self.registered.clone() {
            // Resuming: the task that registered is the one that suspended here.
            return self.poll_registered(&task);
        }
        tasks::with_current(|lp, task| self.poll_in_task(lp, task)).unwrap_or_else(|| {
            Poll::Ready(Err(Error::runtime(
                "a tulipsim future was awaited outside a running tulipsim task",
            )))
        })
    }

    /// A poll after the wakeup was registered: take a throw, or see whether the future is done.
    fn poll_registered(&mut self, task: &Rc<dyn TaskRun>) -> Poll<Result<(), Error>> {
        if let Some(exc) = self.take_throw(task.header()) {
            return Poll::Ready(Err(exc));
        }
        if self.fut.is_done() {
            self.registered = None;
            return Poll::Ready(Ok(()));
        }
        // Woken for another reason (several awaits at once): still waiting.
        task.header().add_waiter(self.fut.clone(), self.site);
        Poll::Pending
    }

    fn take_throw(&mut self, header: &crate::tasks::TaskHeader) -> Option<Error> {
        let exc = header.take_throw()?;
        let exc = match (exc, self.fut.is_done()) {
            // `__wakeup` passes the future's exception to `__step`, and a pending cancellation
            // replaces it unless it is a CancelledError already: the future's own
            // CancelledError (and its message) wins.
            (Error::Cancelled(task_exc), true) => match self.fut.exception_any() {
                Ok(Some(e @ Error::Cancelled(_))) | Err(e @ Error::Cancelled(_)) => e,
                _ => Error::Cancelled(task_exc),
            },
            (exc, _) => exc,
        };
        // `__wakeup` called `result()` before the throw: the outcome was seen.
        self.fut.mark_retrieved();
        self.unregister();
        Some(exc)
    }

    /// The first poll, or one after a misuse error was scheduled to be thrown: register, or
    /// finish at once if the future is already done.
    fn poll_in_task(
        &mut self,
        lp: &Rc<LoopInner>,
        task: &Rc<dyn TaskRun>,
    ) -> Poll<Result<(), Error>> {
        let header = task.header();
        if self.polled {
            if let Some(exc) = self.take_throw(header) {
                return Poll::Ready(Err(exc));
            }
        }
        if self.fut.is_done() {
            self.registered = None;
            return Poll::Ready(Ok(()));
        }
        self.polled = true;
        if self.registered.is_none() {
            if !self.fut.belongs_to(lp) {
                let exc = Error::runtime(format!(
                    "Task {} got {} attached to a different loop",
                    header.name(),
                    self.fut.describe()
                ));
                header.throw_at_next_step(lp, task, exc);
                return Poll::Pending;
            }
            if self.fut.task_id() == Some(header.id) {
                let exc = Error::runtime(format!("Task cannot await on itself: {}", header.name()));
                header.throw_at_next_step(lp, task, exc);
                return Poll::Pending;
            }
            self.fut.clone().add_wakeup(task.clone());
            self.registered = Some(task.clone());
        }
        header.add_waiter(self.fut.clone(), self.site);
        Poll::Pending
    }

    pub(crate) fn future(&self) -> &Rc<dyn AnyFuture> {
        &self.fut
    }

    fn unregister(&mut self) {
        if let Some(task) = self.registered.take() {
            self.fut.remove_wakeup(task.header().id);
            task.header().remove_waiter(&self.fut);
        }
    }
}

impl Drop for WaitCore {
    fn drop(&mut self) {
        if !self.fut.is_done() {
            self.unregister();
        }
    }
}
