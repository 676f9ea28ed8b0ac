//! `Bytes`: decisions read from fuzzer input.

use arbitrary::Unstructured;

use super::{ChoicePoint, FaultKind, FaultRng, Scheduler, UserRng};

/// Reads each decision from a byte string, as a fuzzer's input drives a program: a choice among
/// `n` candidates is `Unstructured::choose_index(n)` (one byte while `n <= 256`), a fault is one
/// byte compared with its probability. When the bytes run out, every choice is FIFO and no
/// fault happens, so empty input is exactly the [`Fifo`](super::Fifo) run.
///
/// The program's own random numbers ([`random_u64`](crate::random_u64), `tulipsim-tokio`'s
/// `select!`) read 8 bytes each (fewer at the end of the input, zero-padded); with no bytes
/// left they come from the seed's stream, as under FIFO.
///
/// (Faults read a byte directly: `Unstructured::ratio` returns true on empty input, which
/// would inject every fault once the input runs out.)
///
/// ```
/// use tulipsim::scheduler::{Bytes, Scheduler};
/// let b = Bytes::new(vec![3, 1, 4]);
/// assert_eq!(b.name(), "bytes");
/// ```
#[derive(Clone, Debug, Default)]
pub struct Bytes {
    data: Vec<u8>,
    pos: usize,
}

impl Bytes {
    /// Decisions read from `data`.
    ///
    /// ```
    /// use tulipsim::scheduler::{Bytes, Scheduler};
    /// let b = Bytes::new(vec![1, 2, 3]);
    /// assert_eq!(b.name(), "bytes");
    /// assert_eq!(b.consumed(), 0);
    /// ```
    pub fn new(data: Vec<u8>) -> Bytes {
        Bytes { data, pos: 0 }
    }

    /// How many bytes the decisions so far consumed.
    ///
    /// ```
    /// assert_eq!(tulipsim::scheduler::Bytes::new(vec![1]).consumed(), 0);
    /// ```
    pub fn consumed(&self) -> usize {
        self.pos
    }
}

impl Scheduler for Bytes {
    fn name(&self) -> String {
        "bytes".into()
    }

    fn begin_run(&mut self, _: u64) {
        self.pos = 0;
    }

    fn choose(&mut self, point: &ChoicePoint<'_>) -> usize {
        let rest = &self.data[self.pos.min(self.data.len())..];
        if rest.is_empty() {
            return 0;
        }
        let mut u = Unstructured::new(rest);
        let i = u.choose_index(point.candidates.len()).unwrap_or(0);
        self.pos = self.data.len() - u.len();
        i
    }

    fn next_u64(&mut self, rng: &mut UserRng) -> u64 {
        let rest = &self.data[self.pos.min(self.data.len())..];
        if rest.is_empty() {
            return rng.next_u64();
        }
        let n = rest.len().min(8);
        let mut bytes = [0u8; 8];
        bytes[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        u64::from_le_bytes(bytes)
    }

    fn fault(&mut self, _: FaultKind, p: f64, _: &mut FaultRng) -> bool {
        let Some(&b) = self.data.get(self.pos) else {
            return false;
        };
        self.pos += 1;
        f64::from(b) < p * 256.0
    }
}
