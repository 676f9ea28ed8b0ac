//! The loop's decision point: which ready entry runs next (`pick`) and whether a fault happens
//! (`fault`), the two questions a run's [`Scheduler`] answers. The state they keep (origins,
//! the random streams, the schedule, the fired faults, the trace) lives here; the rules of each
//! fault are in `faults.rs` and `streams/faults.rs`, trace recording in `trace/record.rs` and
//! the program's own random numbers in `random.rs`.
//!
//! Every ready entry carries its *origin*, the step (ready entry) that registered it. Under
//! the causal rule an entry is eligible only if no older entry of the same origin is waiting;
//! since one step's entries are pushed one after another, that is the first entry of each run
//! of equal origins in the ready queue. With no scheduler set the loop is FIFO and never looks
//! at any of this: the pick is a `pop_front`.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use crate::base_events::LoopInner;
use crate::config::LoopConfig;
use crate::ready::Ready;
use crate::scheduler::{
    Candidates, ChoicePoint, Eligibility, FaultKind, FaultPlan, FaultRng, Schedule, Scheduler,
    UserRng,
};
use crate::trace::{Event, Trace, TraceLevel};

/// The decision state of a loop.
pub(crate) struct Decide {
    /// The origin given to entries registered now.
    pub(crate) origin: Cell<u64>,
    next_origin: Cell<u64>,
    pub(crate) scheduler: RefCell<Option<Box<dyn Scheduler>>>,
    pub(crate) has_scheduler: Cell<bool>,
    eligibility: Cell<Eligibility>,
    decisions: Cell<u64>,
    schedule: RefCell<Schedule>,
    pub(crate) seed: u64,
    /// Seeded on first use: most runs ask no fault, and a fresh loop stays cheap.
    fault_rng: RefCell<Option<Box<FaultRng>>>,
    /// How much a fault does (a jitter's delay): a stream of its own, drawn once per query
    /// whether the scheduler or a fault plan decides, so that replaying a plan keeps amounts.
    pub(crate) amount_rng: RefCell<Option<Box<FaultRng>>>,
    /// The code under test's draws: a stream of the seed's own, so that drawing moves neither
    /// the schedule nor the faults. Seeded on first use.
    pub(crate) user_rng: RefCell<Option<Box<UserRng>>>,
    pub(crate) buggify_sites: RefCell<BTreeMap<(&'static str, u32, u32), bool>>,
    fault_queries: Cell<u64>,
    fired: RefCell<FaultPlan>,
    pub(crate) trace_level: Cell<TraceLevel>,
    pub(crate) trace: RefCell<Trace>,
}

impl Decide {
    pub(crate) fn new(config: &LoopConfig) -> Decide {
        let seed = config.seed.unwrap_or(0);
        Decide {
            origin: Cell::new(0),
            next_origin: Cell::new(1),
            scheduler: RefCell::new(None),
            has_scheduler: Cell::new(false),
            eligibility: Cell::new(Eligibility::Causal),
            decisions: Cell::new(0),
            schedule: RefCell::new(Schedule::fifo()),
            seed,
            fault_rng: RefCell::new(None),
            amount_rng: RefCell::new(None),
            user_rng: RefCell::new(None),
            buggify_sites: RefCell::new(BTreeMap::new()),
            fault_queries: Cell::new(0),
            fired: RefCell::new(FaultPlan::default()),
            trace_level: Cell::new(config.trace),
            trace: RefCell::new(Trace::default()),
        }
    }

    /// The state [`Decide::new`] gives for `config`, keeping what the last run allocated
    /// (a recycled loop: see `base_events/recycle.rs`, which names every field so).
    pub(crate) fn recycle(&mut self, config: &LoopConfig) {
        let Decide {
            origin,
            next_origin,
            scheduler,
            has_scheduler,
            eligibility,
            decisions,
            schedule,
            seed,
            fault_rng,
            amount_rng,
            user_rng,
            buggify_sites,
            fault_queries,
            fired,
            trace_level,
            trace,
        } = self;
        origin.set(0);
        next_origin.set(1);
        *scheduler.get_mut() = None;
        has_scheduler.set(false);
        eligibility.set(Eligibility::Causal);
        decisions.set(0);
        schedule.get_mut().clear();
        *seed = config.seed.unwrap_or(0);
        *fault_rng.get_mut() = None;
        *amount_rng.get_mut() = None;
        *user_rng.get_mut() = None;
        buggify_sites.get_mut().clear();
        fault_queries.set(0);
        fired.get_mut().clear();
        trace_level.set(config.trace);
        trace.get_mut().clear();
    }

    #[inline]
    pub(crate) fn fresh_origin(&self) -> u64 {
        let o = self.next_origin.get();
        self.next_origin.set(o + 1);
        o
    }

    /// A ready entry starts running: what it registers shares one origin.
    #[inline]
    pub(crate) fn enter_entry(&self) {
        self.origin.set(self.fresh_origin());
    }

    /// It is done: what is registered until the next entry has an origin of its own.
    #[inline]
    pub(crate) fn leave_entry(&self) {
        self.origin.set(self.fresh_origin());
    }

    pub(crate) fn set_scheduler(&self, mut scheduler: Box<dyn Scheduler>) {
        scheduler.begin_run(self.seed);
        self.eligibility.set(scheduler.eligibility());
        *self.scheduler.borrow_mut() = Some(scheduler);
        self.has_scheduler.set(true);
    }

    pub(crate) fn take_scheduler(&self) -> Option<Box<dyn Scheduler>> {
        let mut s = self.scheduler.borrow_mut().take()?;
        self.has_scheduler.set(false);
        s.end_run(self.decisions.get());
        Some(s)
    }

    pub(crate) fn decisions(&self) -> u64 {
        self.decisions.get()
    }

    pub(crate) fn schedule(&self) -> Schedule {
        self.schedule.borrow().clone()
    }

    pub(crate) fn fired(&self) -> FaultPlan {
        self.fired.borrow().clone()
    }

    #[inline]
    pub(crate) fn tracing(&self, level: TraceLevel) -> bool {
        self.trace_level.get() >= level
    }
}

impl LoopInner {
    /// The next entry to run: FIFO, or the scheduler's choice among the eligible ones.
    #[inline]
    pub(crate) fn pick(&self) -> Option<Ready> {
        if !self.decide.has_scheduler.get() {
            return self.ready.borrow_mut().pop_front();
        }
        self.pick_scheduled()
    }

    fn pick_scheduled(&self) -> Option<Ready> {
        let d = &self.decide;
        let chaos = d.eligibility.get() == Eligibility::Chaos;
        {
            let mut ready = self.ready.borrow_mut();
            if ready.is_empty() {
                return None;
            }
            ready.index(Some(chaos));
            if ready.eligible() == 1 {
                return Some(ready.remove_eligible(0));
            }
        }
        // Borrowed, not taken out, while the policy decides (moving the queue cost more than
        // the choice): what a policy schedules meanwhile waits in `deferred`.
        let queue = self.ready.borrow();
        let eligible = queue.eligible();
        let index = d.decisions.get();
        let scheduler = d.scheduler.borrow_mut().take();
        let choice = match scheduler {
            Some(mut s) => {
                let point = ChoicePoint {
                    index,
                    candidates: Candidates::of_queue(&*queue, eligible),
                    time_ns: self.now(),
                };
                let c = s.choose(&point);
                *d.scheduler.borrow_mut() = Some(s);
                if c < eligible {
                    c
                } else {
                    0
                }
            }
            None => 0,
        };
        drop(queue);
        let chosen = {
            let mut ready = self.ready.borrow_mut();
            let chosen = ready.remove_eligible(choice);
            let mut deferred = self.deferred.borrow_mut();
            // Usually empty (a policy rarely schedules while it decides): skip the drain.
            if !deferred.is_empty() {
                for r in deferred.drain(..) {
                    ready.push_back(r);
                }
            }
            chosen
        };
        d.decisions.set(index + 1);
        d.schedule.borrow_mut().push(index, choice as u32);
        if d.tracing(TraceLevel::Decisions) {
            d.trace.borrow_mut().push(
                self.now(),
                Event::Decision {
                    index,
                    chosen: choice as u32,
                    of: eligible as u32,
                },
            );
        }
        Some(chosen)
    }

    /// Asks whether fault `kind` happens now (probability `p`); records it if it does.
    pub(crate) fn fault(&self, kind: FaultKind, p: f64, detail: impl FnOnce() -> String) -> bool {
        if p <= 0.0 {
            return false;
        }
        let d = &self.decide;
        let query = d.fault_queries.get();
        d.fault_queries.set(query + 1);
        let scheduler = d.scheduler.borrow_mut().take();
        let happens = {
            let mut rng = d.fault_rng.borrow_mut();
            let rng = rng.get_or_insert_with(|| Box::new(FaultRng::seeded(d.seed)));
            match scheduler {
                Some(mut s) => {
                    let h = s.fault(kind, p, rng);
                    *d.scheduler.borrow_mut() = Some(s);
                    h
                }
                None => rng.chance(p),
            }
        };
        if happens {
            d.fired.borrow_mut().push(query);
        }
        if happens && d.tracing(TraceLevel::Decisions) {
            let detail = detail();
            d.trace
                .borrow_mut()
                .push(self.now(), Event::Fault { kind, detail });
        }
        happens
    }
}
