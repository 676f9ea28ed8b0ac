//! CPython 3.11's `Lib/test/test_asyncio/test_waitfor.py`, ported to tulipsim.
//!
//! CPython runs these tests on a real clock with short sleeps; here they run on the virtual
//! clock, so every test also asserts the virtual time at which things happen. The expected
//! times were checked by running the same programs on `sim/python/vloop.py` (CPython 3.11.7).

use std::cell::Cell;
use std::rc::Rc;

use tulipsim::{create_task, sleep, wait, wait_for, Error, EventLoop, LoopHandle};

/// CPython's `_EPSILON`: a timeout that passes the `timeout > 0` check but is tiny.
const EPSILON: f64 = 0.0001;

/// CPython's `SlowTask`: runs for `TASK_TIMEOUT` seconds (of loop time here), ignoring every
/// cancellation request.
struct SlowTask {
    exited: Rc<Cell<bool>>,
}

impl SlowTask {
    const TASK_TIMEOUT: f64 = 0.2;

    fn new() -> SlowTask {
        SlowTask {
            exited: Rc::new(Cell::new(false)),
        }
    }

    fn run(&self, lp: LoopHandle) -> impl std::future::Future<Output = Result<(), Error>> {
        let exited = self.exited.clone();
        async move {
            let exit_at = lp.time() + Self::TASK_TIMEOUT;
            loop {
                let to_sleep = exit_at - lp.time();
                if to_sleep <= 0.0 {
                    break;
                }
                match sleep(to_sleep).await {
                    Ok(()) => {}
                    Err(e) if e.is_cancelled() => {} // ignored
                    Err(e) => return Err(e),
                }
            }
            exited.set(true);
            Ok(())
        }
    }
}

// test_waitfor.py: AsyncioWaitForTest.test_asyncio_wait_for_cancelled
#[test]
fn test_asyncio_wait_for_cancelled() {
    let lp = EventLoop::new();
    let t = SlowTask::new();
    let body = t.run(lp.handle());
    let waitfortask = lp
        .run_until_complete(async move {
            let waitfortask = create_task(wait_for(body, SlowTask::TASK_TIMEOUT * 2.0))?;
            sleep(0).await?;
            waitfortask.cancel();
            wait(vec![waitfortask.clone()]).await?;
            Ok(waitfortask)
        })
        .unwrap();
    // wait_for waited for the inner (which refused the cancellation) to finish.
    assert!(t.exited.get());
    assert!(waitfortask.cancelled());
    assert_eq!(lp.time(), 0.2);
}

// test_waitfor.py: AsyncioWaitForTest.test_asyncio_wait_for_timeout
#[test]
fn test_asyncio_wait_for_timeout() {
    let lp = EventLoop::new();
    let t = SlowTask::new();
    let body = t.run(lp.handle());
    let r = lp
        .run_until_complete(async move { Ok(wait_for(body, SlowTask::TASK_TIMEOUT / 2.0).await) });
    // The timeout fires at 0.1 and cancels the inner, which ignores it and returns at 0.2:
    // CPython 3.11 returns that result instead of raising TimeoutError (bpo-40607). The
    // CPython test accepts either; CPython 3.11.7 on the virtual loop returns None at 0.2.
    assert_eq!(r.unwrap(), Ok(()));
    assert!(t.exited.get());
    assert_eq!(lp.time(), 0.2);
}

// test_waitfor.py: AsyncioWaitForTest.test_wait_for_timeout_less_then_0_or_0_future_done
#[test]
fn test_wait_for_timeout_less_then_0_or_0_future_done() {
    let lp = EventLoop::new();
    let fut = lp.create_future::<&str>();
    fut.set_result("done").unwrap();
    let f = fut.clone();
    let ret = lp
        .run_until_complete(async move { wait_for(f, 0).await })
        .unwrap();
    assert_eq!(ret, "done");
    assert!(fut.done());
    assert_eq!(lp.time(), 0.0);
}

// test_waitfor.py: AsyncioWaitForTest.test_wait_for_timeout_less_then_0_or_0_coroutine_do_not_started
#[test]
fn test_wait_for_timeout_less_then_0_or_0_coroutine_do_not_started() {
    let lp = EventLoop::new();
    let foo_started = Rc::new(Cell::new(false));
    let started = foo_started.clone();
    let r = lp.run_until_complete(async move {
        let foo = async move {
            started.set(true);
            Ok(())
        };
        let r = wait_for(foo, 0).await;
        sleep(0).await?; // the task made for foo was cancelled before it could start
        Ok(r)
    });
    assert_eq!(r.unwrap(), Err(Error::timeout()));
    assert!(!foo_started.get());
    assert_eq!(lp.time(), 0.0);
}

// test_waitfor.py: AsyncioWaitForTest.test_wait_for_timeout_less_then_0_or_0
#[test]
fn test_wait_for_timeout_less_then_0_or_0() {
    for timeout in [0, -1] {
        let lp = EventLoop::new();
        let foo_running: Rc<Cell<Option<bool>>> = Rc::new(Cell::new(None));
        let running = foo_running.clone();
        let h = lp.handle();
        let fut = lp
            .run_until_complete(async move {
                let started = h.create_future::<()>();
                let s = started.clone();
                let fut = create_task(async move {
                    running.set(Some(true));
                    s.set_result(())?;
                    let r = sleep(10).await;
                    running.set(Some(false)); // finally
                    r?;
                    Ok("done")
                })?;
                started.await?;
                let r = wait_for(fut.clone(), timeout).await;
                assert_eq!(r, Err(Error::timeout()), "timeout {timeout}");
                Ok(fut)
            })
            .unwrap();
        assert!(fut.done());
        // It was cancelled because of the timeout.
        assert!(fut.cancelled());
        assert_eq!(foo_running.get(), Some(false));
        assert_eq!(lp.time(), 0.0);
    }
}

// test_waitfor.py: AsyncioWaitForTest.test_wait_for
#[test]
fn test_wait_for() {
    let lp = EventLoop::new();
    let foo_running: Rc<Cell<Option<bool>>> = Rc::new(Cell::new(None));
    let running = foo_running.clone();
    let (fut, r) = lp
        .run_until_complete(async move {
            let fut = create_task(async move {
                running.set(Some(true));
                let r = sleep(1000).await; // CPython: support.LONG_TIMEOUT
                running.set(Some(false));
                r?;
                Ok("done")
            })?;
            let r = wait_for(fut.clone(), 0.1).await;
            Ok((fut, r))
        })
        .unwrap();
    assert_eq!(r, Err(Error::timeout()));
    assert!(fut.done());
    assert!(fut.cancelled());
    assert_eq!(foo_running.get(), Some(false));
    assert_eq!(lp.time(), 0.1);
}

// test_waitfor.py: AsyncioWaitForTest.test_wait_for_blocking
#[test]
fn test_wait_for_blocking() {
    let lp = EventLoop::new();
    let res = lp.run_until_complete(async { wait_for(async { Ok("done") }, None::<f64>).await });
    assert_eq!(res.unwrap(), "done");
}

// test_waitfor.py: AsyncioWaitForTest.test_wait_for_race_condition
#[test]
fn test_wait_for_race_condition() {
    let lp = EventLoop::new();
    let h = lp.handle();
    let res = lp.run_until_complete(async move {
        let fut = h.create_future::<&str>();
        let task = wait_for(fut.clone(), 0.2);
        h.call_later(0.1, move || fut.set_result("ok").unwrap());
        task.await
    });
    assert_eq!(res.unwrap(), "ok");
    assert_eq!(lp.time(), 0.1);
}

// test_waitfor.py: AsyncioWaitForTest.test_wait_for_cancellation_race_condition
#[test]
fn test_wait_for_cancellation_race_condition() {
    let lp = EventLoop::new();
    let result = lp.run_until_complete(async {
        let inner = async {
            let r = sleep(1).await;
            assert!(matches!(r, Err(ref e) if e.is_cancelled()), "{r:?}");
            Ok(1)
        };
        wait_for(inner, 0.01).await
    });
    // The inner caught the timeout's cancellation and returned: its result wins.
    assert_eq!(result.unwrap(), 1);
    assert_eq!(lp.time(), 0.01);
}

// test_waitfor.py: AsyncioWaitForTest.test_wait_for_waits_for_task_cancellation
#[test]
fn test_wait_for_waits_for_task_cancellation() {
    let lp = EventLoop::new();
    let task_done = Rc::new(Cell::new(false));
    let done = task_done.clone();
    let (r, inner_task) = lp
        .run_until_complete(async move {
            let inner_task = create_task(async move {
                let r = match sleep(10).await {
                    Err(e) if e.is_cancelled() => sleep(EPSILON).await.and(Err(e)),
                    other => other,
                };
                done.set(true); // finally
                r
            })?;
            let r = wait_for(inner_task.clone(), EPSILON).await;
            Ok((r, inner_task))
        })
        .unwrap();
    // The TimeoutError comes only once the inner has finished cancelling. (CPython also checks
    // that its __context__ is the CancelledError; Rust errors have no context.)
    assert_eq!(r, Err(Error::timeout()));
    assert!(task_done.get());
    assert!(inner_task.cancelled());
    assert_eq!(lp.time(), 2.0 * EPSILON);
}

// test_waitfor.py: AsyncioWaitForTest.test_wait_for_waits_for_task_cancellation_w_timeout_0
#[test]
fn test_wait_for_waits_for_task_cancellation_w_timeout_0() {
    let lp = EventLoop::new();
    let task_done = Rc::new(Cell::new(false));
    let done = task_done.clone();
    let r = lp.run_until_complete(async move {
        let foo = async move {
            let inner_task = create_task(async move {
                let r = match sleep(10).await {
                    Err(e) if e.is_cancelled() => sleep(EPSILON).await.and(Err(e)),
                    other => other,
                };
                done.set(true); // finally
                r
            })?;
            sleep(EPSILON).await?;
            wait_for(inner_task, 0).await
        };
        Ok(foo.await)
    });
    assert_eq!(r.unwrap(), Err(Error::timeout()));
    assert!(task_done.get());
    assert_eq!(lp.time(), 2.0 * EPSILON);
}

// test_waitfor.py: AsyncioWaitForTest.test_wait_for_reraises_exception_during_cancellation
#[test]
fn test_wait_for_reraises_exception_during_cancellation() {
    let lp = EventLoop::new();
    let foo_exception = Error::msg("FooException");
    let exc = foo_exception.clone();
    let r = lp.run_until_complete(async move {
        let inner_task = create_task(async move {
            let _ = sleep(0.2).await;
            Err::<(), _>(exc) // raised from `finally`
        })?;
        wait_for(inner_task, EPSILON).await
    });
    assert_eq!(r, Err(foo_exception));
    assert_eq!(lp.time(), EPSILON);
}

// test_waitfor.py: AsyncioWaitForTest.test_wait_for_self_cancellation
#[test]
fn test_wait_for_self_cancellation() {
    let lp = EventLoop::new();
    let h = lp.handle();
    let r = lp.run_until_complete(async move {
        let inner_task = create_task(async move {
            if sleep(0.3).await.is_err() && sleep(0.3).await.is_err() {
                sleep(0.3).await?;
            }
            Ok(42)
        })?;
        // wait_for itself is cancellable even while the inner holds up the timeout's
        // cancellation.
        let task = create_task(wait_for(inner_task.clone(), 0.1))?;
        sleep(0.2).await?;
        task.cancel();
        let r = (&task).await;
        assert!(matches!(r, Err(ref e) if e.is_cancelled()), "{r:?}");
        assert_eq!(h.time(), 0.2);
        assert!(!inner_task.done());
        inner_task.await
    });
    assert_eq!(r.unwrap(), 42);
    // The inner saw one cancellation (the timeout's, at 0.1) and slept until 0.4.
    assert_eq!(lp.time(), 0.4);
}

/// CPython's `_test_cancel_wait_for`.
fn cancel_wait_for(timeout: Option<f64>) {
    let lp = EventLoop::new();
    let h = lp.handle();
    let task = lp
        .run_until_complete(async move {
            let fut = h.create_future::<()>();
            // Blocks: fut's result is never set.
            let task = create_task(async move { fut.await })?;
            let w = create_task(wait_for(task.clone(), timeout))?;
            let wc = w.clone();
            h.call_soon(move || {
                wc.cancel();
            });
            let r = w.await;
            assert!(matches!(r, Err(ref e) if e.is_cancelled()), "{r:?}");
            Ok(task)
        })
        .unwrap();
    // Python issue #23219: cancelling the wait must also cancel the task.
    assert!(task.cancelled());
    assert_eq!(lp.time(), 0.0);
}

// test_waitfor.py: AsyncioWaitForTest.test_cancel_blocking_wait_for
#[test]
fn test_cancel_blocking_wait_for() {
    cancel_wait_for(None);
}

// test_waitfor.py: AsyncioWaitForTest.test_cancel_wait_for
#[test]
fn test_cancel_wait_for() {
    cancel_wait_for(Some(60.0));
}

/// CPython 3.11 raises wait_for's `TimeoutError` `from` the inner awaitable's `CancelledError`
/// (checked: `type(e.__cause__).__name__` is `CancelledError` with no args, for a timeout of 1
/// and of 0), and `as_completed`'s without a cause (`__cause__` is `None`): nothing was
/// cancelled.
#[test]
fn test_wait_for_timeout_error_is_raised_from_the_cancelled_error() {
    use tulipsim::as_completed;
    let lp = EventLoop::new();
    for delay in [1.0, 0.0] {
        let e = lp
            .run_until_complete(wait_for(sleep(10), delay))
            .unwrap_err();
        let Error::Timeout(t) = &e else {
            panic!("{e:?}")
        };
        assert_eq!(t.cause().map(|c| c.message()), Some(None), "delay {delay}");
        assert_eq!(e.source().unwrap().to_string(), "CancelledError");
        let sent = e.to_send();
        let source = std::error::Error::source(&sent).expect("the chain survives to_send");
        assert_eq!(source.to_string(), "CancelledError");
    }
    let e = lp
        .run_until_complete(async {
            let mut it = as_completed(vec![create_task(sleep(10))?])
                .timeout(1)
                .into_iter();
            it.next().unwrap().await
        })
        .unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
    assert!(e.source().is_none());
}
