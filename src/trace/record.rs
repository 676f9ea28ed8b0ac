//! Recording a run into its trace: what the loop and its tasks report as they go. The trace
//! itself (`trace/mod.rs`) is plain data.

use std::panic::Location;

use crate::base_events::LoopInner;
use crate::events;
use crate::ready::Ready;
use crate::trace::{Event, Outcome, TraceLevel};

/// Puts the program's own event in the running loop's trace (when it records a full trace,
/// as the harness's reports do), so a failure report tells the program's story too: `Task-2
/// note: balance read: 10`. Outside a running loop, or with tracing off, it does nothing.
///
/// ```
/// use tulipsim::{EventLoop, LoopConfig, TraceLevel};
/// let lp = EventLoop::with_config(LoopConfig::default().trace(TraceLevel::Full));
/// lp.run_until_complete(async {
///     tulipsim::trace::note(format_args!("balance read: {}", 10));
///     Ok(())
/// })
/// .unwrap();
/// assert!(lp.trace().to_string().contains("Task-1 note: balance read: 10"));
/// ```
pub fn note(text: impl std::fmt::Display) {
    let Some(lp) = events::running_loop() else {
        return;
    };
    if !lp.decide.tracing(TraceLevel::Full) {
        return;
    }
    let task = lp.current_task_id();
    let now = lp.now();
    lp.decide.trace.borrow_mut().push(
        now,
        Event::Note {
            task,
            text: text.to_string(),
        },
    );
}

impl LoopInner {
    #[inline]
    pub(crate) fn record_ran(&self, ready: &Ready) {
        if self.decide.tracing(TraceLevel::Full) {
            let task = ready.task_id();
            self.decide.trace.borrow_mut().push(
                self.now(),
                Event::Ran {
                    kind: ready.kind,
                    task,
                },
            );
        }
    }

    pub(crate) fn record_spawn(
        &self,
        task: u64,
        custom_name: impl FnOnce() -> Option<String>,
        site: &'static Location<'static>,
    ) {
        if self.decide.tracing(TraceLevel::Full) {
            let mut trace = self.decide.trace.borrow_mut();
            if let Some(name) = custom_name() {
                trace.name_task(task, name);
            }
            trace.push(
                self.now(),
                Event::Spawned {
                    task,
                    site: crate::trace::shared_site(site),
                },
            );
        }
    }

    /// A task suspended: on `what` (described on demand), or in a bare yield if `what` gives
    /// `None`.
    #[inline]
    pub(crate) fn record_awaits(
        &self,
        task: u64,
        what: impl FnOnce() -> Option<std::sync::Arc<str>>,
    ) {
        if self.decide.tracing(TraceLevel::Full) {
            let event = match what() {
                Some(what) => Event::Awaits { task, what },
                None => Event::Yields { task },
            };
            self.decide.trace.borrow_mut().push(self.now(), event);
        }
    }

    #[inline]
    pub(crate) fn record_done(&self, task: u64, outcome: impl FnOnce() -> Outcome) {
        if self.decide.tracing(TraceLevel::Full) {
            let outcome = outcome();
            self.decide
                .trace
                .borrow_mut()
                .push(self.now(), Event::Done { task, outcome });
        }
    }
}
