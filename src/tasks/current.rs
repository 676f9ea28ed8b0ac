//! The task whose step is running: asyncio's `_current_tasks`, `_enter_task`, `_leave_task`
//! and `current_task()`, kept here (as `tasks.py` keeps them) rather than by the loop, which
//! knows only its id.
//!
//! One slot per thread is one per loop: a loop runs only on the thread that made it, and a
//! second loop cannot run while one runs on the same thread. A step's poll runs inside
//! `panics::catch`, so nothing unwinds between entering and leaving.

use std::cell::RefCell;
use std::rc::Rc;

use crate::base_events::LoopInner;

use super::handles::TaskRef;
use super::header::TaskRun;

/// The running loop and the task whose step it is running.
type Current = (Rc<LoopInner>, Rc<dyn TaskRun>);

thread_local! {
    static CURRENT: RefCell<Option<Current>> = const { RefCell::new(None) };
}

/// A step of `task` (whose id is `id`) on `lp` begins (asyncio's `_enter_task`). The task is
/// moved in, and [`leave_task`] moves it back out: a step costs no reference count for it.
#[inline]
pub(super) fn enter_task(lp: &Rc<LoopInner>, task: Rc<dyn TaskRun>, id: u64) {
    lp.current_task.set(Some(id));
    let previous = CURRENT.with(|c| c.replace(Some((lp.clone(), task))));
    debug_assert!(previous.is_none(), "a step ran inside another");
    drop(previous);
}

/// The step that [`enter_task`] began is over (asyncio's `_leave_task`): the task back.
#[inline]
pub(super) fn leave_task(lp: &LoopInner) -> Option<Rc<dyn TaskRun>> {
    lp.current_task.set(None);
    CURRENT.with(|c| c.take()).map(|(_, task)| task)
}

/// The task whose step is running now, or `None` outside a task (asyncio's
/// `current_task()`).
///
/// ```
/// use tulipsim::{current_task, EventLoop};
/// assert!(current_task().is_none());
/// let lp = EventLoop::new();
/// let t = lp.create_task_named("me", async { Ok(current_task().unwrap().get_name()) });
/// assert_eq!(lp.run_until_complete(t).unwrap(), "me");
/// ```
pub fn current_task() -> Option<TaskRef> {
    current().map(|(_, t)| TaskRef::from_run(t))
}

/// The running loop and the task whose step is running, if any.
pub(crate) fn current() -> Option<(Rc<LoopInner>, Rc<dyn TaskRun>)> {
    with_current(|lp, task| (lp.clone(), task.clone()))
}

/// The task whose step is running, and the address of its loop (to compare, not to reach:
/// an await's first poll needs no more). Small enough that the thread-local access inlines.
#[inline]
pub(crate) fn current_at() -> Option<(*const LoopInner, Rc<dyn TaskRun>)> {
    CURRENT.with(|c| {
        let current = c.borrow();
        let (lp, task) = current.as_ref()?;
        Some((Rc::as_ptr(lp), task.clone()))
    })
}

/// Runs `f` with the running loop and the task whose step is running, without cloning
/// either; `None` outside a task. Only a step replaces the current task, and a step never runs
/// inside another, so the borrow this holds cannot conflict.
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(&Rc<LoopInner>, &Rc<dyn TaskRun>) -> R) -> Option<R> {
    CURRENT.with(|c| {
        let current = c.borrow();
        let (lp, task) = current.as_ref()?;
        Some(f(lp, task))
    })
}
