//! Servers: commands, the state machine, the task engine that carries
//! out asynchronous work, the scheduler and the reconciler that keeps
//! hypervisors and records in agreement.

pub mod actions;
pub mod agents;
pub mod batch;
pub mod ecs_native;
pub mod ecs_ops;
pub mod engine;
pub mod evacuate;
pub mod external_events;
mod failure;
pub mod lifecycle;
mod metadata;
mod moves;
pub mod reconcile;
pub mod sagas;
mod scheduler;
pub mod server;
pub mod state;

pub use engine::{Drivers, EngineConfig, Wake};
pub use failure::{FailureKind, TaskFailure};
pub use metadata::{MAX_TAGS, tag_of_pair, tag_pair};
pub use moves::{LiveMigrateRequest, MigrationFilter};
pub use sagas::{TaskKind, TaskParams};
pub use scheduler::NO_VALID_HOST;
