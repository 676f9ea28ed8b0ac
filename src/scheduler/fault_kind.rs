//! The kinds of injected faults, as a policy is asked about them.

/// A kind of injected fault, as [`Scheduler::fault`](super::Scheduler::fault) is asked about it.
///
/// ```
/// use tulipsim::scheduler::FaultKind;
/// assert_eq!(FaultKind::NetReset.name(), "net-reset");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// A `wait_for` or `timeout` scope's timer fires now instead of at its deadline.
    EarlyTimeout,
    /// A timer fires later than asked (never earlier).
    TimerJitter,
    /// A task is cancelled out of the blue before one of its steps.
    SpuriousCancel,
    /// A `buggify!()` call site is enabled for this run.
    BuggifyEnable,
    /// An enabled `buggify!()` call site fires.
    BuggifyFire,
    /// A packet of a stream connection arrives late (its order kept).
    NetDelay,
    /// A stream connection is reset as a data packet reaches one of its ends.
    NetReset,
    /// The link between two hosts stops delivering for a while.
    NetPartition,
    /// A stream connection's sending end has its write side shut as a data packet arrives.
    NetHalfClose,
    /// A host stops responding for a while: every packet from or to it is held.
    NetUnresponsive,
}

impl FaultKind {
    /// A short name, as traces print it.
    ///
    /// ```
    /// assert_eq!(tulipsim::scheduler::FaultKind::EarlyTimeout.name(), "early-timeout");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::EarlyTimeout => "early-timeout",
            FaultKind::TimerJitter => "timer-jitter",
            FaultKind::SpuriousCancel => "spurious-cancel",
            FaultKind::BuggifyEnable => "buggify-enable",
            FaultKind::BuggifyFire => "buggify-fire",
            FaultKind::NetDelay => "net-delay",
            FaultKind::NetReset => "net-reset",
            FaultKind::NetPartition => "net-partition",
            FaultKind::NetHalfClose => "net-half-close",
            FaultKind::NetUnresponsive => "net-unresponsive",
        }
    }
}
