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
    assert_eq!(reports[0].message(), "Exception in callback");
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
