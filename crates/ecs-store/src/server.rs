//! Servers: creation under quota, reads with their ports and tags, the
//! list with Nova's filters, and state changes that start tasks.

use std::collections::BTreeMap;

use ecs_types::Timestamp;
use ecs_types::server::{Fault, FlavorSnapshot, OpenResize, PowerState, Server, ServerPort, TaskState, VmState};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::client_token::{self, ClientToken, TokenUse};
use crate::task::{NewTask, insert_task};
use crate::{Backend, Store, StoreError, StoreResult, time};

const COLUMNS: &str = "id, project_id, user_id, name, hostname, description, flavor, image_id, image_name, key_name, key_data, \
    user_data, metadata, security_groups, block_devices, requested_networks, availability_zone, config_drive, \
    disk_config, access_ipv4, access_ipv6, reservation_id, launch_index, vm_state, task_state, power_state, \
    locked_by, locked_reason, host, fault, scheduler_hints, launched_at, terminated_at, created_at, updated_at, \
    deleted_at, extend_param";

/// Columns set after create (resize, passwords, keys): read, never inserted.
const LIFECYCLE_COLUMNS: &str = "old_flavor, source_host, old_vm_state, password, attached_keys";

/// The server columns plus its ports and tags as JSON, so that one query
/// reads a whole server.
fn select_columns(backend: Backend) -> String {
    let ports = backend.json_array_of_objects(&[
        ("id", "p.id"),
        ("network_id", "p.network_id"),
        ("network_name", "n.name"),
        ("subnet_id", "p.subnet_id"),
        ("address", "p.address"),
        ("mac", "p.mac"),
        ("nic_index", "p.nic_index"),
        ("project_id", "p.project_id"),
        ("name", "p.name"),
        ("preserve_on_delete", "p.preserve_on_delete"),
    ]);
    let tags = backend.json_array_agg("t.tag");
    let groups = backend.json_array_agg("g.name");
    let volumes = backend.json_array_of_objects(&[("id", "a.volume_id"), ("dot", "a.delete_on_termination")]);
    let floating = backend.json_array_of_objects(&[("port", "f.port_id"), ("address", "f.address")]);
    let server_groups = backend.json_array_agg("m.group_id");
    format!(
        "{COLUMNS}, {LIFECYCLE_COLUMNS}, (SELECT {ports} FROM ports p JOIN networks n ON n.id = p.network_id \
         WHERE p.server_id = servers.id) AS ports_json, \
         (SELECT {tags} FROM server_tags t WHERE t.server_id = servers.id) AS tags_json, \
         (SELECT {groups} FROM server_security_groups x JOIN security_groups g ON g.id = x.group_id \
         WHERE x.server_id = servers.id) AS groups_json, \
         (SELECT {volumes} FROM volume_attachments a WHERE a.server_id = servers.id) AS volumes_json, \
         (SELECT {floating} FROM floating_ips f JOIN ports fp ON fp.id = f.port_id \
         WHERE fp.server_id = servers.id) AS floating_json, \
         (SELECT {server_groups} FROM server_group_members m WHERE m.server_id = servers.id) AS server_groups_json, \
         (SELECT i.properties FROM images i WHERE i.id = servers.image_id) AS image_properties_json"
    )
}

/// A port as the JSON aggregate spells it.
#[derive(serde::Deserialize)]
struct PortJson {
    id: String,
    network_id: String,
    network_name: String,
    subnet_id: String,
    address: String,
    mac: String,
    nic_index: i64,
    project_id: String,
    name: String,
    /// 0/1 on SQLite, a boolean on PostgreSQL.
    preserve_on_delete: serde_json::Value,
}

fn json<T: serde::de::DeserializeOwned>(row: &AnyRow, column: &str) -> StoreResult<T> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("servers.{column}: {e}")))
}

fn opt_time(row: &AnyRow, column: &str) -> StoreResult<Option<Timestamp>> {
    row.try_get::<Option<i64>, _>(column)?.map(time::from_db).transpose()
}

fn server_from_row(row: &AnyRow) -> StoreResult<Server> {
    let vm_state: String = row.try_get("vm_state")?;
    let task_state: Option<String> = row.try_get("task_state")?;
    let power_state: i64 = row.try_get("power_state")?;
    let fault: Option<String> = row.try_get("fault")?;
    Ok(Server {
        id: row.try_get("id")?,
        project_id: row.try_get("project_id")?,
        user_id: row.try_get("user_id")?,
        name: row.try_get("name")?,
        hostname: row.try_get("hostname")?,
        description: row.try_get("description")?,
        flavor: json::<FlavorSnapshot>(row, "flavor")?,
        image_id: row.try_get("image_id")?,
        image_name: row.try_get("image_name")?,
        key_name: row.try_get("key_name")?,
        key_data: row.try_get("key_data")?,
        user_data: row.try_get("user_data")?,
        metadata: json(row, "metadata")?,
        tags: Vec::new(),
        security_groups: json(row, "security_groups")?,
        block_devices: json(row, "block_devices")?,
        requested_networks: json(row, "requested_networks")?,
        availability_zone: row.try_get("availability_zone")?,
        config_drive: crate::flag(row, "config_drive")?,
        disk_config: row.try_get("disk_config")?,
        access_ipv4: row.try_get("access_ipv4")?,
        access_ipv6: row.try_get("access_ipv6")?,
        reservation_id: row.try_get("reservation_id")?,
        launch_index: row.try_get("launch_index")?,
        vm_state: VmState::parse(&vm_state).ok_or_else(|| StoreError::Corrupt(format!("vm_state {vm_state}")))?,
        task_state: task_state
            .map(|t| TaskState::parse(&t).ok_or_else(|| StoreError::Corrupt(format!("task_state {t}"))))
            .transpose()?,
        power_state: PowerState::from_code(power_state)
            .ok_or_else(|| StoreError::Corrupt(format!("power_state {power_state}")))?,
        locked_by: row.try_get("locked_by")?,
        locked_reason: row.try_get("locked_reason")?,
        host: row.try_get("host")?,
        fault: fault
            .map(|f| serde_json::from_str::<Fault>(&f).map_err(|e| StoreError::Corrupt(format!("fault: {e}"))))
            .transpose()?,
        scheduler_hints: json(row, "scheduler_hints")?,
        launched_at: opt_time(row, "launched_at")?,
        terminated_at: opt_time(row, "terminated_at")?,
        created_at: time::from_db(row.try_get("created_at")?)?,
        updated_at: time::from_db(row.try_get("updated_at")?)?,
        deleted_at: opt_time(row, "deleted_at")?,
        ports: Vec::new(),
        volumes: Vec::new(),
        floating_ips: Vec::new(),
        server_groups: Vec::new(),
        image_properties: BTreeMap::new(),
        resize: open_resize(row)?,
        password: row.try_get("password")?,
        attached_keys: json(row, "attached_keys")?,
        extend_param: json(row, "extend_param")?,
    })
}

fn open_resize(row: &AnyRow) -> StoreResult<Option<OpenResize>> {
    let Some(old_flavor) = row.try_get::<Option<String>, _>("old_flavor")? else { return Ok(None) };
    let old_vm_state: String = row.try_get::<Option<String>, _>("old_vm_state")?.unwrap_or_default();
    Ok(Some(OpenResize {
        old_flavor: serde_json::from_str(&old_flavor).map_err(|e| StoreError::Corrupt(format!("old_flavor: {e}")))?,
        source_host: row.try_get::<Option<String>, _>("source_host")?.unwrap_or_default(),
        old_vm_state: VmState::parse(&old_vm_state)
            .ok_or_else(|| StoreError::Corrupt(format!("old_vm_state {old_vm_state}")))?,
    }))
}

/// A server row read with [`select_columns`]: with its ports and tags.
fn full_server_from_row(row: &AnyRow) -> StoreResult<Server> {
    let mut server = server_from_row(row)?;
    let aggregate = |column: &str| -> StoreResult<String> {
        Ok(row.try_get::<Option<String>, _>(column)?.unwrap_or_else(|| "[]".into()))
    };
    let ports: Vec<PortJson> = serde_json::from_str(&aggregate("ports_json")?)
        .map_err(|e| StoreError::Corrupt(format!("server ports: {e}")))?;
    server.ports = ports
        .into_iter()
        .map(|p| ServerPort {
            id: p.id,
            server_id: server.id.clone(),
            network_id: p.network_id,
            network_name: p.network_name,
            subnet_id: p.subnet_id,
            address: p.address,
            mac: p.mac,
            nic_index: p.nic_index,
            project_id: p.project_id,
            name: p.name,
            preserve_on_delete: p.preserve_on_delete.as_bool().unwrap_or(p.preserve_on_delete.as_i64() == Some(1)),
        })
        .collect();
    server.ports.sort_by(|a, b| (a.nic_index, &a.id).cmp(&(b.nic_index, &b.id)));
    server.tags =
        serde_json::from_str(&aggregate("tags_json")?).map_err(|e| StoreError::Corrupt(format!("server tags: {e}")))?;
    server.tags.sort();
    let volumes: Vec<serde_json::Value> = serde_json::from_str(&aggregate("volumes_json")?)
        .map_err(|e| StoreError::Corrupt(format!("server volumes: {e}")))?;
    server.volumes = volumes
        .iter()
        .filter_map(|v| {
            let dot = v["dot"].as_bool().unwrap_or(v["dot"].as_i64() == Some(1));
            Some((v["id"].as_str()?.to_string(), dot))
        })
        .collect();
    server.volumes.sort();
    let floating: Vec<serde_json::Value> = serde_json::from_str(&aggregate("floating_json")?)
        .map_err(|e| StoreError::Corrupt(format!("server floating IPs: {e}")))?;
    server.floating_ips = floating
        .iter()
        .filter_map(|f| Some((f["port"].as_str()?.to_string(), f["address"].as_str()?.to_string())))
        .collect();
    server.floating_ips.sort();
    server.server_groups = serde_json::from_str(&aggregate("server_groups_json")?)
        .map_err(|e| StoreError::Corrupt(format!("server groups: {e}")))?;
    if let Some(props) = row.try_get::<Option<String>, _>("image_properties_json")? {
        server.image_properties =
            serde_json::from_str(&props).map_err(|e| StoreError::Corrupt(format!("image properties: {e}")))?;
    }
    // Live membership wins over the names asked for at create (groups may be
    // renamed or removed, down to none); a deleted server's memberships are
    // gone, so it keeps the names it was created with.
    let mut groups: Vec<String> = serde_json::from_str(&aggregate("groups_json")?)
        .map_err(|e| StoreError::Corrupt(format!("server groups: {e}")))?;
    if !groups.is_empty() || server.deleted_at.is_none() {
        groups.sort();
        server.security_groups = groups;
    }
    Ok(server)
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serialises")
}

/// Limits a create is checked against; -1 is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceLimits {
    pub instances: i64,
    pub cores: i64,
    pub ram_mb: i64,
}

/// A project's counted usage of what servers consume.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InstanceUsage {
    pub instances: i64,
    pub cores: i64,
    pub ram_mb: i64,
}

/// The resource a create would take beyond its limit, as Nova reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaRefusal {
    /// `instances`, `cores`, `ram`, `volumes` or `gigabytes`.
    pub resource: &'static str,
    pub requested: i64,
    pub used: i64,
    pub limit: i64,
}

/// Why a create made nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateRefusal {
    Quota(QuotaRefusal),
    /// The request's client token started this job before.
    Replay(TokenUse),
}

/// How many servers a create asks for, and the quota they are counted against.
#[derive(Debug, Clone, Copy)]
pub struct CreateQuota {
    pub per_server: InstanceUsage,
    pub limits: InstanceLimits,
    pub disks: DiskQuota,
    pub min_count: i64,
    pub max_count: i64,
}

/// The disks (EVS volumes) each server of a create makes, counted with the
/// project's volumes against the `volumes` and `gigabytes` quotas.
#[derive(Debug, Clone, Copy, Default)]
pub struct DiskQuota {
    pub per_server_volumes: i64,
    pub per_server_gb: i64,
    /// Negative: unlimited.
    pub max_volumes: i64,
    pub max_gb: i64,
}

/// The job an ECS-native create runs as: its servers' build tasks are its
/// sub-jobs.
#[derive(Debug, Clone)]
pub struct CreateJob {
    pub task: NewTask,
    pub client_token: Option<ClientToken>,
}

/// A server and the task that builds it, as the store inserts them.
#[derive(Debug, Clone)]
pub struct NewServer {
    pub server: Server,
    pub task: NewTask,
    /// The security groups it joins.
    pub security_group_ids: Vec<String>,
    /// The server group it joins (`os:scheduler_hints.group`).
    pub server_group_id: Option<String>,
}

/// A state change that starts asynchronous work: applied only if the
/// server is still in one of `from` with no task running (a compare and
/// set, so two concurrent actions cannot both start).
#[derive(Debug, Clone)]
pub struct Transition<'a> {
    pub from: &'a [VmState],
    /// Also accept a server whose task_state is one of these (delete
    /// accepts a server in the middle of anything).
    pub from_tasks: &'a [TaskState],
    pub task_state: Option<TaskState>,
    pub task: Option<NewTask>,
}

/// Fields of a server that a worker sets as a task advances; `None` keeps
/// the stored value.
#[derive(Debug, Clone, Default)]
pub struct ServerUpdate {
    pub vm_state: Option<VmState>,
    /// `Some(None)` clears the task state.
    pub task_state: Option<Option<TaskState>>,
    pub power_state: Option<PowerState>,
    pub host: Option<Option<String>>,
    pub availability_zone: Option<String>,
    pub fault: Option<Option<Fault>>,
    pub launched_at: Option<Timestamp>,
    pub terminated_at: Option<Timestamp>,
    /// A new flavor (resize); the quota columns follow `usage`.
    pub flavor: Option<FlavorSnapshot>,
    /// The cores and RAM quota counts for the server.
    pub usage: Option<(i64, i64)>,
    /// `Some(None)` closes the open resize.
    pub resize: Option<Option<OpenResize>>,
    /// `OS-DCF:diskConfig` (AUTO or MANUAL), as a resize sets it.
    pub disk_config: Option<String>,
    pub deleted: bool,
}

impl ServerUpdate {
    /// This update followed by `later`: what `later` sets wins.
    pub fn then(self, later: ServerUpdate) -> ServerUpdate {
        ServerUpdate {
            vm_state: later.vm_state.or(self.vm_state),
            task_state: later.task_state.or(self.task_state),
            power_state: later.power_state.or(self.power_state),
            host: later.host.or(self.host),
            availability_zone: later.availability_zone.or(self.availability_zone),
            fault: later.fault.or(self.fault),
            launched_at: later.launched_at.or(self.launched_at),
            terminated_at: later.terminated_at.or(self.terminated_at),
            flavor: later.flavor.or(self.flavor),
            usage: later.usage.or(self.usage),
            resize: later.resize.or(self.resize),
            disk_config: later.disk_config.or(self.disk_config),
            deleted: later.deleted || self.deleted,
        }
    }
}

/// What a rebuild changes, set when it is accepted (as Nova saves the
/// instance before casting the rebuild). `None` keeps a field; for the
/// nullable ones `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct Rebuild {
    pub image_id: String,
    pub image_name: String,
    pub metadata: BTreeMap<String, String>,
    pub name: Option<String>,
    pub access_ipv4: Option<String>,
    pub access_ipv6: Option<String>,
    pub disk_config: Option<String>,
    pub hostname: Option<String>,
    pub description: Option<Option<String>>,
    pub user_data: Option<Option<String>>,
    /// Key pair name and public key.
    pub key: Option<Option<(String, String)>>,
}

/// Fields a user may change with `PUT /servers/{id}`.
#[derive(Debug, Clone, Default)]
pub struct ServerEdit {
    pub name: Option<String>,
    pub hostname: Option<String>,
    pub description: Option<Option<String>>,
    pub access_ipv4: Option<String>,
    pub access_ipv6: Option<String>,
    pub disk_config: Option<String>,
}

/// Sortable server columns (Nova's `sort_key` names map onto these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerSortKey {
    CreatedAt,
    UpdatedAt,
    Name,
    Hostname,
    Id,
    VmState,
    TaskState,
    PowerState,
    ProjectId,
    UserId,
    Host,
    AvailabilityZone,
    LaunchedAt,
    KeyName,
    ImageId,
    FlavorId,
    LaunchIndex,
}

impl ServerSortKey {
    fn column(self) -> &'static str {
        match self {
            ServerSortKey::CreatedAt => "created_at",
            ServerSortKey::UpdatedAt => "updated_at",
            ServerSortKey::Name => "name",
            ServerSortKey::Hostname => "hostname",
            ServerSortKey::Id => "id",
            ServerSortKey::VmState => "vm_state",
            ServerSortKey::TaskState => "COALESCE(task_state, '')",
            ServerSortKey::PowerState => "power_state",
            ServerSortKey::ProjectId => "project_id",
            ServerSortKey::UserId => "user_id",
            ServerSortKey::Host => "COALESCE(host, '')",
            ServerSortKey::AvailabilityZone => "COALESCE(availability_zone, '')",
            ServerSortKey::LaunchedAt => "COALESCE(launched_at, 0)",
            ServerSortKey::KeyName => "COALESCE(key_name, '')",
            ServerSortKey::ImageId => "COALESCE(image_id, '')",
            ServerSortKey::FlavorId => "flavor_id",
            ServerSortKey::LaunchIndex => "launch_index",
        }
    }
}

/// What `server_list` returns, filtered in SQL. Regular-expression filters
/// (name, ip) are the caller's: SQLite has no REGEXP.
#[derive(Debug, Clone, Default)]
pub struct ServerListQuery {
    /// None: every project (admin `all_tenants`).
    pub project_id: Option<String>,
    pub user_id: Option<String>,
    pub vm_states: Option<Vec<VmState>>,
    pub task_states: Option<Vec<TaskState>>,
    pub image_id: Option<String>,
    pub flavor_id: Option<String>,
    pub reservation_id: Option<String>,
    pub host: Option<String>,
    pub availability_zone: Option<String>,
    pub locked: Option<bool>,
    pub changes_since: Option<Timestamp>,
    pub changes_before: Option<Timestamp>,
    /// Include deleted servers.
    pub deleted: bool,
    pub tags_all: Vec<String>,
    pub tags_any: Vec<String>,
    pub not_tags_all: Vec<String>,
    pub not_tags_any: Vec<String>,
    /// Sort keys with ascending flags; `id` is always the last tie-break.
    pub sort: Vec<(ServerSortKey, bool)>,
    pub marker: Option<String>,
    pub limit: Option<i64>,
}

enum Bind {
    Text(String),
    Int(i64),
}

/// A WHERE clause under construction with `$N` placeholders.
#[derive(Default)]
struct Filter {
    clauses: Vec<String>,
    binds: Vec<Bind>,
}

impl Filter {
    fn placeholder(&mut self, bind: Bind) -> String {
        self.binds.push(bind);
        format!("${}", self.binds.len())
    }

    fn text(&mut self, v: &str) -> String {
        self.placeholder(Bind::Text(v.to_string()))
    }

    fn int(&mut self, v: i64) -> String {
        self.placeholder(Bind::Int(v))
    }

    fn list(&mut self, values: &[&str]) -> String {
        values.iter().map(|v| self.text(v)).collect::<Vec<_>>().join(", ")
    }

    fn push(&mut self, clause: String) {
        self.clauses.push(clause);
    }

    fn where_sql(&self) -> String {
        if self.clauses.is_empty() { String::new() } else { format!(" WHERE {}", self.clauses.join(" AND ")) }
    }

    fn query<'q>(&'q self, sql: &'q str) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
        let mut q = sqlx::query(sql);
        for b in &self.binds {
            q = match b {
                Bind::Text(s) => q.bind(s.as_str()),
                Bind::Int(i) => q.bind(*i),
            };
        }
        q
    }
}

impl Store {
    /// Counts what a project's live servers consume.
    pub async fn instance_usage(&self, project_id: &str) -> StoreResult<InstanceUsage> {
        usage(&mut *self.read.acquire().await?, project_id).await
    }

    /// Inserts as many of `servers` (with their build tasks) as the
    /// project's limits allow, at least `min_count`, all in one
    /// transaction with the project locked, so concurrent creates can never
    /// exceed a limit. `build` gets the count that fits and returns the
    /// servers to insert (names depend on the count).
    pub async fn server_create_batch(
        &self,
        project_id: &str,
        quota: CreateQuota,
        job: Option<&CreateJob>,
        build: impl FnOnce(i64) -> Vec<NewServer>,
    ) -> StoreResult<Result<Vec<Server>, CreateRefusal>> {
        let CreateQuota { per_server, limits, disks, min_count, max_count } = quota;
        let mut tx = self.write.begin().await?;
        lock_project(&mut tx, self.backend, project_id).await?;
        if let Some(job) = job {
            if let Some(token) = &job.client_token
                && let Some(earlier) = client_token::claim(&mut tx, project_id, token, &job.task.id).await?
            {
                return Ok(Err(CreateRefusal::Replay(earlier)));
            }
            insert_task(&mut tx, &job.task).await?;
        }
        let used = usage(&mut tx, project_id).await?;
        let (volumes, gigabytes) = volume_usage(&mut tx, project_id).await?;
        let fits = |limit: i64, used: i64, each: i64| {
            if limit < 0 || each == 0 { i64::MAX } else { ((limit - used) / each).max(0) }
        };
        let DiskQuota { per_server_volumes, per_server_gb, max_volumes, max_gb } = disks;
        let allowed = [
            ("instances", fits(limits.instances, used.instances, 1), limits.instances, used.instances, 1),
            ("cores", fits(limits.cores, used.cores, per_server.cores), limits.cores, used.cores, per_server.cores),
            ("ram", fits(limits.ram_mb, used.ram_mb, per_server.ram_mb), limits.ram_mb, used.ram_mb, per_server.ram_mb),
            ("volumes", fits(max_volumes, volumes, per_server_volumes), max_volumes, volumes, per_server_volumes),
            ("gigabytes", fits(max_gb, gigabytes, per_server_gb), max_gb, gigabytes, per_server_gb),
        ];
        let count = allowed.iter().map(|a| a.1).min().unwrap_or(i64::MAX).min(max_count);
        if count < min_count {
            // Report the first resource that cannot take min_count, as Nova does.
            let (resource, _, limit, used, each) =
                allowed.into_iter().find(|a| a.1 < min_count).expect("some resource refused");
            return Ok(Err(CreateRefusal::Quota(QuotaRefusal { resource, requested: each * min_count, used, limit })));
        }
        let servers = build(count);
        let now = time::to_db(ecs_types::clock::now());
        for new in &servers {
            insert_server(&mut tx, &new.server, now).await?;
            insert_task(&mut tx, &new.task).await?;
            if let Some(group) = &new.server_group_id {
                sqlx::query("INSERT INTO server_group_members (group_id, server_id) VALUES ($1, $2)")
                    .bind(group)
                    .bind(&new.server.id)
                    .execute(&mut *tx)
                    .await?;
            }
            for group in &new.security_group_ids {
                sqlx::query("INSERT INTO server_security_groups (server_id, group_id) VALUES ($1, $2)")
                    .bind(&new.server.id)
                    .bind(group)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(Ok(servers.into_iter().map(|n| n.server).collect()))
    }

    /// A server with its ports and tags, deleted ones included (the caller
    /// decides whether a deleted server is visible).
    pub async fn server_get(&self, id: &str) -> StoreResult<Server> {
        let sql = format!("SELECT {} FROM servers WHERE id = $1", select_columns(self.backend));
        let row = sqlx::query(&sql).bind(id).fetch_one(&self.read).await?;
        full_server_from_row(&row)
    }

    /// Servers matching `q`, in its order, starting after its marker. A
    /// marker that does not exist (or is not visible) is NotFound.
    pub async fn server_list(&self, q: &ServerListQuery) -> StoreResult<Vec<Server>> {
        let mut f = Filter::default();
        if let Some(p) = &q.project_id {
            let p = f.text(p);
            f.push(format!("project_id = {p}"));
        }
        if let Some(u) = &q.user_id {
            let u = f.text(u);
            f.push(format!("user_id = {u}"));
        }
        let include_deleted = q.deleted || q.changes_since.is_some() || q.changes_before.is_some();
        if !include_deleted {
            f.push("deleted_at IS NULL".into());
        }
        if let Some(states) = &q.vm_states {
            let list = f.list(&states.iter().map(|s| s.as_str()).collect::<Vec<_>>());
            f.push(format!("vm_state IN ({list})"));
        }
        if let Some(states) = &q.task_states {
            let list = f.list(&states.iter().map(|s| s.as_str()).collect::<Vec<_>>());
            f.push(format!("task_state IN ({list})"));
        }
        for (column, value) in [
            ("image_id", &q.image_id),
            ("flavor_id", &q.flavor_id),
            ("reservation_id", &q.reservation_id),
            ("host", &q.host),
            ("availability_zone", &q.availability_zone),
        ] {
            if let Some(v) = value {
                let v = f.text(v);
                f.push(format!("{column} = {v}"));
            }
        }
        if let Some(locked) = q.locked {
            f.push(if locked { "locked_by IS NOT NULL".into() } else { "locked_by IS NULL".into() });
        }
        if let Some(t) = q.changes_since {
            let t = f.int(time::to_db(t));
            f.push(format!("updated_at >= {t}"));
        }
        if let Some(t) = q.changes_before {
            let t = f.int(time::to_db(t));
            f.push(format!("updated_at <= {t}"));
        }
        let tag_count = |f: &mut Filter, tags: &[String]| {
            let list = f.list(&tags.iter().map(String::as_str).collect::<Vec<_>>());
            format!("(SELECT COUNT(*) FROM server_tags t WHERE t.server_id = servers.id AND t.tag IN ({list}))")
        };
        if !q.tags_all.is_empty() {
            let n = q.tags_all.len() as i64;
            let count = tag_count(&mut f, &q.tags_all);
            f.push(format!("{count} = {n}"));
        }
        if !q.tags_any.is_empty() {
            let count = tag_count(&mut f, &q.tags_any);
            f.push(format!("{count} > 0"));
        }
        if !q.not_tags_all.is_empty() {
            let n = q.not_tags_all.len() as i64;
            let count = tag_count(&mut f, &q.not_tags_all);
            f.push(format!("{count} < {n}"));
        }
        if !q.not_tags_any.is_empty() {
            let count = tag_count(&mut f, &q.not_tags_any);
            f.push(format!("{count} = 0"));
        }

        let mut sort = q.sort.clone();
        if sort.is_empty() {
            sort.push((ServerSortKey::CreatedAt, false));
        }
        let id_ascending = sort.last().map(|s| s.1).unwrap_or(false);
        if !sort.iter().any(|(k, _)| *k == ServerSortKey::Id) {
            sort.push((ServerSortKey::Id, id_ascending));
        }
        if let Some(marker) = &q.marker {
            let m = f.text(marker);
            // The marker must be one of the rows this listing could return.
            let visible = format!("SELECT 1 FROM servers{} {} id = {m}", f.where_sql(), and_or_where(&f));
            if f.query(&visible).fetch_optional(&self.read).await?.is_none() {
                return Err(StoreError::NotFound);
            }
            // Keyset: rows strictly after the marker in the sort order.
            let mut alternatives = Vec::new();
            for i in 0..sort.len() {
                let mut parts = Vec::new();
                for (key, _) in &sort[..i] {
                    let c = key.column();
                    parts.push(format!("{c} = (SELECT {c} FROM servers WHERE id = {m})"));
                }
                let (key, asc) = sort[i];
                let c = key.column();
                let op = if asc { ">" } else { "<" };
                parts.push(format!("{c} {op} (SELECT {c} FROM servers WHERE id = {m})"));
                alternatives.push(format!("({})", parts.join(" AND ")));
            }
            f.push(format!("({})", alternatives.join(" OR ")));
        }
        let order = sort
            .iter()
            .map(|(k, asc)| format!("{} {}", k.column(), if *asc { "ASC" } else { "DESC" }))
            .collect::<Vec<_>>()
            .join(", ");
        let limit = q.limit.map(|l| format!(" LIMIT {}", l.max(0))).unwrap_or_default();
        let sql =
            format!("SELECT {} FROM servers{} ORDER BY {order}{limit}", select_columns(self.backend), f.where_sql());
        let rows = f.query(&sql).fetch_all(&self.read).await?;
        rows.iter().map(full_server_from_row).collect()
    }

    /// Applies `t` if the server (live, not deleted) is still in one of its
    /// states; returns false if it was not. The task, if any, is inserted
    /// in the same transaction.
    pub async fn server_transition(&self, id: &str, t: &Transition<'_>) -> StoreResult<bool> {
        let mut tx = self.write.begin().await?;
        if !transition(&mut tx, id, t).await? {
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    /// A resize starting: `t` applied, and the server's quota counts raised
    /// to `during` (the larger of both flavors) if the project's limits
    /// allow it, with the project locked as at create.
    pub async fn server_resize_start(
        &self,
        id: &str,
        project_id: &str,
        t: &Transition<'_>,
        current: InstanceUsage,
        during: InstanceUsage,
        limits: InstanceLimits,
    ) -> StoreResult<Result<bool, QuotaRefusal>> {
        let mut tx = self.write.begin().await?;
        lock_project(&mut tx, self.backend, project_id).await?;
        let used = usage(&mut tx, project_id).await?;
        for (resource, limit, used, more) in [
            ("cores", limits.cores, used.cores, during.cores - current.cores),
            ("ram", limits.ram_mb, used.ram_mb, during.ram_mb - current.ram_mb),
        ] {
            if limit >= 0 && more > 0 && used + more > limit {
                return Ok(Err(QuotaRefusal { resource, requested: more, used, limit }));
            }
        }
        if !transition(&mut tx, id, t).await? {
            return Ok(Ok(false));
        }
        let update = ServerUpdate { usage: Some((during.cores, during.ram_mb)), ..Default::default() };
        apply_server_update(&mut tx, id, &update).await?;
        tx.commit().await?;
        Ok(Ok(true))
    }

    /// A rebuild starting: the new image and fields set with `t`.
    pub async fn server_rebuild_start(&self, id: &str, t: &Transition<'_>, r: &Rebuild) -> StoreResult<bool> {
        let mut tx = self.write.begin().await?;
        if !transition(&mut tx, id, t).await? {
            return Ok(false);
        }
        let mut f = Filter::default();
        let mut sets = vec![
            // An empty image id is none (a volume-backed server shows no image).
            format!("image_id = NULLIF({}, '')", f.text(&r.image_id)),
            format!("image_name = {}", f.text(&r.image_name)),
            format!("metadata = {}", f.text(&to_json(&r.metadata))),
            "password = NULL".to_string(),
        ];
        for (column, value) in [
            ("name", &r.name),
            ("access_ipv4", &r.access_ipv4),
            ("access_ipv6", &r.access_ipv6),
            ("disk_config", &r.disk_config),
            ("hostname", &r.hostname),
        ] {
            if let Some(v) = value {
                sets.push(format!("{column} = {}", f.text(v)));
            }
        }
        for (column, value) in [("description", &r.description), ("user_data", &r.user_data)] {
            if let Some(v) = value {
                sets.push(format!("{column} = NULLIF({}, '')", f.text(v.as_deref().unwrap_or(""))));
            }
        }
        if let Some(key) = &r.key {
            let (name, data) = key.as_ref().map(|(n, d)| (n.as_str(), d.as_str())).unwrap_or(("", ""));
            sets.push(format!("key_name = NULLIF({}, ''), key_data = NULLIF({}, '')", f.text(name), f.text(data)));
        }
        let sql = format!("UPDATE servers SET {} WHERE id = {}", sets.join(", "), f.text(id));
        f.query(&sql).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Sets or clears (None) the os-server-password record.
    pub async fn server_set_password(&self, id: &str, password: Option<&str>) -> StoreResult<()> {
        self.set_live_column(id, "password", password.map(String::from)).await
    }

    /// Replaces the key pairs attached after create (UStack attach/detachKeypairs).
    pub async fn server_set_attached_keys(&self, id: &str, keys: &BTreeMap<String, String>) -> StoreResult<()> {
        self.set_live_column(id, "attached_keys", Some(to_json(keys))).await
    }

    /// Sets one column of a live server; NotFound if it is gone.
    async fn set_live_column(&self, id: &str, column: &'static str, value: Option<String>) -> StoreResult<()> {
        let sql = format!("UPDATE servers SET {column} = $1, updated_at = $2 WHERE id = $3 AND deleted_at IS NULL");
        let done = sqlx::query(&sql)
            .bind(value)
            .bind(time::to_db(ecs_types::clock::now()))
            .bind(id)
            .execute(&self.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Sets what a worker learnt, outside any task step.
    pub async fn server_update(&self, id: &str, u: &ServerUpdate) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        apply_server_update(&mut tx, id, u).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes user-editable fields of a live server.
    pub async fn server_edit(&self, id: &str, e: &ServerEdit) -> StoreResult<()> {
        let mut f = Filter::default();
        let mut sets = Vec::new();
        for (column, value) in [
            ("name", &e.name),
            ("hostname", &e.hostname),
            ("access_ipv4", &e.access_ipv4),
            ("access_ipv6", &e.access_ipv6),
            ("disk_config", &e.disk_config),
        ] {
            if let Some(v) = value {
                let v = f.text(v);
                sets.push(format!("{column} = {v}"));
            }
        }
        if let Some(d) = &e.description {
            match d {
                Some(d) => {
                    let v = f.text(d);
                    sets.push(format!("description = {v}"));
                }
                None => sets.push("description = NULL".into()),
            }
        }
        let now = f.int(time::to_db(ecs_types::clock::now()));
        sets.push(format!("updated_at = {now}"));
        let id = f.text(id);
        let sql = format!("UPDATE servers SET {} WHERE id = {id} AND deleted_at IS NULL", sets.join(", "));
        if f.query(&sql).execute(&self.write).await?.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Locks or unlocks (`by` None) a live server.
    pub async fn server_set_lock(&self, id: &str, by: Option<&str>, reason: Option<&str>) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE servers SET locked_by = $1, locked_reason = $2, updated_at = $3 WHERE id = $4 AND deleted_at IS NULL",
        )
        .bind(by)
        .bind(reason)
        .bind(time::to_db(ecs_types::clock::now()))
        .bind(id)
        .execute(&self.write)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Admin `os-resetState`: forces vm_state and clears the task state.
    pub async fn server_reset_state(&self, id: &str, vm_state: VmState) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE servers SET vm_state = $1, task_state = NULL, updated_at = $2 WHERE id = $3 AND deleted_at IS NULL",
        )
        .bind(vm_state.as_str())
        .bind(time::to_db(ecs_types::clock::now()))
        .bind(id)
        .execute(&self.write)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Ids of live servers with a guest on `host` (for reconciling the
    /// host's guests): placed there, or resized away from it and not yet
    /// confirmed.
    pub async fn server_ids_on_host(&self, host: &str) -> StoreResult<Vec<String>> {
        let rows = sqlx::query("SELECT id FROM servers WHERE (host = $1 OR source_host = $1) AND deleted_at IS NULL")
            .bind(host)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
    }

    /// Metadata of a server, replaced whole.
    pub async fn server_set_metadata(&self, id: &str, metadata: &BTreeMap<String, String>) -> StoreResult<()> {
        self.set_live_column(id, "metadata", Some(to_json(metadata))).await
    }

    /// Removes one metadata item of a live server, read and written in one
    /// transaction; `NotFound` if it had no such item (or is gone), so that
    /// of two concurrent deletes one is told so.
    pub async fn server_metadata_delete(&self, id: &str, key: &str) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        let sql =
            format!("SELECT metadata FROM servers WHERE id = $1 AND deleted_at IS NULL{}", self.backend.for_update());
        let row = sqlx::query(&sql).bind(id).fetch_optional(&mut *tx).await?.ok_or(StoreError::NotFound)?;
        let mut metadata: BTreeMap<String, String> = json(&row, "metadata")?;
        if metadata.remove(key).is_none() {
            return Err(StoreError::NotFound);
        }
        sqlx::query("UPDATE servers SET metadata = $1, updated_at = $2 WHERE id = $3")
            .bind(to_json(&metadata))
            .bind(time::to_db(ecs_types::clock::now()))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Sets what a worker learnt. A task state of `deleting` is kept: a
/// delete queued behind a build must stay visible until it runs.
pub(crate) async fn apply_server_update(tx: &mut Transaction<'_, Any>, id: &str, u: &ServerUpdate) -> StoreResult<()> {
    let mut f = Filter::default();
    let mut sets = Vec::new();
    if let Some(vm) = u.vm_state {
        let v = f.text(vm.as_str());
        sets.push(format!("vm_state = {v}"));
    }
    if let Some(task) = u.task_state {
        let v = f.text(task.map(|t| t.as_str()).unwrap_or(""));
        if u.deleted {
            sets.push(format!("task_state = NULLIF({v}, '')"));
        } else {
            sets.push(format!(
                "task_state = CASE WHEN task_state = 'deleting' THEN task_state ELSE NULLIF({v}, '') END"
            ));
        }
    }
    if let Some(p) = u.power_state {
        let v = f.int(p.code());
        sets.push(format!("power_state = {v}"));
    }
    if let Some(host) = &u.host {
        let v = f.text(host.as_deref().unwrap_or(""));
        sets.push(format!("host = NULLIF({v}, '')"));
    }
    if let Some(az) = &u.availability_zone {
        let v = f.text(az);
        sets.push(format!("availability_zone = {v}"));
    }
    if let Some(fault) = &u.fault {
        let v = f.text(&fault.as_ref().map(to_json).unwrap_or_default());
        sets.push(format!("fault = NULLIF({v}, '')"));
    }
    if let Some(t) = u.launched_at {
        let v = f.int(time::to_db(t));
        sets.push(format!("launched_at = {v}"));
    }
    if let Some(t) = u.terminated_at {
        let v = f.int(time::to_db(t));
        sets.push(format!("terminated_at = {v}"));
    }
    if let Some(flavor) = &u.flavor {
        let (id, json, disk) = (f.text(&flavor.id), f.text(&to_json(flavor)), f.int(flavor.disk_gb));
        sets.push(format!("flavor_id = {id}, flavor = {json}, disk_gb = {disk}"));
    }
    if let Some((vcpus, ram_mb)) = u.usage {
        let (vcpus, ram_mb) = (f.int(vcpus), f.int(ram_mb));
        sets.push(format!("vcpus = {vcpus}, ram_mb = {ram_mb}"));
    }
    match &u.resize {
        None => {}
        Some(None) => sets.push("old_flavor = NULL, source_host = NULL, old_vm_state = NULL".into()),
        Some(Some(r)) => {
            let old = f.text(&to_json(&r.old_flavor));
            let host = f.text(&r.source_host);
            let state = f.text(r.old_vm_state.as_str());
            sets.push(format!("old_flavor = {old}, source_host = {host}, old_vm_state = {state}"));
        }
    }
    if let Some(d) = &u.disk_config {
        let v = f.text(d);
        sets.push(format!("disk_config = {v}"));
    }
    let now = f.int(time::to_db(ecs_types::clock::now()));
    sets.push(format!("updated_at = {now}"));
    if u.deleted {
        sets.push(format!("deleted_at = {now}"));
    }
    let id_p = f.text(id);
    let sql = format!("UPDATE servers SET {} WHERE id = {id_p}", sets.join(", "));
    f.query(&sql).execute(&mut **tx).await?;
    if u.deleted {
        // A deleted server's tags and group memberships go with it; its
        // ports were released by the task.
        sqlx::query("DELETE FROM server_tags WHERE server_id = $1").bind(id).execute(&mut **tx).await?;
        sqlx::query("DELETE FROM server_security_groups WHERE server_id = $1").bind(id).execute(&mut **tx).await?;
        sqlx::query("DELETE FROM server_group_members WHERE server_id = $1").bind(id).execute(&mut **tx).await?;
    }
    Ok(())
}

/// Applies `t` within `tx` if the server is still in one of its states.
async fn transition(tx: &mut Transaction<'_, Any>, id: &str, t: &Transition<'_>) -> StoreResult<bool> {
    let mut f = Filter::default();
    let id_p = f.text(id);
    let task_state = f.placeholder(match t.task_state {
        Some(ts) => Bind::Text(ts.as_str().into()),
        None => Bind::Text(String::new()),
    });
    let now = f.int(time::to_db(ecs_types::clock::now()));
    let states = f.list(&t.from.iter().map(|s| s.as_str()).collect::<Vec<_>>());
    let idle = if t.from_tasks.is_empty() {
        "task_state IS NULL".to_string()
    } else {
        let tasks = f.list(&t.from_tasks.iter().map(|s| s.as_str()).collect::<Vec<_>>());
        format!("(task_state IS NULL OR task_state IN ({tasks}))")
    };
    let sql = format!(
        "UPDATE servers SET task_state = NULLIF({task_state}, ''), updated_at = {now} \
         WHERE id = {id_p} AND deleted_at IS NULL AND vm_state IN ({states}) AND {idle}"
    );
    if f.query(&sql).execute(&mut **tx).await?.rows_affected() == 0 {
        return Ok(false);
    }
    if let Some(task) = &t.task {
        insert_task(tx, task).await?;
    }
    Ok(true)
}

fn and_or_where(f: &Filter) -> &'static str {
    if f.clauses.is_empty() { "WHERE" } else { "AND" }
}

async fn lock_project(tx: &mut Transaction<'_, Any>, backend: Backend, project_id: &str) -> StoreResult<()> {
    // SQLite: the one writer connection already serialises. PostgreSQL: the
    // project row is the mutex for its quota.
    if backend == Backend::Postgres {
        sqlx::query("SELECT id FROM projects WHERE id = $1 FOR UPDATE")
            .bind(project_id)
            .fetch_optional(&mut **tx)
            .await?;
    }
    Ok(())
}

async fn usage(conn: &mut sqlx::AnyConnection, project_id: &str) -> StoreResult<InstanceUsage> {
    let row = sqlx::query(
        // SUM over BIGINT is NUMERIC on PostgreSQL, which the Any driver cannot read.
        "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(vcpus), 0) AS BIGINT) AS cores, \
         CAST(COALESCE(SUM(ram_mb), 0) AS BIGINT) AS ram FROM servers WHERE project_id = $1 AND deleted_at IS NULL",
    )
    .bind(project_id)
    .fetch_one(conn)
    .await?;
    Ok(InstanceUsage { instances: row.try_get("n")?, cores: row.try_get("cores")?, ram_mb: row.try_get("ram")? })
}

/// How many volumes a project holds and their gigabytes.
async fn volume_usage(conn: &mut sqlx::AnyConnection, project_id: &str) -> StoreResult<(i64, i64)> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(size_gb), 0) AS BIGINT) AS gb FROM volumes WHERE project_id = $1",
    )
    .bind(project_id)
    .fetch_one(conn)
    .await?;
    Ok((row.try_get("n")?, row.try_get("gb")?))
}

async fn insert_server(tx: &mut Transaction<'_, Any>, s: &Server, now: i64) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO servers ({COLUMNS}, flavor_id, vcpus, ram_mb, disk_gb) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, \
         $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, $37, $38, $39, $40, $41)"
    ))
    .bind(&s.id)
    .bind(&s.project_id)
    .bind(&s.user_id)
    .bind(&s.name)
    .bind(&s.hostname)
    .bind(&s.description)
    .bind(to_json(&s.flavor))
    .bind(&s.image_id)
    .bind(&s.image_name)
    .bind(&s.key_name)
    .bind(&s.key_data)
    .bind(&s.user_data)
    .bind(to_json(&s.metadata))
    .bind(to_json(&s.security_groups))
    .bind(to_json(&s.block_devices))
    .bind(to_json(&s.requested_networks))
    .bind(&s.availability_zone)
    .bind(s.config_drive)
    .bind(&s.disk_config)
    .bind(&s.access_ipv4)
    .bind(&s.access_ipv6)
    .bind(&s.reservation_id)
    .bind(s.launch_index)
    .bind(s.vm_state.as_str())
    .bind(s.task_state.map(|t| t.as_str()))
    .bind(s.power_state.code())
    .bind(&s.locked_by)
    .bind(&s.locked_reason)
    .bind(&s.host)
    .bind(s.fault.as_ref().map(to_json))
    .bind(to_json(&s.scheduler_hints))
    .bind(s.launched_at.map(time::to_db))
    .bind(s.terminated_at.map(time::to_db))
    .bind(now)
    .bind(now)
    .bind(None::<i64>)
    .bind(to_json(&s.extend_param))
    .bind(&s.flavor.id)
    .bind(s.flavor.vcpus)
    .bind(s.flavor.ram_mb)
    .bind(s.flavor.disk_gb)
    .execute(&mut **tx)
    .await?;
    for tag in &s.tags {
        sqlx::query("INSERT INTO server_tags (server_id, tag) VALUES ($1, $2)")
            .bind(&s.id)
            .bind(tag)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

impl Store {
    /// Replaces a live server's tags.
    /// Removes one tag of a live server; `NotFound` if it had no such tag
    /// (or is gone), so that of two concurrent deletes one is told so.
    pub async fn server_tag_delete(&self, id: &str, tag: &str) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(
            "DELETE FROM server_tags WHERE server_id = $1 AND tag = $2 \
             AND server_id IN (SELECT id FROM servers WHERE id = $1 AND deleted_at IS NULL)",
        )
        .bind(id)
        .bind(tag)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("UPDATE servers SET updated_at = $1 WHERE id = $2")
            .bind(time::to_db(ecs_types::clock::now()))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn server_set_tags(&self, id: &str, tags: &[String]) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        let live = sqlx::query("UPDATE servers SET updated_at = $1 WHERE id = $2 AND deleted_at IS NULL")
            .bind(time::to_db(ecs_types::clock::now()))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if live.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM server_tags WHERE server_id = $1").bind(id).execute(&mut *tx).await?;
        for tag in tags {
            sqlx::query("INSERT INTO server_tags (server_id, tag) VALUES ($1, $2)")
                .bind(id)
                .bind(tag)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
