//! asyncio's synchronization primitives, mirroring `locks.py`: [`Lock`], [`Event`],
//! [`Condition`], [`Semaphore`], [`BoundedSemaphore`] and [`Barrier`] (in `locks/barrier.rs`).
//!
//! Each is CPython 3.11's class ported line by line: the same deque of waiter futures, woken
//! with `set_result` in the same order, and the same handling of a waiter that is cancelled
//! while it waits (its wake-up is passed to the next waiter). Tasks therefore take turns
//! exactly as they do under asyncio, hop for hop, and every primitive is FIFO-fair: waiters are
//! served in the order they started waiting.
//!
//! Handles are cheap clones of one shared primitive, so one lock can be moved into several
//! tasks. `acquire()`/`wait()` return awaitables that own such a clone, so they can be passed
//! to [`create_task`](crate::create_task) directly. Python's `async with lock:` is a guard:
//! `let _guard = lock.lock().await?;` releases when the guard is dropped.
//!
//! Misuse returns an error with CPython's message and never panics: releasing an unlocked
//! [`Lock`] is `Error::Runtime("Lock is not acquired.")`, a [`BoundedSemaphore`] released too
//! often is `Error::Value`.
//!
//! A primitive belongs to the loop on which it first had to wait (asyncio's
//! `_LoopBoundMixin`); making a task of another loop wait on it is `Error::Runtime`.
//!
//! ## Dropping an awaitable while it waits
//!
//! Rust can drop an `.await` half-way (`select!` drops the losing branch), which asyncio
//! cannot do to a coroutine. A dropped `acquire()` or `wait()` behaves as if it had been
//! cancelled at that moment: it leaves the queue, and a wake-up it had already received goes to
//! the next waiter, so dropping never strands the others. A dropped [`Condition::wait`] can
//! only reacquire its lock if the lock is free at once (it cannot await in `drop`).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future as StdFuture;
use std::panic::Location;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{ready, Context, Poll};

use crate::base_events::LoopInner;
use crate::events;
use crate::exceptions::Error;
use crate::futures::{Future, Wait};

mod barrier;
pub use barrier::Barrier;

type Site = &'static Location<'static>;

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
fn nth<T: 'static>(waiters: &RefCell<VecDeque<Future<T>>>, i: usize) -> Option<Future<T>> {
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
fn waiters_extra<T: 'static>(waiters: &RefCell<VecDeque<Future<T>>>) -> String {
    match waiters.borrow().len() {
        0 => String::new(),
        n => format!(", waiters:{n}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Lock

/// asyncio's `Lock`: a mutual-exclusion lock for tasks, not owned by any task.
///
/// [`acquire`](Self::acquire) takes it, or waits until it is released; [`release`](Self::release)
/// frees it and wakes exactly one waiter, the one that has waited longest.
/// [`lock`](Self::lock) is `async with lock:`, a guard that releases on drop.
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// use tulipsim::{create_task, sleep, EventLoop, Lock};
///
/// let lp = EventLoop::new();
/// let (lock, order) = (Lock::new(), Rc::new(RefCell::new(Vec::new())));
/// let log = order.clone();
/// lp.run_until_complete(async move {
///     let mut tasks = Vec::new();
///     for name in ["a", "b", "c"] {
///         let (lock, log) = (lock.clone(), log.clone());
///         tasks.push(create_task(async move {
///             let _guard = lock.lock().await?; // async with lock:
///             log.borrow_mut().push(name);
///             sleep(1).await
///         })?);
///     }
///     for t in tasks {
///         t.await?;
///     }
///     Ok(())
/// })
/// .unwrap();
/// assert_eq!(*order.borrow(), ["a", "b", "c"]);
/// assert_eq!(lp.time(), 3.0); // one after the other
/// ```
#[derive(Clone)]
pub struct Lock {
    inner: Rc<LockInner>,
}

struct LockInner {
    locked: Cell<bool>,
    waiters: RefCell<VecDeque<Future<bool>>>,
    bound: LoopBound,
}

impl Default for Lock {
    fn default() -> Self {
        Lock::new()
    }
}

impl fmt::Debug for Lock {
    /// CPython's repr without the address: `<Lock [locked, waiters:1]>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.describe())
    }
}

impl Lock {
    /// A new, unlocked lock.
    ///
    /// ```
    /// assert!(!tulipsim::Lock::new().locked());
    /// ```
    pub fn new() -> Lock {
        Lock {
            inner: Rc::new(LockInner {
                locked: Cell::new(false),
                waiters: RefCell::new(VecDeque::new()),
                bound: LoopBound::new(),
            }),
        }
    }

    /// True if the lock is held.
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let lock = tulipsim::Lock::new();
    /// let l = lock.clone();
    /// lp.run_until_complete(async move { l.acquire().await }).unwrap();
    /// assert!(lock.locked());
    /// ```
    pub fn locked(&self) -> bool {
        self.inner.locked.get()
    }

    /// Takes the lock, waiting until it is free and every earlier waiter has been served;
    /// yields `Ok(true)`. Cancelled while waiting, it yields the `CancelledError` and does not
    /// hold the lock.
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let lock = tulipsim::Lock::new();
    /// let held = lp.run_until_complete({
    ///     let lock = lock.clone();
    ///     async move { lock.acquire().await }
    /// });
    /// assert_eq!(held, Ok(true));
    /// ```
    #[track_caller]
    pub fn acquire(&self) -> impl StdFuture<Output = Result<bool, Error>> + 'static {
        let (inner, site) = (self.inner.clone(), Location::caller());
        async move { inner.acquire(site).await }
    }

    /// Frees the lock and wakes the first waiter; `Err(Runtime("Lock is not acquired."))` if
    /// it is not held.
    ///
    /// ```
    /// let lock = tulipsim::Lock::new();
    /// assert_eq!(lock.release().unwrap_err().to_string(), "RuntimeError: Lock is not acquired.");
    /// ```
    pub fn release(&self) -> Result<(), Error> {
        self.inner.release()
    }

    /// `async with lock:` — takes the lock as [`acquire`](Self::acquire) does and returns a
    /// guard that releases it when dropped.
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let lock = tulipsim::Lock::new();
    /// let l = lock.clone();
    /// lp.run_until_complete(async move {
    ///     let guard = l.lock().await?;
    ///     assert!(l.locked());
    ///     drop(guard);
    ///     assert!(!l.locked());
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    #[doc(alias = "async with")]
    #[track_caller]
    pub fn lock(&self) -> impl StdFuture<Output = Result<LockGuard, Error>> + 'static {
        let (lock, site) = (self.clone(), Location::caller());
        async move {
            lock.inner.acquire(site).await?;
            Ok(LockGuard { lock })
        }
    }
}

impl LockInner {
    fn describe(&self) -> String {
        let state = if self.locked.get() {
            "locked"
        } else {
            "unlocked"
        };
        format!("<Lock [{state}{}]>", waiters_extra(&self.waiters))
    }

    async fn acquire(&self, site: Site) -> Result<bool, Error> {
        if !self.locked.get() && self.waiters.borrow().iter().all(Future::cancelled) {
            self.locked.set(true);
            return Ok(true);
        }
        let fut = self.bound.create_waiter(site, || self.describe())?;
        self.waiters.borrow_mut().push_back(fut.clone());
        let woken = WaiterAwait::new(&fut, site, || self.waiter_gone(&fut)).await;
        // CPython's `finally` runs before its `except CancelledError`, so that the handling
        // below cannot wake this same waiter.
        remove_waiter(&self.waiters, &fut);
        match woken {
            Ok(_) => {
                self.locked.set(true);
                Ok(true)
            }
            Err(e) => {
                if e.is_cancelled() && !self.locked.get() {
                    self.wake_up_first();
                }
                Err(e)
            }
        }
    }

    /// A waiter gave up: it may have been woken already, so the wake-up moves on.
    fn waiter_gone(&self, fut: &Future<bool>) {
        remove_waiter(&self.waiters, fut);
        if !self.locked.get() {
            self.wake_up_first();
        }
    }

    /// Takes the lock if `acquire` would take it without waiting.
    fn try_acquire_now(&self) -> bool {
        let free = !self.locked.get() && self.waiters.borrow().iter().all(Future::cancelled);
        if free {
            self.locked.set(true);
        }
        free
    }

    fn release(&self) -> Result<(), Error> {
        if !self.locked.get() {
            return Err(Error::runtime("Lock is not acquired."));
        }
        self.locked.set(false);
        self.wake_up_first();
        Ok(())
    }

    /// Wakes the first waiter only. If it is done already (woken, or cancelled), it will run
    /// and either take the lock or, cancelled, pass the wake-up on itself.
    fn wake_up_first(&self) {
        if let Some(fut) = nth(&self.waiters, 0) {
            if !fut.done() {
                wake(&fut, true);
            }
        }
    }
}

/// Holds a [`Lock`] until dropped (the body of `async with lock:`); made by [`Lock::lock`].
///
/// Dropping it releases the lock. If the lock was released already by other means, the drop
/// does nothing (CPython's `__aexit__` would raise `RuntimeError`).
///
/// ```
/// # let lp = tulipsim::EventLoop::new();
/// let lock = tulipsim::Lock::new();
/// let l = lock.clone();
/// lp.run_until_complete(async move {
///     let _guard = l.lock().await?;
///     Ok(())
/// })
/// .unwrap();
/// assert!(!lock.locked()); // released when `_guard` went out of scope
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
#[derive(Debug)]
pub struct LockGuard {
    lock: Lock,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = self.lock.release();
    }
}

// ---------------------------------------------------------------------------------------------
// Event

/// asyncio's `Event`: a flag that tasks can wait for.
///
/// [`set`](Self::set) raises the flag and wakes every waiter, [`clear`](Self::clear) lowers
/// it, [`wait`](Self::wait) returns at once if it is up and otherwise waits for a `set`. A
/// waiter woken by `set` returns even if the flag was cleared again before it ran.
///
/// ```
/// use tulipsim::{create_task, sleep, Event, EventLoop};
///
/// let lp = EventLoop::new();
/// let ev = Event::new();
/// lp.run_until_complete(async move {
///     let setter = ev.clone();
///     create_task(async move {
///         sleep(2).await?;
///         setter.set();
///         Ok(())
///     })?;
///     ev.wait().await
/// })
/// .unwrap();
/// assert_eq!(lp.time(), 2.0);
/// ```
#[derive(Clone)]
pub struct Event {
    inner: Rc<EventInner>,
}

struct EventInner {
    value: Cell<bool>,
    waiters: RefCell<VecDeque<Future<bool>>>,
    bound: LoopBound,
}

impl Default for Event {
    fn default() -> Self {
        Event::new()
    }
}

impl fmt::Debug for Event {
    /// CPython's repr without the address: `<Event [unset, waiters:2]>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.describe())
    }
}

impl Event {
    /// A new event, not set.
    ///
    /// ```
    /// assert!(!tulipsim::Event::new().is_set());
    /// ```
    pub fn new() -> Event {
        Event {
            inner: Rc::new(EventInner {
                value: Cell::new(false),
                waiters: RefCell::new(VecDeque::new()),
                bound: LoopBound::new(),
            }),
        }
    }

    /// True if the flag is set.
    ///
    /// ```
    /// let ev = tulipsim::Event::new();
    /// ev.set();
    /// assert!(ev.is_set());
    /// ```
    pub fn is_set(&self) -> bool {
        self.inner.value.get()
    }

    /// Sets the flag and wakes every task waiting for it, in the order they started waiting.
    /// Setting a set event does nothing.
    ///
    /// ```
    /// let ev = tulipsim::Event::new();
    /// ev.set();
    /// ev.set();
    /// assert!(ev.is_set());
    /// ```
    pub fn set(&self) {
        let inner = &self.inner;
        if inner.value.replace(true) {
            return;
        }
        let mut i = 0;
        while let Some(fut) = nth(&inner.waiters, i) {
            if !fut.done() {
                wake(&fut, true);
            }
            i += 1;
        }
    }

    /// Lowers the flag: later [`wait`](Self::wait)s block until the next [`set`](Self::set).
    /// Tasks already woken by a `set` are not affected.
    ///
    /// ```
    /// let ev = tulipsim::Event::new();
    /// ev.set();
    /// ev.clear();
    /// assert!(!ev.is_set());
    /// ```
    pub fn clear(&self) {
        self.inner.value.set(false);
    }

    /// Waits until the flag is set (returns at once if it is); yields `Ok(true)`.
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let ev = tulipsim::Event::new();
    /// ev.set();
    /// assert_eq!(lp.run_until_complete(ev.wait()), Ok(true));
    /// ```
    #[track_caller]
    pub fn wait(&self) -> impl StdFuture<Output = Result<bool, Error>> + 'static {
        let (inner, site) = (self.inner.clone(), Location::caller());
        async move { inner.wait(site).await }
    }

    pub(crate) fn wait_at(&self, site: Site) -> impl StdFuture<Output = Result<bool, Error>> {
        let inner = self.inner.clone();
        async move { inner.wait(site).await }
    }
}

impl EventInner {
    fn describe(&self) -> String {
        let state = if self.value.get() { "set" } else { "unset" };
        format!("<Event [{state}{}]>", waiters_extra(&self.waiters))
    }

    async fn wait(&self, site: Site) -> Result<bool, Error> {
        if self.value.get() {
            return Ok(true);
        }
        let fut = self.bound.create_waiter(site, || self.describe())?;
        self.waiters.borrow_mut().push_back(fut.clone());
        let woken = WaiterAwait::new(&fut, site, || {
            remove_waiter(&self.waiters, &fut);
        })
        .await;
        remove_waiter(&self.waiters, &fut);
        woken.map(|_| true)
    }
}

// ---------------------------------------------------------------------------------------------
// Condition

/// asyncio's `Condition`: a [`Lock`] plus a queue of tasks waiting to be notified.
///
/// A task holding the lock calls [`wait`](Self::wait), which releases the lock, waits for a
/// [`notify`](Self::notify), and takes the lock again before returning. Notified tasks resume
/// in the order they started waiting, each as it gets the lock.
///
/// ```
/// use std::{cell::Cell, rc::Rc};
/// use tulipsim::{create_task, sleep, Condition, EventLoop};
///
/// let lp = EventLoop::new();
/// let (cond, ready) = (Condition::new(), Rc::new(Cell::new(false)));
/// lp.run_until_complete(async move {
///     let (c, r) = (cond.clone(), ready.clone());
///     let consumer = create_task(async move {
///         let _guard = c.lock().await?;
///         c.wait_for(move || r.get()).await // releases the lock while it waits
///     })?;
///     sleep(1).await?;
///     let guard = cond.lock().await?;
///     ready.set(true);
///     cond.notify(1)?;
///     drop(guard);
///     consumer.await
/// })
/// .unwrap();
/// assert_eq!(lp.time(), 1.0);
/// ```
#[derive(Clone)]
pub struct Condition {
    inner: Rc<ConditionInner>,
}

struct ConditionInner {
    lock: Lock,
    waiters: RefCell<VecDeque<Future<bool>>>,
    bound: LoopBound,
}

impl Default for Condition {
    fn default() -> Self {
        Condition::new()
    }
}

impl fmt::Debug for Condition {
    /// CPython's repr without the address: `<Condition [locked, waiters:1]>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.describe())
    }
}

impl Condition {
    /// A condition with a new lock of its own.
    ///
    /// ```
    /// assert!(!tulipsim::Condition::new().locked());
    /// ```
    pub fn new() -> Condition {
        Condition::with_lock(Lock::new())
    }

    /// A condition built on `lock` (asyncio's `Condition(lock)`): holding either is holding
    /// both, so several conditions can share one lock.
    ///
    /// ```
    /// use tulipsim::{Condition, Lock};
    /// let lock = Lock::new();
    /// let cond = Condition::with_lock(lock.clone());
    /// # let lp = tulipsim::EventLoop::new();
    /// # let l = lock.clone();
    /// lp.run_until_complete(async move { l.acquire().await }).unwrap();
    /// assert!(cond.locked());
    /// ```
    pub fn with_lock(lock: Lock) -> Condition {
        Condition {
            inner: Rc::new(ConditionInner {
                lock,
                waiters: RefCell::new(VecDeque::new()),
                bound: LoopBound::new(),
            }),
        }
    }

    /// True if the underlying lock is held.
    ///
    /// ```
    /// assert!(!tulipsim::Condition::new().locked());
    /// ```
    pub fn locked(&self) -> bool {
        self.inner.lock.locked()
    }

    /// Takes the underlying lock ([`Lock::acquire`]).
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let cond = tulipsim::Condition::new();
    /// assert_eq!(lp.run_until_complete(cond.acquire()), Ok(true));
    /// assert!(cond.locked());
    /// ```
    #[track_caller]
    pub fn acquire(&self) -> impl StdFuture<Output = Result<bool, Error>> + 'static {
        let (inner, site) = (self.inner.clone(), Location::caller());
        async move { inner.lock.inner.acquire(site).await }
    }

    /// Frees the underlying lock ([`Lock::release`]).
    ///
    /// ```
    /// let cond = tulipsim::Condition::new();
    /// assert!(cond.release().is_err()); // not held
    /// ```
    pub fn release(&self) -> Result<(), Error> {
        self.inner.lock.release()
    }

    /// `async with cond:` — takes the underlying lock and returns a guard that releases it
    /// when dropped.
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let cond = tulipsim::Condition::new();
    /// let c = cond.clone();
    /// lp.run_until_complete(async move {
    ///     let _guard = c.lock().await?;
    ///     assert!(c.locked());
    ///     Ok(())
    /// })
    /// .unwrap();
    /// assert!(!cond.locked());
    /// ```
    #[doc(alias = "async with")]
    #[track_caller]
    pub fn lock(&self) -> impl StdFuture<Output = Result<ConditionGuard, Error>> + 'static {
        let (cond, site) = (self.clone(), Location::caller());
        async move {
            cond.inner.lock.inner.acquire(site).await?;
            Ok(ConditionGuard { cond })
        }
    }

    /// Releases the lock, waits until notified, then takes the lock again; yields `Ok(true)`.
    /// `Err(Runtime("cannot wait on un-acquired lock"))` if the lock is not held.
    ///
    /// The lock is held again when this returns, whatever the outcome: if the task is
    /// cancelled, the lock is retaken before the `CancelledError` is returned (as CPython's
    /// `finally` does), and a cancellation while retaking it is returned afterwards, as a
    /// `CancelledError` without a message.
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let cond = tulipsim::Condition::new();
    /// let err = lp.run_until_complete(cond.wait()).unwrap_err();
    /// assert_eq!(err.to_string(), "RuntimeError: cannot wait on un-acquired lock");
    /// ```
    #[track_caller]
    pub fn wait(&self) -> impl StdFuture<Output = Result<bool, Error>> + 'static {
        let (inner, site) = (self.inner.clone(), Location::caller());
        async move { inner.wait(site).await }
    }

    /// Waits until `predicate()` is true, calling it first and then after each notification,
    /// always with the lock held; yields the predicate's final value (`Ok(true)`). Needs the
    /// lock only if it has to wait.
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let cond = tulipsim::Condition::new();
    /// // true at once: no waiting, so the lock is not needed
    /// assert_eq!(lp.run_until_complete(cond.wait_for(|| true)), Ok(true));
    /// ```
    #[track_caller]
    pub fn wait_for<P: FnMut() -> bool>(
        &self,
        mut predicate: P,
    ) -> impl StdFuture<Output = Result<bool, Error>> {
        let (inner, site) = (self.inner.clone(), Location::caller());
        async move {
            let mut result = predicate();
            while !result {
                inner.wait(site).await?;
                result = predicate();
            }
            Ok(result)
        }
    }

    /// Wakes up to `n` waiting tasks, longest-waiting first; each returns from
    /// [`wait`](Self::wait) once it gets the lock, which the caller still holds.
    /// `Err(Runtime("cannot notify on un-acquired lock"))` if the lock is not held.
    ///
    /// ```
    /// let cond = tulipsim::Condition::new();
    /// let err = cond.notify(1).unwrap_err();
    /// assert_eq!(err.to_string(), "RuntimeError: cannot notify on un-acquired lock");
    /// ```
    pub fn notify(&self, n: usize) -> Result<(), Error> {
        self.inner.notify(n)
    }

    /// Wakes every waiting task ([`notify`](Self::notify) of all of them).
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let cond = tulipsim::Condition::new();
    /// let c = cond.clone();
    /// lp.run_until_complete(async move {
    ///     let _guard = c.lock().await?;
    ///     c.notify_all() // nobody waits: nothing happens
    /// })
    /// .unwrap();
    /// ```
    pub fn notify_all(&self) -> Result<(), Error> {
        let n = self.inner.waiters.borrow().len();
        self.inner.notify(n)
    }
}

impl ConditionInner {
    fn describe(&self) -> String {
        let state = if self.lock.locked() {
            "locked"
        } else {
            "unlocked"
        };
        format!("<Condition [{state}{}]>", waiters_extra(&self.waiters))
    }

    async fn wait(&self, site: Site) -> Result<bool, Error> {
        if !self.lock.locked() {
            return Err(Error::runtime("cannot wait on un-acquired lock"));
        }
        self.lock.release()?;
        let notified = self.wait_for_notify(site).await;
        // The lock must be held again even if the wait was cancelled; a cancellation while
        // retaking it is remembered and raised once it is held.
        let mut cancelled = false;
        loop {
            match self.lock.inner.acquire(site).await {
                Ok(_) => break,
                Err(e) if e.is_cancelled() => cancelled = true,
                Err(e) => return Err(e),
            }
        }
        if cancelled {
            return Err(Error::cancelled());
        }
        notified
    }

    async fn wait_for_notify(&self, site: Site) -> Result<bool, Error> {
        let fut = self.bound.create_waiter(site, || self.describe())?;
        self.waiters.borrow_mut().push_back(fut.clone());
        let woken = WaiterAwait::new(&fut, site, || {
            remove_waiter(&self.waiters, &fut);
            // `wait()` must return holding the lock, but a drop cannot await it: take it only
            // if that needs no waiting, as a closed CPython coroutine's `finally` would.
            self.lock.inner.try_acquire_now();
        })
        .await;
        remove_waiter(&self.waiters, &fut);
        woken.map(|_| true)
    }

    fn notify(&self, n: usize) -> Result<(), Error> {
        if !self.lock.locked() {
            return Err(Error::runtime("cannot notify on un-acquired lock"));
        }
        let (mut i, mut woken) = (0, 0);
        while woken < n {
            let Some(fut) = nth(&self.waiters, i) else {
                break;
            };
            if !fut.done() {
                woken += 1;
                wake(&fut, false);
            }
            i += 1;
        }
        Ok(())
    }
}

/// Holds a [`Condition`]'s lock until dropped (the body of `async with cond:`); made by
/// [`Condition::lock`].
///
/// ```
/// # let lp = tulipsim::EventLoop::new();
/// let cond = tulipsim::Condition::new();
/// let c = cond.clone();
/// lp.run_until_complete(async move {
///     let guard = c.lock().await?;
///     drop(guard);
///     assert!(!c.locked());
///     Ok(())
/// })
/// .unwrap();
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
#[derive(Debug)]
pub struct ConditionGuard {
    cond: Condition,
}

impl Drop for ConditionGuard {
    fn drop(&mut self) {
        let _ = self.cond.release();
    }
}

// ---------------------------------------------------------------------------------------------
// Semaphore and BoundedSemaphore

/// asyncio's `Semaphore`: a counter of free slots; [`acquire`](Self::acquire) takes one,
/// waiting while there are none, and [`release`](Self::release) gives one back.
///
/// Waiters are served in the order they started waiting: a slot released while tasks wait goes
/// to the first of them, never to a newcomer.
///
/// ```
/// use tulipsim::{create_task, sleep, EventLoop, Semaphore};
///
/// let lp = EventLoop::new();
/// let sem = Semaphore::new(2)?;
/// lp.run_until_complete(async move {
///     let mut tasks = Vec::new();
///     for _ in 0..5 {
///         let sem = sem.clone();
///         tasks.push(create_task(async move {
///             let _slot = sem.lock().await?; // async with sem:
///             sleep(1).await
///         })?);
///     }
///     for t in tasks {
///         t.await?;
///     }
///     Ok(())
/// })?;
/// assert_eq!(lp.time(), 3.0); // two at a time: 2 + 2 + 1
/// # Ok::<(), tulipsim::Error>(())
/// ```
#[derive(Clone)]
pub struct Semaphore {
    inner: Rc<SemaphoreInner>,
}

struct SemaphoreInner {
    value: Cell<i64>,
    /// `Some(initial value)` for a `BoundedSemaphore`.
    bound_value: Option<i64>,
    waiters: RefCell<VecDeque<Future<bool>>>,
    bound: LoopBound,
}

impl Default for Semaphore {
    /// `Semaphore()`: one slot.
    fn default() -> Self {
        Semaphore {
            inner: SemaphoreInner::new(1, None),
        }
    }
}

impl fmt::Debug for Semaphore {
    /// CPython's repr without the address: `<Semaphore [unlocked, value:2]>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.describe())
    }
}

impl Semaphore {
    /// A semaphore with `value` free slots; `Err(Value)` if `value` is negative.
    ///
    /// ```
    /// use tulipsim::Semaphore;
    /// assert!(Semaphore::new(0).unwrap().locked());
    /// assert_eq!(
    ///     Semaphore::new(-1).unwrap_err().to_string(),
    ///     "ValueError: Semaphore initial value must be >= 0"
    /// );
    /// ```
    pub fn new(value: i64) -> Result<Semaphore, Error> {
        if value < 0 {
            return Err(Error::value("Semaphore initial value must be >= 0"));
        }
        Ok(Semaphore {
            inner: SemaphoreInner::new(value, None),
        })
    }

    /// True if [`acquire`](Self::acquire) would wait: no slot is free, or tasks are waiting
    /// already.
    ///
    /// ```
    /// assert!(!tulipsim::Semaphore::new(1).unwrap().locked());
    /// ```
    pub fn locked(&self) -> bool {
        self.inner.locked()
    }

    /// Takes a slot, waiting until one is free and every earlier waiter has been served;
    /// yields `Ok(true)`.
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let sem = tulipsim::Semaphore::new(1).unwrap();
    /// assert_eq!(lp.run_until_complete(sem.acquire()), Ok(true));
    /// assert!(sem.locked());
    /// ```
    #[track_caller]
    pub fn acquire(&self) -> impl StdFuture<Output = Result<bool, Error>> + 'static {
        let (inner, site) = (self.inner.clone(), Location::caller());
        async move { inner.acquire(site).await }
    }

    /// Gives a slot back, waking the first waiter if any. A plain semaphore may be released
    /// more often than it was acquired (see [`BoundedSemaphore`]).
    ///
    /// ```
    /// let sem = tulipsim::Semaphore::new(0).unwrap();
    /// sem.release();
    /// assert!(!sem.locked());
    /// ```
    pub fn release(&self) {
        self.inner.release();
    }

    /// `async with sem:` — takes a slot and returns a guard that gives it back when dropped.
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let sem = tulipsim::Semaphore::new(1).unwrap();
    /// let s = sem.clone();
    /// lp.run_until_complete(async move {
    ///     let _slot = s.lock().await?;
    ///     assert!(s.locked());
    ///     Ok(())
    /// })
    /// .unwrap();
    /// assert!(!sem.locked());
    /// ```
    #[doc(alias = "async with")]
    #[track_caller]
    pub fn lock(&self) -> impl StdFuture<Output = Result<SemaphoreGuard, Error>> + 'static {
        let (sem, site) = (self.clone(), Location::caller());
        async move {
            sem.inner.acquire(site).await?;
            Ok(SemaphoreGuard { sem })
        }
    }
}

impl SemaphoreInner {
    fn new(value: i64, bound_value: Option<i64>) -> Rc<SemaphoreInner> {
        Rc::new(SemaphoreInner {
            value: Cell::new(value),
            bound_value,
            waiters: RefCell::new(VecDeque::new()),
            bound: LoopBound::new(),
        })
    }

    fn describe(&self) -> String {
        let class = match self.bound_value {
            Some(_) => "BoundedSemaphore",
            None => "Semaphore",
        };
        let state = if self.locked() {
            "locked".to_string()
        } else {
            format!("unlocked, value:{}", self.value.get())
        };
        format!("<{class} [{state}{}]>", waiters_extra(&self.waiters))
    }

    fn locked(&self) -> bool {
        self.value.get() == 0 || self.waiters.borrow().iter().any(|w| !w.cancelled())
    }

    async fn acquire(&self, site: Site) -> Result<bool, Error> {
        if !self.locked() {
            self.value.set(self.value.get() - 1);
            return Ok(true);
        }
        let fut = self.bound.create_waiter(site, || self.describe())?;
        self.waiters.borrow_mut().push_back(fut.clone());
        let woken = WaiterAwait::new(&fut, site, || self.waiter_gone(&fut)).await;
        // As in `Lock`: leave the deque before handling a cancellation.
        remove_waiter(&self.waiters, &fut);
        match woken {
            Ok(_) => {
                // Slots released while this task was waking up go to the next waiters.
                if self.value.get() > 0 {
                    self.wake_up_next();
                }
                Ok(true)
            }
            Err(e) => {
                if e.is_cancelled() && !fut.cancelled() {
                    self.give_back();
                }
                Err(e)
            }
        }
    }

    /// A waiter gave up; if it had been given a slot (its future has a result), the slot
    /// goes to the next waiter.
    fn waiter_gone(&self, fut: &Future<bool>) {
        remove_waiter(&self.waiters, fut);
        if !fut.cancelled() {
            self.give_back();
        }
    }

    fn give_back(&self) {
        self.value.set(self.value.get() + 1);
        self.wake_up_next();
    }

    fn release(&self) {
        self.give_back();
    }

    /// Hands a slot to the first waiter that is not done; the slot is counted as taken now,
    /// so that no newcomer can take it before the waiter runs.
    fn wake_up_next(&self) {
        let mut i = 0;
        while let Some(fut) = nth(&self.waiters, i) {
            if !fut.done() {
                self.value.set(self.value.get() - 1);
                wake(&fut, true);
                return;
            }
            i += 1;
        }
    }
}

/// Holds a [`Semaphore`] slot until dropped (the body of `async with sem:`); made by
/// [`Semaphore::lock`].
///
/// ```
/// # let lp = tulipsim::EventLoop::new();
/// let sem = tulipsim::Semaphore::new(1).unwrap();
/// let s = sem.clone();
/// lp.run_until_complete(async move {
///     let slot = s.lock().await?;
///     assert!(s.locked());
///     drop(slot);
///     assert!(!s.locked());
///     Ok(())
/// })
/// .unwrap();
/// ```
#[must_use = "the slot is given back as soon as the guard is dropped"]
#[derive(Debug)]
pub struct SemaphoreGuard {
    sem: Semaphore,
}

impl Drop for SemaphoreGuard {
    fn drop(&mut self) {
        self.sem.release();
    }
}

/// asyncio's `BoundedSemaphore`: a [`Semaphore`] whose [`release`](Self::release) refuses to
/// go above the initial value, which catches a release without a matching acquire.
///
/// ```
/// use tulipsim::BoundedSemaphore;
/// let sem = BoundedSemaphore::new(1)?;
/// assert_eq!(
///     sem.release().unwrap_err().to_string(),
///     "ValueError: BoundedSemaphore released too many times"
/// );
/// # Ok::<(), tulipsim::Error>(())
/// ```
#[derive(Clone)]
pub struct BoundedSemaphore {
    sem: Semaphore,
}

impl Default for BoundedSemaphore {
    /// `BoundedSemaphore()`: one slot.
    fn default() -> Self {
        BoundedSemaphore {
            sem: Semaphore {
                inner: SemaphoreInner::new(1, Some(1)),
            },
        }
    }
}

impl fmt::Debug for BoundedSemaphore {
    /// CPython's repr without the address: `<BoundedSemaphore [unlocked, value:1]>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.sem, f)
    }
}

impl BoundedSemaphore {
    /// A bounded semaphore with `value` free slots, which is also its bound; `Err(Value)` if
    /// `value` is negative.
    ///
    /// ```
    /// assert!(tulipsim::BoundedSemaphore::new(-1).is_err());
    /// ```
    pub fn new(value: i64) -> Result<BoundedSemaphore, Error> {
        if value < 0 {
            return Err(Error::value("Semaphore initial value must be >= 0"));
        }
        Ok(BoundedSemaphore {
            sem: Semaphore {
                inner: SemaphoreInner::new(value, Some(value)),
            },
        })
    }

    /// See [`Semaphore::locked`].
    ///
    /// ```
    /// assert!(tulipsim::BoundedSemaphore::new(0).unwrap().locked());
    /// ```
    pub fn locked(&self) -> bool {
        self.sem.locked()
    }

    /// See [`Semaphore::acquire`].
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let sem = tulipsim::BoundedSemaphore::new(1).unwrap();
    /// assert_eq!(lp.run_until_complete(sem.acquire()), Ok(true));
    /// ```
    #[track_caller]
    pub fn acquire(&self) -> impl StdFuture<Output = Result<bool, Error>> + 'static {
        let (inner, site) = (self.sem.inner.clone(), Location::caller());
        async move { inner.acquire(site).await }
    }

    /// Gives a slot back; `Err(Value("BoundedSemaphore released too many times"))` if every
    /// slot is free already.
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let sem = tulipsim::BoundedSemaphore::new(1).unwrap();
    /// lp.run_until_complete(sem.acquire()).unwrap();
    /// assert!(sem.release().is_ok());
    /// assert!(sem.release().is_err());
    /// ```
    pub fn release(&self) -> Result<(), Error> {
        let inner = &self.sem.inner;
        if inner.bound_value.is_some_and(|b| inner.value.get() >= b) {
            return Err(Error::value("BoundedSemaphore released too many times"));
        }
        inner.release();
        Ok(())
    }

    /// `async with sem:` — see [`Semaphore::lock`].
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let sem = tulipsim::BoundedSemaphore::new(1).unwrap();
    /// let s = sem.clone();
    /// lp.run_until_complete(async move { s.lock().await.map(drop) }).unwrap();
    /// assert!(!sem.locked());
    /// ```
    #[doc(alias = "async with")]
    #[track_caller]
    pub fn lock(&self) -> impl StdFuture<Output = Result<BoundedSemaphoreGuard, Error>> + 'static {
        let (sem, site) = (self.clone(), Location::caller());
        async move {
            sem.sem.inner.acquire(site).await?;
            Ok(BoundedSemaphoreGuard { sem })
        }
    }
}

/// Holds a [`BoundedSemaphore`] slot until dropped; made by [`BoundedSemaphore::lock`].
///
/// If the slot was given back already by other means, the drop does nothing (CPython's
/// `__aexit__` would raise `ValueError`).
///
/// ```
/// # let lp = tulipsim::EventLoop::new();
/// let sem = tulipsim::BoundedSemaphore::new(1).unwrap();
/// let s = sem.clone();
/// lp.run_until_complete(async move {
///     let _slot = s.lock().await?;
///     assert!(s.locked());
///     Ok(())
/// })
/// .unwrap();
/// assert!(!sem.locked());
/// ```
#[must_use = "the slot is given back as soon as the guard is dropped"]
#[derive(Debug)]
pub struct BoundedSemaphoreGuard {
    sem: BoundedSemaphore,
}

impl Drop for BoundedSemaphoreGuard {
    fn drop(&mut self) {
        let _ = self.sem.release();
    }
}
