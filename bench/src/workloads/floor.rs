//! W0: the floor. A minimal single-threaded executor (a `VecDeque` of ready tasks, no timers,
//! no cancellation, no trace) running the yield storm: what one poll costs with nothing else.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

thread_local! {
    static READY: RefCell<VecDeque<usize>> = const { RefCell::new(VecDeque::new()) };
}

struct TaskWaker(usize);

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        READY.with(|r| r.borrow_mut().push_back(self.0));
    }
}

/// Yields once: wakes itself and returns `Pending`, as `tokio::task::yield_now` does.
struct YieldNow(bool);

impl Future for YieldNow {
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

/// `tasks` tasks each yielding `yields` times; gives the sum of what they return.
pub fn yield_storm(tasks: u64, yields: u64) -> u64 {
    type Boxed = Pin<Box<dyn Future<Output = u64>>>;
    let mut all: Vec<(Option<Boxed>, Waker)> = (0..tasks as usize)
        .map(|i| {
            let fut: Boxed = Box::pin(async move {
                for _ in 0..yields {
                    YieldNow(false).await;
                }
                yields
            });
            (Some(fut), Waker::from(Arc::new(TaskWaker(i))))
        })
        .collect();
    READY.with(|r| r.borrow_mut().extend(0..tasks as usize));
    let mut sum = 0;
    while let Some(i) = READY.with(|r| r.borrow_mut().pop_front()) {
        let (slot, waker) = &mut all[i];
        let Some(fut) = slot.as_mut() else { continue };
        if let Poll::Ready(v) = fut.as_mut().poll(&mut Context::from_waker(waker)) {
            sum += v;
            *slot = None;
        }
    }
    sum
}
