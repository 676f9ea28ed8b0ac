//! Orderings of the synchronization primitives, checked against CPython 3.11.
//!
//! Each test runs the same program as `tests/oracle/programs/sync_NAME.py` and asserts the log CPython's
//! asyncio printed for it (`tests/oracle/programs/sync_NAME.expected`), on `sim/python/vloop.py`, the
//! virtual-clock loop. `tests/oracle/orderings.rs` re-runs the Python side so the logs cannot drift.
//! `state(x)` prints the bracketed part of a primitive's repr (`[locked, waiters:2]`), which
//! the Rust types' `Debug` mirrors.

use crate::common;
use common::expected;

use std::fmt::Debug;

use common::{args, py, Log};
use std::cell::RefCell;
use std::rc::Rc;

use std::cmp::Ordering;

use tulipsim::{
    create_task, get_running_loop, sleep, Barrier, BoundedSemaphore, Condition, Error, Event,
    EventLoop, LifoQueue, Lock, PriorityQueue, Queue, Semaphore, Task,
};

/// The bracketed part of CPython's repr, as `state()` prints it in the Python programs.
fn state(x: &impl Debug) -> String {
    let r = format!("{x:?}");
    r[r.find('[').unwrap()..r.len() - 1].to_string()
}

fn now() -> f64 {
    get_running_loop().unwrap().time()
}

/// Each task as `x` (cancelled), `d` (done) or `.` (pending).
fn flags<T>(tasks: &[Task<T>]) -> String {
    let flag = |t: &Task<T>| match (t.cancelled(), t.done()) {
        (true, _) => "x",
        (false, true) => "d",
        (false, false) => ".",
    };
    tasks.iter().map(flag).collect::<Vec<_>>().join(" ")
}

#[test]
fn sync_lock_contention() {
    async fn worker(name: &'static str, lock: Lock, log: Log) -> Result<&'static str, Error> {
        log.push(format!(
            "{name} wants the lock at {:?} {}",
            now(),
            state(&lock)
        ));
        if let Err(e) = lock.acquire().await {
            if e.is_cancelled() {
                let s = state(&lock);
                log.push(format!("{name} cancelled while waiting {} {s}", args(&e)));
            }
            return Err(e);
        }
        log.push(format!(
            "{name} holds the lock at {:?} {}",
            now(),
            state(&lock)
        ));
        sleep(1).await?;
        lock.release()?;
        log.push(format!("{name} released at {:?} {}", now(), state(&lock)));
        Ok(name)
    }
    async fn racer(name: &'static str, lock: Lock, log: Log) -> Result<(), Error> {
        if let Err(e) = lock.acquire().await {
            if e.is_cancelled() {
                log.push(format!("{name} cancelled {}", state(&lock)));
            }
            return Err(e);
        }
        log.push(format!("{name} acquired {}", state(&lock)));
        Ok(())
    }
    let lp = EventLoop::new();
    let log = Log::new();
    let l = log.clone();
    lp.run_until_complete(async move {
        let lock = Lock::new();
        let a = create_task(worker("A", lock.clone(), l.clone()))?;
        let b = create_task(worker("B", lock.clone(), l.clone()))?;
        let c = create_task(worker("C", lock.clone(), l.clone()))?;
        sleep(0.5).await?;
        l.push(format!(
            "cancel B -> {} {}",
            py(b.cancel_with("go away")),
            state(&lock)
        ));
        for t in [&a, &b, &c] {
            match t.await {
                Ok(r) => l.push(format!("result {r} at {:?}", now())),
                Err(e) if e.is_cancelled() => {
                    l.push(format!("B ended cancelled {}", py(b.cancelled())))
                }
                Err(e) => return Err(e),
            }
        }

        let lock = Lock::new();
        lock.acquire().await?;
        let t1 = create_task(racer("t1", lock.clone(), l.clone()))?;
        let t2 = create_task(racer("t2", lock.clone(), l.clone()))?;
        let t3 = create_task(racer("t3", lock.clone(), l.clone()))?;
        sleep(0).await?;
        l.push(format!("three waiting {}", state(&lock)));
        let (l2, lock2, t1b) = (l.clone(), lock.clone(), t1.clone());
        get_running_loop()?.call_soon(move || {
            t1b.cancel();
            lock2.release().unwrap();
            l2.push(format!("trigger {}", state(&lock2)));
        });
        sleep(0).await?;
        let s = state(&lock);
        l.push(format!(
            "hop 1: t1 {} t2 {} {s}",
            py(t1.done()),
            py(t2.done())
        ));
        sleep(0).await?;
        l.push(format!(
            "hop 2: t1 {} t2 {} t3 {} {}",
            py(t1.cancelled()),
            py(t2.done()),
            py(t3.done()),
            state(&lock)
        ));

        let t4: Task<()> = create_task(racer("t4", lock.clone(), l.clone()))?;
        sleep(0).await?;
        lock.release()?;
        l.push(format!("t3 cancel -> {} {}", py(t3.cancel()), state(&lock)));
        sleep(0).await?;
        let s = state(&lock);
        l.push(format!(
            "hop 1: t3 {} t4 {} {s}",
            py(t3.cancelled()),
            py(t4.done())
        ));
        sleep(0).await?;
        l.push(format!("hop 2: t4 {} {}", py(t4.done()), state(&lock)));
        lock.release()?;
        if let Err(e) = lock.release() {
            l.push(e.to_string());
        }
        Ok(())
    })
    .unwrap();
    log.push(format!("time {:?}", lp.time()));
    assert_eq!(log.text(), expected("sync_lock_contention"));
}

#[test]
fn sync_semaphore() {
    async fn worker(name: &str, sem: Semaphore, hold: f64, log: Log) -> Result<(), Error> {
        log.push(format!(
            "{name} wants a slot at {:?} {}",
            now(),
            state(&sem)
        ));
        let held = async {
            let _slot = sem.lock().await?;
            log.push(format!("{name} got a slot at {:?} {}", now(), state(&sem)));
            sleep(hold).await
        }
        .await;
        if let Err(e) = held {
            if e.is_cancelled() {
                log.push(format!("{name} cancelled at {:?} {}", now(), state(&sem)));
            }
            return Err(e);
        }
        log.push(format!(
            "{name} gave it back at {:?} {}",
            now(),
            state(&sem)
        ));
        Ok(())
    }
    let lp = EventLoop::new();
    let log = Log::new();
    let l = log.clone();
    lp.run_until_complete(async move {
        let sem = Semaphore::new(2)?;
        let names = ["A", "B", "C", "D", "E"];
        let holds = [3.0, 1.0, 2.0, 1.0, 1.5];
        let mut tasks = Vec::new();
        for (n, h) in names.into_iter().zip(holds) {
            tasks.push(create_task(worker(n, sem.clone(), h, l.clone()))?);
        }
        sleep(0.5).await?;
        tasks[3].cancel();
        for (n, t) in names.into_iter().zip(&tasks) {
            match t.await {
                Ok(()) => l.push(format!("{n} finished at {:?}", now())),
                Err(e) if e.is_cancelled() => l.push(format!("{n} was cancelled")),
                Err(e) => return Err(e),
            }
        }
        l.push(format!("final {}", state(&sem)));

        let sem = Semaphore::new(0)?;
        let mut ts = Vec::new();
        for _ in 0..4 {
            ts.push(create_task(sem.acquire())?);
        }
        sleep(0).await?;
        ts[0].cancel();
        ts[1].cancel();
        sem.release();
        l.push(format!("released {} {}", flags(&ts), state(&sem)));
        sleep(0).await?;
        l.push(format!("hop 1 {} {}", flags(&ts), state(&sem)));
        sleep(0).await?;
        l.push(format!("hop 2 {} {}", flags(&ts), state(&sem)));
        ts.push(create_task(sem.acquire())?);
        sleep(0).await?;
        sem.release();
        l.push(format!("released {} {}", flags(&ts), state(&sem)));
        ts[3].cancel();
        sleep(0).await?;
        l.push(format!("hop 1 {} {}", flags(&ts), state(&sem)));
        sleep(0).await?;
        l.push(format!("hop 2 {} {}", flags(&ts), state(&sem)));

        let b = BoundedSemaphore::new(1)?;
        b.acquire().await?;
        b.release()?;
        l.push(format!("bounded {}", state(&b)));
        if let Err(e) = b.release() {
            l.push(e.to_string());
        }
        if let Err(e) = Semaphore::new(-1) {
            l.push(e.to_string());
        }
        Ok(())
    })
    .unwrap();
    log.push(format!("time {:?}", lp.time()));
    assert_eq!(log.text(), expected("sync_semaphore"));
}

#[test]
fn sync_event() {
    async fn waiter(name: &'static str, ev: Event, log: Log) -> Result<(), Error> {
        log.push(format!("{name} waits at {:?} {}", now(), state(&ev)));
        let r = ev.wait().await?;
        let (set, s) = (py(ev.is_set()), state(&ev));
        log.push(format!(
            "{name} woke {} at {:?} is_set {set} {s}",
            py(r),
            now()
        ));
        Ok(())
    }
    let lp = EventLoop::new();
    let log = Log::new();
    let l = log.clone();
    lp.run_until_complete(async move {
        let ev = Event::new();
        create_task(waiter("A", ev.clone(), l.clone()))?;
        create_task(waiter("B", ev.clone(), l.clone()))?;
        sleep(1).await?;
        let c = create_task(waiter("C", ev.clone(), l.clone()))?;
        ev.set();
        ev.clear();
        l.push(format!("set and cleared {}", state(&ev)));
        sleep(0).await?;
        l.push(format!("one hop later {}", state(&ev)));
        let d = create_task(waiter("D", ev.clone(), l.clone()))?;
        sleep(0).await?;
        let setter = ev.clone();
        get_running_loop()?.call_later(1, move || setter.set());
        d.await?;
        l.push(format!("D done at {:?} C done {}", now(), py(c.done())));
        sleep(0).await?;
        l.push(format!("C done {} {}", py(c.done()), state(&ev)));
        l.push(format!("wait on a set event -> {}", py(ev.wait().await?)));

        ev.clear();
        let w = create_task(ev.wait())?;
        let w2 = w.clone();
        get_running_loop()?.call_soon(move || {
            w2.cancel();
        });
        if let Err(e) = (&w).await {
            assert!(e.is_cancelled());
            l.push(format!(
                "wait cancelled {} {}",
                py(w.cancelled()),
                state(&ev)
            ));
        }
        Ok(())
    })
    .unwrap();
    log.push(format!("time {:?}", lp.time()));
    assert_eq!(log.text(), expected("sync_event"));
}

#[test]
fn sync_condition() {
    async fn consumer(name: char, cond: Condition, log: Log) -> Result<(), Error> {
        {
            let _guard = cond.lock().await?;
            log.push(format!("{name} waits at {:?} {}", now(), state(&cond)));
            let r = cond.wait().await?;
            let s = state(&cond);
            log.push(format!("{name} notified {} at {:?} {s}", py(r), now()));
            sleep(0.5).await?;
        }
        log.push(format!("{name} done at {:?} {}", now(), state(&cond)));
        Ok(())
    }
    async fn taker(
        name: char,
        cond: Condition,
        items: Rc<RefCell<Vec<i32>>>,
        log: Log,
    ) -> Result<(), Error> {
        let _guard = cond.lock().await?;
        let it = items.clone();
        let r = cond.wait_for(move || !it.borrow().is_empty()).await?;
        let item = items.borrow_mut().remove(0);
        log.push(format!("{name} takes {item} at {:?} {}", now(), py(r)));
        Ok(())
    }
    let lp = EventLoop::new();
    let log = Log::new();
    let l = log.clone();
    lp.run_until_complete(async move {
        let cond = Condition::new();
        let mut ts = Vec::new();
        for n in ['A', 'B', 'C', 'D'] {
            ts.push(create_task(consumer(n, cond.clone(), l.clone()))?);
        }
        sleep(1).await?;
        {
            let _guard = cond.lock().await?;
            cond.notify(1)?;
            l.push(format!("notify(1) {}", state(&cond)));
        }
        sleep(1).await?;
        {
            let _guard = cond.lock().await?;
            cond.notify_all()?;
            l.push(format!("notify_all {}", state(&cond)));
        }
        l.push(format!("main released at {:?} {}", now(), state(&cond)));
        for t in ts {
            t.await?;
        }
        l.push(format!("all done at {:?}", now()));

        let items = Rc::new(RefCell::new(Vec::new()));
        let mut takers = Vec::new();
        for n in ['X', 'Y'] {
            takers.push(create_task(taker(
                n,
                cond.clone(),
                items.clone(),
                l.clone(),
            ))?);
        }
        sleep(0).await?;
        for i in 0..2 {
            sleep(1).await?;
            let _guard = cond.lock().await?;
            items.borrow_mut().push(i);
            cond.notify_all()?;
            l.push(format!("put {i} {}", state(&cond)));
        }
        for t in takers {
            t.await?;
        }
        if let Err(e) = cond.notify(1) {
            l.push(e.to_string());
        }
        if let Err(e) = cond.wait().await {
            l.push(e.to_string());
        }
        Ok(())
    })
    .unwrap();
    log.push(format!("time {:?}", lp.time()));
    assert_eq!(log.text(), expected("sync_condition"));
}

#[test]
fn sync_condition_cancel() {
    async fn waiter(name: &'static str, cond: Condition, log: Log) -> Result<(), Error> {
        {
            let _guard = cond.lock().await?;
            match cond.wait().await {
                Ok(_) => log.push(format!("{name} notified {}", state(&cond))),
                Err(e) => {
                    let locked = py(cond.locked());
                    let a = args(&e);
                    log.push(format!(
                        "{name} cancelled {a} locked {locked} at {:?}",
                        now()
                    ));
                    return Err(e);
                }
            }
        }
        log.push(format!("{name} left {}", state(&cond)));
        Ok(())
    }
    let lp = EventLoop::new();
    let log = Log::new();
    let l = log.clone();
    lp.run_until_complete(async move {
        let cond = Condition::new();
        let a = create_task(waiter("A", cond.clone(), l.clone()))?;
        sleep(1).await?;
        a.cancel_with("first");
        if let Err(e) = a.await {
            l.push(format!("A ended {} {}", args(&e), state(&cond)));
        }

        let b = create_task(waiter("B", cond.clone(), l.clone()))?;
        sleep(1).await?;
        cond.acquire().await?;
        cond.notify(1)?;
        sleep(0).await?;
        l.push(format!("B notified, lock held by main {}", state(&cond)));
        b.cancel_with("second");
        sleep(0).await?;
        l.push(format!("B cancelled while retaking {}", state(&cond)));
        let c2 = cond.clone();
        get_running_loop()?.call_later(1, move || c2.release().unwrap());
        if let Err(e) = b.await {
            let s = state(&cond);
            l.push(format!("B ended {} at {:?} {s}", args(&e), now()));
        }

        cond.acquire().await?;
        let wait_task = create_task(cond.wait())?;
        sleep(0).await?;
        l.push(format!("waiting {}", state(&cond)));
        cond.acquire().await?;
        cond.notify(1)?;
        let (w, c2) = (wait_task.clone(), cond.clone());
        get_running_loop()?.call_soon(move || {
            w.cancel();
        });
        get_running_loop()?.call_soon(move || c2.release().unwrap());
        match (&wait_task).await {
            Ok(r) => l.push(format!("contested wait -> {}", py(r))),
            Err(e) => l.push(format!(
                "contested wait cancelled {} {} {}",
                args(&e),
                py(wait_task.cancelled()),
                state(&cond)
            )),
        }
        Ok(())
    })
    .unwrap();
    log.push(format!("time {:?}", lp.time()));
    assert_eq!(log.text(), expected("sync_condition_cancel"));
}

#[test]
fn sync_queue_pc() {
    async fn producer(
        name: &str,
        q: Queue<i32>,
        items: Vec<i32>,
        pause: f64,
        log: Log,
    ) -> Result<(), Error> {
        for item in items {
            log.push(format!("{name} puts {item} at {:?} {q:?}", now()));
            q.put(item).await?;
            log.push(format!(
                "{name} put {item} at {:?} qsize {}",
                now(),
                q.qsize()
            ));
            sleep(pause).await?;
        }
        Ok(())
    }
    async fn consumer(
        name: &str,
        q: Queue<i32>,
        n: usize,
        pause: f64,
        log: Log,
    ) -> Result<(), Error> {
        for _ in 0..n {
            let item = q.get().await?;
            log.push(format!("{name} got {item} at {:?} {q:?}", now()));
            sleep(pause).await?;
        }
        Ok(())
    }
    let lp = EventLoop::new();
    let log = Log::new();
    let l = log.clone();
    lp.run_until_complete(async move {
        let q = Queue::new(1);
        let (e, f) = (py(q.empty()), py(q.full()));
        l.push(format!("maxsize {} empty {e} full {f}", q.maxsize()));
        let tasks = [
            create_task(producer("P1", q.clone(), vec![1, 2, 3], 0.0, l.clone()))?,
            create_task(producer("P2", q.clone(), vec![10, 20], 0.5, l.clone()))?,
            create_task(consumer("C1", q.clone(), 3, 1.0, l.clone()))?,
            create_task(consumer("C2", q.clone(), 2, 0.25, l.clone()))?,
        ];
        for t in tasks {
            t.await?;
        }
        let (e, f) = (py(q.empty()), py(q.full()));
        l.push(format!("end {q:?} empty {e} full {f}"));
        Ok(())
    })
    .unwrap();
    log.push(format!("time {:?}", lp.time()));
    assert_eq!(log.text(), expected("sync_queue_pc"));
}

#[test]
fn sync_queue_join() {
    async fn worker(name: &str, q: Queue<i32>, log: Log) -> Result<(), Error> {
        loop {
            let item = q.get().await?;
            log.push(format!("{name} processing {item} at {:?}", now()));
            sleep(item).await?;
            q.task_done()?;
            log.push(format!("{name} done with {item} at {:?} {q:?}", now()));
        }
    }
    async fn joiner(name: &str, q: Queue<i32>, log: Log) -> Result<(), Error> {
        q.join().await?;
        log.push(format!("{name} joined at {:?}", now()));
        Ok(())
    }
    let lp = EventLoop::new();
    let log = Log::new();
    let l = log.clone();
    lp.run_until_complete(async move {
        let q = Queue::new(0);
        q.join().await?;
        l.push(format!("join of an empty queue returns at {:?}", now()));
        for i in [3, 1, 2, 1] {
            q.put_nowait(i)?;
        }
        l.push(format!("queued {q:?}"));
        let workers = [
            create_task(worker("W1", q.clone(), l.clone()))?,
            create_task(worker("W2", q.clone(), l.clone()))?,
        ];
        let joiners = [
            create_task(joiner("J1", q.clone(), l.clone()))?,
            create_task(joiner("J2", q.clone(), l.clone()))?,
        ];
        q.join().await?;
        l.push(format!("main joined at {:?} {q:?}", now()));
        for j in joiners {
            j.await?;
        }
        for w in &workers {
            w.cancel();
        }
        for w in &workers {
            if let Err(e) = w.await {
                assert!(e.is_cancelled());
                l.push(format!("worker cancelled {}", py(w.cancelled())));
            }
        }
        if let Err(e) = q.task_done() {
            l.push(e.to_string());
        }
        q.join().await?;
        l.push(format!("joined again at {:?}", now()));
        Ok(())
    })
    .unwrap();
    log.push(format!("time {:?}", lp.time()));
    assert_eq!(log.text(), expected("sync_queue_join"));
}

#[test]
fn sync_queue_cancel() {
    async fn reader<T: Clone + Debug + std::fmt::Display>(
        name: &str,
        q: Queue<T>,
        log: Log,
    ) -> Result<T, Error> {
        match q.get().await {
            Ok(item) => {
                log.push(format!("{name} got {item} {q:?}"));
                Ok(item)
            }
            Err(e) => {
                log.push(format!("{name} cancelled {} {q:?}", args(&e)));
                Err(e)
            }
        }
    }
    async fn writer(name: &str, q: Queue<char>, item: char, log: Log) -> Result<(), Error> {
        if let Err(e) = q.put(item).await {
            log.push(format!("{name} cancelled {q:?}"));
            return Err(e);
        }
        log.push(format!("{name} put {item} {q:?}"));
        Ok(())
    }
    let lp = EventLoop::new();
    let log = Log::new();
    let l = log.clone();
    lp.run_until_complete(async move {
        let q = Queue::<i32>::new(0);
        let mut readers = Vec::new();
        for n in ["R1", "R2", "R3"] {
            readers.push(create_task(reader(n, q.clone(), l.clone()))?);
        }
        sleep(0).await?;
        q.put_nowait(1)?;
        q.put_nowait(2)?;
        readers[0].cancel_with("late");
        l.push(format!("two items for three readers {q:?}"));
        sleep(0).await?;
        l.push(format!("hop 1 {} {q:?}", flags(&readers)));
        sleep(0).await?;
        l.push(format!("hop 2 {} {q:?}", flags(&readers)));
        q.put_nowait(3)?;
        let r = create_task(reader("R4", q.clone(), l.clone()))?;
        (&r).await?;
        l.push(format!("R4 took {} {q:?}", r.result()?));

        let q = Queue::<char>::new(1);
        let puts = [
            create_task(writer("Wa", q.clone(), 'a', l.clone()))?,
            create_task(writer("Wb", q.clone(), 'b', l.clone()))?,
            create_task(writer("Wc", q.clone(), 'X', l.clone()))?,
        ];
        sleep(0).await?;
        l.push(format!("puts {} {q:?}", flags(&puts)));
        puts[2].cancel();
        sleep(0).await?;
        l.push(format!("hop 1 {} {q:?}", flags(&puts)));
        l.push(format!("get -> {} {q:?}", q.get_nowait()?));
        sleep(0).await?;
        l.push(format!("hop 2 {} {q:?}", flags(&puts)));
        l.push(format!("get -> {} {q:?}", q.get_nowait()?));

        q.put_nowait('F')?;
        let w1 = create_task(writer("W1", q.clone(), 'p', l.clone()))?;
        let w2 = create_task(writer("W2", q.clone(), 'q', l.clone()))?;
        sleep(0).await?;
        l.push(format!("two putters wait {q:?}"));
        l.push(format!("get -> {} {q:?}", q.get_nowait()?));
        w1.cancel();
        let ws = [w1, w2];
        sleep(0).await?;
        l.push(format!("hop 1 {} {q:?}", flags(&ws)));
        sleep(0).await?;
        l.push(format!("hop 2 {} {q:?}", flags(&ws)));
        l.push(format!("get -> {} qsize {}", q.get_nowait()?, q.qsize()));

        if let Err(e) = q.get_nowait() {
            l.push(e.to_string());
        }
        q.put_nowait('0')?;
        if let Err(e) = q.put_nowait('1') {
            l.push(e.to_string());
        }
        Ok(())
    })
    .unwrap();
    log.push(format!("time {:?}", lp.time()));
    assert_eq!(log.text(), expected("sync_queue_cancel"));
}

/// Ordered by priority only, so jobs of equal priority compare equal (as the Python `Job`).
struct Job(u8, char);

impl PartialEq for Job {
    fn eq(&self, other: &Job) -> bool {
        self.0 == other.0
    }
}
impl Eq for Job {}
impl PartialOrd for Job {
    fn partial_cmp(&self, other: &Job) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Job {
    fn cmp(&self, other: &Job) -> Ordering {
        self.0.cmp(&other.0)
    }
}
impl Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.1, self.0)
    }
}

#[test]
fn sync_priority_lifo() {
    async fn getter<T: Debug + 'static>(name: &str, q: Queue<T>, log: Log) -> Result<(), Error> {
        let item = q.get().await?;
        log.push(format!("{name} got {item:?} at {:?}", now()));
        Ok(())
    }
    let lp = EventLoop::new();
    let log = Log::new();
    let l = log.clone();
    lp.run_until_complete(async move {
        let q = PriorityQueue::new(0);
        for (pri, name) in [2, 1, 2, 1, 3, 1, 2, 1, 0, 2].into_iter().zip('a'..) {
            q.put_nowait(Job(pri, name))?;
        }
        l.push(format!("{q:?}"));
        let order: Vec<Job> = (0..q.qsize()).map(|_| q.get_nowait().unwrap()).collect();
        l.push(format!("order {order:?}"));

        let q = PriorityQueue::new(2);
        let mut gs = Vec::new();
        for n in ["G1", "G2", "G3"] {
            gs.push(create_task(getter(n, Queue::clone(&q), l.clone()))?);
        }
        sleep(0).await?;
        l.push(format!("{q:?}"));
        for (pri, name) in [(5, 'x'), (1, 'y'), (1, 'z')] {
            q.put(Job(pri, name)).await?;
            l.push(format!("put {name} {q:?}"));
        }
        for g in gs {
            g.await?;
        }

        let q = LifoQueue::new(3);
        for i in [1, 3, 2] {
            q.put(i).await?;
        }
        l.push(format!("{q:?} full {}", py(q.full())));
        let order: Vec<i32> = (0..q.qsize()).map(|_| q.get_nowait().unwrap()).collect();
        l.push(format!("order {order:?}"));
        let mut gs = Vec::new();
        for n in ["L1", "L2"] {
            gs.push(create_task(getter(n, Queue::clone(&q), l.clone()))?);
        }
        sleep(0).await?;
        for i in [7, 8] {
            let q = q.clone();
            get_running_loop()?.call_later(1, move || q.put_nowait(i).unwrap());
        }
        for g in gs {
            g.await?;
        }
        Ok(())
    })
    .unwrap();
    log.push(format!("time {:?}", lp.time()));
    assert_eq!(log.text(), expected("sync_priority_lifo"));
}

#[test]
fn sync_barrier() {
    async fn party(name: &'static str, b: Barrier, log: Log) -> Result<String, Error> {
        log.push(format!("{name} waits at {:?} {}", now(), state(&b)));
        match b.wait().await {
            Ok(i) => {
                log.push(format!(
                    "{name} passed with index {i} at {:?} {}",
                    now(),
                    state(&b)
                ));
                Ok(i.to_string())
            }
            Err(Error::BrokenBarrier(m)) => {
                log.push(format!("{name} broken: {m} at {:?} {}", now(), state(&b)));
                Ok("'broken'".to_string())
            }
            Err(e) => {
                if e.is_cancelled() {
                    log.push(format!("{name} cancelled at {:?} {}", now(), state(&b)));
                }
                Err(e)
            }
        }
    }
    /// Python's repr of a list of the results.
    async fn results(tasks: &[Task<String>]) -> Result<String, Error> {
        let mut r = Vec::new();
        for t in tasks {
            r.push(t.await?);
        }
        Ok(format!("[{}]", r.join(", ")))
    }
    let lp = EventLoop::new();
    let log = Log::new();
    let l = log.clone();
    lp.run_until_complete(async move {
        let spawn =
            |name: &'static str, b: &Barrier| create_task(party(name, b.clone(), l.clone()));
        if let Err(Error::Value(m)) = Barrier::new(0) {
            l.push(format!("Barrier(0): {m}"));
        }

        let b = Barrier::new(3)?;
        l.push(format!(
            "parties {} n_waiting {} broken {} {}",
            b.parties(),
            b.n_waiting(),
            py(b.broken()),
            state(&b)
        ));
        let mut ts = vec![spawn("A", &b)?, spawn("B", &b)?];
        sleep(1).await?;
        l.push(format!("two waiting {} {}", state(&b), flags(&ts)));
        ts.push(spawn("C", &b)?);
        ts.push(spawn("D", &b)?);
        for hop in ["one", "two", "three"] {
            sleep(0).await?;
            l.push(format!(
                "{hop} hop{} after C {} {}",
                if hop == "one" { "" } else { "s" },
                state(&b),
                flags(&ts)
            ));
        }
        ts.push(spawn("E", &b)?);
        ts.push(spawn("F", &b)?);
        let r = results(&ts).await?;
        l.push(format!("results {r} at {:?} {}", now(), state(&b)));

        // reset() with two waiting.
        let b = Barrier::new(3)?;
        let mut ts = vec![spawn("R1", &b)?, spawn("R2", &b)?];
        sleep(1).await?;
        b.reset().await?;
        l.push(format!("reset {} {}", state(&b), flags(&ts)));
        ts.push(spawn("R3", &b)?);
        sleep(0).await?;
        l.push(format!("R3 during reset {} {}", state(&b), flags(&ts)));
        l.push(format!(
            "results {} {}",
            results(&ts[..2]).await?,
            state(&b)
        ));
        ts.push(spawn("R4", &b)?);
        ts.push(spawn("R5", &b)?);
        l.push(format!(
            "results {} {}",
            results(&ts[2..]).await?,
            state(&b)
        ));
        b.reset().await?;
        l.push(format!("reset of an idle barrier {}", state(&b)));

        // abort().
        let b = Barrier::new(2)?;
        let w = spawn("W1", &b)?;
        sleep(0).await?;
        b.abort().await?;
        l.push(format!(
            "aborted {} broken {} n_waiting {}",
            state(&b),
            py(b.broken()),
            b.n_waiting()
        ));
        l.push(format!("W1 -> {}", w.await?.trim_matches('\'')));
        let late = party("W2", b.clone(), l.clone()).await?;
        l.push(format!("late -> {}", late.trim_matches('\'')));
        b.reset().await?;
        l.push(format!(
            "after reset {} broken {}",
            state(&b),
            py(b.broken())
        ));
        let ws = [spawn("W3", &b)?, spawn("W4", &b)?];
        l.push(format!("results {} {}", results(&ws).await?, state(&b)));

        // A waiter cancelled while it waits.
        let b = Barrier::new(2)?;
        let k = spawn("K1", &b)?;
        sleep(0).await?;
        l.push(format!("K1 waiting {}", state(&b)));
        k.cancel();
        sleep(0).await?;
        l.push(format!("K1 cancelled {} {}", state(&b), flags(&[k])));
        let ks = [spawn("K2", &b)?, spawn("K3", &b)?];
        l.push(format!("results {} {}", results(&ks).await?, state(&b)));

        // A waiter cancelled after its release.
        let b = Barrier::new(2)?;
        let x1 = spawn("X1", &b)?;
        sleep(0).await?;
        let x2 = spawn("X2", &b)?;
        sleep(0).await?;
        l.push(format!(
            "X2 released {} {}",
            state(&b),
            flags(&[x1.clone(), x2.clone()])
        ));
        x1.cancel();
        match x1.await {
            Err(e) if e.is_cancelled() => l.push(format!("X1 ended cancelled {}", state(&b))),
            other => panic!("X1: {other:?}"),
        }
        l.push(format!("X2 -> {} {}", x2.await?, state(&b)));
        Ok(())
    })
    .unwrap();
    log.push(format!("time {:?}", lp.time()));
    assert_eq!(log.text(), expected("sync_barrier"));
}
