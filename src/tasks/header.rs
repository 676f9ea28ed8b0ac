//! What every task has, whatever its result type: its header (asyncio's `Task` attributes:
//! `_fut_waiter`, `_must_cancel`, `_num_cancels_requested`, its name) and its erased view,
//! [`TaskRun`] (which the loop sees as a `Runnable`). The protocol that uses them is in
//! `task.rs`.

use std::cell::{Cell, OnceCell, RefCell};
use std::mem;
use std::panic::Location;
use std::rc::{Rc, Weak};
use std::task::Waker;

use crate::base_events::{Entry, LoopInner, Runnable};
use crate::exceptions::Error;
use crate::futures::AnyFuture;

use super::sleep::SleepSlot;

thread_local! {
    /// How many tasks of this thread have a throw pending (at least: a task freed with one
    /// still counts). Almost always zero, and then a resuming await need not reach its task's
    /// header to know that nothing is thrown at it: a plain thread-local read.
    static THROWING: Cell<usize> = const { Cell::new(0) };
}

/// True if no task of this thread has a throw pending.
#[inline]
pub(crate) fn nothing_thrown() -> bool {
    THROWING.get() == 0
}

/// What every task has, whatever its result type.
pub(crate) struct TaskHeader {
    pub(crate) id: u64,
    /// Its place in the loop's task table (`u32`: the header is 8 bytes smaller).
    pub(crate) slot: Cell<u32>,
    /// What few tasks have (a name, a cancel message), allocated by the first that needs it.
    cold: RefCell<Option<Box<Cold>>>,
    pub(crate) spawned_at: &'static Location<'static>,
    pub(crate) suspended_at: Cell<Option<&'static Location<'static>>>,
    pub(crate) num_cancels_requested: Cell<u32>,
    /// asyncio's `_must_cancel`: throw `CancelledError` at the next step.
    pub(crate) must_cancel: Cell<bool>,
    /// The exception the current step throws at the suspended await, until one takes it.
    throw: Cell<Option<Error>>,
    /// Whether `throw` holds one: what every resume asks, answered without moving it out.
    throwing: Cell<bool>,
    /// asyncio's `_fut_waiter`: what the task awaits, so `cancel()` can cancel it. More than
    /// one only when a coroutine awaits several futures at once (`join!`).
    ///
    /// A `Cell`, not a `RefCell` (8 bytes less, and no borrow flag on every await and step):
    /// the list is taken out to be read or changed, and put back. Nothing that runs while it
    /// is out reaches it (comparisons, pushes, and `describe`, which names futures and tasks
    /// without looking at waiters).
    waiters: Cell<Waiters>,
    /// The future of the task's current `sleep`, kept in the task instead of allocated.
    pub(crate) sleep: SleepSlot,
    /// A step or wakeup of this task is in the ready queue.
    pub(crate) scheduled: Cell<bool>,
    pub(crate) running: Cell<bool>,
    pub(crate) started: Cell<bool>,
    /// False for the task `run_until_complete` makes: its failure is returned, not reported.
    pub(crate) log_destroy_pending: Cell<bool>,
    /// Made when a poll first keeps the waker (see `base_events::Inbox`): tulipsim's own
    /// awaitables never use it.
    pub(crate) waker: OnceCell<Waker>,
    pub(crate) lp: Weak<LoopInner>,
}

/// A task's rarely set fields: kept out of line, a pending task is 56 bytes smaller.
#[derive(Default)]
struct Cold {
    name: Option<Rc<str>>,
    /// The message of the cancellation `must_cancel` owes.
    cancel_msg: Option<Rc<str>>,
    /// The message the sleep slot's future was cancelled with.
    sleep_cancel_msg: Option<Rc<str>>,
}

/// What a task can wait on.
pub(crate) enum Waiter {
    Future(Rc<dyn AnyFuture>),
    /// The task's sleep slot.
    Sleep,
}

/// What a task waits on: almost always one thing, so one is kept inline and a pending task
/// costs no allocation for it (a `Vec` cost 112 bytes a task). The rare list is boxed: the
/// variants then have a plain tag, which every await and every step read, where a `Vec`'s
/// capacity niche took a dozen instructions to decode.
#[derive(Default)]
#[expect(
    clippy::box_collection,
    reason = "the box is what gives the enum a plain tag"
)]
pub(crate) enum Waiters {
    #[default]
    Empty,
    One(Waiter),
    Many(Box<Vec<Waiter>>),
}

impl Waiters {
    pub(crate) fn is_empty(&self) -> bool {
        match self {
            Waiters::Empty => true,
            Waiters::One(_) => false,
            Waiters::Many(v) => v.is_empty(),
        }
    }

    pub(crate) fn push(&mut self, w: Waiter) {
        *self = match mem::take(self) {
            Waiters::Empty => Waiters::One(w),
            Waiters::One(first) => Waiters::Many(Box::new(vec![first, w])),
            Waiters::Many(mut v) => {
                v.push(w);
                Waiters::Many(v)
            }
        };
    }

    pub(crate) fn iter(&self) -> std::slice::Iter<'_, Waiter> {
        match self {
            Waiters::Empty => [].iter(),
            Waiters::One(w) => std::slice::from_ref(w).iter(),
            Waiters::Many(v) => v.iter(),
        }
    }

    pub(crate) fn remove(&mut self, i: usize) -> Option<Waiter> {
        match self {
            Waiters::Empty => None,
            Waiters::One(_) if i == 0 => match mem::take(self) {
                Waiters::One(w) => Some(w),
                _ => None,
            },
            Waiters::One(_) => None,
            Waiters::Many(v) => (i < v.len()).then(|| v.remove(i)),
        }
    }
}

impl<'a> IntoIterator for &'a Waiters {
    type Item = &'a Waiter;
    type IntoIter = std::slice::Iter<'a, Waiter>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl TaskHeader {
    pub(crate) fn new(
        id: u64,
        spawned_at: &'static Location<'static>,
        lp: Weak<LoopInner>,
    ) -> Self {
        TaskHeader {
            id,
            slot: Cell::new(u32::MAX),
            cold: RefCell::new(None),
            spawned_at,
            suspended_at: Cell::new(None),
            num_cancels_requested: Cell::new(0),
            must_cancel: Cell::new(false),
            throw: Cell::new(None),
            throwing: Cell::new(false),
            waiters: Cell::new(Waiters::Empty),
            sleep: SleepSlot::new(),
            scheduled: Cell::new(false),
            running: Cell::new(false),
            started: Cell::new(false),
            log_destroy_pending: Cell::new(true),
            waker: OnceCell::new(),
            lp,
        }
    }

    pub(crate) fn name(&self) -> String {
        match self.cold(|c| c.name.clone()) {
            Some(n) => n.to_string(),
            None => format!("Task-{}", self.id),
        }
    }

    /// The name given at creation or by `set_name`, if any.
    pub(crate) fn custom_name(&self) -> Option<String> {
        self.cold(|c| c.name.as_deref().map(str::to_string))
    }

    fn cold<R>(&self, f: impl FnOnce(&Cold) -> R) -> R {
        match &*self.cold.borrow() {
            Some(cold) => f(cold),
            None => f(&Cold::default()),
        }
    }

    /// Sets a cold field, allocating them only for a value other than `None`.
    fn set_cold(&self, field: fn(&mut Cold) -> &mut Option<Rc<str>>, value: Option<Rc<str>>) {
        let mut cold = self.cold.borrow_mut();
        if cold.is_none() && value.is_none() {
            return;
        }
        let old = mem::replace(field(cold.get_or_insert_with(Box::default)), value);
        drop(cold);
        drop(old); // outside the borrow
    }

    pub(crate) fn set_name(&self, name: Option<Rc<str>>) {
        self.set_cold(|c| &mut c.name, name);
    }

    pub(crate) fn cancel_msg(&self) -> Option<Rc<str>> {
        self.cold(|c| c.cancel_msg.clone())
    }

    pub(crate) fn set_cancel_msg(&self, msg: Option<Rc<str>>) {
        self.set_cold(|c| &mut c.cancel_msg, msg);
    }

    pub(crate) fn sleep_cancel_msg(&self) -> Option<Rc<str>> {
        self.cold(|c| c.sleep_cancel_msg.clone())
    }

    pub(crate) fn set_sleep_cancel_msg(&self, msg: Option<Rc<str>>) {
        self.set_cold(|c| &mut c.sleep_cancel_msg, msg);
    }

    #[inline]
    pub(crate) fn schedule_step(&self, lp: &LoopInner, task: &Rc<dyn TaskRun>) {
        if !self.scheduled.replace(true) {
            lp.schedule(Entry::Step(task.clone()));
        }
    }

    /// A future this task awaits is done: schedule the task's `__wakeup`, unless a step of
    /// it is coming anyway (only possible when it awaits several futures at once).
    #[inline]
    pub(crate) fn wake(&self, lp: &LoopInner, task: &Rc<dyn TaskRun>) {
        if !self.scheduled.replace(true) {
            lp.schedule(Entry::Wakeup(task.clone()));
        }
    }

    /// [`wake`](Self::wake) for a caller that owns a reference to `task` (a future's wakeup
    /// callback, consumed as the future completes): it moves into the entry, uncloned.
    #[inline]
    pub(crate) fn wake_owned(lp: &LoopInner, task: Rc<dyn TaskRun>) {
        if !task.header().scheduled.replace(true) {
            lp.schedule(Entry::Wakeup(task));
        }
    }

    /// True if the step is throwing an exception at the suspended await.
    #[inline]
    pub(crate) fn throw_pending(&self) -> bool {
        self.throwing.get()
    }

    /// The exception the step throws, taken by the await where it lands.
    #[inline]
    pub(crate) fn take_throw(&self) -> Option<Error> {
        if !self.throwing.get() {
            return None;
        }
        self.take_pending_throw()
    }

    #[cold]
    #[inline(never)]
    fn take_pending_throw(&self) -> Option<Error> {
        self.throwing.set(false);
        THROWING.set(THROWING.get() - 1);
        self.throw.take()
    }

    pub(crate) fn set_throw(&self, exc: Error) {
        self.throw.set(Some(exc));
        if !self.throwing.replace(true) {
            THROWING.set(THROWING.get() + 1);
        }
    }

    #[inline]
    pub(crate) fn add_waiter(&self, fut: Rc<dyn AnyFuture>, site: &'static Location<'static>) {
        self.suspended_at.set(Some(site));
        // Every await but a `join!`'s second finds the list empty: try that first, so the
        // common case drops nothing and pushes nothing.
        let earlier = self.waiters.replace(Waiters::One(Waiter::Future(fut)));
        if let Waiters::Empty = earlier {
            // `Empty` owns nothing; forgetting it spares every await a call to the list's
            // drop glue, which the compiler keeps out of line.
            mem::forget(earlier);
            return;
        }
        self.waiter_behind(earlier);
    }

    /// The waiter just set goes behind the `earlier` ones, in the order they were added.
    #[inline(never)]
    fn waiter_behind(&self, mut earlier: Waiters) {
        if let Waiters::One(w) = self.waiters.take() {
            earlier.push(w);
        }
        self.waiters.set(earlier);
    }

    /// `sleep`'s waiter, behind any others.
    pub(crate) fn push_waiter(&self, w: Waiter) {
        let mut all = self.waiters.take();
        all.push(w);
        self.waiters.set(all);
    }

    /// True if the task waits on anything (asyncio: `_fut_waiter is not None`).
    pub(crate) fn has_waiter(&self) -> bool {
        let all = self.waiters.take();
        let any = !all.is_empty();
        self.waiters.set(all);
        any
    }

    /// Takes the waiters out, leaving none.
    pub(crate) fn take_waiters(&self) -> Waiters {
        self.waiters.take()
    }

    /// Puts `list` back as the waiters, unless some were added meanwhile.
    pub(crate) fn restore_waiters(&self, list: Waiters) {
        let now = self.waiters.take();
        if now.is_empty() {
            self.waiters.set(list);
        } else {
            self.waiters.set(now);
        }
    }

    pub(crate) fn remove_waiter(&self, fut: &Rc<dyn AnyFuture>) {
        let mut all = self.waiters.take();
        let removed = all
            .iter()
            .position(|x| matches!(x, Waiter::Future(x) if std::ptr::addr_eq(Rc::as_ptr(x), Rc::as_ptr(fut))))
            .and_then(|i| all.remove(i));
        self.waiters.set(all);
        drop(removed);
    }

    /// Forgets the waiters (asyncio clears `_fut_waiter` at each step), keeping the list's
    /// storage; freeing happens with the list out of place since it may run user `Drop` code.
    #[inline]
    pub(crate) fn clear_waiters(&self) {
        match self.waiters.take() {
            // A step after an await: its one waiter goes.
            Waiters::One(w) => drop(w),
            // A step after a yield or a foreign wake has nothing to forget.
            Waiters::Empty => {}
            Waiters::Many(list) => self.clear_list(list),
        }
    }

    /// Out of line: only `join!`-style awaits make a list, and its loop would cost every
    /// step's call here a longer prologue.
    #[inline(never)]
    #[expect(
        clippy::box_collection,
        reason = "the list as `Waiters::Many` holds it"
    )]
    fn clear_list(&self, mut list: Box<Vec<Waiter>>) {
        list.clear();
        // Keep the storage for the next `join!`, unless the clearing (user `Drop` code) made
        // a new list meanwhile.
        self.restore_waiters(Waiters::Many(list));
    }

    pub(crate) fn describe_wait(&self) -> std::sync::Arc<str> {
        thread_local! {
            static SLEEP: std::sync::Arc<str> = std::sync::Arc::from("sleep");
        }
        let waiters = self.waiters.take();
        let described = match &waiters {
            Waiters::One(Waiter::Future(f)) => f.describe_shared(),
            Waiters::One(Waiter::Sleep) => SLEEP.with(std::sync::Arc::clone),
            _ if waiters.is_empty() && self.scheduled.get() => {
                "nothing (its next step is scheduled)".into()
            }
            _ if waiters.is_empty() => {
                "a non-tulipsim future (only its std Waker can wake the task)".into()
            }
            _ => waiters
                .iter()
                .map(|w| match w {
                    Waiter::Future(f) => f.describe(),
                    Waiter::Sleep => "sleep".to_string(),
                })
                .collect::<Vec<_>>()
                .join(" and ")
                .into(),
        };
        self.waiters.set(waiters);
        described
    }
}

/// A task with its result type erased, as the task functions and futures hold it; the loop
/// holds it as its supertrait [`Runnable`].
pub(crate) trait TaskRun: Runnable {
    fn header(&self) -> &TaskHeader;
    /// The header, and the address of the task's own future header: an await compares it
    /// with its future's to refuse a task awaiting itself, in the one dynamic call it makes
    /// for the header anyway.
    fn header_and_future(&self) -> (&TaskHeader, *const ());
    fn is_cancelled(&self) -> bool;
    fn to_any_future(self: Rc<Self>) -> Rc<dyn AnyFuture>;
}
