//! The wall-clock watchdog: a run that takes too long in real time (a task in a synchronous
//! infinite loop never reaches an `.await`, so no step or virtual-time limit can stop it) is
//! reported with its seed, its running task and the command that reruns it, then ended.
//!
//! The state the loop reads ([`Watch`]) is the loop's (`base_events/watch.rs`); this file is
//! the thread that watches it and the registry of runs.
//!
//! Wall-clock time decides only *whether* a run is ended, never what a run does: the schedule
//! and the trace of a run that finishes in time do not depend on it.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use crate::base_events::Watch;

/// A watch for a run starting now, registered with the watchdog thread.
pub(crate) fn start(
    limit: Duration,
    seed: u64,
    command: Box<dyn Fn() -> String + Send + Sync>,
) -> Arc<Watch> {
    let w = Arc::new(Watch::new(limit, seed, command));
    let registry = registry();
    registry
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(Arc::downgrade(&w));
    w
}

fn report(w: &Watch) -> String {
    format!(
        "tulipsim: run of seed {} exceeded the wall-clock watchdog ({:?}) and never came back \
         to the loop: a task is in a synchronous loop that never reaches an `.await` (no step \
         or virtual-time limit can stop that).\n  running: {}\n  replay: {}\n  raise the \
         limit with Check::watchdog or TULIPSIM_WATCHDOG=<seconds> if the run is only slow",
        w.seed,
        w.limit,
        w.running_task(),
        (w.command)()
    )
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
                    report(&w)
                );
                std::process::exit(101);
            }
        }
    }
}
