//! The wall-clock watchdog: a run that takes too long in real time (a task in a synchronous
//! infinite loop never reaches an `.await`, so no step or virtual-time limit can stop it) is
//! reported with its seed, its running task and the command that reruns it, then ended.
//!
//! Wall-clock time decides only *whether* a run is ended, never what a run does: the schedule
//! and the trace of a run that finishes in time do not depend on it.

use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

/// One run under watch. The loop tells it which task steps (cheaply: only a change of task
/// takes the lock) and asks it, between steps, whether the run is out of time.
pub(crate) struct Watch {
    started: Instant,
    limit: Duration,
    seed: u64,
    /// The replay command of the run (its seed and policy), made when the report is due.
    command: Box<dyn Fn() -> String + Send + Sync>,
    expired: AtomicBool,
    finished: AtomicBool,
    last_task: AtomicU64,
    task: Mutex<Option<(u64, &'static Location<'static>)>>,
}

impl Watch {
    /// A watch for a run starting now, registered with the watchdog thread.
    pub(crate) fn start(
        limit: Duration,
        seed: u64,
        command: Box<dyn Fn() -> String + Send + Sync>,
    ) -> Arc<Watch> {
        let w = Arc::new(Watch {
            started: Instant::now(),
            limit,
            seed,
            command,
            expired: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            last_task: AtomicU64::new(0),
            task: Mutex::new(None),
        });
        let registry = registry();
        registry
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Arc::downgrade(&w));
        w
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

    fn report(&self) -> String {
        format!(
            "tulipsim: run of seed {} exceeded the wall-clock watchdog ({:?}) and never came back \
             to the loop: a task is in a synchronous loop that never reaches an `.await` (no step \
             or virtual-time limit can stop that).\n  running: {}\n  replay: {}\n  raise the \
             limit with Check::watchdog or TULIPSIM_WATCHDOG=<seconds> if the run is only slow",
            self.seed,
            self.limit,
            self.running_task(),
            (self.command)()
        )
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

type Registry = Mutex<Vec<Weak<Watch>>>;

/// The runs under watch; the first use starts the watchdog thread.
fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    static THREAD: OnceLock<()> = OnceLock::new();
    let r = REGISTRY.get_or_init(|| Mutex::new(Vec::new()));
    THREAD.get_or_init(|| {
        let _ = std::thread::Builder::new()
            .name("tulipsim-watchdog".into())
            .spawn(|| watch_forever(REGISTRY.get_or_init(|| Mutex::new(Vec::new()))));
    });
    r
}

fn watch_forever(registry: &'static Registry) {
    loop {
        std::thread::sleep(Duration::from_millis(50));
        let live: Vec<Arc<Watch>> = {
            let mut r = registry.lock().unwrap_or_else(|p| p.into_inner());
            r.retain(|w| {
                w.upgrade()
                    .is_some_and(|w| !w.finished.load(Ordering::Relaxed))
            });
            r.iter().filter_map(Weak::upgrade).collect()
        };
        for w in live {
            let elapsed = w.started.elapsed();
            if elapsed > w.limit && !w.expired.swap(true, Ordering::Relaxed) {
                continue; // the loop ends the run at its next step, if it ever gets one
            }
            // A grace period to come back to the loop; a run that does not is stuck in one
            // step for good, and only ending the process stops it.
            let grace = w
                .limit
                .min(Duration::from_secs(5))
                .max(Duration::from_millis(200));
            if elapsed > w.limit + grace && !w.finished.load(Ordering::Relaxed) {
                eprintln!(
                    "{}\n  ending the process: a thread stuck in a step cannot be stopped",
                    w.report()
                );
                std::process::exit(101);
            }
        }
    }
}
