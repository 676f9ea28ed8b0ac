//! The header every future has, plain or task (asyncio's `Future` attributes: `_state`,
//! `_result`, `_exception`, `_callbacks`, `_loop`, `__log_traceback`), and what completing one
//! does: move to a done state and schedule the callbacks, as `futures.py` does.
//!
//! A plain future is its header alone: `Future::new` allocates one `FutureCore<T>`, which is
//! also its [`FutureKind`].

use std::cell::{Cell, OnceCell, RefCell};
use std::mem::{self, ManuallyDrop};
use std::panic::Location;
use std::rc::{Rc, Weak};
use std::sync::Arc;

use crate::base_events::{ClosableFuture, Entry, LoopInner};
use crate::events;
use crate::exceptions::{CancelledError, Error};
use crate::tasks::{TaskHeader, TaskRun};

use super::callbacks::{AnyCallback, Callback, CallbackList, DoneCallback};
use super::{AnyFuture, DynFuture, Future, FutureKind};

pub(crate) enum State<T> {
    Pending,
    Finished(Result<T, Error>),
    Cancelled(Option<Rc<str>>),
    /// The result was moved out by `run_until_complete`, which owned the only way to reach it.
    Consumed,
}

/// The state every future has, plain or task.
pub(crate) struct FutureCore<T> {
    state: RefCell<State<T>>,
    /// A `Cell`, not a `RefCell` (8 bytes less, and no borrow flag to keep on the await
    /// path): the list is taken out to be read or changed, and put back. Nothing that runs
    /// while it is out can reach this future (predicates and pushes only), so none sees the
    /// empty stand-in.
    ///
    /// Dropped by hand (see `Drop`): most futures end with an empty list, which then costs a
    /// test rather than a call to the list's drop glue.
    callbacks: ManuallyDrop<Cell<CallbackList<T>>>,
    /// Set once: when made, or by the first loop that awaits it or adds a callback.
    lp: OnceCell<Weak<LoopInner>>,
    /// `state` is not `Pending` (it never goes back): what every await's first poll asks,
    /// answered without borrowing the state.
    done: Cell<bool>,
    /// asyncio's `__log_traceback`: an exception was set and nobody has looked at it yet.
    log_traceback: Cell<bool>,
    registered_for_close: Cell<bool>,
    pub(crate) created_at: &'static Location<'static>,
    /// A plain future's label ([`Future::set_label`]), shown in reports and traces. Boxed:
    /// a thin pointer, so the rare label costs every future and task 8 bytes, not 16.
    label: Cell<Option<Box<Rc<str>>>>,
}

impl<T: 'static> FutureCore<T> {
    pub(crate) fn new(lp: Weak<LoopInner>, created_at: &'static Location<'static>) -> Self {
        FutureCore {
            state: RefCell::new(State::Pending),
            callbacks: ManuallyDrop::new(Cell::new(CallbackList::Empty)),
            lp: if Weak::ptr_eq(&lp, &Weak::new()) {
                OnceCell::new()
            } else {
                OnceCell::from(lp)
            },
            done: Cell::new(false),
            log_traceback: Cell::new(false),
            registered_for_close: Cell::new(false),
            created_at,
            label: Cell::new(None),
        }
    }

    pub(crate) fn loop_inner(&self) -> Option<Rc<LoopInner>> {
        self.lp.get()?.upgrade()
    }

    fn is_unbound(&self) -> bool {
        self.lp.get().is_none()
    }

    /// True if this future belongs to `lp`; an unbound future (created with no loop around)
    /// is bound to `lp` now.
    #[inline]
    pub(crate) fn belongs_to(&self, lp: &Rc<LoopInner>) -> bool {
        match self.lp.get() {
            Some(mine) => std::ptr::eq(mine.as_ptr(), Rc::as_ptr(lp)),
            None => self.lp.set(Rc::downgrade(lp)).is_ok(),
        }
    }

    /// True if this future is bound to the loop at `lp` (false for an unbound one).
    #[inline]
    pub(crate) fn bound_to(&self, lp: *const LoopInner) -> bool {
        self.lp
            .get()
            .is_some_and(|mine| std::ptr::eq(mine.as_ptr(), lp))
    }

    #[inline]
    pub(crate) fn is_done(&self) -> bool {
        self.done.get()
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
    #[inline]
    pub(crate) fn complete(this: &Rc<DynFuture<T>>, new: State<T>) -> Result<(), Error> {
        Self::complete_core(this, this.core(), new)
    }

    /// [`complete`](Self::complete) with `this`'s header at hand.
    #[inline]
    pub(crate) fn complete_core(
        this: &Rc<DynFuture<T>>,
        core: &Self,
        new: State<T>,
    ) -> Result<(), Error> {
        {
            let mut state = core.state.borrow_mut();
            if !matches!(*state, State::Pending) {
                drop(state);
                return Err(core.already_done());
            }
            core.log_traceback
                .set(matches!(new, State::Finished(Err(_))));
            core.done.set(true);
            // `Pending` owns nothing: forgetting it spares the state's drop glue.
            mem::forget(mem::replace(&mut *state, new));
        }
        match core.callbacks.take().into_lone_wakeup() {
            // The usual case, one task awaiting the future: wake it without iterating a list.
            Ok(task) => match core.open_loop() {
                Some(lp) => {
                    TaskHeader::wake_owned(&lp, task);
                    Ok(())
                }
                None => Err(closed_loop(task)),
            },
            Err(CallbackList::Empty) => Ok(()),
            Err(callbacks) => Self::schedule_list(this, core, callbacks),
        }
    }

    /// Out of line: the formatting would cost every `complete` a longer prologue.
    #[cold]
    #[inline(never)]
    fn already_done(&self) -> Error {
        Error::invalid_state(format!("{}: the future is already done", self.state_name()))
    }

    #[inline(never)]
    fn schedule_list(
        this: &Rc<DynFuture<T>>,
        core: &Self,
        callbacks: CallbackList<T>,
    ) -> Result<(), Error> {
        if callbacks.is_empty() {
            return Ok(());
        }
        let Some(lp) = core.open_loop() else {
            return Err(closed_loop(callbacks));
        };
        for cb in callbacks.into_iter() {
            Self::schedule_one(&lp, this, cb);
        }
        Ok(())
    }

    fn open_loop(&self) -> Option<Rc<LoopInner>> {
        self.loop_inner().filter(|lp| !lp.is_closed())
    }

    fn schedule_one(lp: &LoopInner, this: &Rc<DynFuture<T>>, cb: Callback<T>) {
        match cb {
            Callback::Wakeup(task) => TaskHeader::wake_owned(lp, task),
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
                let fut: Rc<dyn AnyFuture> = this.clone();
                lp.schedule(Entry::Done(Box::new(move || f(&fut))));
            }
            Callback::Stop(target, _) => lp.schedule(Entry::Stop(target)),
        }
    }

    pub(crate) fn add_callback(this: &Rc<DynFuture<T>>, cb: Callback<T>) {
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
                    let _ = core.lp.set(Rc::downgrade(&lp));
                }
            }
            if let Some(lp) = core.loop_inner() {
                let any: Rc<dyn ClosableFuture> = this.clone();
                lp.register_callback_future(Rc::downgrade(&any));
            }
        }
        core.push_callback(cb);
    }

    #[inline]
    fn push_callback(&self, cb: Callback<T>) {
        // Most futures get one callback, into an empty list: try that first, so the common
        // case neither moves the list twice nor drops the placeholder a `take` leaves.
        let earlier = self.callbacks.replace(CallbackList::One(cb));
        if let CallbackList::Empty = earlier {
            // `Empty` owns nothing; forgetting it spares the call to the list's drop glue,
            // which the compiler keeps out of line.
            mem::forget(earlier);
            return;
        }
        self.callback_behind(earlier);
    }

    /// The callback just set goes behind the `earlier` ones, in registration order.
    #[inline(never)]
    fn callback_behind(&self, mut earlier: CallbackList<T>) {
        if let CallbackList::One(cb) = self.callbacks.take() {
            earlier.push(cb);
        }
        self.callbacks.set(earlier);
    }

    /// Runs `f` on the callback list (taken out of its cell meanwhile; `f` must not reach
    /// this future).
    fn edit_callbacks<R>(&self, f: impl FnOnce(&mut CallbackList<T>) -> R) -> R {
        let mut list = self.callbacks.take();
        let r = f(&mut list);
        self.callbacks.set(list);
        r
    }

    /// The first suspension of an await by `task` ([`WaitCore`](super::WaitCore)'s checks
    /// and registration, in asyncio's order, through one dynamic call): done already, bound
    /// to another loop, the task itself, or else `task`'s wakeup is now a callback.
    #[inline]
    pub(crate) fn register_await(
        &self,
        own_task: Option<u64>,
        lp: &Rc<LoopInner>,
        task: &Rc<dyn TaskRun>,
    ) -> Registration {
        if self.is_done() {
            return Registration::Done;
        }
        if !self.belongs_to(lp) {
            return Registration::OtherLoop;
        }
        if own_task.is_some() && own_task == Some(task.header().id) {
            return Registration::Itself;
        }
        self.push_wakeup(task);
        Registration::Registered
    }

    /// Registers `task`'s wakeup on a pending future (an await suspending here). A wakeup
    /// neither registers the future for `close()` nor can find it done (the caller checked):
    /// `add_callback` would only push it.
    #[inline]
    pub(crate) fn push_wakeup(&self, task: &Rc<dyn TaskRun>) {
        self.push_callback(Callback::Wakeup(task.clone()));
    }

    /// Removes the stop callback of run `run` of `lp` (see [`Callback::Stop`]).
    pub(crate) fn remove_stop_callback(&self, lp: &Rc<LoopInner>, run: u64) {
        // The usual end of a run finds the list empty: the main future completed and its
        // callbacks were taken.
        let removed = self.edit_callbacks(|callbacks| {
            callbacks.extract(
                |c| matches!(c, Callback::Stop(l, r) if *r == run && std::ptr::eq(l.as_ptr(), Rc::as_ptr(lp))),
            )
        });
        drop(removed);
    }

    pub(crate) fn remove_callback(&self, cb: &DoneCallback<T>) -> usize {
        let removed = self.edit_callbacks(|callbacks| {
            callbacks.extract(|c| matches!(c, Callback::Done(d) if Rc::ptr_eq(&d.0, &cb.0)))
        });
        // Freed once the list is back in place: a closure's captures may run code that touches
        // this future.
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

    /// What an await gives once the future is done: [`result`](Self::result), with the usual
    /// case inline (a result leaves nothing to reset: only an exception is logged).
    #[inline]
    pub(crate) fn outcome(&self) -> Option<Result<T, Error>>
    where
        T: Clone,
    {
        match &*self.state.borrow() {
            State::Pending => None,
            State::Finished(Ok(v)) => Some(Ok(v.clone())),
            _ => Some(self.result()),
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
        let removed = self.edit_callbacks(|callbacks| {
            callbacks.extract(|c| matches!(c, Callback::Any(f) if Rc::ptr_eq(f, cb)))
        });
        removed.len()
    }

    pub(crate) fn remove_wakeup_of(&self, task_id: u64) {
        let removed = self.edit_callbacks(|callbacks| {
            callbacks.extract(|c| matches!(c, Callback::Wakeup(t) if t.header().id == task_id))
        });
        drop(removed);
    }

    pub(crate) fn clear_all_callbacks(&self) {
        let cbs = self.callbacks.take();
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

/// The error of completing a future whose loop is closed, after freeing the callbacks that
/// cannot run. Out of line: its allocation would cost every `complete` a longer prologue.
#[cold]
#[inline(never)]
fn closed_loop<C>(callbacks: C) -> Error {
    drop(callbacks);
    Error::runtime("Event loop is closed")
}

/// What [`FutureCore::register_await`] did.
pub(crate) enum Registration {
    Done,
    OtherLoop,
    Itself,
    Registered,
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
    #[inline]
    fn drop(&mut self) {
        // Plain futures report here; a task reports first in its own Drop and clears this.
        if self.log_traceback.get() {
            self.report_never_retrieved();
        }
        // Only a future that never completed still has callbacks, and its state owns nothing:
        // freeing them before the state frees nothing in a different order. The `Empty` left
        // behind owns nothing either, so the field needs no drop.
        let callbacks = self.callbacks.take();
        if !matches!(callbacks, CallbackList::Empty) {
            drop(callbacks);
        } else {
            mem::forget(callbacks);
        }
    }
}

impl<T> FutureCore<T> {
    /// Out of line: every future's drop checks the flag, few get here.
    #[cold]
    #[inline(never)]
    fn report_never_retrieved(&self) {
        if let State::Finished(Err(e)) = &*self.state.borrow() {
            if let Some(lp) = self.lp.get().and_then(Weak::upgrade) {
                lp.report(crate::base_events::ExceptionContext {
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

/// A plain future: `cancel()` is asyncio's `Future.cancel`, and a label names it in reports.
impl<T: 'static> FutureKind for FutureCore<T> {
    type Output = T;

    fn core(&self) -> &FutureCore<T> {
        self
    }

    fn cancel(self: Rc<Self>, msg: Option<Rc<str>>) -> bool {
        self.log_traceback.set(false);
        if self.is_done() {
            return false;
        }
        let this: Rc<DynFuture<T>> = self;
        // A closed loop cannot run the callbacks; the future is cancelled all the same.
        let _ = FutureCore::complete(&this, State::Cancelled(msg));
        true
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

    fn describe_shared(&self) -> Arc<str> {
        if self.label().is_some() {
            return FutureKind::describe(self).into();
        }
        thread_local! {
            // By type and creation site: what the description depends on. The addresses only
            // find it again; they never show in a trace.
            static DESCRIBED: RefCell<std::collections::BTreeMap<(usize, usize, usize), Arc<str>>> =
                RefCell::default();
        }
        let full = std::any::type_name::<T>();
        let site: *const Location<'static> = self.created_at;
        let key = (full.as_ptr() as usize, full.len(), site as usize);
        DESCRIBED.with(|all| {
            if let Some(d) = all.borrow().get(&key) {
                return d.clone();
            }
            let d: Arc<str> = FutureKind::describe(self).into();
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
