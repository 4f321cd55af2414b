//! Where ecsd's ids and randomness come from: every id (uuid), MAC,
//! generated password, token, key pair, request id, the scheduler's
//! host choice and any jitter.
//!
//! Without a seed, from the operating system, as any cloud. With one
//! (`ecsd serve --seed N`), from ChaCha20 streams keyed by the seed: one
//! stream per call site (the source location that asks, found with
//! `#[track_caller]`), so the ids one kind of thing draws do not shift
//! when another kind, drawn elsewhere (a background task, another
//! request's middleware), draws more or fewer. What is guaranteed: the
//! same binary, the same seed and the same requests sent one after the
//! other, each waiting for the tasks and jobs it started to end, give
//! the same ids, MACs, passwords, keys and host choices. Draws of one
//! call site by concurrent work follow the order they happen in, which is
//! why a seeded ecsd runs one task at a time (a multi-server create's
//! builds in turn).

#![allow(clippy::disallowed_types)] // OsRng: the unseeded source.

use std::collections::HashMap;
use std::panic::Location;
use std::sync::{Mutex, OnceLock};

use rand::rngs::OsRng;
use rand::{CryptoRng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

#[derive(Default)]
struct Streams {
    seed: Option<u64>,
    by_site: HashMap<(&'static str, u32, u32), ChaCha20Rng>,
}

fn streams() -> &'static Mutex<Streams> {
    static STREAMS: OnceLock<Mutex<Streams>> = OnceLock::new();
    STREAMS.get_or_init(|| Mutex::new(Streams::default()))
}

/// Sets the seed at a service's start (None: the operating system's
/// randomness) and restarts every stream.
pub fn reseed(seed: Option<u64>) {
    let mut s = streams().lock().unwrap_or_else(|e| e.into_inner());
    s.seed = seed;
    s.by_site.clear();
}

/// The seed in force, if any.
pub fn seed() -> Option<u64> {
    streams().lock().unwrap_or_else(|e| e.into_inner()).seed
}

/// FNV-1a: a hash that is the same in every build and run.
fn fnv(bytes: &[u8], mut h: u64) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// Fills `buf` from the stream of `site`, or from the OS without a seed.
fn fill_at(site: &'static Location<'static>, buf: &mut [u8]) {
    let mut s = streams().lock().unwrap_or_else(|e| e.into_inner());
    let Some(seed) = s.seed else {
        drop(s);
        OsRng.fill_bytes(buf);
        return;
    };
    let key = (site.file(), site.line(), site.column());
    let rng = s.by_site.entry(key).or_insert_with(|| {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let h = fnv(site.file().as_bytes(), 0xcbf2_9ce4_8422_2325);
        let h = fnv(&site.line().to_le_bytes(), h);
        rng.set_stream(fnv(&site.column().to_le_bytes(), h));
        rng
    });
    rng.fill_bytes(buf);
}

/// Fills `buf` with random bytes (seeded or not, see the module).
#[track_caller]
pub fn fill(buf: &mut [u8]) {
    fill_at(Location::caller(), buf);
}

/// A new random (version 4) uuid.
#[track_caller]
pub fn uuid() -> uuid::Uuid {
    let mut bytes = [0u8; 16];
    fill_at(Location::caller(), &mut bytes);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// A generator for one use (a key pair, a password, a MAC, a shuffle):
/// the OS's, or without it a ChaCha20 seeded from this call site's
/// stream.
#[track_caller]
pub fn rng() -> Rng {
    let site = Location::caller();
    if seed().is_none() {
        return Rng(Inner::Os(OsRng));
    }
    let mut key = [0u8; 32];
    fill_at(site, &mut key);
    Rng(Inner::Seeded(Box::new(ChaCha20Rng::from_seed(key))))
}

/// A cryptographically secure generator: see [`rng`].
pub struct Rng(Inner);

enum Inner {
    Os(OsRng),
    Seeded(Box<ChaCha20Rng>),
}

impl RngCore for Rng {
    fn next_u32(&mut self) -> u32 {
        match &mut self.0 {
            Inner::Os(r) => r.next_u32(),
            Inner::Seeded(r) => r.next_u32(),
        }
    }

    fn next_u64(&mut self) -> u64 {
        match &mut self.0 {
            Inner::Os(r) => r.next_u64(),
            Inner::Seeded(r) => r.next_u64(),
        }
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        match &mut self.0 {
            Inner::Os(r) => r.fill_bytes(dest),
            Inner::Seeded(r) => r.fill_bytes(dest),
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        match &mut self.0 {
            Inner::Os(r) => r.try_fill_bytes(dest),
            Inner::Seeded(r) => r.try_fill_bytes(dest),
        }
    }
}

impl CryptoRng for Rng {}

#[cfg(test)]
mod tests {
    use super::*;

    fn draw() -> Vec<uuid::Uuid> {
        (0..3).map(|_| uuid()).collect()
    }

    fn other() -> uuid::Uuid {
        uuid()
    }

    // One test: the seed is process-wide.
    #[test]
    fn seeded_streams_repeat_and_differ_by_seed_and_site() {
        reseed(Some(42));
        let a = draw();
        let other_site = other();
        reseed(Some(42));
        // Another site drawing first does not shift this one.
        assert_eq!(other(), other_site);
        assert_eq!(draw(), a);
        assert!(!a.contains(&other_site));
        assert_eq!(a[0].get_version_num(), 4);
        reseed(Some(43));
        assert_ne!(draw(), a);
        reseed(None);
        assert_ne!(draw(), draw());
    }
}
