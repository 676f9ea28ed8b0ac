//! The `shield`, `gather`, `wait`, `ensure_future` and cancellation cases of CPython 3.11's
//! `Lib/test/test_asyncio/test_tasks.py`, ported to tulipsim.
//!
//! CPython drives most of these tests with a `TestLoop` whose clock follows a generator of
//! expected deadlines, and with `test_utils.run_briefly`; here the loop's virtual clock jumps to
//! the next timer by itself, every test asserts the virtual time it ends at, and
//! [`run_briefly`] is CPython's helper (run a task that finishes in one step, so the loop runs
//! two iterations). Expected values that the CPython tests do not spell out were checked by
//! running the same programs on `sim/python/vloop.py` (CPython 3.11.7).
//!
//! CPython's `wait()` returns sets; tulipsim returns lists in input order (docs/semantics.md),
//! so the `done`/`pending` assertions below compare lists in the order of the input.

use std::cell::{Cell, RefCell};
use std::future::{Future as StdFuture, IntoFuture};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use tulipsim::{
    create_task, current_task, ensure_future, gather, gather_return_exceptions, shield, sleep,
    sleep_with, wait, Error, EventLoop, Future, Task, TaskRef, FIRST_COMPLETED, FIRST_EXCEPTION,
};

/// CPython's `test_utils.run_briefly`: run a task that finishes in its first step, so the loop
/// runs what is ready now and what that schedules, two iterations in all.
fn run_briefly(lp: &EventLoop) {
    lp.run_until_complete(async { Ok(()) }).unwrap();
}

/// `GatherTestsBase._run_loop`: run until nothing is ready. The virtual clock only moves once
/// nothing is ready, so a one-nanosecond sleep returns exactly then.
fn run_loop(lp: &EventLoop) {
    lp.run_until_complete(sleep(Duration::from_nanos(1)))
        .unwrap();
}

fn is_cancelled<T>(r: &Result<T, Error>) -> bool {
    matches!(r, Err(e) if e.is_cancelled())
}

fn refs<T>(tasks: &[Task<T>]) -> Vec<TaskRef> {
    tasks.iter().map(Task::to_ref).collect()
}

/// A done-callback counting its calls, checking it receives `fut` (CPython's `MockCallback`
/// with `assert_called_once_with(fut)`).
fn count_callbacks<R: 'static>(fut: &Future<R>) -> Rc<Cell<u32>> {
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let me = fut.clone();
    fut.add_done_callback(move |f: &Future<R>| {
        assert!(f.same(&me));
        c.set(c.get() + 1);
    });
    calls
}

async fn notmuch() -> Result<&'static str, Error> {
    Ok("ok")
}

// test_tasks.py: BaseTaskTests.test_ensure_future_coroutine
//
// CPython's `loop=` argument has no counterpart: tulipsim's ensure_future uses the running loop,
// or else the thread's newest open loop (CPython's "current event loop").
#[test]
fn test_ensure_future_coroutine() {
    // No loop at all: CPython raises RuntimeError; tulipsim's future has failed with it.
    let a = ensure_future(notmuch());
    assert!(a.done());
    assert!(
        matches!(a.result(), Err(Error::Runtime(_))),
        "{:?}",
        a.result()
    );

    let lp = EventLoop::new();
    // The current (not running) loop.
    let t = ensure_future(notmuch());
    assert!(t.as_task().is_some());
    lp.run_until_complete(t.clone()).unwrap();
    assert!(t.done());
    assert_eq!(t.result(), Ok("ok"));

    // The running loop.
    let t = lp
        .run_until_complete(async { Ok(ensure_future(notmuch())) })
        .unwrap();
    assert!(t.as_task().is_some());
    lp.run_until_complete(t.clone()).unwrap();
    assert!(t.done());
    assert_eq!(t.result(), Ok("ok"));
}

// test_tasks.py: BaseTaskTests.test_ensure_future_future
// (the `loop=` half, a ValueError for another loop, has no counterpart)
#[test]
fn test_ensure_future_future() {
    let lp = EventLoop::new();
    let f_orig = lp.create_future();
    f_orig.set_result("ko").unwrap();
    let f = ensure_future(f_orig.clone());
    lp.run_until_complete(f.clone()).unwrap();
    assert!(f.done());
    assert_eq!(f.result(), Ok("ko"));
    assert!(f.same(&f_orig));
}

// test_tasks.py: BaseTaskTests.test_ensure_future_task
// (the `loop=` half, a ValueError for another loop, has no counterpart)
#[test]
fn test_ensure_future_task() {
    let lp = EventLoop::new();
    let t_orig = lp.create_task(notmuch());
    let t = ensure_future(t_orig.clone());
    lp.run_until_complete(t.clone()).unwrap();
    assert!(t.done());
    assert_eq!(t.result(), Ok("ok"));
    assert!(t.same(&t_orig.as_future()));
}

/// CPython's `Aw`: an awaitable object that is not a coroutine, whose `__await__` delegates to
/// one. In Rust: a type of our own implementing `Future`.
struct Aw<F>(Pin<Box<F>>);

impl<F: StdFuture> StdFuture for Aw<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.0.as_mut().poll(cx)
    }
}

// test_tasks.py: BaseTaskTests.test_ensure_future_awaitable
#[test]
fn test_ensure_future_awaitable() {
    let lp = EventLoop::new();
    let fut = ensure_future(Aw(Box::pin(notmuch())));
    assert!(fut.as_task().is_some());
    lp.run_until_complete(fut.clone()).unwrap();
    assert_eq!(fut.result(), Ok("ok"));
}

// test_tasks.py: BaseTaskTests.test_cancel_awaited_task
#[test]
fn test_cancel_awaited_task() {
    // A task that requests its own cancellation while not blocked: whatever it blocks on next
    // is cancelled (bpo-34872).
    let lp = EventLoop::new();
    let fut = lp.create_future::<()>();
    let nested_task: Rc<RefCell<Option<Task<()>>>> = Rc::default();
    let (f, slot) = (fut.clone(), nested_task.clone());
    let task = lp.create_task(async move {
        // Create a sub-task and wait for it to run.
        let nested = create_task(async move { f.await })?;
        *slot.borrow_mut() = Some(nested.clone());
        sleep(0).await?;
        // Request the current task to be cancelled.
        current_task().unwrap().cancel();
        // Block on the nested task, which should be immediately cancelled.
        nested.await
    });
    let r = lp.run_until_complete(task.clone());
    assert!(is_cancelled(&r), "{r:?}");
    assert!(task.cancelled());
    assert!(nested_task.borrow().as_ref().unwrap().cancelled());
    assert!(fut.cancelled());
}

// test_tasks.py: BaseTaskTests.test_wait
#[test]
fn test_wait() {
    let lp = EventLoop::new();
    let a = lp.create_task(sleep(0.1));
    let b = lp.create_task(sleep(0.15));
    let foo = |a: Task<()>, b: Task<()>| async move {
        let (done, pending) = wait(vec![b.clone(), a.clone()]).await?;
        assert_eq!(refs(&done), refs(&[b, a]));
        assert!(pending.is_empty());
        Ok(42)
    };
    let res = lp.run_until_complete(lp.create_task(foo(a.clone(), b.clone())));
    assert_eq!(res, Ok(42));
    assert_eq!(lp.time(), 0.15);
    // Doing it again takes no time and exercises a different path.
    let res = lp.run_until_complete(lp.create_task(foo(a, b)));
    assert_eq!(res, Ok(42));
    assert_eq!(lp.time(), 0.15);
}

// test_tasks.py: BaseTaskTests.test_wait_duplicate_coroutines
#[test]
fn test_wait_duplicate_coroutines() {
    let lp = EventLoop::new();
    let c = lp.create_task(async { Ok("test") });
    let spam = lp.create_task(async { Ok("spam") });
    let task = lp.create_task(wait(vec![c.clone(), c, spam]).into_future());
    let (done, pending) = lp.run_until_complete(task).unwrap();
    assert!(pending.is_empty());
    // The task given twice counts once.
    let results: Vec<&str> = done.iter().map(|f| f.result().unwrap()).collect();
    assert_eq!(results, ["test", "spam"]);
}

// test_tasks.py: BaseTaskTests.test_wait_errors
// (the `return_when=-1` half is a type error in Rust: ReturnWhen is an enum)
#[test]
fn test_wait_errors() {
    let lp = EventLoop::new();
    let r = lp.run_until_complete(async { wait(Vec::<Task<()>>::new()).await });
    assert_eq!(
        r.unwrap_err(),
        Error::Value("Set of Tasks/Futures is empty.".into())
    );
}

// test_tasks.py: BaseTaskTests.test_wait_first_completed
#[test]
fn test_wait_first_completed() {
    let lp = EventLoop::new();
    let a = lp.create_task(sleep(10));
    let b = lp.create_task(sleep(0.1));
    let task = lp.create_task(
        wait(vec![b.clone(), a.clone()])
            .return_when(FIRST_COMPLETED)
            .into_future(),
    );
    let (done, pending) = lp.run_until_complete(task).unwrap();
    assert_eq!(refs(&done), [b.to_ref()]);
    assert_eq!(refs(&pending), [a.to_ref()]);
    assert!(!a.done());
    assert!(b.done());
    assert_eq!(b.result(), Ok(()));
    assert_eq!(lp.time(), 0.1);
    // Let the rest finish.
    lp.run_until_complete(wait(vec![a, b]).into_future())
        .unwrap();
    assert_eq!(lp.time(), 10.0);
}

// test_tasks.py: BaseTaskTests.test_wait_really_done
#[test]
fn test_wait_really_done() {
    // Some tasks in the pending list may have become done while their callbacks have not all
    // been called yet.
    let lp = EventLoop::new();
    let a = lp.create_task(async { sleep(0).await });
    let b = lp.create_task(async {
        sleep(0).await?;
        sleep(0).await
    });
    let task = lp.create_task(
        wait(vec![b.clone(), a.clone()])
            .return_when(FIRST_COMPLETED)
            .into_future(),
    );
    let (done, pending) = lp.run_until_complete(task).unwrap();
    assert_eq!(refs(&done), refs(&[b.clone(), a.clone()]));
    assert!(pending.is_empty());
    assert!(a.done());
    assert_eq!(a.result(), Ok(()));
    assert!(b.done());
    assert_eq!(b.result(), Ok(()));
    assert_eq!(lp.time(), 0.0);
}

// test_tasks.py: BaseTaskTests.test_wait_first_exception
#[test]
fn test_wait_first_exception() {
    let lp = EventLoop::new();
    // first_exception, task already has exception
    let a = lp.create_task(sleep(10));
    let b = lp.create_task(async { Err::<(), _>(Error::msg("ZeroDivisionError('err')")) });
    let task = lp.create_task(
        wait(vec![b.clone(), a.clone()])
            .return_when(FIRST_EXCEPTION)
            .into_future(),
    );
    let (done, pending) = lp.run_until_complete(task).unwrap();
    assert_eq!(refs(&done), [b.to_ref()]);
    assert_eq!(refs(&pending), [a.to_ref()]);
    assert_eq!(lp.time(), 0.0);
    lp.run_until_complete(wait(vec![a, b]).into_future())
        .unwrap();
    assert_eq!(lp.time(), 10.0);
}

// test_tasks.py: BaseTaskTests.test_wait_first_exception_in_wait
#[test]
fn test_wait_first_exception_in_wait() {
    let lp = EventLoop::new();
    // first_exception, exception during waiting
    let a = lp.create_task(sleep(10));
    let b = lp.create_task(async {
        sleep(0.01).await?;
        Err::<(), _>(Error::msg("ZeroDivisionError('err')"))
    });
    let (done, pending) = lp
        .run_until_complete(
            wait(vec![b.clone(), a.clone()])
                .return_when(FIRST_EXCEPTION)
                .into_future(),
        )
        .unwrap();
    assert_eq!(refs(&done), [b.to_ref()]);
    assert_eq!(refs(&pending), [a.to_ref()]);
    assert_eq!(lp.time(), 0.01);
    lp.run_until_complete(wait(vec![a, b]).into_future())
        .unwrap();
    assert_eq!(lp.time(), 10.0);
}

// test_tasks.py: BaseTaskTests.test_wait_with_exception
#[test]
fn test_wait_with_exception() {
    let lp = EventLoop::new();
    let a = lp.create_task(sleep(0.1));
    let b = lp.create_task(async {
        sleep(0.15).await?;
        Err::<(), _>(Error::msg("ZeroDivisionError('really')"))
    });
    let foo = |a: Task<()>, b: Task<()>| async move {
        let (done, pending) = wait(vec![b, a]).await?;
        assert_eq!(done.len(), 2);
        assert!(pending.is_empty());
        let errors = done
            .iter()
            .filter(|f| matches!(f.exception(), Ok(Some(_))))
            .count();
        assert_eq!(errors, 1);
        Ok(())
    };
    lp.run_until_complete(lp.create_task(foo(a.clone(), b.clone())))
        .unwrap();
    assert_eq!(lp.time(), 0.15);
    lp.run_until_complete(lp.create_task(foo(a, b))).unwrap();
    assert_eq!(lp.time(), 0.15);
}

// test_tasks.py: BaseTaskTests.test_wait_with_timeout
#[test]
fn test_wait_with_timeout() {
    let lp = EventLoop::new();
    let a = lp.create_task(sleep(0.1));
    let b = lp.create_task(sleep(0.15));
    let (x, y) = (a.clone(), b.clone());
    lp.run_until_complete(lp.create_task(async move {
        let (done, pending) = wait(vec![y.clone(), x.clone()]).timeout(0.11).await?;
        assert_eq!(refs(&done), refs(&[x]));
        assert_eq!(refs(&pending), refs(&[y]));
        Ok(())
    }))
    .unwrap();
    assert_eq!(lp.time(), 0.11);
    lp.run_until_complete(wait(vec![a, b]).into_future())
        .unwrap();
    assert_eq!(lp.time(), 0.15);
}

// test_tasks.py: BaseTaskTests.test_wait_concurrent_complete
#[test]
fn test_wait_concurrent_complete() {
    let lp = EventLoop::new();
    let a = lp.create_task(sleep(0.1));
    let b = lp.create_task(sleep(0.15));
    // The timeout and a's sleep end at the same instant: a is done by the time wait returns.
    let (done, pending) = lp
        .run_until_complete(wait(vec![b.clone(), a.clone()]).timeout(0.1).into_future())
        .unwrap();
    assert_eq!(refs(&done), [a.to_ref()]);
    assert_eq!(refs(&pending), [b.to_ref()]);
    assert_eq!(lp.time(), 0.1);
    lp.run_until_complete(wait(vec![a, b]).into_future())
        .unwrap();
    assert_eq!(lp.time(), 0.15);
}

// test_tasks.py: BaseTaskTests.test_wait_with_iterator_of_tasks
#[test]
fn test_wait_with_iterator_of_tasks() {
    let lp = EventLoop::new();
    let a = lp.create_task(sleep(0.1));
    let b = lp.create_task(sleep(0.15));
    let (x, y) = (a.clone(), b.clone());
    let res = lp.run_until_complete(lp.create_task(async move {
        let (done, pending) = wait([y.clone(), x.clone()].iter().cloned()).await?;
        assert_eq!(refs(&done), refs(&[y, x]));
        assert!(pending.is_empty());
        Ok(42)
    }));
    assert_eq!(res, Ok(42));
    assert_eq!(lp.time(), 0.15);
}

// test_tasks.py: BaseTaskTests.test_task_cancel_waiter_future
#[test]
fn test_task_cancel_waiter_future() {
    let lp = EventLoop::new();
    let fut = lp.create_future::<()>();
    let f = fut.clone();
    let task = lp.create_task(async move { f.await });
    run_briefly(&lp);
    // (CPython also checks, white-box, that `task._fut_waiter is fut`.)
    assert!(!fut.done());
    task.cancel();
    run_briefly(&lp);
    let r = lp.run_until_complete(task.clone());
    assert!(is_cancelled(&r), "{r:?}");
    assert!(fut.cancelled());
}

// test_tasks.py: BaseTaskTests.test_yield_wait_does_not_shield_cancel
#[test]
fn test_yield_wait_does_not_shield_cancel() {
    // Cancelling outer() makes wait() return early, and leaves inner() running.
    let lp = EventLoop::new();
    let proof = Rc::new(Cell::new(0));
    let waiter = lp.create_future::<()>();
    let (p, w) = (proof.clone(), waiter.clone());
    let f = lp.create_task(async move {
        let p2 = p.clone();
        let inner = create_task(async move {
            w.await?;
            p2.set(p2.get() + 1);
            Ok(())
        })?;
        wait(vec![inner]).await?;
        p.set(p.get() + 100);
        Ok(())
    });
    run_briefly(&lp);
    f.cancel();
    let r = lp.run_until_complete(f);
    assert!(is_cancelled(&r), "{r:?}");
    waiter.set_result(()).unwrap();
    run_briefly(&lp);
    assert_eq!(proof.get(), 1);
}

// test_tasks.py: BaseTaskTests.test_shield_result
#[test]
fn test_shield_result() {
    let lp = EventLoop::new();
    let inner = lp.create_future();
    let outer = shield(inner.clone());
    inner.set_result(42).unwrap();
    let res = lp.run_until_complete(outer);
    assert_eq!(res, Ok(42));
}

// test_tasks.py: BaseTaskTests.test_shield_exception
#[test]
fn test_shield_exception() {
    let lp = EventLoop::new();
    let inner = lp.create_future::<i32>();
    let outer = shield(inner.clone());
    run_briefly(&lp);
    let exc = Error::msg("RuntimeError('expected')");
    inner.set_exception(exc.clone()).unwrap();
    run_briefly(&lp);
    // The very same exception (user errors compare by identity).
    assert_eq!(outer.exception(), Ok(Some(exc)));
}

// test_tasks.py: BaseTaskTests.test_shield_cancel_inner
#[test]
fn test_shield_cancel_inner() {
    let lp = EventLoop::new();
    let inner = lp.create_future::<i32>();
    let outer = shield(inner.clone());
    run_briefly(&lp);
    inner.cancel();
    run_briefly(&lp);
    assert!(outer.cancelled());
}

// test_tasks.py: BaseTaskTests.test_shield_cancel_outer
// (CPython also checks, white-box, that `outer._callbacks` is empty)
#[test]
fn test_shield_cancel_outer() {
    let lp = EventLoop::new();
    let inner = lp.create_future::<i32>();
    let outer = shield(inner.clone());
    run_briefly(&lp);
    outer.cancel();
    run_briefly(&lp);
    assert!(outer.cancelled());
    assert!(!inner.done());
}

// test_tasks.py: BaseTaskTests.test_shield_shortcut
#[test]
fn test_shield_shortcut() {
    let lp = EventLoop::new();
    let fut = lp.create_future();
    fut.set_result(42).unwrap();
    let shielded = shield(fut.clone());
    assert!(shielded.same(&fut));
    let res = lp.run_until_complete(shielded);
    assert_eq!(res, Ok(42));
}

// test_tasks.py: BaseTaskTests.test_shield_effect
#[test]
fn test_shield_effect() {
    // Cancelling outer() does not affect inner().
    let lp = EventLoop::new();
    let proof = Rc::new(Cell::new(0));
    let waiter = lp.create_future::<()>();
    let (p, w) = (proof.clone(), waiter.clone());
    let f = lp.create_task(async move {
        let p2 = p.clone();
        let inner = async move {
            w.await?;
            p2.set(p2.get() + 1);
            Ok(())
        };
        shield(inner).await?;
        p.set(p.get() + 100);
        Ok(())
    });
    run_briefly(&lp);
    f.cancel();
    let r = lp.run_until_complete(f);
    assert!(is_cancelled(&r), "{r:?}");
    waiter.set_result(()).unwrap();
    run_briefly(&lp);
    assert_eq!(proof.get(), 1);
}

// test_tasks.py: BaseTaskTests.test_shield_gather
#[test]
fn test_shield_gather() {
    let lp = EventLoop::new();
    let child1 = lp.create_future();
    let child2 = lp.create_future();
    let parent = gather(vec![child1.clone(), child2.clone()]);
    let outer = shield(parent.clone());
    run_briefly(&lp);
    outer.cancel();
    run_briefly(&lp);
    assert!(outer.cancelled());
    assert!(!parent.done());
    child1.set_result(1).unwrap();
    child2.set_result(2).unwrap();
    run_briefly(&lp);
    assert_eq!(parent.result(), Ok(vec![1, 2]));
}

// test_tasks.py: BaseTaskTests.test_gather_shield
#[test]
fn test_gather_shield() {
    let lp = EventLoop::new();
    let child1 = lp.create_future();
    let child2 = lp.create_future();
    let inner1 = shield(child1.clone());
    let inner2 = shield(child2.clone());
    let parent = gather(vec![inner1.clone(), inner2.clone()]);
    run_briefly(&lp);
    parent.cancel();
    // This cancels inner1 and inner2 but not child1 and child2.
    run_briefly(&lp);
    assert!(matches!(parent.exception(), Ok(Some(ref e)) if e.is_cancelled()));
    assert!(!parent.cancelled());
    assert!(inner1.cancelled());
    assert!(inner2.cancelled());
    assert!(!child1.done() && !child2.done());
    child1.set_result(1).unwrap();
    child2.set_result(2).unwrap();
    run_briefly(&lp);
}

async fn forty_two() -> Result<i32, Error> {
    Ok(42)
}

// test_tasks.py: BaseTaskTests.test_shield_coroutine_without_loop
//
// CPython raises RuntimeError from shield(); tulipsim's shield returns a future that has
// already failed with it (docs/semantics.md, "Misuse surfaces when awaited").
#[test]
fn test_shield_coroutine_without_loop() {
    let outer = shield(forty_two());
    assert!(outer.done());
    assert!(
        matches!(outer.result(), Err(Error::Runtime(_))),
        "{:?}",
        outer.result()
    );
}

// test_tasks.py: BaseTaskTests.test_shield_coroutine_use_running_loop
#[test]
fn test_shield_coroutine_use_running_loop() {
    let lp = EventLoop::new();
    let outer = lp
        .run_until_complete(async { Ok(shield(forty_two())) })
        .unwrap();
    assert!(outer.get_loop().is_some());
    let res = lp.run_until_complete(outer);
    assert_eq!(res, Ok(42));
}

// test_tasks.py: BaseTaskTests.test_shield_coroutine_use_global_loop
#[test]
fn test_shield_coroutine_use_global_loop() {
    let lp = EventLoop::new();
    let outer = shield(forty_two());
    assert!(outer.get_loop().is_some());
    let res = lp.run_until_complete(outer);
    assert_eq!(res, Ok(42));
}

// test_tasks.py: BaseTaskTests.test_wait_invalid_args
// (passing a single future or a coroutine instead of a collection is a type error in Rust)
#[test]
fn test_wait_invalid_args() {
    let lp = EventLoop::new();
    let r = lp.run_until_complete(async { wait([] as [Future<()>; 0]).await });
    assert!(matches!(r, Err(Error::Value(_))), "{r:?}");
}

// test_tasks.py: BaseTaskTests.test_cancel_gather_1
#[test]
fn test_cancel_gather_1() {
    // A gathering future refuses to be cancelled once all its children are done.
    let lp = EventLoop::new();
    let fut = lp.create_future::<i32>();
    let f = fut.clone();
    let (gather_future, gather_task) = lp
        .run_until_complete(async move {
            // The indirection fut -> child coroutine is needed: otherwise the gathering future
            // would be done at the same time as the child.
            let gather_future = gather(vec![async move { f.await }]);
            Ok((gather_future.clone(), ensure_future(gather_future)))
        })
        .unwrap();
    assert!(gather_task.same(&gather_future));
    let cancel_result: Rc<Cell<Option<bool>>> = Rc::default();
    let (cr, gt) = (cancel_result.clone(), gather_task.clone());
    fut.add_done_callback(move |_: &Future<i32>| cr.set(Some(gt.cancel())));
    fut.set_result(42).unwrap(); // calls the cancelling callback after fut is done
                                 // At this point the gathering future completes.
    lp.run_until_complete(gather_task.clone()).unwrap();
    // Python issue #26923: asyncio.gather drops cancellation.
    assert_eq!(cancel_result.get(), Some(false));
    assert!(!gather_task.cancelled());
    assert_eq!(gather_task.result(), Ok(vec![42]));
}

// test_tasks.py: BaseTaskTests.test_cancel_gather_2
// (the non-string message case `cancel(5)` has no counterpart: messages are strings; nor has
// the check of the exception's `__context__` chain)
#[test]
fn test_cancel_gather_2() {
    for message in [None, Some("my message")] {
        let lp = EventLoop::new();
        let r = lp.run_until_complete(async move {
            let qwe = create_task(async {
                let mut time = 0.0;
                loop {
                    time += 0.05;
                    gather_return_exceptions(vec![sleep(0.05)]).await?;
                    if time > 1.0 {
                        return Ok(());
                    }
                }
            })?;
            sleep(0.2).await?;
            match message {
                Some(m) => qwe.cancel_with(m),
                None => qwe.cancel(),
            };
            qwe.await
        });
        // gather() propagates the CancelledError raised by the inner task to its caller, with
        // the message.
        match r {
            Err(Error::Cancelled(c)) => assert_eq!(c.message(), message),
            other => panic!("expected CancelledError, got {other:?}"),
        }
        assert_eq!(lp.time(), 0.2);
    }
}

/// `GatherTestsBase`'s two subclasses: `FutureGatherTests` gathers the futures themselves,
/// `CoroutineGatherTests` gathers coroutines that await them, from inside the running loop.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Futures,
    Coroutines,
}

async fn await_future(f: Future<i32>) -> Result<i32, Error> {
    f.await
}

/// `_gather(*wrap_futures(*children))`.
fn gather_kind(lp: &EventLoop, kind: Kind, children: Vec<Future<i32>>) -> Future<Vec<i32>> {
    match kind {
        Kind::Futures => gather(children),
        Kind::Coroutines => lp
            .run_until_complete(async move { Ok(gather(children.into_iter().map(await_future))) })
            .unwrap(),
    }
}

/// `_gather(*wrap_futures(*children), return_exceptions=True)`.
fn gather_kind_settled(
    lp: &EventLoop,
    kind: Kind,
    children: Vec<Future<i32>>,
) -> Future<Vec<Result<i32, Error>>> {
    match kind {
        Kind::Futures => gather_return_exceptions(children),
        Kind::Coroutines => lp
            .run_until_complete(async move {
                Ok(gather_return_exceptions(
                    children.into_iter().map(await_future),
                ))
            })
            .unwrap(),
    }
}

fn futures(lp: &EventLoop, n: usize) -> Vec<Future<i32>> {
    (0..n).map(|_| lp.create_future()).collect()
}

/// `GatherTestsBase._check_success`.
fn check_success<R: Clone + PartialEq + std::fmt::Debug + 'static>(
    kind: Kind,
    make: fn(&EventLoop, Kind, Vec<Future<i32>>) -> Future<R>,
    expected: R,
) {
    let lp = EventLoop::new();
    let fs = futures(&lp, 3);
    let (a, b, c) = (&fs[0], &fs[1], &fs[2]);
    let fut = make(&lp, kind, fs.clone());
    let calls = count_callbacks(&fut);
    b.set_result(1).unwrap();
    a.set_result(2).unwrap();
    run_loop(&lp);
    assert_eq!(calls.get(), 0);
    assert!(!fut.done());
    c.set_result(3).unwrap();
    run_loop(&lp);
    assert_eq!(calls.get(), 1);
    assert_eq!(fut.result(), Ok(expected));
}

// test_tasks.py: FutureGatherTests.test_success (GatherTestsBase)
#[test]
fn future_gather_test_success() {
    check_success(Kind::Futures, gather_kind, vec![2, 1, 3]);
}

// test_tasks.py: CoroutineGatherTests.test_success (GatherTestsBase)
#[test]
fn coroutine_gather_test_success() {
    check_success(Kind::Coroutines, gather_kind, vec![2, 1, 3]);
}

// test_tasks.py: FutureGatherTests.test_result_exception_success (GatherTestsBase)
#[test]
fn future_gather_test_result_exception_success() {
    check_success(
        Kind::Futures,
        gather_kind_settled,
        vec![Ok(2), Ok(1), Ok(3)],
    );
}

// test_tasks.py: CoroutineGatherTests.test_result_exception_success (GatherTestsBase)
#[test]
fn coroutine_gather_test_result_exception_success() {
    check_success(
        Kind::Coroutines,
        gather_kind_settled,
        vec![Ok(2), Ok(1), Ok(3)],
    );
}

/// `GatherTestsBase.test_one_exception`.
fn one_exception(kind: Kind) {
    let lp = EventLoop::new();
    let fs = futures(&lp, 5);
    let fut = gather_kind(&lp, kind, fs.clone());
    let calls = count_callbacks(&fut);
    let exc = Error::msg("ZeroDivisionError()");
    fs[0].set_result(1).unwrap();
    fs[1].set_exception(exc.clone()).unwrap();
    run_loop(&lp);
    assert!(fut.done());
    assert_eq!(calls.get(), 1);
    assert_eq!(fut.exception(), Ok(Some(exc.clone())));
    // Does nothing.
    fs[2].set_result(3).unwrap();
    fs[3].cancel();
    fs[4].set_exception(Error::msg("RuntimeError()")).unwrap();
    let _ = fs[4].exception();
    run_loop(&lp);
    assert_eq!(calls.get(), 1);
    assert_eq!(fut.exception(), Ok(Some(exc)));
}

// test_tasks.py: FutureGatherTests.test_one_exception (GatherTestsBase)
#[test]
fn future_gather_test_one_exception() {
    one_exception(Kind::Futures);
}

// test_tasks.py: CoroutineGatherTests.test_one_exception (GatherTestsBase)
#[test]
fn coroutine_gather_test_one_exception() {
    one_exception(Kind::Coroutines);
}

/// `GatherTestsBase.test_return_exceptions`.
fn return_exceptions(kind: Kind) {
    let lp = EventLoop::new();
    let fs = futures(&lp, 4);
    let fut = gather_kind_settled(&lp, kind, fs.clone());
    let calls = count_callbacks(&fut);
    let exc = Error::msg("ZeroDivisionError()");
    let exc2 = Error::msg("RuntimeError()");
    fs[1].set_result(1).unwrap();
    fs[2].set_exception(exc.clone()).unwrap();
    fs[0].set_result(3).unwrap();
    run_loop(&lp);
    assert!(!fut.done());
    fs[3].set_exception(exc2.clone()).unwrap();
    run_loop(&lp);
    assert!(fut.done());
    assert_eq!(calls.get(), 1);
    assert_eq!(fut.result(), Ok(vec![Ok(3), Ok(1), Err(exc), Err(exc2)]));
}

// test_tasks.py: FutureGatherTests.test_return_exceptions (GatherTestsBase)
#[test]
fn future_gather_test_return_exceptions() {
    return_exceptions(Kind::Futures);
}

// test_tasks.py: CoroutineGatherTests.test_return_exceptions (GatherTestsBase)
#[test]
fn coroutine_gather_test_return_exceptions() {
    return_exceptions(Kind::Coroutines);
}

// test_tasks.py: FutureGatherTests.test_constructor_empty_sequence_without_loop
//
// CPython raises RuntimeError from gather(); tulipsim's gather returns a future that has
// already failed with it (docs/semantics.md, "Misuse surfaces when awaited").
#[test]
fn future_gather_test_constructor_empty_sequence_without_loop() {
    let fut = gather(Vec::<Future<i32>>::new());
    assert!(fut.done());
    assert!(
        matches!(fut.result(), Err(Error::Runtime(_))),
        "{:?}",
        fut.result()
    );
}

// test_tasks.py: FutureGatherTests.test_constructor_empty_sequence_use_running_loop
#[test]
fn future_gather_test_constructor_empty_sequence_use_running_loop() {
    let lp = EventLoop::new();
    let fut = lp
        .run_until_complete(async { Ok(gather(Vec::<Future<i32>>::new())) })
        .unwrap();
    assert!(fut.get_loop().is_some());
    run_loop(&lp);
    assert!(fut.done());
    assert_eq!(fut.result(), Ok(vec![]));
}

// test_tasks.py: FutureGatherTests.test_constructor_empty_sequence_use_global_loop
#[test]
fn future_gather_test_constructor_empty_sequence_use_global_loop() {
    let lp = EventLoop::new();
    let fut = gather(Vec::<Future<i32>>::new());
    assert!(fut.get_loop().is_some());
    run_loop(&lp);
    assert!(fut.done());
    assert_eq!(fut.result(), Ok(vec![]));
}

// test_tasks.py: FutureGatherTests.test_constructor_heterogenous_futures
//
// CPython raises ValueError from gather(); tulipsim's future has already failed with it
// (docs/semantics.md, "Misuse surfaces when awaited").
#[test]
fn future_gather_test_constructor_heterogenous_futures() {
    let one_loop = EventLoop::new();
    let other_loop = EventLoop::new();
    let fut1 = one_loop.create_future::<i32>();
    let fut2 = other_loop.create_future::<i32>();
    let fut = gather(vec![fut1, fut2]);
    assert!(fut.done());
    assert!(
        matches!(fut.result(), Err(Error::Value(_))),
        "{:?}",
        fut.result()
    );
}

// test_tasks.py: FutureGatherTests.test_constructor_homogenous_futures
//
// CPython checks `fut._loop is other_loop`; here the outer future's done-callback runs when
// `other_loop` runs, which shows the outer future belongs to it.
#[test]
fn future_gather_test_constructor_homogenous_futures() {
    let other_loop = EventLoop::new();
    let one_loop = EventLoop::new(); // the thread's current loop, as in GatherTestsBase.setUp
    let children = futures(&other_loop, 3);
    let fut = gather(children.clone());
    let calls = count_callbacks(&fut);
    run_loop(&other_loop);
    assert!(!fut.done());
    let fut2 = gather(children.clone());
    let calls2 = count_callbacks(&fut2);
    run_loop(&other_loop);
    assert!(!fut2.done());
    for (i, c) in children.iter().enumerate() {
        c.set_result(i as i32).unwrap();
    }
    run_loop(&other_loop);
    assert_eq!((calls.get(), calls2.get()), (1, 1));
    assert_eq!(fut.result(), Ok(vec![0, 1, 2]));
    assert_eq!(fut2.result(), Ok(vec![0, 1, 2]));
    drop(one_loop);
}

// test_tasks.py: FutureGatherTests.test_one_cancellation
#[test]
fn future_gather_test_one_cancellation() {
    let lp = EventLoop::new();
    let fs = futures(&lp, 5);
    let fut = gather(fs.clone());
    let calls = count_callbacks(&fut);
    fs[0].set_result(1).unwrap();
    fs[1].cancel();
    run_loop(&lp);
    assert!(fut.done());
    assert_eq!(calls.get(), 1);
    // A child's cancellation is an exception like any other: the outer is not cancelled.
    assert!(!fut.cancelled());
    assert!(matches!(fut.exception(), Ok(Some(ref e)) if e.is_cancelled()));
    // Does nothing.
    fs[2].set_result(3).unwrap();
    fs[3].cancel();
    fs[4].set_exception(Error::msg("RuntimeError()")).unwrap();
    let _ = fs[4].exception();
    run_loop(&lp);
    assert_eq!(calls.get(), 1);
    assert!(!fut.cancelled());
}

// test_tasks.py: FutureGatherTests.test_result_exception_one_cancellation
#[test]
fn future_gather_test_result_exception_one_cancellation() {
    let lp = EventLoop::new();
    let fs = futures(&lp, 6);
    let fut = gather_return_exceptions(fs.clone());
    let calls = count_callbacks(&fut);
    fs[0].set_result(1).unwrap();
    let zde = Error::msg("ZeroDivisionError()");
    fs[1].set_exception(zde.clone()).unwrap();
    fs[2].cancel();
    run_loop(&lp);
    assert!(!fut.done());
    fs[3].set_result(3).unwrap();
    fs[4].cancel();
    let rte = Error::msg("RuntimeError()");
    fs[5].set_exception(rte.clone()).unwrap();
    let mut res = lp.run_until_complete(fut.clone()).unwrap();
    assert!(is_cancelled(&res[2]), "{:?}", res[2]);
    assert!(is_cancelled(&res[4]), "{:?}", res[4]);
    res[2] = Ok(0);
    res[4] = Ok(0);
    assert_eq!(res, vec![Ok(1), Err(zde), Ok(0), Ok(3), Ok(0), Err(rte)]);
    assert_eq!(calls.get(), 1);
}

async fn abc() -> Result<&'static str, Error> {
    Ok("abc")
}

// test_tasks.py: CoroutineGatherTests.test_constructor_without_loop
//
// CPython raises RuntimeError from gather(); tulipsim's gather returns a future that has
// already failed with it (docs/semantics.md, "Misuse surfaces when awaited").
#[test]
fn coroutine_gather_test_constructor_without_loop() {
    let fut = gather(vec![abc(), abc()]);
    assert!(fut.done());
    assert!(
        matches!(fut.result(), Err(Error::Runtime(_))),
        "{:?}",
        fut.result()
    );
}

// test_tasks.py: CoroutineGatherTests.test_constructor_use_running_loop
#[test]
fn coroutine_gather_test_constructor_use_running_loop() {
    let lp = EventLoop::new();
    let fut = lp
        .run_until_complete(async { Ok(gather(vec![abc(), abc()])) })
        .unwrap();
    assert!(fut.get_loop().is_some());
    assert_eq!(lp.run_until_complete(fut), Ok(vec!["abc", "abc"]));
}

// test_tasks.py: CoroutineGatherTests.test_constructor_use_global_loop
#[test]
fn coroutine_gather_test_constructor_use_global_loop() {
    let _one_loop = EventLoop::new();
    let other_loop = EventLoop::new(); // the thread's current loop now
    let fut = gather(vec![abc(), abc()]);
    assert!(fut.get_loop().is_some());
    assert_eq!(other_loop.run_until_complete(fut), Ok(vec!["abc", "abc"]));
}

// test_tasks.py: CoroutineGatherTests.test_duplicate_coroutines
//
// A Rust coroutine (an `async` block) cannot be passed twice: it is moved. The same task
// given several times is the counterpart: it runs once and its result fills every slot.
#[test]
fn coroutine_gather_test_duplicate_coroutines() {
    let lp = EventLoop::new();
    let fut = lp
        .run_until_complete(async {
            let c = create_task(abc())?;
            let d = create_task(async { Ok("def") })?;
            Ok(gather(vec![c.clone(), c.clone(), d, c]))
        })
        .unwrap();
    run_loop(&lp);
    assert_eq!(fut.result(), Ok(vec!["abc", "abc", "def", "abc"]));
}

// test_tasks.py: CoroutineGatherTests.test_cancellation_broadcast
#[test]
fn coroutine_gather_test_cancellation_broadcast() {
    // Cancelling outer() cancels all children.
    let lp = EventLoop::new();
    let proof = Rc::new(Cell::new(0));
    let waiter = lp.create_future::<()>();
    let inner = |p: Rc<Cell<i32>>, w: Future<()>| async move {
        w.await?;
        p.set(p.get() + 1);
        Ok(())
    };
    let child1 = ensure_future(inner(proof.clone(), waiter.clone()));
    let child2 = ensure_future(inner(proof.clone(), waiter.clone()));
    let gatherer: Rc<RefCell<Option<Future<Vec<()>>>>> = Rc::default();
    let (g, p, c1, c2) = (
        gatherer.clone(),
        proof.clone(),
        child1.clone(),
        child2.clone(),
    );
    let f = ensure_future(async move {
        let gathering = gather(vec![c1, c2]);
        *g.borrow_mut() = Some(gathering.clone());
        gathering.await?;
        p.set(p.get() + 100);
        Ok(())
    });
    run_briefly(&lp);
    assert!(f.cancel());
    let r = lp.run_until_complete(f);
    assert!(is_cancelled(&r), "{r:?}");
    let gatherer = gatherer.borrow().clone().unwrap();
    assert!(!gatherer.cancel());
    // (Checked on CPython 3.11.7: the gathering future is done with a CancelledError as its
    // exception, not cancelled itself.)
    assert!(gatherer.done());
    assert!(!gatherer.cancelled());
    assert!(matches!(gatherer.exception(), Ok(Some(ref e)) if e.is_cancelled()));
    assert!(waiter.cancelled());
    assert!(child1.cancelled());
    assert!(child2.cancelled());
    run_briefly(&lp);
    assert_eq!(proof.get(), 0);
}

// test_tasks.py: CoroutineGatherTests.test_exception_marking
#[test]
fn coroutine_gather_test_exception_marking() {
    // The first line marked "Mark exception retrieved." in gather's _done_callback: the
    // second child's exception, which nobody awaits, is not reported as never retrieved.
    let lp = EventLoop::new();
    async fn inner(f: Future<()>) -> Result<(), Error> {
        f.await?;
        Err(Error::msg("RuntimeError('should not be ignored')"))
    }
    let a = lp.create_future::<()>();
    let b = lp.create_future::<()>();
    let (x, y) = (a.clone(), b.clone());
    let f = ensure_future(async move {
        gather(vec![inner(x), inner(y)]).await?;
        Ok(())
    });
    run_briefly(&lp);
    a.set_result(()).unwrap();
    run_briefly(&lp);
    b.set_result(()).unwrap();
    run_briefly(&lp);
    let exc = f.exception().unwrap().unwrap();
    assert_eq!(exc.to_string(), "RuntimeError('should not be ignored')");
    drop((f, a, b));
    run_briefly(&lp);
    lp.close().unwrap();
    let reports: Vec<String> = lp
        .take_reports()
        .iter()
        .map(|r| r.message().to_string())
        .collect();
    assert!(reports.is_empty(), "{reports:?}");
}

// ---- as_completed (test_tasks.py, BaseTaskTests) -------------------------------------------

// test_tasks.py: BaseTaskTests.test_as_completed
#[test]
fn test_as_completed() {
    let lp = EventLoop::new();
    let res = lp
        .run_until_complete(async {
            let mut values = vec![];
            let inputs = vec![
                sleep_with(0.01, 'b'),
                sleep_with(0.15, 'c'),
                sleep_with(0.01, 'a'),
            ];
            for f in tulipsim::as_completed(inputs) {
                values.push(f.await?);
            }
            Ok(values)
        })
        .unwrap();
    assert_eq!(lp.time(), 0.15);
    assert!(res[..2].contains(&'a') && res[..2].contains(&'b'));
    assert_eq!(res[2], 'c');
}

// test_tasks.py: BaseTaskTests.test_as_completed_with_timeout
#[test]
fn test_as_completed_with_timeout() {
    let lp = EventLoop::new();
    let a = lp.create_task(sleep_with(0.1, "a"));
    let b = lp.create_task(sleep_with(0.15, "b"));
    let (a2, b2) = (a.clone(), b.clone());
    let res = lp
        .run_until_complete(async move {
            let mut values = vec![];
            for f in tulipsim::as_completed(vec![a2, b2]).timeout(0.12) {
                values.push(f.await);
            }
            Ok(values)
        })
        .unwrap();
    assert_eq!(res, [Ok("a"), Err(Error::timeout())]);
    assert_eq!(lp.time(), 0.12);
    assert!(!b.cancelled(), "the timeout cancels nothing");
    lp.run_until_complete(b).unwrap();
    let _ = a;
}

// test_tasks.py: BaseTaskTests.test_as_completed_with_unused_timeout
#[test]
fn test_as_completed_with_unused_timeout() {
    let lp = EventLoop::new();
    let r = lp.run_until_complete(async {
        let mut got = vec![];
        for f in tulipsim::as_completed(vec![sleep_with(0.01, "a")]).timeout(1) {
            got.push(f.await?);
        }
        Ok(got)
    });
    assert_eq!(r, Ok(vec!["a"]));
    assert_eq!(lp.time(), 0.01);
    // The unused timeout's timer was cancelled: nothing is left to run.
    assert!(matches!(lp.run_forever(), Err(Error::Deadlock(_))));
    assert_eq!(lp.time(), 0.01);
}

// test_tasks.py: BaseTaskTests.test_as_completed_reverse_wait
#[test]
fn test_as_completed_reverse_wait() {
    let lp = EventLoop::new();
    let h = lp.handle();
    lp.run_until_complete(async move {
        let futs: Vec<_> =
            tulipsim::as_completed(vec![sleep_with(0.05, "a"), sleep_with(0.10, "b")])
                .into_iter()
                .collect();
        assert_eq!(futs.len(), 2);
        let mut futs = futs.into_iter();
        let (first, second) = (futs.next().unwrap(), futs.next().unwrap());
        assert_eq!(
            second.await?,
            "a",
            "whichever awaitable is awaited first gets the first result"
        );
        assert_eq!(h.time(), 0.05);
        assert_eq!(first.await?, "b");
        assert_eq!(h.time(), 0.10);
        Ok(())
    })
    .unwrap();
}

// test_tasks.py: BaseTaskTests.test_as_completed_concurrent
#[test]
fn test_as_completed_concurrent() {
    let lp = EventLoop::new();
    let r = lp.run_until_complete(async {
        let futs: Vec<Future<&str>> =
            tulipsim::as_completed(vec![sleep_with(0.05, "a"), sleep_with(0.05, "b")])
                .into_iter()
                .map(ensure_future)
                .collect();
        assert_eq!(futs.len(), 2);
        let (done, pending) = wait(futs).await?;
        let mut results: Vec<&str> = done.iter().map(|f| f.result().unwrap()).collect();
        results.sort();
        Ok((results, pending.len()))
    });
    assert_eq!(r, Ok((vec!["a", "b"], 0)));
    assert_eq!(lp.time(), 0.05);
}

// test_tasks.py: BaseTaskTests.test_as_completed_duplicate_coroutines
// (An async block cannot be passed twice; the same task can, and counts once.)
#[test]
fn test_as_completed_duplicate_coroutines() {
    let lp = EventLoop::new();
    let r = lp.run_until_complete(async {
        let ham = create_task(async { Ok("ham") })?;
        let spam = create_task(async { Ok("spam") })?;
        let mut result = vec![];
        for f in tulipsim::as_completed(vec![ham.clone(), ham, spam]) {
            result.push(f.await?);
        }
        result.sort();
        Ok(result)
    });
    assert_eq!(r, Ok(vec!["ham", "spam"]));
}

// test_tasks.py: BaseTaskTests.test_as_completed_coroutine_without_loop
// (CPython raises RuntimeError from `list(futs)`; here each awaitable gives it.)
#[test]
fn test_as_completed_coroutine_without_loop() {
    let futs: Vec<_> = tulipsim::as_completed(vec![async { Ok(42) }])
        .into_iter()
        .collect();
    assert_eq!(futs.len(), 1);
    let lp = EventLoop::new();
    let r = lp.run_until_complete(async move {
        let mut out = vec![];
        for f in futs {
            out.push(f.await);
        }
        Ok(out)
    });
    assert_eq!(
        r,
        Ok(vec![Err(Error::Runtime("no running event loop".into()))])
    );
}

// test_tasks.py: BaseTaskTests.test_as_completed_coroutine_use_running_loop
#[test]
fn test_as_completed_coroutine_use_running_loop() {
    let lp = EventLoop::new();
    let r = lp.run_until_complete(async {
        let futs: Vec<_> = tulipsim::as_completed(vec![async { Ok(42) }])
            .into_iter()
            .collect();
        assert_eq!(futs.len(), 1);
        let mut out = vec![];
        for f in futs {
            out.push(f.await?);
        }
        Ok(out)
    });
    assert_eq!(r, Ok(vec![42]));
}
