//! asyncio's `gather`: one future for the results of several, in argument order.
//!
//! The outer future is asyncio's `_GatheringFuture`: cancelling it cancels the children that
//! are not done, and it completes only once they have (with `CancelledError` as its exception,
//! as CPython 3.11 does). A child's own cancellation is an exception like any other: without
//! `return_exceptions` the outer fails with `CancelledError` but is not cancelled, and the
//! other children keep running.

use std::cell::Cell;
use std::panic::Location;
use std::rc::Rc;

use crate::exceptions::Error;
use crate::futures::{
    AnyCallback, AnyFuture, DynFuture, ErasedFuture, Future, FutureCore, FutureKind, State,
};
use crate::tasks::Awaitable;

/// Builds the outer future's result from the children, once all are done.
type Build<R> = Box<dyn Fn() -> R>;

/// asyncio's `_GatheringFuture`.
struct GatheringFuture<R: 'static> {
    core: FutureCore<R>,
    /// Every argument's future, duplicates included (results come in argument order).
    children: Vec<Rc<dyn AnyFuture>>,
    /// How many distinct children there are, and how many are done.
    nfuts: usize,
    nfinished: Cell<usize>,
    return_exceptions: bool,
    cancel_requested: Cell<bool>,
    build: Build<R>,
}

impl<R: 'static> GatheringFuture<R> {
    /// asyncio's `_done_callback`, run (through the loop) when a child is done.
    fn child_done(self: &Rc<Self>, child: &Rc<dyn AnyFuture>) {
        self.nfinished.set(self.nfinished.get() + 1);
        let outer: Rc<DynFuture<R>> = self.clone();
        if self.core.is_done() {
            if !child.is_cancelled() {
                child.mark_retrieved();
            }
            return;
        }
        if !self.return_exceptions {
            // A cancelled child counts as having raised CancelledError.
            let failed = match child.exception_any() {
                Ok(None) => None,
                Ok(Some(e)) | Err(e) => Some(e),
            };
            if let Some(e) = failed {
                let _ = FutureCore::complete(&outer, State::Finished(Err(e)));
                return;
            }
        }
        if self.nfinished.get() == self.nfuts {
            let state = if self.cancel_requested.get() {
                // Cancelled through `outer.cancel()`: raise CancelledError whatever
                // `return_exceptions` says (bpo-32684), with the last child's message.
                let message = match child.exception_any() {
                    Err(Error::Cancelled(c)) => c.message,
                    _ => None,
                };
                State::Finished(Err(Error::Cancelled(crate::exceptions::CancelledError {
                    message,
                })))
            } else {
                State::Finished(Ok((self.build)()))
            };
            let _ = FutureCore::complete(&outer, state);
        }
    }
}

/// A gather's outer future: cancelling it cancels the children, and it names its children.
impl<R: 'static> FutureKind for GatheringFuture<R> {
    type Output = R;

    fn core(&self) -> &FutureCore<R> {
        &self.core
    }

    /// Cancels the children, not itself: the outer completes when they do.
    fn cancel(self: Rc<Self>, msg: Option<Rc<str>>) -> bool {
        if self.core.is_done() {
            return false;
        }
        let mut any = false;
        for child in &self.children {
            any |= child.clone().cancel_any(msg.clone());
        }
        if any {
            self.cancel_requested.set(true);
        }
        any
    }

    fn describe(&self) -> String {
        format!(
            "gather() of {} awaitable(s) created at {}",
            self.children.len(),
            self.core.created_at
        )
    }
}

/// Makes the outer future over `children` and hooks it to each distinct child.
fn gather_futures<R: 'static>(
    children: Vec<Rc<dyn AnyFuture>>,
    return_exceptions: bool,
    build: Build<R>,
    site: &'static Location<'static>,
) -> Future<R> {
    let mut distinct: Vec<Rc<dyn AnyFuture>> = Vec::new();
    for c in &children {
        if !distinct.iter().any(|d| same(d, c)) {
            distinct.push(c.clone());
        }
    }
    let lp = distinct
        .first()
        .and_then(|c| c.loop_inner())
        .map(|lp| Rc::downgrade(&lp))
        .unwrap_or_else(crate::events::current_or_thread_loop);
    let Some(lp) = lp.upgrade() else {
        // No loop could ever run the children's callbacks (CPython: "There is no current event
        // loop"): fail now rather than hand back a future that can never complete.
        let failed = Future::bound(std::rc::Weak::new(), site);
        let _ = failed.set_exception(Error::runtime("no running event loop"));
        return failed;
    };
    {
        if distinct.iter().any(|c| !c.belongs_to(&lp)) {
            // CPython raises ValueError from gather() itself; the future carries it here.
            let failed = Future::bound(Rc::downgrade(&lp), site);
            let _ = failed.set_exception(Error::value(
                "The future belongs to a different loop than the one specified as the loop argument",
            ));
            return failed;
        }
    }
    let outer = Rc::new(GatheringFuture {
        core: FutureCore::new(Rc::downgrade(&lp), site),
        nfuts: distinct.len(),
        children,
        nfinished: Cell::new(0),
        return_exceptions,
        cancel_requested: Cell::new(false),
        build,
    });
    if distinct.is_empty() {
        let this: Rc<DynFuture<R>> = outer.clone();
        let _ = FutureCore::complete(&this, State::Finished(Ok((outer.build)())));
    }
    for child in distinct {
        let o = outer.clone();
        let cb: AnyCallback = Rc::new(move |c: &Rc<dyn AnyFuture>| o.child_done(c));
        child.add_any_callback(cb);
    }
    Future { obj: outer }
}

fn same(a: &Rc<dyn AnyFuture>, b: &Rc<dyn AnyFuture>) -> bool {
    std::ptr::addr_eq(Rc::as_ptr(a), Rc::as_ptr(b))
}

/// Ensures each awaitable (a coroutine becomes a task the caller cannot see, so it is not
/// reported if destroyed pending, as asyncio's gather does).
fn ensure_all<T: 'static, A: Awaitable<T>>(
    awaitables: impl IntoIterator<Item = A>,
    site: &'static Location<'static>,
) -> Vec<Future<T>> {
    awaitables
        .into_iter()
        .map(|a| {
            let ensured = a.ensure_on(None, site);
            if ensured.new_task {
                if let Some(h) = ensured.future.obj.task_header() {
                    h.log_destroy_pending.set(false);
                }
            }
            ensured.future
        })
        .collect()
}

/// asyncio's `gather(*aws)`: one future whose result is every awaitable's result, in argument
/// order. `async` blocks are wrapped in tasks; futures and tasks are used as they are.
///
/// The first exception (in completion order) becomes the outer future's at once; the other
/// awaitables keep running. Cancelling the outer future cancels every child not yet done. A
/// child's cancellation is treated as if it raised `CancelledError`: the outer is not
/// cancelled by it. Passing nothing gives a future already done with an empty `Vec`.
///
/// ```
/// use tulipsim::{gather, sleep_with, EventLoop};
/// let lp = EventLoop::new();
/// let r = lp.run_until_complete(async {
///     gather(vec![sleep_with(3, "slow"), sleep_with(1, "fast")]).await
/// });
/// assert_eq!(r.unwrap(), ["slow", "fast"]); // argument order, not completion order
/// assert_eq!(lp.time(), 3.0);
/// ```
#[track_caller]
pub fn gather<T: Clone + 'static, A: Awaitable<T>>(
    awaitables: impl IntoIterator<Item = A>,
) -> Future<Vec<T>> {
    let site = Location::caller();
    let children = ensure_all(awaitables, site);
    let any = children.iter().map(Future::any).collect();
    let build: Build<Vec<T>> = Box::new(move || {
        children
            .iter()
            .map(|c| {
                c.result()
                    .expect("gather builds its result only from children with results")
            })
            .collect()
    });
    gather_futures(any, false, build, site)
}

/// asyncio's `gather(*aws, return_exceptions=True)`: every awaitable's outcome, in argument
/// order, errors (a child's `CancelledError` included) as `Err` entries. The outer future
/// completes once every child is done.
///
/// ```
/// use tulipsim::{gather_return_exceptions, sleep, EventLoop, Error};
/// let lp = EventLoop::new();
/// let r = lp.run_until_complete(async {
///     let ok = async { sleep(1).await.map(|()| 1) };
///     let bad = async { sleep(2).await?; Err::<i32, _>(Error::msg("failed")) };
///     let outcomes = gather_return_exceptions(vec![
///         Box::pin(ok) as std::pin::Pin<Box<dyn std::future::Future<Output = _>>>,
///         Box::pin(bad),
///     ]).await?;
///     Ok(outcomes.iter().map(|o| o.is_ok()).collect::<Vec<_>>())
/// });
/// assert_eq!(r.unwrap(), [true, false]);
/// ```
#[track_caller]
pub fn gather_return_exceptions<T: Clone + 'static, A: Awaitable<T>>(
    awaitables: impl IntoIterator<Item = A>,
) -> Future<Vec<Result<T, Error>>> {
    let site = Location::caller();
    let children = ensure_all(awaitables, site);
    let any = children.iter().map(Future::any).collect();
    let build: Build<Vec<Result<T, Error>>> =
        Box::new(move || children.iter().map(Future::result).collect());
    gather_futures(any, true, build, site)
}

/// Tuples of futures that `gather!` can wait on together: their results form a tuple of the
/// same shape. Implemented for tuples of 1 to 8 [`Future`]s.
#[doc(hidden)]
pub trait GatherTuple: 'static {
    /// The results, one per element.
    type Output: 'static;
    /// The outcomes, one `Result` per element.
    type Settled: 'static;
    #[doc(hidden)]
    fn children(&self) -> Vec<ErasedFuture>;
    #[doc(hidden)]
    fn output(&self) -> Self::Output;
    #[doc(hidden)]
    fn settled(&self) -> Self::Settled;
}

macro_rules! gather_tuple {
    ($($t:ident $i:tt),+) => {
        impl<$($t: Clone + 'static),+> GatherTuple for ($(Future<$t>,)+) {
            type Output = ($($t,)+);
            type Settled = ($(Result<$t, Error>,)+);
            fn children(&self) -> Vec<ErasedFuture> {
                vec![$(ErasedFuture(self.$i.any())),+]
            }
            fn output(&self) -> Self::Output {
                ($(self.$i.result().expect("gather builds its result only from children with results"),)+)
            }
            fn settled(&self) -> Self::Settled {
                ($(self.$i.result(),)+)
            }
        }
    };
}
gather_tuple!(A 0);
gather_tuple!(A 0, B 1);
gather_tuple!(A 0, B 1, C 2);
gather_tuple!(A 0, B 1, C 2, D 3);
gather_tuple!(A 0, B 1, C 2, D 3, E 4);
gather_tuple!(A 0, B 1, C 2, D 3, E 4, F 5);
gather_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
gather_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);

#[doc(hidden)]
#[track_caller]
pub fn gather_tuple<G: GatherTuple>(futures: G, return_exceptions: bool) -> Future<G::Output> {
    let children = futures.children().into_iter().map(|c| c.0).collect();
    gather_futures(
        children,
        return_exceptions,
        Box::new(move || futures.output()),
        Location::caller(),
    )
}

#[doc(hidden)]
#[track_caller]
pub fn gather_tuple_settled<G: GatherTuple>(futures: G) -> Future<G::Settled> {
    let children = futures.children().into_iter().map(|c| c.0).collect();
    gather_futures(
        children,
        true,
        Box::new(move || futures.settled()),
        Location::caller(),
    )
}

#[doc(hidden)]
#[track_caller]
pub fn ensure_for_gather<T: 'static, A: Awaitable<T>>(awaitable: A) -> Future<T> {
    let mut all = ensure_all([awaitable], Location::caller());
    all.pop().expect("one awaitable in, one future out")
}
