//! The domain of ecsd: commands and queries over the store, with the rules
//! (policy, quotas, validation of meaning) that both API dialects share.
//!
//! The core knows nothing of HTTP. Every operation takes the caller's
//! [`AuthContext`](ecs_types::AuthContext) and returns [`Error`] on failure;
//! each API dialect renders that error in its own format.

mod error;
pub mod flavor;
pub mod identity;
pub mod keypair;
pub mod policy;
pub mod seed;

use std::sync::Arc;

use ecs_store::Store;

pub use error::{Error, Result};
pub use identity::{Identity, IssuedToken};

/// Settings the core needs; the binary fills them from its command line.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// How long an issued token lives (seed 002 §4.2: 24 hours).
    pub token_ttl: chrono::Duration,
    /// How long a validated token may be served from memory before the
    /// database is asked again (keystonemiddleware caches for 300 s; a
    /// revocation on another API node takes at most this long to be seen).
    pub token_cache_ttl: std::time::Duration,
    /// Nova's default `key_pairs` quota per user.
    pub keypair_quota: i64,
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            token_ttl: chrono::Duration::hours(24),
            token_cache_ttl: std::time::Duration::from_secs(30),
            keypair_quota: 100,
        }
    }
}

/// The application: one per process, shared by every request.
pub struct Core {
    pub store: Store,
    pub identity: Identity,
    pub config: CoreConfig,
}

impl Core {
    pub fn new(store: Store, config: CoreConfig) -> Arc<Core> {
        let identity = Identity::new(store.clone(), config.clone());
        Arc::new(Core { store, identity, config })
    }
}
