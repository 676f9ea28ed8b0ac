//! asyncio's `Condition`, ported from CPython 3.11's `locks.py` on top of [`Lock`].

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future as StdFuture;
use std::panic::Location;
use std::rc::Rc;

use super::mixins::{nth, remove_waiter, waiters_extra, wake, LoopBound, Site, WaiterAwait};
use super::Lock;
use crate::exceptions::Error;
use crate::futures::Future;

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
    pub(super) inner: Rc<ConditionInner>,
}

pub(super) struct ConditionInner {
    pub(super) lock: Lock,
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

    pub(super) async fn wait(&self, site: Site) -> Result<bool, Error> {
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
    pub(super) cond: Condition,
}

impl Drop for ConditionGuard {
    fn drop(&mut self) {
        let _ = self.cond.release();
    }
}
