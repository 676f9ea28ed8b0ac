//! Delays and instants on the virtual clock, as asyncio counts them (seconds).

use std::time::Duration;

/// A delay or an instant on the virtual clock, in seconds as asyncio counts them.
///
/// Implemented for `f64`/`f32` (seconds, as in asyncio), the integer types (whole seconds) and
/// [`Duration`]. The clock counts integer nanoseconds: a float is rounded to the nearest
/// nanosecond, so `sleep(0.1)` twice ends exactly where `sleep(0.2)` does (see
/// `docs/semantics.md`). NaN counts as zero; huge values saturate.
///
/// ```
/// use std::time::Duration;
/// use tulipsim::{sleep, EventLoop};
///
/// let lp = EventLoop::new();
/// lp.run_until_complete(async {
///     sleep(1).await?;                          // one second
///     sleep(0.5).await?;                        // half a second
///     sleep(Duration::from_millis(250)).await?; // a quarter
///     Ok(())
/// }).unwrap();
/// assert_eq!(lp.time(), 1.75);
/// ```
pub trait IntoDelay {
    /// The value in nanoseconds; may be negative (a deadline in the past).
    ///
    /// ```
    /// use tulipsim::IntoDelay;
    /// assert_eq!(1.5.into_nanos(), 1_500_000_000);
    /// assert_eq!(2.into_nanos(), 2_000_000_000);
    /// ```
    fn into_nanos(self) -> i64;
}

impl IntoDelay for f64 {
    fn into_nanos(self) -> i64 {
        if self.is_nan() {
            0
        } else {
            // `as` saturates at the bounds, which is what an "effectively infinite" delay wants.
            (self * 1e9).round() as i64
        }
    }
}

impl IntoDelay for f32 {
    fn into_nanos(self) -> i64 {
        f64::from(self).into_nanos()
    }
}

impl IntoDelay for Duration {
    fn into_nanos(self) -> i64 {
        i64::try_from(self.as_nanos()).unwrap_or(i64::MAX)
    }
}

macro_rules! delay_from_int {
    ($($t:ty),*) => {$(
        impl IntoDelay for $t {
            fn into_nanos(self) -> i64 {
                // Whole seconds; saturate instead of overflowing.
                i64::try_from(self).unwrap_or(i64::MAX).saturating_mul(1_000_000_000)
            }
        }
    )*};
}
delay_from_int!(i32, i64, u32, u64, usize);

pub(crate) fn nanos_to_secs(ns: i64) -> f64 {
    ns as f64 / 1e9
}
