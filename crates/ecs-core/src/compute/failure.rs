//! Why a task failed, typed and kept in its progress, so that each API
//! dialect names the failure in its own codes instead of reading text.

use ecs_types::server::{Task, TaskPhase};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The progress key that holds a failed task's [`TaskFailure`].
pub(crate) const FAILURE_REASON: &str = "failure_reason";

/// What kind of failure ended a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// No host could take the server: none had room (Nova's NoValidHost),
    /// or a build failed on every host it was tried on (Nova's
    /// MaxRetriesExceeded, a NoValidHost too).
    NoValidHost,
    /// The network had no free address for a NIC.
    NoFixedIpLeft,
    /// The external network had no free address for an EIP.
    NoFreeFloatingIp,
    /// The host failed an operation that is not retried elsewhere.
    Hypervisor,
    /// The server's state forbade the operation (a batch member refused).
    InvalidState,
    /// The server is locked (a batch member refused).
    Locked,
    /// A fixed address asked for is taken.
    FixedIpInUse,
    /// A port asked for is bound to another server.
    PortInUse,
    /// A volume could not be attached: in use, gone or in another state.
    VolumeUnavailable,
    /// A volume to build could not be made within the volume quotas.
    VolumeQuota,
    /// An EIP to allocate is over the project's EIP quota.
    FloatingIpQuota,
    /// A resize asked for a smaller local disk.
    ResizeDiskDown,
    /// Anything else; the message says what (a step's refusal, a host
    /// operation's error, a batch member refused before it ran).
    Other,
}

/// A failed task's reason: `{"kind": "no_valid_host", "message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskFailure {
    pub kind: FailureKind,
    pub message: String,
}

impl TaskFailure {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> TaskFailure {
        TaskFailure { kind, message: message.into() }
    }

    /// A task refused for a domain error (a batch member the server's
    /// state or lock refuses, a NIC refused before it ran): typed by the
    /// error, with its text.
    pub fn refused(e: &crate::Error) -> TaskFailure {
        use crate::{Conflict, Error, Invalid, Kind, Resource};
        let kind = match e {
            Error::InvalidState { .. } => FailureKind::InvalidState,
            Error::Locked { .. } => FailureKind::Locked,
            Error::NoValidHost { .. } => FailureKind::NoValidHost,
            Error::Invalid(Invalid::NoFixedIpLeft) => FailureKind::NoFixedIpLeft,
            Error::Invalid(Invalid::FixedIpInUse { .. }) => FailureKind::FixedIpInUse,
            Error::Conflict(Conflict::PortInUse { .. }) => FailureKind::PortInUse,
            Error::Invalid(Invalid::VolumeState { .. } | Invalid::VolumeAttached { .. })
            | Error::NotFound { kind: Kind::Volume, .. } => FailureKind::VolumeUnavailable,
            Error::QuotaExceeded { resource: Resource::FloatingIps, .. } => FailureKind::FloatingIpQuota,
            Error::QuotaExceeded { resource: Resource::Volumes | Resource::Gigabytes, .. } => FailureKind::VolumeQuota,
            _ => FailureKind::Other,
        };
        TaskFailure::new(kind, e.to_string())
    }

    /// The reason a failed task failed (None unless it failed). A task
    /// recorded without a typed reason gives its text as [`FailureKind::Other`].
    pub fn of(task: &Task) -> Option<TaskFailure> {
        if task.phase != TaskPhase::Failed {
            return None;
        }
        let typed = task.progress.get(FAILURE_REASON).and_then(|v| serde_json::from_value(v.clone()).ok());
        Some(typed.unwrap_or_else(|| {
            let text = task.progress.get("failure").and_then(Value::as_str);
            TaskFailure::new(FailureKind::Other, text.unwrap_or("the operation failed"))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(progress: Value) -> Task {
        Task {
            id: "t".into(),
            seq: 1,
            parent_id: None,
            kind: "os-start".into(),
            server_id: None,
            project_id: "p".into(),
            user_id: "u".into(),
            request_id: "r".into(),
            phase: TaskPhase::Failed,
            step: 0,
            params: serde_json::json!({}),
            progress,
            message: Some("Error".into()),
            attempts: 1,
            created_at: ecs_types::clock::now(),
            updated_at: ecs_types::clock::now(),
            finished_at: Some(ecs_types::clock::now()),
        }
    }

    #[test]
    fn a_typed_reason_reads_back_and_an_untyped_one_is_other() {
        let reason = TaskFailure::new(FailureKind::NoValidHost, "No valid host was found.");
        let typed = failed(serde_json::json!({"failure": "No valid host was found.", FAILURE_REASON: reason}));
        assert_eq!(
            typed.progress[FAILURE_REASON],
            serde_json::json!({"kind": "no_valid_host", "message": "No valid host was found."})
        );
        assert_eq!(TaskFailure::of(&typed), Some(reason));
        let untyped = failed(serde_json::json!({"failure": "refused"}));
        assert_eq!(TaskFailure::of(&untyped), Some(TaskFailure::new(FailureKind::Other, "refused")));
        assert_eq!(TaskFailure::of(&Task { phase: TaskPhase::Succeeded, ..untyped }), None);
    }
}
