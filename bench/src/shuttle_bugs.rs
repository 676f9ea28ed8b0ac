//! The planted bugs of `tulipsim_sim::bugs`, written for shuttle: the same programs, with
//! shuttle's async `spawn_local` / `yield_now` / `block_on` and a semaphore as the lock.
//!
//! Each translation keeps the bug's shape step for step: `sleep(0)` becomes `yield_now()`,
//! `create_task` becomes `spawn_local` (a scheduling point in shuttle too), `gather` awaits the
//! join handles in order and gives up at the first error, as `gather` does. Two programs need
//! what shuttle lacks, and are modelled:
//!
//! - `double_completion`: shuttle has no timers, so the two callbacks due at one deadline are two
//!   tasks released together; an unguarded second completion panics as `InvalidStateError`
//!   would.
//! - `control_done_callback_first`: shuttle has no done-callbacks, so the callback runs inside
//!   the completion, before the waiter is woken: the order asyncio promises, by construction.
//!
//! An oracle fails by panicking (shuttle reports a panic, or a deadlock, as a failure).
//!
//! ```
//! let p = tulipsim_bench::shuttle_bugs::find("lost_update").unwrap();
//! // Shuttle's round-robin-free random scheduler, one schedule per seed, finds it.
//! let failing = (0..50).filter(|&s| tulipsim_bench::shuttle_bugs::fails_random(&p, s)).count();
//! assert!(failing > 0);
//! ```

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use shuttle::future::batch_semaphore::{BatchSemaphore, Fairness};
use shuttle::future::{block_on, spawn_local, yield_now};
use shuttle::scheduler::{PctScheduler, RandomScheduler, Scheduler};
use shuttle::{Config, FailurePersistence, Runner};

/// One program: its name (as in `tulipsim_sim::bugs`) and its body.
#[derive(Clone, Copy)]
pub struct Program {
    /// The name of the tulipsim program it translates.
    pub name: &'static str,
    /// True for a planted bug, false for a control.
    pub bug: bool,
    /// Runs the program once inside a shuttle execution.
    pub body: fn(),
}

/// The eight programs, in `tulipsim_sim::bugs::all()`'s order.
pub fn all() -> [Program; 8] {
    [
        Program {
            name: "lost_update",
            bug: true,
            body: lost_update,
        },
        Program {
            name: "lost_wakeup",
            bug: true,
            body: lost_wakeup,
        },
        Program {
            name: "use_before_init",
            bug: true,
            body: use_before_init,
        },
        Program {
            name: "gather_orphan",
            bug: true,
            body: gather_orphan,
        },
        Program {
            name: "double_completion",
            bug: true,
            body: double_completion,
        },
        Program {
            name: "lock_order_inversion",
            bug: true,
            body: lock_order_inversion,
        },
        Program {
            name: "control_done_callback_first",
            bug: false,
            body: control_done_callback_first,
        },
        Program {
            name: "control_locked_counter",
            bug: false,
            body: control_locked_counter,
        },
    ]
}

/// The program named `name`.
pub fn find(name: &str) -> Option<Program> {
    all().into_iter().find(|p| p.name == name)
}

fn config() -> Config {
    let mut c = Config::new();
    c.failure_persistence = FailurePersistence::None;
    c.silence_warnings = true;
    c
}

/// Runs `iterations` schedules of `p` under `scheduler` in one shuttle `Runner`, as
/// `shuttle::check_random` does; gives how many ran and whether the last one failed.
pub fn run(p: &Program, scheduler: impl Scheduler + 'static) -> (u64, bool) {
    thread_local!(static RUNS: Cell<u64> = const { Cell::new(0) });
    RUNS.with(|r| r.set(0));
    let body = p.body;
    let failed = quietly(|| {
        Runner::new(scheduler, config()).run(move || {
            RUNS.with(|r| r.set(r.get() + 1));
            body()
        });
    });
    (RUNS.with(Cell::get), failed)
}

/// True if `p` fails in the one schedule shuttle's random scheduler draws from `seed`.
pub fn fails_random(p: &Program, seed: u64) -> bool {
    run(p, RandomScheduler::new_from_seed(seed, 1)).1
}

/// True if `p` fails in either schedule of a PCT run of depth `depth` seeded with `seed`.
/// Shuttle's PCT spends its first schedule on an oldest-first calibration (it learns the step
/// count there), so one seed is two schedules.
pub fn fails_pct(p: &Program, seed: u64, depth: usize) -> bool {
    run(p, PctScheduler::new_from_seed(seed, depth, 2)).1
}

/// Runs `f`, and says whether it panicked, without printing the panic.
fn quietly(f: impl FnOnce()) -> bool {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err();
    std::panic::set_hook(hook);
    failed
}

/// An asyncio `Event` on wakers: `wait()` is ready while the flag is set.
#[derive(Clone, Default)]
struct Event(Rc<RefCell<(bool, Vec<Waker>)>>);

impl Event {
    fn set(&self) {
        let mut s = self.0.borrow_mut();
        s.0 = true;
        for w in s.1.drain(..) {
            w.wake();
        }
    }
    fn clear(&self) {
        self.0.borrow_mut().0 = false;
    }
    fn wait(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx: &mut Context<'_>| {
            let mut s = self.0.borrow_mut();
            if s.0 {
                Poll::Ready(())
            } else {
                s.1.push(cx.waker().clone());
                Poll::Pending
            }
        })
    }
}

/// An asyncio `Lock`: a strictly fair one-permit semaphore, as asyncio's lock is FIFO.
fn lock() -> Rc<BatchSemaphore> {
    Rc::new(BatchSemaphore::new(1, Fairness::StrictlyFair))
}

type Work = Pin<Box<dyn Future<Output = Result<(), String>>>>;

fn lost_update() {
    block_on(async {
        let counter = Rc::new(Cell::new(0));
        let bump = |c: Rc<Cell<u32>>| async move {
            let v = c.get();
            yield_now().await;
            c.set(v + 1);
        };
        let a = spawn_local(bump(counter.clone()));
        yield_now().await;
        let b = spawn_local(bump(counter.clone()));
        a.await.unwrap();
        b.await.unwrap();
        assert_eq!(counter.get(), 2, "an update was lost");
    })
}

fn lost_wakeup() {
    block_on(async {
        let items = Rc::new(RefCell::new(Vec::new()));
        let ready = Event::default();
        let (i, r) = (items.clone(), ready.clone());
        let producer = spawn_local(async move {
            yield_now().await;
            yield_now().await;
            i.borrow_mut().push(1);
            r.set();
        });
        let (i, r) = (items.clone(), ready.clone());
        let consumer = spawn_local(async move {
            if i.borrow().is_empty() {
                yield_now().await;
                r.clear();
                r.wait().await;
            }
            assert_eq!(i.borrow().len(), 1);
        });
        producer.await.unwrap();
        consumer.await.unwrap();
    })
}

fn use_before_init() {
    block_on(async {
        let conn: Rc<RefCell<Option<&'static str>>> = Rc::default();
        let c = conn.clone();
        let init = spawn_local(async move {
            yield_now().await;
            *c.borrow_mut() = Some("db");
        });
        let c = conn.clone();
        let user = spawn_local(async move {
            yield_now().await;
            assert!(
                c.borrow().is_some(),
                "the connection was used before it was set"
            );
        });
        init.await.unwrap();
        user.await.unwrap();
    })
}

fn gather_orphan() {
    block_on(async {
        let open = Rc::new(Cell::new(true));
        let failing: Work = Box::pin(async {
            yield_now().await;
            Err("worker failed".to_string())
        });
        let failing = spawn_local(failing);
        let o = open.clone();
        let checker = spawn_local(async move {
            yield_now().await;
            yield_now().await;
            assert!(o.get(), "the sibling ran after the resource was closed");
            Ok::<(), String>(())
        });
        // gather: the first error ends the wait; the sibling runs on.
        if failing.await.unwrap().is_err() {
            open.set(false);
        }
        checker.await.unwrap().unwrap();
    })
}

fn double_completion() {
    block_on(async {
        let result: Rc<RefCell<Option<Result<u32, String>>>> = Rc::default();
        let r = result.clone();
        let unguarded = spawn_local(async move {
            let mut slot = r.borrow_mut();
            assert!(slot.is_none(), "InvalidStateError: the future is done");
            *slot = Some(Ok(1));
        });
        let r = result.clone();
        let guarded = spawn_local(async move {
            let mut slot = r.borrow_mut();
            if slot.is_none() {
                *slot = Some(Err("timed out".into()));
            }
        });
        unguarded.await.unwrap();
        guarded.await.unwrap();
    })
}

fn lock_order_inversion() {
    block_on(async {
        let (a, b) = (lock(), lock());
        let take = |first: Rc<BatchSemaphore>, second: Rc<BatchSemaphore>| async move {
            first.acquire(1).await.unwrap();
            yield_now().await;
            second.acquire(1).await.unwrap();
            second.release(1);
            first.release(1);
        };
        let t1 = spawn_local(take(a.clone(), b.clone()));
        yield_now().await;
        let t2 = spawn_local(take(b.clone(), a.clone()));
        t1.await.unwrap();
        t2.await.unwrap();
    })
}

fn control_done_callback_first() {
    block_on(async {
        let ran = Rc::new(Cell::new(false));
        let done = Event::default();
        let (r, d) = (ran.clone(), done.clone());
        let setter = spawn_local(async move {
            yield_now().await;
            r.set(true); // the done-callback, run by the completion itself
            d.set();
        });
        done.wait().await;
        assert!(ran.get(), "the waiter resumed before the done-callback ran");
        setter.await.unwrap();
    })
}

fn control_locked_counter() {
    block_on(async {
        let counter = Rc::new(Cell::new(0));
        let l = lock();
        let bump = |c: Rc<Cell<u32>>, l: Rc<BatchSemaphore>| async move {
            l.acquire(1).await.unwrap();
            let v = c.get();
            yield_now().await;
            c.set(v + 1);
            l.release(1);
        };
        let mut tasks = Vec::new();
        for _ in 0..3 {
            tasks.push(spawn_local(bump(counter.clone(), l.clone())));
            yield_now().await;
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(counter.get(), 3, "an update was lost under the lock");
    })
}
