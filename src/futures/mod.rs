//! asyncio's `Future`, mirroring `futures.py`: three states (pending, cancelled, finished), a
//! list of done-callbacks scheduled with `call_soon` when the future completes, and an
//! awaitable that suspends the current task until then.

// A future is a `FutureCore` header (state, outcome, callbacks) behind an `Rc`, together with
// what its kind does differently (`FutureKind`): a plain future is the header alone, a task
// and a gather's outer future contain one. The public `Future<T>` handle points at
// `dyn FutureKind<Output = T>`; the same allocation seen without its result type is the one
// erased future, `dyn AnyFuture`, which every kind gets from a single blanket impl.

mod callbacks;
mod future;
mod header;
mod wait;

use std::rc::Rc;
use std::sync::Arc;

use crate::base_events::{ClosableFuture, LoopInner};
use crate::exceptions::Error;
use crate::tasks::{TaskHeader, TaskRun};

pub use callbacks::DoneCallback;
pub(crate) use callbacks::{AnyCallback, Callback};
pub use future::Future;
pub(crate) use header::{short_type_name, FutureCore, Registration, State};
pub use wait::Wait;
pub(crate) use wait::WaitCore;

/// What differs between kinds of future (plain, task, gather's outer future): the hook a kind
/// implements. Everything else is the [`FutureCore`] header's.
pub(crate) trait FutureKind: AnyFuture + 'static {
    type Output: 'static;

    fn core(&self) -> &FutureCore<Self::Output>;

    /// `Future.cancel` for a plain future, `Task.cancel` for a task (a request the task may
    /// refuse), cancelling the children for a gather.
    fn cancel(self: Rc<Self>, msg: Option<Rc<str>>) -> bool;

    /// How reports, traces and misuse errors name it.
    fn describe(&self) -> String;

    /// [`describe`](Self::describe), shared: a full trace records it at every await.
    fn describe_shared(&self) -> Arc<str> {
        FutureKind::describe(self).into()
    }

    /// The header, if `set_result` and `set_exception` may complete this future (a task's
    /// result is its coroutine's). One dynamic call for both questions.
    fn settable(&self) -> Option<&FutureCore<Self::Output>> {
        Some(self.core())
    }

    /// The task's header, if this future is a task.
    fn task_header(&self) -> Option<&TaskHeader> {
        None
    }

    /// This future as a task, if it is one.
    fn to_task(self: Rc<Self>) -> Option<Rc<dyn TaskRun>> {
        None
    }
}

/// The typed view `Future<T>` holds.
pub(crate) type DynFuture<T> = dyn FutureKind<Output = T>;

/// A future with its result type erased: what a task's waiter, the task functions (`wait`,
/// `gather`, a task group) and the loop's cleanup see. Implemented once, below, for every
/// [`FutureKind`].
pub(crate) trait AnyFuture: ClosableFuture {
    fn is_cancelled(&self) -> bool;
    /// The kind's [`FutureKind::cancel`].
    fn cancel_any(self: Rc<Self>, msg: Option<Rc<str>>) -> bool;
    /// An await's first suspension: registers `task`'s `__wakeup` as a done-callback unless
    /// the future is done, bound to another loop than `lp`, or `task` itself.
    fn register_await(&self, lp: &Rc<LoopInner>, task: &Rc<dyn TaskRun>) -> Registration;
    fn remove_wakeup(&self, task_id: u64);
    fn add_any_callback(self: Rc<Self>, cb: AnyCallback);
    fn remove_any_callback(&self, cb: &AnyCallback) -> usize;
    /// True if this future belongs to `lp` (an unbound one is bound to it now).
    fn belongs_to(&self, lp: &Rc<LoopInner>) -> bool;
    /// The outcome was seen: do not report the exception as never retrieved.
    fn mark_retrieved(&self);
    /// The exception, as `exception()` gives it (and marking it retrieved).
    fn exception_any(&self) -> Result<Option<Error>, Error>;
    fn loop_inner(&self) -> Option<Rc<LoopInner>>;
    fn describe(&self) -> String;
    fn describe_shared(&self) -> Arc<str>;
}

impl<K: FutureKind> ClosableFuture for K {
    fn is_done(&self) -> bool {
        self.core().is_done()
    }
    fn clear_callbacks(&self) {
        self.core().clear_all_callbacks()
    }
}

impl<K: FutureKind> AnyFuture for K {
    fn is_cancelled(&self) -> bool {
        self.core().is_cancelled()
    }
    fn cancel_any(self: Rc<Self>, msg: Option<Rc<str>>) -> bool {
        FutureKind::cancel(self, msg)
    }
    #[inline]
    fn register_await(&self, lp: &Rc<LoopInner>, task: &Rc<dyn TaskRun>) -> Registration {
        self.core()
            .register_await(self.task_header().map(|h| h.id), lp, task)
    }
    fn remove_wakeup(&self, task_id: u64) {
        self.core().remove_wakeup_of(task_id)
    }
    fn add_any_callback(self: Rc<Self>, cb: AnyCallback) {
        let this: Rc<DynFuture<K::Output>> = self;
        FutureCore::add_callback(&this, Callback::Any(cb));
    }
    fn remove_any_callback(&self, cb: &AnyCallback) -> usize {
        self.core().remove_any_callback(cb)
    }
    fn belongs_to(&self, lp: &Rc<LoopInner>) -> bool {
        self.core().belongs_to(lp)
    }
    fn mark_retrieved(&self) {
        self.core().clear_log_traceback()
    }
    fn exception_any(&self) -> Result<Option<Error>, Error> {
        self.core().exception()
    }
    fn loop_inner(&self) -> Option<Rc<LoopInner>> {
        self.core().loop_inner()
    }
    fn describe(&self) -> String {
        FutureKind::describe(self)
    }
    fn describe_shared(&self) -> Arc<str> {
        FutureKind::describe_shared(self)
    }
}

/// A future without its result type, as the task functions see it. Opaque.
#[doc(hidden)]
pub struct ErasedFuture(pub(crate) Rc<dyn AnyFuture>);
