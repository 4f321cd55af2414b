//! ecsd's clock: what every timestamp and every time-dependent rule reads
//! (token expiry, job times, the reclaim of soft-deleted servers, ECS
//! auto-terminate, shelved offload, simulated latencies).
//!
//! `now()` is the real time plus an offset that only an admin advance
//! moves (`POST /admin/v1/clock/advance`), forward only; with a pinned
//! start (`ecsd serve --clock-start`) the clock begins at that instant
//! and runs at the real pace from there. Process-wide: one service per
//! process (tests that start two start them one after the other, and
//! each start resets the clock).
//!
//! What measures the process's own liveness stays on the real time
//! (`real_now()`): task leases and host heartbeats, so that an advance
//! neither hands a running task to another worker nor makes every host
//! look down.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::Timestamp;

/// The longest single advance: a hundred years.
pub const MAX_ADVANCE: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

#[derive(Clone, Copy)]
struct State {
    /// Pinned origin: (real instant it was pinned at, the clock's time then).
    origin: Option<(Timestamp, Timestamp)>,
    /// What admin advances added.
    offset: chrono::Duration,
}

fn state() -> &'static Mutex<State> {
    static STATE: OnceLock<Mutex<State>> = OnceLock::new();
    STATE.get_or_init(|| Mutex::new(State { origin: None, offset: chrono::Duration::zero() }))
}

fn read() -> State {
    *state().lock().unwrap_or_else(|e| e.into_inner())
}

/// Advances so far (a generation count): periodic work and clock-aware
/// sleeps wake on each change.
fn advances() -> &'static watch::Sender<u64> {
    static TX: OnceLock<watch::Sender<u64>> = OnceLock::new();
    TX.get_or_init(|| watch::channel(0).0)
}

/// The real time, whatever the clock says: for what measures the
/// process's liveness (leases, heartbeats), never for what a user sees.
#[allow(clippy::disallowed_methods)]
pub fn real_now() -> Timestamp {
    Utc::now()
}

/// ecsd's time: the real time (from the pinned start, if any) plus the
/// advances so far.
pub fn now() -> Timestamp {
    let s = read();
    let real = real_now();
    let base = match s.origin {
        Some((pinned_at, start)) => start + (real - pinned_at),
        None => real,
    };
    base + s.offset
}

/// How far admin advances have moved the clock.
pub fn offset() -> Duration {
    read().offset.to_std().unwrap_or_default()
}

/// Resets the clock at a service's start: no offset, and the origin
/// pinned at `start` (the clock reads `start` now) or the real time.
pub fn reset(start: Option<Timestamp>) {
    let mut s = state().lock().unwrap_or_else(|e| e.into_inner());
    s.origin = start.map(|start| (real_now(), start));
    s.offset = chrono::Duration::zero();
    drop(s);
    advances().send_modify(|n| *n += 1);
}

/// Why an advance was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdvanceError {
    #[error("The clock only moves forward: the advance must be more than 0 seconds.")]
    NotForward,
    #[error("An advance is at most {} seconds.", MAX_ADVANCE.as_secs())]
    TooFar,
}

/// Moves the clock forward by `by` and wakes whatever waits on it.
/// Returns the new time.
pub fn advance(by: Duration) -> Result<Timestamp, AdvanceError> {
    if by.is_zero() {
        return Err(AdvanceError::NotForward);
    }
    if by > MAX_ADVANCE {
        return Err(AdvanceError::TooFar);
    }
    let by = chrono::Duration::from_std(by).map_err(|_| AdvanceError::TooFar)?;
    let mut s = state().lock().unwrap_or_else(|e| e.into_inner());
    s.offset = s.offset.checked_add(&by).ok_or(AdvanceError::TooFar)?;
    drop(s);
    advances().send_modify(|n| *n += 1);
    Ok(now())
}

/// A handle that wakes on every advance (`changed().await`), for periodic
/// work that must run at once when the clock jumps.
pub fn subscribe() -> watch::Receiver<u64> {
    advances().subscribe()
}

/// Sleeps for `d` of ecsd's time: ends at the deadline (on tokio's
/// clock, so a paused test runtime moves it too), or earlier when admin
/// advances made during the sleep add up to the rest of it.
pub async fn sleep(d: Duration) {
    if d.is_zero() {
        return;
    }
    let mut rx = subscribe();
    let from = offset();
    let deadline = tokio::time::Instant::now() + d;
    loop {
        let advanced = offset().saturating_sub(from);
        if advanced >= d {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(deadline - advanced) => return,
            changed = rx.changed() => {
                if changed.is_err() {
                    // The sender is static: never dropped.
                    return tokio::time::sleep_until(deadline - advanced).await;
                }
            }
        }
    }
}

/// Formats a time as RFC 3339 with seconds (`2026-01-01T00:00:00Z`).
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test: the clock is process-wide.
    #[tokio::test]
    async fn advances_move_now_and_end_sleeps() {
        let start: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        reset(Some(start));
        assert!(now() - start < chrono::Duration::seconds(5));
        assert_eq!(advance(Duration::ZERO), Err(AdvanceError::NotForward));
        assert_eq!(advance(MAX_ADVANCE + Duration::from_secs(1)), Err(AdvanceError::TooFar));
        let sleeping = tokio::spawn(sleep(Duration::from_secs(3600)));
        tokio::time::sleep(Duration::from_millis(20)).await;
        let t = advance(Duration::from_secs(3600)).unwrap();
        assert!(t - start >= chrono::Duration::seconds(3600));
        tokio::time::timeout(Duration::from_secs(5), sleeping).await.expect("woken by the advance").unwrap();
        assert_eq!(offset(), Duration::from_secs(3600));
        reset(None);
        assert_eq!(offset(), Duration::ZERO);
    }
}
