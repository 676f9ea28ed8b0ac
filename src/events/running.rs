//! Which loop is running on this thread (asyncio's `_get_running_loop`), and the newest open
//! loop a future made outside any loop binds to.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use crate::base_events::LoopInner;
use crate::exceptions::Error;

thread_local! {
    /// The loop running on this thread, if any (asyncio's `_get_running_loop`).
    static RUNNING: RefCell<Option<Rc<LoopInner>>> = const { RefCell::new(None) };
    /// The loop `Future::new()` binds to when none is running: the newest open loop of this
    /// thread (what asyncio's `get_event_loop()` returns).
    static THREAD_LOOP: RefCell<Weak<LoopInner>> = const { RefCell::new(Weak::new()) };
}

/// Runs `f` with the loop running on this thread, or `None` outside a running loop.
#[inline]
pub(crate) fn with_running<R>(f: impl FnOnce(Option<&Rc<LoopInner>>) -> R) -> R {
    RUNNING.with(|r| f(r.borrow().as_ref()))
}

pub(crate) fn running_loop() -> Option<Rc<LoopInner>> {
    RUNNING.with(|r| r.borrow().clone())
}

/// The running loop, or asyncio's "no running event loop" `RuntimeError`.
pub(crate) fn running_loop_or_error() -> Result<Rc<LoopInner>, Error> {
    running_loop().ok_or_else(|| Error::runtime("no running event loop"))
}

/// Marks `lp` as this thread's running loop; fails if another loop is running here already.
pub(crate) fn enter_running(lp: &Rc<LoopInner>) -> Result<(), Error> {
    RUNNING.with(|r| {
        let mut r = r.borrow_mut();
        if r.is_some() {
            return Err(Error::runtime(
                "Cannot run the event loop while another loop is running",
            ));
        }
        *r = Some(lp.clone());
        Ok(())
    })
}

pub(crate) fn leave_running() {
    let old = RUNNING.with(|r| r.borrow_mut().take());
    drop(old);
}

pub(crate) fn set_thread_loop(lp: &Rc<LoopInner>) {
    THREAD_LOOP.with(|t| *t.borrow_mut() = Rc::downgrade(lp));
}

/// `lp` is no longer the thread's loop, if it was (it is being recycled: no `Weak` may be left).
pub(crate) fn forget_thread_loop(lp: &Rc<LoopInner>) {
    THREAD_LOOP.with(|t| {
        let mut t = t.borrow_mut();
        if std::ptr::eq(t.as_ptr(), Rc::as_ptr(lp)) {
            *t = Weak::new();
        }
    });
}

/// The running loop, else the newest loop of this thread that is still open.
pub(crate) fn current_or_thread_loop() -> Weak<LoopInner> {
    if let Some(lp) = running_loop() {
        return Rc::downgrade(&lp);
    }
    THREAD_LOOP.with(|t| {
        let w = t.borrow().clone();
        match w.upgrade() {
            Some(lp) if !lp.is_closed() => w,
            _ => Weak::new(),
        }
    })
}
