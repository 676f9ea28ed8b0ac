//! The set of eligible ready-queue positions a scheduler's decisions read: a bitmap with
//! counts per block and per superblock.
//!
//! One bit per queue position, a `u8` popcount per word, a `u32` count per 512 positions (8
//! words) and per 32,768 positions (64 blocks). Setting or clearing a bit is the bit and three
//! counters, O(1); `select(k)` (the position of the k-th set bit) walks the superblock counts,
//! then at most 64 block counts, then at most 8 word counts, then finds the bit in one word.
//!
//! It replaced a Fenwick tree (issue #20, second round), whose ~12 levels cost every push and
//! every removal, a FIFO one included: W2 (the yield storm, ~1,000 entries over ~4,000
//! positions) with the harness's `Fifo` scheduler went from 1,562 to 1,230 instructions a step
//! (the loop with no scheduler: 863), and the workloads that make no decision (W3–W5) from
//! 1.20–1.31× to 1.11–1.15× the no-scheduler loop (callgrind, sizes / 100). A removal of the
//! oldest entry (k = 0) is a deque pop and a bit; a random `select` cost ~200 (W2, Random),
//! ~160 since it scans each level from the nearer end and finds the bit in a word without a
//! loop (issue #20, third round). Each word's popcount is kept (a `u8`) because the default
//! x86-64 target has no `popcnt` and a software one is ~15 instructions. The superblocks keep
//! `select` short on 100,000-entry queues (W1), where a flat scan of block counts would read
//! hundreds. `select` also takes the lowest position that can still be set: the queue consumes
//! positions from the front and only appends at the back, so the dead prefix before a rebuild
//! is skipped rather than scanned.

const WORD: usize = 64;
const WORDS_PER_BLOCK: usize = 8;
const BLOCK: usize = WORD * WORDS_PER_BLOCK;
const BLOCKS_PER_SUPER: usize = 64;
const SUPER: usize = BLOCK * BLOCKS_PER_SUPER;

#[derive(Default)]
pub(crate) struct Bits {
    words: Vec<u64>,
    /// Each word's popcount: without a `popcnt` instruction in the default x86-64 target, a
    /// software popcount is ~15 instructions, and the word scan of `select` did up to eight.
    ones: Vec<u8>,
    blocks: Vec<u32>,
    supers: Vec<u32>,
    count: usize,
}

impl Bits {
    /// Clears every bit and makes room for at least `positions` positions, reusing the buffers
    /// (a rebuild of the queue's index happens every few thousand pushes on a busy queue).
    pub(crate) fn reset(&mut self, positions: usize) {
        let words = positions.div_ceil(WORD).max(1);
        self.words.clear();
        self.words.resize(words, 0);
        self.ones.clear();
        self.ones.resize(words, 0);
        self.blocks.clear();
        self.blocks.resize(words.div_ceil(WORDS_PER_BLOCK), 0);
        self.supers.clear();
        self.supers
            .resize(self.blocks.len().div_ceil(BLOCKS_PER_SUPER), 0);
        self.count = 0;
    }

    /// How many positions there are room for.
    #[inline]
    pub(crate) fn capacity(&self) -> usize {
        self.words.len() * WORD
    }

    /// How many bits are set.
    #[inline]
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    #[cfg(test)]
    pub(crate) fn get(&self, pos: usize) -> bool {
        self.words[pos / WORD] >> (pos % WORD) & 1 == 1
    }

    /// Sets a bit that is clear.
    #[inline(always)]
    pub(crate) fn set(&mut self, pos: usize) {
        debug_assert_eq!(self.words[pos / WORD] >> (pos % WORD) & 1, 0);
        self.words[pos / WORD] |= 1 << (pos % WORD);
        self.ones[pos / WORD] += 1;
        self.blocks[pos / BLOCK] += 1;
        self.supers[pos / SUPER] += 1;
        self.count += 1;
    }

    /// Clears a bit that is set.
    #[inline(always)]
    pub(crate) fn clear(&mut self, pos: usize) {
        debug_assert_eq!(self.words[pos / WORD] >> (pos % WORD) & 1, 1);
        self.words[pos / WORD] &= !(1 << (pos % WORD));
        self.ones[pos / WORD] -= 1;
        self.blocks[pos / BLOCK] -= 1;
        self.supers[pos / SUPER] -= 1;
        self.count -= 1;
    }

    /// The position of the (k+1)-th set bit (k from 0), given that every set bit lies in
    /// `from..to`; requires `k < count()`.
    ///
    /// Each level scans its counts from whichever end of the live range is nearer the target,
    /// by rank: a uniform `k` (Random's) reads about half as many counts as a scan from the
    /// front (W2: ~2.5 blocks and ~3.4 words a pick before). The range bounds keep the scan
    /// from the back off the empty tail the queue has not reached yet.
    pub(crate) fn select(&self, k: usize, from: usize, to: usize) -> usize {
        debug_assert!(k < self.count && from < to && to <= self.capacity());
        let mut k = k as u32;
        let last = to - 1;
        let mut s = from / SUPER;
        // Below 32,768 positions (every queue but a huge one) there is one superblock.
        if s != last / SUPER {
            while k >= self.supers[s] {
                k -= self.supers[s];
                s += 1;
            }
        }
        // Outside `from..to` every count is zero, so the clipped ranges hold the whole count.
        let b0 = (s * BLOCKS_PER_SUPER).max(from / BLOCK);
        let b1 = (s * BLOCKS_PER_SUPER + BLOCKS_PER_SUPER - 1).min(last / BLOCK);
        let (b, k) = find(&self.blocks[b0..=b1], k, self.supers[s]);
        let b = b0 + b;
        let w0 = (b * WORDS_PER_BLOCK).max(from / WORD);
        let w1 = (b * WORDS_PER_BLOCK + WORDS_PER_BLOCK - 1).min(last / WORD);
        let (w, k) = find(&self.ones[w0..=w1], k, self.blocks[b]);
        let w = w0 + w;
        w * WORD + select_in_word(self.words[w], k) as usize
    }
}

/// Which of `counts` holds the (k+1)-th item, and its rank there, given that they sum to
/// `total > k`: scanned from the front for a rank in the lower half, else from the back.
#[inline(always)]
fn find<T: Copy + Into<u32>>(counts: &[T], k: u32, total: u32) -> (usize, u32) {
    if 2 * k < total {
        let mut k = k;
        for (i, &c) in counts.iter().enumerate() {
            let c = c.into();
            if k < c {
                return (i, k);
            }
            k -= c;
        }
    } else {
        let mut r = total - 1 - k;
        for (i, &c) in counts.iter().enumerate().rev() {
            let c = c.into();
            if r < c {
                return (i, c - 1 - r);
            }
            r -= c;
        }
    }
    unreachable!("the counts sum to more than k")
}

const L8: u64 = 0x0101_0101_0101_0101;
const H8: u64 = 0x8080_8080_8080_8080;

/// `SELECT_IN_BYTE[r << 8 | b]`: the index of the (r+1)-th set bit of byte `b` (8 if none).
static SELECT_IN_BYTE: [u8; 2048] = select_in_byte_table();

const fn select_in_byte_table() -> [u8; 2048] {
    let mut t = [8u8; 2048];
    let mut b = 0;
    while b < 256 {
        let mut r = 0;
        let mut i = 0;
        while i < 8 {
            if b >> i & 1 == 1 {
                t[r << 8 | b] = i as u8;
                r += 1;
            }
            i += 1;
        }
        b += 1;
    }
    t
}

/// The index of the (k+1)-th set bit of `word`; requires `k < word.count_ones()`.
///
/// Branch-free (broadword select, after Vigna 2008): the bytes' running popcounts in one
/// multiply, the byte holding the bit by comparing all eight at once, then a table for the bit
/// within that byte. ~25 instructions, where a byte-by-byte then bit-by-bit scan took ~75.
#[inline]
fn select_in_word(word: u64, k: u32) -> u32 {
    let mut c = word - ((word >> 1) & 0x5555_5555_5555_5555);
    c = (c & 0x3333_3333_3333_3333) + ((c >> 2) & 0x3333_3333_3333_3333);
    c = (c + (c >> 4)) & 0x0f0f_0f0f_0f0f_0f0f;
    // Byte i: the set bits of bytes 0..=i (at most 64: no carry between bytes).
    let sums = c.wrapping_mul(L8);
    // Byte i's high bit: sums_i <= k, i.e. the bit lies past byte i (k + 128 - sums_i keeps
    // each byte's difference positive, so nothing borrows across bytes).
    let past = ((u64::from(k) * L8) | H8).wrapping_sub(sums) & H8;
    // How many bytes lie wholly before it (they are a prefix: the sums never decrease).
    let shift = ((past >> 7).wrapping_mul(L8) >> 56) * 8;
    // The set bits before that byte: the sum of the byte below it (zero for byte 0).
    let before = ((sums << 8) >> shift) & 0xff;
    let byte = (word >> shift) & 0xff;
    let rank = u64::from(k) - before;
    shift as u32 + u32::from(SELECT_IN_BYTE[(rank << 8 | byte) as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference: a scan of a `Vec<bool>`.
    fn naive_select(bits: &[bool], k: usize) -> usize {
        bits.iter()
            .enumerate()
            .filter(|(_, &b)| b)
            .nth(k)
            .map(|(i, _)| i)
            .unwrap()
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn select_in_word_agrees_with_a_scan() {
        let mut rng = Rng(99);
        for _ in 0..10_000 {
            // Sparse, middling and dense words, and the full one.
            let w = match rng.below(4) {
                0 => rng.next() & rng.next(),
                1 => rng.next(),
                2 => rng.next() | rng.next(),
                _ => u64::MAX,
            };
            let w = if w == 0 { 1 << rng.below(64) } else { w };
            let bits: Vec<bool> = (0..64).map(|i| w >> i & 1 == 1).collect();
            for k in 0..w.count_ones() {
                assert_eq!(
                    select_in_word(w, k) as usize,
                    naive_select(&bits, k as usize)
                );
            }
        }
    }

    /// Random sets, clears and selects against a `Vec<bool>`, the way the queue uses them: set
    /// bits stay at or above a moving `from`, the bitmap is reset (grown or shrunk) at times.
    fn agrees(seed: u64, max: usize, ops: usize) {
        let mut rng = Rng(seed);
        let mut bits = Bits::default();
        let mut naive = vec![false; 16];
        bits.reset(16);
        let mut from = 0;
        for op in 0..ops {
            match rng.below(20) {
                0 => {
                    // A rebuild: a new size (bigger or smaller), the same bits, moved down.
                    let shift = from;
                    let live: Vec<usize> = (from..naive.len()).filter(|&i| naive[i]).collect();
                    let size =
                        (live.last().map_or(0, |&l| l + 1 - shift) + rng.below(max)).clamp(1, max);
                    bits.reset(size);
                    naive = vec![false; bits.capacity()];
                    for i in live {
                        naive[i - shift] = true;
                        bits.set(i - shift);
                    }
                    from = 0;
                }
                1..=9 if from < naive.len() => {
                    let pos = from + rng.below(naive.len() - from);
                    if naive[pos] {
                        bits.clear(pos);
                    } else {
                        bits.set(pos);
                    }
                    naive[pos] = !naive[pos];
                }
                10..=11 => {
                    // The front moves: everything below the new `from` is cleared.
                    let to = (from + rng.below(64)).min(naive.len());
                    for (i, b) in naive.iter_mut().enumerate().take(to).skip(from) {
                        if *b {
                            bits.clear(i);
                            *b = false;
                        }
                    }
                    from = to;
                }
                _ => {}
            }
            let count = naive.iter().filter(|&&b| b).count();
            assert_eq!(bits.count(), count, "op {op}");
            if count > 0 {
                // The queue's bound is one past its last slot, which may be a little past the
                // last set bit (a removed entry of the middle); the capacity is also a bound.
                let tight = naive.iter().rposition(|&b| b).unwrap() + 1;
                let slack = (tight + rng.below(70)).min(naive.len());
                for to in [tight, slack, naive.len()] {
                    for k in [0, count / 2, count - 1, rng.below(count), rng.below(count)] {
                        let pos = bits.select(k, from, to);
                        assert_eq!(pos, naive_select(&naive, k), "op {op} k {k} to {to}");
                        assert!(bits.get(pos));
                    }
                }
            }
        }
    }

    #[test]
    fn select_agrees_with_a_naive_scan_small() {
        for seed in 1..20 {
            agrees(seed, 2_000, 3_000);
        }
    }

    #[test]
    fn select_agrees_with_a_naive_scan_at_100k_positions() {
        agrees(7, 150_000, 400);
        // Dense and large: every position of 100,000 set, then random selects and clears.
        let n = 100_000;
        let mut bits = Bits::default();
        bits.reset(n);
        let mut naive = vec![false; bits.capacity()];
        for (i, b) in naive.iter_mut().enumerate().take(n) {
            bits.set(i);
            *b = true;
        }
        let mut rng = Rng(3);
        let mut count = n;
        for _ in 0..300 {
            let k = rng.below(count);
            let pos = bits.select(k, 0, n);
            assert_eq!(pos, naive_select(&naive, k));
            bits.clear(pos);
            naive[pos] = false;
            count -= 1;
            assert_eq!(bits.count(), count);
        }
        assert_eq!(bits.select(count - 1, 0, n), n - 1);
        assert_eq!(bits.select(count - 1, 0, bits.capacity()), n - 1);
    }
}
