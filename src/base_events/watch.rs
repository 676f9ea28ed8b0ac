//! The state of one run under the wall-clock watchdog that the loop reads: which task steps,
//! and whether the run is out of time. The watchdog thread that sets `expired` and its
//! registry are the harness's (`harness/watchdog.rs`); the loop only reads this, once a step.

use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One run under watch. The loop tells it which task steps (cheaply: only a change of task
/// takes the lock) and asks it, between steps, whether the run is out of time.
pub(crate) struct Watch {
    pub(crate) started: Instant,
    pub(crate) limit: Duration,
    pub(crate) seed: u64,
    /// The replay command of the run (its seed and policy), made when the report is due.
    pub(crate) command: Box<dyn Fn() -> String + Send + Sync>,
    pub(crate) expired: AtomicBool,
    pub(crate) finished: AtomicBool,
    last_task: AtomicU64,
    task: Mutex<Option<(u64, &'static Location<'static>)>>,
}

impl Watch {
    /// A watch for a run starting now (the harness registers it with its watchdog thread).
    pub(crate) fn new(
        limit: Duration,
        seed: u64,
        command: Box<dyn Fn() -> String + Send + Sync>,
    ) -> Watch {
        Watch {
            started: Instant::now(),
            limit,
            seed,
            command,
            expired: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            last_task: AtomicU64::new(0),
            task: Mutex::new(None),
        }
    }

    /// A task's step or wakeup starts.
    #[inline]
    pub(crate) fn enter(&self, id: u64, spawned_at: &'static Location<'static>) {
        if self.last_task.swap(id, Ordering::Relaxed) != id {
            *self.task.lock().unwrap_or_else(|p| p.into_inner()) = Some((id, spawned_at));
        }
    }

    /// True once the run is past its limit: the loop ends it at the next step.
    #[inline]
    pub(crate) fn expired(&self) -> bool {
        self.expired.load(Ordering::Relaxed)
    }

    /// The run is over (in time or not).
    pub(crate) fn finish(&self) {
        self.finished.store(true, Ordering::Relaxed);
    }

    /// The limit, for messages.
    pub(crate) fn limit(&self) -> Duration {
        self.limit
    }

    /// The running task, as a report names it.
    pub(crate) fn running_task(&self) -> String {
        match *self.task.lock().unwrap_or_else(|p| p.into_inner()) {
            Some((id, site)) => format!("task #{id} (spawned at {site})"),
            None => "the main task, before any other ran".to_string(),
        }
    }
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("seed", &self.seed)
            .field("limit", &self.limit)
            .finish()
    }
}
