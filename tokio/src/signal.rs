//! tokio's `signal::ctrl_c`, which in a simulation completes only when the test sends it
//! with [`sim::ctrl_c`](crate::sim::ctrl_c). No real signal handler is ever installed.

use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::task::{Poll, Waker};

thread_local! {
    static CTRL_C: RefCell<(u64, Vec<Waker>)> = const { RefCell::new((0, Vec::new())) };
}

/// Waits for a simulated Ctrl-C: [`sim::ctrl_c`](crate::sim::ctrl_c) sends one to every
/// waiting `ctrl_c()`. A server that shuts down on Ctrl-C runs until the test sends it.
///
/// ```
/// # use tulipsim_tokio as tokio;
/// # #[cfg(tulipsim)] {
/// use std::time::Duration;
/// tulipsim::EventLoop::new().run_until_complete(async {
///     let server = tokio::spawn(async {
///         tokio::signal::ctrl_c().await.unwrap();
///         "shut down"
///     });
///     tokio::time::sleep(Duration::from_secs(1)).await;
///     assert!(!server.is_finished());
///     tokio::sim::ctrl_c();
///     assert_eq!(server.await.unwrap(), "shut down");
///     Ok(())
/// }).unwrap();
/// # }
/// ```
pub async fn ctrl_c() -> io::Result<()> {
    let mut seen = None;
    poll_fn(|cx| {
        CTRL_C.with(|c| {
            let mut c = c.borrow_mut();
            let since = *seen.get_or_insert(c.0);
            if c.0 > since {
                return Poll::Ready(Ok(()));
            }
            if !c.1.iter().any(|w| w.will_wake(cx.waker())) {
                c.1.push(cx.waker().clone());
            }
            Poll::Pending
        })
    })
    .await
}

/// Sends a simulated Ctrl-C to every waiting [`ctrl_c`].
pub(crate) fn send_ctrl_c() {
    let wakers = CTRL_C.with(|c| {
        let mut c = c.borrow_mut();
        c.0 += 1;
        std::mem::take(&mut c.1)
    });
    wakers.into_iter().for_each(Waker::wake);
}
