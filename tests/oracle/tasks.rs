//! The task functions' orderings, checked against CPython 3.11 (see tests/oracle/orderings.rs for how:
//! each test runs the program `tests/oracle/programs/NAME.py` runs, and asserts CPython's log).

use crate::common;
use common::expected;

use common::{py, Log};
use tulipsim::{
    create_task, create_task_named, current_task, gather, gather_return_exceptions, shield, sleep,
    sleep_with, task_group, timeout, timeout_at, wait, wait_for, Error, EventLoop, Future,
    LoopHandle, Task, FIRST_COMPLETED, FIRST_EXCEPTION,
};

/// Python's `repr(ValueError(name))`, as a user error's text.
fn value_error(name: &str) -> Error {
    Error::msg(format!("ValueError('{name}')"))
}

/// Python's repr of a list of strings.
fn py_list<S: AsRef<str>>(items: &[S]) -> String {
    let reprs: Vec<String> = items
        .iter()
        .map(|s| {
            let s = s.as_ref();
            if s.contains('\'') {
                format!("\"{s}\"")
            } else {
                format!("'{s}'")
            }
        })
        .collect();
    format!("[{}]", reprs.join(", "))
}

#[test]
fn gather_order() {
    async fn child(
        log: Log,
        lp: LoopHandle,
        name: &'static str,
        delay: u32,
        fail: bool,
    ) -> Result<String, Error> {
        log.push(format!("start {name}"));
        if let Err(e) = sleep(delay).await {
            log.push(format!("cancelled {name} at {:?}", lp.time()));
            return Err(e);
        }
        if fail {
            log.push(format!("fail {name} at {:?}", lp.time()));
            return Err(value_error(name));
        }
        log.push(format!("done {name} at {:?}", lp.time()));
        Ok(name.to_string())
    }
    let lp = EventLoop::new();
    let log = Log::new();
    let (l, h) = (log.clone(), lp.handle());
    lp.run_until_complete(async move {
        let c = |name, delay, fail| child(l.clone(), h.clone(), name, delay, fail);
        let r = gather(vec![c("a", 2, false), c("b", 1, false), c("c", 3, false)]).await?;
        l.push(format!("results {} at {:?}", py_list(&r), h.time()));
        let g = gather(vec![c("d", 3, false), c("e", 1, true), c("f", 2, false)]);
        if let Err(e) = g.await {
            l.push(format!("outer raised {e} at {:?}", h.time()));
        }
        sleep(3).await?;
        let r = gather_return_exceptions(vec![c("g", 1, true), c("h", 2, false)]).await?;
        let shown: Vec<String> = r
            .iter()
            .map(|x| match x {
                Ok(s) => format!("'{s}'"),
                Err(e) => e.to_string(),
            })
            .collect();
        l.push(format!(
            "with exceptions {} at {:?}",
            py_list(&shown),
            h.time()
        ));
        let i = create_task(c("i", 5, false))?;
        let j = create_task(c("j", 5, false))?;
        let g = gather(vec![i, j]);
        sleep(1).await?;
        l.push(format!("cancel outer -> {}", py(g.cancel())));
        if let Err(Error::Cancelled(_)) = (&g).await {
            l.push(format!(
                "outer raised CancelledError; cancelled() {} at {:?}",
                py(g.cancelled()),
                h.time()
            ));
        }
        let k = create_task(c("k", 5, false))?;
        let lt = create_task(c("l", 2, false))?;
        let g = gather(vec![k.clone(), lt.clone()]);
        sleep(1).await?;
        k.cancel();
        if let Err(Error::Cancelled(_)) = (&g).await {
            l.push(format!(
                "child cancel: outer raised CancelledError; cancelled() {} l done {}",
                py(g.cancelled()),
                py(lt.done())
            ));
        }
        sleep(2).await?;
        l.push(format!("l result {} at {:?}", lt.result()?, h.time()));
        let empty = gather(Vec::<Future<String>>::new()).await?;
        l.push(format!("empty {}", py_list(&empty)));
        Ok(())
    })
    .unwrap();
    assert_eq!(log.text(), expected("gather_order"));
}

#[test]
fn shield_order() {
    async fn inner(
        log: Log,
        lp: LoopHandle,
        name: &'static str,
        delay: f64,
        fail: bool,
    ) -> Result<&'static str, Error> {
        if let Err(e) = sleep(delay).await {
            log.push(format!("{name} cancelled at {:?}", lp.time()));
            return Err(e);
        }
        if fail {
            return Err(value_error(name));
        }
        log.push(format!("{name} finished at {:?}", lp.time()));
        Ok(name)
    }
    async fn caller(
        log: Log,
        lp: LoopHandle,
        label: &'static str,
        aw: Task<&'static str>,
    ) -> Result<(), Error> {
        match shield(aw).await {
            Ok(r) => log.push(format!("{label} got {r} at {:?}", lp.time())),
            Err(e) if e.is_cancelled() => {
                log.push(format!("{label} got CancelledError at {:?}", lp.time()));
                return Err(e);
            }
            Err(e) => log.push(format!("{label} got {e} at {:?}", lp.time())),
        }
        Ok(())
    }
    let lp = EventLoop::new();
    let log = Log::new();
    let (l, h) = (log.clone(), lp.handle());
    lp.run_until_complete(async move {
        let t1 = create_task(inner(l.clone(), h.clone(), "inner1", 3.0, false))?;
        let c1 = create_task(caller(l.clone(), h.clone(), "caller1", t1.clone()))?;
        sleep(1).await?;
        c1.cancel();
        sleep(0).await?;
        sleep(0).await?;
        l.push(format!(
            "caller1 cancelled {} inner1 done {}",
            py(c1.cancelled()),
            py(t1.done())
        ));
        l.push(format!("inner1 result {} at {:?}", (&t1).await?, h.time()));
        let t2 = create_task(inner(l.clone(), h.clone(), "inner2", 3.0, false))?;
        let c2 = create_task(caller(l.clone(), h.clone(), "caller2", t2.clone()))?;
        sleep(1).await?;
        t2.cancel();
        for _ in 0..3 {
            sleep(0).await?;
        }
        l.push(format!("caller2 cancelled {}", py(c2.cancelled())));
        let t3 = create_task(inner(l.clone(), h.clone(), "inner3", 1.0, true))?;
        caller(l.clone(), h.clone(), "caller3", t3).await?;
        let t4 = create_task(inner(l.clone(), h.clone(), "inner4", 0.0, false))?;
        sleep(0.5).await?;
        let same = shield(t4.clone()).same(&t4.as_future());
        l.push(format!("shield of done task is the task: {}", py(same)));
        Ok(())
    })
    .unwrap();
    assert_eq!(log.text(), expected("shield_order"));
}

#[test]
fn wait_modes() {
    async fn job(delay: u32, fail: bool) -> Result<u32, Error> {
        sleep(delay).await?;
        if fail {
            return Err(value_error(&delay.to_string()));
        }
        Ok(delay)
    }
    fn names(fs: &[Task<u32>]) -> String {
        let mut n: Vec<String> = fs.iter().map(|t| t.get_name()).collect();
        n.sort();
        py_list(&n)
    }
    let lp = EventLoop::new();
    let log = Log::new();
    let (l, h) = (log.clone(), lp.handle());
    lp.run_until_complete(async move {
        let mk = |name, delay, fail| create_task_named(name, job(delay, fail));
        let (a, b, c) = (mk("a", 3, false)?, mk("b", 1, false)?, mk("c", 2, false)?);
        let (done, pending) = wait(vec![a.clone(), b, c.clone()])
            .return_when(FIRST_COMPLETED)
            .await?;
        l.push(format!(
            "FIRST_COMPLETED done {} pending {} at {:?}",
            names(&done),
            names(&pending),
            h.time()
        ));
        let (d, e) = (mk("d", 1, false)?, mk("e", 2, true)?);
        let all = vec![a.clone(), c.clone(), d.clone(), e.clone()];
        let (done, pending) = wait(all.clone()).return_when(FIRST_EXCEPTION).await?;
        l.push(format!(
            "FIRST_EXCEPTION done {} pending {} at {:?}",
            names(&done),
            names(&pending),
            h.time()
        ));
        let (done, pending) = wait(all).return_when(FIRST_EXCEPTION).await?;
        l.push(format!(
            "FIRST_EXCEPTION again {} {} at {:?}",
            names(&done),
            names(&pending),
            h.time()
        ));
        let (f, g) = (mk("f", 10, false)?, mk("g", 1, false)?);
        let (done, pending) = wait(vec![f.clone(), g]).timeout(4).await?;
        l.push(format!(
            "timeout done {} pending {} at {:?} f cancelled {}",
            names(&done),
            names(&pending),
            h.time(),
            py(f.cancelled())
        ));
        let (done, _) = wait(vec![f.clone()]).await?;
        l.push(format!(
            "ALL_COMPLETED done {} at {:?} result {}",
            names(&done),
            h.time(),
            f.result()?
        ));
        if let Err(Error::Value(m)) = wait(Vec::<Task<u32>>::new()).await {
            l.push(format!("empty: {m}"));
        }
        let _ = e.exception();
        Ok(())
    })
    .unwrap();
    assert_eq!(log.text(), expected("wait_modes"));
}

#[test]
fn wait_for_races() {
    let lp = EventLoop::new();
    let log = Log::new();
    let (l, h) = (log.clone(), lp.handle());
    lp.run_until_complete(async move {
        let r = wait_for(sleep_with(1, "fast"), 2).await?;
        l.push(format!("in time: {r} at {:?}", h.time()));
        if let Err(Error::Timeout(_)) = wait_for(sleep_with(10, "x"), 1).await {
            l.push(format!("timeout at {:?}", h.time()));
        }
        let (l2, h2) = (l.clone(), h.clone());
        let stubborn = async move {
            match sleep(10).await {
                Err(e) => {
                    l2.push(format!(
                        "stubborn: cancelled at {:?} - cleaning up for 2 s",
                        h2.time()
                    ));
                    sleep(2).await?;
                    l2.push(format!("stubborn: done cleaning at {:?}", h2.time()));
                    Err(e)
                }
                Ok(()) => Ok(()),
            }
        };
        if let Err(Error::Timeout(_)) = wait_for(stubborn, 1).await {
            l.push(format!(
                "timeout after the inner finished cancelling, at {:?}",
                h.time()
            ));
        }
        let returns_on_cancel = async {
            match sleep(10).await {
                Err(_) => Ok("value produced while being cancelled"),
                Ok(()) => Ok("slept"),
            }
        };
        let r = wait_for(returns_on_cancel, 1).await?;
        l.push(format!("result kept: {r} at {:?}", h.time()));
        if let Err(Error::Timeout(_)) = wait_for(sleep_with(1, "on time"), 1).await {
            l.push(format!(
                "same instant, timeout's timer first: TimeoutError at {:?}",
                h.time()
            ));
        }
        let early = create_task(sleep_with(1, "made it"))?;
        sleep(0).await?;
        let r = wait_for(early, 1).await?;
        l.push(format!(
            "same instant, inner's timer first: {r} at {:?}",
            h.time()
        ));
        let fut: Future<&str> = Future::new();
        fut.set_result("ready")?;
        l.push(format!(
            "timeout 0, done future: {}",
            wait_for(fut, 0).await?
        ));
        if let Err(Error::Timeout(_)) = wait_for(sleep_with(1, "never"), 0).await {
            l.push(format!("timeout 0 raises TimeoutError at {:?}", h.time()));
        }
        let r = wait_for(sleep_with(3, "unbounded"), None::<f64>).await?;
        l.push(format!("no limit: {r} at {:?}", h.time()));
        let inner = create_task(sleep_with(10, "inner"))?;
        let c = create_task(wait_for(inner.clone(), 5))?;
        sleep(1).await?;
        c.cancel();
        if let Err(Error::Cancelled(_)) = c.await {
            l.push(format!(
                "caller cancelled; inner cancelled: {} at {:?}",
                py(inner.cancelled()),
                h.time()
            ));
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(log.text(), expected("wait_for_races"));
}

#[test]
fn taskgroup_order() {
    async fn child(
        log: Log,
        lp: LoopHandle,
        name: &'static str,
        delay: u32,
        fail: bool,
    ) -> Result<&'static str, Error> {
        if let Err(e) = sleep(delay).await {
            log.push(format!("{name} cancelled at {:?}", lp.time()));
            return Err(e);
        }
        if fail {
            log.push(format!("{name} fails at {:?}", lp.time()));
            return Err(Error::msg(name));
        }
        log.push(format!("{name} done at {:?}", lp.time()));
        Ok(name)
    }
    let lp = EventLoop::new();
    let log = Log::new();
    let (l, h) = (log.clone(), lp.handle());
    lp.run_until_complete(async move {
        let (ll, hh) = (l.clone(), h.clone());
        let (a, b) = task_group(|tg| async move {
            let a = tg.create_task(child(ll.clone(), hh.clone(), "a", 2, false))?;
            let b = tg.create_task(child(ll.clone(), hh.clone(), "b", 1, false))?;
            ll.push(format!("body done at {:?}", hh.time()));
            Ok((a, b))
        })
        .await?;
        l.push(format!(
            "group 1 done at {:?} {} {}",
            h.time(),
            a.result()?,
            b.result()?
        ));
        let (ll, hh) = (l.clone(), h.clone());
        let r = task_group(|tg| async move {
            tg.create_task(child(ll.clone(), hh.clone(), "d", 1, true))?;
            tg.create_task(child(ll.clone(), hh.clone(), "e", 2, true))?;
            if let Err(e) = sleep(10).await {
                let n = current_task().unwrap().cancelling();
                ll.push(format!("body cancelled at {:?} cancelling {n}", hh.time()));
                return Err(e);
            }
            Ok(())
        })
        .await;
        if let Err(Error::Group(errors)) = &r {
            let shown: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            l.push(format!(
                "group 2 raised {} at {:?} cancelling {}",
                py_list(&shown),
                h.time(),
                current_task().unwrap().cancelling()
            ));
        }
        if let Err(e @ Error::Group(_)) = &r {
            // Python's str(eg) is the first line of the Display, after the type's name.
            let text = e.to_string();
            let first = text.lines().next().unwrap();
            l.push(format!(
                "group 2: {}",
                first.trim_start_matches("ExceptionGroup: ")
            ));
        }
        let (ll, hh) = (l.clone(), h.clone());
        let t = create_task(task_group(move |tg| async move {
            tg.create_task(child(ll.clone(), hh.clone(), "f", 5, false))?;
            Ok(())
        }))?;
        sleep(1).await?;
        t.cancel();
        if let Err(Error::Cancelled(_)) = t.await {
            l.push(format!("outer cancel propagated at {:?}", h.time()));
        }
        let (ll, hh) = (l.clone(), h.clone());
        let r: Result<(), Error> = task_group(|tg| async move {
            tg.create_task(child(ll.clone(), hh.clone(), "h", 1, false))?;
            Err(Error::msg("KeyError('body')"))
        })
        .await;
        if let Err(Error::Group(errors)) = r {
            let shown: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            l.push(format!(
                "body error grouped: {} at {:?}",
                py_list(&shown),
                h.time()
            ));
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(log.text(), expected("taskgroup_order"));
}

#[test]
fn timeout_scope() {
    let lp = EventLoop::new();
    let log = Log::new();
    let (l, h) = (log.clone(), lp.handle());
    let r = lp.run_until_complete(async move {
        let cm = timeout(2);
        let (ll, hh) = (l.clone(), h.clone());
        let r = cm
            .run(async move {
                let r = sleep(10).await;
                if r.is_err() {
                    ll.push(format!("body saw CancelledError at {:?}", hh.time()));
                }
                r
            })
            .await;
        if let Err(Error::Timeout(_)) = r {
            l.push(format!(
                "TimeoutError at {:?} expired {} cancelling {}",
                h.time(),
                py(cm.expired()),
                current_task().unwrap().cancelling()
            ));
        }
        let cm = timeout(5);
        let (cm2, hh) = (cm.clone(), h.clone());
        cm.run(async move {
            sleep(1).await?;
            cm2.reschedule(hh.time() + 10.0)?;
            sleep(6).await
        })
        .await?;
        l.push(format!(
            "rescheduled scope finished at {:?} expired {}",
            h.time(),
            py(cm.expired())
        ));
        let inner = timeout(1);
        let i2 = inner.clone();
        if let Err(Error::Timeout(_)) = timeout(10).run(async move { i2.run(sleep(5)).await }).await
        {
            l.push(format!(
                "inner TimeoutError at {:?} inner expired {}",
                h.time(),
                py(inner.expired())
            ));
        }
        let cm = timeout(None::<f64>);
        cm.run(sleep(1)).await?;
        l.push(format!(
            "no deadline: {} at {:?}",
            cm.when().map_or("None".to_string(), |w| w.to_string()),
            h.time()
        ));
        let (ll, hh) = (l.clone(), h.clone());
        timeout_at(h.time() - 1.0)
            .run(async move {
                match sleep(0).await {
                    Ok(()) => ll.push("not reached"),
                    Err(e) => {
                        ll.push(format!(
                            "past deadline cancels on the next iteration at {:?}",
                            hh.time()
                        ));
                        return Err(e);
                    }
                }
                Ok(())
            })
            .await?;
        l.push("not reached either");
        Ok(())
    });
    if let Err(Error::Timeout(_)) = r {
        log.push(format!("main raised TimeoutError at {:?}", lp.time()));
    }
    assert_eq!(log.text(), expected("timeout_scope"));
}

#[test]
fn as_completed_order() {
    async fn slow(delay: u32, result: &'static str, fail: bool) -> Result<&'static str, Error> {
        sleep(delay).await?;
        if fail {
            return Err(value_error(result));
        }
        Ok(result)
    }
    let lp = EventLoop::new();
    let log = Log::new();
    let (l, h) = (log.clone(), lp.handle());
    lp.run_until_complete(async move {
        for next in tulipsim::as_completed(vec![
            slow(3, "c", false),
            slow(1, "a", false),
            slow(2, "b", false),
        ]) {
            l.push(format!("got {} at {:?}", next.await?, h.time()));
        }
        let late = create_task(slow(9, "slow", false))?;
        let quick = tulipsim::ensure_future(slow(1, "quick", false));
        for next in tulipsim::as_completed(vec![quick, late.as_future()]).timeout(5) {
            match next.await {
                Ok(r) => l.push(format!("got {r} at {:?}", h.time())),
                Err(Error::Timeout(_)) => l.push(format!(
                    "TimeoutError at {:?} late cancelled {}",
                    h.time(),
                    py(late.cancelled())
                )),
                Err(e) => return Err(e),
            }
        }
        l.push(format!(
            "late still finishes: {} at {:?}",
            (&late).await?,
            h.time()
        ));
        for next in tulipsim::as_completed(vec![slow(1, "bad", true), slow(2, "good", false)]) {
            match next.await {
                Ok(r) => l.push(format!("got {r} at {:?}", h.time())),
                Err(e) => l.push(format!("raised {e} at {:?}", h.time())),
            }
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(log.text(), expected("as_completed_order"));
}

#[test]
fn taskref_state() {
    use std::cell::RefCell;
    use std::collections::BTreeMap;
    use std::rc::Rc;
    use tulipsim::TaskRef;

    type Refs = Rc<RefCell<BTreeMap<&'static str, TaskRef>>>;
    async fn child(name: &'static str, refs: Refs) -> Result<&'static str, Error> {
        refs.borrow_mut().insert(name, current_task().unwrap());
        sleep(1).await?;
        if name == "fail" || name == "lost" {
            return Err(Error::msg(format!("{name} failed")));
        }
        Ok(name)
    }
    /// Python's type name for the errors of this program.
    fn kind(e: &Error) -> &'static str {
        match e {
            Error::User(_) => "ValueError",
            other => other.kind_name(),
        }
    }
    fn show(name: &str, t: &TaskRef) -> String {
        let mut s = format!(
            "{name} done {} cancelled {}",
            py(t.done()),
            py(t.cancelled())
        );
        match t.exception() {
            Ok(None) => s.push_str(" exception -> None"),
            Ok(Some(e)) => s.push_str(&format!(" exception -> {e}")),
            Err(e) if e.is_cancelled() => s.push_str(" exception raises CancelledError"),
            Err(Error::InvalidState(m)) => {
                s.push_str(&format!(" exception raises InvalidStateError {m}"))
            }
            Err(e) => panic!("{e:?}"),
        }
        match t.result() {
            Ok(()) => s.push_str(" result returns"),
            Err(e) if e.is_cancelled() => s.push_str(" result raises CancelledError"),
            Err(e) => s.push_str(&format!(" result raises {}", kind(&e))),
        }
        s
    }
    let lp = EventLoop::new();
    let log = Log::new();
    let reports = Rc::new(RefCell::new(Vec::new()));
    let r = reports.clone();
    lp.set_exception_handler(move |ctx| {
        r.borrow_mut()
            .push(format!("('{}', '{}')", ctx.message(), ctx.error().unwrap()))
    });
    let l = log.clone();
    lp.run_until_complete(async move {
        let refs: Refs = Rc::default();
        for name in ["ok", "fail", "cancel", "lost"] {
            drop(create_task(child(name, refs.clone()))?);
        }
        sleep(0).await?;
        l.push(show("ok", &refs.borrow()["ok"]));
        refs.borrow()["cancel"].cancel();
        sleep(2).await?;
        for name in ["ok", "fail", "cancel"] {
            l.push(show(name, &refs.borrow()[name]));
        }
        l.push(format!("lost done {}", py(refs.borrow()["lost"].done())));
        refs.borrow_mut().clear();
        sleep(0).await?;
        l.push(format!("reports [{}]", reports.borrow().join(", ")));
        Ok(())
    })
    .unwrap();
    assert_eq!(log.text(), expected("taskref_state"));
}
