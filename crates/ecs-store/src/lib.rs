//! All SQL of ecsd lives here.
//!
//! One [`Store`] façade over SQLite (the embedded default) or PostgreSQL
//! (multi-node), through sqlx's `Any` driver so that every query is written
//! once. Queries use `$N` placeholders, which both backends accept. Where
//! the dialects differ (migrations, row locks) the [`Backend`] decides.
//!
//! Methods are named resource-first (`flavor_get`, `keypair_create`), take
//! and return `ecs-types` records, and never see HTTP.

mod aggregate;
mod application_credential;
mod auto_recovery;
mod cinder;
mod client_token;
mod console;
mod credential;
mod ecs_option;
mod error;
mod flavor;
mod flavor_access;
mod floating_ip;
mod host;
mod identity;
mod image;
mod keypair;
mod metrics;
mod migration;
mod network;
mod neutron;
mod nic_ops;
mod port;
mod quota;
mod security_group;
mod server;
mod server_group;
mod state;
mod task;
mod time;
mod token;
mod volume;
mod vpc;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use cinder::VolumeUsage;
pub use client_token::{ClientToken, TokenUse};
pub use console::ConsoleToken;
pub use credential::Credential;
pub use ecs_option::{LaunchTemplateRow, LaunchTemplateVersionRow};
pub use error::StoreError;
pub use flavor::{FlavorListQuery, FlavorSortKey, SortDir};
pub use floating_ip::FloatingRefusal;
pub use host::{Claim, HostAgent, HostRegistration};
pub use keypair::{KeypairCreate, KeypairInsertRefusal};
pub use metrics::TaskQueue;
pub use migration::{MigrationListQuery, MoveProgress, NewMigration};
pub use neutron::RouterRefusal;
pub use port::PortRefusal;
pub use security_group::GroupRefusal;
pub use server::{
    CreateJob, CreateQuota, CreateRefusal, DiskQuota, InstanceLimits, InstanceUsage, NewServer, QuotaRefusal, Rebuild,
    ServerEdit, ServerListQuery, ServerSortKey, ServerUpdate, Transition,
};
pub use server_group::MemberRefusal;
pub use state::{Cell, Progress as DumpProgress, StoreDump, TableRows};
pub use task::{ClaimedTask, LeaseToken, NewTask, TaskAdvance};
pub use volume::{VolumeLimits, VolumeRefusal};
pub use vpc::VpcRefusal;

pub type StoreResult<T> = Result<T, StoreError>;

/// Which database engine a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn from_url(url: &str) -> StoreResult<Self> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::Config(format!("unsupported database URL (want sqlite:// or postgres://): {url}")))
        }
    }

    /// An aggregate turning `key`/`value` rows into one JSON object text
    /// (NULL or `{}` when there are none).
    fn json_object_agg(self, key: &str, value: &str) -> String {
        match self {
            Backend::Sqlite => format!("json_group_object({key}, {value})"),
            Backend::Postgres => format!("json_object_agg({key}, {value})::text"),
        }
    }

    /// An aggregate turning rows into one JSON array text of objects with
    /// the given `(key, expression)` fields (NULL or `[]` when none).
    fn json_array_of_objects(self, fields: &[(&str, &str)]) -> String {
        let pairs = fields.iter().map(|(k, v)| format!("'{k}', {v}")).collect::<Vec<_>>().join(", ");
        match self {
            Backend::Sqlite => format!("json_group_array(json_object({pairs}))"),
            Backend::Postgres => format!("json_agg(json_build_object({pairs}))::text"),
        }
    }

    /// An aggregate turning rows into one JSON array text of `expr` values.
    fn json_array_agg(self, expr: &str) -> String {
        match self {
            Backend::Sqlite => format!("json_group_array({expr})"),
            Backend::Postgres => format!("json_agg({expr})::text"),
        }
    }

    /// Row lock for a read that precedes a dependent write in one
    /// transaction. SQLite needs none: its writer connection is exclusive.
    fn for_update(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }
}

/// The database façade. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    /// Pool for reads.
    read: AnyPool,
    /// Pool for transactions that write. On SQLite it has one connection, so
    /// writers queue in-process instead of failing with SQLITE_BUSY; on
    /// PostgreSQL it is the same pool as `read`.
    write: AnyPool,
    backend: Backend,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("backend", &self.backend).finish()
    }
}

impl Store {
    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://…`).
    /// Does not migrate: call [`Store::migrate`].
    pub async fn connect(url: &str) -> StoreResult<Store> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let options = AnyConnectOptions::from_str(url)?;
        match backend {
            Backend::Sqlite => {
                let pool = |max| {
                    AnyPoolOptions::new()
                        .max_connections(max)
                        .min_connections(1)
                        .acquire_timeout(Duration::from_secs(30))
                        .after_connect(|conn, _| {
                            Box::pin(async move {
                                conn.execute(
                                    "PRAGMA journal_mode = WAL; \
                                     PRAGMA synchronous = NORMAL; \
                                     PRAGMA foreign_keys = ON; \
                                     PRAGMA busy_timeout = 10000;",
                                )
                                .await?;
                                Ok(())
                            })
                        })
                        .connect_with(options.clone())
                };
                // The writer first, so that it creates the file and sets WAL
                // before readers open it.
                let write = pool(1).await?;
                let read = pool(4).await?;
                Ok(Store { read, write, backend })
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options)
                    .await?;
                Ok(Store { read: pool.clone(), write: pool, backend })
            }
        }
    }

    /// Applies every pending migration of this backend.
    pub async fn migrate(&self) -> StoreResult<()> {
        let migrator = match self.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        migrator.run(&self.write).await?;
        Ok(())
    }

    /// Applies the migrations of this backend up to `version` only (a
    /// state file from an older ecsd is imported into its own schema,
    /// then migrated on with [`Store::migrate`]).
    pub async fn migrate_to(&self, version: i64) -> StoreResult<()> {
        let all = match self.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        let kept: Vec<_> = all.iter().filter(|m| m.version <= version).cloned().collect();
        let migrator = sqlx::migrate::Migrator { migrations: std::borrow::Cow::Owned(kept), ..all };
        migrator.run(&self.write).await?;
        Ok(())
    }

    /// The versions of this backend's migrations, oldest first.
    pub fn schema_versions(&self) -> Vec<i64> {
        let all = match self.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        all.iter().map(|m| m.version).collect()
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

/// Reads a boolean column: PostgreSQL has BOOLEAN, SQLite stores 0/1.
pub(crate) fn flag(row: &sqlx::any::AnyRow, column: &str) -> StoreResult<bool> {
    use sqlx::Row;
    match row.try_get::<bool, _>(column) {
        Ok(b) => Ok(b),
        Err(_) => Ok(row.try_get::<i64, _>(column)? != 0),
    }
}
