//! One test per observable sentence of the reference text's "Task functions" section
//! (`../shared/reference/asyncio-tasks-2014.rst`). Each test quotes its sentence.

use crate::common;

use common::Log;
use tulipsim::{
    as_completed, create_task, ensure_future, gather, gather_return_exceptions, shield, sleep,
    sleep_with, wait, wait_for, Error, EventLoop, Future, ReturnWhen,
};

type BoxedCoro<T> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, Error>>>>;

// as_completed: "Return an iterator whose values, when waited for, are Future instances."
// (In asyncio 3.11 they yield the futures' results; "The futures f are not necessarily members
// of fs".)
#[test]
fn as_completed_yields_awaitables_of_the_results_in_completion_order() {
    let lp = EventLoop::new();
    let r = lp.run_until_complete(async {
        let mut got = vec![];
        for f in as_completed(vec![sleep_with(2, "second"), sleep_with(1, "first")]) {
            got.push(f.await?);
        }
        Ok(got)
    });
    assert_eq!(r, Ok(vec!["first", "second"]));
}

// as_completed: "Raises asyncio.TimeoutError if the timeout occurs before all Futures are done."
#[test]
fn as_completed_raises_timeout_error_when_the_timeout_comes_first() {
    let lp = EventLoop::new();
    let r = lp.run_until_complete(async {
        let mut got = vec![];
        for f in as_completed(vec![sleep_with(1, 1), sleep_with(10, 10)]).timeout(3) {
            got.push(f.await);
        }
        Ok(got)
    });
    assert_eq!(r, Ok(vec![Ok(1), Err(Error::timeout())]));
    assert_eq!(lp.time(), 3.0);
}

// async(): "Wrap a coroutine object in a future. If the argument is a Future, it is returned
// directly."
#[test]
fn ensure_future_wraps_a_coroutine_and_returns_a_future_directly() {
    let lp = EventLoop::new();
    let f = lp.create_future::<i32>();
    assert!(ensure_future(f.clone()).same(&f));
    let wrapped = ensure_future(async { Ok(9) });
    assert!(wrapped.as_task().is_some(), "a coroutine becomes a task");
    assert_eq!(lp.run_until_complete(wrapped), Ok(9));
}

// gather: "If all the tasks are done successfully, the returned future's result is the list of
// results (in the order of the original sequence, not necessarily the order of results
// arrival)."
#[test]
fn gather_results_come_in_the_order_of_the_original_sequence() {
    let lp = EventLoop::new();
    let r = lp.run_until_complete(async {
        gather(vec![
            sleep_with(3, 'a'),
            sleep_with(1, 'b'),
            sleep_with(2, 'c'),
        ])
        .await
    });
    assert_eq!(r, Ok(vec!['a', 'b', 'c']));
}

// gather: "If return_exceptions is True, exceptions in the tasks are treated the same as
// successful results, and gathered in the result list"
#[test]
fn gather_with_return_exceptions_lists_exceptions_as_results() {
    let lp = EventLoop::new();
    let r = lp.run_until_complete(async {
        let bad = async {
            sleep(1).await?;
            Err::<i32, _>(Error::msg("bad"))
        };
        let ok = async { sleep(2).await.map(|()| 2) };
        let boxed: Vec<BoxedCoro<i32>> = vec![Box::pin(bad), Box::pin(ok)];
        gather_return_exceptions(boxed).await
    });
    let r = r.unwrap();
    assert_eq!(r[0].as_ref().unwrap_err().to_string(), "bad");
    assert_eq!(r[1], Ok(2));
    assert_eq!(lp.time(), 2.0, "it waited for every child");
}

// gather: "otherwise, the first raised exception will be immediately propagated to the
// returned future."
#[test]
fn gather_propagates_the_first_exception_immediately() {
    let lp = EventLoop::new();
    let log = Log::new();
    let l = log.clone();
    let h = lp.handle();
    let r = lp.run_until_complete(async move {
        let slow = create_task({
            let l = l.clone();
            async move {
                sleep(5).await?;
                l.push("slow child finished");
                Ok(0)
            }
        })?;
        let failing = create_task(async {
            sleep(1).await?;
            Err::<i32, _>(Error::msg("first"))
        })?;
        let r = gather(vec![slow.clone(), failing]).await;
        l.push(format!("outer failed at {:?}", h.time()));
        slow.await?;
        r
    });
    assert_eq!(r.unwrap_err().to_string(), "first");
    assert_eq!(log.lines(), ["outer failed at 1.0", "slow child finished"]);
}

// gather: "Cancellation: if the outer Future is cancelled, all children (that have not
// completed yet) are also cancelled."
#[test]
fn cancelling_the_outer_gather_cancels_the_children_not_yet_done() {
    let lp = EventLoop::new();
    let (done_child, pending_child, outer) = lp
        .run_until_complete(async {
            let quick = create_task(sleep(1))?;
            let slow = create_task(sleep(10))?;
            let g = gather(vec![quick.clone(), slow.clone()]);
            sleep(2).await?;
            assert!(g.cancel());
            let _ = (&g).await;
            Ok((quick, slow, g))
        })
        .unwrap();
    assert!(
        !done_child.cancelled(),
        "a child already done is left alone"
    );
    assert!(pending_child.cancelled());
    assert!(outer.done());
}

// gather: "If any child is cancelled, this is treated as if it raised CancelledError -- the
// outer Future is not cancelled in this case."
#[test]
fn a_cancelled_child_is_an_exception_and_does_not_cancel_the_outer() {
    let lp = EventLoop::new();
    let (outer, sibling) = lp
        .run_until_complete(async {
            let victim = create_task(sleep(10))?;
            let sibling = create_task(sleep(2))?;
            let g = gather(vec![victim.clone(), sibling.clone()]);
            sleep(1).await?;
            victim.cancel();
            let _ = (&g).await;
            Ok((g, sibling))
        })
        .unwrap();
    assert!(!outer.cancelled());
    assert!(outer.exception().unwrap().unwrap().is_cancelled());
    assert!(!sibling.done(), "the other child was not cancelled");
    lp.run_until_complete(sibling).unwrap();
}

// sleep: "Create a coroutine that completes after a given time (in seconds)."
#[test]
fn sleep_completes_after_the_given_time() {
    let lp = EventLoop::new();
    lp.run_until_complete(sleep(2.25)).unwrap();
    assert_eq!(lp.time(), 2.25);
}

// shield: "res = yield from shield(something()) is exactly equivalent to the statement
// res = yield from something() *except* that if the coroutine containing it is cancelled, the
// task running in something() is not cancelled."
#[test]
fn shield_is_like_awaiting_except_that_cancelling_the_caller_spares_the_inner() {
    let lp = EventLoop::new();
    assert_eq!(
        lp.run_until_complete(async { shield(sleep_with(1, 5)).await }),
        Ok(5)
    );
    let inner = lp.create_task(sleep_with(3, "inner"));
    let i = inner.clone();
    let caller = lp.create_task(async move { shield(i).await });
    lp.run_until_complete(sleep(1)).unwrap();
    caller.cancel();
    // "But its caller is still cancelled, so the yield-from expression still raises
    // CancelledError."
    assert!(lp.run_until_complete(caller).unwrap_err().is_cancelled());
    assert!(!inner.cancelled());
    assert_eq!(lp.run_until_complete(inner), Ok("inner"));
}

// shield: "Note: If something() is cancelled by other means this will still cancel shield()."
#[test]
fn cancelling_the_inner_by_other_means_cancels_the_shield() {
    let lp = EventLoop::new();
    let inner = lp.create_task(sleep(5));
    let outer = shield(inner.clone());
    lp.run_until_complete(sleep(1)).unwrap();
    inner.cancel();
    lp.run_until_complete(sleep(1)).unwrap();
    assert!(outer.cancelled());
}

// shield: "If you want to completely ignore cancellation (not recommended) you can combine
// shield() with a try/except clause"
#[test]
fn shield_with_a_catch_ignores_cancellation() {
    let lp = EventLoop::new();
    let caller = lp.create_task(async {
        let res = shield(sleep_with(3, Some(1))).await.or_else(|e| {
            if e.is_cancelled() {
                Ok(None)
            } else {
                Err(e)
            }
        })?;
        Ok(res)
    });
    lp.run_until_complete(sleep(1)).unwrap();
    caller.cancel();
    assert_eq!(lp.run_until_complete(caller), Ok(None));
}

// wait: "Returns two sets of Future: (done, pending)." ... "The sequence futures must not be
// empty."
#[test]
fn wait_returns_done_and_pending_and_refuses_nothing() {
    let lp = EventLoop::new();
    let r = lp.run_until_complete(async {
        let a = create_task(sleep(1))?;
        let (done, pending) = wait(vec![a]).await?;
        let empty = wait(Vec::<Future<()>>::new()).await;
        Ok((done.len(), pending.len(), empty))
    });
    let (done, pending, empty) = r.unwrap();
    assert_eq!((done, pending), (1, 0));
    assert!(matches!(empty, Err(Error::Value(_))));
}

// wait: "timeout can be used to control the maximum number of seconds to wait before
// returning." ... "This does not raise asyncio.TimeoutError! Futures that aren't done when the
// timeout occurs are returned in the second set."
#[test]
fn wait_with_a_timeout_returns_the_pending_futures_without_raising() {
    let lp = EventLoop::new();
    let r = lp.run_until_complete(async {
        let slow = create_task(sleep(10))?;
        wait(vec![slow]).timeout(2).await
    });
    let (done, pending) = r.unwrap();
    assert!(done.is_empty());
    assert_eq!(pending.len(), 1);
    assert!(!pending[0].cancelled(), "the timeout cancels nothing");
    assert_eq!(lp.time(), 2.0);
}

// wait, return_when: FIRST_COMPLETED "will return when any future finishes or is cancelled";
// FIRST_EXCEPTION "when any future finishes by raising an exception. If no future raises an
// exception then it is equivalent to ALL_COMPLETED"; ALL_COMPLETED "when all futures finish or
// are cancelled".
#[test]
fn wait_return_when_modes() {
    let lp = EventLoop::new();
    let h = lp.handle();
    lp.run_until_complete(async move {
        let t0 = h.time();
        let (a, b) = (create_task(sleep(1))?, create_task(sleep(3))?);
        b.cancel();
        wait(vec![a.clone(), b])
            .return_when(ReturnWhen::FirstCompleted)
            .await?;
        assert_eq!(h.time(), t0, "a cancelled future counts as completed");
        let (c, d) = (create_task(sleep(2))?, create_task(sleep(3))?);
        wait(vec![c, d])
            .return_when(ReturnWhen::FirstException)
            .await?;
        assert_eq!(h.time(), t0 + 3.0, "no exception: like ALL_COMPLETED");
        let fail = create_task(async {
            sleep(1).await?;
            Err::<(), _>(Error::msg("x"))
        })?;
        let e = create_task(sleep(10))?;
        let (done, pending) = wait(vec![fail, e])
            .return_when(ReturnWhen::FirstException)
            .await?;
        assert_eq!((done.len(), pending.len(), h.time()), (1, 1, t0 + 4.0));
        let _ = done[0].exception();
        let (done, _) = wait(vec![pending[0].clone(), a]).await?;
        assert_eq!((done.len(), h.time()), (2, t0 + 13.0));
        Ok(())
    })
    .unwrap();
}

// wait_for: "If timeout is None, block until the future completes." ... "Returns result of the
// Future or coroutine. When a timeout occurs, it cancels the task and raises
// asyncio.TimeoutError."
#[test]
fn wait_for_returns_the_result_or_cancels_and_raises_timeout_error() {
    let lp = EventLoop::new();
    assert_eq!(
        lp.run_until_complete(async { wait_for(sleep_with(100, 1), None::<f64>).await }),
        Ok(1)
    );
    let t = lp.create_task(sleep_with(100, 2));
    let t2 = t.clone();
    assert_eq!(
        lp.run_until_complete(async move { wait_for(t2, 1).await }),
        Err(Error::timeout())
    );
    assert!(t.cancelled(), "the timeout cancels the task");
    assert_eq!(lp.time(), 101.0);
}

// wait_for: "To avoid the task cancellation, wrap it in shield()."
#[test]
fn wait_for_of_a_shield_leaves_the_task_running() {
    let lp = EventLoop::new();
    let t = lp.create_task(sleep_with(5, "survivor"));
    let t2 = t.clone();
    assert_eq!(
        lp.run_until_complete(async move { wait_for(shield(t2), 1).await }),
        Err(Error::timeout())
    );
    assert!(!t.done());
    assert_eq!(lp.run_until_complete(t), Ok("survivor"));
    assert_eq!(lp.time(), 5.0);
}
