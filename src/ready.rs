//! The ready queue: asyncio's `_ready` deque, plus an index a scheduler's decisions use.
//!
//! Without a scheduler the loop is FIFO and the queue is a plain deque: push at the back, pop
//! at the front. With one, each decision needs the eligible entries (under the causal rule,
//! the oldest live entry of each origin; under chaos, every entry), how many there are, the
//! k-th of them, and its removal from the middle. Scanning the queue for that made a decision
//! O(ready entries), so a policy that reorders 100,000 ready tasks cost 45× FIFO. The index is
//! a bitmap over queue positions with a bit set for each eligible entry (`ready_index`): count
//! and removal are O(1), the k-th a short scan of counts, and removal leaves a tombstone
//! instead of shifting the deque.
//!
//! The deque gives back capacity after a burst (1,000,000 first steps of spawned tasks left
//! 48 MB of it, 50 bytes a task, once they all slept): see [`ReadyQueue::shrink_if_sparse`].

use std::collections::VecDeque;
use std::rc::Rc;

use crate::base_events::Entry;
use crate::base_events::Runnable;
use crate::ready_index::Bits;
use crate::scheduler::{Candidate, EligibleQueue, EntryKind};

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
            task: task.map(|t| t.task_id()),
            spawned_at: task.map(|t| t.spawned_at()),
            origin: self.origin,
            run: task.map(|t| t.clone() as _),
        }
    }

    /// The id of the task the entry belongs to, if any.
    #[inline]
    pub(crate) fn task_id(&self) -> Option<u64> {
        self.task().map(|t| t.task_id())
    }

    pub(crate) fn task(&self) -> Option<&Rc<dyn Runnable>> {
        match &self.entry {
            Entry::Step(t) | Entry::Wakeup(t) | Entry::SleepDone(t, _) => Some(t),
            Entry::Call(_) | Entry::Done(_) | Entry::Stop(_) => None,
        }
    }
}

/// Below this capacity (entries of 48 bytes) the deque is never shrunk: small queues that
/// fill and drain every loop iteration should not reallocate each time.
const SHRINK_MIN: usize = 4096;

#[derive(Default)]
pub(crate) struct ReadyQueue {
    /// `slots[i]` holds the entry with sequence number `base + i`; `None` is a removed entry.
    /// Neither end is ever a tombstone.
    slots: VecDeque<Option<Ready>>,
    base: u64,
    live: usize,
    index: Option<Index>,
    /// Eligible entries removed so far (wrapping), and whether the last removal made the next
    /// entry of its origin eligible: what tells PCT's view whether the entry it chose has a
    /// successor without fetching a candidate (`scheduler::EligibleQueue::last_removal`).
    removals: u64,
    promoted: bool,
    /// The buffers of an index turned off, kept for the next one: a sweep's runs each build
    /// an index, and allocating its four bitmaps was a twentieth of a short run.
    spare_bits: Bits,
}

/// Which entries are eligible, by sequence number: one bit per position (`ready_index`).
struct Index {
    chaos: bool,
    /// The sequence number at bit position 0.
    first: u64,
    bits: Bits,
}

impl ReadyQueue {
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.live == 0
    }

    #[inline]
    pub(crate) fn push_back(&mut self, r: Ready) {
        if self.index.is_none() {
            self.slots.push_back(Some(r));
            self.live += 1;
            return;
        }
        self.push_indexed(r);
    }

    fn push_indexed(&mut self, r: Ready) {
        let seq = self.base + self.slots.len() as u64;
        let (chaos, first, capacity) = match &self.index {
            Some(ix) => (ix.chaos, ix.first, ix.bits.capacity() as u64),
            None => return,
        };
        let head = chaos || self.back().is_none_or(|b| b.origin != r.origin);
        self.slots.push_back(Some(r));
        self.live += 1;
        if seq - first >= capacity {
            self.build_index(chaos);
        } else if head {
            let ix = self.index.as_mut().expect("checked above");
            ix.bits.set((seq - first) as usize);
        }
    }

    fn back(&self) -> Option<&Ready> {
        self.slots.back().and_then(Option::as_ref)
    }

    /// The oldest entry (FIFO's choice).
    #[inline]
    pub(crate) fn pop_front(&mut self) -> Option<Ready> {
        if self.index.is_none() && self.live == self.slots.len() {
            // No scheduler and no tombstone: asyncio's deque. `base` is only read relative to
            // the slots (when an index is built), so it need not move here.
            let r = self.slots.pop_front()?;
            self.live -= 1;
            self.shrink_if_sparse();
            return r;
        }
        self.pop_front_slow()
    }

    fn pop_front_slow(&mut self) -> Option<Ready> {
        if self.index.is_some() {
            return (self.live > 0).then(|| self.remove_eligible(0));
        }
        let r = self.slots.pop_front()??;
        self.base += 1;
        self.live -= 1;
        self.trim();
        self.shrink_if_sparse();
        Some(r)
    }

    /// Gives back capacity once the deque is under a quarter full, down to twice what it holds:
    /// amortized O(1) a pop (a shrink copies `len` entries after `3 len` pops or more), and
    /// the order is untouched.
    #[inline]
    fn shrink_if_sparse(&mut self) {
        if self.slots.len() * 4 < self.slots.capacity() && self.slots.capacity() > SHRINK_MIN {
            self.shrink();
        }
    }

    #[cold]
    fn shrink(&mut self) {
        self.slots.shrink_to((self.slots.len() * 2).max(SHRINK_MIN));
    }

    /// Drops tombstones at both ends.
    fn trim(&mut self) {
        while matches!(self.slots.front(), Some(None)) {
            self.slots.pop_front();
            self.base += 1;
        }
        while matches!(self.slots.back(), Some(None)) {
            self.slots.pop_back();
        }
    }

    /// Every entry, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Ready> + '_ {
        self.slots.iter().flatten()
    }

    /// Everything, oldest first, leaving the queue empty.
    /// Frees every entry without running it ([`Entry::discard`]), keeping the queue's storage
    /// and its index's buffers. The caller owns this queue outside the loop: discarding runs
    /// user `Drop` code, which may schedule (and, on the closed loop, free) entries.
    pub(crate) fn discard_all(&mut self) {
        self.base += self.slots.len() as u64;
        self.live = 0;
        self.shelve_index();
        for r in self.slots.drain(..).flatten() {
            r.entry.discard();
        }
    }

    /// The state `ReadyQueue::default()` gives, keeping the storage (a recycled loop).
    pub(crate) fn recycle(&mut self) {
        let ReadyQueue {
            slots,
            base,
            live,
            index: _,
            removals,
            promoted,
            spare_bits: _,
        } = self;
        debug_assert!(slots.is_empty());
        slots.clear();
        *base = 0;
        *live = 0;
        *removals = 0;
        *promoted = false;
        self.shelve_index();
    }

    /// Turns the index off, keeping its buffers for the next one.
    fn shelve_index(&mut self) {
        if let Some(ix) = self.index.take() {
            self.spare_bits = ix.bits;
        }
    }

    /// Turns the index on (a scheduler decides) or off (FIFO: a plain deque again).
    ///
    /// Inlined: every scheduled pick asks, and the index is almost always on already (the call
    /// and its checks were ~17 instructions a pick).
    #[inline]
    pub(crate) fn index(&mut self, on: Option<bool>) {
        match on {
            None => self.shelve_index(),
            Some(chaos) => {
                if !matches!(&self.index, Some(ix) if ix.chaos == chaos) {
                    self.build_index(chaos);
                }
            }
        }
    }

    /// Rebuilds the index from the slots, compacted, with room to grow.
    #[inline(never)]
    fn build_index(&mut self, chaos: bool) {
        if self.live < self.slots.len() {
            self.slots.retain(Option::is_some);
        }
        // Room for four times the live entries: a rebuild (O(n)) every 3n pushes or more. The
        // old bitmap's buffers are reused: a busy queue rebuilds every few thousand pushes.
        let capacity = (self.slots.len() * 4).max(16);
        let mut bits = match self.index.take() {
            Some(ix) => ix.bits,
            None => std::mem::take(&mut self.spare_bits),
        };
        bits.reset(capacity);
        let mut previous: Option<u64> = None;
        for (pos, slot) in self.slots.iter().enumerate() {
            let Some(r) = slot else { continue };
            if chaos || previous != Some(r.origin) {
                bits.set(pos);
            }
            previous = Some(r.origin);
        }
        self.index = Some(Index {
            chaos,
            first: self.base,
            bits,
        });
    }

    /// How many entries are eligible (the index must be on).
    pub(crate) fn eligible(&self) -> usize {
        self.index.as_ref().map_or(self.live, |ix| ix.bits.count())
    }

    /// The k-th eligible entry, oldest first (the index must be on).
    pub(crate) fn eligible_at(&self, k: usize) -> Option<&Ready> {
        let ix = self.index.as_ref()?;
        if k >= ix.bits.count() {
            return None;
        }
        let from = (self.base - ix.first) as usize;
        let seq = ix.first + ix.bits.select(k, from, from + self.slots.len()) as u64;
        self.slots[(seq - self.base) as usize].as_ref()
    }

    /// The eligible entries, oldest first (the index must be on).
    pub(crate) fn eligible_iter(&self) -> impl Iterator<Item = &Ready> + '_ {
        let chaos = self.index.as_ref().is_none_or(|ix| ix.chaos);
        let mut previous: Option<u64> = None;
        self.slots.iter().flatten().filter(move |r| {
            let head = chaos || previous != Some(r.origin);
            previous = Some(r.origin);
            head
        })
    }

    /// Removes the k-th eligible entry; requires `k < eligible()` and the index on.
    pub(crate) fn remove_eligible(&mut self, k: usize) -> Ready {
        let ix = self.index.as_mut().expect("a decision with the index on");
        // The oldest eligible entry is the front: the front is live (never a tombstone) and
        // is the oldest of its origin. So k = 0 (FIFO's every choice) needs no select.
        let from = (self.base - ix.first) as usize;
        if k == 0 {
            // A plain deque pop: taking the slot and trimming its tombstone cost ~90 more.
            ix.bits.clear(from);
            let r = self.slots.pop_front().flatten().expect("the front is live");
            self.base += 1;
            self.live -= 1;
            self.removals = self.removals.wrapping_add(1);
            self.promoted = false;
            match self.slots.front() {
                Some(Some(next)) if !ix.chaos && next.origin == r.origin => {
                    ix.bits.set(from + 1);
                    self.promoted = true;
                }
                Some(None) => self.trim(),
                _ => {}
            }
            self.shrink_if_sparse();
            return r;
        }
        let pos = ix.bits.select(k, from, from + self.slots.len());
        ix.bits.clear(pos);
        let seq = ix.first + pos as u64;
        let chaos = ix.chaos;
        let i = (seq - self.base) as usize;
        let r = self.slots[i].take().expect("an eligible entry is live");
        self.live -= 1;
        self.removals = self.removals.wrapping_add(1);
        self.promoted = false;
        if !chaos {
            // The next entry of the same origin is now its oldest. Under the causal rule only
            // the oldest of an origin is removed, and the index starts from compacted slots,
            // so the rest of an origin's run follows it with no tombstone between.
            let next = self.slots.get(i + 1).and_then(Option::as_ref);
            if next.is_some_and(|n| n.origin == r.origin) {
                let ix = self.index.as_mut().expect("on");
                ix.bits.set(pos + 1);
                self.promoted = true;
            }
        }
        // Only a removal at an end can leave a tombstone at an end.
        if i == 0 || i + 1 == self.slots.len() {
            self.trim();
        }
        self.shrink_if_sparse();
        r
    }
}

/// What a decision reads (`scheduler::Candidates`): one dynamic call lists every candidate.
impl EligibleQueue for ReadyQueue {
    fn candidate_at(&self, i: usize) -> Option<Candidate> {
        self.eligible_at(i).map(Ready::candidate)
    }

    fn candidates(&self) -> Vec<Candidate> {
        self.eligible_iter().map(Ready::candidate).collect()
    }

    fn last_removal(&self) -> (u64, bool) {
        (self.removals, self.promoted)
    }

    fn probe_at(&self, i: usize) -> Option<crate::scheduler::Probe> {
        self.eligible_at(i).map(|r| crate::scheduler::Probe {
            kind: r.kind,
            task: r.task_id(),
            origin: r.origin,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(origin: u64) -> Ready {
        Ready {
            entry: Entry::Done(Box::new(|| {})),
            origin,
            kind: EntryKind::DoneCallback,
        }
    }

    /// The scan the index replaces: the first of each run of equal origins.
    fn scanned(q: &ReadyQueue, chaos: bool) -> Vec<(u64, usize)> {
        let all: Vec<&Ready> = q.slots.iter().flatten().collect();
        (0..all.len())
            .filter(|&i| chaos || i == 0 || all[i - 1].origin != all[i].origin)
            .map(|i| (all[i].origin, i))
            .collect()
    }

    fn indexed(q: &ReadyQueue) -> Vec<(u64, usize)> {
        let all: Vec<*const Ready> = q.slots.iter().flatten().map(|r| r as *const _).collect();
        (0..q.eligible())
            .map(|k| {
                let r = q.eligible_at(k).unwrap();
                let i = all.iter().position(|&p| std::ptr::eq(p, r)).unwrap();
                (r.origin, i)
            })
            .collect()
    }

    #[test]
    fn the_index_agrees_with_a_scan_through_random_pushes_and_removals() {
        for chaos in [false, true] {
            let mut q = ReadyQueue::default();
            q.index(Some(chaos));
            let mut x: u64 = 12345;
            let mut origin = 0;
            for step in 0..2000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if x % 3 != 0 || q.is_empty() {
                    if x % 5 == 0 {
                        origin += 1;
                    }
                    q.push_back(entry(origin));
                } else {
                    let k = (x >> 8) as usize % q.eligible();
                    q.remove_eligible(k);
                    origin += 1; // a step ran: what it pushes has an origin of its own
                }
                assert_eq!(indexed(&q), scanned(&q, chaos), "step {step}");
                let iterated: Vec<u64> = q.eligible_iter().map(|r| r.origin).collect();
                let expected: Vec<u64> = scanned(&q, chaos).iter().map(|v| v.0).collect();
                assert_eq!(iterated, expected);
            }
        }
    }

    /// The reference: the live origins in order, the eligible ones found by a scan.
    fn reference_eligible(model: &VecDeque<u64>, chaos: bool, k: usize) -> Option<usize> {
        (0..model.len())
            .filter(|&i| chaos || i == 0 || model[i - 1] != model[i])
            .nth(k)
    }

    /// Pushes, decisions (k = 0 often, as FIFO's every decision, and random k), a burst to
    /// 100,000 entries and its drain, against a `VecDeque` of origins scanned for eligibility.
    /// Under chaos every origin is distinct, so an origin names an entry; under the causal
    /// rule only the oldest of an origin is eligible, so an origin names it there too.
    #[test]
    fn decisions_agree_with_a_scan_through_a_burst_and_its_drain() {
        for chaos in [false, true] {
            let mut q = ReadyQueue::default();
            let mut model: VecDeque<u64> = VecDeque::new();
            q.index(Some(chaos));
            let mut x: u64 = 0x9e37_79b9;
            let mut rand = move || {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x
            };
            let mut origin = 0;
            let mut push = |q: &mut ReadyQueue, model: &mut VecDeque<u64>, r: u64| {
                if chaos || r % 4 == 0 {
                    origin += 1;
                }
                q.push_back(entry(origin));
                model.push_back(origin);
            };
            let remove = |q: &mut ReadyQueue, model: &mut VecDeque<u64>, k: usize| {
                let i = reference_eligible(model, chaos, k).unwrap();
                assert_eq!(q.remove_eligible(k).origin, model.remove(i).unwrap());
                assert_eq!(q.len(), model.len());
            };
            // Small: random interleavings.
            for _ in 0..3000 {
                let r = rand();
                if r % 3 == 0 || model.is_empty() {
                    push(&mut q, &mut model, r >> 8);
                } else {
                    let e = q.eligible();
                    let k = if r % 2 == 0 {
                        0
                    } else {
                        (r >> 16) as usize % e
                    };
                    remove(&mut q, &mut model, k);
                }
            }
            // A burst, then a drain with pushes between; the reference scan is O(n), so most
            // removals take k = 0 (found at the front) and every 500th a random k.
            while model.len() < 100_000 {
                let r = rand();
                push(&mut q, &mut model, r);
            }
            let mut n = 0;
            while !model.is_empty() {
                let r = rand();
                n += 1;
                if n % 500 == 0 {
                    let k = (r >> 16) as usize % q.eligible();
                    remove(&mut q, &mut model, k);
                    assert_eq!(q.eligible(), scanned(&q, chaos).len());
                } else if r % 7 == 0 {
                    push(&mut q, &mut model, r >> 8);
                } else {
                    remove(&mut q, &mut model, 0);
                }
            }
            assert!(q.is_empty());
            assert!(q.slots.capacity() <= SHRINK_MIN, "{}", q.slots.capacity());
        }
    }

    #[test]
    fn the_plain_deque_gives_back_a_burst_in_order() {
        let mut q = ReadyQueue::default();
        for o in 0..100_000 {
            q.push_back(entry(o));
        }
        let peak = q.slots.capacity();
        for o in 0..99_000 {
            assert_eq!(q.pop_front().unwrap().origin, o);
        }
        assert!(
            q.slots.capacity() * 4 <= peak,
            "{} of {peak}",
            q.slots.capacity()
        );
        let rest: Vec<u64> = std::iter::from_fn(|| q.pop_front().map(|r| r.origin)).collect();
        assert_eq!(rest, (99_000..100_000).collect::<Vec<_>>());
    }

    #[test]
    fn fifo_pops_skip_tombstones_left_by_decisions() {
        let mut q = ReadyQueue::default();
        for o in 0..5 {
            q.push_back(entry(o));
        }
        q.index(Some(false));
        assert_eq!(q.remove_eligible(2).origin, 2);
        q.index(None);
        let order: Vec<u64> = std::iter::from_fn(|| q.pop_front().map(|r| r.origin)).collect();
        assert_eq!(order, [0, 1, 3, 4]);
        assert!(q.is_empty());
    }
}
