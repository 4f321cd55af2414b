//! `GET /v1/{project_id}/jobs/{job_id}` (§5.8.1): a task as an ECS job,
//! its sub-tasks as sub-jobs.

use axum::Json;
use axum::extract::{Path, State};
use ecs_core::compute::{FailureKind, TaskFailure};
use ecs_core::job::job_id;
use ecs_types::Timestamp;
use ecs_types::server::{Task, TaskPhase};
use serde_json::{Value, json};

use super::{EcsCall, EcsError};
use crate::AppState;

/// Job times as the seed prints them: milliseconds, UTC.
fn time(t: Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn status(phase: TaskPhase) -> &'static str {
    match phase {
        TaskPhase::Pending => "INIT",
        TaskPhase::Running | TaskPhase::Unwinding => "RUNNING",
        TaskPhase::Succeeded => "SUCCESS",
        TaskPhase::Failed => "FAIL",
    }
}

/// The ECS job type of a task; `single` for a sub-job.
fn job_type(task: &Task, single: bool) -> String {
    let flag = |key: &str| task.params.get(key).and_then(Value::as_bool).unwrap_or(false);
    let name = match task.kind.as_str() {
        "create" => "createServer",
        // A delete that put the server in the recycle bin is a delete too.
        "delete" | "deleteServers" | "soft_delete" => "deleteServer",
        "restore" => "revertRecycleBinServer",
        "start" => "startServer",
        "stop" => "stopServer",
        "reboot" | "reboot_hard" => "rebootServer",
        "migrate" => "migrateServer",
        "resize" if flag("migrate") => "migrateServer",
        "resize" | "confirmResize" | "revertResize" => "resizeServer",
        "rebuild" if flag("os_change") => "changeOs",
        "rebuild" => "reinstallOs",
        "attach_volume" => "attachVolume",
        "detach_volume" => "detachVolume",
        // One NIC of an `addNics`/`deleteNics` job, or a NIC on its own.
        "attach_interface" if single => "attachNic",
        "detach_interface" if single => "detachNic",
        "attach_interface" => "addNics",
        "detach_interface" => "deleteNics",
        other => other,
    };
    match name.strip_suffix("Server") {
        Some(verb) if single => format!("{verb}SingleServer"),
        _ => name.to_string(),
    }
}

/// The seed's code for a job that failed: a failed sub-job fails its job
/// (Common.0021 "Subjob fails"); a task's own failure has the code of its
/// domain error (no host with room: Ecs.0319, no address left: Ecs.0012),
/// else the seed's "failed to ..." code of the operation, else Ecs.0000.
fn error_code(task: &Task, failure: &TaskFailure, has_sub_jobs: bool) -> &'static str {
    match ecs_core::job::failure_error(failure) {
        _ if has_sub_jobs => "Common.0021",
        // A smaller disk than the server's: "Another flavor must be used for resizing."
        _ if failure.kind == FailureKind::ResizeDiskDown => "Ecs.0009",
        None => failed_operation_code(&task.kind),
        Some(e) => super::error::code(&e),
    }
}

/// The seed's code for an operation of `kind` that failed on our side.
fn failed_operation_code(kind: &str) -> &'static str {
    match kind {
        "create" => "Ecs.0204",
        "start" => "Ecs.0226",
        "reboot" | "reboot_hard" => "Ecs.0227",
        "resize" | "migrate" => "Ecs.0207",
        "delete" | "deleteServers" => "Ecs.0501",
        "attach_volume" => "Ecs.0205",
        "attach_interface" => "Ecs.0217",
        "detach_interface" => "Ecs.0507",
        _ => "Ecs.0000",
    }
}

/// A job's status, end and failure: its task's own, or for a job of
/// sub-jobs theirs together (running while any runs, FAIL if any failed).
fn outcome(task: &Task, sub_jobs: &[Task]) -> (&'static str, Option<Timestamp>, Option<TaskFailure>) {
    if sub_jobs.is_empty() {
        return (status(task.phase), task.finished_at, TaskFailure::of(task));
    }
    let statuses: Vec<&str> = sub_jobs.iter().map(|t| status(t.phase)).collect();
    let overall = if statuses.iter().all(|s| *s == "INIT") {
        "INIT"
    } else if statuses.iter().any(|s| matches!(*s, "INIT" | "RUNNING")) {
        "RUNNING"
    } else if statuses.contains(&"FAIL") {
        "FAIL"
    } else {
        "SUCCESS"
    };
    let done = matches!(overall, "SUCCESS" | "FAIL");
    let end = if done { sub_jobs.iter().filter_map(|t| t.finished_at).max() } else { None };
    (overall, end, sub_jobs.iter().find_map(TaskFailure::of).filter(|_| done))
}

pub(crate) fn view(task: &Task, sub_jobs: &[Task], single: bool) -> Value {
    let mut entities = json!({});
    // A job of sub-jobs on one server (NICs) names it in its parameters.
    let server = task.server_id.as_deref().or_else(|| task.params.get("server_id").and_then(Value::as_str));
    if let Some(server) = server {
        entities["server_id"] = json!(server);
    }
    if matches!(task.kind.as_str(), "attach_interface" | "detach_interface")
        && let Some(port) = task.params.get("port_id").and_then(Value::as_str)
    {
        entities["nic_id"] = json!(port);
    }
    // EVS jobs name their disk (EVS's ShowJob reads these).
    if matches!(task.kind.as_str(), "createVolume" | "extendVolume" | "deleteVolume") {
        for key in ["volume_id", "name", "size", "volume_type"] {
            if let Some(v) = task.params.get(key) {
                entities[key] = v.clone();
            }
        }
    }
    if matches!(task.kind.as_str(), "attach_volume" | "detach_volume")
        && let Some(volume) = task.params.get("volume_id").and_then(Value::as_str)
    {
        entities["volume_id"] = json!(volume);
    }
    // An IMS image job (createImage of a server, an image of a volume)
    // names the image it makes.
    if matches!(task.kind.as_str(), "createImage" | ecs_core::ims::VOLUME_IMAGE_TASK)
        && let Some(image) = task.params.get("image_id").and_then(Value::as_str)
    {
        entities["image_id"] = json!(image);
    }
    if !sub_jobs.is_empty() {
        entities["sub_jobs_total"] = json!(sub_jobs.len());
        entities["sub_jobs"] = sub_jobs.iter().map(|t| view(t, &[], true)).collect();
    }
    let (status, end, failure) = outcome(task, sub_jobs);
    if single && let Some(failure) = &failure {
        entities["errorcode_message"] = json!(failure.message);
    }
    json!({
        "status": status,
        "entities": entities,
        "job_id": job_id(&task.id),
        "job_type": job_type(task, single),
        "begin_time": time(task.created_at),
        "end_time": end.map(time),
        "error_code": failure.as_ref().map(|f| error_code(task, f, !sub_jobs.is_empty())),
        "fail_reason": failure.map(|f| f.message),
    })
}

#[utoipa::path(
    get,
    path = "/v1/{project_id}/jobs/{job_id}",
    tag = "ECS jobs",
    summary = "Show a job and its sub-jobs (§5.8.1)",
    responses(
        (status = 200, description = "The job.", body = crate::openapi::schemas::Job),
    ),
)]
pub async fn show(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, job)): Path<(String, String)>,
) -> Result<Json<Value>, EcsError> {
    let job = state.core.job(&call.ctx, &job).await?;
    Ok(Json(view(&job.task, &job.sub_jobs, job.task.parent_id.is_some())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(kind: &str, params: Value) -> Task {
        let now = ecs_types::clock::now();
        Task {
            seq: 1,
            id: "t".into(),
            parent_id: None,
            kind: kind.into(),
            server_id: None,
            project_id: "p".into(),
            user_id: "u".into(),
            request_id: "r".into(),
            phase: TaskPhase::Succeeded,
            step: 0,
            params,
            progress: json!({}),
            message: None,
            attempts: 0,
            created_at: now,
            updated_at: now,
            finished_at: None,
        }
    }

    #[test]
    fn failed_sub_jobs_have_the_seed_codes_of_their_reasons() {
        let cases = [
            (FailureKind::InvalidState, "Ecs.0100"),
            (FailureKind::Locked, "Ecs.0605"),
            (FailureKind::FixedIpInUse, "Ecs.0010"),
            (FailureKind::PortInUse, "Ecs.0919"),
            (FailureKind::VolumeUnavailable, "Ecs.0103"),
            (FailureKind::VolumeQuota, "Ecs.0021"),
            (FailureKind::FloatingIpQuota, "Ecs.0013"),
            (FailureKind::ResizeDiskDown, "Ecs.0009"),
            (FailureKind::NoValidHost, "Ecs.0319"),
            (FailureKind::NoFixedIpLeft, "Ecs.0012"),
        ];
        for (kind, code) in cases {
            let failure = TaskFailure::new(kind, "why");
            assert_eq!(error_code(&task("create", json!({})), &failure, false), code, "{kind:?}");
            // The job over failed sub-jobs: "Subjob fails".
            assert_eq!(error_code(&task("create", json!({})), &failure, true), "Common.0021");
        }
        // Failed on our side: the operation's own "failed to" code.
        let ours = TaskFailure::new(FailureKind::Hypervisor, "boom");
        assert_eq!(error_code(&task("attach_volume", json!({})), &ours, false), "Ecs.0205");
        assert_eq!(error_code(&task("start", json!({})), &ours, false), "Ecs.0226");
    }

    #[test]
    fn job_types_follow_the_seed() {
        assert_eq!(job_type(&task("create", json!({})), false), "createServer");
        assert_eq!(job_type(&task("create", json!({})), true), "createSingleServer");
        assert_eq!(job_type(&task("attach_volume", json!({})), true), "attachVolume");
        assert_eq!(job_type(&task("rebuild", json!({})), false), "reinstallOs");
        assert_eq!(job_type(&task("rebuild", json!({"os_change": true})), false), "changeOs");
        assert_eq!(job_type(&task("resize", json!({"migrate": true})), false), "migrateServer");
        assert_eq!(job_type(&task("migrate", json!({"migrate": true})), false), "migrateServer");
        assert_eq!(job_type(&task("attach_interface", json!({})), true), "attachNic");
        assert_eq!(job_type(&task("addNics", json!({})), false), "addNics");
    }
}
