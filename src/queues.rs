//! asyncio's queues, mirroring `queues.py`: [`Queue`] (first in, first out) and its subclasses
//! [`PriorityQueue`] (smallest first) and [`LifoQueue`] (last in, first out).
//!
//! The code is CPython 3.11's, ported line by line: a deque of getter futures and one of putter
//! futures, each woken by `_wakeup_next` when an item or a free slot appears, in the order the
//! tasks started waiting. A getter (or putter) that is woken but cancelled before it runs
//! passes the wake-up to the next one in line, so a cancelled `get()` never loses an item and a
//! cancelled `put()` never strands a free slot.
//!
//! Handles are cheap clones of one shared queue, to move into producer and consumer tasks.
//! `put()`, `get()` and `join()` return awaitables that own such a clone, so they can be
//! passed to [`create_task`](crate::create_task) directly.
//!
//! As with the primitives of [`locks`](crate::locks), a `put()` or `get()` dropped while it
//! waits behaves as if it had been cancelled then (and the item of a dropped `put()` is
//! dropped with it).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future as StdFuture;
use std::mem;
use std::ops::Deref;
use std::panic::Location;
use std::rc::Rc;

use crate::exceptions::Error;
use crate::futures::Future;
use crate::locks::{remove_waiter, wake, Event, LoopBound, WaiterAwait};

type Site = &'static Location<'static>;

/// Where a queue keeps its items: CPython's overridable `_init`, `_put` and `_get`.
trait Items<T> {
    fn put(&mut self, item: T);
    fn get(&mut self) -> Option<T>;
    fn count(&self) -> usize;
    /// The items in storage order, as `list(self._queue)` lists them.
    fn as_slices(&self) -> (&[T], &[T]);
}

struct Fifo<T>(VecDeque<T>);

impl<T> Items<T> for Fifo<T> {
    fn put(&mut self, item: T) {
        self.0.push_back(item);
    }
    fn get(&mut self) -> Option<T> {
        self.0.pop_front()
    }
    fn count(&self) -> usize {
        self.0.len()
    }
    fn as_slices(&self) -> (&[T], &[T]) {
        self.0.as_slices()
    }
}

struct Lifo<T>(Vec<T>);

impl<T> Items<T> for Lifo<T> {
    fn put(&mut self, item: T) {
        self.0.push(item);
    }
    fn get(&mut self) -> Option<T> {
        self.0.pop()
    }
    fn count(&self) -> usize {
        self.0.len()
    }
    fn as_slices(&self) -> (&[T], &[T]) {
        (&self.0, &[])
    }
}

/// A binary min-heap run by `heapq`'s own algorithm (not `BinaryHeap`'s), so that items that
/// compare equal come out in the same order as under CPython.
struct Heap<T>(Vec<T>);

impl<T: Ord> Items<T> for Heap<T> {
    /// `heapq.heappush`.
    fn put(&mut self, item: T) {
        self.0.push(item);
        let last = self.0.len() - 1;
        sift_down(&mut self.0, 0, last);
    }
    /// `heapq.heappop`.
    fn get(&mut self) -> Option<T> {
        let last = self.0.pop()?;
        if self.0.is_empty() {
            return Some(last);
        }
        let top = mem::replace(&mut self.0[0], last);
        sift_up(&mut self.0, 0);
        Some(top)
    }
    fn count(&self) -> usize {
        self.0.len()
    }
    fn as_slices(&self) -> (&[T], &[T]) {
        (&self.0, &[])
    }
}

/// `heapq._siftdown`: the item at `pos` moves towards `start` while it is less than its
/// parent. Only `<` is used, as heapq uses only `__lt__`.
fn sift_down<T: Ord>(heap: &mut [T], start: usize, mut pos: usize) {
    while pos > start {
        let parent = (pos - 1) >> 1;
        if !heap[pos].lt(&heap[parent]) {
            break;
        }
        heap.swap(pos, parent);
        pos = parent;
    }
}

/// `heapq._siftup`: the item at `pos` goes all the way down along the smaller children (the
/// right one on ties), then back up to its place; fewer comparisons than stopping early.
fn sift_up<T: Ord>(heap: &mut [T], mut pos: usize) {
    let (end, start) = (heap.len(), pos);
    let mut child = 2 * pos + 1;
    while child < end {
        let right = child + 1;
        if right < end && !heap[child].lt(&heap[right]) {
            child = right;
        }
        heap.swap(pos, child);
        pos = child;
        child = 2 * pos + 1;
    }
    sift_down(heap, start, pos);
}

/// asyncio's `Queue`: a first-in, first-out queue between producer and consumer tasks.
///
/// With a `maxsize` above 0, [`put`](Self::put) waits while the queue holds `maxsize` items;
/// [`get`](Self::get) waits while it is empty. Waiting tasks are served in the order they
/// started waiting. [`task_done`](Self::task_done) and [`join`](Self::join) let a producer wait
/// until every item has been processed.
///
/// ```
/// use tulipsim::{create_task, sleep, EventLoop, Queue};
///
/// let lp = EventLoop::new();
/// let q = Queue::new(1);
/// let got = lp.run_until_complete(async move {
///     let producer = q.clone();
///     create_task(async move {
///         for i in 0..3 {
///             producer.put(i).await?; // waits while the queue is full
///             sleep(1).await?;
///         }
///         Ok(())
///     })?;
///     let mut got = Vec::new();
///     for _ in 0..3 {
///         got.push(q.get().await?);
///     }
///     Ok(got)
/// });
/// assert_eq!(got.unwrap(), [0, 1, 2]);
/// assert_eq!(lp.time(), 2.0);
/// ```
pub struct Queue<T: 'static> {
    inner: Rc<QueueInner<T>>,
}

struct QueueInner<T: 'static> {
    class: &'static str,
    maxsize: usize,
    items: RefCell<Box<dyn Items<T>>>,
    getters: RefCell<VecDeque<Future<()>>>,
    putters: RefCell<VecDeque<Future<()>>>,
    unfinished_tasks: Cell<usize>,
    finished: Event,
    bound: LoopBound,
}

impl<T: 'static> Clone for Queue<T> {
    fn clone(&self) -> Self {
        Queue {
            inner: self.inner.clone(),
        }
    }
}

impl<T: 'static> Default for Queue<T> {
    /// `Queue()`: unbounded.
    fn default() -> Self {
        Queue::new(0)
    }
}

impl<T: fmt::Debug + 'static> fmt::Debug for Queue<T> {
    /// CPython's `str()` of a queue: `<Queue maxsize=1 _queue=[1] _putters[1] tasks=1>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items = {
            let items = self.inner.items.borrow();
            let (a, b) = items.as_slices();
            let all: Vec<&T> = a.iter().chain(b).collect();
            (!all.is_empty()).then(|| format!("{all:?}"))
        };
        f.write_str(&self.inner.describe(items))
    }
}

impl<T: 'static> Queue<T> {
    /// A first-in, first-out queue holding at most `maxsize` items; 0 means unbounded.
    ///
    /// ```
    /// let q = tulipsim::Queue::<u8>::new(0);
    /// assert!(!q.full()); // never full
    /// ```
    pub fn new(maxsize: usize) -> Queue<T> {
        Queue::with_items("Queue", maxsize, Box::new(Fifo(VecDeque::new())))
    }

    fn with_items(class: &'static str, maxsize: usize, items: Box<dyn Items<T>>) -> Queue<T> {
        let finished = Event::new();
        finished.set();
        Queue {
            inner: Rc::new(QueueInner {
                class,
                maxsize,
                items: RefCell::new(items),
                getters: RefCell::new(VecDeque::new()),
                putters: RefCell::new(VecDeque::new()),
                unfinished_tasks: Cell::new(0),
                finished,
                bound: LoopBound::new(),
            }),
        }
    }

    /// The most items the queue holds; 0 for unbounded.
    ///
    /// ```
    /// assert_eq!(tulipsim::Queue::<u8>::new(3).maxsize(), 3);
    /// ```
    pub fn maxsize(&self) -> usize {
        self.inner.maxsize
    }

    /// How many items the queue holds.
    ///
    /// ```
    /// let q = tulipsim::Queue::new(0);
    /// q.put_nowait("a").unwrap();
    /// assert_eq!(q.qsize(), 1);
    /// ```
    pub fn qsize(&self) -> usize {
        self.inner.qsize()
    }

    /// True if the queue holds no item.
    ///
    /// ```
    /// assert!(tulipsim::Queue::<u8>::new(0).empty());
    /// ```
    pub fn empty(&self) -> bool {
        self.inner.empty()
    }

    /// True if the queue holds `maxsize` items (never, for an unbounded queue).
    ///
    /// ```
    /// let q = tulipsim::Queue::new(1);
    /// q.put_nowait(1).unwrap();
    /// assert!(q.full());
    /// ```
    pub fn full(&self) -> bool {
        self.inner.full()
    }

    /// Adds `item`, first waiting while the queue is full. Cancelled while waiting, it yields
    /// the `CancelledError` and the item is not added (it is dropped).
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let q = tulipsim::Queue::new(0);
    /// lp.run_until_complete(q.put(7)).unwrap();
    /// assert_eq!(q.get_nowait(), Ok(7));
    /// ```
    #[track_caller]
    pub fn put(&self, item: T) -> impl StdFuture<Output = Result<(), Error>> + 'static {
        let (inner, site) = (self.inner.clone(), Location::caller());
        async move { inner.put(item, site).await }
    }

    /// Adds `item` without waiting; `Err(QueueFull)` (and the item is dropped) if the queue is
    /// full.
    ///
    /// ```
    /// let q = tulipsim::Queue::new(1);
    /// assert!(q.put_nowait(1).is_ok());
    /// assert_eq!(q.put_nowait(2), Err(tulipsim::Error::QueueFull));
    /// ```
    pub fn put_nowait(&self, item: T) -> Result<(), Error> {
        self.inner.put_nowait(item)
    }

    /// Removes and returns the next item, first waiting while the queue is empty.
    ///
    /// ```
    /// # let lp = tulipsim::EventLoop::new();
    /// let q = tulipsim::Queue::new(0);
    /// q.put_nowait("x").unwrap();
    /// assert_eq!(lp.run_until_complete(q.get()), Ok("x"));
    /// ```
    #[track_caller]
    pub fn get(&self) -> impl StdFuture<Output = Result<T, Error>> + 'static {
        let (inner, site) = (self.inner.clone(), Location::caller());
        async move { inner.get(site).await }
    }

    /// Removes and returns the next item without waiting; `Err(QueueEmpty)` if there is none.
    ///
    /// ```
    /// let q = tulipsim::Queue::<u8>::new(0);
    /// assert_eq!(q.get_nowait(), Err(tulipsim::Error::QueueEmpty));
    /// ```
    pub fn get_nowait(&self) -> Result<T, Error> {
        self.inner.get_nowait()
    }

    /// Marks one item taken from the queue as processed, for [`join`](Self::join);
    /// `Err(Value("task_done() called too many times"))` if every item put is marked already.
    ///
    /// ```
    /// let q = tulipsim::Queue::new(0);
    /// q.put_nowait(1).unwrap();
    /// q.get_nowait().unwrap();
    /// assert!(q.task_done().is_ok());
    /// assert_eq!(
    ///     q.task_done().unwrap_err().to_string(),
    ///     "ValueError: task_done() called too many times"
    /// );
    /// ```
    pub fn task_done(&self) -> Result<(), Error> {
        let inner = &self.inner;
        let n = inner.unfinished_tasks.get();
        if n == 0 {
            return Err(Error::value("task_done() called too many times"));
        }
        inner.unfinished_tasks.set(n - 1);
        if n == 1 {
            inner.finished.set();
        }
        Ok(())
    }

    /// Waits until every item ever put has been marked with [`task_done`](Self::task_done).
    ///
    /// ```
    /// use tulipsim::{create_task, sleep, EventLoop, Queue};
    /// let lp = EventLoop::new();
    /// let q = Queue::new(0);
    /// lp.run_until_complete(async move {
    ///     q.put_nowait("job")?;
    ///     let worker = q.clone();
    ///     create_task(async move {
    ///         worker.get().await?;
    ///         sleep(5).await?; // the work
    ///         worker.task_done()
    ///     })?;
    ///     q.join().await
    /// })
    /// .unwrap();
    /// assert_eq!(lp.time(), 5.0);
    /// ```
    #[track_caller]
    pub fn join(&self) -> impl StdFuture<Output = Result<(), Error>> + 'static {
        let (inner, site) = (self.inner.clone(), Location::caller());
        async move {
            if inner.unfinished_tasks.get() > 0 {
                inner.finished.wait_at(site).await?;
            }
            Ok(())
        }
    }
}

impl<T: 'static> QueueInner<T> {
    /// CPython's `str()`, with the items when the caller can format them.
    fn describe(&self, items: Option<String>) -> String {
        let mut s = format!("<{} maxsize={}", self.class, self.maxsize);
        if let Some(items) = items {
            s.push_str(&format!(" _queue={items}"));
        }
        match self.getters.borrow().len() {
            0 => {}
            n => s.push_str(&format!(" _getters[{n}]")),
        }
        match self.putters.borrow().len() {
            0 => {}
            n => s.push_str(&format!(" _putters[{n}]")),
        }
        match self.unfinished_tasks.get() {
            0 => {}
            n => s.push_str(&format!(" tasks={n}")),
        }
        s.push('>');
        s
    }

    fn qsize(&self) -> usize {
        self.items.borrow().count()
    }

    fn empty(&self) -> bool {
        self.qsize() == 0
    }

    fn full(&self) -> bool {
        self.maxsize > 0 && self.qsize() >= self.maxsize
    }

    /// Wakes the first waiter that is not done (cancelled), removing it and every done one
    /// before it.
    fn wakeup_next(waiters: &RefCell<VecDeque<Future<()>>>) {
        loop {
            let next = waiters.borrow_mut().pop_front();
            match next {
                None => return,
                Some(waiter) if !waiter.done() => return wake(&waiter, ()),
                Some(_) => {}
            }
        }
    }

    async fn put(&self, item: T, site: Site) -> Result<(), Error> {
        while self.full() {
            let putter = self.bound.create_waiter(site, || self.describe(None))?;
            self.putters.borrow_mut().push_back(putter.clone());
            let woken = WaiterAwait::new(&putter, site, || self.putter_gone(&putter)).await;
            if let Err(e) = woken {
                self.putter_gone(&putter);
                return Err(e);
            }
        }
        self.put_nowait(item)
    }

    /// CPython's bare `except:` around a putter's wait. `get_nowait` may have woken (and
    /// popped) this putter already: the free slot it announced goes to the next putter.
    fn putter_gone(&self, putter: &Future<()>) {
        putter.cancel();
        remove_waiter(&self.putters, putter);
        if !self.full() && !putter.cancelled() {
            Self::wakeup_next(&self.putters);
        }
    }

    fn put_nowait(&self, item: T) -> Result<(), Error> {
        if self.full() {
            return Err(Error::QueueFull);
        }
        self.items.borrow_mut().put(item);
        self.unfinished_tasks.set(self.unfinished_tasks.get() + 1);
        self.finished.clear();
        Self::wakeup_next(&self.getters);
        Ok(())
    }

    async fn get(&self, site: Site) -> Result<T, Error> {
        while self.empty() {
            let getter = self.bound.create_waiter(site, || self.describe(None))?;
            self.getters.borrow_mut().push_back(getter.clone());
            let woken = WaiterAwait::new(&getter, site, || self.getter_gone(&getter)).await;
            if let Err(e) = woken {
                self.getter_gone(&getter);
                return Err(e);
            }
        }
        self.get_nowait()
    }

    /// CPython's bare `except:` around a getter's wait: the item a `put_nowait` announced to
    /// this getter goes to the next getter instead of waiting unseen.
    fn getter_gone(&self, getter: &Future<()>) {
        getter.cancel();
        remove_waiter(&self.getters, getter);
        if !self.empty() && !getter.cancelled() {
            Self::wakeup_next(&self.getters);
        }
    }

    fn get_nowait(&self) -> Result<T, Error> {
        let item = self.items.borrow_mut().get().ok_or(Error::QueueEmpty)?;
        Self::wakeup_next(&self.putters);
        Ok(item)
    }
}

/// asyncio's `PriorityQueue`: a [`Queue`] that returns its smallest item first.
///
/// It keeps its items as `heapq` does, so items that compare equal come out in CPython's
/// order. Every [`Queue`] method is available through `Deref`.
///
/// ```
/// use tulipsim::PriorityQueue;
/// let q = PriorityQueue::new(0);
/// for i in [3, 1, 2] {
///     q.put_nowait(i).unwrap();
/// }
/// let out: Vec<i32> = (0..3).map(|_| q.get_nowait().unwrap()).collect();
/// assert_eq!(out, [1, 2, 3]);
/// ```
pub struct PriorityQueue<T: 'static> {
    queue: Queue<T>,
}

impl<T: Ord + 'static> PriorityQueue<T> {
    /// A priority queue holding at most `maxsize` items; 0 means unbounded.
    ///
    /// ```
    /// let q = tulipsim::PriorityQueue::<(u8, &str)>::new(2);
    /// assert_eq!(q.maxsize(), 2);
    /// ```
    pub fn new(maxsize: usize) -> PriorityQueue<T> {
        PriorityQueue {
            queue: Queue::with_items("PriorityQueue", maxsize, Box::new(Heap(Vec::new()))),
        }
    }
}

impl<T: 'static> Deref for PriorityQueue<T> {
    type Target = Queue<T>;

    fn deref(&self) -> &Queue<T> {
        &self.queue
    }
}

impl<T: 'static> Clone for PriorityQueue<T> {
    fn clone(&self) -> Self {
        PriorityQueue {
            queue: self.queue.clone(),
        }
    }
}

impl<T: Ord + 'static> Default for PriorityQueue<T> {
    /// `PriorityQueue()`: unbounded.
    fn default() -> Self {
        PriorityQueue::new(0)
    }
}

impl<T: fmt::Debug + 'static> fmt::Debug for PriorityQueue<T> {
    /// CPython's `str()`: `<PriorityQueue maxsize=0 _queue=[1, 3, 2]>` (in heap order).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.queue, f)
    }
}

/// asyncio's `LifoQueue`: a [`Queue`] that returns the item added last first (a stack).
/// Every [`Queue`] method is available through `Deref`.
///
/// ```
/// use tulipsim::LifoQueue;
/// let q = LifoQueue::new(0);
/// for i in [1, 3, 2] {
///     q.put_nowait(i).unwrap();
/// }
/// let out: Vec<i32> = (0..3).map(|_| q.get_nowait().unwrap()).collect();
/// assert_eq!(out, [2, 3, 1]);
/// ```
pub struct LifoQueue<T: 'static> {
    queue: Queue<T>,
}

impl<T: 'static> LifoQueue<T> {
    /// A last-in, first-out queue holding at most `maxsize` items; 0 means unbounded.
    ///
    /// ```
    /// let q = tulipsim::LifoQueue::<u8>::new(0);
    /// assert!(q.empty());
    /// ```
    pub fn new(maxsize: usize) -> LifoQueue<T> {
        LifoQueue {
            queue: Queue::with_items("LifoQueue", maxsize, Box::new(Lifo(Vec::new()))),
        }
    }
}

impl<T: 'static> Deref for LifoQueue<T> {
    type Target = Queue<T>;

    fn deref(&self) -> &Queue<T> {
        &self.queue
    }
}

impl<T: 'static> Clone for LifoQueue<T> {
    fn clone(&self) -> Self {
        LifoQueue {
            queue: self.queue.clone(),
        }
    }
}

impl<T: 'static> Default for LifoQueue<T> {
    /// `LifoQueue()`: unbounded.
    fn default() -> Self {
        LifoQueue::new(0)
    }
}

impl<T: fmt::Debug + 'static> fmt::Debug for LifoQueue<T> {
    /// CPython's `str()`: `<LifoQueue maxsize=0 _queue=[1, 2]>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.queue, f)
    }
}
