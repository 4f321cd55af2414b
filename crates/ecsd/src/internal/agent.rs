//! `ecsd agent`: one compute host. It runs the host's hypervisor (the
//! simulator or QEMU), serves its calls to the API nodes over the internal
//! API and reports the host to the control plane with a heartbeat. It
//! holds no database credentials: everything it knows of the cloud comes
//! in the calls.
//!
//! Each call made for a task carries the task's fence; the agent keeps the
//! highest fence it has acted on per guest in `<data-dir>/fences.json` (so
//! a restart remembers) and refuses an older one: an API node whose claim
//! was taken over, or a request that arrives after its caller gave up,
//! cannot act on a guest that a newer claim has since acted on.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use ecs_core::compute::agents::{AgentAck, AgentReport};
use ecs_hypervisor::fence::Fence;
use ecs_hypervisor::{Hypervisor, HypervisorError};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::wire::{Call, Reply, WireError};
use super::{DEADLINE_HEADER, FENCE_HEADER, Secret};

/// The highest fence acted on per guest, kept in a file.
pub struct FenceBook {
    path: PathBuf,
    seen: Mutex<HashMap<String, Fence>>,
}

impl FenceBook {
    /// Opens (or starts) the book at `path`.
    pub fn open(path: PathBuf) -> anyhow::Result<FenceBook> {
        let seen = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| format!("reading {}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => HashMap::new(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        Ok(FenceBook { path, seen: Mutex::new(seen) })
    }

    /// Admits a call with `fence` on `guest`: refused if a newer fence has
    /// acted on it; a newer fence is written down before the call runs.
    pub fn admit(&self, guest: &str, fence: Fence) -> Result<(), HypervisorError> {
        let mut seen = self.seen.lock().expect("fence lock");
        match seen.get(guest) {
            Some(newest) if *newest > fence => {
                return Err(HypervisorError::Fenced {
                    id: guest.to_string(),
                    message: format!("fence {fence} is older than {newest}"),
                });
            }
            Some(newest) if *newest == fence => return Ok(()),
            _ => {}
        }
        seen.insert(guest.to_string(), fence);
        if let Err(e) = write_atomically(&self.path, &seen) {
            // Not acting is safe; acting without a record is not.
            seen.remove(guest);
            return Err(HypervisorError::Failed {
                host: String::new(),
                op: ecs_hypervisor::Op::Spawn,
                message: format!("recording the fence failed: {e}"),
            });
        }
        Ok(())
    }

    /// Refuses `fence` if a newer one has acted on `guest`, recording nothing.
    pub fn check(&self, guest: &str, fence: Fence) -> Result<(), HypervisorError> {
        match self.seen.lock().expect("fence lock").get(guest) {
            Some(newest) if *newest > fence => Err(HypervisorError::Fenced {
                id: guest.to_string(),
                message: format!("fence {fence} is older than {newest}"),
            }),
            _ => Ok(()),
        }
    }

    pub fn newest(&self, guest: &str) -> Option<Fence> {
        self.seen.lock().expect("fence lock").get(guest).copied()
    }
}

fn write_atomically(path: &Path, seen: &HashMap<String, Fence>) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("json.tmp");
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(&serde_json::to_vec(seen)?)?;
    file.sync_data()?;
    std::fs::rename(&tmp, path)
}

/// What the agent's internal API serves from.
#[derive(Clone)]
pub struct AgentState {
    pub driver: Arc<dyn Hypervisor>,
    pub fences: Arc<FenceBook>,
    /// One call at a time per guest for fenced calls, so that an older
    /// call admitted first has finished before a newer one runs.
    guests: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    /// The host the agent is reached at, for console endpoints that name loopback.
    pub advertise_host: String,
}

impl AgentState {
    pub fn new(driver: Arc<dyn Hypervisor>, fences: FenceBook, advertise_host: String) -> AgentState {
        AgentState { driver, fences: Arc::new(fences), guests: Default::default(), advertise_host }
    }

    fn guest_lock(&self, guest: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut guests = self.guests.lock().expect("guests lock");
        // Drop the locks nobody holds, so the map does not grow with every guest ever seen.
        guests.retain(|_, l| Arc::strong_count(l) > 1);
        guests.entry(guest.to_string()).or_default().clone()
    }
}

/// The agent's internal API (without the secret: see [`super::authenticated`]).
pub fn router(state: AgentState) -> Router {
    Router::new()
        .route("/internal/v1/hypervisor/{method}", post(hypervisor_call))
        .route("/internal/v1/transfers/{id}/{file}", axum::routing::put(transfer))
        .with_state(state)
}

/// A file of a guest moving here (a cold move's root disk, a console
/// log), streamed from the source host's driver to this host's.
async fn transfer(
    State(state): State<AgentState>,
    UrlPath((id, file)): UrlPath<(String, String)>,
    request: axum::extract::Request,
) -> Response {
    let plain = |s: &str| {
        !s.is_empty() && s != "." && s != ".." && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    if !plain(&id) || !plain(&file) {
        return bad_request("a transfer names a guest and a file, without paths");
    }
    let (mut writer, mut reader) = tokio::io::duplex(256 * 1024);
    let mut body = request.into_body();
    // The body is pumped into a pipe the driver reads; a driver that stops
    // reading (it failed) ends the pump.
    let pump = tokio::spawn(async move {
        use http_body_util::BodyExt;
        use tokio::io::AsyncWriteExt;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(std::io::Error::other)?;
            if let Ok(data) = frame.into_data() {
                writer.write_all(&data).await?;
            }
        }
        writer.shutdown().await
    });
    let received = state.driver.receive_incoming_file(&id, &file, &mut reader).await;
    drop(reader);
    let pumped = pump.await.map_err(std::io::Error::other).and_then(|r| r);
    match (received, pumped) {
        (Ok(()), Ok(())) => StatusCode::NO_CONTENT.into_response(),
        (Err(e), _) => reply(StatusCode::CONFLICT, Reply::Error(e.into())),
        (Ok(()), Err(e)) => bad_request(format!("the transfer was cut short: {e}")),
    }
}

fn reply(status: StatusCode, reply: Reply) -> Response {
    (status, Json(reply)).into_response()
}

fn bad_request(message: impl Into<String>) -> Response {
    reply(StatusCode::BAD_REQUEST, Reply::Error(WireError::BadRequest { message: message.into() }))
}

async fn hypervisor_call(
    State(state): State<AgentState>,
    UrlPath(method): UrlPath<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let arguments = if body.is_empty() {
        serde_json::Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => return bad_request(format!("the body is not JSON: {e}")),
        }
    };
    let call = match Call::from_parts(&method, arguments) {
        Ok(call) => call,
        Err(message) => return bad_request(message),
    };
    let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or("\u{0}"));
    let fence = match header(FENCE_HEADER) {
        None => None,
        Some(v) => match Fence::parse(v) {
            Some(f) => Some(f),
            None => return bad_request(format!("{FENCE_HEADER} must be SEQ:TOKEN")),
        },
    };
    if let Some(v) = header(DEADLINE_HEADER) {
        let Ok(deadline) = v.parse::<u128>() else { return bad_request(format!("{DEADLINE_HEADER} must be a number")) };
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default();
        if now > deadline {
            // The caller has given up and may have moved on: acting now
            // could act twice.
            tracing::warn!(%method, late_ms = now - deadline, "refusing a call that arrived after its deadline");
            let e = HypervisorError::HostDown(state.driver.host().to_string());
            return reply(StatusCode::CONFLICT, Reply::Error(e.into()));
        }
    }
    let _held = match (fence, call.guest()) {
        // Stopping or hurrying a live move must not wait for the move
        // (which holds the guest's lock) to end.
        (Some(fence), Some(guest)) if matches!(call, Call::CancelSend { .. } | Call::ForceCompleteSend { .. }) => {
            if let Err(e) = state.fences.check(guest, fence) {
                return reply(StatusCode::CONFLICT, Reply::Error(e.into()));
            }
            None
        }
        (Some(fence), Some(guest)) => {
            let held = state.guest_lock(guest).lock_owned().await;
            if let Err(e) = state.fences.admit(guest, fence) {
                tracing::warn!(%method, guest, %fence, error = %e, "refusing a fenced-off call");
                return reply(StatusCode::CONFLICT, Reply::Error(e.into()));
            }
            Some(held)
        }
        _ => None,
    };
    match execute(&state, call).await {
        Ok(value) => reply(StatusCode::OK, Reply::Ok(value)),
        Err(e) => reply(StatusCode::CONFLICT, Reply::Error(e.into())),
    }
}

fn to_json<T: serde::Serialize>(value: T) -> Result<serde_json::Value, HypervisorError> {
    Ok(serde_json::to_value(value).unwrap_or_default())
}

/// Runs `call` on the local driver.
async fn execute(state: &AgentState, call: Call) -> Result<serde_json::Value, HypervisorError> {
    let d = state.driver.as_ref();
    match call {
        Call::Spawn { spec } => to_json(d.spawn(&spec).await?),
        Call::Destroy { id } => to_json(d.destroy(&id).await?),
        Call::Info { id } => to_json(d.info(&id).await?),
        Call::List => to_json(d.list().await?),
        Call::PowerOn { id } => to_json(d.power_on(&id).await?),
        Call::PowerOff { id, graceful } => to_json(d.power_off(&id, graceful).await?),
        Call::Reboot { id, kind } => to_json(d.reboot(&id, kind).await?),
        Call::Pause { id } => to_json(d.pause(&id).await?),
        Call::Unpause { id } => to_json(d.unpause(&id).await?),
        Call::Suspend { id } => to_json(d.suspend(&id).await?),
        Call::Resume { id } => to_json(d.resume(&id).await?),
        Call::ConsoleLog { id, tail } => to_json(d.console_log(&id, tail).await?),
        Call::AttachDisk { id, disk } => to_json(d.attach_disk(&id, &disk).await?),
        Call::DetachDisk { id, disk_id } => to_json(d.detach_disk(&id, &disk_id).await?),
        Call::AttachNic { id, nic } => to_json(d.attach_nic(&id, &nic).await?),
        Call::DetachNic { id, port_id } => to_json(d.detach_nic(&id, &port_id).await?),
        Call::Resize { id, vcpus, ram_mb, root_gb } => to_json(d.resize(&id, vcpus, ram_mb, root_gb).await?),
        Call::Snapshot { id, image_id } => to_json(d.snapshot(&id, &image_id).await?),
        Call::DeleteDisk { disk_id } => to_json(d.delete_disk(&disk_id).await?),
        Call::StoredDisks => to_json(d.stored_disks().await?),
        Call::SetAdminPassword { id, password } => to_json(d.set_admin_password(&id, &password).await?),
        Call::SetPublicKeys { id, keys } => to_json(d.set_public_keys(&id, &keys).await?),
        Call::VncConsole { id } => {
            let mut endpoint = d.vnc_console(&id).await?;
            // A console on the agent's loopback is reached at the agent's address.
            let local =
                endpoint.host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified());
            if local {
                endpoint.host = state.advertise_host.clone();
            }
            to_json(endpoint)
        }
        Call::PrepareIncoming { spec, kind } => to_json(d.prepare_incoming(&spec, kind).await?),
        Call::SendGuest { id, to, kind } => to_json(d.send_guest(&id, &to, kind).await?),
        Call::FinishIncoming { spec, kind, power_on } => to_json(d.finish_incoming(&spec, kind, power_on).await?),
        Call::AbortIncoming { id } => to_json(d.abort_incoming(&id).await?),
        Call::CancelSend { id } => to_json(d.cancel_send(&id).await?),
        Call::ForceCompleteSend { id } => to_json(d.force_complete_send(&id).await?),
        Call::Rescue { id, rescue, admin_pass } => to_json(d.rescue(&id, &rescue, admin_pass.as_deref()).await?),
        Call::Unrescue { id } => to_json(d.unrescue(&id).await?),
        Call::InjectNmi { id } => to_json(d.inject_nmi(&id).await?),
    }
}

/// What the agent reports of its host besides its driver.
#[derive(Debug, Clone)]
pub struct HostReport {
    pub availability_zone: String,
    pub vcpus: i64,
    pub ram_mb: i64,
    pub disk_gb: i64,
    pub cpu_ratio: f64,
    pub ram_ratio: f64,
    pub disk_ratio: f64,
}

/// `ecsd agent`'s settings.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub host: String,
    /// The API nodes' internal listeners, tried in turn.
    pub control_plane: Vec<String>,
    pub listen: SocketAddr,
    /// Where the API nodes reach this agent (default: from `listen`).
    pub advertise: Option<String>,
    pub data_dir: PathBuf,
    pub heartbeat_interval: Duration,
    pub secret: Secret,
    pub report: HostReport,
    /// A live move's stream cap in bytes per second (QEMU hosts).
    pub migration_bandwidth: Option<u64>,
}

/// A running agent.
pub struct RunningAgent {
    pub addr: SocketAddr,
    pub url: String,
    stop: watch::Sender<bool>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
    beating: tokio::task::JoinHandle<()>,
}

impl RunningAgent {
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        self.beating.abort();
        self.served.await??;
        Ok(())
    }

    /// Waits until the agent stops by itself (or forever).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.served.await??;
        Ok(())
    }
}

/// Binds the agent's listener: done first, as a QEMU driver must know the
/// URL it serves (its transfer endpoint).
pub async fn bind(config: &AgentConfig) -> anyhow::Result<(TcpListener, String)> {
    let listener = TcpListener::bind(config.listen).await.with_context(|| format!("binding {}", config.listen))?;
    let url = config
        .advertise
        .clone()
        .unwrap_or_else(|| super::reachable_url(listener.local_addr().unwrap_or(config.listen)));
    Ok((listener, url.trim_end_matches('/').to_string()))
}

/// Starts serving `driver`'s host on `listener` (see [`bind`]) and beating
/// to the control plane.
pub async fn start(
    config: AgentConfig,
    driver: Arc<dyn Hypervisor>,
    (listener, url): (TcpListener, String),
) -> anyhow::Result<RunningAgent> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let fences = FenceBook::open(config.data_dir.join("fences.json"))?;
    let addr = listener.local_addr()?;
    let advertise_host = super::url_host(&url).unwrap_or("127.0.0.1").to_string();
    let state = AgentState::new(driver.clone(), fences, advertise_host);
    let router = super::authenticated(router(state), config.secret.clone());
    let (stop, stopped) = watch::channel(false);
    let served = tokio::spawn(super::serve(listener, router, stopped));
    let report = AgentReport {
        agent_url: url.clone(),
        driver: driver.kind().to_string(),
        availability_zone: config.report.availability_zone.clone(),
        vcpus: config.report.vcpus,
        ram_mb: config.report.ram_mb,
        disk_gb: config.report.disk_gb,
        cpu_ratio: config.report.cpu_ratio,
        ram_ratio: config.report.ram_ratio,
        disk_ratio: config.report.disk_ratio,
        fresh: true,
    };
    let beating = tokio::spawn(heartbeat(config, report));
    Ok(RunningAgent { addr, url, stop, served, beating })
}

/// Reports the host to the control plane every interval, trying the API
/// nodes in turn. A beat after a silence (no beat got through for three
/// intervals — the control plane unreachable, or this process stopped) is
/// `fresh`, so that the host is reconciled: its guests may be stale.
async fn heartbeat(config: AgentConfig, mut report: AgentReport) {
    let client = match super::client(config.heartbeat_interval.max(Duration::from_secs(1)) * 3) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot make the heartbeat's HTTP client");
            return;
        }
    };
    let timeout = config.heartbeat_interval.clamp(Duration::from_secs(1), Duration::from_secs(10));
    let silence = config.heartbeat_interval * 3;
    let mut last_ok: Option<Instant> = None;
    let mut next = 0usize;
    let mut tick = tokio::time::interval(config.heartbeat_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        report.fresh = last_ok.is_none_or(|at| at.elapsed() > silence);
        for attempt in 0..config.control_plane.len() {
            let base = &config.control_plane[(next + attempt) % config.control_plane.len()];
            let url = format!("{}/internal/v1/hosts/{}/heartbeat", base.trim_end_matches('/'), config.host);
            let sent = client
                .post(&url)
                .timeout(timeout)
                .header(reqwest::header::AUTHORIZATION, config.secret.bearer())
                .json(&report)
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => {
                    if let Ok(ack) = r.json::<AgentAck>().await
                        && ack.registered
                    {
                        tracing::info!(host = %config.host, control_plane = %base, fresh = report.fresh, "host registered");
                    }
                    last_ok = Some(Instant::now());
                    next = (next + attempt) % config.control_plane.len();
                    break;
                }
                Ok(r) => {
                    let status = r.status();
                    let body = r.text().await.unwrap_or_default();
                    tracing::warn!(control_plane = %base, %status, %body, "heartbeat refused");
                }
                Err(e) => tracing::warn!(control_plane = %base, error = %e, "heartbeat failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fence_book_refuses_older_fences_and_remembers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fences.json");
        let book = FenceBook::open(path.clone()).unwrap();
        let f = |seq, token| Fence { seq, token };
        book.admit("g1", f(5, 2)).unwrap();
        book.admit("g1", f(5, 2)).unwrap();
        assert!(matches!(book.admit("g1", f(5, 1)), Err(HypervisorError::Fenced { .. })));
        assert!(matches!(book.admit("g1", f(4, 9)), Err(HypervisorError::Fenced { .. })));
        book.admit("g2", f(1, 1)).unwrap();
        book.admit("g1", f(6, 1)).unwrap();
        let reopened = FenceBook::open(path).unwrap();
        assert_eq!(reopened.newest("g1"), Some(f(6, 1)));
        assert_eq!(reopened.newest("g2"), Some(f(1, 1)));
        assert!(reopened.admit("g1", f(5, 9)).is_err());
    }
}
