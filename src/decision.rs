//! The loop's decision point, its faults and its trace: what makes a run explorable.
//!
//! Every ready entry carries its *origin*, the step (ready entry) that registered it. Under
//! the causal rule an entry is eligible only if no older entry of the same origin is waiting;
//! since one step's entries are pushed one after another, that is the first entry of each run
//! of equal origins in the ready queue. With no scheduler set the loop is FIFO and never looks
//! at any of this: the pick is a `pop_front`.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::panic::Location;
use std::rc::Rc;

use crate::base_events::{Entry, LoopInner};
use crate::config::LoopConfig;
use crate::scheduler::{
    Candidate, Candidates, ChoicePoint, Eligibility, EntryKind, FaultKind, FaultPlan, FaultRng,
    Schedule, Scheduler, UserRng,
};
use crate::tasks::TaskRun;
use crate::trace::{Event, Outcome, Trace, TraceLevel};

/// A ready-queue entry with what the decision point needs.
pub(crate) struct Ready {
    pub(crate) entry: Entry,
    pub(crate) origin: u64,
    pub(crate) kind: EntryKind,
}

impl Ready {
    /// What a policy sees of this entry.
    pub(crate) fn candidate(&self) -> Candidate {
        let task = self.task();
        Candidate {
            kind: self.kind,
            task: task.map(|t| t.header().id),
            spawned_at: task.map(|t| t.header().spawned_at),
            origin: self.origin,
            run: task.cloned(),
        }
    }

    pub(crate) fn task(&self) -> Option<&Rc<dyn TaskRun>> {
        match &self.entry {
            Entry::Step(t) | Entry::Wakeup(t) | Entry::SleepDone(t, _) => Some(t),
            Entry::Call(_) | Entry::Done(_) | Entry::Stop(_) => None,
        }
    }
}

/// The decision state of a loop.
pub(crate) struct Decide {
    /// The origin given to entries registered now.
    pub(crate) origin: Cell<u64>,
    next_origin: Cell<u64>,
    scheduler: RefCell<Option<Box<dyn Scheduler>>>,
    has_scheduler: Cell<bool>,
    eligibility: Cell<Eligibility>,
    decisions: Cell<u64>,
    schedule: RefCell<Schedule>,
    seed: u64,
    /// Seeded on first use: most runs ask no fault, and a fresh loop stays cheap.
    fault_rng: RefCell<Option<Box<FaultRng>>>,
    /// How much a fault does (a jitter's delay): a stream of its own, drawn once per query
    /// whether the scheduler or a fault plan decides, so that replaying a plan keeps amounts.
    amount_rng: RefCell<Option<Box<FaultRng>>>,
    /// The code under test's draws: a stream of the seed's own, so that drawing moves neither
    /// the schedule nor the faults. Seeded on first use.
    user_rng: RefCell<Option<Box<UserRng>>>,
    buggify_sites: RefCell<BTreeMap<(&'static str, u32, u32), bool>>,
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

    /// The next number for the code under test: the scheduler's, which by default is the
    /// next draw of the user stream.
    pub(crate) fn user_u64(&self) -> u64 {
        let mut rng = self.user_rng.borrow_mut();
        let rng = rng.get_or_insert_with(|| Box::new(UserRng::seeded(self.seed)));
        if !self.has_scheduler.get() {
            return rng.next_u64();
        }
        let scheduler = self.scheduler.borrow_mut().take();
        match scheduler {
            Some(mut s) => {
                let x = s.next_u64(rng);
                *self.scheduler.borrow_mut() = Some(s);
                x
            }
            // Asked while the policy decides (it cannot be): the stream answers.
            None => rng.next_u64(),
        }
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
                return ready.pop_front();
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
                    candidates: Candidates::of_queue(&queue),
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
            for r in deferred.drain(..) {
                ready.push_back(r);
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

    /// A timer's deadline, perhaps pushed later by the timer-jitter fault.
    #[inline]
    pub(crate) fn jitter(&self, when: i64) -> i64 {
        let f = &self.config.faults;
        if f.timer_jitter <= 0.0 {
            return when;
        }
        let extra = self.fault_amount(f.max_jitter_ns);
        let jittered = when.saturating_add(extra);
        if self.fault(FaultKind::TimerJitter, f.timer_jitter, || {
            format!(
                "a timer due at {:.6}s fires {:.6}s late",
                when as f64 / 1e9,
                extra as f64 / 1e9
            )
        }) {
            jittered
        } else {
            when
        }
    }

    /// How much a fault does: 1 to `max` nanoseconds, from the amount stream. Drawn for every
    /// query, fired or not, so that a replayed fault plan keeps the amounts.
    fn fault_amount(&self, max: i64) -> i64 {
        self.decide
            .amount_rng
            .borrow_mut()
            .get_or_insert_with(|| {
                Box::new(FaultRng(crate::scheduler::seeded_stream(
                    self.decide.seed,
                    crate::scheduler::AMOUNT_STREAM,
                )))
            })
            .below(max.max(1) as u64) as i64
            + 1
    }

    /// The net-delay fault for a packet due at `arrival`: its arrival, perhaps later.
    pub(crate) fn net_delay(&self, arrival: i64, what: impl FnOnce() -> String) -> i64 {
        let f = &self.config.faults;
        if f.net_delay <= 0.0 {
            return arrival;
        }
        let extra = self.fault_amount(f.net_delay_max_ns);
        if self.fault(FaultKind::NetDelay, f.net_delay, || {
            format!("{} arrives {:.6}s late", what(), extra as f64 / 1e9)
        }) {
            arrival.saturating_add(extra)
        } else {
            arrival
        }
    }

    /// The net-reset fault, asked as a data packet reaches an open connection end.
    pub(crate) fn net_reset(&self, what: impl FnOnce() -> String) -> bool {
        let p = self.config.faults.net_reset;
        p > 0.0 && self.fault(FaultKind::NetReset, p, what)
    }

    /// The net-unresponsive fault, asked as a packet reaches a responsive host over an uncut
    /// link: how long the host stops responding for, if it does.
    pub(crate) fn net_unresponsive(&self, what: impl FnOnce(f64) -> String) -> Option<i64> {
        let f = &self.config.faults;
        self.lasting_fault(
            FaultKind::NetUnresponsive,
            f.net_unresponsive,
            f.net_unresponsive_ns,
            what,
        )
    }

    /// The net-half-close fault, asked as a data packet reaches an open connection end.
    pub(crate) fn net_half_close(&self, what: impl FnOnce() -> String) -> bool {
        let p = self.config.faults.net_half_close;
        p > 0.0 && self.fault(FaultKind::NetHalfClose, p, what)
    }

    /// The net-partition fault, asked as a packet reaches an end over an uncut link: how
    /// long the link is cut for, if it is.
    pub(crate) fn net_partition(&self, what: impl FnOnce(f64) -> String) -> Option<i64> {
        let f = &self.config.faults;
        self.lasting_fault(
            FaultKind::NetPartition,
            f.net_partition,
            f.net_partition_ns,
            what,
        )
    }

    /// A fault that lasts `duration_ns`: the duration if it happens (`what` gets it in seconds).
    fn lasting_fault(
        &self,
        kind: FaultKind,
        p: f64,
        duration_ns: i64,
        what: impl FnOnce(f64) -> String,
    ) -> Option<i64> {
        if p <= 0.0 {
            return None;
        }
        let duration = duration_ns.max(1);
        self.fault(kind, p, || what(duration as f64 / 1e9))
            .then_some(duration)
    }

    /// The early-timeout fault: should a timeout arm as if its deadline were now?
    pub(crate) fn early_timeout(&self) -> bool {
        self.fault(
            FaultKind::EarlyTimeout,
            self.config.faults.early_timeout,
            || "a timeout fires at once".to_string(),
        )
    }

    /// The spurious-cancellation fault, asked before each step of a task.
    #[inline]
    pub(crate) fn maybe_spurious_cancel(&self, task: &Rc<dyn TaskRun>) {
        let p = self.config.faults.spurious_cancel;
        if p <= 0.0 || task.is_done() {
            return;
        }
        if self.fault(FaultKind::SpuriousCancel, p, || {
            format!("{} cancelled before its step", task.header().name())
        }) {
            task.clone()
                .cancel_task(Some("spurious cancellation (injected fault)".into()));
        }
    }

    /// FoundationDB's `BUGGIFY` at `site`: enabled or not once per run, then fires by chance.
    pub(crate) fn buggify(&self, site: &'static Location<'static>) -> bool {
        let f = &self.config.faults;
        if f.buggify_enable <= 0.0 {
            return false;
        }
        let key = (site.file(), site.line(), site.column());
        let known = self.decide.buggify_sites.borrow().get(&key).copied();
        let enabled = match known {
            Some(e) => e,
            None => {
                let e = self.fault(FaultKind::BuggifyEnable, f.buggify_enable, || {
                    format!("buggify at {}", crate::trace::site(site))
                });
                self.decide.buggify_sites.borrow_mut().insert(key, e);
                e
            }
        };
        enabled
            && self.fault(FaultKind::BuggifyFire, f.buggify_fire, || {
                format!("buggify fires at {}", crate::trace::site(site))
            })
    }

    // ---- trace ---------------------------------------------------------------------------

    #[inline]
    pub(crate) fn record_ran(&self, ready: &Ready) {
        if self.decide.tracing(TraceLevel::Full) {
            let task = ready.task().map(|t| t.header().id);
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

impl Candidate {
    /// The name of the candidate's task (`Task-N` unless named), if it belongs to one.
    ///
    /// ```
    /// use tulipsim::scheduler::{ChoicePoint, Scheduler};
    /// use tulipsim::{sleep, EventLoop};
    ///
    /// /// Prefers the task named "urgent".
    /// struct Urgent;
    /// impl Scheduler for Urgent {
    ///     fn name(&self) -> String { "urgent".into() }
    ///     fn choose(&mut self, p: &ChoicePoint<'_>) -> usize {
    ///         p.candidates.iter().position(|c| c.task_name().as_deref() == Some("urgent")).unwrap_or(0)
    ///     }
    /// }
    /// let lp = EventLoop::new();
    /// lp.set_scheduler(Urgent);
    /// let log = std::rc::Rc::new(std::cell::RefCell::new(vec![]));
    /// for name in ["calm", "urgent"] {
    ///     let log = log.clone();
    ///     lp.create_task_named(name, async move {
    ///         // Tasks spawned by one step start in spawn order (the causal rule); after a
    ///         // step of their own, either may go first.
    ///         sleep(0).await?;
    ///         log.borrow_mut().push(name);
    ///         Ok(())
    ///     });
    /// }
    /// lp.run_until_complete(sleep(0)).unwrap();
    /// assert_eq!(*log.borrow(), ["urgent", "calm"]);
    /// ```
    pub fn task_name(&self) -> Option<String> {
        self.run.as_ref().map(|t| t.header().name())
    }
}
