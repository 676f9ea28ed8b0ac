//! Awaiting a future: asyncio's `Future.__await__` (yield the future to the task), seen from the
//! task's side: the task registers its wakeup on the future, makes it its waiter, and takes the
//! throw its step delivers at this await.

use std::panic::Location;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use crate::base_events::LoopInner;
use crate::exceptions::Error;
use crate::tasks::{self, TaskHeader, TaskRun};

use super::{AnyFuture, Future, Registration};

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
    pub(super) core: WaitCore,
    pub(super) fut: Future<T>,
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
    #[inline]
    pub(crate) fn poll_done(&mut self) -> Poll<Result<(), Error>> {
        // Two functions, each with only what its case needs: the resume, every await's
        // second poll, stays small.
        match self.registered {
            Some(_) => self.poll_resumed(),
            None => self.poll_first(),
        }
    }

    /// A poll after the wakeup was registered: take a throw, or see whether the future is done.
    #[inline]
    fn poll_resumed(&mut self) -> Poll<Result<(), Error>> {
        let Some(task) = &self.registered else {
            return self.poll_first();
        };
        // Resuming: the task that registered is the one that suspended here.
        let header = task.header();
        if let Some(exc) = take_throw(header, &self.fut) {
            return Poll::Ready(Err(self.thrown(exc)));
        }
        if self.fut.is_done() {
            self.registered = None;
            return Poll::Ready(Ok(()));
        }
        // Woken for another reason (several awaits at once): still waiting.
        header.add_waiter(self.fut.clone(), self.site);
        Poll::Pending
    }

    #[inline(never)]
    fn poll_first(&mut self) -> Poll<Result<(), Error>> {
        tasks::with_current(|lp, task| self.poll_in_task(lp, task)).unwrap_or_else(|| {
            Poll::Ready(Err(Error::runtime(
                "a tulipsim future was awaited outside a running tulipsim task",
            )))
        })
    }

    /// A throw landed here: `__wakeup` called `result()` before the throw, so the outcome was
    /// seen; the await is over.
    fn thrown(&mut self, exc: Error) -> Error {
        self.fut.mark_retrieved();
        self.unregister();
        exc
    }

    /// The first poll, or one after a misuse error was scheduled to be thrown: register, or
    /// finish at once if the future is already done.
    #[inline]
    fn poll_in_task(
        &mut self,
        lp: &Rc<LoopInner>,
        task: &Rc<dyn TaskRun>,
    ) -> Poll<Result<(), Error>> {
        let header = task.header();
        if self.polled {
            if let Some(exc) = take_throw(header, &self.fut) {
                return Poll::Ready(Err(self.thrown(exc)));
            }
        }
        // Never registered here: `poll_done` resumes a registered await itself.
        let exc = match self.fut.register_await(lp, task) {
            Registration::Done => return Poll::Ready(Ok(())),
            Registration::Registered => None,
            Registration::OtherLoop => Some(Error::runtime(format!(
                "Task {} got {} attached to a different loop",
                header.name(),
                self.fut.describe()
            ))),
            Registration::Itself => Some(Error::runtime(format!(
                "Task cannot await on itself: {}",
                header.name()
            ))),
        };
        self.polled = true;
        if let Some(exc) = exc {
            header.throw_at_next_step(lp, task, exc);
            return Poll::Pending;
        }
        self.registered = Some(task.clone());
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

/// The exception the task's step throws at this await, if any (see `TaskHeader::land_throw`).
#[inline(always)]
fn take_throw(header: &TaskHeader, fut: &Rc<dyn AnyFuture>) -> Option<Error> {
    // Almost every resume has nothing thrown: look before calling the general landing.
    if !header.throw_pending() {
        return None;
    }
    header.land_throw(|| {
        if !fut.is_done() {
            return None;
        }
        match fut.exception_any() {
            Ok(Some(e @ Error::Cancelled(_))) | Err(e @ Error::Cancelled(_)) => Some(e),
            _ => None,
        }
    })
}

impl Drop for WaitCore {
    fn drop(&mut self) {
        // Unregistering is all there is to do, and only a registered await has anything to
        // unregister: an await that finished has no dynamic call left here.
        if self.registered.is_some() && !self.fut.is_done() {
            self.unregister();
        }
    }
}
