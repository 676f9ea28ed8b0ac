//! The simulated network's fault rules: when a packet is late, a connection reset or half
//! closed, a link cut or a host unresponsive. Each asks the loop's one fault query
//! ([`LoopInner::fault`]); the loop knows nothing of the network.
//!
//! They are methods of the loop, defined here, so that the network's call sites read as
//! before (`lp.net_delay(..)`).

use crate::base_events::LoopInner;
use crate::scheduler::FaultKind;

impl LoopInner {
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
}
