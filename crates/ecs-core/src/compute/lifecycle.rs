//! Resize, rebuild, passwords, key pairs and remote consoles: the
//! requests that change what a server is after it was built. Each is
//! checked here and carried out by a task (its saga in `sagas/`).

use std::collections::BTreeMap;

use ecs_store::{ConsoleToken, InstanceUsage, Rebuild, ServerUpdate, Transition};
use ecs_types::AuthContext;
use ecs_types::server::{FlavorSnapshot, Server, VmState};
use sha2::{Digest, Sha256};

use ecs_types::ImageId;

use super::sagas::{
    ConfirmParams, KeypairsParams, PasswordParams, RebuildParams, ResizeParams, RevertParams, TaskParams,
};
use super::server::{InjectedFile, generate_password, quota_exceeded, transition};
use super::state::{self, Action};
use crate::{Core, Error, Invalid, Kind, Result, Unauthorized, policy};

/// What a rebuild asks for (Nova's rebuild body, validated by the API).
#[derive(Debug, Clone, Default)]
pub struct RebuildRequest {
    pub image_ref: String,
    pub name: Option<String>,
    pub metadata: Option<BTreeMap<String, String>>,
    pub admin_pass: Option<String>,
    pub access_ipv4: Option<String>,
    pub access_ipv6: Option<String>,
    pub disk_config: Option<String>,
    pub preserve_ephemeral: bool,
    pub description: Option<Option<String>>,
    /// 2.54: `Some(None)` removes the key pair.
    pub key_name: Option<Option<String>>,
    /// 2.57: `Some(None)` removes the user data.
    pub user_data: Option<Option<String>>,
    /// Before 2.57: personality files, checked against the quotas.
    pub injected_files: Vec<InjectedFile>,
    pub hostname: Option<String>,
    /// 2.93: a volume-backed server may be rebuilt with a new image.
    pub reimage_boot_volume: bool,
    /// An ECS reinstall or change of OS; None for Nova's rebuild.
    pub os_reinstall: Option<OsReinstall>,
}

/// An ECS reinstall (`reinstallos`, seed 002 §5.2.1) or change of OS
/// (`changeos`, §5.2.2): a rebuild of a stopped server, or of one whose
/// last rebuild failed (ERROR).
///
/// The seed says nothing of the power state afterwards; Huawei's service
/// (which DECISIONS tells ECS-native paths to follow) starts the ECS once
/// its new system disk is in place, so the server ends ACTIVE.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsReinstall {
    /// `"mode": "withStopServer"` (DECISIONS §7): a running server is
    /// stopped by the task before its disk is rebuilt, instead of refused.
    pub stop_running: bool,
    /// `changeos` (a new image) rather than `reinstallos`.
    pub change: bool,
}

/// A rebuild under way.
#[derive(Debug, Clone)]
pub struct Rebuilt {
    pub server: Server,
    /// The admin password the guest gets.
    pub admin_pass: String,
    pub task_id: String,
}

/// How a resize goes beyond Nova's.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResizeOptions {
    /// Nova's `OS-DCF:diskConfig: AUTO`: a resize or migration without it
    /// leaves the server MANUAL, as Nova's does.
    pub auto_disk_config: bool,
    /// ECS (seed 002 §5.2.3, §5.2.4): only a stopped server.
    pub stopped_only: bool,
    /// ECS: confirmed by the task itself; no VERIFY_RESIZE waits for a
    /// confirm.
    pub auto_confirm: bool,
    /// ECS migrate: to the public pool (false) or a dedicated host (true).
    pub dedicated: Option<bool>,
}

/// Whether a server may be resized to flavor `new`: another flavor, and
/// not one without a disk for a server whose disk is its image's.
pub(crate) fn resize_target_check(old: &FlavorSnapshot, image_backed: bool, new: &FlavorSnapshot) -> Result<()> {
    if new.id == old.id {
        return Err(Invalid::SameFlavor.into());
    }
    if new.disk_gb == 0 && old.disk_gb != 0 && image_backed {
        return Err(Error::invalid("Resize to zero disk flavor is not allowed."));
    }
    Ok(())
}

/// The states a stopped-only ECS operation starts from.
const STOPPED: &[VmState] = &[VmState::Stopped];
/// ECS reinstall/change OS: stopped, or a failed earlier reinstall.
const STOPPED_OR_FAILED: &[VmState] = &[VmState::Stopped, VmState::Error];

/// Console kinds Nova knows, and whether ecsd serves them.
const VNC_TYPES: [&str; 2] = ["novnc", "xvpvnc"];

fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Core {
    /// A server the caller may act on with `action`: visible, not locked
    /// against them, and in a state that allows it.
    async fn server_for(&self, ctx: &AuthContext, id: &str, action: Action) -> Result<Server> {
        let server = self.server_get(ctx, id).await?;
        self.check_locked(ctx, &server, action)?;
        state::check(action, &server)?;
        self.require_host_for(action, &server).await?;
        Ok(server)
    }

    /// Starts a resize to `flavor_id` (Nova's `resize` action, the ECS
    /// resize with `opts`); returns the task's id.
    pub async fn server_resize(
        &self,
        ctx: &AuthContext,
        id: &str,
        flavor_id: &str,
        opts: ResizeOptions,
        request_id: &str,
    ) -> Result<String> {
        policy::authorize_write(ctx, Action::Resize.rule())?;
        let server = self.server_for(ctx, id, Action::Resize).await?;
        let flavor = self
            .store
            .flavor_get(flavor_id)
            .await
            .map_err(Error::not_found_or(|| Error::invalid("Unable to locate requested flavor.")))?;
        let new = FlavorSnapshot::of(&flavor);
        resize_target_check(&server.flavor, server.image_id.is_some(), &new)?;
        self.start_move(ctx, server, new, Action::Resize, None, opts, request_id).await
    }

    /// A cold migration: the resize machinery with the server's own flavor,
    /// to another host (seed 002 §5.2.3); returns the task's id.
    /// `dedicated_host_id` names the project's dedicated host to go to;
    /// without it the server goes to the public pool.
    pub async fn server_migrate(
        &self,
        ctx: &AuthContext,
        id: &str,
        dedicated_host_id: Option<&str>,
        mut opts: ResizeOptions,
        request_id: &str,
    ) -> Result<String> {
        policy::authorize_write(ctx, Action::Migrate.rule())?;
        let server = self.server_get(ctx, id).await?;
        let host = match dedicated_host_id {
            Some(deh) => {
                let host = self.dedicated_host_for(&server.project_id, deh).await?;
                if server.host.as_deref() == Some(host.name.as_str()) {
                    return Err(Invalid::SameDedicatedHost.into());
                }
                Some(host.name)
            }
            None => None,
        };
        opts.dedicated = Some(host.is_some());
        let flavor = server.flavor.clone();
        self.start_move(ctx, server, flavor, Action::Migrate, host, opts, request_id).await
    }

    /// Starts a resize (`action` Resize) or a cold migration (Migrate, to
    /// `host` if named); returns the task's id.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn start_move(
        &self,
        ctx: &AuthContext,
        server: Server,
        new: FlavorSnapshot,
        action: Action,
        host: Option<String>,
        opts: ResizeOptions,
        request_id: &str,
    ) -> Result<String> {
        self.start_move_under(ctx, server, new, action, host, opts, None, request_id).await
    }

    /// [`Core::start_move`], as a sub-job of job `parent` if given.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn start_move_under(
        &self,
        ctx: &AuthContext,
        server: Server,
        new: FlavorSnapshot,
        action: Action,
        host: Option<String>,
        opts: ResizeOptions,
        parent: Option<&str>,
        request_id: &str,
    ) -> Result<String> {
        let id = server.id.as_str();
        self.check_locked(ctx, &server, action)?;
        state::check(action, &server)?;
        self.require_host_for(action, &server).await?;
        if opts.stopped_only && server.vm_state != VmState::Stopped {
            return Err(state::invalid_state(action, &server));
        }
        let old = &server.flavor;
        // Quota counts the larger of both flavors until the resize is
        // confirmed or reverted: either may be what remains.
        let current = InstanceUsage { instances: 1, cores: old.vcpus, ram_mb: old.ram_mb };
        let during =
            InstanceUsage { instances: 1, cores: old.vcpus.max(new.vcpus), ram_mb: old.ram_mb.max(new.ram_mb) };
        let params = TaskParams::Resize(ResizeParams {
            flavor: new,
            old_vm_state: server.vm_state,
            migrate: action == Action::Migrate,
            auto_confirm: opts.auto_confirm,
            host,
            dedicated: opts.dedicated,
        });
        let mut task = self.task_for(ctx, &server, params, request_id);
        task.parent_id = parent.map(String::from);
        let task_id = task.id.clone();
        let mut start = transition(action, task);
        if opts.stopped_only {
            start.from = STOPPED;
        }
        let limits = self.instance_limits(&server.project_id).await?;
        let started = self
            .store
            .server_resize_start(id, &server.project_id, &start, current, during, limits)
            .await?
            .map_err(quota_exceeded)?;
        if !started {
            let now = self.server_get(ctx, id).await?;
            return Err(state::invalid_state(action, &now));
        }
        let disk_config = if opts.auto_disk_config { "AUTO" } else { "MANUAL" };
        let update = ServerUpdate { disk_config: Some(disk_config.into()), ..Default::default() };
        self.store.server_update(id, &update).await?;
        self.wake.notify();
        Ok(task_id)
    }

    /// Confirms (keeps the new flavor) or reverts (goes back) a resize.
    pub async fn server_finish_resize(
        &self,
        ctx: &AuthContext,
        id: &str,
        confirm: bool,
        request_id: &str,
    ) -> Result<()> {
        policy::authorize_write(ctx, if confirm { Action::ConfirmResize } else { Action::RevertResize }.rule())?;
        let (action, params) = if confirm {
            (Action::ConfirmResize, TaskParams::ConfirmResize(ConfirmParams {}))
        } else {
            (Action::RevertResize, TaskParams::RevertResize(RevertParams {}))
        };
        let server = self.server_get(ctx, id).await?;
        if server.vm_state == ecs_types::server::VmState::Resized && server.resize.is_none() {
            return Err(Error::invalid("Instance has not been resized."));
        }
        self.check_and_queue(ctx, &server, action, params, request_id).await?;
        Ok(())
    }

    /// Starts a rebuild; returns the server as it now is, the admin
    /// password the guest gets and the task.
    pub async fn server_rebuild(
        &self,
        ctx: &AuthContext,
        id: &str,
        req: RebuildRequest,
        request_id: &str,
    ) -> Result<Rebuilt> {
        policy::authorize_write(ctx, Action::Rebuild.rule())?;
        let server = self.server_for(ctx, id, Action::Rebuild).await?;
        let from = match req.os_reinstall {
            Some(os) if !os.stop_running => STOPPED_OR_FAILED,
            _ => Action::Rebuild.allowed_vm_states().unwrap_or(VmState::ALL),
        };
        if !from.contains(&server.vm_state) {
            return Err(state::invalid_state(Action::Rebuild, &server));
        }
        let volume_backed = server.image_id.is_none();
        let current_image = server.image_id.clone().or_else(|| {
            server
                .block_devices
                .iter()
                .find(|b| b.boot_index == Some(0) && b.source_type == "image")
                .and_then(|b| b.uuid.clone())
        });
        if volume_backed && current_image.as_deref() != Some(req.image_ref.as_str()) && !req.reimage_boot_volume {
            return Err(Error::invalid(format!(
                "Image {} is unacceptable: Unable to rebuild with a different image for a volume-backed server.",
                req.image_ref
            )));
        }
        let f = &server.flavor;
        let image =
            self.boot_image(ctx, &server.project_id, &req.image_ref, f.ram_mb, f.disk_gb, volume_backed).await?;
        if let Some(metadata) = &req.metadata {
            self.check_metadata_quota(&server.project_id, metadata.len()).await?;
        }
        self.check_injected_files_quota(&server.project_id, &req.injected_files).await?;
        let key = match &req.key_name {
            None => None,
            Some(None) => Some(None),
            Some(Some(name)) => {
                let key = self
                    .store
                    .keypair_get(&server.user_id, name)
                    .await
                    .map_err(Error::not_found_or(|| Error::invalid("Invalid key_name provided.")))?;
                Some(Some((key.name, key.public_key)))
            }
        };
        let admin_pass = req.admin_pass.clone().unwrap_or_else(generate_password);
        let changes = Rebuild {
            // A volume-backed server keeps showing no image, as in Nova.
            image_id: if volume_backed { String::new() } else { image.id.clone() },
            image_name: image.name.clone(),
            metadata: req.metadata.clone().unwrap_or_else(|| server.metadata.clone()),
            name: req.name.clone(),
            access_ipv4: req.access_ipv4.clone(),
            access_ipv6: req.access_ipv6.clone(),
            disk_config: req.disk_config.clone(),
            hostname: req.hostname.clone(),
            description: req.description.clone(),
            user_data: req.user_data.clone(),
            key,
        };
        let params = RebuildParams {
            admin_pass: Some(admin_pass.clone()),
            image_id: ImageId::new(&image.id),
            preserve_ephemeral: req.preserve_ephemeral,
            stop_first: req.os_reinstall.is_some_and(|os| os.stop_running),
            start_after: req.os_reinstall.is_some(),
            os_change: req.os_reinstall.is_some_and(|os| os.change),
        };
        let task = self.task_for(ctx, &server, TaskParams::Rebuild(params), request_id);
        let task_id = task.id.clone();
        let start = Transition { from, ..transition(Action::Rebuild, task) };
        if !self.store.server_rebuild_start(id, &start, &changes).await? {
            let now = self.server_get(ctx, id).await?;
            return Err(state::invalid_state(Action::Rebuild, &now));
        }
        // The reply shows the server as the rebuild left it queued: read
        // before the engine is woken, which may finish it at once.
        let server = self.server_get(ctx, id).await?;
        self.wake.notify();
        Ok(Rebuilt { server, admin_pass, task_id })
    }

    /// `changePassword`: sets the admin password in the guest and waits
    /// for it, as Nova's synchronous call does.
    pub async fn server_change_password(
        &self,
        ctx: &AuthContext,
        id: &str,
        password: &str,
        request_id: &str,
    ) -> Result<()> {
        policy::authorize_write(ctx, Action::ChangePassword.rule())?;
        let server = self.server_get(ctx, id).await?;
        let params = TaskParams::ChangePassword(PasswordParams { admin_pass: Some(password.to_string()) });
        let task_id = self.check_and_queue(ctx, &server, Action::ChangePassword, params, request_id).await?;
        self.wait_task(&task_id, |why| {
            Error::conflict(format!("Failed to set admin password on {id}: {}", why.message))
        })
        .await
    }

    /// `os-server-password`: the encrypted password, or "" when none is kept.
    pub async fn server_password(&self, ctx: &AuthContext, id: &str) -> Result<String> {
        Ok(self.server_get(ctx, id).await?.password.unwrap_or_default())
    }

    pub async fn server_clear_password(&self, ctx: &AuthContext, id: &str) -> Result<()> {
        policy::authorize_write(ctx, "os_compute_api:os-server-password:clear")?;
        self.server_get(ctx, id).await?;
        Ok(self.store.server_set_password(id, None).await?)
    }

    /// UStack `attachKeypairs`/`detachKeypairs`: changes the key pairs the
    /// guest authorizes.
    pub async fn server_keypairs(
        &self,
        ctx: &AuthContext,
        id: &str,
        names: &[String],
        attach: bool,
        request_id: &str,
    ) -> Result<()> {
        policy::authorize_write(ctx, Action::SetKeypairs.rule())?;
        let server = self.server_for(ctx, id, Action::SetKeypairs).await?;
        let mut keys = server.attached_keys.clone();
        for name in names {
            if attach {
                let key = self
                    .store
                    .keypair_get(&ctx.user_id, name)
                    .await
                    .map_err(Error::not_found_or(|| Error::not_found(Kind::KeypairName, name.as_str())))?;
                if server.key_name.as_deref() != Some(name.as_str()) {
                    keys.insert(key.name, key.public_key);
                }
            } else if keys.remove(name).is_none() {
                return Err(Error::not_found(Kind::AttachedKeypair { server_id: id.to_string() }, name.as_str()));
            }
        }
        let params = KeypairsParams { key_names: names.to_vec() };
        let params = if attach { TaskParams::AttachKeypairs(params) } else { TaskParams::DetachKeypairs(params) };
        self.store.server_set_attached_keys(id, &keys).await?;
        self.queue_task(ctx, &server, Action::SetKeypairs, params, request_id).await?;
        Ok(())
    }

    /// A remote console URL (`remote-consoles`, `os-getVNCConsole`). Only
    /// VNC is served; other protocols are unavailable, as in a Nova whose
    /// SPICE, RDP, serial and MKS consoles are disabled.
    pub async fn server_remote_console(&self, ctx: &AuthContext, id: &str, console_type: &str) -> Result<String> {
        policy::authorize_write(ctx, Action::RemoteConsole.rule())?;
        if !VNC_TYPES.contains(&console_type) {
            return Err(Error::invalid(format!("Unavailable console type {console_type}.")));
        }
        let server = self.server_get(ctx, id).await?;
        let not_ready = || Error::conflict(format!("Instance {id} is not ready"));
        if state::check(Action::RemoteConsole, &server).is_err() {
            return Err(not_ready());
        }
        // No proxy to open it through: Nova with `[vnc] enabled = False`
        // (its compute host raises ConsoleTypeUnavailable).
        if !self.config.vnc_console {
            return Err(Error::invalid(format!("Unavailable console type {console_type}.")));
        }
        let driver = server.host.as_deref().and_then(|h| self.drivers.get(h)).ok_or_else(not_ready)?;
        let endpoint = driver.vnc_console(id).await.map_err(|e| match e {
            ecs_hypervisor::HypervisorError::NotFound(_) | ecs_hypervisor::HypervisorError::InvalidState { .. } => {
                not_ready()
            }
            other => Error::Internal(other.to_string()),
        })?;
        let token = ecs_types::random::uuid().to_string();
        let record = ConsoleToken {
            server_id: server.id.clone(),
            console_type: console_type.to_string(),
            host: endpoint.host,
            port: i64::from(endpoint.port),
            internal_access_path: None,
            expires_at: ecs_types::clock::now() + self.config.console_token_ttl,
        };
        self.store.console_token_insert(&hash_token(&token), &record).await?;
        let base = &self.config.novncproxy_base_url;
        let joiner = if base.contains('?') { '&' } else { '?' };
        Ok(format!("{base}{joiner}path=%3Ftoken%3D{token}"))
    }

    /// `os-console-auth-tokens/{token}` (admin): what the token opens.
    pub async fn console_auth_token(&self, ctx: &AuthContext, token: &str) -> Result<ConsoleToken> {
        policy::require_admin(ctx, "os_compute_api:os-console-auth-tokens")?;
        self.store.console_token_get(&hash_token(token)).await?.ok_or_else(|| Error::not_found(Kind::ConsoleToken, ""))
    }

    /// What a console token opens, for the console proxy (which any
    /// holder of a valid token may use, as nova-novncproxy does).
    pub async fn console_token_open(&self, token: &str) -> Result<ConsoleToken> {
        self.store.console_token_get(&hash_token(token)).await?.ok_or_else(|| {
            let shown: String = token.chars().take(4).collect();
            Error::Unauthorized(Unauthorized::ConsoleToken { shown: shown.to_string() })
        })
    }

    /// `monitorMetrics` (§6.3.11): the server joins the metering list;
    /// recorded as an instance action.
    pub async fn server_monitor(&self, ctx: &AuthContext, id: &str, request_id: &str) -> Result<()> {
        policy::authorize_write(ctx, "os_compute_api:servers:monitor_metrics")?;
        let server = self.server_get(ctx, id).await?;
        self.record_api_action(ctx, &server, "monitorMetrics", request_id).await
    }
}
