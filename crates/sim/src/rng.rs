//! A small, fast, seedable random generator (xoshiro256**, seeded by SplitMix64).
//!
//! The synthetic data must be identical for a seed across machines and crate upgrades, and every
//! customer must be reproducible on its own (the simulator regenerates records on demand instead
//! of keeping millions in memory). So each customer gets its own generator derived from
//! `(seed, stream, index)`, and no external crate decides the sequence.

/// xoshiro256** with helpers for the distributions the generator needs.
#[derive(Debug, Clone)]
pub struct Rng {
    state: [u64; 4],
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Mixes a seed, a stream name and an index into one 64-bit value.
pub fn mix(seed: u64, stream: u64, index: u64) -> u64 {
    let mut state = seed ^ stream.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    let first = splitmix64(&mut state);
    let mut state = first ^ index.wrapping_mul(0xA076_1D64_78BD_642F);
    splitmix64(&mut state)
}

impl Rng {
    /// A generator for one item of one stream under a seed.
    pub fn for_item(seed: u64, stream: u64, index: u64) -> Rng {
        Rng::new(mix(seed, stream, index))
    }

    /// A generator from a single 64-bit seed.
    pub fn new(seed: u64) -> Rng {
        let mut state = seed;
        let state =
            [splitmix64(&mut state), splitmix64(&mut state), splitmix64(&mut state), splitmix64(&mut state)];
        Rng { state }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.state[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let shifted = self.state[1] << 17;
        self.state[2] ^= self.state[0];
        self.state[3] ^= self.state[1];
        self.state[1] ^= self.state[2];
        self.state[0] ^= self.state[3];
        self.state[2] ^= shifted;
        self.state[3] = self.state[3].rotate_left(45);
        result
    }

    /// Uniform in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        ((self.next_u64() as u128 * bound as u128) >> 64) as u64
    }

    /// Uniform in `low..=high`.
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high - low + 1)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A uniformly chosen element.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// An index chosen by weight; `cumulative` holds running totals (last = total weight).
    pub fn weighted_index(&mut self, cumulative: &[u32]) -> usize {
        let total = *cumulative.last().expect("weights must not be empty");
        let target = self.below(total as u64) as u32;
        cumulative.partition_point(|&running| running <= target)
    }

    /// `count` random decimal digits.
    pub fn digits(&mut self, count: usize) -> String {
        (0..count).map(|_| char::from(b'0' + self.below(10) as u8)).collect()
    }
}

/// A bijection of `0..modulus` used to hand out unique, random-looking numbers (meter serials,
/// account numbers, phone numbers) from sequential indexes. `multiplier` must be coprime to
/// `modulus`.
pub fn permute(index: u64, multiplier: u64, offset: u64, modulus: u64) -> u64 {
    ((index % modulus) as u128 * multiplier as u128 % modulus as u128 + offset as u128) as u64 % modulus
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_item_same_sequence() {
        let mut first = Rng::for_item(7, 1, 42);
        let mut second = Rng::for_item(7, 1, 42);
        for _ in 0..100 {
            assert_eq!(first.next_u64(), second.next_u64());
        }
        assert_ne!(Rng::for_item(7, 1, 43).next_u64(), Rng::for_item(7, 1, 42).next_u64());
    }

    #[test]
    fn below_stays_in_bounds_and_covers() {
        let mut rng = Rng::new(1);
        let mut seen = [false; 7];
        for _ in 0..1000 {
            let value = rng.below(7) as usize;
            seen[value] = true;
        }
        assert!(seen.iter().all(|&hit| hit));
    }

    #[test]
    fn weighted_index_respects_zero_weights() {
        let mut rng = Rng::new(3);
        let cumulative = [5, 5, 10];
        for _ in 0..1000 {
            assert_ne!(rng.weighted_index(&cumulative), 1);
        }
    }

    #[test]
    fn permute_is_a_bijection() {
        let modulus = 1000;
        let mut seen = vec![false; modulus as usize];
        for index in 0..modulus {
            let value = permute(index, 7919, 123, modulus) as usize;
            assert!(!seen[value]);
            seen[value] = true;
        }
    }
}
