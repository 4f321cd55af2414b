//! Live migration (Nova's `os-migrateLive`): the guest keeps running while
//! it moves. The destination is claimed (the source's claim waits under
//! the migration's consumer, as for a resize), gets ready to receive, the
//! source sends — watching the migration record for an abort or a
//! force-complete asked through the API — and the destination runs it on.

use std::time::Duration;

use ecs_hypervisor::{IncomingGuest, MoveKind};
use ecs_store::{MoveProgress, ServerUpdate};
use ecs_types::migration::{MigrationStatus, MigrationType};
use ecs_types::server::Server;
use serde::{Deserialize, Serialize};

use super::guest::full_spec;
use super::resize::migration_consumer;
use super::{
    HostUndo, OnFailure, Saga, StepContext, StepError, StepResult, claim_of, host_driver, ignore_missing, is_false,
    undo_on,
};
use crate::Core;
use crate::compute::moves::{move_dest, move_status, record_move};
use crate::compute::{FailureKind, TaskFailure, scheduler};

/// A failed live migration leaves the server where it was, running, and
/// says why in its instance action, as Nova's rollback does.
pub(super) const ON_FAILURE: OnFailure = OnFailure::Idle;

/// How often the sending step looks for an abort or a force-complete.
const WATCH: Duration = Duration::from_millis(200);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// The destination asked for; the scheduler picks one otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// 2.30–2.67: take `host` without the scheduler's filters.
    #[serde(default, skip_serializing_if = "is_false")]
    pub force: bool,
    /// None: `auto` — disks are copied unless storage is shared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_migration: Option<bool>,
}

impl Params {
    fn kind(&self) -> MoveKind {
        // `auto` is a block move: the QEMU driver copies only the disks the
        // destination lacks and uses volumes on shared storage in place, so
        // it is right with or without shared storage. An explicit `false`
        // is refused by the destination unless all its disks are shared.
        MoveKind::Live { block: self.block_migration.unwrap_or(true) }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Records the move and claims the destination.
    Claim,
    /// The destination gets ready to receive.
    Prepare,
    /// The source sends memory (and disks) and stops at the switch-over.
    Send,
    /// The destination runs the guest; the source's copy and claim go.
    Finish,
}

impl Saga for Params {
    type Step = Step;
    const STEPS: &'static [Step] = &[Step::Claim, Step::Prepare, Step::Send, Step::Finish];

    fn event(&self, step: Step) -> &'static str {
        match step {
            Step::Claim => "conductor_live_migrate_instance",
            Step::Prepare => "compute_pre_live_migration",
            Step::Send => "compute_live_migration",
            Step::Finish => "compute_post_live_migration_at_destination",
        }
    }

    async fn run(&self, step: Step, cx: &mut StepContext<'_>, server: &mut Server) -> StepResult {
        match step {
            Step::Claim => self.claim(cx, server).await,
            Step::Prepare => self.prepare(cx, server).await,
            Step::Send => self.send(cx, server).await,
            Step::Finish => self.finish(cx, server).await,
        }
    }

    async fn undo(&self, step: Step, cx: &mut StepContext<'_>) -> Result<(), StepError> {
        let (core, id) = (cx.core, cx.server_id()?);
        match step {
            Step::Claim => {
                let aborted = core
                    .store
                    .migration_of_task(&cx.task.id)
                    .await?
                    .is_some_and(|m| m.status == MigrationStatus::Cancelling);
                let status = if aborted { MigrationStatus::Cancelled } else { MigrationStatus::Error };
                move_status(core, cx.task, status).await?;
                core.store.allocation_restore(id, &migration_consumer(id)).await?;
            }
            Step::Prepare => {
                if let Some(driver) = cx.progress.dest_host.as_deref().and_then(|d| core.drivers.get(d)) {
                    driver.abort_incoming(id).await.or_else(ignore_missing)?;
                }
            }
            // A send that failed or was cancelled leaves the guest running
            // on the source.
            Step::Send | Step::Finish => {}
        }
        Ok(())
    }
}

/// Nova's message when a live migration is aborted.
const CANCELLED: &str = "Migration was cancelled";

impl Params {
    async fn claim(&self, cx: &mut StepContext<'_>, server: &Server) -> StepResult {
        let core = cx.core;
        let record = record_move(core, cx.task, server, MigrationType::LiveMigration, None, &server.flavor.id).await?;
        if record.status == MigrationStatus::Cancelling {
            return Err(StepError::Fatal(CANCELLED.into()));
        }
        core.store.allocation_move(&server.id, &migration_consumer(&server.id)).await?;
        let claim = claim_of(&server.flavor);
        let no_host = || StepError::Failed(TaskFailure::new(FailureKind::NoValidHost, scheduler::NO_VALID_HOST));
        let host = match &self.host {
            // Forced: no filters, only room on the host.
            Some(wanted) if self.force => {
                let host = core.store.host_get_by_name(wanted).await?;
                match core.store.host_claim(&server.id, &host.id, claim).await? {
                    Some(holder) if holder == host.id => host,
                    _ => return Err(no_host()),
                }
            }
            wanted => {
                let excluded: Vec<String> = server.host.iter().cloned().collect();
                let options = scheduler::PlaceOptions {
                    excluded: &excluded,
                    requested_host: wanted.as_deref(),
                    resumed: true,
                    ..Default::default()
                };
                scheduler::place_with(core, server, claim, options).await?
            }
        };
        move_dest(core, cx.task, &host.name).await?;
        cx.progress.dest_host = Some(host.name);
        cx.progress.dest_az = Some(host.availability_zone);
        Ok(None)
    }

    async fn prepare(&self, cx: &mut StepContext<'_>, server: &Server) -> StepResult {
        let core = cx.core;
        let dest = dest_driver(core, cx)?;
        let to = dest.prepare_incoming(&full_spec(core, server).await?, self.kind()).await?;
        cx.progress.incoming = Some(to);
        Ok(None)
    }

    async fn send(&self, cx: &mut StepContext<'_>, server: &Server) -> StepResult {
        let core = cx.core;
        let record = core
            .store
            .migration_of_task(&cx.task.id)
            .await?
            .ok_or_else(|| StepError::Fatal("the live migration has no record".into()))?;
        let kind = self.kind();
        let f = &server.flavor;
        let mut progress = MoveProgress {
            memory_total: f.ram_mb << 20,
            memory_processed: 0,
            disk_total: if matches!(kind, MoveKind::Live { block: true }) { f.disk_gb << 30 } else { 0 },
            disk_processed: 0,
        };
        core.store.migration_set_progress(&record.uuid, progress).await?;
        // The totals are recorded before the status turns `running`, so a
        // running migration never shows null totals.
        let from = [MigrationStatus::Preparing, MigrationStatus::Queued, MigrationStatus::Running];
        if !core.store.migration_set_status(&record.uuid, MigrationStatus::Running, Some(&from)).await? {
            return Err(StepError::Fatal(CANCELLED.into()));
        }
        let to: IncomingGuest =
            cx.progress.incoming.clone().ok_or_else(|| StepError::Fatal("the destination was not prepared".into()))?;
        let source = host_driver(core, server)?;
        let send = source.send_guest(&server.id, &to, kind);
        tokio::pin!(send);
        let (mut cancel_sent, mut force_sent) = (false, false);
        let sent = loop {
            tokio::select! {
                r = &mut send => break r,
                _ = tokio::time::sleep(WATCH) => {
                    let now = core.store.migration_of_task(&cx.task.id).await?;
                    let Some(now) = now else { continue };
                    if now.status == MigrationStatus::Cancelling && !cancel_sent {
                        source.cancel_send(&server.id).await?;
                        cancel_sent = true;
                    }
                    if now.force_complete && !force_sent {
                        source.force_complete_send(&server.id).await?;
                        force_sent = true;
                    }
                    // What the driver can tell of the copy, for the
                    // migration's `*_processed_bytes`.
                    if let Ok(Some(done)) = source.send_progress(&server.id).await {
                        let done = done.clamp(0.0, 1.0);
                        progress.memory_processed = (progress.memory_total as f64 * done) as i64;
                        progress.disk_processed = (progress.disk_total as f64 * done) as i64;
                        core.store.migration_set_progress(&record.uuid, progress).await?;
                    }
                }
            }
        };
        if let Err(e) = sent {
            let aborted = core
                .store
                .migration_of_task(&cx.task.id)
                .await?
                .is_some_and(|m| m.status == MigrationStatus::Cancelling);
            return Err(if aborted { StepError::Fatal(CANCELLED.into()) } else { e.into() });
        }
        progress.memory_processed = progress.memory_total;
        progress.disk_processed = progress.disk_total;
        core.store.migration_set_progress(&record.uuid, progress).await?;
        Ok(None)
    }

    async fn finish(&self, cx: &mut StepContext<'_>, server: &Server) -> StepResult {
        let core = cx.core;
        let dest = dest_driver(core, cx)?;
        let info = dest.finish_incoming(&full_spec(core, server).await?, self.kind(), true).await?;
        if let Some(source) = server.host.as_deref()
            && Some(source) != cx.progress.dest_host.as_deref()
        {
            undo_on(core, source, &server.id, HostUndo::Destroy).await?;
        }
        core.store.host_release(&migration_consumer(&server.id)).await?;
        move_status(core, cx.task, MigrationStatus::Completed).await?;
        Ok(Some(ServerUpdate {
            task_state: Some(None),
            power_state: Some(info.power_state),
            host: Some(cx.progress.dest_host.clone()),
            availability_zone: cx.progress.dest_az.clone(),
            ..Default::default()
        }))
    }
}

/// The destination's driver. TODO(agent): a host driven by an agent runs
/// this saga's host steps there instead of here.
fn dest_driver(core: &Core, cx: &StepContext<'_>) -> Result<std::sync::Arc<dyn ecs_hypervisor::Hypervisor>, StepError> {
    let dest = cx.progress.dest_host.clone().ok_or_else(|| StepError::Fatal("no destination was claimed".into()))?;
    core.drivers.get(&dest).ok_or_else(|| StepError::Fatal(format!("host {dest} is unreachable")))
}
