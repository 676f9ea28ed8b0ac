//! Fault injection: timeouts that fire early, timers that fire late, tasks cancelled out of the
//! blue, and FoundationDB-style `buggify()` points in user code.
//!
//! Every fault is off by default. Each has a probability; whether it happens is a decision
//! asked of the run's [`Scheduler`](crate::scheduler::Scheduler), drawn from the run's fault
//! stream (separate from the scheduling stream, so turning faults on does not reshuffle the
//! schedule) and recorded in the trace.

use std::panic::Location;
use std::rc::Rc;

use crate::base_events::LoopInner;
use crate::base_events::Runnable;
use crate::scheduler::{FaultKind, FaultRng, AMOUNT_STREAM};

/// Which faults a run injects, and how often.
///
/// ```
/// use tulipsim::{sleep, timeout, Error, EventLoop, FaultConfig, LoopConfig};
///
/// // Every timeout fires at once: code must cope with timeouts it did not expect.
/// let faults = FaultConfig::default().early_timeout(1.0);
/// let lp = EventLoop::with_config(LoopConfig::default().seed(1).faults(faults));
/// let r = lp.run_until_complete(async { timeout(60).run(sleep(1)).await });
/// assert_eq!(r, Err(Error::timeout()));
/// assert_eq!(lp.time(), 0.0);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultConfig {
    pub(crate) early_timeout: f64,
    pub(crate) timer_jitter: f64,
    pub(crate) max_jitter_ns: i64,
    pub(crate) spurious_cancel: f64,
    pub(crate) buggify_enable: f64,
    pub(crate) buggify_fire: f64,
    pub(crate) net_delay: f64,
    pub(crate) net_delay_max_ns: i64,
    pub(crate) net_reset: f64,
    pub(crate) net_partition: f64,
    pub(crate) net_partition_ns: i64,
    pub(crate) net_half_close: f64,
    pub(crate) net_unresponsive: f64,
    pub(crate) net_unresponsive_ns: i64,
}

impl FaultConfig {
    /// Every fault at probability `p` (timer jitter up to 1 s; buggify sites enabled with
    /// probability `p` and firing with probability `p`; the network faults with packets
    /// delayed up to 1 s, partitions of 1 s and hosts unresponsive for 1 s). The network faults are asked only of programs
    /// that use [`streams`](crate::streams).
    ///
    /// ```
    /// let all = tulipsim::FaultConfig::all(0.05);
    /// assert!(all.is_active());
    /// ```
    pub fn all(p: f64) -> FaultConfig {
        FaultConfig::default()
            .early_timeout(p)
            .timer_jitter(p, 1.0)
            .spurious_cancel(p)
            .buggify(p, p)
            .net_delay(p, 1.0)
            .net_reset(p)
            .net_partition(p, 1.0)
            .net_half_close(p)
            .net_unresponsive(p, 1.0)
    }

    /// With probability `p`, a `wait_for` or `timeout` scope's deadline fires now instead of
    /// at its time.
    ///
    /// ```
    /// let f = tulipsim::FaultConfig::default().early_timeout(0.2);
    /// assert!(f.is_active());
    /// ```
    pub fn early_timeout(mut self, p: f64) -> Self {
        self.early_timeout = p;
        self
    }

    /// With probability `p`, a timer (`call_later`, `call_at`, `sleep`) fires up to
    /// `max_delay` seconds later than asked, never earlier.
    ///
    /// ```
    /// let f = tulipsim::FaultConfig::default().timer_jitter(0.1, 0.5);
    /// assert!(f.is_active());
    /// ```
    pub fn timer_jitter(mut self, p: f64, max_delay: impl crate::events::IntoDelay) -> Self {
        self.timer_jitter = p;
        self.max_jitter_ns = max_delay.into_nanos().max(1);
        self
    }

    /// With probability `p`, a task is cancelled just before one of its steps, as if something
    /// else had cancelled it.
    ///
    /// ```
    /// let f = tulipsim::FaultConfig::default().spurious_cancel(0.01);
    /// assert!(f.is_active());
    /// ```
    pub fn spurious_cancel(mut self, p: f64) -> Self {
        self.spurious_cancel = p;
        self
    }

    /// [`buggify()`] call sites: each site is enabled for a run with probability `enable`, and
    /// an enabled site fires each time with probability `fire`.
    ///
    /// ```
    /// let f = tulipsim::FaultConfig::default().buggify(0.5, 0.1);
    /// assert!(f.is_active());
    /// ```
    pub fn buggify(mut self, enable: f64, fire: f64) -> Self {
        self.buggify_enable = enable;
        self.buggify_fire = fire;
        self
    }

    /// With probability `p`, a packet of a [`streams`](crate::streams) connection (data, a
    /// connection request or answer, the end of the stream) arrives up to `max_extra` seconds
    /// later than the link would bring it (the amount is drawn on a stream of its own, as
    /// timer jitter's is). Nothing overtakes it: the packets sent after it on the same
    /// direction of the connection arrive after it, so the bytes stay in order.
    ///
    /// ```
    /// use tulipsim::streams::{open_connection, start_server};
    /// use tulipsim::{EventLoop, FaultConfig, LoopConfig};
    ///
    /// let faults = FaultConfig::default().net_delay(1.0, 0.5); // every packet, up to 0.5 s
    /// let lp = EventLoop::with_config(LoopConfig::default().seed(1).faults(faults));
    /// let echoed = lp.run_until_complete(async {
    ///     let _s = start_server(|r, w| async move {
    ///         w.write(r.readline().await?)?;
    ///         w.drain().await
    ///     }, "server", 7).await?;
    ///     let (r, w) = open_connection("server", 7).await?;
    ///     w.write(b"ping\n")?;
    ///     r.readline().await
    /// });
    /// assert_eq!(echoed.unwrap(), b"ping\n");
    /// assert!(lp.time() > 0.004); // four packets of 1 ms each, all of them late
    /// assert!(lp.fired_faults().queries().len() >= 4);
    /// ```
    pub fn net_delay(mut self, p: f64, max_extra: impl crate::events::IntoDelay) -> Self {
        self.net_delay = p;
        self.net_delay_max_ns = max_extra.into_nanos().max(1);
        self
    }

    /// With probability `p`, asked once for each data packet that reaches an open connection
    /// end: the connection is reset instead. The packet is lost; the end it was going to sees
    /// `ConnectionResetError` at once (its reads and `drain()` fail), and the other end when
    /// the reset reaches it, one latency later. What a reader had received before stays
    /// readable in its buffer order: a reset connection delivers a prefix of what was written.
    ///
    /// ```
    /// use tulipsim::streams::{open_connection, start_server};
    /// use tulipsim::{Error, EventLoop, FaultConfig, LoopConfig, TraceLevel};
    ///
    /// let faults = FaultConfig::default().net_reset(1.0);
    /// let lp = EventLoop::with_config(
    ///     LoopConfig::default().faults(faults).trace(TraceLevel::Decisions),
    /// );
    /// let r = lp.run_until_complete(async {
    ///     let _s = start_server(|r, _w| async move { r.read(-1).await.map(drop) }, "server", 7)
    ///         .await?;
    ///     let (r, w) = open_connection("server", 7).await?;
    ///     w.write(b"hello")?; // the server's end is reset when it arrives
    ///     r.read(-1).await
    /// });
    /// assert!(matches!(r, Err(Error::ConnectionReset(_))));
    /// assert!(lp.trace().to_string().contains("fault net-reset"));
    /// ```
    pub fn net_reset(mut self, p: f64) -> Self {
        self.net_reset = p;
        self
    }

    /// With probability `p`, asked once for each packet that reaches a connection end over a
    /// link that is not cut already: the link between the two hosts is cut for `duration`
    /// seconds, both ways. The packets that reach it meanwhile, this one included, are held,
    /// not lost, and arrive in order when the partition heals. Connections are not reset by a
    /// partition, however long (no keep-alive is simulated): only the program's own timeouts
    /// notice it.
    ///
    /// ```
    /// use tulipsim::streams::{open_connection, start_server};
    /// use tulipsim::{EventLoop, FaultConfig, LoopConfig};
    ///
    /// let faults = FaultConfig::default().net_partition(1.0, 2.0);
    /// let lp = EventLoop::with_config(LoopConfig::default().faults(faults));
    /// lp.run_until_complete(async {
    ///     let _s = start_server(|_r, _w| async { Ok(()) }, "server", 7).await?;
    ///     let (_r, w) = open_connection("server", 7).await?; // the request waits 2 s
    ///     w.close();
    ///     Ok(())
    /// })
    /// .unwrap();
    /// assert!(lp.time() >= 2.0);
    /// ```
    pub fn net_partition(mut self, p: f64, duration: impl crate::events::IntoDelay) -> Self {
        self.net_partition = p;
        self.net_partition_ns = duration.into_nanos().max(1);
        self
    }

    /// With probability `p`, asked once for each data packet that reaches an open connection
    /// end: the sending end's write side is shut, as if it had called `write_eof()` (a
    /// half-close, as a proxy or a peer's bug does it). This packet and everything written
    /// before it still arrive, then the end of the stream: the receiver's reads see EOF early
    /// (`read` gives `b""`, `readexactly` fails with `IncompleteReadError`). The sender's next
    /// `write()` fails with `BrokenPipeError`, so no byte is accepted and then lost. The other
    /// direction keeps working: the receiver can still answer.
    ///
    /// ```
    /// use tulipsim::streams::{open_connection, start_server};
    /// use tulipsim::{Error, EventLoop, FaultConfig, LoopConfig};
    ///
    /// let faults = FaultConfig::default().net_half_close(1.0);
    /// let lp = EventLoop::with_config(LoopConfig::default().faults(faults));
    /// let (got, second_write) = lp
    ///     .run_until_complete(async {
    ///         let _s = start_server(
    ///             |r, w| async move {
    ///                 let got = r.read(-1).await?; // "hello", then EOF
    ///                 w.write(&got)?; // the way back still works
    ///                 w.close();
    ///                 Ok(())
    ///             },
    ///             "server",
    ///             7,
    ///         )
    ///         .await?;
    ///         let (r, w) = open_connection("server", 7).await?;
    ///         w.write(b"hello")?;
    ///         let got = r.read(-1).await?;
    ///         Ok((got, w.write(b"more")))
    ///     })
    ///     .unwrap();
    /// assert_eq!(got, b"hello");
    /// assert!(matches!(second_write, Err(Error::BrokenPipe(_))));
    /// ```
    pub fn net_half_close(mut self, p: f64) -> Self {
        self.net_half_close = p;
        self
    }

    /// With probability `p`, asked once for each packet that reaches a host over a link that is
    /// not cut, when neither host is unresponsive already: the receiving host stops responding
    /// for `duration` seconds. Every packet from it or to it meanwhile, this one included, is
    /// held, not lost, and arrives in order when it responds again, as with
    /// [`Network::set_unresponsive`](crate::streams::Network::set_unresponsive): a connection
    /// request waits, and only the program's own timeouts notice.
    ///
    /// ```
    /// use tulipsim::streams::{open_connection, start_server};
    /// use tulipsim::{wait_for, Error, EventLoop, FaultConfig, LoopConfig};
    ///
    /// let faults = FaultConfig::default().net_unresponsive(1.0, 5.0);
    /// let lp = EventLoop::with_config(LoopConfig::default().faults(faults));
    /// let r = lp.run_until_complete(async {
    ///     let _s = start_server(|_r, _w| async { Ok(()) }, "server", 7).await?;
    ///     // The request reaches the server, which stops responding for 5 s.
    ///     wait_for(open_connection("server", 7), 1.0).await.map(drop)
    /// });
    /// assert_eq!(r, Err(Error::timeout()));
    /// assert_eq!(lp.fired_faults().queries().len(), 1);
    /// ```
    pub fn net_unresponsive(mut self, p: f64, duration: impl crate::events::IntoDelay) -> Self {
        self.net_unresponsive = p;
        self.net_unresponsive_ns = duration.into_nanos().max(1);
        self
    }

    /// The early-timeout probability.
    ///
    /// ```
    /// assert_eq!(tulipsim::FaultConfig::default().early_timeout(0.5).early_timeout_probability(), 0.5);
    /// ```
    pub fn early_timeout_probability(&self) -> f64 {
        self.early_timeout
    }

    /// True if any fault can happen.
    ///
    /// ```
    /// assert!(!tulipsim::FaultConfig::default().is_active());
    /// ```
    pub fn is_active(&self) -> bool {
        self.early_timeout > 0.0
            || self.timer_jitter > 0.0
            || self.spurious_cancel > 0.0
            || self.buggify_enable > 0.0
            || self.net_delay > 0.0
            || self.net_reset > 0.0
            || self.net_partition > 0.0
            || self.net_half_close > 0.0
            || self.net_unresponsive > 0.0
    }
}

/// Fault settings as text, as `#[tulipsim::test(faults = "...")]` takes them: comma-separated
/// `name=p` pairs, where a fault with a duration takes `name=p:seconds` (default 1 s):
/// `early_timeout`, `jitter` (timer jitter), `spurious_cancel`, `buggify=enable[:fire]` (fire
/// defaults to `enable`), `net_delay`, `net_reset`, `net_partition`, `net_half_close`,
/// `net_unresponsive`, and `all` ([`FaultConfig::all`]). An empty string is no fault.
///
/// ```
/// use tulipsim::FaultConfig;
/// let f: FaultConfig = "early_timeout=0.1, jitter=0.2:0.5".parse().unwrap();
/// assert_eq!(f.early_timeout_probability(), 0.1);
/// assert!("early_timeout=2".parse::<FaultConfig>().is_err());
/// assert!("lightning=0.1".parse::<FaultConfig>().unwrap_err().contains("lightning"));
/// ```
impl std::str::FromStr for FaultConfig {
    type Err = String;

    fn from_str(s: &str) -> Result<FaultConfig, String> {
        let mut f = FaultConfig::default();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (name, value) = item
                .split_once('=')
                .ok_or_else(|| format!("fault {item:?}: expected name=probability"))?;
            let (name, value) = (name.trim(), value.trim());
            let mut parts = value.split(':').map(str::trim);
            let number = |v: Option<&str>, what: &str| -> Result<Option<f64>, String> {
                match v {
                    None => Ok(None),
                    Some(v) => v
                        .parse::<f64>()
                        .ok()
                        .filter(|x| x.is_finite() && *x >= 0.0)
                        .map(Some)
                        .ok_or_else(|| format!("fault {item:?}: {v:?} is not a {what}")),
                }
            };
            let p = number(parts.next(), "probability")?.unwrap_or(0.0);
            if p > 1.0 {
                return Err(format!("fault {item:?}: a probability is at most 1"));
            }
            let second = number(parts.next(), "number")?;
            if parts.next().is_some() {
                return Err(format!("fault {item:?}: too many ':'"));
            }
            let secs = second.unwrap_or(1.0);
            f = match name {
                "early_timeout" => f.early_timeout(p),
                "jitter" | "timer_jitter" => f.timer_jitter(p, secs),
                "spurious_cancel" => f.spurious_cancel(p),
                "buggify" => f.buggify(p, second.unwrap_or(p).min(1.0)),
                "net_delay" => f.net_delay(p, secs),
                "net_reset" => f.net_reset(p),
                "net_partition" => f.net_partition(p, secs),
                "net_half_close" => f.net_half_close(p),
                "net_unresponsive" => f.net_unresponsive(p, secs),
                "all" => FaultConfig::all(p),
                other => {
                    return Err(format!(
                        "not a fault: {other:?} (early_timeout, jitter, spurious_cancel, buggify, \
                         net_delay, net_reset, net_partition, net_half_close, net_unresponsive, all)"
                    ))
                }
            };
        }
        Ok(f)
    }
}

/// FoundationDB's `BUGGIFY`: true when the run's fault configuration enables this call site and
/// it fires now. Guard rare paths with it (a retry, a slow disk, a dropped message) so that the
/// simulation exercises them. Always false outside a task, or with buggify off (the default).
///
/// Each call site (file, line, column) is enabled or not once per run; enabled sites fire with
/// the configured probability. Both are recorded decisions, so a run replays.
///
/// ```
/// use tulipsim::{buggify, EventLoop, FaultConfig, LoopConfig};
/// let faults = FaultConfig::default().buggify(1.0, 1.0);
/// let lp = EventLoop::with_config(LoopConfig::default().seed(3).faults(faults));
/// let fired = lp.run_until_complete(async { Ok(buggify()) }).unwrap();
/// assert!(fired);
/// assert!(!buggify()); // outside a task
/// ```
#[track_caller]
pub fn buggify() -> bool {
    let site = Location::caller();
    crate::events::with_running(|lp| lp.is_some_and(|lp| lp.has_current_task() && lp.buggify(site)))
}

/// The fault rules of the loop's own faults, each a query of the one decision point
/// ([`LoopInner::fault`]); the network's rules are in `streams/faults.rs`.
impl LoopInner {
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
    pub(crate) fn fault_amount(&self, max: i64) -> i64 {
        self.decide
            .amount_rng
            .borrow_mut()
            .get_or_insert_with(|| {
                Box::new(FaultRng(crate::scheduler::seeded_stream(
                    self.decide.seed,
                    AMOUNT_STREAM,
                )))
            })
            .below(max.max(1) as u64) as i64
            + 1
    }

    /// A fault that lasts `duration_ns`: the duration if it happens (`what` gets it in seconds).
    pub(crate) fn lasting_fault(
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
    pub(crate) fn maybe_spurious_cancel(&self, task: &Rc<dyn Runnable>) {
        let p = self.config.faults.spurious_cancel;
        if p <= 0.0 || task.is_done() {
            return;
        }
        if self.fault(FaultKind::SpuriousCancel, p, || {
            format!("{} cancelled before its step", task.task_name())
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
}
