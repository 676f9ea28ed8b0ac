//! Futures that are not tulipsim's (channels from other crates, hand-written futures) work
//! through their `std::task::Waker`; several tulipsim awaits at once (`join`, `select`) too.

use crate::common;

use std::cell::RefCell;
use std::future::{Future as StdFuture, IntoFuture};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use common::Log;
use tulipsim::{create_task, sleep, Error, EventLoop, Future};

/// A minimal one-shot channel of the kind other crates provide: it knows nothing of tulipsim.
#[derive(Clone, Default)]
struct Oneshot(Rc<RefCell<(Option<i32>, Option<Waker>)>>);

impl Oneshot {
    fn send(&self, v: i32) {
        let waker = {
            let mut s = self.0.borrow_mut();
            s.0 = Some(v);
            s.1.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl StdFuture for Oneshot {
    type Output = i32;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<i32> {
        let mut s = self.0.borrow_mut();
        match s.0.take() {
            Some(v) => Poll::Ready(v),
            None => {
                s.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

#[test]
fn a_task_blocked_on_a_foreign_future_is_woken_by_its_waker() {
    let lp = EventLoop::new();
    let chan = Oneshot::default();
    let rx = chan.clone();
    let h = lp.handle();
    let receiver = lp.create_task(async move {
        let v = rx.await;
        Ok((v, h.time()))
    });
    lp.create_task(async move {
        sleep(2).await?;
        chan.send(9);
        Ok(())
    });
    assert_eq!(lp.run_until_complete(receiver), Ok((9, 2.0)));
}

/// Tasks poll with one shared waker until a poll keeps it; later tasks poll with a second
/// shared waker, which each task that keeps it takes as its own. Each of several tasks blocked
/// on foreign futures must still be woken as itself, in the order of the sends (fails when a
/// kept second waker stays in use for the next task).
#[test]
fn each_task_blocked_on_a_foreign_future_is_woken_as_itself() {
    let lp = EventLoop::new();
    let log = Log::default();
    let chans: Vec<Oneshot> = (0..3).map(|_| Oneshot::default()).collect();
    // Polls with the shared waker without keeping it, and finishes (freeing its slot).
    let l = log.clone();
    lp.create_task(async move {
        sleep(0).await?;
        l.push("plain done");
        Ok(())
    });
    for (i, rx) in chans.iter().cloned().enumerate() {
        let l = log.clone();
        lp.create_task(async move {
            sleep(i as u32).await?;
            let v = rx.await;
            l.push(format!("receiver {i} got {v}"));
            Ok(())
        });
    }
    let senders = chans.clone();
    let l = log.clone();
    lp.run_until_complete(async move {
        sleep(5).await?;
        for (i, tx) in senders.iter().enumerate().rev() {
            l.push(format!("send {i}"));
            tx.send(10 + i as i32);
            sleep(0).await?;
            sleep(0).await?;
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(
        log.lines(),
        [
            "plain done",
            "send 2",
            "receiver 2 got 12",
            "send 1",
            "receiver 1 got 11",
            "send 0",
            "receiver 0 got 10",
        ]
    );
}

/// Yields once the way tokio's `yield_now` does: wake yourself, return Pending.
struct YieldNow(bool);

impl StdFuture for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn waking_yourself_yields_like_sleep_zero() {
    let lp = EventLoop::new();
    let log = Log::new();
    for name in ["A", "B"] {
        let l = log.clone();
        lp.create_task(async move {
            for i in 0..2 {
                l.push(format!("{name}{i}"));
                YieldNow(false).await;
            }
            Ok(())
        });
    }
    lp.run_until_complete(sleep(1)).unwrap();
    assert_eq!(log.lines(), ["A0", "B0", "A1", "B1"]);
}

#[test]
fn cancelling_a_task_blocked_on_a_foreign_future_throws_at_its_next_tulipsim_await() {
    let lp = EventLoop::new();
    let log = Log::new();
    let chan = Oneshot::default();
    let (rx, l) = (chan.clone(), log.clone());
    let t = lp.create_task(async move {
        let v = rx.await; // cancel() cannot reach inside this
        l.push(format!("got {v}"));
        let r = sleep(0).await; // the first tulipsim await: the CancelledError lands here
        l.push(format!("sleep(0) gave {r:?}"));
        r
    });
    lp.run_until_complete(sleep(1)).unwrap();
    assert!(t.cancel());
    lp.run_until_complete(sleep(1)).unwrap();
    assert!(!t.done(), "still blocked on the foreign future");
    chan.send(5);
    let r = lp.run_until_complete(t.clone());
    assert!(r.unwrap_err().is_cancelled());
    assert_eq!(log.lines(), ["got 5", "sleep(0) gave Err(CancelledError)"]);
    assert!(t.cancelled());
}

#[test]
fn a_deadlock_on_a_foreign_future_says_so() {
    let lp = EventLoop::new();
    let chan = Oneshot::default();
    let err = lp
        .run_until_complete(async move { Ok(chan.await) })
        .unwrap_err();
    let Error::Deadlock(d) = err else { panic!() };
    assert_eq!(
        d.tasks()[0].awaiting(),
        "a non-tulipsim future (only its std Waker can wake the task)"
    );
}

/// Polls two futures until both are done, as `futures::join!` does.
async fn join2<A: StdFuture, B: StdFuture>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (Box::pin(a), Box::pin(b));
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(move |cx| {
        if ra.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        if ra.is_some() && rb.is_some() {
            Poll::Ready((ra.take().unwrap(), rb.take().unwrap()))
        } else {
            Poll::Pending
        }
    })
    .await
}

/// Returns the first of two futures to finish and drops the other, as `futures::select!` does.
async fn select2<A: StdFuture + Unpin, B: StdFuture + Unpin>(
    mut a: A,
    mut b: B,
) -> Result<A::Output, B::Output> {
    std::future::poll_fn(move |cx| {
        if let Poll::Ready(v) = Pin::new(&mut a).poll(cx) {
            return Poll::Ready(Ok(v));
        }
        if let Poll::Ready(v) = Pin::new(&mut b).poll(cx) {
            return Poll::Ready(Err(v));
        }
        Poll::Pending
    })
    .await
}

#[test]
fn join_of_two_futures_waits_for_both() {
    let lp = EventLoop::new();
    let (a, b) = (lp.create_future::<i32>(), lp.create_future::<i32>());
    let (a2, b2) = (a.clone(), b.clone());
    lp.call_later(1, move || a2.set_result(1).unwrap());
    lp.call_later(2, move || b2.set_result(2).unwrap());
    let r = lp.run_until_complete(async move {
        let (x, y) = join2(a.into_future(), b.into_future()).await;
        Ok(x? + y?)
    });
    assert_eq!(r, Ok(3));
    assert_eq!(lp.time(), 2.0);
}

#[test]
fn cancelling_a_task_in_join_cancels_every_future_it_awaits() {
    let lp = EventLoop::new();
    let (a, b) = (lp.create_future::<i32>(), lp.create_future::<i32>());
    let (a2, b2) = (a.clone(), b.clone());
    let t = lp.create_task(async move {
        let (x, y) = join2(a2.into_future(), b2.into_future()).await;
        Ok((x.is_err(), y.is_err()))
    });
    lp.run_until_complete(sleep(1)).unwrap();
    assert!(t.cancel());
    assert!(
        a.cancelled() && b.cancelled(),
        "both waiters were cancelled"
    );
    assert_eq!(lp.run_until_complete(t), Ok((true, true)));
}

#[test]
fn select_drops_the_loser_and_its_wakeup_with_it() {
    let lp = EventLoop::new();
    let (fast, slow, never) = (
        lp.create_future::<&str>(),
        lp.create_future::<&str>(),
        lp.create_future::<()>(),
    );
    let (f2, s2) = (fast.clone(), slow.clone());
    lp.call_later(1, move || f2.set_result("fast").unwrap());
    lp.call_later(2, move || s2.set_result("slow").unwrap());
    let (f3, s3, n3) = (fast.clone(), slow.clone(), never.clone());
    let err = lp
        .run_until_complete(async move {
            let won = select2(f3.into_future(), s3.into_future()).await;
            assert_eq!(won.unwrap().unwrap(), "fast");
            n3.await
        })
        .unwrap_err();
    // After the select, the task waits only on `never`: the dropped `slow` await left no
    // wakeup behind (its completion at t=2 did not step the task) and is not a waiter.
    let Error::Deadlock(d) = err else {
        panic!("{err:?}")
    };
    assert!(
        d.tasks()[0].awaiting().starts_with("Future<()>"),
        "{}",
        d.tasks()[0].awaiting()
    );
    assert_eq!(lp.time(), 2.0);
    assert_eq!(slow.result(), Ok("slow"));
}

#[test]
fn foreign_and_tulipsim_awaits_mix_in_one_task() {
    let lp = EventLoop::new();
    let chan = Oneshot::default();
    let tx = chan.clone();
    let r = lp.run_until_complete(async move {
        create_task(async move {
            sleep(1).await?;
            tx.send(4);
            Ok(())
        })?;
        let f: Future<i32> = Future::new();
        let setter = f.clone();
        create_task(async move {
            sleep(3).await?;
            setter.set_result(6)
        })?;
        let (x, y) = join2(chan, f.into_future()).await;
        Ok(x + y?)
    });
    assert_eq!(r, Ok(10));
    assert_eq!(lp.time(), 3.0);
}

#[test]
fn two_sleeps_at_once_in_one_task_both_complete_and_both_cancel() {
    let lp = EventLoop::new();
    let h = lp.handle();
    let r = lp.run_until_complete(async move {
        let (a, b) = join2(sleep_with_label(1, "a"), sleep_with_label(2, "b")).await;
        Ok((a?, b?, h.time()))
    });
    assert_eq!(r, Ok(("a", "b", 2.0)));

    let t = lp.create_task(async {
        let (a, b) = join2(sleep(10), sleep(20)).await;
        Ok((a.unwrap_err().is_cancelled(), b.unwrap_err().is_cancelled()))
    });
    lp.run_until_complete(sleep(1)).unwrap();
    t.cancel();
    assert_eq!(lp.run_until_complete(t), Ok((true, true)));
    assert_eq!(
        lp.time(),
        3.0,
        "cancelled at t=3, long before either deadline"
    );
}

fn sleep_with_label(d: u32, label: &'static str) -> tulipsim::Sleep<&'static str> {
    tulipsim::sleep_with(d, label)
}
