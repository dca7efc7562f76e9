//! Unpredictable numbers for what must not be guessed: ICE fragments and passwords of media
//! connections, and the SSRCs of forwarded tracks.
//!
//! They come from the operating system's generator (through `ring`). The engine used to draw them
//! from xorshift64*, whose whole state can be computed back from one answer's SDP, after which
//! every later participant's ICE password was known in advance.

use ring::rand::{SecureRandom, SystemRandom};

/// The operating system's random generator.
#[derive(Debug, Clone)]
pub struct Random(SystemRandom);

impl Default for Random {
    fn default() -> Self {
        Self(SystemRandom::new())
    }
}

/// The operating system gave no random bytes.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the operating system's random generator failed")]
pub struct NoRandomness;

impl Random {
    /// 64 random bits.
    pub fn next_u64(&self) -> Result<u64, NoRandomness> {
        let mut bytes = [0u8; 8];
        self.0.fill(&mut bytes).map_err(|_| NoRandomness)?;
        Ok(u64::from_le_bytes(bytes))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn two_generators_made_alike_do_not_agree() {
        // A seeded generator made twice the same way repeats itself; this one must not.
        let (a, b) = (Random::default(), Random::default());
        let first: Vec<u64> = (0..4).map(|_| a.next_u64().unwrap()).collect();
        let second: Vec<u64> = (0..4).map(|_| b.next_u64().unwrap()).collect();
        assert_ne!(first, second);
        let mut all = first.clone();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 4, "consecutive draws differ: {first:?}");
    }
}
