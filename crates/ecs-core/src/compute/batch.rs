//! ECS batch actions (seed 002 §5.1.2, §5.3): one job whose sub-jobs start,
//! stop, reboot or delete each server. A member whose state forbids the
//! action is a failed sub-job; the others go ahead.

use ecs_store::{ClientToken, NewTask};
use ecs_types::server::TaskState;
use ecs_types::{AuthContext, PortId};
use serde_json::json;

use super::sagas::{DeleteParams, DetachInterfaceParams, PowerOp, PowerParams, TaskParams};
use super::server::{InterfaceRequest, transition};
use super::state::{self, Action};
use crate::{Conflict, Core, Error, Invalid, Result, policy};

/// The most servers one batch may name (seed 002 §5.3).
pub const MAX_BATCH: usize = 1000;

/// What a batch does to each server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchOp {
    Start,
    Stop {
        force: bool,
    },
    Reboot {
        hard: bool,
    },
    /// `delete_volume`: data disks go too; `delete_publicip`: so do EIPs
    /// (when not given, each EIP's own `delete_on_termination` decides).
    Delete {
        delete_volume: bool,
        delete_publicip: Option<bool>,
    },
}

impl BatchOp {
    /// The job's kind, the action on each server and the task that does it.
    fn plan(self) -> (&'static str, Action, TaskParams) {
        let power = |op| TaskParams::Power(PowerParams::new(op));
        match self {
            BatchOp::Start => ("batchStartServers", Action::Start, power(PowerOp::Start)),
            BatchOp::Stop { force } => {
                ("batchStopServers", Action::Stop, TaskParams::Power(PowerParams { op: PowerOp::Stop, force }))
            }
            BatchOp::Reboot { hard } => {
                let op = if hard { PowerOp::HardReboot } else { PowerOp::SoftReboot };
                ("batchRebootServers", Action::Reboot { hard }, power(op))
            }
            BatchOp::Delete { delete_volume, delete_publicip } => {
                ("deleteServers", Action::Delete, TaskParams::Delete(DeleteParams { delete_volume, delete_publicip }))
            }
        }
    }
}

/// The task of a job whose work is its sub-jobs.
pub(crate) fn job_task(
    ctx: &AuthContext,
    kind: &str,
    project_id: &str,
    params: serde_json::Value,
    request_id: &str,
) -> NewTask {
    // Not the server's own task (it is no instance action of it): the
    // sub-jobs are. The job itself has no steps: its state is its sub-jobs'.
    NewTask::done(kind, project_id, &ctx.user_id, request_id, params)
}

/// Records a sub-job as refused before it ran, for `e` (typed, so that
/// its job shows the error's own code).
fn refuse(task: &mut NewTask, e: &Error) {
    task.finished = true;
    task.failure = Some(e.to_string());
    task.failure_reason = serde_json::to_value(super::TaskFailure::refused(e)).ok();
}

/// The record of a NIC attach refused before its port was chosen: it
/// never runs, so it has no parameters to give its saga.
fn refused_attach(ctx: &AuthContext, server: &ecs_types::server::Server, request_id: &str) -> NewTask {
    let kind = super::TaskKind::AttachInterface.as_str();
    let mut task = job_task(ctx, kind, &server.project_id, json!({}), request_id);
    task.server_id = Some(server.id.clone());
    task
}

impl Core {
    /// Starts `op` on every server of `ids`; returns the job's task id.
    /// Every server must exist for the caller (NotFound names the first
    /// that does not).
    /// A request repeated with its client token gets the first one's job.
    pub async fn batch(
        &self,
        ctx: &AuthContext,
        ids: &[String],
        op: BatchOp,
        token: Option<&ClientToken>,
        request_id: &str,
    ) -> Result<String> {
        if ids.is_empty() || ids.len() > MAX_BATCH {
            return Err(Invalid::BatchSize { given: ids.len(), max: MAX_BATCH }.into());
        }
        let mut servers = Vec::with_capacity(ids.len());
        for id in ids {
            servers.push(self.server_get(ctx, id).await?);
        }
        let (job_kind, action, params) = op.plan();
        policy::authorize_write(ctx, action.rule())?;
        let job = job_task(ctx, job_kind, &servers[0].project_id, json!({"servers": ids}), request_id);
        if let Some(earlier) = self.store.job_insert(&job, token).await? {
            if token.is_some_and(|t| t.request_hash != earlier.request_hash) {
                return Err(Conflict::ClientTokenReused.into());
            }
            return Ok(earlier.task_id);
        }
        for server in &servers {
            if action == Action::Delete && server.task_state == Some(TaskState::Deleting) {
                // Already going: nothing more to queue.
                continue;
            }
            // With the project's recycle bin on, a delete keeps the server
            // SOFT_DELETED in the bin for the bin's retention.
            let recycled = match (&op, action) {
                (BatchOp::Delete { delete_volume, delete_publicip }, Action::Delete) => {
                    let bin = self.recycle_bin_for_delete(&server.project_id).await?;
                    let params = DeleteParams { delete_volume: *delete_volume, delete_publicip: *delete_publicip };
                    self.recycles(&bin, server).then_some(params)
                }
                _ => None,
            };
            let (action, params) = match recycled {
                Some(_) => (Action::SoftDelete, Core::recycle_params()),
                None => (action, params.clone()),
            };
            let mut task = self.task_for(ctx, server, params, request_id);
            task.parent_id = Some(job.id.clone());
            let refused = match self.check_locked(ctx, server, action).and_then(|()| state::check(action, server)) {
                Err(e) => Some(e),
                Ok(()) if self.store.server_transition(&server.id, &transition(action, task.clone())).await? => {
                    if let Some(params) = &recycled {
                        self.mark_recycled(server, params).await?;
                    }
                    None
                }
                Ok(()) => Some(state::invalid_state(action, &self.server_get(ctx, &server.id).await?)),
            };
            if let Some(e) = refused {
                refuse(&mut task, &e);
                self.store.task_insert(&task).await?;
            }
        }
        self.wake.notify();
        Ok(job.id)
    }
}

/// What an ECS NIC job does to each NIC.
#[derive(Debug, Clone)]
pub enum NicOp {
    /// `POST …/nics` (seed 002 §5.5.1): attach these.
    Attach(Vec<InterfaceRequest>),
    /// `POST …/nics/delete` (§5.5.2): detach and delete these ports.
    Detach(Vec<String>),
    /// `POST …/changevpc`: attach `new`, then detach `old`.
    Replace { old: String, new: InterfaceRequest },
}

/// One sub-job of a NIC job.
enum NicStep {
    Attach(InterfaceRequest),
    Detach(String),
}

impl Core {
    /// An ECS NIC job on one server: a sub-job per NIC, each the NIC's own
    /// attach or detach task. The server's lock and state are checked
    /// first; a NIC refused after that (a race) is a failed sub-job.
    /// Returns the job's task id.
    /// The fixed addresses NICs to add ask for, all checked before any is
    /// queued: each inside its subnet and free, none asked twice.
    async fn check_requested_addresses(&self, ctx: &AuthContext, nics: &[InterfaceRequest]) -> Result<()> {
        let networks = self.networks(ctx).await?;
        let mut asked = std::collections::HashSet::new();
        for nic in nics {
            if let InterfaceRequest::Network { net_id, subnet_id, fixed_ip: Some(ip) } = nic {
                let network = networks
                    .iter()
                    .find(|n| &n.id == net_id)
                    .ok_or_else(|| Error::not_found(crate::Kind::Network, net_id.as_str()))?;
                self.check_fixed_ip(network, subnet_id.as_deref(), ip).await?;
                if !asked.insert(ip.as_str()) {
                    return Err(Invalid::FixedIpInUse { ip: ip.clone() }.into());
                }
            }
        }
        Ok(())
    }

    pub async fn nic_job(&self, ctx: &AuthContext, server_id: &str, op: NicOp, request_id: &str) -> Result<String> {
        let server = self.server_get(ctx, server_id).await?;
        let (job_kind, actions, steps): (_, &[Action], Vec<NicStep>) = match op {
            NicOp::Attach(nics) => {
                ("addNics", &[Action::AttachInterface], nics.into_iter().map(NicStep::Attach).collect())
            }
            NicOp::Detach(ports) => {
                ("deleteNics", &[Action::DetachInterface], ports.into_iter().map(NicStep::Detach).collect())
            }
            NicOp::Replace { old, new } => (
                "changeVpc",
                &[Action::AttachInterface, Action::DetachInterface],
                vec![NicStep::Attach(new), NicStep::Detach(old)],
            ),
        };
        for action in actions {
            policy::authorize_write(ctx, action.rule())?;
        }
        if steps.is_empty() {
            return Err(Error::invalid("No NIC given."));
        }
        for &action in actions {
            self.check_locked(ctx, &server, action)?;
            state::check(action, &server)?;
            self.require_host_for(action, &server).await?;
        }
        let attaching: Vec<InterfaceRequest> = steps
            .iter()
            .filter_map(|s| match s {
                NicStep::Attach(nic) => Some(nic.clone()),
                NicStep::Detach(_) => None,
            })
            .collect();
        self.check_requested_addresses(ctx, &attaching).await?;
        let job = job_task(ctx, job_kind, &server.project_id, json!({"server_id": server.id}), request_id);
        self.store.task_insert(&job).await?;
        let parent = Some(job.id.as_str());
        for step in &steps {
            let refused = match step {
                NicStep::Attach(nic) => {
                    let queued = self.interface_attach_start(ctx, &server, nic, parent, request_id).await;
                    queued.err().map(|e| (e, None))
                }
                NicStep::Detach(port) => {
                    let queued = self.interface_detach_start(ctx, &server, port, parent, request_id).await;
                    queued.err().map(|e| (e, Some(port.clone())))
                }
            };
            if let Some((e, port)) = refused {
                // A sub-job refused before it could run: recorded failed, under its kind.
                let mut task = match port {
                    Some(port_id) => {
                        let params =
                            TaskParams::DetachInterface(DetachInterfaceParams { port_id: PortId::new(port_id) });
                        self.task_for(ctx, &server, params, request_id)
                    }
                    None => refused_attach(ctx, &server, request_id),
                };
                task.parent_id = Some(job.id.clone());
                refuse(&mut task, &e);
                self.store.task_insert(&task).await?;
            }
        }
        Ok(job.id)
    }
}
