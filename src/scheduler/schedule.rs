//! A run's choices as a sparse list of deviations from FIFO, and its text form.

use std::fmt;
use std::str::FromStr;

/// A run's choices as deviations from FIFO: `(decision number, candidate index)` pairs for
/// every decision that did not take index 0, in order.
///
/// Its text form, `"3:1,17:2"`, is what failure reports print and `TULIPSIM_REPLAY` reads; the
/// empty string is the FIFO schedule.
///
/// ```
/// use tulipsim::scheduler::Schedule;
/// let s: Schedule = "3:1,17:2".parse().unwrap();
/// assert_eq!(s.deviations(), [(3, 1), (17, 2)]);
/// assert_eq!(s.to_string(), "3:1,17:2");
/// assert!("".parse::<Schedule>().unwrap().is_fifo());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Schedule {
    deviations: Vec<(u64, u32)>,
}

impl Schedule {
    /// The FIFO schedule: no deviation.
    ///
    /// ```
    /// use tulipsim::scheduler::Schedule;
    /// assert!(Schedule::fifo().is_fifo());
    /// assert_eq!(Schedule::fifo().to_string(), "");
    /// ```
    pub fn fifo() -> Schedule {
        Schedule::default()
    }

    /// Makes it the FIFO schedule again, keeping its storage.
    pub(crate) fn clear(&mut self) {
        self.deviations.clear();
    }

    /// A schedule from deviations; they are sorted by decision number, index-0 and duplicate
    /// entries dropped (the first for a decision number wins).
    ///
    /// ```
    /// use tulipsim::scheduler::Schedule;
    /// let s = Schedule::from_deviations(vec![(9, 1), (2, 0), (4, 3), (9, 2)]);
    /// assert_eq!(s.to_string(), "4:3,9:1");
    /// ```
    pub fn from_deviations(mut deviations: Vec<(u64, u32)>) -> Schedule {
        deviations.retain(|&(_, o)| o != 0);
        deviations.sort_by_key(|&(d, _)| d);
        deviations.dedup_by_key(|&mut (d, _)| d);
        Schedule { deviations }
    }

    /// The deviations, by decision number.
    ///
    /// ```
    /// let s: tulipsim::scheduler::Schedule = "2:1,7:3".parse().unwrap();
    /// assert_eq!(s.deviations(), [(2, 1), (7, 3)]);
    /// ```
    pub fn deviations(&self) -> &[(u64, u32)] {
        &self.deviations
    }

    /// True for the FIFO schedule.
    ///
    /// ```
    /// let s: tulipsim::scheduler::Schedule = "2:1".parse().unwrap();
    /// assert!(!s.is_fifo());
    /// assert!(s.without(0).is_fifo());
    /// ```
    pub fn is_fifo(&self) -> bool {
        self.deviations.is_empty()
    }

    /// How many deviations (the schedule's length, which minimisation shortens).
    ///
    /// ```
    /// assert_eq!("1:1,5:2".parse::<tulipsim::scheduler::Schedule>().unwrap().len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.deviations.len()
    }

    /// True when there is no deviation (same as [`is_fifo`](Self::is_fifo)).
    ///
    /// ```
    /// assert!(tulipsim::scheduler::Schedule::fifo().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.deviations.is_empty()
    }

    /// The candidate index this schedule takes at decision `index`.
    ///
    /// ```
    /// let s: tulipsim::scheduler::Schedule = "3:2".parse().unwrap();
    /// assert_eq!((s.index_at(3), s.index_at(4)), (2, 0));
    /// ```
    pub fn index_at(&self, index: u64) -> u32 {
        match self.deviations.binary_search_by_key(&index, |&(d, _)| d) {
            Ok(i) => self.deviations[i].1,
            Err(_) => 0,
        }
    }

    /// This schedule without its `i`-th deviation.
    ///
    /// ```
    /// let s: tulipsim::scheduler::Schedule = "1:1,5:2".parse().unwrap();
    /// assert_eq!(s.without(0).to_string(), "5:2");
    /// ```
    pub fn without(&self, i: usize) -> Schedule {
        let mut deviations = self.deviations.clone();
        if i < deviations.len() {
            deviations.remove(i);
        }
        Schedule { deviations }
    }

    pub(crate) fn push(&mut self, index: u64, offset: u32) {
        if offset != 0 {
            self.deviations.push((index, offset));
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (d, o)) in self.deviations.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{d}:{o}")?;
        }
        Ok(())
    }
}

/// Why a text is not a [`Schedule`].
///
/// ```
/// assert!("3-1".parse::<tulipsim::scheduler::Schedule>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleParseError(pub(crate) String);

impl fmt::Display for ScheduleParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not a schedule: {:?} (expected decision:index pairs separated by commas, e.g. \"3:1,17:2\")",
            self.0
        )
    }
}

impl std::error::Error for ScheduleParseError {}

impl FromStr for Schedule {
    type Err = ScheduleParseError;

    fn from_str(text: &str) -> Result<Schedule, ScheduleParseError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Schedule::fifo());
        }
        let bad = || ScheduleParseError(text.to_string());
        let mut deviations = Vec::new();
        for pair in text.split(',') {
            let (d, o) = pair.trim().split_once(':').ok_or_else(bad)?;
            let d: u64 = d.trim().parse().map_err(|_| bad())?;
            let o: u32 = o.trim().parse().map_err(|_| bad())?;
            deviations.push((d, o));
        }
        Ok(Schedule::from_deviations(deviations))
    }
}

/// Fuzzer input as a schedule: a sparse list of deviations, as `cargo fuzz` targets take them.
///
/// ```
/// use arbitrary::{Arbitrary, Unstructured};
/// let s = tulipsim::scheduler::Schedule::arbitrary(&mut Unstructured::new(&[1, 2, 3, 4, 5])).unwrap();
/// assert!(s.len() <= 5);
/// ```
impl<'a> arbitrary::Arbitrary<'a> for Schedule {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Schedule> {
        let deviations: Vec<(u16, u8)> = u.arbitrary()?;
        Ok(Schedule::from_deviations(
            deviations
                .into_iter()
                .map(|(d, o)| (u64::from(d), u32::from(o % 4)))
                .collect(),
        ))
    }
}
