//! asyncio's `Event`, ported from CPython 3.11's `locks.py`.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future as StdFuture;
use std::panic::Location;
use std::rc::Rc;

use super::mixins::{nth, remove_waiter, waiters_extra, wake, LoopBound, Site, WaiterAwait};
use crate::exceptions::Error;
use crate::futures::Future;

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
