//! asyncio's guarantees as properties: each holds for every generated workload (trees of tasks
//! with random sleeps, results, errors and catches), under every schedule FIFO, Random and PCT
//! produce, with injected faults. `docs/invariants.md` lists them, one sentence each.
//!
//! `cargo test` runs 64 cases per property; `PROPTEST_CASES=N` runs N. A failure shrinks to a
//! small workload and prints its env (policy, seed, faults).

#![allow(clippy::type_complexity)] // the handles a program leaves for its checks are tuples

use std::cell::RefCell;
use std::rc::Rc;

use proptest::prelude::*;
use tulipsim::scheduler::FaultKind;
use tulipsim::{
    create_task_named, gather, gather_return_exceptions, shield, sleep, task_group, timeout, wait,
    wait_for, Error, Future, Policy, ReturnWhen, Task,
};
use tulipsim_sim::scenario::Half;
use tulipsim_sim::workload::{
    env, env_without_spurious_cancels, leaf, node, Catch, End, Env, Node, Record,
};

fn config() -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = 64;
    }
    c
}

/// When (if ever) a canceller acts, in half seconds.
fn when() -> impl Strategy<Value = Option<Half>> {
    prop_oneof![1 => Just(None), 3 => (0u8..=4).prop_map(|h| Some(Half(h)))]
}

/// A slot the program fills with the handles the test inspects afterwards.
type Slot<T> = Rc<RefCell<Option<T>>>;

fn slot<T>() -> Slot<T> {
    Rc::new(RefCell::new(None))
}

/// A task that sleeps until `at`, then runs `act`.
fn later(at: Half, act: impl FnOnce() + 'static) -> Result<Task<i64>, Error> {
    create_task_named("canceller", async move {
        sleep(at.secs()).await?;
        act();
        Ok(0)
    })
}

fn outcome(t: &Task<i64>) -> String {
    if !t.done() {
        "pending".into()
    } else if t.cancelled() {
        "cancelled".into()
    } else {
        match t.result() {
            Ok(v) => format!("result {v}"),
            Err(e) => format!("exception {e}"),
        }
    }
}

proptest! {
    #![proptest_config(config())]

    /// shield: cancelling the caller never cancels the inner, and the caller gets
    /// CancelledError; the inner's result stays retrievable; cancelling the inner by other
    /// means cancels the shield; the inner's error reaches an uncancelled caller.
    #[test]
    fn shield_(inner in node(), at in when(), hit_inner in any::<bool>(), env in env_without_spurious_cancels()) {
        let natural_end = inner.end.clone();
        let handles: Slot<(Task<i64>, Task<i64>, Future<i64>)> = slot();
        let h = handles.clone();
        let run = env.run(move || {
            let (inner, h) = (inner.clone(), h.clone());
            *h.borrow_mut() = None; // the calibration run filled it too
            async move {
                let rec = Record::default();
                let it = inner.spawn_recorded("inner", &rec)?;
                let shielded = shield(it.clone());
                let s = shielded.clone();
                let caller = create_task_named("caller", async move { s.await })?;
                if let Some(at) = at {
                    let (c, i) = (caller.clone(), it.clone());
                    later(at, move || { if hit_inner { i.cancel(); } else { c.cancel(); } })?;
                }
                *h.borrow_mut() = Some((it, caller, shielded));
                Ok(())
            }
        });
        let Some((inner_t, caller, shielded)) = handles.borrow_mut().take() else {
            prop_assume!(false, "the program ended before it handed over what this property checks");
            unreachable!()
        };
        prop_assert!(run.settle(&[inner_t.clone(), caller.clone()]));
        let caller_cancelled_first = at.is_some() && !hit_inner && caller.cancelling() > 0;
        if caller_cancelled_first && caller.cancelled() {
            // The caller's cancellation did not reach the inner.
            prop_assert_eq!(inner_t.cancelling(), 0, "inner: {}", outcome(&inner_t));
            prop_assert!(!inner_t.cancelled());
        }
        if at.is_none() || hit_inner {
            // Nobody cancelled the caller: it sees exactly what the inner ended with.
            let want = match (inner_t.cancelled(), inner_t.result()) {
                (true, _) => "cancelled".to_string(),
                (false, Ok(v)) => format!("result {v}"),
                (false, Err(e)) => format!("exception {e}"),
            };
            prop_assert_eq!(outcome(&caller), want);
            if inner_t.cancelled() {
                prop_assert!(shielded.cancelled(), "cancelling the inner cancels the shield");
            }
        }
        // Unless someone cancelled the inner itself, it runs to its own end whatever happened
        // to the caller, and that outcome stays retrievable.
        if at.is_none() || !hit_inner {
            let natural = match natural_end {
                End::Return(v) => format!("result {v}"),
                End::Raise => format!("exception {}", Node::error_text("inner")),
            };
            prop_assert_eq!(outcome(&inner_t), natural);
        }
        let _ = run.lp.close();
    }

    /// gather: results come in argument order; without return_exceptions the outer's error is
    /// a failed child's (under FIFO, the first in completion order) and the other children are
    /// not cancelled by it; cancelling the outer requests the cancellation of every child not
    /// done; a child's cancellation never cancels the outer; with return_exceptions every child
    /// is done when the outer is.
    #[test]
    fn gather_(children in prop::collection::vec(node(), 1..=4), return_exceptions in any::<bool>(),
               at in when(), hit_outer in any::<bool>(), env in env_without_spurious_cancels()) {
        type Handles = (Vec<Task<i64>>, Task<i64>, Record, Rc<dyn Fn() -> (bool, bool)>);
        let handles: Slot<Handles> = slot();
        let h = handles.clone();
        let n = children.len();
        let run = env.run(move || {
            let (children, h) = (children.clone(), h.clone());
            *h.borrow_mut() = None; // the calibration run filled it too
            async move {
                let rec = Record::default();
                let kids: Vec<Task<i64>> = children
                    .iter()
                    .enumerate()
                    .map(|(i, c)| c.spawn_recorded(&format!("c{i}"), &rec))
                    .collect::<Result<_, _>>()?;
                // The outer, seen through closures (its type depends on return_exceptions):
                // cancel it if pending, and read (cancelled(), its outcome is Ok).
                let (outer_cancel, outer_state, caller): (Rc<dyn Fn() -> bool>, Rc<dyn Fn() -> (bool, bool)>, Task<i64>) = if return_exceptions {
                    let g = gather_return_exceptions(kids.clone());
                    let (g2, g3) = (g.clone(), g.clone());
                    (Rc::new(move || !g2.done() && { g2.cancel(); true }),
                     Rc::new(move || (g3.cancelled(), g3.result().is_ok())),
                     create_task_named("caller", async move { g.await.map(|_| 0) })?)
                } else {
                    let g = gather(kids.clone());
                    let (g2, g3) = (g.clone(), g.clone());
                    (Rc::new(move || !g2.done() && { g2.cancel(); true }),
                     Rc::new(move || (g3.cancelled(), g3.result().is_ok())),
                     create_task_named("caller", async move { g.await.map(|_| 0) })?)
                };
                // Which children were pending when the outer was cancelled.
                let pending_at_cancel = Rc::new(RefCell::new(Vec::new()));
                if let Some(at) = at {
                    let (k, p) = (kids.clone(), pending_at_cancel.clone());
                    let target = k[0].clone();
                    later(at, move || {
                        if hit_outer {
                            *p.borrow_mut() = k.iter().map(|t| !t.done()).collect();
                            if !outer_cancel() {
                                return; // the outer was done: cancel() does nothing
                            }
                            // Asked at once: every child not done has a cancellation requested.
                            for (t, was_pending) in k.iter().zip(p.borrow().iter()) {
                                assert!(!was_pending || t.cancelling() > 0, "a pending child was not cancelled");
                            }
                        } else {
                            target.cancel();
                        }
                    })?;
                }
                *h.borrow_mut() = Some((kids, caller, rec, outer_state));
                Ok(())
            }
        });
        let Some((kids, caller, rec, outer_state)) = handles.borrow_mut().take() else {
            prop_assume!(false, "the program ended before it handed over what this property checks");
            unreachable!()
        };
        let mut all = kids.clone();
        all.push(caller.clone());
        prop_assert!(run.settle(&all));
        let outer_cancelled = at.is_some() && hit_outer;
        if !outer_cancelled {
            // A child's cancellation (the canceller's, when it hits a child) never cancels the
            // outer; with return_exceptions the outer still completes with every outcome.
            let (cancelled, ok) = outer_state();
            prop_assert!(!cancelled, "the outer was cancelled");
            prop_assert!(!return_exceptions || ok, "gather(return_exceptions) failed");
        }
        match caller.result() {
            Ok(_) => {
                // The values' order is gather_results_in_argument_order's; here: all are done.
                for t in &kids {
                    prop_assert!(t.done());
                }
            }
            Err(e) if !e.is_cancelled() => {
                prop_assert!(!return_exceptions, "return_exceptions never raises a child's error");
                let failed: Vec<String> = (0..n).map(|i| format!("c{i}")).filter(|c| {
                    kids[c[1..].parse::<usize>().unwrap()].exception().is_ok_and(|x| x.is_some_and(|x| x.to_string() == e.to_string()))
                }).collect();
                prop_assert!(!failed.is_empty(), "gather raised {e}, which no child raised");
                if matches!(env.policy, Policy::Fifo) {
                    let first_failure = rec.finish_order().into_iter().find(|c| {
                        c.len() == 2 && kids[c[1..].parse::<usize>().unwrap()].exception().is_ok_and(|x| x.is_some())
                    });
                    prop_assert_eq!(first_failure.as_ref(), failed.first());
                }
                if !outer_cancelled && at.is_none() {
                    for t in &kids {
                        prop_assert!(!t.cancelled(), "a child's error cancelled a sibling");
                    }
                }
            }
            Err(_) => {}
        }
        let _ = run.lp.close();
    }

    /// gather's results are in argument order, whatever the completion order.
    #[test]
    fn gather_results_in_argument_order(children in prop::collection::vec(leaf(), 1..=5), env in env()) {
        let values: Slot<(Vec<Task<i64>>, Vec<i64>)> = slot();
        let v = values.clone();
        let run = env.run(move || {
            let (children, v) = (children.clone(), v.clone());
            *v.borrow_mut() = None; // the calibration run filled it too
            async move {
                let kids: Vec<Task<i64>> = children.iter().enumerate()
                    .map(|(i, c)| c.spawn(&format!("c{i}"))).collect::<Result<_, _>>()?;
                let got = gather_return_exceptions(kids.clone()).await?;
                let got = got.into_iter().map(|r| r.unwrap_or(-1)).collect();
                *v.borrow_mut() = Some((kids, got));
                Ok(())
            }
        });
        if let Some((kids, got)) = values.borrow_mut().take() {
            let want: Vec<i64> = kids.iter().map(|t| t.result().unwrap_or(-1)).collect();
            prop_assert_eq!(got, want);
        }
        let _ = run.lp.close();
    }

    /// wait_for: Ok(v) means the inner finished with v; a TimeoutError means the inner is done
    /// and cancelled (or raised a TimeoutError of its own) and came no earlier than the deadline
    /// unless a timeout was injected; a result the inner produced is never lost; cancelling the
    /// caller cancels the inner.
    #[test]
    fn wait_for_(inner in node(), limit in prop::option::of(0u8..=4), at in when(), env in env_without_spurious_cancels()) {
        // (inner, caller, when the caller's cancel landed while it waited on a pending inner,
        // what the inner did)
        let handles: Slot<(Task<i64>, Task<i64>, Rc<std::cell::Cell<Option<i64>>>, Record)> = slot();
        let h = handles.clone();
        let run = env.run(move || {
            let (inner, h) = (inner.clone(), h.clone());
            *h.borrow_mut() = None; // the calibration run filled it too
            async move {
                let rec = Record::default();
                let it = inner.spawn_recorded("inner", &rec)?;
                let i2 = it.clone();
                let waiting = Rc::new(std::cell::Cell::new(false));
                let w = waiting.clone();
                let caller = create_task_named("caller", async move {
                    w.set(true);
                    let start = tulipsim::get_running_loop()?.time_ns();
                    let r = wait_for(i2, limit.map(|h| Half(h).secs())).await;
                    let elapsed = tulipsim::get_running_loop()?.time_ns() - start;
                    r.map_err(|e| if matches!(e, Error::Timeout(_)) { Error::msg(format!("timeout after {elapsed}")) } else { e })
                })?;
                let landed = Rc::new(std::cell::Cell::new(None));
                if let Some(at) = at {
                    let (c, i, w, l) = (caller.clone(), it.clone(), waiting.clone(), landed.clone());
                    later(at, move || {
                        let mid_wait = w.get() && !c.done() && !i.done();
                        if c.cancel() && mid_wait {
                            l.set(tulipsim::get_running_loop().ok().map(|lp| lp.time_ns()));
                        }
                    })?;
                }
                *h.borrow_mut() = Some((it, caller, landed, rec));
                Ok(())
            }
        });
        let Some((inner_t, caller, landed_mid_wait, rec)) = handles.borrow_mut().take() else {
            prop_assume!(false, "the program ended before it handed over what this property checks");
            unreachable!()
        };
        prop_assert!(run.settle(&[inner_t.clone(), caller.clone()]));
        let caller_cancel_requested = caller.cancelling() > 0;
        match caller.result() {
            Ok(v) => prop_assert_eq!(inner_t.result(), Ok(v)),
            Err(e) if e.to_string().starts_with("timeout after ") => {
                let elapsed: i64 = e.to_string()["timeout after ".len()..].parse().unwrap();
                prop_assert!(inner_t.done(), "no orphan keeps running");
                let own_timeout = inner_t.exception().is_ok_and(|x| x.is_some_and(|x| matches!(x, Error::Timeout(_))));
                prop_assert!(inner_t.cancelled() || own_timeout, "inner: {}", outcome(&inner_t));
                let deadline = Half(limit.expect("a timeout needs a limit")).nanos();
                prop_assert!(elapsed >= deadline || run.injected(FaultKind::EarlyTimeout),
                    "timed out after {elapsed} ns, deadline {deadline} ns");
            }
            Err(_) => {}
        }
        // A result the inner produced reached the caller, unless the caller was cancelled.
        if let Ok(v) = inner_t.result() {
            prop_assert!(caller.result() == Ok(v) || caller_cancel_requested,
                "inner returned {v}, caller: {}", outcome(&caller));
        }
        // Cancelling the caller while it waits on a pending inner asks the inner to cancel,
        // unless the inner finishes first, at that same instant, before the caller resumes
        // (then wait_for finds it done, as asyncio's does).
        if let Some(cancelled_at) = landed_mid_wait.get() {
            let finished_then = rec.finished_at("inner") == Some(cancelled_at);
            prop_assert!(inner_t.cancelling() > 0 || finished_then,
                "inner {} was not asked to cancel", outcome(&inner_t));
        }
        let _ = run.lp.close();
    }

    /// wait: done and pending partition the input; FIRST_COMPLETED returns at the first
    /// completion; a timeout cancels nothing.
    #[test]
    fn wait_(children in prop::collection::vec(leaf(), 1..=4), mode in 0u8..3, limit in prop::option::of(0u8..=4), env in env_without_spurious_cancels()) {
        type Handles = (Vec<Task<i64>>, Vec<Task<i64>>, Vec<Task<i64>>, i64, Record);
        let handles: Slot<Handles> = slot();
        let h = handles.clone();
        let when = [ReturnWhen::FirstCompleted, ReturnWhen::FirstException, ReturnWhen::AllCompleted][usize::from(mode)];
        let run = env.run(move || {
            let (children, h) = (children.clone(), h.clone());
            *h.borrow_mut() = None; // the calibration run filled it too
            async move {
                let rec = Record::default();
                let kids: Vec<Task<i64>> = children.iter().enumerate()
                    .map(|(i, c)| c.spawn_recorded(&format!("c{i}"), &rec)).collect::<Result<_, _>>()?;
                let (done, pending) = wait(kids.clone()).return_when(when).timeout(limit.map(|h| Half(h).secs())).await?;
                let now = tulipsim::get_running_loop()?.time_ns();
                // As wait returns: done is done; pending is pending, and not asked to cancel.
                assert!(done.iter().all(|d| d.done()), "a task in done is not done");
                for p in &pending {
                    assert!(!p.done() && p.cancelling() == 0, "a timeout cancelled a pending task");
                }
                *h.borrow_mut() = Some((kids, done, pending, now, rec));
                Ok(())
            }
        });
        let Some((kids, done, pending, returned_at, rec)) = handles.borrow_mut().take() else {
            prop_assume!(false, "the program ended before it handed over what this property checks");
            unreachable!()
        };
        for k in &kids {
            let in_done = done.iter().filter(|d| d.as_future().same(&k.as_future())).count();
            let in_pending = pending.iter().filter(|d| d.as_future().same(&k.as_future())).count();
            prop_assert_eq!(in_done + in_pending, 1, "each input is in exactly one set");
        }
        prop_assert_eq!(done.len() + pending.len(), kids.len());
        if when == ReturnWhen::FirstCompleted && limit.is_none() {
            let first = kids.iter().enumerate().filter_map(|(i, _)| rec.finished_at(&format!("c{i}"))).min();
            prop_assert_eq!(Some(returned_at), first, "FIRST_COMPLETED returns at the first completion");
        }
        prop_assert!(run.settle(&kids));
        let _ = run.lp.close();
    }

    /// cancellation: cancel() on a done task returns false and changes nothing; a leaf task
    /// that never catches CancelledError ends cancelled; a caught cancellation lets the task
    /// finish normally.
    #[test]
    fn cancellation(task in leaf(), at in 0u8..=4, env in env()) {
        let catch = task.catch.clone();
        let handles: Slot<(Task<i64>, Rc<RefCell<Option<(bool, String, String)>>>)> = slot();
        let h = handles.clone();
        let run = env.run(move || {
            let (task, h) = (task.clone(), h.clone());
            *h.borrow_mut() = None; // the calibration run filled it too
            async move {
                let t = task.spawn("t")?;
                let answer = Rc::new(RefCell::new(None));
                let (t2, a) = (t.clone(), answer.clone());
                later(Half(at), move || {
                    let before = outcome(&t2);
                    let said = t2.cancel();
                    *a.borrow_mut() = Some((said, before, outcome(&t2)));
                })?;
                *h.borrow_mut() = Some((t, answer));
                Ok(())
            }
        });
        let Some((t, answer)) = handles.borrow_mut().take() else {
            prop_assume!(false, "the program ended before it handed over what this property checks");
            unreachable!()
        };
        prop_assert!(run.settle(std::slice::from_ref(&t)));
        let Some((said, before, after)) = answer.borrow_mut().take() else {
            prop_assume!(false, "the program ended before it handed over what this property checks");
            unreachable!()
        };
        if before != "pending" {
            prop_assert!(!said, "cancel() on a done task said true");
            prop_assert_eq!(&after, &before, "cancel() on a done task changed it");
            prop_assert_eq!(outcome(&t), before);
        } else {
            prop_assert!(said);
            if !run.spuriously_cancelled("t") {
                match catch {
                    Catch::Propagate => prop_assert!(t.cancelled(), "t: {}", outcome(&t)),
                    Catch::Return(v) => prop_assert_eq!(t.result(), Ok(i64::from(v))),
                    Catch::Resume => prop_assert!(!t.cancelled(), "t: {}", outcome(&t)),
                }
            }
        }
        let _ = run.lp.close();
    }

    /// cancelling()/uncancel() stay balanced through TaskGroup and timeout scopes: a task that
    /// nothing else cancels has no cancellation pending after its scopes end, whether a
    /// timeout fired or a child failed.
    #[test]
    fn scopes_leave_cancelling_balanced(children in prop::collection::vec(leaf(), 0..=3), delay in prop::option::of(0u8..=4), env in env_without_spurious_cancels()) {
        let handles: Slot<(Task<i64>, Rc<RefCell<Vec<u32>>>)> = slot();
        let h = handles.clone();
        let run = env.run(move || {
            let (children, h) = (children.clone(), h.clone());
            *h.borrow_mut() = None; // the calibration run filled it too
            async move {
                let seen = Rc::new(RefCell::new(Vec::new()));
                let s = seen.clone();
                let t = create_task_named("scoped", async move {
                    let me = tulipsim::current_task().expect("in a task");
                    let rec = Record::default();
                    let r = timeout(delay.map(|h| Half(h).secs())).run(task_group(|tg| {
                        let (children, rec) = (children.clone(), rec.clone());
                        async move {
                            for (i, c) in children.iter().enumerate() {
                                let name = format!("k{i}");
                                tg.create_task_named(&name, c.coroutine(&name, &rec))?;
                            }
                            sleep(1).await
                        }
                    })).await;
                    s.borrow_mut().push(me.cancelling());
                    let _ = r;
                    Ok(0)
                })?;
                *h.borrow_mut() = Some((t, seen));
                Ok(())
            }
        });
        let Some((t, seen)) = handles.borrow_mut().take() else {
            prop_assume!(false, "the program ended before it handed over what this property checks");
            unreachable!()
        };
        prop_assert!(run.settle(std::slice::from_ref(&t)));
        prop_assert_eq!(seen.borrow().clone(), vec![0], "cancelling() after the scopes");
        prop_assert_eq!(t.result(), Ok(0));
        let _ = run.lp.close();
    }

    /// loop: virtual time never goes backwards; no timer callback runs before its time; under
    /// FIFO, call_soon callbacks run in the order they were scheduled; at close, every task is
    /// done or reported.
    #[test]
    fn loop_order(tree in node(), delays in prop::collection::vec(0u8..=6, 0..=6), env in env()) {
        let handles: Slot<(Task<i64>, Record, Rc<RefCell<Vec<(usize, i64, i64)>>>)> = slot();
        let h = handles.clone();
        let n_delays = delays.len();
        let run = env.run(move || {
            let (tree, h, delays) = (tree.clone(), h.clone(), delays.clone());
            *h.borrow_mut() = None; // the calibration run filled it too
            async move {
                let lp = tulipsim::get_running_loop()?;
                let rec = Record::default();
                let t = tree.spawn_recorded("root", &rec)?;
                let fired = Rc::new(RefCell::new(Vec::new()));
                for (i, d) in delays.iter().enumerate() {
                    let (f, l) = (fired.clone(), lp.clone());
                    let due = lp.time_ns() + Half(*d).nanos();
                    lp.call_later(Half(*d).secs(), move || f.borrow_mut().push((i, due, l.time_ns())));
                }
                for i in 0..delays.len() {
                    let (f, l) = (fired.clone(), lp.clone());
                    lp.call_soon(move || f.borrow_mut().push((100 + i, 0, l.time_ns())));
                }
                *h.borrow_mut() = Some((t, rec, fired));
                Ok(())
            }
        });
        let Some((t, rec, fired)) = handles.borrow_mut().take() else {
            prop_assume!(false, "the program ended before it handed over what this property checks");
            unreachable!()
        };
        prop_assert!(run.settle(std::slice::from_ref(&t)));
        let times: Vec<i64> = rec.events().iter().map(|(at, _, _)| *at).collect();
        prop_assert!(times.windows(2).all(|w| w[0] <= w[1]), "time went backwards: {times:?}");
        let fired = fired.borrow().clone();
        for (i, due, ran) in &fired {
            prop_assert!(*i >= 100 || ran >= due, "timer {i} due at {due} ran at {ran}");
        }
        if matches!(env.policy, Policy::Fifo) {
            let soon: Vec<usize> = fired.iter().map(|(i, _, _)| *i).filter(|i| *i >= 100).collect();
            prop_assert_eq!(soon, (100..100 + n_delays).collect::<Vec<_>>());
        }
        // Leave a task pending, then close: it is reported, not lost.
        let lp = &run.lp;
        lp.create_task(async { sleep(3600).await.map(|()| 0) });
        let _ = lp.run_until_complete(sleep(0));
        let pending = lp.handle().all_tasks().len();
        let _ = lp.close();
        let reports = lp.take_reports();
        let destroyed = reports.iter().filter(|r| r.message() == "Task was destroyed but it is pending!").count();
        prop_assert_eq!(destroyed, pending,
            "{:?}", reports.iter().map(|r| r.message().to_string()).collect::<Vec<_>>());
    }
}

/// The properties can fail: a workload built to break one is caught. (The mutation score in
/// docs/invariants.md measures this across the library.)
#[test]
fn a_node_that_catches_cancellation_is_not_cancelled() {
    let n = Node {
        catch: Catch::Return(5),
        ..Node::sleeper(4, 1)
    };
    let run = Env::fifo().run(move || {
        let n = n.clone();
        async move {
            let t = n.spawn("t")?;
            sleep(0.5).await?;
            t.cancel();
            t.await
        }
    });
    assert_eq!(run.result, Ok(5));
    assert!(!run.spuriously_cancelled("t"));
}

#[test]
fn envs_cover_every_policy_and_fault() {
    use proptest::strategy::ValueTree;
    if std::env::var_os("TULIPSIM_ENV").is_some() {
        return; // a sweep narrowed the envs on purpose
    }
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let envs: Vec<Env> = (0..200)
        .map(|_| env().new_tree(&mut runner).unwrap().current())
        .collect();
    for name in ["fifo", "random", "pct1", "pct2", "pct3"] {
        assert!(envs.iter().any(|e| e.policy.name() == name), "{name}");
    }
    assert!(envs.iter().any(|e| e.faults.spurious_cancel > 0.0));
    assert!(envs.iter().any(|e| e.faults.early_timeout > 0.0));
    assert!(envs.iter().any(|e| e.faults.timer_jitter > 0.0));
}
