//! A small deterministic generator (splitmix64), seeded by the driver from `crypto.getRandomValues`.

use alloc::string::String;

/// Deterministic random numbers: the seed is an input, so tests are repeatable.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeds the generator.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// A 128-bit id as 32 lowercase hex digits, prefixed.
    pub fn id(&mut self, prefix: &str) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(prefix.len() + 32);
        s.push_str(prefix);
        for word in [self.next_u64(), self.next_u64()] {
            for i in (0..16).rev() {
                s.push(HEX[((word >> (i * 4)) & 0xf) as usize] as char);
            }
        }
        s
    }
}
