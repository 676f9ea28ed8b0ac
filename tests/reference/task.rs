//! One test per observable sentence of the reference text's "Task" section and its examples
//! (`../shared/reference/asyncio-tasks-2014.rst`). Each test quotes its sentence.

use crate::common;

use common::Log;
use tulipsim::{
    all_tasks, create_task, current_task, sleep, sleep_with, Error, EventLoop, Future, Task,
};

// "Schedule the execution of a coroutine: wrap it in a future. A task is a subclass of Future."
#[test]
fn a_task_is_a_future() {
    let lp = EventLoop::new();
    let t = lp.create_task(async { Ok(5) });
    let as_future: Future<i32> = t.as_future();
    let log = Log::new();
    let l = log.clone();
    as_future.add_done_callback(move |f: &Future<i32>| l.push(format!("done {:?}", f.result())));
    assert!(!as_future.done());
    assert_eq!(lp.run_until_complete(as_future.clone()), Ok(5));
    assert_eq!(as_future.result(), Ok(5));
    assert_eq!(log.lines(), ["done Ok(5)"]);
    assert!(as_future.as_task().is_some());
}

// A task refuses set_result/set_exception: its outcome is its coroutine's (asyncio raises
// RuntimeError).
#[test]
fn a_task_future_refuses_set_result_and_set_exception() {
    let lp = EventLoop::new();
    let t = lp.create_task(async { Ok(5) });
    let f = t.as_future();
    assert!(matches!(f.set_result(1), Err(Error::Runtime(_))));
    assert!(matches!(
        f.set_exception(Error::timeout()),
        Err(Error::Runtime(_))
    ));
    assert_eq!(lp.run_until_complete(t), Ok(5));
}

// "If the wrapped coroutine yields from a future, the task suspends the execution of the wrapped
// coroutine and waits for the completion of the future. When the future is done, the execution
// of the wrapped coroutine restarts with the result or the exception of the future."
#[test]
fn a_task_suspends_on_a_future_and_restarts_with_its_result_or_exception() {
    let lp = EventLoop::new();
    let log = Log::new();
    let (a, b) = (lp.create_future::<i32>(), lp.create_future::<i32>());
    let (fa, fb, l) = (a.clone(), b.clone(), log.clone());
    let t = lp.create_task(async move {
        l.push("before");
        let x = fa.await?;
        l.push(format!("restarted with {x}"));
        match fb.await {
            Err(e) => l.push(format!("restarted with exception {e}")),
            Ok(v) => l.push(format!("unexpected {v}")),
        }
        Ok(())
    });
    lp.run_until_complete(sleep(1)).unwrap();
    assert_eq!(
        log.lines(),
        ["before"],
        "suspended while the future is pending"
    );
    a.set_result(3).unwrap();
    b.set_exception(Error::msg("nope")).unwrap();
    lp.run_until_complete(t).unwrap();
    assert_eq!(
        log.lines(),
        [
            "before",
            "restarted with 3",
            "restarted with exception nope"
        ]
    );
}

// "Event loops use cooperative scheduling: an event loop only runs one task at the same time."
// ... "While a task waits for the completion of a future, the event loop executes a new task."
#[test]
fn one_task_runs_at_a_time_and_another_runs_while_one_waits() {
    let lp = EventLoop::new();
    let log = Log::new();
    let gate = lp.create_future::<()>();
    let (l, g) = (log.clone(), gate.clone());
    lp.create_task(async move {
        l.push("A start");
        g.await?;
        l.push("A resumed");
        Ok(())
    });
    let (l, g) = (log.clone(), gate.clone());
    lp.create_task(async move {
        for i in 0..3 {
            l.push(format!("B busy {i}")); // no await: nothing else can run meanwhile
        }
        g.set_result(())
    });
    lp.run_until_complete(sleep(0.1)).unwrap();
    assert_eq!(
        log.lines(),
        ["A start", "B busy 0", "B busy 1", "B busy 2", "A resumed"]
    );
}

// "Calling cancel() will throw a CancelledError to the wrapped coroutine."
#[test]
fn cancel_throws_cancelled_error_into_the_coroutine() {
    let lp = EventLoop::new();
    let log = Log::new();
    let l = log.clone();
    let t = lp.create_task(async move {
        let r = sleep(10).await;
        l.push(format!("await returned {r:?}"));
        r
    });
    lp.run_until_complete(sleep(1)).unwrap();
    t.cancel_with("now");
    let _ = lp.run_until_complete(t.clone());
    assert_eq!(log.lines(), ["await returned Err(CancelledError: now)"]);
}

// "cancelled() only returns True if the wrapped coroutine did not catch the CancelledError
// exception, or raised a CancelledError exception."
#[test]
fn cancelled_is_true_only_if_the_coroutine_let_cancelled_error_escape() {
    let lp = EventLoop::new();
    let caught = lp.create_task(async {
        match sleep(10).await {
            Err(e) if e.is_cancelled() => Ok("caught"),
            other => other.map(|()| "slept"),
        }
    });
    let uncaught = lp.create_task(async { sleep(10).await });
    let raised = lp.create_task(async { Err::<(), _>(Error::cancelled()) });
    lp.run_until_complete(sleep(1)).unwrap();
    caught.cancel();
    uncaught.cancel();
    lp.run_until_complete(sleep(1)).unwrap();
    assert_eq!(caught.result(), Ok("caught"));
    assert!(!caught.cancelled());
    assert!(uncaught.cancelled());
    assert!(
        raised.cancelled(),
        "raised CancelledError itself, never cancel()ed"
    );
    assert_eq!(raised.cancelling(), 0);
}

// "If a pending task is destroyed, the execution of its wrapped coroutine did not complete. It
// is probably a bug and a warning is logged"
#[test]
fn a_pending_task_destroyed_is_reported() {
    let lp = EventLoop::new();
    let t = lp.create_task_named("stuck", async { sleep(100).await });
    lp.run_until_complete(sleep(1)).unwrap();
    lp.close().unwrap();
    let reports = lp.take_reports();
    assert_eq!(reports.len(), 1);
    assert_eq!(
        reports[0].message(),
        "Task was destroyed but it is pending!"
    );
    assert_eq!(reports[0].task(), Some("stuck"));
    assert!(!t.done(), "its coroutine never completed");
}

// all_tasks(): "Return a set of all tasks for an event loop."
#[test]
fn all_tasks_returns_the_pending_tasks_of_the_loop() {
    let lp = EventLoop::new();
    let a = lp.create_task_named("a", async { sleep(1).await });
    let _b = lp.create_task_named("b", async { sleep(2).await });
    let names = |v: Vec<tulipsim::TaskRef>| v.iter().map(|t| t.get_name()).collect::<Vec<_>>();
    assert_eq!(names(lp.all_tasks()), ["a", "b"]);
    lp.run_until_complete(a).unwrap();
    assert_eq!(names(lp.all_tasks()), ["b"]);
    let inside = lp
        .run_until_complete(async move { Ok(names(all_tasks()?)) })
        .unwrap();
    assert_eq!(inside, ["b", "Task-3"]);
    assert!(all_tasks().is_err(), "no running loop outside run_*");
    lp.run_until_complete(sleep(1)).unwrap();
    assert!(lp.all_tasks().is_empty());
    lp.close().unwrap();
    assert!(lp.take_reports().is_empty());
}

// current_task(): "Return the currently running task in an event loop or None." ... "None is
// returned when called not in the context of a Task."
#[test]
fn current_task_is_the_running_task_or_none() {
    let lp = EventLoop::new();
    assert!(current_task().is_none());
    let t = lp.create_task_named("me", async {
        let me = current_task().unwrap();
        sleep(0).await?;
        Ok((me.get_name(), current_task().unwrap() == me))
    });
    let log = Log::new();
    let l = log.clone();
    lp.call_soon(move || {
        l.push(format!(
            "in a callback: {:?}",
            current_task().map(|t| t.get_name())
        ))
    });
    assert_eq!(lp.run_until_complete(t), Ok(("me".to_string(), true)));
    assert_eq!(log.lines(), ["in a callback: None"]);
}

// cancel(): "This arranges for a CancelledError to be thrown into the wrapped coroutine on the
// next cycle through the event loop. The coroutine then has a chance to clean up or even deny
// the request using try/except/finally."
#[test]
fn cancel_throws_on_the_next_cycle_and_the_coroutine_may_clean_up_or_deny() {
    struct Finally(Log);
    impl Drop for Finally {
        fn drop(&mut self) {
            self.0.push("finally: cleaned up");
        }
    }
    let lp = EventLoop::new();
    let log = Log::new();
    let l = log.clone();
    let cleaner = lp.create_task(async move {
        let _guard = Finally(l.clone());
        sleep(10).await
    });
    let l = log.clone();
    let denier = lp.create_task(async move {
        loop {
            match sleep(10).await {
                Err(e) if e.is_cancelled() => l.push("denied a cancellation"),
                other => return other.map(|()| "slept in peace"),
            }
        }
    });
    lp.run_until_complete(sleep(1)).unwrap();
    cleaner.cancel();
    denier.cancel();
    assert!(
        log.lines().is_empty(),
        "nothing is thrown until the next cycle"
    );
    lp.run_until_complete(sleep(0)).unwrap();
    assert_eq!(
        log.lines(),
        ["finally: cleaned up", "denied a cancellation"]
    );
    assert!(cleaner.cancelled());
    assert_eq!(lp.run_until_complete(denier), Ok("slept in peace"));
    assert_eq!(lp.time(), 11.0);
}

// cancel(): "this does not guarantee that the task will be cancelled: the exception might be
// caught and acted upon, delaying cancellation of the task or preventing it completely. The
// task may also return a value or raise a different exception."
#[test]
fn a_cancelled_task_may_delay_cancellation_return_a_value_or_raise_another_error() {
    let lp = EventLoop::new();
    let delays = lp.create_task(async {
        if sleep(10).await.is_err() {
            sleep(5).await?; // acts on it: finishes its work first
            return Err(Error::cancelled());
        }
        Ok(())
    });
    let returns = lp.create_task(async { Ok(sleep_with(10, 1).await.unwrap_or(-1)) });
    let raises =
        lp.create_task(async { sleep(10).await.map_err(|_| Error::msg("shutdown failed")) });
    lp.run_until_complete(sleep(1)).unwrap();
    for t in [&delays.to_ref(), &returns.to_ref(), &raises.to_ref()] {
        assert!(t.cancel());
    }
    lp.run_until_complete(sleep(1)).unwrap();
    assert!(!delays.done(), "cancellation delayed");
    assert_eq!(returns.result(), Ok(-1));
    assert!(!returns.cancelled());
    assert_eq!(
        raises.exception().unwrap().unwrap().to_string(),
        "shutdown failed"
    );
    assert!(!raises.cancelled());
    lp.run_until_complete(sleep(5)).unwrap();
    assert!(delays.cancelled());
}

// cancel(): "Immediately after this method is called, cancelled() will not return True (unless
// the task was already cancelled)."
#[test]
fn immediately_after_cancel_cancelled_is_false_unless_already_cancelled() {
    let lp = EventLoop::new();
    let t = lp.create_task(async { sleep(10).await });
    lp.run_until_complete(sleep(0)).unwrap();
    assert!(t.cancel());
    assert!(!t.cancelled());
    lp.run_until_complete(sleep(0)).unwrap();
    assert!(t.cancelled());
    assert!(!t.cancel(), "already done");
    assert!(t.cancelled());
}

// cancel(): "A task will be marked as cancelled when the wrapped coroutine terminates with a
// CancelledError exception (even if cancel() was not called)."
#[test]
fn a_task_is_cancelled_when_its_coroutine_ends_with_cancelled_error_without_cancel() {
    let lp = EventLoop::new();
    let inner = lp.create_future::<()>();
    let i = inner.clone();
    let t = lp.create_task(async move { i.await }); // propagates the future's cancellation
    lp.run_until_complete(sleep(0)).unwrap();
    inner.cancel();
    lp.run_until_complete(sleep(0)).unwrap();
    lp.run_until_complete(sleep(0)).unwrap();
    assert!(t.cancelled());
    assert_eq!(t.cancelling(), 0, "cancel() was never called");
}

// get_stack(): "If the coroutine is active, this returns the stack where it is suspended. If the
// coroutine has completed successfully or was cancelled, this returns an empty list." ... "only
// one stack frame is returned for a suspended coroutine."
#[test]
fn get_stack_is_the_suspension_point_while_active_and_empty_once_done() {
    let lp = EventLoop::new();
    let f = lp.create_future::<()>();
    let g = f.clone();
    let line = line!() + 1;
    let t = lp.create_task(async move { g.await });
    lp.run_until_complete(sleep(0)).unwrap();
    let stack = t.get_stack();
    assert_eq!(stack.len(), 1);
    assert_eq!((stack[0].file(), stack[0].line()), (file!(), line));
    assert!(t
        .to_ref()
        .format_stack()
        .contains(&format!("suspended at {}:{line}", file!())));
    f.set_result(()).unwrap();
    lp.run_until_complete(t.clone()).unwrap();
    assert!(t.get_stack().is_empty());
    let c = lp.create_task(async { sleep(1).await });
    c.cancel();
    let _ = lp.run_until_complete(c.clone());
    assert!(c.get_stack().is_empty());
}

// Example "Parallel execution of tasks": the nine lines of output in the text's order, and "A
// task is automatically scheduled for execution when it is created. The event loop stops when
// all tasks are done."
#[test]
fn example_parallel_execution_of_tasks() {
    async fn factorial(log: Log, name: &'static str, number: u64) -> Result<u64, Error> {
        let mut f = 1;
        for i in 2..=number {
            log.push(format!("Task {name}: Compute factorial({i})..."));
            sleep(1).await?;
            f *= i;
        }
        log.push(format!("Task {name}: factorial({number}) = {f}"));
        Ok(f)
    }
    let lp = EventLoop::new();
    let log = Log::new();
    let tasks: Vec<Task<u64>> = [("A", 2), ("B", 3), ("C", 4)]
        .into_iter()
        .map(|(n, k)| lp.create_task(factorial(log.clone(), n, k)))
        .collect();
    lp.run_until_complete(async move {
        let mut out = vec![];
        for t in tasks {
            out.push(t.await?);
        }
        Ok(out)
    })
    .map(|v| assert_eq!(v, [2, 6, 24]))
    .unwrap();
    assert_eq!(
        log.lines(),
        [
            "Task A: Compute factorial(2)...",
            "Task B: Compute factorial(2)...",
            "Task C: Compute factorial(2)...",
            "Task A: factorial(2) = 2",
            "Task B: Compute factorial(3)...",
            "Task C: Compute factorial(3)...",
            "Task B: factorial(3) = 6",
            "Task C: Compute factorial(4)...",
            "Task C: factorial(4) = 24",
        ]
    );
    assert_eq!(lp.time(), 3.0);
    assert!(lp.all_tasks().is_empty());
}

// sleep(): "Create a coroutine that completes after a given time (in seconds). If result is
// provided, it is produced to the caller when the coroutine completes."
#[test]
fn sleep_completes_after_the_delay_and_produces_its_result() {
    let lp = EventLoop::new();
    let h = lp.handle();
    let got = lp
        .run_until_complete(async move {
            let r = sleep_with(2.5, "result").await?;
            Ok((r, h.time()))
        })
        .unwrap();
    assert_eq!(got, ("result", 2.5));
}

// Tasks created inside a task with create_task run concurrently and can be awaited.
#[test]
fn create_task_inside_a_task_and_await_its_result() {
    let lp = EventLoop::new();
    let r = lp.run_until_complete(async {
        let a = create_task(sleep_with(2, "a"))?;
        let b = create_task(sleep_with(1, "b"))?;
        Ok((a.await?, b.await?))
    });
    assert_eq!(r, Ok(("a", "b")));
    assert_eq!(lp.time(), 2.0, "they slept concurrently");
}
