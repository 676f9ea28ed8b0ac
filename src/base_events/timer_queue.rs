//! The timers' priority queue: sorted runs of timers, merged by a heap of their first timers.
//!
//! Timers come in bursts at few distinct deadlines (a thousand tasks each arming `now + 1`),
//! so a timer pushed no earlier than the last timer of a recent run joins the end of that
//! run, linked through its slot, and the heap holds only each run's first timer: a pop takes
//! the next of its run, in a heap of a few runs rather than of every timer. Pops come in
//! `(when, seq)` order all the same, which is total (`seq` grows with every push): each run
//! is sorted by it and the heap merges them by it, so the order never depends on how pushes
//! fell into runs.

use std::mem;

/// No slot: the end of a run, or no open run.
const NONE: u32 = u32::MAX;

/// How many runs stay open for timers to join: a burst needs one per distinct deadline; 8
/// rather than 4 also halves the runs a burst of random deadlines makes (W3's sleepers).
const OPEN_RUNS: usize = 8;

/// A timer's place in the order (its deadline, then its push number) and its slot.
#[derive(Clone, Copy)]
struct Key {
    when: i64,
    seq: u64,
    slot: u32,
}

/// The link of a run's last timer.
const END: Key = Key {
    when: 0,
    seq: 0,
    slot: NONE,
};

impl Key {
    /// `(when, seq)` as one number, compared without a branch: timers of one burst mostly
    /// share their deadline.
    #[inline]
    fn rank(&self) -> u128 {
        (u128::from(self.when as u64 ^ (1 << 63)) << 64) | u128::from(self.seq)
    }

    /// True if `self` pops first.
    #[inline]
    fn before(&self, other: &Key) -> bool {
        self.rank() < other.rank()
    }
}

/// A queued action, and the key of the next timer of its run (`END` for none); in a free
/// slot, `link.slot` is the next free slot (older).
struct Slot<T> {
    action: Option<T>,
    link: Key,
}

/// The last timer of an open run.
#[derive(Clone, Copy)]
struct Tail {
    when: i64,
    slot: u32,
}

/// No open run: the earliest deadline, so that the first look for a run to join stops here.
const NO_RUN: Tail = Tail {
    when: i64::MIN,
    slot: NONE,
};

/// Actions by deadline, earliest first, and among equal deadlines the first pushed (asyncio
/// leaves that order undefined; see docs/semantics.md).
pub(super) struct TimerQueue<T> {
    /// The first timer of each run, as a binary min-heap.
    heap: Vec<Key>,
    /// The ends of the runs a timer may join, latest first (mostly: a run that ends leaves a
    /// gap, which only makes a later timer join a run that ends earlier than the best).
    tails: [Tail; OPEN_RUNS],
    /// Every queued timer's action and link, by slot.
    slots: Vec<Slot<T>>,
    /// The most recently freed slot.
    free: u32,
    /// The next push's number.
    seq: u64,
}

impl<T> Default for TimerQueue<T> {
    fn default() -> Self {
        TimerQueue {
            heap: Vec::new(),
            tails: [NO_RUN; OPEN_RUNS],
            slots: Vec::new(),
            free: NONE,
            seq: 0,
        }
    }
}

impl<T> TimerQueue<T> {
    /// True when no timer is queued.
    pub(super) fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Queues `action` at `when`, after every action already queued at the same `when`.
    pub(super) fn push(&mut self, when: i64, action: T) {
        let seq = self.seq;
        self.seq += 1;
        let slot = match self.slots.get_mut(self.free as usize) {
            Some(free) => {
                free.action = Some(action);
                let slot = mem::replace(&mut self.free, free.link.slot);
                free.link = END;
                slot
            }
            None => {
                let slot = u32::try_from(self.slots.len())
                    .ok()
                    .filter(|&s| s != NONE)
                    .expect("fewer than 2^32 - 1 timers");
                self.slots.push(Slot {
                    action: Some(action),
                    link: END,
                });
                slot
            }
        };
        let key = Key { when, seq, slot };
        // The first run ending no later than `when` ends latest: join it, or where there is
        // no run, start one. If every run ends later, drop the one ending latest (the least
        // likely to be joined) and start one at the end (the earliest).
        match self.tails.iter().position(|t| t.when <= when) {
            Some(i) => {
                let tail = mem::replace(&mut self.tails[i], Tail { when, slot });
                match self.slots.get_mut(tail.slot as usize) {
                    Some(last) => last.link = key,
                    None => self.push_key(key),
                }
            }
            None => {
                self.tails.rotate_left(1);
                self.tails[OPEN_RUNS - 1] = Tail { when, slot };
                self.push_key(key);
            }
        }
    }

    /// The earliest deadline.
    pub(super) fn next_when(&self) -> Option<i64> {
        self.heap.first().map(|key| key.when)
    }

    /// The earliest deadline and its action.
    pub(super) fn peek(&self) -> Option<(i64, &T)> {
        let key = self.heap.first()?;
        let action = self.slots[key.slot as usize].action.as_ref()?;
        Some((key.when, action))
    }

    /// Takes the earliest action out.
    pub(super) fn pop(&mut self) -> Option<T> {
        let top = *self.heap.first()?;
        let freed = &mut self.slots[top.slot as usize];
        let action = freed.action.take();
        let next = freed.link;
        freed.link.slot = mem::replace(&mut self.free, top.slot);
        let key = if next.slot != NONE {
            next
        } else {
            // The run ended: no open run may end at the freed slot.
            for t in &mut self.tails {
                if t.slot == top.slot {
                    *t = NO_RUN;
                }
            }
            match self.heap.pop() {
                Some(last) if !self.heap.is_empty() => last,
                _ => {
                    // Nothing is queued: the slots start again from the first, so that the
                    // next timers reuse the same few and a drain has none to look through.
                    self.slots.clear();
                    self.free = NONE;
                    return action;
                }
            }
        };
        self.sift_down_root(key);
        action
    }

    /// Adds a run, first timer `key`, to the heap.
    fn push_key(&mut self, key: Key) {
        let mut hole = self.heap.len();
        self.heap.push(key);
        while hole > 0 {
            let parent = (hole - 1) / 2;
            if !key.before(&self.heap[parent]) {
                break;
            }
            self.heap[hole] = self.heap[parent];
            hole = parent;
        }
        self.heap[hole] = key;
    }

    /// Puts `key` at the root, then where it belongs: first a hole down to the bottom along
    /// the lesser children, then `key` up from there, which compares once a level on the way
    /// down rather than twice (`std`'s `BinaryHeap::pop` does the same).
    fn sift_down_root(&mut self, key: Key) {
        let heap = &mut self.heap[..];
        let mut hole = 0;
        let mut child = 1;
        while let Some(pair) = heap.get(child..child + 2) {
            let right = pair[1].before(&pair[0]);
            heap[hole] = pair[usize::from(right)];
            hole = child + usize::from(right);
            child = 2 * hole + 1;
        }
        if let Some(&last) = heap.get(child) {
            heap[hole] = last;
            hole = child;
        }
        while hole > 0 {
            let parent = (hole - 1) / 2;
            if !key.before(&heap[parent]) {
                break;
            }
            heap[hole] = heap[parent];
            hole = parent;
        }
        heap[hole] = key;
    }

    /// Empties the queue, keeping its storage, as a fresh one (a recycled loop).
    pub(super) fn clear(&mut self) {
        self.heap.clear();
        self.tails = [NO_RUN; OPEN_RUNS];
        self.slots.clear();
        self.free = NONE;
        self.seq = 0;
    }

    /// Takes every action out, in slot order (`close()`); the push count goes on.
    pub(super) fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        self.heap.clear();
        self.tails = [NO_RUN; OPEN_RUNS];
        self.free = NONE;
        self.slots.drain(..).filter_map(|s| s.action)
    }
}

#[cfg(test)]
mod tests {
    use std::cmp::Reverse;
    use std::collections::{BTreeSet, BinaryHeap};

    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::TimerQueue;

    /// The loop's way with a cancelled timer at the head (`next_deadline`): popped unseen.
    fn next_live(q: &mut TimerQueue<u64>, cancelled: &BTreeSet<u64>) -> Option<(i64, u64)> {
        loop {
            let (when, &id) = q.peek()?;
            if !cancelled.contains(&id) {
                return Some((when, id));
            }
            assert_eq!(q.pop(), Some(id));
        }
    }

    /// What `std`'s heap of whole timers did, the same way.
    fn reference_live(
        r: &mut BinaryHeap<Reverse<(i64, u64)>>,
        cancelled: &BTreeSet<u64>,
    ) -> Option<(i64, u64)> {
        while let Some(&Reverse((when, id))) = r.peek() {
            if !cancelled.contains(&id) {
                return Some((when, id));
            }
            r.pop();
        }
        None
    }

    /// Random bursts of pushes (deadlines drawn from a few, as timeouts arm them, or from
    /// many, as sleepers do, some already past), pops of what came due, cancellations and
    /// drains: every pop comes in `std`'s `(when, seq)` order.
    #[test]
    fn pops_come_in_the_order_of_a_binary_heap_of_whole_timers() {
        for seed in 0..200 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut q = TimerQueue::default();
            let mut r = BinaryHeap::new();
            let mut cancelled = BTreeSet::new();
            let (mut now, mut next_id) = (0_i64, 0_u64);
            for _ in 0..60 {
                let spread = [3, 50, 1_000_000][rng.random_range(0..3)];
                for _ in 0..rng.random_range(0..40) {
                    let when = now + rng.random_range(-2..spread);
                    q.push(when, next_id);
                    r.push(Reverse((when, next_id)));
                    next_id += 1;
                }
                for _ in 0..rng.random_range(0..10) {
                    cancelled.insert(rng.random_range(0..next_id.max(1)));
                }
                match rng.random_range(0..20) {
                    0 => {
                        let mut drained: Vec<u64> = q.drain().collect();
                        let mut expected: Vec<u64> = r.drain().map(|Reverse((_, id))| id).collect();
                        drained.sort_unstable();
                        expected.sort_unstable();
                        assert_eq!(drained, expected, "seed {seed}");
                    }
                    1 => {
                        q.clear();
                        r.clear();
                        next_id = 0;
                        cancelled.clear();
                    }
                    _ => {}
                }
                let Some((when, _)) = reference_live(&mut r, &cancelled) else {
                    assert_eq!(next_live(&mut q, &cancelled), None, "seed {seed}");
                    assert!(q.is_empty());
                    continue;
                };
                now = now.max(when) + rng.random_range(0..spread);
                while let Some((when, id)) = reference_live(&mut r, &cancelled) {
                    if when > now {
                        break;
                    }
                    assert_eq!(
                        next_live(&mut q, &cancelled),
                        Some((when, id)),
                        "seed {seed}"
                    );
                    assert_eq!(q.pop(), Some(id), "seed {seed}");
                    r.pop();
                }
                assert_eq!(
                    next_live(&mut q, &cancelled),
                    reference_live(&mut r, &cancelled),
                    "seed {seed}"
                );
            }
        }
    }
}
