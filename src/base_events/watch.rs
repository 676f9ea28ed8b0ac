//! The state of one run under the wall-clock watchdog that the loop reads: which task steps,
//! and whether the run is out of time. The watchdog thread that sets `expired` and its
//! registry are the harness's (`harness/watchdog.rs`); the loop only reads this, once a step.

use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The replay command of a run, made from its seed and its scheduler's name only when a
/// report is due; one per check, shared by its runs.
pub(crate) type Command = Arc<dyn Fn(u64, &str) -> String + Send + Sync>;

/// One run under watch at a time: the harness re-arms the same watch for each run of a
/// thread (a watch per run was an allocation, a registration and a closure per seed). The
/// loop tells it which task steps (cheaply: only a change of task takes the lock) and asks it,
/// between steps, whether the run is out of time.
pub(crate) struct Watch {
    run: Mutex<Armed>,
    pub(crate) expired: AtomicBool,
    pub(crate) finished: AtomicBool,
    last_task: AtomicU64,
    task: Mutex<Option<(u64, &'static Location<'static>)>>,
}

/// What a run's watch is armed with.
pub(crate) struct Armed {
    pub(crate) started: Instant,
    pub(crate) limit: Duration,
    pub(crate) seed: u64,
    /// The run's scheduler, by name.
    scheduler: String,
    command: Command,
}

impl Armed {
    /// The command that replays the run.
    pub(crate) fn command(&self) -> String {
        (self.command)(self.seed, &self.scheduler)
    }
}

impl Watch {
    /// A watch for a run starting now (the harness registers it with its watchdog thread).
    pub(crate) fn new(limit: Duration, seed: u64, scheduler: &str, command: Command) -> Watch {
        Watch {
            run: Mutex::new(Armed {
                started: Instant::now(),
                limit,
                seed,
                scheduler: scheduler.to_string(),
                command,
            }),
            expired: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            last_task: AtomicU64::new(0),
            task: Mutex::new(None),
        }
    }

    /// Arms a finished watch for a new run starting now.
    pub(crate) fn rearm(&self, limit: Duration, seed: u64, scheduler: &str, command: &Command) {
        debug_assert!(self.finished.load(Ordering::Relaxed));
        // All under the lock the watchdog thread holds while it judges a run: a verdict on
        // the last run (`expired`) cannot land on this one, nor this one's seed in its report.
        let mut run = self.armed();
        run.started = Instant::now();
        run.limit = limit;
        run.seed = seed;
        if run.scheduler != scheduler {
            run.scheduler = scheduler.to_string();
        }
        if !Arc::ptr_eq(&run.command, command) {
            run.command = command.clone();
        }
        self.last_task.store(0, Ordering::Relaxed);
        *self.task.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.expired.store(false, Ordering::Relaxed);
        self.finished.store(false, Ordering::Release);
    }

    /// What the run is armed with. The watchdog thread holds it while it judges the run, and
    /// `rearm` takes it, so a verdict always concerns the run it read.
    pub(crate) fn armed(&self) -> std::sync::MutexGuard<'_, Armed> {
        self.run.lock().unwrap_or_else(|p| p.into_inner())
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
        self.finished.store(true, Ordering::Release);
    }

    /// The limit, for messages.
    pub(crate) fn limit(&self) -> Duration {
        self.armed().limit
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
        let run = self.armed();
        f.debug_struct("Watch")
            .field("seed", &run.seed)
            .field("limit", &run.limit)
            .finish()
    }
}
