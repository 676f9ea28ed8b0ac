//! The virtual `Instant`.

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::sync::OnceLock;
use std::time::Duration;

/// A point in virtual time (tokio's `time::Instant`): nanoseconds since the simulation's
/// start, read from the running loop's clock. Outside a simulation, `now()` is the start.
///
/// ```
/// # use tulipsim_tokio as tokio;
/// # #[cfg(tulipsim)] {
/// use std::time::Duration;
/// use tokio::time::Instant;
/// tulipsim::EventLoop::new().run_until_complete(async {
///     let t0 = Instant::now();
///     tokio::time::sleep(Duration::from_millis(250)).await;
///     assert_eq!(Instant::now() - t0, Duration::from_millis(250));
///     assert!(Instant::now() > t0);
///     Ok(())
/// }).unwrap();
/// # }
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    nanos: u64,
}

/// Timers further away than this never fire (tokio's "far future" is about 30 years).
pub(crate) const FAR_FUTURE_NANOS: u64 = 1 << 62;

/// The real instant that virtual time 0 maps to, for [`Instant::into_std`] only: it is never
/// read back into the simulation.
fn std_anchor() -> std::time::Instant {
    static ANCHOR: OnceLock<std::time::Instant> = OnceLock::new();
    *ANCHOR.get_or_init(std::time::Instant::now)
}

impl Instant {
    pub(crate) fn nanos(self) -> u64 {
        self.nanos
    }

    /// The current virtual time.
    ///
    /// See [`Instant`] for an example.
    pub fn now() -> Instant {
        let nanos = tulipsim::get_running_loop().map_or(0, |lp| lp.time_ns().max(0) as u64);
        Instant { nanos }
    }

    /// `std_instant` as a virtual instant, measured from a fixed real instant that stands for
    /// virtual time 0 (so `Instant::from_std(i.into_std()) == i`).
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// use tokio::time::Instant;
    /// let i = Instant::now();
    /// assert_eq!(Instant::from_std(i.into_std()), i);
    /// # }
    /// ```
    pub fn from_std(std_instant: std::time::Instant) -> Instant {
        let d = std_instant.saturating_duration_since(std_anchor());
        Instant {
            nanos: u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
        }
    }

    /// This instant as a `std::time::Instant` (see [`from_std`](Self::from_std)).
    ///
    /// See [`from_std`](Self::from_std) for an example.
    pub fn into_std(self) -> std::time::Instant {
        std_anchor() + Duration::from_nanos(self.nanos)
    }

    /// The time from `earlier` to `self`, zero if `earlier` is later.
    ///
    /// See [`Instant`] for an example.
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }

    /// The time from `earlier` to `self`, `None` if `earlier` is later.
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// use std::time::Duration;
    /// use tokio::time::Instant;
    /// let t = Instant::now();
    /// let later = t + Duration::from_secs(1);
    /// assert_eq!(later.checked_duration_since(t), Some(Duration::from_secs(1)));
    /// assert_eq!(t.checked_duration_since(later), None);
    /// # }
    /// ```
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.nanos
            .checked_sub(earlier.nanos)
            .map(Duration::from_nanos)
    }

    /// The time from `earlier` to `self`, zero if `earlier` is later.
    ///
    /// See [`checked_duration_since`](Self::checked_duration_since) for an example.
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.nanos.saturating_sub(earlier.nanos))
    }

    /// Virtual time passed since `self`.
    ///
    /// See the [module docs](super) for an example.
    pub fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(*self)
    }

    /// `self + duration`, `None` on overflow.
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// use std::time::Duration;
    /// use tokio::time::Instant;
    /// assert!(Instant::now().checked_add(Duration::MAX).is_none());
    /// # }
    /// ```
    pub fn checked_add(&self, duration: Duration) -> Option<Instant> {
        let d = u64::try_from(duration.as_nanos()).ok()?;
        self.nanos.checked_add(d).map(|nanos| Instant { nanos })
    }

    /// `self - duration`, `None` before the simulation's start.
    ///
    /// ```
    /// # use tulipsim_tokio as tokio;
    /// # #[cfg(tulipsim)] {
    /// use std::time::Duration;
    /// use tokio::time::Instant;
    /// let t = Instant::now() + Duration::from_secs(2);
    /// assert!(t.checked_sub(Duration::from_secs(1)).is_some());
    /// assert!(t.checked_sub(Duration::from_secs(3)).is_none());
    /// # }
    /// ```
    pub fn checked_sub(&self, duration: Duration) -> Option<Instant> {
        let d = u64::try_from(duration.as_nanos()).ok()?;
        self.nanos.checked_sub(d).map(|nanos| Instant { nanos })
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Saturates at the far end of time instead of overflowing.
    fn add(self, rhs: Duration) -> Instant {
        self.checked_add(rhs).unwrap_or(Instant { nanos: u64::MAX })
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    /// Saturates at the simulation's start.
    fn sub(self, rhs: Duration) -> Instant {
        self.checked_sub(rhs).unwrap_or(Instant { nanos: 0 })
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, rhs: Duration) {
        *self = *self - rhs;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

impl From<std::time::Instant> for Instant {
    fn from(i: std::time::Instant) -> Instant {
        Instant::from_std(i)
    }
}

impl From<Instant> for std::time::Instant {
    fn from(i: Instant) -> std::time::Instant {
        i.into_std()
    }
}

impl fmt::Debug for Instant {
    /// Virtual seconds since the start: `Instant(1.500000000s)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Instant({}.{:09}s)",
            self.nanos / 1_000_000_000,
            self.nanos % 1_000_000_000
        )
    }
}
