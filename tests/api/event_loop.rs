//! The event loop itself: the virtual clock, deadlock and runaway detection, run/stop/close.

use crate::common;

use std::rc::Rc;

use common::Log;
use tulipsim::{create_task, sleep, Error, EventLoop, LoopConfig, Task, TraceLevel};

#[test]
fn an_hour_of_sleep_is_four_loop_entries() {
    let lp = EventLoop::new();
    lp.run_until_complete(sleep(3600)).unwrap();
    assert_eq!(lp.time(), 3600.0);
    // main's step, the sleep timer, main's wakeup (it returns), run_until_complete's stop
    // callback: the clock jumped, nothing ran in between.
    assert_eq!(lp.steps(), 4);
}

#[test]
fn virtual_time_counts_integer_nanoseconds() {
    let lp = EventLoop::new();
    lp.run_until_complete(async {
        for _ in 0..10 {
            sleep(0.1).await?;
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(
        lp.time_ns(),
        1_000_000_000,
        "ten 0.1 s sleeps end exactly at 1 s"
    );
    assert_eq!(lp.time(), 1.0);
}

#[test]
fn a_deadlock_names_each_waiting_task_and_what_it_awaits() {
    let lp = EventLoop::new();
    let never = lp.create_future::<i32>();
    let n = never.clone();
    let leaf = lp.create_task_named("leaf", async move { n.await });
    let l = leaf.clone();
    let middle = lp.create_task_named("middle", async move { l.await });
    let m = middle.clone();
    let err = lp.run_until_complete(async move { m.await }).unwrap_err();
    let Error::Deadlock(d) = err else {
        panic!("expected a deadlock, got {err:?}")
    };
    let waits: Vec<(&str, &str)> = d.tasks().iter().map(|t| (t.name(), t.awaiting())).collect();
    assert_eq!(waits[1], ("middle", "Task leaf"));
    assert_eq!(waits[2], ("Task-3", "Task middle"));
    assert_eq!(waits[0].0, "leaf");
    assert!(
        waits[0]
            .1
            .starts_with("Future<i32> created at tests/api/event_loop.rs:"),
        "{}",
        waits[0].1
    );
    let text = d.to_string();
    assert!(text.starts_with("Deadlock at t=0.000000s"), "{text}");
    assert!(
        text.contains("middle awaits Task leaf at tests/api/event_loop.rs:"),
        "{text}"
    );
    // The tasks are still there: the caller may inspect them, then close.
    assert!(!leaf.done() && !middle.done());
}

#[test]
fn run_forever_with_nothing_left_to_do_is_a_deadlock_not_a_hang() {
    let lp = EventLoop::new();
    let err = lp.run_forever().unwrap_err();
    assert!(
        matches!(&err, Error::Deadlock(d) if d.tasks().is_empty()),
        "{err:?}"
    );
}

#[test]
fn a_deadlock_after_time_passed_reports_that_time() {
    let lp = EventLoop::new();
    let f = lp.create_future::<()>();
    let err = lp
        .run_until_complete(async move {
            sleep(2.5).await?;
            f.await
        })
        .unwrap_err();
    let Error::Deadlock(d) = err else { panic!() };
    assert_eq!(d.time(), 2.5);
}

#[test]
fn the_step_limit_stops_a_task_spinning_on_sleep_zero() {
    let lp = EventLoop::with_config(LoopConfig::default().max_steps(500));
    let spinner = lp.create_task(async {
        loop {
            sleep(0).await?;
        }
    });
    let err = lp.run_until_complete(sleep(1)).unwrap_err();
    let Error::Limit(l) = err else { panic!() };
    assert!(l.is_step_limit());
    assert_eq!(l.steps(), 500);
    assert_eq!(lp.time(), 0.0, "the spinner never lets time pass");
    assert!(l.to_string().contains("step limit reached"));
    let _: &Task<()> = &spinner;
}

#[test]
fn the_time_limit_stops_a_timer_that_reschedules_itself_forever() {
    fn tick(lp: tulipsim::LoopHandle) {
        let again = lp.clone();
        lp.call_later(60, move || tick(again));
    }
    let lp = EventLoop::with_config(LoopConfig::default().max_time(3600));
    tick(lp.handle());
    let err = lp.run_forever().unwrap_err();
    let Error::Limit(l) = err else { panic!() };
    assert!(!l.is_step_limit());
    assert_eq!(
        lp.time(),
        3600.0,
        "the clock stops at the last timer within the limit"
    );
    assert_eq!(l.steps(), 60);
}

#[test]
fn handles_cancel_callbacks_and_timers() {
    let lp = EventLoop::new();
    let log = Log::new();
    let l = log.clone();
    let soon = lp.call_soon(move || l.push("soon"));
    let l = log.clone();
    let later = lp.call_later(1, move || l.push("later"));
    let l = log.clone();
    lp.call_later(2, move || l.push("kept"));
    assert_eq!(later.when(), 1.0);
    soon.cancel();
    later.cancel();
    later.cancel(); // twice is fine
    assert!(soon.cancelled() && later.cancelled());
    lp.run_until_complete(sleep(3)).unwrap();
    assert_eq!(log.lines(), ["kept"]);
}

#[test]
fn a_cancelled_timer_does_not_move_the_clock() {
    let lp = EventLoop::new();
    let h = lp.call_later(100, || {});
    h.cancel();
    let f = lp.create_future::<()>();
    let err = lp.run_until_complete(async move { f.await }).unwrap_err();
    assert!(matches!(err, Error::Deadlock(_)));
    assert_eq!(lp.time(), 0.0);
}

#[test]
fn run_until_complete_stops_when_the_loop_is_stopped_early() {
    let lp = EventLoop::new();
    let h = lp.handle();
    lp.call_later(1, move || h.stop());
    let err = lp.run_until_complete(sleep(5)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "RuntimeError: Event loop stopped before Future completed."
    );
    assert_eq!(lp.time(), 1.0);
    // The main task is still pending and can be finished by running again.
    lp.run_until_complete(sleep(10)).unwrap();
}

#[test]
fn running_a_running_loop_is_an_error() {
    let lp = Rc::new(EventLoop::new());
    let inner = lp.clone();
    let r = lp.run_until_complete(async move {
        let nested = inner.run_until_complete(sleep(1));
        let forever = inner.run_forever();
        Ok((nested.unwrap_err(), forever.unwrap_err()))
    });
    let (a, b) = r.unwrap();
    assert_eq!(
        a.to_string(),
        "RuntimeError: This event loop is already running"
    );
    assert_eq!(
        b.to_string(),
        "RuntimeError: This event loop is already running"
    );
    assert!(lp.close().is_ok());
}

#[test]
fn running_a_second_loop_inside_a_task_is_an_error() {
    let lp = EventLoop::new();
    let r = lp.run_until_complete(async {
        let other = EventLoop::new();
        Ok(other.run_until_complete(sleep(1)).unwrap_err())
    });
    assert_eq!(
        r.unwrap().to_string(),
        "RuntimeError: Cannot run the event loop while another loop is running"
    );
}

#[test]
fn a_closed_loop_refuses_to_run_and_runs_nothing() {
    let lp = EventLoop::new();
    lp.close().unwrap();
    lp.close().unwrap(); // idempotent
    assert_eq!(
        lp.run_until_complete(sleep(1)).unwrap_err().to_string(),
        "RuntimeError: Event loop is closed"
    );
    assert!(lp.run_forever().is_err());
    let h = lp.call_soon(|| panic!("must not run"));
    assert!(
        h.cancelled(),
        "call_soon on a closed loop gives a cancelled handle"
    );
    let t = lp.create_task(async { Ok(1) });
    assert!(t.done());
    assert_eq!(
        t.result().unwrap_err().to_string(),
        "RuntimeError: Event loop is closed"
    );
}

#[test]
fn set_result_with_callbacks_on_a_closed_loop_is_an_error_but_completes() {
    let lp = EventLoop::new();
    let f = lp.create_future::<i32>();
    let g = lp.create_future::<i32>();
    f.add_done_callback(|_: &tulipsim::Future<i32>| panic!("freed by close, never run"));
    lp.close().unwrap();
    assert_eq!(
        f.set_result(1),
        Ok(()),
        "close freed the callbacks: nothing to schedule"
    );
    g.add_done_callback(|_: &tulipsim::Future<i32>| panic!("must not run"));
    let err = g.set_result(1).unwrap_err();
    assert_eq!(err.to_string(), "RuntimeError: Event loop is closed");
    assert_eq!(g.result(), Ok(1), "the state changed, as in asyncio");
}

#[test]
fn future_new_binds_to_the_running_loop_or_the_newest_open_one() {
    let lp = EventLoop::new();
    let outside = tulipsim::Future::<i32>::new();
    assert!(outside.get_loop().is_some());
    let inside = lp
        .run_until_complete(async { Ok(tulipsim::Future::<i32>::new()) })
        .unwrap();
    assert!(inside.get_loop().is_some());
    outside.set_result(2).unwrap();
    assert_eq!(lp.run_until_complete(outside), Ok(2));
}

#[test]
fn the_same_program_gives_the_same_log_and_step_count() {
    fn run() -> (Vec<String>, u64, i64) {
        let lp = EventLoop::new();
        let log = Log::new();
        let l = log.clone();
        lp.run_until_complete(async move {
            let mut tasks = vec![];
            for i in 0..20u64 {
                let l = l.clone();
                tasks.push(create_task(async move {
                    for j in 0..(i % 4) {
                        sleep((i * 7 % 5) as f64 * 0.5).await?;
                        l.push(format!("{i}.{j}"));
                    }
                    Ok(i)
                })?);
            }
            for t in tasks {
                t.await?;
            }
            Ok(())
        })
        .unwrap();
        (log.lines(), lp.steps(), lp.time_ns())
    }
    assert_eq!(run(), run());
}

#[test]
fn a_cancelled_sleep_leaves_no_live_timer_behind() {
    let lp = EventLoop::new();
    let sleeper = lp.create_task(async { sleep(100).await });
    lp.run_until_complete(sleep(1)).unwrap();
    sleeper.cancel();
    let f = lp.create_future::<()>();
    let err = lp.run_until_complete(async move { f.await }).unwrap_err();
    assert!(matches!(err, Error::Deadlock(_)), "{err:?}");
    assert_eq!(lp.time(), 1.0, "the sleep's timer was cancelled with it");
    assert!(sleeper.cancelled());
}

#[test]
fn a_labelled_future_is_named_in_deadlocks_traces_and_reports() {
    let lp = EventLoop::with_config(LoopConfig::default().trace(TraceLevel::Full));
    let reply = lp.create_future::<i32>();
    reply.set_label("reply");
    let r = reply.clone();
    let err = lp.run_until_complete(async move { r.await }).unwrap_err();
    let Error::Deadlock(d) = err else {
        panic!("expected a deadlock, got {err:?}")
    };
    let awaiting = d.tasks()[0].awaiting();
    assert!(
        awaiting.starts_with("Future<i32> \"reply\" created at tests/api/event_loop.rs:"),
        "{awaiting}"
    );
    let trace = lp.trace().to_string();
    assert!(
        trace.contains("Task-1 awaits Future<i32> \"reply\" created at"),
        "{trace}"
    );
    reply.set_exception(Error::msg("late")).unwrap();
    drop(reply);
    lp.close().unwrap(); // frees the main task, which held the other handle
    let reports = lp.take_reports();
    let report = reports
        .iter()
        .find(|r| r.message() == "Future exception was never retrieved")
        .unwrap();
    assert_eq!(report.future(), Some("reply"));
    assert!(
        report.to_string().contains("\n  future: reply\n"),
        "{report}"
    );
}

// A recycled loop is reset in place only when nothing of the last run can see it: a future
// (which holds its loop weakly), a handle or a waker kept past the run makes the next loop a
// new one, and what was kept still belongs to the old, closed loop.
#[test]
fn a_loop_is_recycled_only_when_nothing_of_its_last_run_is_kept() {
    let config = || LoopConfig::default().seed(3);
    let lp = EventLoop::with_config(config());
    let kept: tulipsim::Future<u8> = lp.create_future();
    let lp = lp.recycle(config());
    assert_eq!(
        lp.generation(),
        0,
        "a future of the old loop was alive: a new loop"
    );
    assert!(
        kept.get_loop().is_none(),
        "the kept future's loop is gone (it held it weakly), not become the new one"
    );
    drop(kept);

    let lp = lp.recycle(config());
    assert_eq!(lp.generation(), 1, "nothing kept: the same storage");
    let handle = lp.handle();
    let lp = lp.recycle(config());
    assert_eq!(lp.generation(), 0);
    assert!(handle.is_closed());
    drop(handle);

    // A waker kept by a foreign future outlives its task: the loop is reused, its inbox not.
    let waker = Rc::new(std::cell::RefCell::new(None));
    let w = waker.clone();
    let lp = lp.recycle(config());
    lp.run_until_complete(std::future::poll_fn(move |cx| {
        *w.borrow_mut() = Some(cx.waker().clone());
        std::task::Poll::Ready(Ok(()))
    }))
    .unwrap();
    let traced = || config().trace(TraceLevel::Full);
    // The old run's task had this run's task's slot and id: woken in the middle of this run,
    // its waker must wake nothing here.
    let sleeper = |lp: &EventLoop, old: Option<std::task::Waker>| {
        let t = lp.create_task(async { sleep(1).await });
        lp.call_later(0.5, move || old.into_iter().for_each(|w| w.wake()));
        assert_eq!(lp.run_until_complete(t), Ok(()));
        lp.trace().to_string()
    };
    let lp = lp.recycle(traced());
    assert_eq!(lp.generation(), 2);
    let old = waker.borrow_mut().take();
    assert!(old.is_some());
    assert_eq!(
        sleeper(&lp, old),
        sleeper(&EventLoop::with_config(traced()), None)
    );
}
