//! Closing (or dropping) a loop frees every task, future and callback it holds, reference
//! cycles included. Every shape below is an `Rc` cycle that only the loop can break.

use crate::common;

use std::cell::RefCell;
use std::rc::Rc;

use tulipsim::{create_task, sleep, EventLoop, Future, Task, TimerHandle};

use common::Live;

/// Builds every cycle shape on `lp`; returns how many objects it tracked.
fn build_cycles(lp: &EventLoop, live: &Live) -> usize {
    // 1. A task that holds the future it awaits (task -> coroutine -> future -> wakeup -> task).
    let f = lp.create_future::<()>();
    let (t, g) = (live.track(), f.clone());
    lp.create_task(async move {
        let _t = t;
        g.await
    });
    // 2. A future whose done-callback holds the future itself.
    let f2 = lp.create_future::<u8>();
    let (t, again) = (live.track(), f2.clone());
    f2.add_done_callback(move |_: &Future<u8>| {
        let _keep = (&t, &again);
    });
    // 3. A timer whose callback holds its own handle.
    let slot: Rc<RefCell<Option<TimerHandle>>> = Rc::default();
    let (t, s) = (live.track(), slot.clone());
    let h = lp.call_later(100, move || {
        let _keep = (&t, s.borrow().clone());
    });
    *slot.borrow_mut() = Some(h);
    // 4. Two tasks awaiting each other through futures they hand over.
    let a_slot: Rc<RefCell<Option<Task<()>>>> = Rc::default();
    let (t, s) = (live.track(), a_slot.clone());
    let b = lp.create_task(async move {
        let _t = t;
        sleep(0).await?;
        let a = s.borrow().clone();
        match a {
            Some(a) => a.await,
            None => Ok(()),
        }
    });
    let t = live.track();
    let a = lp.create_task(async move {
        let _t = t;
        b.await
    });
    *a_slot.borrow_mut() = Some(a);
    // 5. A call_soon callback that never runs, holding its own handle.
    let slot: Rc<RefCell<Option<tulipsim::Handle>>> = Rc::default();
    let (t, s) = (live.track(), slot.clone());
    let h = lp.call_soon(move || {
        let _keep = (&t, s.borrow().clone());
    });
    *slot.borrow_mut() = Some(h);
    // 6. A task spawned from inside a task, holding a loop handle, sleeping past the end.
    let t = live.track();
    lp.create_task(async move {
        let t2 = t;
        create_task(async move {
            let _t = t2;
            let _lp = tulipsim::get_running_loop()?;
            sleep(1000).await
        })?;
        Ok(())
    });
    6 + 1
}

#[test]
fn closing_a_loop_frees_every_cycle() {
    let live = Live::default();
    let lp = EventLoop::new();
    let n = build_cycles(&lp, &live);
    assert_eq!(live.count(), n);
    lp.run_until_complete(sleep(5)).unwrap();
    // Shape 5's call_soon callback ran and was freed; the rest are pending cycles.
    assert_eq!(live.count(), n - 1, "the cycles are alive before close");
    lp.close().unwrap();
    assert_eq!(live.count(), 0, "close freed everything");
}

#[test]
fn dropping_a_loop_that_never_ran_frees_every_cycle() {
    let live = Live::default();
    {
        let lp = EventLoop::new();
        build_cycles(&lp, &live);
        let _ = lp.take_reports();
    }
    assert_eq!(live.count(), 0);
}

#[test]
fn dropping_a_loop_after_a_deadlock_frees_every_cycle() {
    let live = Live::default();
    {
        let lp = EventLoop::new();
        build_cycles(&lp, &live);
        let never = lp.create_future::<()>();
        let _ = lp.run_until_complete(async move { never.await });
        lp.close().unwrap();
        let _ = lp.take_reports();
    }
    assert_eq!(live.count(), 0);
}

#[test]
fn a_finished_run_frees_everything_without_closing() {
    let live = Live::default();
    let lp = EventLoop::new();
    let t = live.track();
    lp.run_until_complete(async move {
        let mut tasks = vec![];
        for _ in 0..10 {
            let t = t.0.track();
            let f: Future<u32> = Future::new();
            let g = f.clone();
            tasks.push(create_task(async move {
                let _t = t;
                g.await
            })?);
            sleep(0.1).await?;
            f.set_result(1)?;
        }
        for task in tasks {
            task.await?;
        }
        drop(t);
        Ok(())
    })
    .unwrap();
    assert_eq!(live.count(), 0, "nothing waits for close");
    assert!(lp.all_tasks().is_empty());
}
