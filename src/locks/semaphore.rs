//! asyncio's `Semaphore` and `BoundedSemaphore`, ported from CPython 3.11's `locks.py`; the
//! bounded one is a [`Semaphore`] whose release checks the bound.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future as StdFuture;
use std::panic::Location;
use std::rc::Rc;

use super::mixins::{nth, remove_waiter, waiters_extra, wake, LoopBound, Site, WaiterAwait};
use crate::exceptions::Error;
use crate::futures::Future;

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
