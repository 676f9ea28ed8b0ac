//! asyncio's `wait` and `wait_for`, written as CPython 3.11 writes them: a waiter future, a
//! timer that releases it, and done-callbacks on the awaited futures. Using the same futures
//! and callbacks keeps the order of events the same as asyncio's.

use std::cell::Cell;
use std::future::{Future as StdFuture, IntoFuture};
use std::panic::Location;
use std::pin::Pin;
use std::rc::Rc;

use crate::events::{IntoDelay, LoopHandle, TimerHandle};
use crate::exceptions::Error;
use crate::futures::{AnyCallback, AnyFuture, DoneCallback, Future};
use crate::tasks::{get_running_loop, Awaitable, Task, TaskRef};

/// A timeout: any delay ([`IntoDelay`]) or `None` for no limit.
///
/// ```
/// use tulipsim::{sleep_with, wait_for, EventLoop};
/// let lp = EventLoop::new();
/// let r = lp.run_until_complete(async {
///     let a = wait_for(sleep_with(5, 1), None::<f64>).await?; // no limit
///     let b = wait_for(sleep_with(1, 2), 2.0).await?;          // two seconds
///     Ok(a + b)
/// });
/// assert_eq!(r.unwrap(), 3);
/// ```
pub trait IntoTimeout {
    /// The timeout in nanoseconds, or `None` for no limit.
    ///
    /// ```
    /// use tulipsim::IntoTimeout;
    /// assert_eq!(0.5.into_timeout(), Some(500_000_000));
    /// assert_eq!(None::<f64>.into_timeout(), None); // no limit
    /// ```
    fn into_timeout(self) -> Option<i64>;
}

impl<D: IntoDelay> IntoTimeout for D {
    fn into_timeout(self) -> Option<i64> {
        Some(self.into_nanos())
    }
}

impl<D: IntoDelay> IntoTimeout for Option<D> {
    fn into_timeout(self) -> Option<i64> {
        self.map(IntoDelay::into_nanos)
    }
}

/// When [`wait`] returns (asyncio's `return_when`).
///
/// ```
/// use tulipsim::{ReturnWhen, ALL_COMPLETED};
/// assert_eq!(ReturnWhen::default(), ALL_COMPLETED);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ReturnWhen {
    /// When any future finishes or is cancelled.
    FirstCompleted,
    /// When any future finishes by raising an exception; if none does, when all are done.
    FirstException,
    /// When all futures are done (the default).
    #[default]
    AllCompleted,
}

/// asyncio's name for [`ReturnWhen::FirstCompleted`].
pub const FIRST_COMPLETED: ReturnWhen = ReturnWhen::FirstCompleted;
/// asyncio's name for [`ReturnWhen::FirstException`].
pub const FIRST_EXCEPTION: ReturnWhen = ReturnWhen::FirstException;
/// asyncio's name for [`ReturnWhen::AllCompleted`].
pub const ALL_COMPLETED: ReturnWhen = ReturnWhen::AllCompleted;

/// What [`wait`] can wait on: [`Future`]s, [`Task`]s and [`TaskRef`]s. Sealed.
///
/// ```
/// use tulipsim::{all_tasks, current_task, sleep, wait, EventLoop};
/// let lp = EventLoop::new();
/// lp.run_until_complete(async {
///     tulipsim::create_task(sleep(1))?;
///     let me = current_task().unwrap();
///     // TaskRefs are Waitable too, as are Futures and Tasks.
///     let others: Vec<_> = all_tasks()?.into_iter().filter(|t| *t != me).collect();
///     let (done, pending) = wait(others).await?;
///     assert_eq!((done.len(), pending.len()), (1, 0));
///     Ok(())
/// }).unwrap();
/// ```
pub trait Waitable: Clone + 'static {
    #[doc(hidden)]
    fn erased(&self) -> crate::futures::ErasedFuture;
}

impl<T: 'static> Waitable for Future<T> {
    fn erased(&self) -> crate::futures::ErasedFuture {
        crate::futures::ErasedFuture(self.any())
    }
}

impl<T: 'static> Waitable for Task<T> {
    fn erased(&self) -> crate::futures::ErasedFuture {
        crate::futures::ErasedFuture(self.as_future().any())
    }
}

impl Waitable for TaskRef {
    fn erased(&self) -> crate::futures::ErasedFuture {
        crate::futures::ErasedFuture(self.to_any_future())
    }
}

/// asyncio's `wait(fs)`: wait until the futures are done (or the first is, or the first
/// fails; see [`ReturnWhen`]), then give back `(done, pending)`.
///
/// A timeout returns what is still pending, without cancelling it and without an error.
/// Waiting on nothing is `Err(Error::Value)`, as asyncio's `ValueError`. The two lists keep
/// the order of the input (asyncio returns sets); a future given twice appears once.
///
/// ```
/// use tulipsim::{sleep_with, wait, EventLoop, FIRST_COMPLETED};
/// let lp = EventLoop::new();
/// let (done, pending) = lp.run_until_complete(async {
///     let a = tulipsim::create_task(sleep_with(1, "a"))?;
///     let b = tulipsim::create_task(sleep_with(5, "b"))?;
///     wait(vec![a, b]).return_when(FIRST_COMPLETED).await
/// }).unwrap();
/// assert_eq!(done[0].result(), Ok("a"));
/// assert!(!pending[0].done()); // still running: wait cancels nothing
/// assert_eq!(lp.time(), 1.0);
/// ```
#[track_caller]
pub fn wait<F: Waitable>(futures: impl IntoIterator<Item = F>) -> WaitFutures<F> {
    WaitFutures {
        futures: futures.into_iter().collect(),
        timeout: None,
        return_when: ReturnWhen::AllCompleted,
    }
}

/// The awaitable [`wait`] returns; set a timeout or a [`ReturnWhen`] before awaiting it.
///
/// ```
/// use tulipsim::tasks::WaitFutures;
/// use tulipsim::{sleep_with, wait, EventLoop};
/// let lp = EventLoop::new();
/// let (done, pending) = lp.run_until_complete(async {
///     let t = tulipsim::create_task(sleep_with(5, ()))?;
///     let w: WaitFutures<_> = wait(vec![t]).timeout(1);
///     w.await
/// }).unwrap();
/// assert_eq!((done.len(), pending.len()), (0, 1)); // timed out: nothing cancelled, no error
/// ```
#[must_use = "wait() does nothing until awaited"]
pub struct WaitFutures<F> {
    futures: Vec<F>,
    timeout: Option<i64>,
    return_when: ReturnWhen,
}

impl<F: Waitable> WaitFutures<F> {
    /// Return after at most this long (`None`: no limit), even if not done.
    ///
    /// ```
    /// use tulipsim::{sleep, wait, EventLoop};
    /// let lp = EventLoop::new();
    /// let (done, pending) = lp.run_until_complete(async {
    ///     let slow = tulipsim::create_task(sleep(10))?;
    ///     wait(vec![slow]).timeout(2).await
    /// }).unwrap();
    /// assert!(done.is_empty() && pending.len() == 1);
    /// assert_eq!(lp.time(), 2.0);
    /// ```
    pub fn timeout(mut self, timeout: impl IntoTimeout) -> Self {
        self.timeout = timeout.into_timeout();
        self
    }

    /// When to return; see [`ReturnWhen`].
    ///
    /// ```
    /// use tulipsim::{wait, Error, EventLoop, FIRST_EXCEPTION};
    /// let lp = EventLoop::new();
    /// let (done, pending) = lp.run_until_complete(async {
    ///     let bad = tulipsim::create_task(async { Err::<(), _>(Error::msg("bad")) })?;
    ///     let slow = tulipsim::create_task(tulipsim::sleep(10))?;
    ///     wait(vec![bad, slow]).return_when(FIRST_EXCEPTION).await
    /// }).unwrap();
    /// assert_eq!((done.len(), pending.len()), (1, 1));
    /// assert_eq!(lp.time(), 0.0);
    /// ```
    pub fn return_when(mut self, when: ReturnWhen) -> Self {
        self.return_when = when;
        self
    }
}

/// The result of [`wait`]: `(done, pending)`.
pub type DoneAndPending<F> = (Vec<F>, Vec<F>);

impl<F: Waitable> IntoFuture for WaitFutures<F> {
    type Output = Result<DoneAndPending<F>, Error>;
    type IntoFuture = Pin<Box<dyn StdFuture<Output = Self::Output>>>;

    #[track_caller]
    fn into_future(self) -> Self::IntoFuture {
        let site = Location::caller();
        Box::pin(wait_impl(self, site))
    }
}

/// asyncio's `_wait`.
async fn wait_impl<F: Waitable>(
    w: WaitFutures<F>,
    site: &'static Location<'static>,
) -> Result<DoneAndPending<F>, Error> {
    let mut fs: Vec<(F, Rc<dyn AnyFuture>)> = Vec::new();
    for f in w.futures {
        let any = f.erased().0;
        if !fs
            .iter()
            .any(|(_, a)| std::ptr::addr_eq(Rc::as_ptr(a), Rc::as_ptr(&any)))
        {
            fs.push((f, any));
        }
    }
    if fs.is_empty() {
        return Err(Error::value("Set of Tasks/Futures is empty."));
    }
    let lp = get_running_loop()?;
    let waiter: Future<()> = Future::bound(Rc::downgrade(&lp.inner), site);
    let timeout_handle = w.timeout.map(|t| release_later(&lp, t, &waiter));
    let counter = Rc::new(Cell::new(fs.len()));
    let on_completion: AnyCallback = {
        let (waiter, handle, when) = (waiter.clone(), timeout_handle.clone(), w.return_when);
        Rc::new(move |f: &Rc<dyn AnyFuture>| {
            counter.set(counter.get().saturating_sub(1));
            let failed = || !f.is_cancelled() && matches!(f.exception_any(), Ok(Some(_)));
            if counter.get() == 0
                || when == ReturnWhen::FirstCompleted
                || (when == ReturnWhen::FirstException && failed())
            {
                if let Some(h) = &handle {
                    h.cancel();
                }
                release(&waiter);
            }
        })
    };
    for (_, f) in &fs {
        f.clone().add_any_callback(on_completion.clone());
    }
    let cleanup = Defer::new({
        let fs: Vec<Rc<dyn AnyFuture>> = fs.iter().map(|(_, f)| f.clone()).collect();
        move || {
            if let Some(h) = &timeout_handle {
                h.cancel();
            }
            for f in &fs {
                f.remove_any_callback(&on_completion);
            }
        }
    });
    let waited = waiter.wait_at(site).await;
    drop(cleanup);
    waited?;
    Ok(fs.into_iter().map(|(f, a)| (f, a.is_done())).fold(
        (Vec::new(), Vec::new()),
        |(mut done, mut pending), (f, is_done)| {
            if is_done {
                done.push(f);
            } else {
                pending.push(f);
            }
            (done, pending)
        },
    ))
}

/// asyncio's `_release_waiter`.
fn release(waiter: &Future<()>) {
    if !waiter.done() {
        let _ = waiter.set_result(());
    }
}

/// A timeout's timer: it releases `waiter` after `delay`, or at once under the early-timeout
/// fault.
fn release_later(lp: &LoopHandle, delay: i64, waiter: &Future<()>) -> TimerHandle {
    let w = waiter.clone();
    let now = lp.inner.now();
    let when = if lp.inner.early_timeout() {
        now
    } else {
        now.saturating_add(delay)
    };
    lp.inner.call_at_nanos_exact(when, move || release(&w))
}

/// Runs a closure when dropped: Python's `finally`, which also runs when the coroutine is
/// closed (dropped) mid-await.
struct Defer<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> Defer<F> {
    fn new(f: F) -> Self {
        Defer(Some(f))
    }
}

impl<F: FnOnce()> Drop for Defer<F> {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

/// asyncio's `wait_for(aw, timeout)`: the result of `aw` if it finishes within `timeout`;
/// otherwise `aw` is cancelled, awaited until it has finished cancelling (so nothing is left
/// running), and `Err(Error::timeout())` is returned. `None` means no limit; a timeout `<= 0`
/// cancels at once unless `aw` is already done, as in CPython 3.11.
///
/// Races, as `docs/semantics.md` details: a result that `aw` produces is never lost to the
/// timeout — if `aw` completes at the instant the timeout fires, or finishes with a result
/// while being cancelled, that result is returned (CPython 3.11's rule). Cancelling the caller
/// cancels `aw` and raises `CancelledError`, even if `aw` completed at the same instant
/// (CPython 3.11 returns the result and loses the cancellation, bpo-42130; 3.12 fixed it).
///
/// ```
/// use tulipsim::{sleep_with, wait_for, Error, EventLoop};
/// let lp = EventLoop::new();
/// let r = lp.run_until_complete(async { wait_for(sleep_with(10, "late"), 1).await });
/// assert_eq!(r, Err(Error::timeout()));
/// assert_eq!(lp.time(), 1.0); // timed out at 1 s exactly
/// ```
#[track_caller]
pub fn wait_for<T: Clone + 'static, A: Awaitable<T>>(
    awaitable: A,
    timeout: impl IntoTimeout,
) -> impl StdFuture<Output = Result<T, Error>> {
    let site = Location::caller();
    let timeout = timeout.into_timeout();
    async move {
        let lp = get_running_loop()?;
        let Some(timeout) = timeout else {
            // `return await fut`: a coroutine runs right here, in the caller's task.
            return awaitable.into_direct(site).await;
        };
        if timeout <= 0 {
            let fut = awaitable.ensure_on(Some(&lp), site).future;
            if fut.done() {
                return fut.result();
            }
            cancel_and_wait(&lp, &fut, site).await?;
            return fut.result().map_err(timeout_if_cancelled);
        }
        let waiter: Future<()> = Future::bound(Rc::downgrade(&lp.inner), site);
        let timeout_handle = release_later(&lp, timeout, &waiter);
        let _finally = Defer::new(move || timeout_handle.cancel());
        let fut = awaitable.ensure_on(Some(&lp), site).future;
        let cb = {
            let w = waiter.clone();
            DoneCallback::new(move |_: &Future<T>| release(&w))
        };
        fut.add_done_callback(cb.clone());
        if let Err(e) = waiter.wait_at(site).await {
            // Our own task was cancelled (or the waiter failed): cancel the inner, wait for
            // it to finish, and propagate. Even if the inner is already done, the caller's
            // cancellation is not swallowed (the bpo-42130 race).
            if !fut.done() {
                fut.remove_done_callback(&cb);
                cancel_and_wait(&lp, &fut, site).await?;
            }
            // The inner's outcome is wait_for's to drop here (asyncio 3.12 awaits the
            // coroutine in the caller's task, where its error cannot go unretrieved).
            let _ = fut.exception();
            return Err(e);
        }
        if fut.done() {
            return fut.result();
        }
        fut.remove_done_callback(&cb);
        // Make sure the inner is not running after wait_for returns (bpo-32751).
        cancel_and_wait(&lp, &fut, site).await?;
        // If the inner finished with a result or another error while being cancelled, that
        // is what we return (bpo-40607): the result is not lost to the timeout.
        fut.result().map_err(timeout_if_cancelled)
    }
}

/// CPython's `raise TimeoutError() from exc`: the cancellation the deadline caused becomes the
/// timeout's cause.
fn timeout_if_cancelled(e: Error) -> Error {
    match e {
        Error::Cancelled(c) => Error::timeout_from(c),
        e => e,
    }
}

/// asyncio's `_cancel_and_wait`: cancel `fut` and wait until it is done, through a waiter of
/// our own so that this wait is itself cancellable.
async fn cancel_and_wait<T: 'static>(
    lp: &LoopHandle,
    fut: &Future<T>,
    site: &'static Location<'static>,
) -> Result<(), Error> {
    let waiter: Future<()> = Future::bound(Rc::downgrade(&lp.inner), site);
    let cb = {
        let w = waiter.clone();
        DoneCallback::new(move |_: &Future<T>| release(&w))
    };
    fut.add_done_callback(cb.clone());
    let _finally = Defer::new({
        let (fut, cb) = (fut.clone(), cb.clone());
        move || {
            fut.remove_done_callback(&cb);
        }
    });
    fut.cancel();
    waiter.wait_at(site).await
}

/// asyncio's `as_completed(aws)`: one awaitable per input, each giving the result (or error)
/// of the next input to finish, in completion order.
///
/// `async` blocks are wrapped in tasks. With [`timeout`](AsCompleted::timeout), the awaitables
/// not yet satisfied when it passes give `Err(Error::timeout())` (the inputs keep running).
/// Inputs are watched in argument order (asyncio iterates a set); an input given twice counts
/// once.
///
/// ```
/// use tulipsim::{as_completed, sleep_with, EventLoop};
/// let lp = EventLoop::new();
/// let order = lp.run_until_complete(async {
///     let mut order = vec![];
///     for next in as_completed(vec![sleep_with(3, "c"), sleep_with(1, "a"), sleep_with(2, "b")]) {
///         order.push(next.await?);
///     }
///     Ok(order)
/// });
/// assert_eq!(order.unwrap(), ["a", "b", "c"]);
/// ```
#[track_caller]
pub fn as_completed<T: Clone + 'static, A: Awaitable<T> + 'static>(
    awaitables: impl IntoIterator<Item = A>,
) -> AsCompleted<T> {
    let site = Location::caller();
    AsCompleted {
        inputs: awaitables
            .into_iter()
            .map(|a| -> EnsureLater<T> {
                Box::new(move |lp: &LoopHandle| a.ensure_on(Some(lp), site).future)
            })
            .collect(),
        timeout: None,
    }
}

/// What [`as_completed`] returns: iterate it (after an optional
/// [`timeout`](AsCompleted::timeout)) to get one awaitable per input.
///
/// ```
/// use tulipsim::tasks::AsCompleted;
/// use tulipsim::{as_completed, sleep_with, Error, EventLoop};
/// let lp = EventLoop::new();
/// let got = lp.run_until_complete(async {
///     let it: AsCompleted<&str> = as_completed(vec![sleep_with(1, "a"), sleep_with(9, "b")]).timeout(5);
///     let mut got = vec![];
///     for next in it {
///         got.push(next.await);
///     }
///     Ok(got)
/// }).unwrap();
/// assert_eq!(got, [Ok("a"), Err(Error::timeout())]);
/// ```
#[must_use = "as_completed() does nothing until iterated"]
pub struct AsCompleted<T: 'static> {
    /// asyncio wraps the inputs when the generator first runs, not when it is made.
    inputs: Vec<EnsureLater<T>>,
    timeout: Option<i64>,
}

type EnsureLater<T> = Box<dyn FnOnce(&LoopHandle) -> Future<T>>;

impl<T: Clone + 'static> AsCompleted<T> {
    /// Give up after this long: the awaitables still unsatisfied then give `Err(Timeout)`.
    ///
    /// ```
    /// use tulipsim::{as_completed, sleep_with, EventLoop, Error};
    /// let lp = EventLoop::new();
    /// let got = lp.run_until_complete(async {
    ///     let mut got = vec![];
    ///     for next in as_completed(vec![sleep_with(1, "quick"), sleep_with(9, "slow")]).timeout(5) {
    ///         got.push(next.await);
    ///     }
    ///     Ok(got)
    /// });
    /// assert_eq!(got.unwrap(), [Ok("quick"), Err(Error::timeout())]);
    /// assert_eq!(lp.time(), 5.0);
    /// ```
    pub fn timeout(mut self, timeout: impl IntoTimeout) -> Self {
        self.timeout = timeout.into_timeout();
        self
    }
}

/// One awaitable of [`as_completed`]: the next result in completion order.
pub type NextCompleted<T> = Pin<Box<dyn StdFuture<Output = Result<T, Error>>>>;

impl<T: Clone + 'static> IntoIterator for AsCompleted<T> {
    type Item = NextCompleted<T>;
    type IntoIter = std::vec::IntoIter<NextCompleted<T>>;

    /// Hooks the inputs up (asyncio does it when the generator first runs).
    fn into_iter(self) -> Self::IntoIter {
        let lp = get_running_loop().ok().or_else(|| {
            crate::events::current_or_thread_loop()
                .upgrade()
                .map(|inner| LoopHandle { inner })
        });
        let Some(lp) = lp else {
            // CPython raises "no current event loop" here; each awaitable gives that error.
            return (0..self.inputs.len())
                .map(|_| -> NextCompleted<T> {
                    Box::pin(async { Err(Error::runtime("no running event loop")) })
                })
                .collect::<Vec<_>>()
                .into_iter();
        };
        let mut todo: Vec<Future<T>> = Vec::new();
        for ensure in self.inputs {
            let f = ensure(&lp);
            if !todo.iter().any(|t| t.same(&f)) {
                todo.push(f);
            }
        }
        // `None` in the queue is asyncio's dummy value for a timeout.
        let done: crate::queues::Queue<Option<Future<T>>> = crate::queues::Queue::new(0);
        let todo = Rc::new(std::cell::RefCell::new(todo));
        let timeout_handle: Rc<std::cell::RefCell<Option<TimerHandle>>> = Rc::default();
        let on_completion = {
            let (todo, done, handle) = (todo.clone(), done.clone(), timeout_handle.clone());
            DoneCallback::new(move |f: &Future<T>| {
                let mut pending = todo.borrow_mut();
                if pending.is_empty() {
                    return; // the timeout came first
                }
                pending.retain(|t| !t.same(f));
                let _ = done.put_nowait(Some(f.clone()));
                if pending.is_empty() {
                    if let Some(h) = handle.borrow().as_ref() {
                        h.cancel();
                    }
                }
            })
        };
        let n = todo.borrow().len();
        for f in todo.borrow().iter() {
            f.add_done_callback(on_completion.clone());
        }
        if let (Some(t), false) = (self.timeout, todo.borrow().is_empty()) {
            {
                let (todo, done) = (todo.clone(), done.clone());
                let h = lp
                    .inner
                    .call_at_nanos_exact(lp.inner.now().saturating_add(t), move || {
                        for f in todo.borrow_mut().drain(..) {
                            f.remove_done_callback(&on_completion);
                            let _ = done.put_nowait(None);
                        }
                    });
                *timeout_handle.borrow_mut() = Some(h);
            }
        }
        (0..n)
            .map(|_| {
                let done = done.clone();
                let next: NextCompleted<T> = Box::pin(async move {
                    match done.get().await? {
                        None => Err(Error::timeout()),
                        Some(f) => f.result(),
                    }
                });
                next
            })
            .collect::<Vec<_>>()
            .into_iter()
    }
}
