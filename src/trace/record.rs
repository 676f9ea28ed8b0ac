//! Recording a run into its trace: what the loop and its tasks report as they go. The trace
//! itself (`trace/mod.rs`) is plain data and knows nothing of the loop.

use std::panic::Location;

use crate::base_events::LoopInner;
use crate::ready::Ready;
use crate::trace::{Event, Outcome, TraceLevel};

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
