//! The wall-clock watchdog: a run that takes too long in real time (a task in a synchronous
//! infinite loop never reaches an `.await`, so no step or virtual-time limit can stop it) is
//! reported with its seed, its running task and the command that reruns it, then ended.
//!
//! The state the loop reads ([`Watch`]) is the loop's (`base_events/watch.rs`); this file is
//! the thread that watches it and the registry of runs.
//!
//! Wall-clock time decides only *whether* a run is ended, never what a run does: the schedule
//! and the trace of a run that finishes in time do not depend on it.

use std::cell::RefCell;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use crate::base_events::{Armed, Command, Watch};

thread_local! {
    /// This thread's watch, re-armed for each of its runs once the last one let go of it.
    static THREAD_WATCH: RefCell<Option<Arc<Watch>>> = const { RefCell::new(None) };
}

/// A watch for a run of `seed` under the scheduler named `scheduler` starting now, watched by
/// the watchdog thread. A thread's runs share one watch, registered once: a run only re-arms
/// it. `closed_holder`: a closed loop of this thread's last run (about to be recycled) may
/// still hold it.
pub(crate) fn start(
    limit: Duration,
    seed: u64,
    scheduler: &str,
    command: &Command,
    closed_holder: bool,
) -> Arc<Watch> {
    THREAD_WATCH.with(|slot| {
        let mut slot = slot.borrow_mut();
        if let Some(w) = slot.as_ref() {
            let free = Arc::strong_count(w) <= 1 + usize::from(closed_holder);
            if free && w.finished.load(Ordering::Acquire) {
                w.rearm(limit, seed, scheduler, command);
                return w.clone();
            }
        }
        let w = Arc::new(Watch::new(limit, seed, scheduler, command.clone()));
        registry()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Arc::downgrade(&w));
        // A watch still held (by a loop the program kept alive) stays with it.
        *slot = Some(w.clone());
        w
    })
}

fn report(w: &Watch, run: &Armed) -> String {
    format!(
        "tulipsim: run of seed {} exceeded the wall-clock watchdog ({:?}) and never came back \
         to the loop: a task is in a synchronous loop that never reaches an `.await` (no step \
         or virtual-time limit can stop that).\n  running: {}\n  replay: {}\n  raise the \
         limit with Check::watchdog or TULIPSIM_WATCHDOG=<seconds> if the run is only slow",
        run.seed,
        run.limit,
        w.running_task(),
        run.command()
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
            // A thread's watch lives as long as the thread, between runs too.
            r.retain(|w| w.strong_count() > 0);
            r.iter().filter_map(Weak::upgrade).collect()
        };
        for w in live {
            // Held while judging: the thread cannot re-arm the watch for its next run meanwhile.
            let run = w.armed();
            if w.finished.load(Ordering::Acquire) {
                continue;
            }
            let (elapsed, limit) = (run.started.elapsed(), run.limit);
            if elapsed > limit && !w.expired.swap(true, Ordering::Relaxed) {
                continue; // the loop ends the run at its next step, if it ever gets one
            }
            // A grace period to come back to the loop; a run that does not is stuck in one
            // step for good, and only ending the process stops it.
            let grace = limit
                .min(Duration::from_secs(5))
                .max(Duration::from_millis(200));
            if elapsed > limit + grace && !w.finished.load(Ordering::Acquire) {
                eprintln!(
                    "{}\n  ending the process: a thread stuck in a step cannot be stopped",
                    report(&w, &run)
                );
                std::process::exit(101);
            }
        }
    }
}
