//! Documentation types: the request and response bodies of the ECS-native
//! API, for the OpenAPI document only. The ECS handlers read their bodies
//! as `serde_json::Value` and check them field by field (each failure with
//! its own Ecs code), so these types are never used to parse: they say
//! what the handlers read and render (seed 002 §5). Keep them in step with
//! the handler named on each.

#![allow(dead_code)]

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

// ---- Errors ----

/// An ECS error: `{"error": {"code": "Ecs.0005", "message": "…"}}`.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"error": {"code": "Ecs.0005", "message": "request body is illegal."}}))]
pub struct EcsErrorBody {
    pub error: EcsErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct EcsErrorDetail {
    /// The seed's error code: `Ecs.NNNN` or `Common.NNNN`.
    pub code: String,
    pub message: String,
}

/// An error of ecsd's admin APIs (`admin/error.rs`).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"error": {"code": "InvalidDocument", "message": "unknown variant `fly`", "field": "faults[0].op"}}))]
pub struct AdminErrorBody {
    pub error: AdminErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct AdminErrorDetail {
    /// `InvalidDocument`, `BadRequest`, `Unauthorized`, `Forbidden`,
    /// `NotFound`, `MethodNotAllowed`, `Conflict`, `UnsupportedRequest`,
    /// `NotImplemented`, `InternalError`.
    pub code: String,
    pub message: String,
    /// The path of the field at fault in the request's document
    /// (`faults[0].op`), when one part of it is.
    pub field: Option<String>,
}

// ---- Jobs ----

/// The answer of an asynchronous call: the job to poll at
/// `GET /v1/{project_id}/jobs/{job_id}`.
#[derive(Serialize, ToSchema)]
pub struct JobReply {
    pub job_id: String,
}

/// `POST /v1[.1]/{project_id}/cloudservers` (`ecs/create.rs`).
#[derive(Serialize, ToSchema)]
pub struct CreateServersReply {
    pub job_id: String,
    /// The ids of the servers being built, one per `count`.
    #[serde(rename = "serverIds")]
    pub server_ids: Vec<String>,
    /// Yearly/monthly (`prePaid`) creates only.
    pub order_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub enum JobStatus {
    #[serde(rename = "INIT")]
    Init,
    #[serde(rename = "RUNNING")]
    Running,
    #[serde(rename = "SUCCESS")]
    Success,
    #[serde(rename = "FAIL")]
    Fail,
}

/// A job (`ecs/jobs.rs` `view`): one task, with its sub-jobs (one per
/// server of a batch) in `entities.sub_jobs`.
#[derive(Serialize, ToSchema)]
pub struct Job {
    pub status: JobStatus,
    pub entities: JobEntities,
    pub job_id: String,
    /// `createServer`, `deleteServer`, `batchStartServer`, `reinstallOs`,
    /// `attachVolume`, `addNics`…; a sub-job's `createSingleServer`…
    pub job_type: String,
    /// `2026-12-04T19:01:34.000Z`.
    pub begin_time: String,
    /// Once `SUCCESS` or `FAIL`.
    pub end_time: Option<String>,
    /// The seed's code of a failed job (`Common.0021` over failed sub-jobs).
    pub error_code: Option<String>,
    pub fail_reason: Option<String>,
}

/// What a job works on; which keys appear depends on its `job_type`.
#[derive(Serialize, ToSchema)]
pub struct JobEntities {
    pub server_id: Option<String>,
    pub nic_id: Option<String>,
    pub volume_id: Option<String>,
    pub image_id: Option<String>,
    pub sub_jobs_total: Option<u32>,
    pub sub_jobs: Option<Vec<SubJob>>,
}

/// A sub-job: a job of one server, without sub-jobs of its own.
#[derive(Serialize, ToSchema)]
pub struct SubJob {
    pub status: JobStatus,
    pub entities: SubJobEntities,
    pub job_id: String,
    pub job_type: String,
    pub begin_time: String,
    pub end_time: Option<String>,
    pub error_code: Option<String>,
    pub fail_reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SubJobEntities {
    pub server_id: Option<String>,
    pub nic_id: Option<String>,
    pub volume_id: Option<String>,
    /// Why a failed sub-job failed.
    pub errorcode_message: Option<String>,
}

// ---- Creating servers ----

/// `POST /v1[.1]/{project_id}/cloudservers` (seed 002 §5.1.1, seed 001).
#[derive(Serialize, ToSchema)]
pub struct CreateServersRequest {
    pub server: CreateServer,
    /// Check the request only: 202 and no job when it would be accepted.
    pub dry_run: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct CreateServer {
    /// Letters, digits, `_`, `-` (v1: also `.`); v1 at most 128
    /// characters, v1.1 64, 59 with `count` > 1 (a `-0001` suffix follows).
    pub name: String,
    #[serde(rename = "imageRef")]
    pub image_ref: String,
    #[serde(rename = "flavorRef")]
    pub flavor_ref: String,
    /// The VPC of the primary NIC.
    pub vpcid: String,
    /// 1 to 12 NICs, the first the primary one.
    pub nics: Vec<CreateNic>,
    pub root_volume: RootVolume,
    /// At most 59.
    pub data_volumes: Option<Vec<DataVolume>>,
    /// 1 to 500 (prePaid: 100); default 1.
    pub count: Option<i64>,
    pub availability_zone: Option<String>,
    /// The administrator password (8 to 26 characters of three kinds).
    #[serde(rename = "adminPass")]
    pub admin_pass: Option<String>,
    pub key_name: Option<String>,
    /// Base64, at most 32 KB decoded.
    pub user_data: Option<String>,
    pub security_groups: Option<Vec<IdRef>>,
    pub publicip: Option<CreatePublicIp>,
    pub extendparam: Option<ExtendParam>,
    /// At most 10 user keys; ECS adds its reserved ones (`metering.*`,
    /// `image_name`, `os_type`, `vpc_id`, `charging_mode`…).
    pub metadata: Option<BTreeMap<String, String>>,
    /// At most 10.
    pub server_tags: Option<Vec<Tag>>,
    /// At most 85 characters, without `<` or `>`.
    pub description: Option<String>,
    #[serde(rename = "os:scheduler_hints")]
    #[schema(value_type = Option<Object>)]
    pub scheduler_hints: Option<serde_json::Value>,
}

#[derive(Serialize, ToSchema)]
pub struct CreateNic {
    /// A VPC subnet id (the network's id) or a Neutron subnet id.
    pub subnet_id: String,
    /// A fixed IPv4 address in the subnet.
    pub ip_address: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RootVolume {
    /// v1: `SATA`, `SSD`; v1.1 also `SAS`, `GPSSD`, `ESSD`.
    pub volumetype: String,
    /// GB; default the image's minimum disk.
    pub size: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct DataVolume {
    pub volumetype: String,
    /// GB, 10 to 32768.
    pub size: i64,
    /// A shared disk; `shareable` (the older name) must say the same.
    pub multiattach: Option<bool>,
    pub shareable: Option<bool>,
    /// Refused: ecsd makes no disks from data disk images.
    pub data_image_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct IdRef {
    pub id: String,
}

/// An EIP for each server: an existing one (`id`, count 1) or a new one (`eip`).
#[derive(Serialize, ToSchema)]
pub struct CreatePublicIp {
    pub id: Option<String>,
    /// `{"iptype": "5_bgp", "bandwidth": {"sharetype": "PER"|"WHOLE", "size": 1..2000, "chargemode": "traffic"|"bandwidth", "id"?}}`.
    #[schema(value_type = Option<Object>)]
    pub eip: Option<serde_json::Value>,
    pub delete_on_termination: Option<bool>,
}

/// Kept with the servers as given; only `chargingMode` changes what ecsd does.
#[derive(Serialize, ToSchema)]
pub struct ExtendParam {
    /// `postPaid` (default) or `prePaid` (0 or 1 in older clients).
    #[serde(rename = "chargingMode")]
    pub charging_mode: Option<String>,
    #[serde(rename = "regionID")]
    pub region_id: Option<String>,
    #[serde(rename = "isAutoRenew")]
    pub is_auto_renew: Option<String>,
    #[serde(rename = "isAutoPay")]
    pub is_auto_pay: Option<String>,
    #[serde(rename = "enterprise_project_id")]
    pub enterprise_project_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Tag {
    pub key: String,
    pub value: Option<String>,
}

// ---- Batch actions ----

/// `POST /v1/{project_id}/cloudservers/action` (§5.3): one of the three
/// actions, on the listed servers.
#[derive(Serialize, ToSchema)]
pub enum BatchActionRequest {
    #[serde(rename = "os-start")]
    Start(BatchServers),
    #[serde(rename = "os-stop")]
    Stop(BatchServersTyped),
    #[serde(rename = "reboot")]
    Reboot(BatchServersTyped),
}

#[derive(Serialize, ToSchema)]
pub struct BatchServers {
    pub servers: Vec<IdRef>,
}

#[derive(Serialize, ToSchema)]
pub struct BatchServersTyped {
    pub servers: Vec<IdRef>,
    /// `SOFT` or `HARD`: stop defaults to `SOFT`, reboot requires it.
    #[serde(rename = "type")]
    pub kind: Option<StopType>,
}

#[derive(Serialize, ToSchema)]
pub enum StopType {
    #[serde(rename = "SOFT")]
    Soft,
    #[serde(rename = "HARD")]
    Hard,
}

/// `POST /v1/{project_id}/cloudservers/delete` (§5.1.2).
#[derive(Serialize, ToSchema)]
pub struct DeleteServersRequest {
    pub servers: Vec<IdRef>,
    /// Delete the data disks too (default false).
    pub delete_volume: Option<bool>,
    /// Release the EIPs (default: as each was created).
    pub delete_publicip: Option<bool>,
}

// ---- Servers ----

/// `GET /v1/{project_id}/cloudservers/{server_id}` (§5.1 ShowServer).
#[derive(Serialize, ToSchema)]
pub struct ServerReply {
    pub server: ServerView,
}

/// `GET /v1/{project_id}/cloudservers/detail`.
#[derive(Serialize, ToSchema)]
pub struct ServerList {
    pub count: usize,
    pub servers: Vec<ServerView>,
}

/// The ECS server view (`ecs/servers.rs` `view`): Nova's server with the
/// extension attributes, plus ECS's own.
#[derive(Serialize, ToSchema)]
pub struct ServerView {
    pub id: String,
    pub name: String,
    /// `BUILD`, `ACTIVE`, `SHUTOFF`, `REBOOT`, `HARD_REBOOT`, `RESIZE`,
    /// `VERIFY_RESIZE`, `REBUILD`, `MIGRATING`, `ERROR`, `DELETED`…
    pub status: String,
    pub created: String,
    pub updated: String,
    pub auto_terminate_time: Option<String>,
    #[serde(rename = "hostId")]
    pub host_id: String,
    #[serde(rename = "OS-EXT-SRV-ATTR:host")]
    pub host: Option<String>,
    #[serde(rename = "OS-EXT-SRV-ATTR:instance_name")]
    pub instance_name: String,
    #[serde(rename = "OS-EXT-SRV-ATTR:hostname")]
    pub hostname: Option<String>,
    /// By network name: `[{"addr", "version", "OS-EXT-IPS:type", "OS-EXT-IPS-MAC:mac_addr", "OS-EXT-IPS:port_id"}]`.
    #[schema(value_type = Object)]
    pub addresses: serde_json::Value,
    pub key_name: Option<String>,
    pub image: IdRef,
    /// `{"id", "name", "disk", "vcpus", "ram"}`.
    #[schema(value_type = Object)]
    pub flavor: serde_json::Value,
    pub security_groups: Vec<NameRef>,
    #[serde(rename = "OS-EXT-STS:task_state")]
    pub task_state: Option<String>,
    #[serde(rename = "OS-EXT-STS:vm_state")]
    pub vm_state: String,
    /// 0 NOSTATE, 1 RUNNING, 3 PAUSED, 4 SHUTDOWN, 6 CRASHED, 7 SUSPENDED.
    #[serde(rename = "OS-EXT-STS:power_state")]
    pub power_state: i32,
    #[serde(rename = "OS-EXT-AZ:availability_zone")]
    pub availability_zone: String,
    pub user_id: String,
    pub tenant_id: String,
    #[serde(rename = "OS-DCF:diskConfig")]
    pub disk_config: String,
    pub metadata: BTreeMap<String, String>,
    #[serde(rename = "OS-SRV-USG:launched_at")]
    pub launched_at: Option<String>,
    #[serde(rename = "OS-SRV-USG:terminated_at")]
    pub terminated_at: Option<String>,
    /// `[{"id", "delete_on_termination", "device", "bootIndex"}]`.
    #[serde(rename = "os-extended-volumes:volumes_attached")]
    #[schema(value_type = Vec<Object>)]
    pub volumes_attached: Vec<serde_json::Value>,
    pub description: String,
    /// `UP`, `DOWN`, `MAINTENANCE`, `UNKNOWN` or empty.
    pub host_status: String,
    pub locked: bool,
    /// `key=value` strings.
    pub tags: Vec<String>,
    #[serde(rename = "os:scheduler_hints")]
    #[schema(value_type = Object)]
    pub scheduler_hints: serde_json::Value,
    pub enterprise_project_id: String,
    pub sys_tags: Vec<Tag>,
    /// `{"message", "code", "created"}` of a server in ERROR.
    #[schema(value_type = Option<Object>)]
    pub fault: Option<serde_json::Value>,
}

#[derive(Serialize, ToSchema)]
pub struct NameRef {
    pub name: String,
}

/// `GET /v1.1/{project_id}/cloudservers/detail` (ListCloudServers).
#[derive(Serialize, ToSchema)]
pub struct CloudServerList {
    pub count: usize,
    /// The `CloudServer` view: flatter than the v1 view, with integer
    /// flavor fields, volume sizes and `market_info.charge_mode`.
    #[schema(value_type = Vec<Object>)]
    pub servers: Vec<serde_json::Value>,
    /// `[{"rel": "next", "href": "…?marker=…"}]` while more follow.
    #[schema(value_type = Vec<Object>)]
    pub servers_links: Vec<serde_json::Value>,
    pub request_id: String,
}

/// `PUT /v1/{project_id}/cloudservers/{server_id}`.
#[derive(Serialize, ToSchema)]
pub struct UpdateServerRequest {
    pub server: UpdateServer,
}

#[derive(Serialize, ToSchema)]
pub struct UpdateServer {
    pub name: Option<String>,
    pub description: Option<String>,
    pub hostname: Option<String>,
    pub user_data: Option<String>,
}

/// `{"metadata": {"key": "value"}}`.
#[derive(Serialize, ToSchema)]
pub struct Metadata {
    pub metadata: BTreeMap<String, String>,
}
