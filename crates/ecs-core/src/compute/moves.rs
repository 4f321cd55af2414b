//! Moves of a server between hosts: the migration records the sagas keep
//! (cold migration, resize, live migration, evacuation), the admin's
//! requests that start a move (Nova's `migrate` and `os-migrateLive`) and
//! those that look at or steer one (`os-migrations`, a server's
//! in-progress live migrations, force-complete and abort).

use ecs_store::{MigrationListQuery, NewMigration};
use ecs_types::AuthContext;
use ecs_types::migration::{Migration, MigrationStatus, MigrationType};
use ecs_types::server::{ComputeHost, Server, Task, TaskState, VmState};

use super::sagas::{LiveMigrateParams, StepError, TaskParams};
use super::state::Action;
use crate::{Core, Error, Kind, Result, policy};

/// Records the move `task` makes of `server` (idempotent: a step that runs
/// again gets the same record). `dest` is the destination when known;
/// `new_flavor_id` the flavor it ends with (its own unless a resize).
/// Evacuation (the services helper's saga) records its move here too.
pub(crate) async fn record_move(
    core: &Core,
    task: &Task,
    server: &Server,
    kind: MigrationType,
    dest: Option<&str>,
    new_flavor_id: &str,
) -> Result<Migration, StepError> {
    let status = match kind {
        MigrationType::Migration | MigrationType::Resize => MigrationStatus::PreMigrating,
        MigrationType::LiveMigration => MigrationStatus::Preparing,
        MigrationType::Evacuation => MigrationStatus::Accepted,
    };
    let record = core
        .store
        .migration_record(&NewMigration {
            server_id: server.id.clone(),
            task_id: task.id.clone(),
            project_id: server.project_id.clone(),
            user_id: server.user_id.clone(),
            migration_type: kind,
            status,
            source_compute: server.host.clone(),
            dest_compute: dest.map(String::from),
            old_flavor_id: server.flavor.id.clone(),
            new_flavor_id: new_flavor_id.to_string(),
        })
        .await?;
    if let Some(dest) = dest
        && record.dest_compute.as_deref() != Some(dest)
    {
        core.store.migration_set_dest(&record.uuid, dest).await?;
    }
    Ok(record)
}

/// Sets the status of the move `task` records, if it recorded one.
pub(crate) async fn move_status(core: &Core, task: &Task, status: MigrationStatus) -> Result<(), StepError> {
    if let Some(m) = core.store.migration_of_task(&task.id).await? {
        core.store.migration_set_status(&m.uuid, status, None).await?;
    }
    Ok(())
}

/// Names the destination of the move `task` records.
pub(crate) async fn move_dest(core: &Core, task: &Task, dest: &str) -> Result<(), StepError> {
    if let Some(m) = core.store.migration_of_task(&task.id).await? {
        core.store.migration_set_dest(&m.uuid, dest).await?;
    }
    Ok(())
}

/// The server's move waiting for a confirm or a revert, if any.
pub(crate) async fn open_move(core: &Core, server_id: &str) -> Result<Option<Migration>, StepError> {
    let q = MigrationListQuery {
        server_id: Some(server_id.to_string()),
        status: Some(MigrationStatus::Finished.as_str().to_string()),
        ..Default::default()
    };
    Ok(core.store.migration_list(&q).await?.into_iter().next())
}

/// Nova's `ComputeHostNotFound`, a 400 where a move names its destination.
fn host_not_found(host: &str) -> Error {
    Error::invalid(format!("Compute host {host} could not be found."))
}

/// What `os-migrateLive` asks for (validated by the API).
#[derive(Debug, Clone, Default)]
pub struct LiveMigrateRequest {
    pub host: Option<String>,
    /// None: `auto` (2.25), a block migration unless storage is shared.
    pub block_migration: Option<bool>,
    /// 2.30–2.67: the destination is taken without the scheduler.
    pub force: bool,
}

/// Which moves `os-migrations` lists (the API's query, validated).
#[derive(Debug, Clone, Default)]
pub struct MigrationFilter {
    pub query: MigrationListQuery,
    /// 2.59: a migration's uuid; the list goes on after it.
    pub marker: Option<String>,
    pub limit: Option<usize>,
}

impl Core {
    /// A destination host a move names: known (else Nova's 400), not the
    /// server's own.
    async fn move_target(&self, server: &Server, host: &str, same_host: Error) -> Result<ComputeHost> {
        let target = self.store.host_get_by_name(host).await.map_err(Error::not_found_or(|| host_not_found(host)))?;
        if server.host.as_deref() == Some(host) {
            return Err(same_host);
        }
        Ok(target)
    }

    /// Whether a host answers. TODO(services): the host's service state
    /// (heartbeat and forced_down) once agents report it; until then a
    /// host answers when this process drives it.
    fn host_answers(&self, host: &ComputeHost) -> bool {
        self.drives_host(&host.name)
    }

    /// Nova's `migrate` action (admin): a cold migration, to `host` if
    /// named (2.56), through the resize machinery; returns the task's id.
    pub async fn server_cold_migrate(
        &self,
        ctx: &AuthContext,
        id: &str,
        host: Option<&str>,
        request_id: &str,
    ) -> Result<String> {
        policy::require_admin(ctx, Action::Migrate.rule())?;
        let server = self.server_get(ctx, id).await?;
        if let Some(host) = host {
            let same = Error::invalid("Cannot migrate to the host where the server exists.");
            let target = self.move_target(&server, host, same).await?;
            // Nova's scheduler refuses a disabled or unreachable host (400
            // where the API waits for it, as `migrate` does).
            if !target.enabled || !self.host_answers(&target) {
                return Err(Error::invalid(super::NO_VALID_HOST));
            }
        }
        let flavor = server.flavor.clone();
        let opts = super::lifecycle::ResizeOptions::default();
        self.start_move(ctx, server, flavor, Action::Migrate, host.map(String::from), opts, request_id).await
    }

    /// Nova's `os-migrateLive` (admin): the server moves while it runs.
    pub async fn server_live_migrate(
        &self,
        ctx: &AuthContext,
        id: &str,
        req: LiveMigrateRequest,
        request_id: &str,
    ) -> Result<()> {
        policy::require_admin(ctx, Action::LiveMigrate.rule())?;
        let server = self.server_get(ctx, id).await?;
        self.check_locked(ctx, &server, Action::LiveMigrate)?;
        super::state::check(Action::LiveMigrate, &server)?;
        if let Some(host) = &req.host {
            let source = server.host.clone().unwrap_or_default();
            let same = Error::invalid(format!("Unable to migrate instance ({id}) to current host ({source})."));
            let target = self.move_target(&server, host, same).await?;
            if !self.host_answers(&target) {
                return Err(Error::invalid(format!("Compute service of {host} is unavailable at this time.")));
            }
            // A forced move skips the scheduler, and with it the check of
            // a disabled host, as Nova's does.
            if !target.enabled && !req.force {
                return Err(Error::invalid(super::NO_VALID_HOST));
            }
        }
        let params = TaskParams::LiveMigrate(LiveMigrateParams {
            host: req.host,
            force: req.force,
            block_migration: req.block_migration,
        });
        self.queue_task(ctx, &server, Action::LiveMigrate, params, request_id).await?;
        Ok(())
    }

    /// `GET /os-migrations` (admin): every move matching `f`, newest first.
    pub async fn migrations(&self, ctx: &AuthContext, f: &MigrationFilter) -> Result<Vec<Migration>> {
        policy::require_admin(ctx, "os_compute_api:os-migrations:index")?;
        let mut all = self.store.migration_list(&f.query).await?;
        if let Some(marker) = &f.marker {
            let at = all
                .iter()
                .position(|m| &m.uuid == marker)
                .ok_or_else(|| Error::invalid(format!("Marker {marker} could not be found.")))?;
            all.drain(..=at);
        }
        if let Some(limit) = f.limit {
            all.truncate(limit);
        }
        Ok(all)
    }

    /// A server's live migrations in progress (`servers/{id}/migrations`).
    pub async fn server_live_migrations(&self, ctx: &AuthContext, id: &str) -> Result<Vec<Migration>> {
        policy::require_admin(ctx, "os_compute_api:servers:migrations:index")?;
        let server = self.server_get(ctx, id).await?;
        let q = MigrationListQuery { server_id: Some(server.id), ..Default::default() };
        let all = self.store.migration_list(&q).await?;
        Ok(all
            .into_iter()
            .filter(|m| m.migration_type == MigrationType::LiveMigration && m.status.live_in_progress())
            .collect())
    }

    /// One of them.
    pub async fn server_live_migration(&self, ctx: &AuthContext, id: &str, migration_id: i64) -> Result<Migration> {
        policy::require_admin(ctx, "os_compute_api:servers:migrations:show")?;
        let server = self.server_get(ctx, id).await?;
        let not_found =
            || Error::not_found(Kind::LiveMigration { server_id: server.id.clone() }, migration_id.to_string());
        let m = self.store.migration_get(&server.id, migration_id).await.map_err(Error::not_found_or(not_found))?;
        if m.migration_type != MigrationType::LiveMigration || !m.status.live_in_progress() {
            return Err(not_found());
        }
        Ok(m)
    }

    /// A server's migration by id, for force-complete and abort.
    async fn steered_migration(&self, ctx: &AuthContext, id: &str, migration_id: i64) -> Result<(Server, Migration)> {
        let server = self.server_get(ctx, id).await?;
        let m = self.store.migration_get(&server.id, migration_id).await.map_err(Error::not_found_as(
            Kind::Migration { server_id: server.id.clone() },
            &migration_id.to_string(),
        ))?;
        Ok((server, m))
    }

    /// `force_complete` (2.22): a running live migration finishes now (the
    /// guest pauses for the switch-over). The step sending it acts on it.
    pub async fn migration_force_complete(&self, ctx: &AuthContext, id: &str, migration_id: i64) -> Result<()> {
        policy::require_admin(ctx, "os_compute_api:servers:migrations:force_complete")?;
        let (server, m) = self.steered_migration(ctx, id, migration_id).await?;
        self.check_locked(ctx, &server, Action::LiveMigrate)?;
        if !matches!(server.vm_state, VmState::Active | VmState::Paused) {
            return Err(super::state::invalid_state(Action::ForceComplete, &server));
        }
        if server.task_state != Some(TaskState::Migrating) {
            // Nova names an idle task state `None`.
            let state = server.task_state.map_or("None", |t| t.as_str()).to_string();
            let attr = crate::StateAttr::TaskState;
            return Err(Error::InvalidState {
                action: Action::ForceComplete.name(),
                server_id: server.id,
                attr,
                state,
            });
        }
        if m.migration_type != MigrationType::LiveMigration || m.status != MigrationStatus::Running {
            return Err(invalid_migration_state(&m, &server.id, "force_complete"));
        }
        self.store.migration_force(&m.uuid).await?;
        Ok(())
    }

    /// `DELETE servers/{id}/migrations/{mid}` (2.24): stops a live
    /// migration; the server stays on its source. Queued and preparing ones
    /// may be aborted from 2.65 on.
    pub async fn migration_abort(
        &self,
        ctx: &AuthContext,
        id: &str,
        migration_id: i64,
        before_running: bool,
    ) -> Result<()> {
        policy::require_admin(ctx, "os_compute_api:servers:migrations:delete")?;
        let (server, m) = self.steered_migration(ctx, id, migration_id).await?;
        self.check_locked(ctx, &server, Action::LiveMigrate)?;
        if m.migration_type != MigrationType::LiveMigration {
            return Err(Error::invalid(format!(
                "Migration {migration_id} for instance {} is not a live migration.",
                server.id
            )));
        }
        let from: &[MigrationStatus] = if before_running {
            &[MigrationStatus::Queued, MigrationStatus::Preparing, MigrationStatus::Running]
        } else {
            &[MigrationStatus::Running]
        };
        if !from.contains(&m.status) {
            return Err(invalid_migration_state(&m, &server.id, "abort live migration"));
        }
        // The step sending the guest sees `cancelling` and stops it.
        if !self.store.migration_set_status(&m.uuid, MigrationStatus::Cancelling, Some(from)).await? {
            let now = self.store.migration_get(&server.id, migration_id).await?;
            return Err(invalid_migration_state(&now, &server.id, "abort live migration"));
        }
        Ok(())
    }
}

/// Nova's InvalidMigrationState (400).
fn invalid_migration_state(m: &Migration, server_id: &str, method: &str) -> Error {
    Error::invalid(format!(
        "Migration {} state of instance {server_id} is {}. Cannot {method} while the migration is in this state.",
        m.id,
        m.status.as_str()
    ))
}
