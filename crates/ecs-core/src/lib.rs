//! The domain of ecsd: commands and queries over the store, with the rules
//! (policy, quotas, validation of meaning) that both API dialects share.
//!
//! The core knows nothing of HTTP. Every operation takes the caller's
//! [`AuthContext`](ecs_types::AuthContext) and returns [`Error`] on failure;
//! each API dialect renders that error in its own format.

pub mod aggregate;
pub mod cinder;
pub mod clock;
pub mod compute;
pub mod credential;
pub mod eip;
pub mod error;
pub mod evs;
pub mod flavor;
pub mod flavor_access;
pub mod floating_ip;
pub mod glance;
pub mod host;
pub mod identity;
pub mod image;
pub mod ims;
pub mod job;
pub mod keypair;
pub mod metrics;
pub mod network;
pub mod neutron;
pub mod policy;
pub mod port;
pub mod quota;
pub mod security_group;
pub mod seed;
pub mod server_group;
pub mod service;
pub mod signing;
pub mod snapshot;
pub mod usage;
pub mod volume;
pub mod vpc;

use std::sync::Arc;

use ecs_store::Store;

pub use error::{Conflict, Error, Forbidden, Invalid, Kind, Resource, Result, StateAttr, Unauthorized};
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
    /// Default quotas of every project (Nova's defaults).
    pub quota: QuotaDefaults,
    /// Builds are tried on this many hosts before the server goes to ERROR
    /// (Nova's `[scheduler] max_attempts`).
    pub max_build_attempts: u32,
    pub engine: compute::EngineConfig,
    /// Where users open a VNC console: the noVNC proxy's page, to which
    /// `?path=%3Ftoken%3D<token>` is added (Nova's `novncproxy_base_url`).
    pub novncproxy_base_url: String,
    /// Whether VNC consoles are served: off when there is neither a proxy
    /// nor a `novncproxy_base_url` (no URL would lead anywhere), and then
    /// consoles are an unavailable console type, as in Nova with `[vnc]
    /// enabled = False`.
    pub vnc_console: bool,
    /// How long a console token lives (Nova's `[consoleauth] token_ttl`).
    pub console_token_ttl: chrono::Duration,
    /// A host not heard from for this long is down (Nova's
    /// `service_down_time`).
    pub service_down_time: std::time::Duration,
    /// Nova's `allow_resize_to_same_host`: a resize may stay on its host
    /// (a cold migration never does). Off by default, as in Nova.
    pub allow_resize_to_same_host: bool,
    /// Nova's `reclaim_instance_interval`: a deleted server waits this
    /// long SOFT_DELETED (restorable) before it is reclaimed; zero deletes
    /// at once.
    pub reclaim_instance_interval: std::time::Duration,
    /// Nova's `shelved_offload_time` in seconds: 0 offloads a shelved
    /// server at once, -1 never, more after that long.
    pub shelved_offload_time: i64,
    /// Where image data is stored (`<data dir>/images`); `None`: images
    /// hold no data.
    pub images_dir: Option<std::path::PathBuf>,
    /// Record metrics for `/metrics` (off: nothing is recorded and
    /// `/metrics` is not served, to measure what recording costs).
    pub metrics: bool,
}

/// Quota limits every project starts with; -1 is unlimited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaDefaults {
    pub instances: i64,
    pub cores: i64,
    pub ram_mb: i64,
    pub metadata_items: i64,
    /// Disks (volumes, ECS system and data disks) and their gigabytes.
    pub volumes: i64,
    pub gigabytes: i64,
}

impl Default for QuotaDefaults {
    fn default() -> Self {
        QuotaDefaults { instances: 10, cores: 20, ram_mb: 51200, metadata_items: 128, volumes: 10, gigabytes: 1000 }
    }
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            token_ttl: chrono::Duration::hours(24),
            token_cache_ttl: std::time::Duration::from_secs(30),
            keypair_quota: 100,
            quota: QuotaDefaults::default(),
            max_build_attempts: 3,
            engine: compute::EngineConfig::default(),
            novncproxy_base_url: "http://127.0.0.1:6080/vnc_auto.html".into(),
            vnc_console: true,
            console_token_ttl: chrono::Duration::minutes(10),
            service_down_time: std::time::Duration::from_secs(30),
            allow_resize_to_same_host: false,
            reclaim_instance_interval: std::time::Duration::ZERO,
            shelved_offload_time: 0,
            images_dir: None,
            metrics: true,
        }
    }
}

/// The application: one per process, shared by every request.
///
/// The core owns its data: API handlers and the binary call core functions;
/// `store` and `drivers` are the core's alone (tests look beneath the API
/// through the `test-support` feature's accessors).
pub struct Core {
    pub(crate) store: Store,
    pub identity: Identity,
    pub config: CoreConfig,
    /// The hypervisors this process drives, by host.
    pub(crate) drivers: compute::Drivers,
    /// Wakes the task engine when work is queued.
    pub wake: compute::Wake,
    /// Names this process as a task worker.
    pub node_id: String,
    /// What `/metrics` shows; None when instrumentation is off.
    pub(crate) metrics: Option<Arc<metrics::Metrics>>,
    /// Whether the task engine's loop runs (for `/readyz`).
    pub(crate) engine_running: std::sync::atomic::AtomicBool,
    /// The loaded fault scenario (`ecs_hypervisor::scenario`): the create
    /// path and the build meet its rules.
    pub scenarios: ecs_hypervisor::scenario::Scenarios,
    /// Snapshots of the whole service, and the gate that quiesces the
    /// engine for them.
    pub snapshots: snapshot::Snapshots,
}

impl Core {
    pub fn new(store: Store, config: CoreConfig) -> Arc<Core> {
        let identity = Identity::new(store.clone(), config.clone());
        let metrics = config.metrics.then(|| Arc::new(metrics::Metrics::new()));
        Arc::new(Core {
            store,
            identity,
            config,
            drivers: compute::Drivers::metered(metrics.clone()),
            metrics,
            engine_running: Default::default(),
            wake: compute::Wake::default(),
            node_id: format!("node-{}", ecs_types::random::uuid().simple()),
            scenarios: Default::default(),
            snapshots: snapshot::Snapshots::default(),
        })
    }
}

/// What tests see beneath the API: compiled only into test builds.
#[cfg(feature = "test-support")]
impl Core {
    pub fn store_for_tests(&self) -> &Store {
        &self.store
    }

    pub fn drivers_for_tests(&self) -> &compute::Drivers {
        &self.drivers
    }
}
