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

    // The usual await (suspend once, resume done) is typed and short, with no dynamic call
    // but those to the two headers; every other case takes `WaitCore`'s general path. The
    // resume is inlined into the awaiting coroutine, the first poll is not.
    #[inline(always)]
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        match &this.core.registered {
            Some(task) if tasks::nothing_thrown() || !task.header().throw_pending() => {
                if let Some(outcome) = this.fut.core().outcome() {
                    this.core.registered = None;
                    return Poll::Ready(outcome);
                }
                this.poll_general()
            }
            None if !this.core.polled => this.poll_first(),
            _ => this.poll_general(),
        }
    }
}

impl<T: Clone + 'static> Wait<T> {
    /// The first poll's usual cases: the future is done, or pending on the running loop and
    /// not the running task itself, so the task's wakeup becomes its callback.
    #[inline(never)]
    fn poll_first(&mut self) -> Poll<Result<T, Error>> {
        if let Some((lp, task)) = tasks::current_at() {
            let fut = &self.fut.obj;
            let core = fut.core();
            if core.is_done() {
                return Poll::Ready(core.result());
            }
            let (header, own) = task.header_and_future();
            // An unbound future is bound by the general path; a task cannot await itself.
            if core.bound_to(lp) && !std::ptr::eq(std::ptr::from_ref(core).cast(), own) {
                core.push_wakeup(&task);
                header.add_waiter(fut.clone(), self.core.site);
                self.core.polled = true;
                self.core.registered = Some(task);
                return Poll::Pending;
            }
        }
        self.poll_general()
    }

    #[inline(never)]
    fn poll_general(&mut self) -> Poll<Result<T, Error>> {
        let any: Rc<dyn AnyFuture> = self.fut.obj.clone();
        match self.core.poll_done(&any) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(exc)) => Poll::Ready(Err(exc)),
            Poll::Ready(Ok(())) => Poll::Ready(self.fut.core().result()),
        }
    }
}

impl<T: 'static> Drop for Wait<T> {
    #[inline]
    fn drop(&mut self) {
        // Only an await dropped while suspended has anything to unregister.
        if self.core.registered.is_some() {
            self.unregister();
        }
    }
}

impl<T: 'static> Wait<T> {
    #[cold]
    #[inline(never)]
    fn unregister(&mut self) {
        let any: Rc<dyn AnyFuture> = self.fut.obj.clone();
        self.core.unregister_unless_done(&any);
    }
}

/// The part of awaiting a future that does not depend on its result type: suspending the
/// current task until the future is done, as asyncio's `Future.__await__` together with
/// `Task.__step` does. The future is the awaitable's, passed in.
///
/// On the first poll that must suspend, it registers the task's wakeup as a done-callback and
/// makes the future the task's waiter (so that `Task.cancel` cancels it). On a later poll it
/// first takes an exception the task's step is throwing: the await where the coroutine is
/// suspended is where asyncio's `coro.throw()` lands. Dropped early (as `select!` does), its
/// owner unregisters it.
pub(crate) struct WaitCore {
    /// The task whose wakeup is in the future's callbacks.
    registered: Option<Rc<dyn TaskRun>>,
    /// True once this await has suspended: a throw at the next step lands here.
    polled: bool,
    site: &'static Location<'static>,
}

impl WaitCore {
    pub(crate) fn new(site: &'static Location<'static>) -> WaitCore {
        WaitCore {
            registered: None,
            polled: false,
            site,
        }
    }

    /// `Ready(Ok(()))` once `fut` is done (read its outcome then); `Ready(Err(e))` when the
    /// task's step throws `e` here, or when there is no task to suspend.
    pub(crate) fn poll_done(&mut self, fut: &Rc<dyn AnyFuture>) -> Poll<Result<(), Error>> {
        match self.registered {
            Some(_) => self.poll_resumed(fut),
            None => self.poll_first(fut),
        }
    }

    /// A poll after the wakeup was registered: take a throw, or see whether the future is done.
    fn poll_resumed(&mut self, fut: &Rc<dyn AnyFuture>) -> Poll<Result<(), Error>> {
        let Some(task) = &self.registered else {
            return self.poll_first(fut);
        };
        // Resuming: the task that registered is the one that suspended here.
        let header = task.header();
        if let Some(exc) = take_throw(header, fut) {
            return Poll::Ready(Err(self.thrown(fut, exc)));
        }
        if fut.is_done() {
            self.registered = None;
            return Poll::Ready(Ok(()));
        }
        // Woken for another reason (several awaits at once): still waiting.
        header.add_waiter(fut.clone(), self.site);
        Poll::Pending
    }

    fn poll_first(&mut self, fut: &Rc<dyn AnyFuture>) -> Poll<Result<(), Error>> {
        tasks::with_current(|lp, task| self.poll_in_task(fut, lp, task)).unwrap_or_else(|| {
            Poll::Ready(Err(Error::runtime(
                "a tulipsim future was awaited outside a running tulipsim task",
            )))
        })
    }

    /// A throw landed here: `__wakeup` called `result()` before the throw, so the outcome was
    /// seen; the await is over.
    fn thrown(&mut self, fut: &Rc<dyn AnyFuture>, exc: Error) -> Error {
        fut.mark_retrieved();
        self.unregister(fut);
        exc
    }

    /// The first poll, or one after a misuse error was scheduled to be thrown: register, or
    /// finish at once if the future is already done.
    fn poll_in_task(
        &mut self,
        fut: &Rc<dyn AnyFuture>,
        lp: &Rc<LoopInner>,
        task: &Rc<dyn TaskRun>,
    ) -> Poll<Result<(), Error>> {
        let header = task.header();
        if self.polled {
            if let Some(exc) = take_throw(header, fut) {
                return Poll::Ready(Err(self.thrown(fut, exc)));
            }
        }
        // Never registered here: `poll_done` resumes a registered await itself.
        let exc = match fut.register_await(lp, task) {
            Registration::Done => return Poll::Ready(Ok(())),
            Registration::Registered => None,
            Registration::OtherLoop => Some(Error::runtime(format!(
                "Task {} got {} attached to a different loop",
                header.name(),
                fut.describe()
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
        header.add_waiter(fut.clone(), self.site);
        Poll::Pending
    }

    fn unregister(&mut self, fut: &Rc<dyn AnyFuture>) {
        if let Some(task) = self.registered.take() {
            fut.remove_wakeup(task.header().id);
            task.header().remove_waiter(fut);
        }
    }

    /// An await dropped while suspended: take its wakeup back, unless the future is done.
    pub(crate) fn unregister_unless_done(&mut self, fut: &Rc<dyn AnyFuture>) {
        if self.registered.is_some() && !fut.is_done() {
            self.unregister(fut);
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
