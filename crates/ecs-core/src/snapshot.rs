//! Named snapshots of the whole running service, kept in memory, and the
//! reset to one (ecsd's admin API, `/admin/v1/snapshots`): what a test
//! suite uses to put the cloud back between tests.
//!
//! A snapshot holds every row of every table (as the store dumps them) and
//! the guests of the simulated hosts this process runs. A reset quiesces
//! the task engine (no claim, no task running across it), replaces every
//! table in one transaction, puts the guests back, drops the validated
//! tokens kept in memory and the scheduler's view, and lets the engine go
//! on. Tokens are rows like any other: one issued after the snapshot is
//! gone after the reset, one that existed at the snapshot works again
//! (until its expiry) — so the admin token used to take the snapshot keeps
//! working across resets.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ecs_hypervisor::sim::SavedGuests;
use ecs_store::StoreDump;
use ecs_types::{AuthContext, Timestamp};
use serde::Serialize;

use crate::error::{Conflict, Error, Kind, Result};
use crate::{Core, policy};

/// How long a reset or a snapshot waits for the tasks running to finish.
const QUIESCE_TIMEOUT: Duration = Duration::from_secs(30);

/// One snapshot: the store's rows and the simulated hosts' guests.
pub struct Snapshot {
    pub name: String,
    pub created_at: Timestamp,
    pub dump: StoreDump,
    /// By host.
    pub guests: BTreeMap<String, SavedGuests>,
}

/// What the admin API shows of a snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotInfo {
    pub name: String,
    pub created_at: Timestamp,
    /// The last migration of the schema it was taken on.
    pub schema_version: i64,
    /// Rows by table (tables with none left out), and in all.
    pub counts: BTreeMap<String, usize>,
    pub rows: usize,
    /// Guests of the simulated hosts.
    pub guests: usize,
}

impl Snapshot {
    pub fn info(&self) -> SnapshotInfo {
        SnapshotInfo {
            name: self.name.clone(),
            created_at: self.created_at,
            schema_version: self.dump.schema_version,
            counts: self
                .dump
                .tables
                .iter()
                .filter(|t| !t.rows.is_empty())
                .map(|t| (t.name.clone(), t.rows.len()))
                .collect(),
            rows: self.dump.rows(),
            guests: self.guests.values().map(SavedGuests::len).sum(),
        }
    }
}

/// The snapshots of this process, and the gate that quiesces the engine.
#[derive(Default)]
pub struct Snapshots {
    taken: Mutex<BTreeMap<String, Arc<Snapshot>>>,
    /// The engine holds it shared while it claims and while the tasks it
    /// claimed run; a snapshot or reset holds it alone.
    pub(crate) gate: Arc<tokio::sync::RwLock<()>>,
}

impl Snapshots {
    fn get(&self, name: &str) -> Result<Arc<Snapshot>> {
        self.taken
            .lock()
            .expect("snapshots lock")
            .get(name)
            .cloned()
            .ok_or_else(|| Error::not_found(Kind::StateSnapshot, name))
    }

    /// Stops the engine claiming and waits for the tasks running to end.
    async fn quiesce(&self) -> Result<tokio::sync::OwnedRwLockWriteGuard<()>> {
        tokio::time::timeout(QUIESCE_TIMEOUT, self.gate.clone().write_owned()).await.map_err(|_| {
            Error::Conflict(Conflict::Other(format!(
                "Tasks are still running after {} s; try again once they have ended.",
                QUIESCE_TIMEOUT.as_secs()
            )))
        })
    }
}

impl Core {
    /// `POST /admin/v1/snapshots`: takes a snapshot named `name` of the
    /// whole service, at a moment when no task runs.
    pub async fn state_snapshot_create(&self, ctx: &AuthContext, name: &str) -> Result<SnapshotInfo> {
        policy::require_admin(ctx, "ecsd:snapshots")?;
        if self.snapshots.taken.lock().expect("snapshots lock").contains_key(name) {
            return Err(Error::Conflict(Conflict::Other(format!("Snapshot {name} already exists."))));
        }
        let quiet = self.snapshots.quiesce().await?;
        let dump = self.store.dump(&|_, _, _| {}).await?;
        let guests = self.sim_guests();
        drop(quiet);
        let snapshot = Arc::new(Snapshot { name: name.to_string(), created_at: ecs_types::clock::now(), dump, guests });
        let mut taken = self.snapshots.taken.lock().expect("snapshots lock");
        if taken.contains_key(name) {
            return Err(Error::Conflict(Conflict::Other(format!("Snapshot {name} already exists."))));
        }
        taken.insert(name.to_string(), snapshot.clone());
        Ok(snapshot.info())
    }

    /// `GET /admin/v1/snapshots`, by name.
    pub fn state_snapshot_list(&self, ctx: &AuthContext) -> Result<Vec<SnapshotInfo>> {
        policy::require_admin(ctx, "ecsd:snapshots")?;
        Ok(self.snapshots.taken.lock().expect("snapshots lock").values().map(|s| s.info()).collect())
    }

    pub fn state_snapshot_get(&self, ctx: &AuthContext, name: &str) -> Result<SnapshotInfo> {
        policy::require_admin(ctx, "ecsd:snapshots")?;
        Ok(self.snapshots.get(name)?.info())
    }

    pub fn state_snapshot_delete(&self, ctx: &AuthContext, name: &str) -> Result<()> {
        policy::require_admin(ctx, "ecsd:snapshots")?;
        self.snapshots
            .taken
            .lock()
            .expect("snapshots lock")
            .remove(name)
            .map(drop)
            .ok_or_else(|| Error::not_found(Kind::StateSnapshot, name))
    }

    /// `POST /admin/v1/snapshots/{name}/restore`: resets the service to the
    /// snapshot. `silent`: simulated hosts that are lost now and do not
    /// beat; the others beat at once (the snapshot's heartbeats are old).
    pub async fn state_snapshot_restore(
        &self,
        ctx: &AuthContext,
        name: &str,
        silent: &[String],
    ) -> Result<SnapshotInfo> {
        policy::require_admin(ctx, "ecsd:snapshots")?;
        let snapshot = self.snapshots.get(name)?;
        let latest = self.store.schema_version().await?;
        if snapshot.dump.schema_version != latest {
            return Err(Error::Conflict(Conflict::Other(format!(
                "Snapshot {name} is of schema version {}; the database is at {latest}.",
                snapshot.dump.schema_version
            ))));
        }
        let started = std::time::Instant::now();
        let quiet = self.snapshots.quiesce().await?;
        let quiesced = started.elapsed();
        self.store.restore(&snapshot.dump, false, &|_, _, _| {}).await?;
        let restored = started.elapsed();
        self.identity.forget_cached_tokens();
        self.drivers.invalidate_view();
        let empty = SavedGuests::default();
        for driver in self.drivers.all() {
            if let Some(sim) = driver.as_sim() {
                let saved = snapshot.guests.get(sim_host(sim)).unwrap_or(&empty);
                sim.restore_guests(saved).map_err(|e| Error::internal(format!("restoring guests: {e}")))?;
            }
        }
        let mut beating = self.drivers.local_hosts();
        beating.retain(|h| !silent.contains(h));
        if !beating.is_empty() {
            self.store.host_heartbeat_many(&beating, ecs_types::clock::real_now()).await?;
        }
        drop(quiet);
        self.wake.notify();
        tracing::info!(snapshot = %name, ?quiesced, ?restored, total = ?started.elapsed(), "reset to a snapshot");
        Ok(snapshot.info())
    }

    /// The guests of the simulated hosts this process runs, by host.
    fn sim_guests(&self) -> BTreeMap<String, SavedGuests> {
        self.drivers
            .all()
            .iter()
            .filter_map(|d| d.as_sim().map(|sim| (sim_host(sim).to_string(), sim.save_guests())))
            .collect()
    }
}

fn sim_host(sim: &ecs_hypervisor::sim::SimHypervisor) -> &str {
    ecs_hypervisor::Hypervisor::host(sim)
}
