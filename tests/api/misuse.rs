//! Misuse gets a clear error, never a hang or a panic inside tulipsim.

use std::future::{Future as StdFuture, IntoFuture};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::common;
use common::NoopWaker;

use tulipsim::{create_task, current_task, sleep, Error, EventLoop, Future};

/// Polls a future once with a waker that does nothing, outside any tulipsim loop.
fn poll_once<F: StdFuture>(f: F) -> Poll<F::Output> {
    let waker = Waker::from(Arc::new(NoopWaker));
    let mut cx = Context::from_waker(&waker);
    pin!(f).poll(&mut cx)
}

#[test]
fn create_task_outside_a_running_loop_is_an_error() {
    let err = create_task(async { Ok(()) }).unwrap_err();
    assert_eq!(err.to_string(), "RuntimeError: no running event loop");
}

#[test]
fn awaiting_tulipsim_awaitables_outside_a_task_is_an_error() {
    let lp = EventLoop::new();
    let f = lp.create_future::<i32>();
    match poll_once(f.into_future()) {
        Poll::Ready(Err(Error::Runtime(m))) => {
            assert!(m.contains("outside a running tulipsim task"))
        }
        other => panic!("{other:?}"),
    }
    match poll_once(sleep(1)) {
        Poll::Ready(Err(Error::Runtime(m))) => {
            assert!(m.contains("outside a running tulipsim task"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn awaiting_a_future_of_another_loop_is_an_error_not_a_hang() {
    let a = EventLoop::new();
    let foreign = a.create_future::<i32>();
    let b = EventLoop::new();
    let err = b
        .run_until_complete(async move { foreign.await })
        .unwrap_err();
    let Error::Runtime(m) = &err else {
        panic!("{err:?}")
    };
    assert!(
        m.starts_with("Task Task-1 got Future<i32> created at"),
        "{m}"
    );
    assert!(m.ends_with("attached to a different loop"), "{m}");
}

#[test]
fn a_task_awaiting_itself_is_an_error() {
    let lp = EventLoop::new();
    let err = lp
        .run_until_complete(async { current_task().unwrap().await })
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "RuntimeError: Task cannot await on itself: Task-1"
    );
}

#[test]
fn a_misuse_error_can_be_caught_and_the_task_goes_on() {
    let a = EventLoop::new();
    let foreign = a.create_future::<i32>();
    let b = EventLoop::new();
    let r = b.run_until_complete(async move {
        let first = foreign.await;
        sleep(1).await?;
        Ok(first.is_err())
    });
    assert_eq!(r, Ok(true));
}

#[test]
fn result_of_a_pending_task_is_invalid_state() {
    let lp = EventLoop::new();
    let t = lp.create_task(async { Ok(1) });
    assert!(matches!(t.result(), Err(Error::InvalidState(_))));
    assert!(matches!(t.exception(), Err(Error::InvalidState(_))));
    lp.run_until_complete(t).unwrap();
}

#[test]
fn errors_display_as_asyncio_names_them() {
    assert_eq!(Error::cancelled().to_string(), "CancelledError");
    assert_eq!(Error::cancelled_with("m").to_string(), "CancelledError: m");
    assert_eq!(Error::timeout().to_string(), "TimeoutError");
    assert_eq!(Error::msg("plain").to_string(), "plain");
    assert_eq!(Error::timeout().kind_name(), "TimeoutError");
    assert_eq!(format!("{:?}", Error::cancelled()), "CancelledError");
    let boxed: Box<dyn std::error::Error> = Error::msg("into box").into();
    assert_eq!(boxed.to_string(), "into box");
}

#[test]
fn question_mark_converts_std_errors() {
    let lp = EventLoop::new();
    let r: Result<u8, Error> = lp.run_until_complete(async { Ok("300".parse::<u8>()?) });
    assert!(r
        .unwrap_err()
        .downcast_ref::<std::num::ParseIntError>()
        .is_some());
    let _unused: Future<()> = lp.create_future();
}
