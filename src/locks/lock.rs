//! asyncio's `Lock`, ported from CPython 3.11's `locks.py`.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future as StdFuture;
use std::panic::Location;
use std::rc::Rc;

use super::mixins::{nth, remove_waiter, waiters_extra, wake, LoopBound, Site, WaiterAwait};
use crate::exceptions::Error;
use crate::futures::Future;

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
    pub(super) inner: Rc<LockInner>,
}

pub(super) struct LockInner {
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

    pub(super) async fn acquire(&self, site: Site) -> Result<bool, Error> {
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
    pub(super) fn try_acquire_now(&self) -> bool {
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
