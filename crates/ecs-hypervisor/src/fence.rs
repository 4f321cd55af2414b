//! Fencing tokens: which claim of which task a hypervisor call is made
//! for. The task engine runs a task's steps inside [`scope`]; a driver
//! that acts far away (an agent, over the internal API) sends the
//! [`current`] fence with each call, and the agent refuses a call whose
//! fence is older than one it has already acted on for that guest — so a
//! node whose lease was taken over, or a request that waited out a
//! partition, cannot act a second time.

use std::future::Future;

use serde::{Deserialize, Serialize};

/// A task's sequence number and the lease token of its claim, ordered
/// as they are issued: a later task of a server, or a later claim of the
/// same task, is greater.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Fence {
    pub seq: i64,
    pub token: i64,
}

impl Fence {
    /// The header form, `seq:token`.
    pub fn encode(self) -> String {
        format!("{}:{}", self.seq, self.token)
    }

    pub fn parse(s: &str) -> Option<Fence> {
        let (seq, token) = s.trim().split_once(':')?;
        Some(Fence { seq: seq.parse().ok()?, token: token.parse().ok()? })
    }
}

impl std::fmt::Display for Fence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.seq, self.token)
    }
}

tokio::task_local! {
    static FENCE: Fence;
}

/// Runs `f` with `fence` as the fence of every hypervisor call it makes.
pub async fn scope<F: Future>(fence: Fence, f: F) -> F::Output {
    FENCE.scope(fence, f).await
}

/// The fence of the task running here, if any (API requests such as a
/// console log have none).
pub fn current() -> Option<Fence> {
    FENCE.try_with(|f| *f).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_order_by_task_then_claim() {
        assert!(Fence { seq: 2, token: 1 } > Fence { seq: 1, token: 9 });
        assert!(Fence { seq: 2, token: 3 } > Fence { seq: 2, token: 2 });
        assert_eq!(Fence::parse("12:3"), Some(Fence { seq: 12, token: 3 }));
        assert_eq!(Fence::parse(&Fence { seq: 5, token: 7 }.encode()), Some(Fence { seq: 5, token: 7 }));
        for bad in ["", "1", "a:b", "1:2:3", ":1"] {
            assert_eq!(Fence::parse(bad), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn the_fence_is_seen_only_inside_its_scope() {
        assert_eq!(current(), None);
        let fence = Fence { seq: 1, token: 2 };
        assert_eq!(scope(fence, async { current() }).await, Some(fence));
        assert_eq!(current(), None);
    }
}
