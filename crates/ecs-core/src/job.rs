//! ECS jobs: the ECS-native view of the task engine. A job is a task (and
//! its sub-tasks), so a Nova instance action and an ECS job of the same
//! operation are one record.

use ecs_types::AuthContext;
use ecs_types::server::Task;

use crate::compute::{FailureKind, TaskFailure};
use crate::{Conflict, Core, Error, Invalid, Kind, Resource, Result};

/// A job and its sub-jobs.
#[derive(Debug, Clone)]
pub struct Job {
    pub task: Task,
    pub sub_jobs: Vec<Task>,
}

/// Task ids are UUIDs; ECS job ids are their 32 hex digits.
pub fn job_id(task_id: &str) -> String {
    task_id.replace('-', "")
}

/// The task id of a job id (either form); None if it cannot be one.
fn task_id(job_id: &str) -> Option<String> {
    uuid::Uuid::try_parse(job_id).ok().map(|u| u.hyphenated().to_string())
}

/// A failed task's reason as the domain error its caller is shown, when
/// it is one the caller can act on (no host, no address); None when the
/// operation failed on our side.
pub fn failure_error(failure: &TaskFailure) -> Option<Error> {
    match failure.kind {
        FailureKind::NoValidHost => Some(Error::NoValidHost { reason: failure.message.clone() }),
        FailureKind::NoFixedIpLeft => Some(Invalid::NoFixedIpLeft.into()),
        FailureKind::NoFreeFloatingIp => Some(Error::not_found(Kind::FreeFloatingIp, "")),
        FailureKind::InvalidState => Some(Conflict::Other(failure.message.clone()).into()),
        FailureKind::Locked => Some(Error::Locked { server_id: String::new(), by_admin: false }),
        FailureKind::FixedIpInUse => Some(Invalid::FixedIpInUse { ip: String::new() }.into()),
        FailureKind::PortInUse => Some(Conflict::PortInUse { id: String::new() }.into()),
        FailureKind::VolumeUnavailable => {
            Some(Invalid::VolumeState { id: String::new(), status: String::new() }.into())
        }
        FailureKind::VolumeQuota => Some(quota(Resource::Volumes)),
        FailureKind::FloatingIpQuota => Some(quota(Resource::FloatingIps)),
        FailureKind::ResizeDiskDown => Some(Invalid::FlavorDiskTooSmall.into()),
        FailureKind::Hypervisor | FailureKind::Other => None,
    }
}

/// The quota error of a failure that names only its resource.
fn quota(resource: Resource) -> Error {
    Error::QuotaExceeded { resource, requested: 0, used: 0, limit: 0 }
}

impl Core {
    /// A job of the caller's project (admins: any); NotFound otherwise.
    pub async fn job(&self, ctx: &AuthContext, job_id: &str) -> Result<Job> {
        let not_found = || Error::not_found(Kind::Job, job_id);
        let id = task_id(job_id).ok_or_else(not_found)?;
        let task = self.store.task_get(&id).await.map_err(Error::not_found_or(not_found))?;
        if !ctx.is_admin() && ctx.project_id() != Some(task.project_id.as_str()) {
            return Err(not_found());
        }
        let sub_jobs = self.store.task_children(&task.id).await?;
        Ok(Job { task, sub_jobs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_read_back_as_their_errors() {
        use crate::{Conflict, StateAttr};
        let state = Error::InvalidState {
            action: "start",
            server_id: "s".into(),
            attr: StateAttr::VmState,
            state: "active".into(),
        };
        let cases = [
            (state, FailureKind::InvalidState),
            (Error::Locked { server_id: "s".into(), by_admin: false }, FailureKind::Locked),
            (Invalid::FixedIpInUse { ip: "10.0.0.5".into() }.into(), FailureKind::FixedIpInUse),
            (Conflict::PortInUse { id: "p".into() }.into(), FailureKind::PortInUse),
            (Invalid::VolumeState { id: "v".into(), status: "in-use".into() }.into(), FailureKind::VolumeUnavailable),
            (Error::not_found(Kind::Volume, "v"), FailureKind::VolumeUnavailable),
            (Error::internal("x"), FailureKind::Other),
        ];
        for (error, kind) in cases {
            let failure = TaskFailure::refused(&error);
            assert_eq!(failure.kind, kind, "{error:?}");
            assert_eq!(failure.message, error.to_string());
            // A typed refusal reads back as a domain error (for the dialects' codes); an untyped one as none.
            assert_eq!(failure_error(&failure).is_some(), kind != FailureKind::Other, "{error:?}");
        }
    }

    #[test]
    fn job_ids_are_task_ids_without_dashes() {
        let task = "0b8ba9a1-5e0c-4c4b-9d63-1e0f7c2a3b4d";
        let job = job_id(task);
        assert_eq!(job, "0b8ba9a15e0c4c4b9d631e0f7c2a3b4d");
        assert_eq!(task_id(&job).as_deref(), Some(task));
        assert_eq!(task_id(task).as_deref(), Some(task));
        assert_eq!(task_id("not-a-job"), None);
    }
}
