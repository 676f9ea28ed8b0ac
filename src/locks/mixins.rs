//! What every primitive of `locks.py` shares. [`LoopBound`] is asyncio's `_LoopBoundMixin`; the
//! waiter helpers are the bookkeeping that `_ContextManagerMixin`'s `async with` and every
//! `acquire`/`wait` rely on: the deque of waiter futures, woken without holding a borrow, and an
//! await that hands its wake-up on when it is dropped half-way.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future as StdFuture;
use std::panic::Location;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{ready, Context, Poll};

use crate::base_events::LoopInner;
use crate::events;
use crate::exceptions::Error;
use crate::futures::{Future, Wait};

pub(super) type Site = &'static Location<'static>;

/// asyncio's `_LoopBoundMixin`: a primitive belongs to the loop it first had to wait on.
pub(crate) struct LoopBound(RefCell<Option<Weak<LoopInner>>>);

impl LoopBound {
    pub(crate) fn new() -> LoopBound {
        LoopBound(RefCell::new(None))
    }

    /// `self._get_loop().create_future()`: a waiter on the running loop, binding the primitive
    /// to that loop on first use. `describe` gives the primitive's repr for the error.
    pub(crate) fn create_waiter<T: 'static>(
        &self,
        site: Site,
        describe: impl FnOnce() -> String,
    ) -> Result<Future<T>, Error> {
        let lp = events::running_loop().ok_or_else(|| Error::runtime("no running event loop"))?;
        let same = {
            let mut bound = self.0.borrow_mut();
            let bound = bound.get_or_insert_with(|| Rc::downgrade(&lp));
            // The `Weak` keeps the allocation, so no later loop can reuse the address.
            std::ptr::eq(bound.as_ptr(), Rc::as_ptr(&lp))
        };
        if !same {
            return Err(Error::runtime(format!(
                "{} is bound to a different event loop",
                describe()
            )));
        }
        Ok(Future::bound(Rc::downgrade(&lp), site))
    }
}

/// `waiters.remove(fut)`, if it is still there (a queue's waker pops it itself).
pub(crate) fn remove_waiter<T: 'static>(waiters: &RefCell<VecDeque<Future<T>>>, fut: &Future<T>) {
    let removed = {
        let mut w = waiters.borrow_mut();
        w.iter().position(|x| x.same(fut)).and_then(|i| w.remove(i))
    };
    // Dropped outside the borrow: the last handle of a future may free a task.
    drop(removed);
}

/// The `i`th waiter, cloned so that no borrow is held while it is woken: `set_result` can drop
/// a task, and with it an awaitable whose drop handling touches this deque.
pub(super) fn nth<T: 'static>(
    waiters: &RefCell<VecDeque<Future<T>>>,
    i: usize,
) -> Option<Future<T>> {
    waiters.borrow().get(i).cloned()
}

/// `fut.set_result(value)` on a waiter known to be pending. It can only fail when the loop is
/// closed, and then the waiting task can never run anyway.
pub(crate) fn wake<T: 'static>(fut: &Future<T>, value: T) {
    let _ = fut.set_result(value);
}

/// The await of a waiter future. Dropped before it finishes, it stops waiting, cancels the
/// waiter, and runs `on_drop`: the primitive's cancellation handling, which CPython runs when
/// the await raises `CancelledError`, so that a wake-up this waiter received is not lost.
pub(crate) struct WaiterAwait<T: 'static, F: FnOnce()> {
    wait: Option<Wait<T>>,
    waiter: Future<T>,
    on_drop: Option<F>,
}

impl<T: 'static, F: FnOnce()> WaiterAwait<T, F> {
    pub(crate) fn new(waiter: &Future<T>, site: Site, on_drop: F) -> Self {
        WaiterAwait {
            wait: Some(waiter.clone().wait_at(site)),
            waiter: waiter.clone(),
            on_drop: Some(on_drop),
        }
    }
}

// Nothing here is pinned structurally: `Wait` is `Unpin` and `F` is never polled.
impl<T: 'static, F: FnOnce()> Unpin for WaiterAwait<T, F> {}

impl<T: Clone + 'static, F: FnOnce()> StdFuture for WaiterAwait<T, F> {
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(wait) = this.wait.as_mut() else {
            return Poll::Pending; // only while being dropped
        };
        let outcome = ready!(Pin::new(wait).poll(cx));
        this.on_drop = None;
        Poll::Ready(outcome)
    }
}

impl<T: 'static, F: FnOnce()> Drop for WaiterAwait<T, F> {
    fn drop(&mut self) {
        if let Some(on_drop) = self.on_drop.take() {
            // Unregister first, so that cancelling the waiter does not wake the task.
            drop(self.wait.take());
            self.waiter.cancel();
            on_drop();
        }
    }
}

/// `, waiters:N` as CPython's reprs show it, or nothing.
pub(super) fn waiters_extra<T: 'static>(waiters: &RefCell<VecDeque<Future<T>>>) -> String {
    match waiters.borrow().len() {
        0 => String::new(),
        n => format!(", waiters:{n}"),
    }
}
