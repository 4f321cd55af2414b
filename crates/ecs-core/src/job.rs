//! ECS jobs: the ECS-native view of the task engine. A job is a task (and
//! its sub-tasks), so a Nova instance action and an ECS job of the same
//! operation are one record.

use ecs_types::AuthContext;
use ecs_types::server::{Task, TaskPhase};
use serde_json::Value;

use crate::compute::NO_VALID_HOST;
use crate::{Core, Error, Invalid, Kind, Result};

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

/// Why a task failed, as the domain error its caller is shown (None while
/// it has not failed).
pub fn failure(task: &Task) -> Option<Error> {
    (task.phase == TaskPhase::Failed)
        .then(|| failure_of(task.progress.get("failure").and_then(Value::as_str).unwrap_or("the operation failed")))
}

/// The domain error of a failure the task engine recorded. The engine
/// records a step's failure as text (`StepError` carries a String); until
/// it records a typed reason (a follow-up for the engine's owners) this is
/// the one place that reads that text. Anything unrecognised is ours.
pub(crate) fn failure_of(reason: &str) -> Error {
    // The engine's MaxRetriesExceeded ends a build that found no other host.
    let no_host = reason.starts_with(NO_VALID_HOST) || reason.starts_with("Exceeded maximum number of retries.");
    let no_address = reason.starts_with("No more IP addresses available")
        || (reason.starts_with("Failed to allocate a port") && reason.ends_with(": Exhausted"));
    if no_host {
        Error::NoValidHost { reason: reason.to_string() }
    } else if no_address {
        Invalid::NoFixedIpLeft.into()
    } else if reason == "No free EIP is left." {
        Error::not_found(Kind::FreeFloatingIp, "")
    } else {
        Error::Internal(reason.to_string())
    }
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
    fn job_ids_are_task_ids_without_dashes() {
        let task = "0b8ba9a1-5e0c-4c4b-9d63-1e0f7c2a3b4d";
        let job = job_id(task);
        assert_eq!(job, "0b8ba9a15e0c4c4b9d631e0f7c2a3b4d");
        assert_eq!(task_id(&job).as_deref(), Some(task));
        assert_eq!(task_id(task).as_deref(), Some(task));
        assert_eq!(task_id("not-a-job"), None);
    }
}
