//! CPython 3.11's `Lib/test/test_asyncio/test_timeouts.py`, ported to tulipsim.
//!
//! `async with asyncio.timeout(d) as cm: body` is `cm.run(async { body })` here, with `cm`
//! cloned into the body where the body uses it. CPython runs these tests on a real clock; here
//! they run on the virtual clock and also assert the virtual time. The expected times, and the
//! `cancelling()` counts, were checked by running the same programs on `sim/python/vloop.py`
//! (CPython 3.11.7).

use crate::common;

use common::await_without_task;

use tulipsim::{create_task, current_task, sleep, timeout, timeout_at, Error, EventLoop};

/// The text of an `Error::Runtime` (CPython's `RuntimeError` message, which tulipsim copies),
/// or a panic naming what came instead.
fn runtime_message(e: &Error) -> &str {
    match e {
        Error::Runtime(m) => m,
        other => panic!("expected RuntimeError, got {other:?}"),
    }
}

fn is_cancelled<T: std::fmt::Debug>(r: &Result<T, Error>) -> bool {
    matches!(r, Err(e) if e.is_cancelled())
}

// test_timeouts.py: TimeoutTests.test_timeout_basic
#[test]
fn test_timeout_basic() {
    let lp = EventLoop::new();
    let cm = lp
        .run_until_complete(async {
            let cm = timeout(0.01);
            assert_eq!(cm.run(sleep(10)).await, Err(Error::timeout()));
            Ok(cm)
        })
        .unwrap();
    assert!(cm.expired());
    assert_eq!(lp.time(), 0.01);
}

// test_timeouts.py: TimeoutTests.test_timeout_at_basic
#[test]
fn test_timeout_at_basic() {
    let lp = EventLoop::new();
    let h = lp.handle();
    let (cm, deadline) = lp
        .run_until_complete(async move {
            let deadline = h.time() + 0.01;
            let cm = timeout_at(deadline);
            assert_eq!(cm.run(sleep(10)).await, Err(Error::timeout()));
            Ok((cm, deadline))
        })
        .unwrap();
    assert!(cm.expired());
    assert_eq!(cm.when(), Some(deadline));
    assert_eq!(lp.time(), 0.01);
}

// test_timeouts.py: TimeoutTests.test_nested_timeouts
#[test]
fn test_nested_timeouts() {
    let lp = EventLoop::new();
    let h = lp.handle();
    let (cm1, cm2, cancelled) = lp
        .run_until_complete(async move {
            let deadline = h.time() + 0.01;
            let cm1 = timeout_at(deadline);
            let cm2 = timeout_at(deadline);
            let mut cancelled = false;
            let r = cm1
                .run(async {
                    // Only the topmost scope raises TimeoutError.
                    let r = cm2.run(sleep(10)).await;
                    if is_cancelled(&r) {
                        cancelled = true;
                    }
                    r
                })
                .await;
            assert_eq!(r, Err(Error::timeout()));
            Ok((cm1, cm2, cancelled))
        })
        .unwrap();
    assert!(cancelled);
    assert!(cm1.expired());
    assert!(cm2.expired());
    assert_eq!(lp.time(), 0.01);
}

// test_timeouts.py: TimeoutTests.test_waiter_cancelled
#[test]
fn test_waiter_cancelled() {
    let lp = EventLoop::new();
    let cancelled = lp
        .run_until_complete(async {
            let mut cancelled = false;
            let r = timeout(0.01)
                .run(async {
                    let r = sleep(10).await;
                    if is_cancelled(&r) {
                        cancelled = true;
                    }
                    r
                })
                .await;
            assert_eq!(r, Err(Error::timeout()));
            Ok(cancelled)
        })
        .unwrap();
    assert!(cancelled);
}

// test_timeouts.py: TimeoutTests.test_timeout_not_called
#[test]
fn test_timeout_not_called() {
    let lp = EventLoop::new();
    let cm = lp
        .run_until_complete(async {
            let cm = timeout(10);
            cm.run(sleep(0.01)).await?;
            Ok(cm)
        })
        .unwrap();
    let t1 = lp.time();
    assert_eq!(t1, 0.01);
    assert!(!cm.expired());
    assert!(cm.when().unwrap() > t1);
    assert_eq!(cm.when(), Some(10.0));
}

// test_timeouts.py: TimeoutTests.test_timeout_disabled
#[test]
fn test_timeout_disabled() {
    let lp = EventLoop::new();
    let cm = lp
        .run_until_complete(async {
            let cm = timeout(None::<f64>);
            cm.run(sleep(0.01)).await?;
            Ok(cm)
        })
        .unwrap();
    assert!(!cm.expired());
    assert_eq!(cm.when(), None);
}

// test_timeouts.py: TimeoutTests.test_timeout_at_disabled
#[test]
fn test_timeout_at_disabled() {
    let lp = EventLoop::new();
    let cm = lp
        .run_until_complete(async {
            let cm = timeout_at(None::<f64>);
            cm.run(sleep(0.01)).await?;
            Ok(cm)
        })
        .unwrap();
    assert!(!cm.expired());
    assert_eq!(cm.when(), None);
}

// test_timeouts.py: TimeoutTests.test_timeout_zero
#[test]
fn test_timeout_zero() {
    let lp = EventLoop::new();
    let t0 = lp.time();
    let cm = lp
        .run_until_complete(async {
            let cm = timeout(0);
            assert_eq!(cm.run(sleep(10)).await, Err(Error::timeout()));
            Ok(cm)
        })
        .unwrap();
    let t1 = lp.time();
    assert!(cm.expired());
    let when = cm.when().unwrap();
    assert!(t0 <= when && when <= t1);
    assert_eq!((when, t1), (0.0, 0.0));
}

// test_timeouts.py: TimeoutTests.test_timeout_zero_sleep_zero
#[test]
fn test_timeout_zero_sleep_zero() {
    let lp = EventLoop::new();
    let t0 = lp.time();
    let cm = lp
        .run_until_complete(async {
            let cm = timeout(0);
            assert_eq!(cm.run(sleep(0)).await, Err(Error::timeout()));
            Ok(cm)
        })
        .unwrap();
    let t1 = lp.time();
    assert!(cm.expired());
    let when = cm.when().unwrap();
    assert!(t0 <= when && when <= t1);
    assert_eq!((when, t1), (0.0, 0.0));
}

// test_timeouts.py: TimeoutTests.test_timeout_in_the_past_sleep_zero
#[test]
fn test_timeout_in_the_past_sleep_zero() {
    let lp = EventLoop::new();
    let t0 = lp.time();
    let cm = lp
        .run_until_complete(async {
            let cm = timeout(-11);
            assert_eq!(cm.run(sleep(0)).await, Err(Error::timeout()));
            Ok(cm)
        })
        .unwrap();
    let t1 = lp.time();
    assert!(cm.expired());
    let when = cm.when().unwrap();
    assert!(t0 >= when && when <= t1);
    assert_eq!((when, t1), (-11.0, 0.0));
}

// test_timeouts.py: TimeoutTests.test_foreign_exception_passed
#[test]
fn test_foreign_exception_passed() {
    let lp = EventLoop::new();
    let key_error = Error::msg("KeyError");
    let k = key_error.clone();
    let (r, cm) = lp
        .run_until_complete(async move {
            let cm = timeout(0.01);
            let r = cm.run(async move { Err::<(), _>(k) }).await;
            Ok((r, cm))
        })
        .unwrap();
    assert_eq!(r, Err(key_error));
    assert!(!cm.expired());
    assert_eq!(lp.time(), 0.0);
}

// test_timeouts.py: TimeoutTests.test_foreign_exception_on_timeout
#[test]
fn test_foreign_exception_on_timeout() {
    let lp = EventLoop::new();
    let zero_division = Error::msg("ZeroDivisionError");
    let z = zero_division.clone();
    let r = lp.run_until_complete(async move {
        let crash = async move {
            let _ = sleep(1).await;
            Err::<(), _>(z) // raised from `finally`
        };
        timeout(0.01).run(crash).await
    });
    // The error raised while handling the timeout's cancellation passes through unchanged.
    assert_eq!(r, Err(zero_division));
    assert_eq!(lp.time(), 0.01);
}

// test_timeouts.py: TimeoutTests.test_foreign_cancel_doesnt_timeout_if_not_expired
#[test]
fn test_foreign_cancel_doesnt_timeout_if_not_expired() {
    let lp = EventLoop::new();
    let (r, cm, cancelling) = lp
        .run_until_complete(async {
            let cm = timeout(10);
            let r = cm
                .run(async {
                    current_task().unwrap().cancel();
                    sleep(10).await
                })
                .await;
            Ok((r, cm, current_task().unwrap().cancelling()))
        })
        .unwrap();
    assert!(is_cancelled(&r), "{r:?}");
    assert!(!cm.expired());
    assert_eq!(cancelling, 1);
    assert_eq!(lp.time(), 0.0);
}

// test_timeouts.py: TimeoutTests.test_outer_task_is_not_cancelled
#[test]
fn test_outer_task_is_not_cancelled() {
    let lp = EventLoop::new();
    let task = lp
        .run_until_complete(async {
            let task = create_task(async {
                assert_eq!(timeout(0.001).run(sleep(10)).await, Err(Error::timeout()));
                Ok(())
            })?;
            (&task).await?;
            Ok(task)
        })
        .unwrap();
    assert!(!task.cancelled());
    assert!(task.done());
    assert_eq!(task.cancelling(), 0);
    assert_eq!(lp.time(), 0.001);
}

// test_timeouts.py: TimeoutTests.test_nested_timeouts_concurrent
//
// CPython blocks the loop with `time.sleep(0.01)` inside the inner scope so that the outer
// deadline (0.002) passes before the first await; blocking takes no virtual time, so here the
// outer deadline passes during the `sleep(1)`. Same outcome, checked on CPython 3.11.7's virtual
// loop: the inner scope (deadline 0.1, not expired) lets the CancelledError through and the
// outer one raises TimeoutError, at 0.002.
#[test]
fn test_nested_timeouts_concurrent() {
    let lp = EventLoop::new();
    let inner = lp
        .run_until_complete(async {
            let mut inner = None;
            let r = timeout(0.002)
                .run(async {
                    let r = timeout(0.1).run(sleep(1)).await;
                    inner = Some(r.clone());
                    r
                })
                .await;
            assert_eq!(r, Err(Error::timeout()));
            Ok(inner)
        })
        .unwrap();
    assert!(is_cancelled(&inner.unwrap()));
    assert_eq!(lp.time(), 0.002);
}

// test_timeouts.py: TimeoutTests.test_nested_timeouts_loop_busy
//
// CPython's `time.sleep(0.1)` keeps the loop busy past both deadlines; blocking takes no
// virtual time here, so each deadline fires at its own time: the inner scope raises
// TimeoutError at 0.01, and the outer one interrupts the following `sleep(10)` at 0.1
// (CPython's assertion `t0 <= t1 <= t0 + 1` holds either way).
#[test]
fn test_nested_timeouts_loop_busy() {
    let lp = EventLoop::new();
    let h = lp.handle();
    let t0 = lp.time();
    lp.run_until_complete(async move {
        let r = timeout(0.1) // (1)
            .run(async {
                let r = timeout(0.01).run(sleep(1)).await; // (2)
                assert_eq!(r, Err(Error::timeout()));
                assert_eq!(h.time(), 0.01);
                // TimeoutError was caught by (2); this sleep is interrupted by (1).
                sleep(10).await
            })
            .await;
        assert_eq!(r, Err(Error::timeout()));
        Ok(())
    })
    .unwrap();
    let t1 = lp.time();
    assert!(t0 <= t1 && t1 <= t0 + 1.0);
    assert_eq!(t1, 0.1);
}

// test_timeouts.py: TimeoutTests.test_reschedule
#[test]
fn test_reschedule() {
    let lp = EventLoop::new();
    let h = lp.handle();
    let cm = lp
        .run_until_complete(async move {
            let fut = h.create_future();
            let deadline1 = h.time() + 10.0;
            let deadline2 = deadline1 + 20.0;
            let f = fut.clone();
            let task = create_task(async move {
                let cm = timeout_at(deadline1);
                let c = cm.clone();
                cm.run(async move {
                    f.set_result(c)?;
                    sleep(50).await
                })
                .await
            })?;
            let cm: tulipsim::Timeout = fut.await?;
            assert_eq!(cm.when(), Some(deadline1));
            cm.reschedule(deadline2)?;
            assert_eq!(cm.when(), Some(deadline2));
            cm.reschedule(None::<f64>)?;
            assert_eq!(cm.when(), None);
            task.cancel();
            let r = task.await;
            assert!(is_cancelled(&r), "{r:?}");
            Ok(cm)
        })
        .unwrap();
    assert!(!cm.expired());
    assert_eq!(lp.time(), 0.0);
}

/// Python's regex `<Timeout \[active\] when=\d+\.\d*>`, and the number it shows.
fn active_when(repr: &str) -> f64 {
    let when = repr
        .strip_prefix("<Timeout [active] when=")
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or_else(|| panic!("not an active Timeout's repr: {repr}"));
    let (whole, frac) = when.split_once('.').expect("a decimal point");
    assert!(
        !whole.is_empty() && whole.chars().all(|c| c.is_ascii_digit()),
        "{repr}"
    );
    assert!(frac.chars().all(|c| c.is_ascii_digit()), "{repr}");
    when.parse().unwrap()
}

// test_timeouts.py: TimeoutTests.test_repr_active (the repr is tulipsim's Debug)
#[test]
fn test_repr_active() {
    let lp = EventLoop::new();
    let repr = lp
        .run_until_complete(async {
            let cm = timeout(10);
            let c = cm.clone();
            cm.run(async move { Ok(format!("{c:?}")) }).await
        })
        .unwrap();
    assert_eq!(active_when(&repr), 10.0);
}

// test_timeouts.py: TimeoutTests.test_repr_expired (the repr is tulipsim's Debug)
#[test]
fn test_repr_expired() {
    let lp = EventLoop::new();
    let cm = lp
        .run_until_complete(async {
            let cm = timeout(0.01);
            assert_eq!(cm.run(sleep(10)).await, Err(Error::timeout()));
            Ok(cm)
        })
        .unwrap();
    assert_eq!(format!("{cm:?}"), "<Timeout [expired]>");
}

// test_timeouts.py: TimeoutTests.test_repr_finished (the repr is tulipsim's Debug)
#[test]
fn test_repr_finished() {
    let lp = EventLoop::new();
    let cm = lp
        .run_until_complete(async {
            let cm = timeout(10);
            cm.run(sleep(0)).await?;
            Ok(cm)
        })
        .unwrap();
    assert_eq!(format!("{cm:?}"), "<Timeout [finished]>");
}

// test_timeouts.py: TimeoutTests.test_repr_disabled (the repr is tulipsim's Debug)
#[test]
fn test_repr_disabled() {
    let lp = EventLoop::new();
    let repr = lp
        .run_until_complete(async {
            let cm = timeout(None::<f64>);
            let c = cm.clone();
            cm.run(async move { Ok(format!("{c:?}")) }).await
        })
        .unwrap();
    assert_eq!(repr, "<Timeout [active] when=None>");
}

// test_timeouts.py: TimeoutTests.test_nested_timeout_in_finally
#[test]
fn test_nested_timeout_in_finally() {
    let lp = EventLoop::new();
    let h = lp.handle();
    let r = lp.run_until_complete(async move {
        timeout(0.01)
            .run(async {
                let r = sleep(1).await;
                // finally:
                let inner = timeout(0.01).run(sleep(10)).await;
                assert_eq!(inner, Err(Error::timeout()));
                assert_eq!(h.time(), 0.02);
                r
            })
            .await
    });
    assert_eq!(r, Err(Error::timeout()));
    assert_eq!(lp.time(), 0.02);
}

// test_timeouts.py: TimeoutTests.test_timeout_after_cancellation
#[test]
fn test_timeout_after_cancellation() {
    let lp = EventLoop::new();
    let (cleanup, cancelling) = lp
        .run_until_complete(async {
            current_task().unwrap().cancel();
            let r = sleep(1).await; // work which will be cancelled
            assert!(is_cancelled(&r), "{r:?}");
            // finally:
            let cleanup = timeout(0.0).run(sleep(1)).await; // some cleanup
            Ok((cleanup, current_task().unwrap().cancelling()))
        })
        .unwrap();
    assert_eq!(cleanup, Err(Error::timeout()));
    assert_eq!(cancelling, 1);
    assert_eq!(lp.time(), 0.0);
}

// test_timeouts.py: TimeoutTests.test_cancel_in_timeout_after_cancellation
#[test]
fn test_cancel_in_timeout_after_cancellation() {
    let lp = EventLoop::new();
    let (cleanup, cancelling) = lp
        .run_until_complete(async {
            current_task().unwrap().cancel();
            let r = sleep(1).await; // work which will be cancelled
            assert!(is_cancelled(&r), "{r:?}");
            // finally:
            let cleanup = timeout(1.0)
                .run(async {
                    current_task().unwrap().cancel();
                    sleep(2).await // some cleanup
                })
                .await;
            Ok((cleanup, current_task().unwrap().cancelling()))
        })
        .unwrap();
    assert!(is_cancelled(&cleanup), "{cleanup:?}");
    assert_eq!(cancelling, 2);
    assert_eq!(lp.time(), 0.0);
}

// test_timeouts.py: TimeoutTests.test_timeout_already_entered
#[test]
fn test_timeout_already_entered() {
    let lp = EventLoop::new();
    let again = lp
        .run_until_complete(async {
            let cm = timeout(0.01);
            let c = cm.clone();
            cm.run(async move { Ok(c.run(async { Ok(()) }).await) })
                .await
        })
        .unwrap();
    let e = again.unwrap_err();
    assert_eq!(runtime_message(&e), "Timeout has already been entered");
}

// test_timeouts.py: TimeoutTests.test_timeout_double_enter
#[test]
fn test_timeout_double_enter() {
    let lp = EventLoop::new();
    let again = lp
        .run_until_complete(async {
            let cm = timeout(0.01);
            cm.run(async { Ok(()) }).await?;
            Ok(cm.run(async { Ok(()) }).await)
        })
        .unwrap();
    let e = again.unwrap_err();
    assert_eq!(runtime_message(&e), "Timeout has already been entered");
}

// test_timeouts.py: TimeoutTests.test_timeout_finished
#[test]
fn test_timeout_finished() {
    let lp = EventLoop::new();
    let r = lp
        .run_until_complete(async {
            let cm = timeout(0.01);
            cm.run(async { Ok(()) }).await?;
            Ok(cm.reschedule(0.02))
        })
        .unwrap();
    let e = r.unwrap_err();
    assert_eq!(
        runtime_message(&e),
        "Cannot change state of finished Timeout"
    );
}

// test_timeouts.py: TimeoutTests.test_timeout_expired
#[test]
fn test_timeout_expired() {
    let lp = EventLoop::new();
    let r = lp
        .run_until_complete(async {
            let cm = timeout(0.01);
            assert_eq!(cm.run(sleep(1)).await, Err(Error::timeout()));
            Ok(cm.reschedule(0.02))
        })
        .unwrap();
    let e = r.unwrap_err();
    assert_eq!(
        runtime_message(&e),
        "Cannot change state of expired Timeout"
    );
}

// test_timeouts.py: TimeoutTests.test_timeout_expiring
#[test]
fn test_timeout_expiring() {
    let lp = EventLoop::new();
    let (rescheduled, cm) = lp
        .run_until_complete(async {
            let cm = timeout(0.01);
            let c = cm.clone();
            let rescheduled = cm
                .run(async move {
                    let r = sleep(1).await;
                    assert!(is_cancelled(&r), "{r:?}");
                    Ok(c.reschedule(0.02))
                })
                .await?;
            Ok((rescheduled, cm))
        })
        .unwrap();
    let e = rescheduled.unwrap_err();
    assert_eq!(
        runtime_message(&e),
        "Cannot change state of expiring Timeout"
    );
    // The body caught the CancelledError, so the scope ends without an error, expired.
    assert!(cm.expired());
    assert_eq!(lp.time(), 0.01);
}

// test_timeouts.py: TimeoutTests.test_timeout_not_entered
#[test]
fn test_timeout_not_entered() {
    let lp = EventLoop::new();
    let r = lp
        .run_until_complete(async { Ok(timeout(0.01).reschedule(0.02)) })
        .unwrap();
    let e = r.unwrap_err();
    assert_eq!(runtime_message(&e), "Timeout has not been entered");
}

// test_timeouts.py: TimeoutTests.test_timeout_without_task
#[test]
fn test_timeout_without_task() {
    let lp = EventLoop::new();
    let (entered, rescheduled) = lp
        .run_until_complete(async {
            let cm = timeout(0.01);
            let c = cm.clone();
            let entered = await_without_task(async move { c.run(async { Ok(()) }).await }).await;
            Ok((entered, cm.reschedule(0.02)))
        })
        .unwrap();
    let e = entered.unwrap_err();
    assert_eq!(runtime_message(&e), "Timeout should be used inside a task");
    let e = rescheduled.unwrap_err();
    assert_eq!(runtime_message(&e), "Timeout has not been entered");
}

/// CPython 3.11's `timeout()` raises its `TimeoutError` `from` the `CancelledError` it turned
/// into a timeout (checked: `type(e.__cause__).__name__` is `CancelledError`, no args).
#[test]
fn test_timeout_error_is_raised_from_the_cancelled_error() {
    let lp = EventLoop::new();
    let e = lp
        .run_until_complete(async { timeout(1).run(sleep(10)).await })
        .unwrap_err();
    let Error::Timeout(t) = &e else {
        panic!("{e:?}")
    };
    assert!(t.cause().is_some_and(|c| c.message().is_none()));
    assert_eq!(e.source().unwrap().to_string(), "CancelledError");
}
