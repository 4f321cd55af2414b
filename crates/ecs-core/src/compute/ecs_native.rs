//! The ECS-native features with no Nova counterpart (issue 19): the
//! project's recycle bin (a delete that keeps the server SOFT_DELETED for
//! the policy's retention, through the soft-delete and restore tasks),
//! per-server ECS options (metadata options, serial console, the
//! auto-terminate time), launch templates with their versions, and
//! scheduled events (none are raised: the list is empty).

use ecs_store::{LaunchTemplateRow, LaunchTemplateVersionRow, ServerListQuery};
use ecs_types::AuthContext;
use ecs_types::server::{Server, VmState};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::sagas::{DeleteParams, RestoreParams, SoftDeleteParams, TaskParams};
use super::state::{self, Action};
use ecs_store::StoreError;

use crate::{Core, Error, Kind, Result, policy};

const RECYCLE_BIN: &str = "recycle_bin";

/// The longest a server may be kept in the recycle bin, in hours (90 days).
pub const MAX_RETENTION_HOURS: i64 = 90 * 24;
/// The largest `recycle_threshold_day`.
pub const MAX_THRESHOLD_DAYS: i64 = 365;

/// A project's recycle bin: off by default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecycleBin {
    pub enabled: bool,
    /// How long a deleted server stays in the bin before it is deleted.
    pub retention_hour: i64,
    /// Only servers at least this many days old go to the bin; younger
    /// ones are deleted at once (0: every server).
    pub recycle_threshold_day: i64,
}

impl Default for RecycleBin {
    fn default() -> Self {
        RecycleBin { enabled: false, retention_hour: 24, recycle_threshold_day: 7 }
    }
}

/// A server's ECS options, kept beside its record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerOptions {
    /// `enabled` (default) or `disabled`: the metadata service answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_endpoint: Option<String>,
    /// `optional` (default) or `required`: tokens (IMDSv2) are needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_tokens: Option<String>,
    #[serde(default)]
    pub serial_console: bool,
    /// When the server is deleted by itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_terminate_time: Option<ecs_types::Timestamp>,
    /// When the server went to the recycle bin (while it is there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recycled_at: Option<ecs_types::Timestamp>,
    /// What its final delete does (the delete request's flags).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recycled_delete: Option<DeleteParams>,
}

impl ServerOptions {
    pub fn http_endpoint(&self) -> &str {
        self.http_endpoint.as_deref().unwrap_or("enabled")
    }

    pub fn http_tokens(&self) -> &str {
        self.http_tokens.as_deref().unwrap_or("optional")
    }
}

/// A launch template with its versions' count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchTemplate {
    pub row: LaunchTemplateRow,
}

/// One version of a launch template.
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchTemplateVersion {
    pub row: LaunchTemplateVersionRow,
    pub template_data: Value,
}

/// A launch template to create.
#[derive(Debug, Clone)]
pub struct NewLaunchTemplate {
    pub name: String,
    pub description: String,
    pub version_description: String,
    /// The template data as given (checked by the dialect).
    pub template_data: Value,
}

/// What a launch template version list is filtered by.
#[derive(Debug, Clone, Default)]
pub struct VersionFilter {
    pub launch_template_id: Option<String>,
    pub image_id: Option<String>,
    pub flavor_id: Option<String>,
    pub versions: Vec<i64>,
}

/// What the scheduled events list is filtered by (none exist).
#[derive(Debug, Clone, Default)]
pub struct ScheduledEvent {
    pub id: String,
}

fn corrupt(what: &str) -> impl FnOnce(serde_json::Error) -> Error + '_ {
    move |e| Error::Internal(format!("stored {what}: {e}"))
}

impl Core {
    // ---- recycle bin ----------------------------------------------------

    async fn recycle_bin_of(&self, project_id: &str) -> Result<RecycleBin> {
        match self.store.project_setting_get(project_id, RECYCLE_BIN).await? {
            Some(text) => serde_json::from_str(&text).map_err(corrupt("recycle bin")),
            None => Ok(RecycleBin::default()),
        }
    }

    async fn recycle_bin_put(&self, project_id: &str, bin: &RecycleBin) -> Result<()> {
        let text = serde_json::to_string(bin).map_err(corrupt("recycle bin"))?;
        Ok(self.store.project_setting_put(project_id, RECYCLE_BIN, &text).await?)
    }

    /// The caller's project's recycle bin.
    pub async fn recycle_bin(&self, ctx: &AuthContext) -> Result<RecycleBin> {
        self.recycle_bin_of(policy::project_of(ctx)?).await
    }

    /// Turns the project's recycle bin on or off. Servers already in it stay.
    pub async fn recycle_bin_switch(&self, ctx: &AuthContext, enabled: bool) -> Result<()> {
        policy::authorize_write(ctx, "ecs:recycleBin:update")?;
        let project = policy::project_of(ctx)?;
        let mut bin = self.recycle_bin_of(project).await?;
        bin.enabled = enabled;
        self.recycle_bin_put(project, &bin).await
    }

    /// Sets the project's recycle bin policy.
    pub async fn recycle_bin_policy(&self, ctx: &AuthContext, retention_hour: i64, threshold_day: i64) -> Result<()> {
        policy::authorize_write(ctx, "ecs:recycleBin:updatePolicy")?;
        if !(1..=MAX_RETENTION_HOURS).contains(&retention_hour) {
            return Err(Error::invalid(format!("retention_hour must be from 1 to {MAX_RETENTION_HOURS}.")));
        }
        if !(0..=MAX_THRESHOLD_DAYS).contains(&threshold_day) {
            return Err(Error::invalid(format!("recycle_threshold_day must be from 0 to {MAX_THRESHOLD_DAYS}.")));
        }
        let project = policy::project_of(ctx)?;
        let mut bin = self.recycle_bin_of(project).await?;
        bin.retention_hour = retention_hour;
        bin.recycle_threshold_day = threshold_day;
        self.recycle_bin_put(project, &bin).await
    }

    /// Whether a batch delete of `server` goes to the recycle bin: the bin
    /// is on, and the server is old enough and can wait SOFT_DELETED (built,
    /// on a host, idle).
    pub(crate) fn recycles(&self, bin: &RecycleBin, server: &Server) -> bool {
        let age = ecs_types::clock::now() - server.created_at;
        bin.enabled
            && age >= chrono::Duration::days(bin.recycle_threshold_day)
            && server.launched_at.is_some()
            && server.host.is_some()
            && server.task_state.is_none()
            && state::check(Action::SoftDelete, server).is_ok()
    }

    /// The recycle bin setting a batch delete of the project's servers uses.
    pub(crate) async fn recycle_bin_for_delete(&self, project_id: &str) -> Result<RecycleBin> {
        self.recycle_bin_of(project_id).await
    }

    /// Marks a server as gone to the recycle bin; its final delete does
    /// what `params` say.
    pub(crate) async fn mark_recycled(&self, server: &Server, params: &DeleteParams) -> Result<()> {
        let mut options = self.options_of(&server.id).await?;
        options.recycled_at = Some(ecs_types::clock::now());
        options.recycled_delete = Some(params.clone());
        self.options_put(server, &options).await
    }

    /// The servers in the caller's project's recycle bin.
    pub async fn recycle_bin_servers(&self, ctx: &AuthContext) -> Result<Vec<Server>> {
        let project = policy::project_of(ctx)?.to_string();
        let q = ServerListQuery {
            project_id: Some(project),
            vm_states: Some(vec![VmState::SoftDeleted]),
            ..Default::default()
        };
        let mut out = Vec::new();
        for server in self.server_list(ctx, q).await? {
            if self.options_of(&server.id).await?.recycled_at.is_some() {
                out.push(server);
            }
        }
        Ok(out)
    }

    /// A server of the caller's recycle bin (another's, or one not in the
    /// bin: not found).
    async fn recycled_server(&self, ctx: &AuthContext, id: &str) -> Result<(Server, ServerOptions)> {
        let server = self.server_get(ctx, id).await?;
        let options = self.options_of(&server.id).await?;
        if server.vm_state != VmState::SoftDeleted || options.recycled_at.is_none() {
            return Err(Error::not_found(Kind::Server, id));
        }
        Ok((server, options))
    }

    /// Brings a server back from the recycle bin (the restore task);
    /// returns the task's id.
    pub async fn recycle_bin_revert(&self, ctx: &AuthContext, id: &str, request_id: &str) -> Result<String> {
        policy::authorize_write(ctx, "ecs:recycleBin:revert")?;
        let (server, mut options) = self.recycled_server(ctx, id).await?;
        self.check_locked(ctx, &server, Action::Restore)?;
        state::check(Action::Restore, &server)?;
        let task =
            self.queue_task(ctx, &server, Action::Restore, TaskParams::Restore(RestoreParams {}), request_id).await?;
        options.recycled_at = None;
        options.recycled_delete = None;
        self.options_put(&server, &options).await?;
        Ok(task)
    }

    /// Deletes a server of the recycle bin for good; returns the task's id.
    pub async fn recycle_bin_delete(&self, ctx: &AuthContext, id: &str, request_id: &str) -> Result<String> {
        policy::authorize_write(ctx, "ecs:recycleBin:delete")?;
        let (server, options) = self.recycled_server(ctx, id).await?;
        self.check_locked(ctx, &server, Action::ForceDelete)?;
        let params = TaskParams::Delete(options.recycled_delete.unwrap_or_default());
        self.queue_task(ctx, &server, Action::ForceDelete, params, request_id).await
    }

    /// The soft delete that puts a server in the recycle bin, as a sub-task.
    pub(crate) fn recycle_params() -> TaskParams {
        TaskParams::SoftDelete(SoftDeleteParams {})
    }

    /// The periodic work of ECS options: servers whose recycle bin
    /// retention is over are deleted, and so are servers whose
    /// auto-terminate time has passed (each a task of the engine).
    /// Returns how many tasks were queued.
    pub async fn run_ecs_timers(&self) -> Result<usize> {
        let now = ecs_types::clock::now();
        let mut queued = 0;
        for (server_id, text) in self.store.server_options_all().await? {
            let options: ServerOptions = serde_json::from_str(&text).map_err(corrupt("server options"))?;
            let due = match (&options.recycled_at, &options.auto_terminate_time) {
                (Some(at), _) => Some((*at, true)),
                (None, Some(at)) if *at <= now => Some((*at, false)),
                _ => None,
            };
            let Some((at, recycled)) = due else { continue };
            let server = match self.store.server_get(&server_id).await {
                Ok(s) => s,
                Err(StoreError::NotFound) => {
                    self.store.server_options_delete(&server_id).await?;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            if server.deleted_at.is_some() {
                self.store.server_options_delete(&server_id).await?;
                continue;
            }
            if server.task_state.is_some() {
                continue;
            }
            let ctx = super::actions::system_ctx(&server);
            let (action, params, why) = if recycled {
                let bin = self.recycle_bin_of(&server.project_id).await?;
                if server.vm_state != VmState::SoftDeleted || now - at < chrono::Duration::hours(bin.retention_hour) {
                    continue;
                }
                (Action::ForceDelete, options.recycled_delete.clone().unwrap_or_default(), "req-recycle-bin")
            } else {
                (Action::Delete, DeleteParams::default(), "req-auto-terminate")
            };
            if self.queue_task(&ctx, &server, action, TaskParams::Delete(params), why).await.is_ok() {
                tracing::info!(server = %server.id, reason = why, "deleting a server by its ECS timer");
                queued += 1;
            }
        }
        Ok(queued)
    }

    // ---- per-server options ----------------------------------------------

    pub(crate) async fn options_of(&self, server_id: &str) -> Result<ServerOptions> {
        match self.store.server_options_get(server_id).await? {
            Some(text) => serde_json::from_str(&text).map_err(corrupt("server options")),
            None => Ok(ServerOptions::default()),
        }
    }

    async fn options_put(&self, server: &Server, options: &ServerOptions) -> Result<()> {
        let text = serde_json::to_string(options).map_err(corrupt("server options"))?;
        Ok(self.store.server_options_put(&server.id, &server.project_id, &text).await?)
    }

    /// A server's ECS options (any server the caller sees).
    pub async fn server_options(&self, ctx: &AuthContext, id: &str) -> Result<ServerOptions> {
        let server = self.server_get(ctx, id).await?;
        self.options_of(&server.id).await
    }

    /// Changes a server's ECS options with `change`.
    async fn server_options_change(
        &self,
        ctx: &AuthContext,
        id: &str,
        rule: &str,
        change: impl FnOnce(&mut ServerOptions),
    ) -> Result<Server> {
        policy::authorize_write(ctx, rule)?;
        let server = self.server_get(ctx, id).await?;
        self.check_locked(ctx, &server, Action::Update)?;
        let mut options = self.options_of(&server.id).await?;
        change(&mut options);
        self.options_put(&server, &options).await?;
        Ok(server)
    }

    /// Metadata options: `http_endpoint` enabled/disabled, `http_tokens`
    /// optional/required; either may be left as it is.
    pub async fn server_set_metadata_options(
        &self,
        ctx: &AuthContext,
        id: &str,
        http_endpoint: Option<&str>,
        http_tokens: Option<&str>,
    ) -> Result<()> {
        if let Some(v) = http_endpoint.filter(|v| !matches!(*v, "enabled" | "disabled")) {
            return Err(Error::invalid(format!("http_endpoint must be enabled or disabled, not {v}.")));
        }
        if let Some(v) = http_tokens.filter(|v| !matches!(*v, "optional" | "required")) {
            return Err(Error::invalid(format!("http_tokens must be optional or required, not {v}.")));
        }
        self.server_options_change(ctx, id, "ecs:cloudServers:updateMetadataOptions", |o| {
            if let Some(v) = http_endpoint {
                o.http_endpoint = Some(v.to_string());
            }
            if let Some(v) = http_tokens {
                o.http_tokens = Some(v.to_string());
            }
        })
        .await
        .map(|_| ())
    }

    /// Enables or disables the server's serial console.
    pub async fn server_set_serial_console(&self, ctx: &AuthContext, id: &str, enabled: bool) -> Result<()> {
        self.server_options_change(ctx, id, "ecs:cloudServers:updateSerialConsoleOptions", |o| {
            o.serial_console = enabled
        })
        .await
        .map(|_| ())
    }

    /// The serial console's URL: only of a server whose serial console is
    /// enabled. ecsd's one console proxy is noVNC's: its URL is given.
    pub async fn server_serial_console(&self, ctx: &AuthContext, id: &str) -> Result<String> {
        policy::authorize_write(ctx, "ecs:cloudServers:showSerialConsoleActions")?;
        let server = self.server_get(ctx, id).await?;
        if !self.options_of(&server.id).await?.serial_console {
            return Err(Error::invalid(format!("The serial console of server {id} is not enabled.")));
        }
        self.server_remote_console(ctx, id, "novnc").await
    }

    /// Sets (or with None clears) the time the server is deleted by itself;
    /// a time set must be in the future.
    pub async fn server_set_auto_terminate(
        &self,
        ctx: &AuthContext,
        id: &str,
        at: Option<ecs_types::Timestamp>,
    ) -> Result<()> {
        if at.is_some_and(|t| t <= ecs_types::clock::now()) {
            return Err(Error::invalid("auto_terminate_time must be in the future."));
        }
        self.server_options_change(ctx, id, "ecs:cloudServers:updateAutoTerminateTime", |o| o.auto_terminate_time = at)
            .await
            .map(|_| ())
    }

    /// The auto-terminate times of these servers (those that have one), by id.
    pub async fn auto_terminate_times(
        &self,
        servers: &[Server],
    ) -> Result<std::collections::HashMap<String, ecs_types::Timestamp>> {
        let ids: Vec<String> = servers.iter().map(|s| s.id.clone()).collect();
        let mut out = std::collections::HashMap::new();
        for (id, text) in self.store.server_options_of(&ids).await? {
            let options: ServerOptions = serde_json::from_str(&text).map_err(corrupt("server options"))?;
            if let Some(at) = options.auto_terminate_time {
                out.insert(id, at);
            }
        }
        Ok(out)
    }

    // ---- launch templates -------------------------------------------------

    /// Creates a launch template with its version 1; returns its id. A name
    /// the project uses already is a conflict.
    pub async fn launch_template_create(&self, ctx: &AuthContext, t: NewLaunchTemplate) -> Result<String> {
        policy::authorize_write(ctx, "ecs:launchTemplates:create")?;
        let project = policy::project_of(ctx)?;
        if t.name.is_empty() || t.name.chars().count() > 128 {
            return Err(Error::invalid("name must be 1 to 128 characters."));
        }
        let now = ecs_types::clock::now();
        let id = ecs_types::random::uuid().to_string();
        let row = LaunchTemplateRow {
            id: id.clone(),
            project_id: project.to_string(),
            name: t.name.clone(),
            description: t.description,
            default_version: 1,
            latest_version: 1,
            created_at: now,
            updated_at: now,
        };
        let version = LaunchTemplateVersionRow {
            id: ecs_types::random::uuid().to_string(),
            template_id: id.clone(),
            version_number: 1,
            description: t.version_description,
            template_data: t.template_data.to_string(),
            created_at: now,
        };
        self.store.launch_template_insert(&row, &version).await.map_err(|e| match e {
            StoreError::Conflict(_) => Error::conflict(format!("A launch template named {} exists already.", t.name)),
            other => other.into(),
        })?;
        Ok(id)
    }

    /// The caller's project's launch templates.
    pub async fn launch_templates(&self, ctx: &AuthContext) -> Result<Vec<LaunchTemplate>> {
        let project = policy::project_of(ctx)?;
        Ok(self.store.launch_template_list(project).await?.into_iter().map(|row| LaunchTemplate { row }).collect())
    }

    /// The caller's project's launch template versions, filtered.
    pub async fn launch_template_versions(
        &self,
        ctx: &AuthContext,
        filter: &VersionFilter,
    ) -> Result<Vec<LaunchTemplateVersion>> {
        let project = policy::project_of(ctx)?;
        let mut out = Vec::new();
        for row in self.store.launch_template_versions(project).await? {
            let data: Value = serde_json::from_str(&row.template_data).map_err(corrupt("template data"))?;
            let field = |k: &str| data.get(k).and_then(Value::as_str).map(String::from);
            let image = data
                .get("block_device_mappings")
                .and_then(Value::as_array)
                .and_then(|b| b.iter().find_map(|m| m.get("source_id").and_then(Value::as_str)))
                .map(String::from);
            let keep = filter.launch_template_id.as_ref().is_none_or(|t| *t == row.template_id)
                && filter.flavor_id.as_ref().is_none_or(|f| Some(f) == field("flavor_id").as_ref())
                && filter.image_id.as_ref().is_none_or(|i| Some(i) == image.as_ref())
                && (filter.versions.is_empty() || filter.versions.contains(&row.version_number));
            if keep {
                out.push(LaunchTemplateVersion { row, template_data: data });
            }
        }
        Ok(out)
    }

    /// Deletes a launch template of the caller's project with its versions.
    pub async fn launch_template_delete(&self, ctx: &AuthContext, id: &str) -> Result<()> {
        policy::authorize_write(ctx, "ecs:launchTemplates:delete")?;
        let project = policy::project_of(ctx)?;
        self.store.launch_template_delete(project, id).await.map_err(Error::not_found_as(Kind::LaunchTemplate, id))
    }

    // ---- scheduled events -------------------------------------------------

    /// The project's scheduled events: ecsd raises none.
    pub async fn scheduled_events(&self, ctx: &AuthContext) -> Result<Vec<ScheduledEvent>> {
        policy::project_of(ctx)?;
        Ok(Vec::new())
    }

    /// Updates or accepts a scheduled event: none exists.
    pub async fn scheduled_event_act(&self, ctx: &AuthContext, id: &str) -> Result<()> {
        policy::authorize_write(ctx, "ecs:instanceScheduledEvents:update")?;
        policy::project_of(ctx)?;
        Err(Error::not_found(Kind::ScheduledEvent, id))
    }

    // ---- passwords ----------------------------------------------------------

    /// Whether the server's password can be reset in one click: every ecsd
    /// guest takes `changePassword` ("True").
    pub async fn server_reset_password_flag(&self, ctx: &AuthContext, id: &str) -> Result<bool> {
        self.server_get(ctx, id).await?;
        Ok(true)
    }

    /// Resets the password of each server of `ids` (a dry run only checks
    /// them): every one must be the caller's; one whose state forbids the
    /// change is left out. Returns the ids whose password was (or would
    /// be) set.
    pub async fn server_batch_change_password(
        &self,
        ctx: &AuthContext,
        ids: &[String],
        password: Option<&str>,
        request_id: &str,
    ) -> Result<Vec<String>> {
        policy::authorize_write(ctx, Action::ChangePassword.rule())?;
        for id in ids {
            self.server_get(ctx, id).await?;
        }
        let Some(password) = password else { return Ok(ids.to_vec()) };
        let mut done = Vec::new();
        for id in ids {
            if self.server_change_password(ctx, id, password, request_id).await.is_ok() {
                done.push(id.clone());
            }
        }
        Ok(done)
    }

    // ---- billing ----------------------------------------------------------

    /// The most servers one billing change names.
    pub const MAX_CHARGE_MODE_SERVERS: usize = 10;

    /// `change-charge-mode` to yearly/monthly: every server must be the
    /// caller's; then refused as for an account without a payment method
    /// (ecsd's accounts are all pay-per-use).
    pub async fn server_change_charge_mode(&self, ctx: &AuthContext, ids: &[String]) -> Result<()> {
        policy::authorize_write(ctx, "ecs:cloudServers:changeChargeMode")?;
        if ids.is_empty() || ids.len() > Self::MAX_CHARGE_MODE_SERVERS {
            return Err(crate::Invalid::BatchSize { given: ids.len(), max: Self::MAX_CHARGE_MODE_SERVERS }.into());
        }
        for id in ids {
            self.server_get(ctx, id).await?;
        }
        Err(Error::Forbidden(crate::Forbidden::NoPaymentMethod))
    }
}
