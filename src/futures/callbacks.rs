//! A future's done-callbacks (asyncio's `_callbacks`): what may be registered, and the list that
//! keeps them in registration order until the future completes and schedules them.

use std::mem;
use std::rc::{Rc, Weak};

use crate::base_events::LoopInner;
use crate::tasks::TaskRun;

use super::{AnyFuture, Future};

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
pub struct DoneCallback<T>(pub(super) Rc<CallbackFn<T>>);

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
/// awaiting it), which lives inline: awaiting a fresh future allocates nothing here. The rare
/// list is boxed, so that the list's tag is the lone callback's: 24 bytes, not 32, in every
/// future and task, and three words to move where the list is taken or replaced.
#[derive(Default)]
#[expect(
    clippy::box_collection,
    reason = "the box is what lets the list share the callback's tag"
)]
pub(crate) enum CallbackList<T> {
    #[default]
    Empty,
    One(Callback<T>),
    Many(Box<Vec<Callback<T>>>),
}

impl<T> CallbackList<T> {
    pub(super) fn push(&mut self, cb: Callback<T>) {
        *self = match mem::take(self) {
            CallbackList::Empty => CallbackList::One(cb),
            CallbackList::One(first) => CallbackList::Many(Box::new(vec![first, cb])),
            CallbackList::Many(mut all) => {
                all.push(cb);
                CallbackList::Many(all)
            }
        };
    }

    /// The lone callback, if it is a task's wakeup (most futures' only callback).
    #[inline]
    pub(super) fn into_lone_wakeup(self) -> Result<Rc<dyn TaskRun>, Self> {
        match self {
            CallbackList::One(Callback::Wakeup(task)) => Ok(task),
            other => Err(other),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        match self {
            CallbackList::Empty => true,
            CallbackList::One(_) => false,
            CallbackList::Many(all) => all.is_empty(),
        }
    }

    pub(super) fn into_iter(self) -> impl Iterator<Item = Callback<T>> {
        let (one, many) = match self {
            CallbackList::Empty => (None, Vec::new()),
            CallbackList::One(cb) => (Some(cb), Vec::new()),
            CallbackList::Many(all) => (None, *all),
        };
        one.into_iter().chain(many)
    }

    pub(super) fn len(&self) -> usize {
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
    pub(super) fn extract(
        &mut self,
        mut pred: impl FnMut(&Callback<T>) -> bool,
    ) -> CallbackList<T> {
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
