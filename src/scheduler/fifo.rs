//! `Fifo`: asyncio's own order.

use super::{ChoicePoint, Scheduler};

/// asyncio's order: the oldest ready entry runs first, and timers due at the same instant run
/// in the order they were scheduled. The default of a plain [`EventLoop`](crate::EventLoop);
/// every seed gives the same run.
///
/// ```
/// use tulipsim::scheduler::{Fifo, Scheduler};
/// assert_eq!(Fifo.name(), "fifo");
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Fifo;

impl Scheduler for Fifo {
    fn name(&self) -> String {
        "fifo".into()
    }

    fn choose(&mut self, _: &ChoicePoint<'_>) -> usize {
        0
    }
}
