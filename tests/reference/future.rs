//! One test per observable sentence of the reference text's "Future" section and of what it
//! says a coroutine can do with a future (`../shared/reference/asyncio-tasks-2014.rst`). Each
//! test quotes its sentence.

use crate::common;

use std::cell::Cell;
use std::rc::Rc;

use common::Log;
use tulipsim::{create_task, sleep, DoneCallback, Error, EventLoop, Future};

// "Callbacks registered with add_done_callback() are always called via the event loop's
// call_soon_threadsafe()."
#[test]
fn callbacks_are_called_via_the_event_loop_never_inline() {
    let lp = EventLoop::new();
    let calls = Rc::new(Cell::new(0));
    let f = lp.create_future::<()>();
    let c = calls.clone();
    f.add_done_callback(move |_: &Future<()>| c.set(c.get() + 1));
    f.set_result(()).unwrap();
    assert_eq!(
        calls.get(),
        0,
        "set_result must not call the callback itself"
    );
    lp.run_until_complete(sleep(0)).unwrap();
    assert_eq!(calls.get(), 1);
}

// "result() and exception() do not take a timeout argument and raise an exception when the
// future isn't done yet."
#[test]
fn result_and_exception_raise_when_the_future_is_not_done() {
    let lp = EventLoop::new();
    let f = lp.create_future::<i32>();
    assert!(matches!(f.result(), Err(Error::InvalidState(_))));
    assert!(matches!(f.exception(), Err(Error::InvalidState(_))));
}

// cancel(): "Otherwise, change the future's state to cancelled, schedule the callbacks and
// return True."
#[test]
fn cancel_changes_state_schedules_callbacks_and_returns_true() {
    let lp = EventLoop::new();
    let f = lp.create_future::<i32>();
    let log = Log::new();
    let l = log.clone();
    f.add_done_callback(move |f: &Future<i32>| l.push(format!("cb cancelled={}", f.cancelled())));
    assert!(f.cancel());
    assert!(f.cancelled());
    assert!(log.lines().is_empty(), "scheduled, not called");
    lp.run_until_complete(sleep(0)).unwrap();
    assert_eq!(log.lines(), ["cb cancelled=true"]);
}

// cancel(): "If the future is already done or cancelled, return False."
#[test]
fn cancel_returns_false_if_already_done_or_cancelled() {
    let lp = EventLoop::new();
    let done = lp.create_future::<i32>();
    done.set_result(1).unwrap();
    assert!(!done.cancel());
    assert_eq!(
        done.result(),
        Ok(1),
        "cancel on a done future changes nothing"
    );
    let cancelled = lp.create_future::<i32>();
    assert!(cancelled.cancel());
    assert!(!cancelled.cancel());
    let failed = lp.create_future::<i32>();
    failed.set_exception(Error::msg("x")).unwrap();
    assert!(!failed.cancel());
    assert!(!failed.cancelled());
}

// cancelled(): "Return True if the future was cancelled."
#[test]
fn cancelled_is_true_only_for_a_cancelled_future() {
    let lp = EventLoop::new();
    let f = lp.create_future::<()>();
    assert!(!f.cancelled());
    f.set_result(()).unwrap();
    assert!(!f.cancelled());
    let g = lp.create_future::<()>();
    g.cancel();
    assert!(g.cancelled());
}

// done(): "Done means either that a result / exception are available, or that the future was
// cancelled."
#[test]
fn done_means_result_or_exception_available_or_cancelled() {
    let lp = EventLoop::new();
    let [a, b, c, d] = [(); 4].map(|_| lp.create_future::<i32>());
    a.set_result(1).unwrap();
    b.set_exception(Error::msg("e")).unwrap();
    c.cancel();
    assert!(a.done() && b.done() && c.done());
    assert!(!d.done());
    let _ = b.exception(); // retrieved: no report
}

// result(): "If the future has been cancelled, raises CancelledError."
#[test]
fn result_of_a_cancelled_future_raises_cancelled_error() {
    let lp = EventLoop::new();
    let f = lp.create_future::<i32>();
    f.cancel_with("why");
    let e = f.result().unwrap_err();
    assert_eq!(e, Error::cancelled_with("why"));
}

// result(): "If the future's result isn't yet available, raises InvalidStateError."
#[test]
fn result_of_a_pending_future_raises_invalid_state_error() {
    let lp = EventLoop::new();
    let f = lp.create_future::<i32>();
    assert_eq!(
        f.result().unwrap_err().to_string(),
        "InvalidStateError: Result is not ready."
    );
}

// result(): "If the future is done and has an exception set, this exception is raised."
#[test]
fn result_raises_the_exception_that_was_set() {
    let lp = EventLoop::new();
    let f = lp.create_future::<i32>();
    let e = Error::msg("boom");
    f.set_exception(e.clone()).unwrap();
    assert_eq!(f.result().unwrap_err(), e, "the same exception object");
}

// exception(): "The exception (or None if no exception was set) is returned only if the future
// is done."
#[test]
fn exception_is_none_for_a_result_and_the_exception_otherwise() {
    let lp = EventLoop::new();
    let ok = lp.create_future::<i32>();
    ok.set_result(1).unwrap();
    assert_eq!(ok.exception(), Ok(None));
    let bad = lp.create_future::<i32>();
    bad.set_exception(Error::timeout()).unwrap();
    assert_eq!(bad.exception(), Ok(Some(Error::timeout())));
}

// exception(): "If the future has been cancelled, raises CancelledError. If the future isn't
// done yet, raises InvalidStateError."
#[test]
fn exception_raises_cancelled_error_or_invalid_state_error() {
    let lp = EventLoop::new();
    let f = lp.create_future::<i32>();
    assert!(matches!(f.exception(), Err(Error::InvalidState(_))));
    f.cancel();
    assert!(matches!(f.exception(), Err(Error::Cancelled(_))));
}

// add_done_callback(fn): "The callback is called with a single argument - the future object."
#[test]
fn done_callback_receives_the_future_itself() {
    let lp = EventLoop::new();
    let f = lp.create_future::<&str>();
    let seen = Rc::new(Cell::new(false));
    let (s, f2) = (seen.clone(), f.clone());
    f.add_done_callback(move |got: &Future<&'static str>| {
        assert!(got.same(&f2));
        assert_eq!(got.result(), Ok("v"));
        s.set(true);
    });
    f.set_result("v").unwrap();
    lp.run_until_complete(sleep(0)).unwrap();
    assert!(seen.get());
}

// add_done_callback(fn): "If the future is already done when this is called, the callback is
// scheduled with call_soon()."
#[test]
fn callback_added_to_a_done_future_is_scheduled_with_call_soon() {
    let lp = EventLoop::new();
    let log = Log::new();
    let f = lp.create_future::<()>();
    f.set_result(()).unwrap();
    let l = log.clone();
    lp.call_soon(move || l.push("queued before"));
    let l = log.clone();
    f.add_done_callback(move |_: &Future<()>| l.push("callback"));
    assert!(log.lines().is_empty(), "not called inline");
    let l = log.clone();
    lp.call_soon(move || l.push("queued after"));
    lp.run_until_complete(sleep(0)).unwrap();
    assert_eq!(log.lines(), ["queued before", "callback", "queued after"]);
}

// remove_done_callback(fn): "Remove all instances of a callback from the "call when done" list.
// Returns the number of callbacks removed."
#[test]
fn remove_done_callback_removes_every_instance_and_counts_them() {
    let lp = EventLoop::new();
    let log = Log::new();
    let f = lp.create_future::<()>();
    let l = log.clone();
    let removed = DoneCallback::new(move |_: &Future<()>| l.push("removed one ran"));
    let l = log.clone();
    f.add_done_callback(removed.clone());
    f.add_done_callback(move |_: &Future<()>| l.push("kept"));
    f.add_done_callback(removed.clone());
    assert_eq!(f.remove_done_callback(&removed), 2);
    assert_eq!(f.remove_done_callback(&removed), 0);
    f.set_result(()).unwrap();
    lp.run_until_complete(sleep(0)).unwrap();
    assert_eq!(log.lines(), ["kept"]);
}

// set_result(result): "Mark the future done and set its result. If the future is already done
// when this method is called, raises InvalidStateError."
#[test]
fn set_result_marks_done_and_a_second_call_raises_invalid_state_error() {
    let lp = EventLoop::new();
    let f = lp.create_future::<i32>();
    f.set_result(1).unwrap();
    assert!(f.done());
    assert_eq!(f.result(), Ok(1));
    assert!(matches!(f.set_result(2), Err(Error::InvalidState(_))));
    assert_eq!(f.result(), Ok(1), "the first result stands");
    let c = lp.create_future::<i32>();
    c.cancel();
    assert!(matches!(c.set_result(2), Err(Error::InvalidState(_))));
}

// set_exception(exception): "Mark the future done and set an exception. If the future is already
// done when this method is called, raises InvalidStateError."
#[test]
fn set_exception_marks_done_and_on_a_done_future_raises_invalid_state_error() {
    let lp = EventLoop::new();
    let f = lp.create_future::<i32>();
    f.set_exception(Error::msg("e")).unwrap();
    assert!(f.done() && !f.cancelled());
    assert!(matches!(
        f.set_exception(Error::msg("again")),
        Err(Error::InvalidState(_))
    ));
    assert_eq!(f.exception().unwrap().unwrap().to_string(), "e");
}

// Example "Future with run_until_complete()": "The coroutine function is responsible for the
// computation (which takes 1 second) and it stores the result into the future. The
// run_until_complete() method waits for the completion of the future."
#[test]
fn example_future_with_run_until_complete() {
    let lp = EventLoop::new();
    let future = lp.create_future::<String>();
    let f = future.clone();
    lp.create_task(async move {
        sleep(1).await?;
        f.set_result("Future is done!".to_string())
    });
    lp.run_until_complete(future.clone()).unwrap();
    assert_eq!(future.result().unwrap(), "Future is done!");
    assert_eq!(lp.time(), 1.0, "the computation takes 1 second");
}

// Example "Future with run_forever()": "the future is responsible to display the result and to
// stop the loop." ... "it is possible to add a "done callback" to the future after creating the
// task scheduling the coroutine object."
#[test]
fn example_future_with_run_forever() {
    let lp = EventLoop::new();
    let log = Log::new();
    let future = lp.create_future::<String>();
    let (f, l) = (future.clone(), log.clone());
    lp.create_task(async move {
        l.push("slow_operation runs");
        sleep(1).await?;
        f.set_result("Future is done!".to_string())
    });
    assert!(
        log.lines().is_empty(),
        "the coroutine only runs once the loop runs"
    );
    let (l, h) = (log.clone(), lp.handle());
    future.add_done_callback(move |f: &Future<String>| {
        l.push(f.result().unwrap());
        h.stop();
    });
    lp.run_forever().unwrap();
    assert_eq!(log.lines(), ["slow_operation runs", "Future is done!"]);
    assert_eq!(lp.time(), 1.0);
}

// "result = yield from future -- suspends the coroutine until the future is done, then returns
// the future's result, or raises an exception, which will be propagated. (If the future is
// cancelled, it will raise a CancelledError exception.)"
#[test]
fn awaiting_a_future_suspends_until_done_and_returns_result_or_raises() {
    let lp = EventLoop::new();
    let [ok, bad, gone] = [(); 3].map(|_| lp.create_future::<i32>());
    let (o, b, g) = (ok.clone(), bad.clone(), gone.clone());
    lp.call_later(1, move || o.set_result(7).unwrap());
    lp.call_later(2, move || b.set_exception(Error::msg("failed")).unwrap());
    lp.call_later(3, move || {
        g.cancel();
    });
    let h = lp.handle();
    let got = lp
        .run_until_complete(async move {
            let r1 = ok.await;
            let t1 = h.time();
            let r2 = bad.await;
            let r3 = gone.await;
            Ok((
                r1,
                t1,
                r2.map_err(|e| e.to_string()),
                r3.map_err(|e| e.is_cancelled()),
                h.time(),
            ))
        })
        .unwrap();
    assert_eq!(got, (Ok(7), 1.0, Err("failed".to_string()), Err(true), 3.0));
}

// "result = yield from coroutine -- wait for another coroutine to produce a result (or raise an
// exception, which will be propagated)."
#[test]
fn awaiting_a_coroutine_waits_for_its_result_or_propagates_its_exception() {
    async fn compute(x: i32, y: i32) -> Result<i32, Error> {
        sleep(1).await?;
        if y < 0 {
            return Err(Error::msg("negative"));
        }
        Ok(x + y)
    }
    let lp = EventLoop::new();
    assert_eq!(lp.run_until_complete(compute(1, 2)), Ok(3));
    let e = lp
        .run_until_complete(async { compute(1, -1).await.map(|_| ()) })
        .unwrap_err();
    assert_eq!(e.to_string(), "negative");
}

// "Calling a coroutine does not start its code running" ... "Coroutines (and tasks) can only run
// when the event loop is running."
#[test]
fn a_coroutine_or_task_runs_only_when_the_loop_runs() {
    let lp = EventLoop::new();
    let log = Log::new();
    let l = log.clone();
    let coro = async move {
        l.push("ran");
        Ok(())
    };
    let t = lp.create_task(coro);
    assert!(log.lines().is_empty() && !t.done());
    lp.run_until_complete(t).unwrap();
    assert_eq!(log.lines(), ["ran"]);
}

// A task is created inside a coroutine with create_task and awaited like a future.
#[test]
fn futures_are_shared_by_every_awaiter() {
    let lp = EventLoop::new();
    let f = lp.create_future::<Rc<String>>();
    let out = lp
        .run_until_complete({
            let f = f.clone();
            async move {
                let a = create_task({
                    let f = f.clone();
                    async move { f.await }
                })?;
                let b = create_task({
                    let f = f.clone();
                    async move { f.await }
                })?;
                sleep(0).await?;
                f.set_result(Rc::new("shared".into()))?;
                Ok((a.await?, b.await?))
            }
        })
        .unwrap();
    assert!(
        Rc::ptr_eq(&out.0, &out.1),
        "both awaiters got the one result"
    );
}
