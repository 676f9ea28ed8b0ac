//! A panic inside a task or callback is caught at the step boundary and reported, never lost.

use tulipsim::{create_task, sleep, Error, EventLoop, LoopConfig, PanicPolicy};

#[test]
fn a_panicking_task_stops_the_loop_with_its_name_message_and_location() {
    let lp = EventLoop::with_config(LoopConfig::default().seed(42));
    let bystander = lp.create_task(async { sleep(1).await });
    let line = line!() + 3;
    let victim = lp.create_task_named("victim", async {
        sleep(0.5).await?;
        assert_eq!(1 + 1, 3, "arithmetic is broken");
        Ok(())
    });
    let err = lp.run_until_complete(sleep(10)).unwrap_err();
    let Error::Panic(p) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(p.task(), Some("victim"));
    assert!(
        p.message().contains("arithmetic is broken"),
        "{}",
        p.message()
    );
    assert_eq!(p.location(), Some(format!("{}:{line}:9", file!()).as_str()));
    let text = err.to_string();
    assert!(
        text.starts_with("task victim panicked: assertion"),
        "{text}"
    );
    assert!(text.ends_with("[seed 42]"), "{text}");
    assert_eq!(lp.time(), 0.5, "the loop stopped at the panic");
    assert!(!bystander.done());
    assert!(matches!(victim.exception(), Ok(Some(Error::Panic(_)))));
    // The loop can go on afterwards.
    lp.run_until_complete(bystander).unwrap();
    lp.close().unwrap();
    assert!(
        lp.take_reports().is_empty(),
        "the panic was returned, not reported again"
    );
}

#[test]
fn a_panicking_callback_stops_the_loop() {
    let lp = EventLoop::new();
    lp.call_later(2, || panic!("callback exploded"));
    let err = lp.run_until_complete(sleep(5)).unwrap_err();
    let Error::Panic(p) = err else { panic!() };
    assert_eq!(p.task(), None);
    assert_eq!(p.message(), "callback exploded");
    assert!(p
        .to_string()
        .starts_with("callback panicked: callback exploded"));
}

#[test]
fn under_capture_a_panic_is_the_tasks_exception_and_the_loop_goes_on() {
    let lp = EventLoop::with_config(LoopConfig::default().panic_policy(PanicPolicy::Capture));
    lp.call_soon(|| panic!("in a callback"));
    let r = lp.run_until_complete(async {
        let child = create_task(async {
            sleep(1).await?;
            panic!("child failed")
        })?;
        let got: Result<(), Error> = child.await;
        sleep(1).await?;
        Ok(got)
    });
    let got = r.unwrap();
    let Err(Error::Panic(p)) = got else { panic!() };
    assert_eq!(p.message(), "child failed");
    assert_eq!(lp.time(), 2.0);
    let reports = lp.take_reports();
    assert_eq!(reports.len(), 1);
    // Named as asyncio names it ("Exception in callback cb() at file.py:12"): the closure's
    // type, which names the function it was written in, and where it was scheduled.
    let msg = reports[0].message();
    assert!(
        msg.starts_with("Exception in callback api::panics::under_capture_a_panic_is_the_tasks_exception_and_the_loop_goes_on::{{closure}} scheduled at tests/api/panics.rs:"),
        "{msg}"
    );
    assert_eq!(reports[0].site().unwrap().line(), 60);
    assert!(matches!(reports[0].error(), Some(Error::Panic(_))));
}

#[test]
fn an_unretrieved_captured_panic_is_reported_when_the_task_is_freed() {
    let lp = EventLoop::with_config(LoopConfig::default().panic_policy(PanicPolicy::Capture));
    lp.create_task_named("lost", async {
        if true {
            panic!("nobody looks")
        }
        Ok(())
    });
    lp.run_until_complete(sleep(1)).unwrap();
    let reports = lp.take_reports();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].message(), "Task exception was never retrieved");
    assert_eq!(reports[0].task(), Some("lost"));
}

#[test]
fn a_panic_escaping_from_a_drop_leaves_the_thread_able_to_run_loops() {
    struct Explodes;
    impl Drop for Explodes {
        fn drop(&mut self) {
            panic!("drop exploded");
        }
    }
    let lp = EventLoop::new();
    // Nobody holds the task, so the loop frees its result when the task finishes: outside any
    // callback or step, where the loop catches nothing.
    lp.create_task(async { Ok(Explodes) });
    let escaped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = lp.run_until_complete(sleep(1));
    }));
    assert!(
        escaped.is_err(),
        "the drop's panic is the user's and propagates"
    );
    assert!(!lp.is_running(), "the loop is not left marked as running");
    assert_eq!(
        lp.run_until_complete(async { Ok(2) }),
        Ok(2),
        "and it runs again"
    );
    let other = EventLoop::new();
    assert_eq!(
        other.run_until_complete(async { Ok(1) }),
        Ok(1),
        "so do other loops"
    );
}

#[test]
fn a_started_sleep_that_outlives_its_task_leaves_no_live_timer() {
    let lp = EventLoop::new();
    let t = lp.create_task(async {
        let mut long = Box::pin(sleep(100));
        // Start the sleep (it takes the task's sleep slot), then return it, still started.
        let ready = futures_poll_once(long.as_mut()).await;
        assert!(!ready);
        Ok(long)
    });
    lp.run_until_complete(sleep(1)).unwrap();
    assert!(t.done());
    let f = lp.create_future::<()>();
    let err = lp.run_until_complete(async move { f.await }).unwrap_err();
    assert!(matches!(err, Error::Deadlock(_)), "{err:?}");
    assert_eq!(
        lp.time(),
        1.0,
        "the finished task's sleep timer did not move the clock"
    );
}

/// Polls a future once and returns whether it was ready, leaving it pending otherwise.
async fn futures_poll_once<F: std::future::Future + Unpin>(mut f: F) -> bool {
    std::future::poll_fn(move |cx| {
        std::task::Poll::Ready(std::pin::Pin::new(&mut f).poll(cx).is_ready())
    })
    .await
}

#[test]
fn a_panicking_done_callback_is_reported_by_name() {
    let lp = EventLoop::with_config(LoopConfig::default().panic_policy(PanicPolicy::Capture));
    let fut = lp.create_future::<i32>();
    fut.add_done_callback(|_: &tulipsim::Future<i32>| panic!("in a done-callback"));
    fut.set_result(1).unwrap();
    lp.run_until_complete(sleep(0)).unwrap();
    let reports = lp.take_reports();
    assert_eq!(reports.len(), 1);
    let msg = reports[0].message();
    assert_eq!(
        msg,
        "Exception in callback api::panics::a_panicking_done_callback_is_reported_by_name::{{closure}}"
    );
}

// The running task is kept per thread (asyncio's `_current_tasks`): a step that panics, or a
// loop stopped by one, must give the slot back, so that callbacks and the next loop on the
// thread never see a task that is not stepping.
#[test]
fn after_a_panicking_step_no_task_is_current_on_the_thread() {
    use std::cell::RefCell;
    use std::rc::Rc;
    use tulipsim::current_task;

    let lp = EventLoop::new();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    lp.call_soon(move || s.borrow_mut().push(current_task().map(|t| t.get_name())));
    let victim = lp.create_task_named("victim", async {
        assert!(current_task().is_some_and(|t| t.get_name() == "victim"));
        panic!("boom");
        #[allow(unreachable_code)]
        Ok(())
    });
    let err = lp.run_until_complete(victim).unwrap_err();
    assert!(matches!(err, Error::Panic(_)), "{err:?}");
    assert_eq!(*seen.borrow(), [None], "a callback ran as no task");
    assert!(
        current_task().is_none(),
        "no step runs after the loop stopped"
    );

    let captured = EventLoop::with_config(LoopConfig::default().panic_policy(PanicPolicy::Capture));
    let s = seen.clone();
    let r = captured.run_until_complete(async move {
        let child = create_task(async {
            panic!("child");
            #[allow(unreachable_code)]
            Ok(())
        })?;
        let child_failed = matches!(child.await, Err(Error::Panic(_)));
        let me = current_task().map(|t| t.get_name());
        tulipsim::get_running_loop()?
            .call_soon(move || s.borrow_mut().push(current_task().map(|t| t.get_name())));
        sleep(0).await?;
        Ok((child_failed, me))
    });
    assert_eq!(r, Ok((true, Some("Task-1".to_string()))));
    assert_eq!(*seen.borrow(), [None, None]);
    assert!(current_task().is_none());
}
