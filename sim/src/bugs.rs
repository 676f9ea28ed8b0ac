//! Small asyncio programs with known bugs, and correct controls: the benchmark of bug-finding
//! power (`docs/bug-finding.md`, `cargo run --release -p tulipsim-sim --bin bug-bench`).
//!
//! Every bug passes under FIFO (asyncio's own order): that is why it ships. Each fails only in
//! some other interleaving, and its oracle says how: an assertion, a deadlock, an
//! `InvalidStateError`. The controls must never fail under any policy but `chaos` (which may
//! break asyncio's promise that one step's callbacks run in order).
//!
//! ```
//! use tulipsim::{check, Policy};
//! let lost_update = tulipsim_sim::bugs::find("lost_update").unwrap();
//! // Passes under FIFO...
//! assert!(check(lost_update.body).policy(Policy::Fifo).ignore_env().outcome().is_ok());
//! // ...and some seed of Random finds it.
//! assert!(check(lost_update.body).policy(Policy::Random).seeds(0..100).ignore_env().outcome().is_err());
//! ```

use std::cell::{Cell, RefCell};
use std::future::Future as StdFuture;
use std::pin::Pin;
use std::rc::Rc;

use tulipsim::{create_task, gather, get_running_loop, sleep, wait, Error, Event, Future, Lock};

/// A program's main coroutine.
pub type Main = Pin<Box<dyn StdFuture<Output = Result<(), Error>>>>;

/// One benchmark program.
#[derive(Clone, Copy)]
pub struct Program {
    /// Its name.
    pub name: &'static str,
    /// True for a planted bug, false for a control that must never fail.
    pub bug: bool,
    /// How a failure shows.
    pub oracle: &'static str,
    /// Makes its main coroutine.
    pub body: fn() -> Main,
}

/// Every program: the six bugs, then the two controls.
pub fn all() -> [Program; 8] {
    [
        Program {
            name: "lost_update",
            bug: true,
            oracle: "assertion: counter == 2",
            body: lost_update,
        },
        Program {
            name: "lost_wakeup",
            bug: true,
            oracle: "deadlock: the consumer waits forever",
            body: lost_wakeup,
        },
        Program {
            name: "use_before_init",
            bug: true,
            oracle: "assertion: connection set",
            body: use_before_init,
        },
        Program {
            name: "gather_orphan",
            bug: true,
            oracle: "assertion in the orphan: resource open",
            body: gather_orphan,
        },
        Program {
            name: "double_completion",
            bug: true,
            oracle: "InvalidStateError",
            body: double_completion,
        },
        Program {
            name: "lock_order_inversion",
            bug: true,
            oracle: "deadlock",
            body: lock_order_inversion,
        },
        Program {
            name: "control_done_callback_first",
            bug: false,
            oracle: "assertion: callback ran first",
            body: control_done_callback_first,
        },
        Program {
            name: "control_locked_counter",
            bug: false,
            oracle: "assertion: counter == 3",
            body: control_locked_counter,
        },
    ]
}

/// The program named `name`.
pub fn find(name: &str) -> Option<Program> {
    all().into_iter().find(|p| p.name == name)
}

/// Two tasks each read a shared counter, await `sleep(0)`, and write it back plus one; the
/// second is created one step after the first; `gather` both; expect 2.
fn lost_update() -> Main {
    Box::pin(async {
        let counter = Rc::new(Cell::new(0));
        let bump = |c: Rc<Cell<u32>>| async move {
            let v = c.get();
            sleep(0).await?;
            c.set(v + 1);
            Ok(())
        };
        let a = create_task(bump(counter.clone()))?;
        sleep(0).await?;
        let b = create_task(bump(counter.clone()))?;
        gather(vec![a, b]).await?;
        assert_eq!(counter.get(), 2, "an update was lost");
        Ok(())
    })
}

/// A producer yields twice, appends an item and sets an `Event`; a consumer that finds no
/// item yields once, clears the event, then waits on it: a `set()` between its check and its
/// `clear()` is wiped, and it waits forever.
fn lost_wakeup() -> Main {
    Box::pin(async {
        let items = Rc::new(RefCell::new(Vec::new()));
        let ready = Event::new();
        let (i, r) = (items.clone(), ready.clone());
        let producer = create_task(async move {
            sleep(0).await?;
            sleep(0).await?;
            i.borrow_mut().push(1);
            r.set();
            Ok(())
        })?;
        let (i, r) = (items.clone(), ready.clone());
        let consumer = create_task(async move {
            if i.borrow().is_empty() {
                sleep(0).await?;
                r.clear();
                r.wait().await?;
            }
            assert_eq!(i.borrow().len(), 1);
            Ok(())
        })?;
        gather(vec![producer, consumer]).await?;
        Ok(())
    })
}

/// One task yields, then sets a connection; another yields, then uses it.
fn use_before_init() -> Main {
    Box::pin(async {
        let conn: Rc<RefCell<Option<&'static str>>> = Rc::new(RefCell::new(None));
        let c = conn.clone();
        let init = create_task(async move {
            sleep(0).await?;
            *c.borrow_mut() = Some("db");
            Ok(())
        })?;
        let c = conn.clone();
        let user = create_task(async move {
            sleep(0).await?;
            assert!(
                c.borrow().is_some(),
                "the connection was used before it was set"
            );
            Ok(())
        })?;
        gather(vec![init, user]).await?;
        Ok(())
    })
}

/// `gather` of a worker that fails after one yield and one that, after two yields, asserts a
/// resource is still open; the caller catches the error and closes the resource: the
/// surviving sibling then runs against a closed resource.
fn gather_orphan() -> Main {
    Box::pin(async {
        let open = Rc::new(Cell::new(true));
        let failing = create_task(async {
            sleep(0).await?;
            Err::<(), _>(Error::msg("worker failed"))
        })?;
        let o = open.clone();
        let checker = create_task(async move {
            sleep(0).await?;
            sleep(0).await?;
            assert!(o.get(), "the sibling ran after the resource was closed");
            Ok(())
        })?;
        if gather(vec![failing, checker.clone()]).await.is_err() {
            open.set(false);
        }
        // Let the orphan finish, so its check runs inside the program.
        let _ = wait(vec![checker]).await?;
        Ok(())
    })
}

/// Two `call_later(1.0, ...)` callbacks at the same deadline: one calls `set_result`
/// unguarded, the other sets an exception only if the future is not done.
fn double_completion() -> Main {
    Box::pin(async {
        let lp = get_running_loop()?;
        let fut: Future<u32> = lp.create_future();
        let failed: Rc<RefCell<Option<Error>>> = Rc::default();
        let (f, bad) = (fut.clone(), failed.clone());
        lp.call_later(1.0, move || {
            if let Err(e) = f.set_result(1) {
                *bad.borrow_mut() = Some(e);
            }
        });
        let f = fut.clone();
        lp.call_later(1.0, move || {
            if !f.done() {
                let _ = f.set_exception(Error::msg("timed out"));
            }
        });
        let _ = fut.await;
        sleep(0).await?; // both callbacks have run
        let error = failed.borrow_mut().take();
        error.map_or(Ok(()), Err)
    })
}

/// Two tasks take locks A then B, and B then A, with a yield in between; the second starts
/// one step after the first.
fn lock_order_inversion() -> Main {
    Box::pin(async {
        let (a, b) = (Lock::new(), Lock::new());
        let take = |first: Lock, second: Lock| async move {
            let g1 = first.lock().await?;
            sleep(0).await?;
            let g2 = second.lock().await?;
            drop((g2, g1));
            Ok(())
        };
        let t1 = create_task(take(a.clone(), b.clone()))?;
        sleep(0).await?;
        let t2 = create_task(take(b.clone(), a.clone()))?;
        gather(vec![t1, t2]).await?;
        Ok(())
    })
}

/// Control: a waiter relies on a future's done-callback (registered first) having run before
/// it resumes. asyncio schedules both from the same completion, in registration order.
fn control_done_callback_first() -> Main {
    Box::pin(async {
        let lp = get_running_loop()?;
        let fut: Future<u32> = lp.create_future();
        let ran = Rc::new(Cell::new(false));
        let r = ran.clone();
        fut.add_done_callback(move |_: &Future<u32>| r.set(true));
        let f = fut.clone();
        let setter = create_task(async move {
            sleep(0).await?;
            f.set_result(7)
        })?;
        fut.await?;
        assert!(ran.get(), "the waiter resumed before the done-callback ran");
        setter.await
    })
}

/// Control: a read-modify-write under an asyncio `Lock` by three tasks.
fn control_locked_counter() -> Main {
    Box::pin(async {
        let counter = Rc::new(Cell::new(0));
        let lock = Lock::new();
        let bump = |c: Rc<Cell<u32>>, l: Lock| async move {
            let _guard = l.lock().await?;
            let v = c.get();
            sleep(0).await?;
            c.set(v + 1);
            Ok(())
        };
        let mut tasks = Vec::new();
        for _ in 0..3 {
            tasks.push(create_task(bump(counter.clone(), lock.clone()))?);
            sleep(0).await?;
        }
        gather(tasks).await?;
        assert_eq!(counter.get(), 3, "an update was lost under the lock");
        Ok(())
    })
}
