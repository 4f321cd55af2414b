//! Moving a guest between two hosts' drivers.
//!
//! Live: the destination starts QEMU waiting for the guest (`-incoming
//! defer`) with, for a block move, fresh disks that it exports over NBD;
//! the source mirrors its disks into those exports, then sends its memory
//! with QEMU's `migrate`, pausing before the switch-over to finish the
//! mirrors and hand over its console log, and quits once the guest runs
//! on the destination. Cold: the guest is shut down; its root disk and
//! console log are copied. Either way a source reaches the destination's
//! files through `files=` of the incoming URI: a directory on this
//! machine (or shared storage), or the destination agent's transfer URL.
//!
//! The incoming URI, this driver's own: `;`-separated parts
//! `tcp:ADDR:PORT` (QEMU's migration stream), `nbd=PORT` and
//! `exports=NODE,…` (the disks to mirror), `files=file:DIR` or
//! `files=http://…/ID`.
//!
//! While a guest is incoming its directory holds `incoming.json` and no
//! `guest.json`, so `list` does not show it until `finish_incoming`.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use super::{
    CONSOLE_KEEP_MAX, EXIT_TIMEOUT, GuestRecord, QemuHypervisor, disk_device, disk_format, grow, path_str, run,
};
use crate::{GuestInfo, GuestSpec, HypervisorError, IncomingGuest, MoveKind, Op, PowerState, Result};

/// The files a source sends a destination.
pub const ROOT_FILE: &str = "root.qcow2";
pub const CONSOLE_FILE: &str = "console.log";
const INCOMING: &str = "incoming.json";
/// Written on the source once a live move has completed (its URI): a
/// repeated `send_guest` succeeds without sending again.
const SENT: &str = "sent";
/// On the source: the volumes a move copied (see `note_moved_volumes`).
pub(super) const MOVED_VOLUMES: &str = "moved-volumes";
/// How long a live move may run before it is given up (about Nova's
/// `live_migration_completion_timeout` for a small guest).
const MOVE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// QEMU's largest `downtime-limit` (ms): a forced move switches over at once.
const MAX_DOWNTIME_MS: u64 = 2_000_000;
/// QEMU's own default `downtime-limit`, set again in case a forced move left it raised.
const DOWNTIME_MS: u64 = 300;
const POLL: Duration = Duration::from_millis(50);
/// No cap on a live move's stream (libvirt's, and so Nova's, default;
/// QEMU's own is 128 MiB/s).
const UNLIMITED_BANDWIDTH: u64 = 1 << 40;

/// What the last move of a guest took, as its source measured it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveStats {
    /// From the start of `send_guest` to the guest running on the destination.
    pub total_ms: u64,
    /// Copying disks (a block move's mirrors, a cold move's root disk).
    pub disk_ms: u64,
    /// The guest stopped (QEMU's own measure, from stop to the switch-over).
    pub downtime_ms: u64,
    /// Memory sent.
    pub transferred_bytes: u64,
}

/// Flags another call sets on a live move in flight.
#[derive(Default)]
pub(super) struct SendControl {
    cancel: AtomicBool,
    force: AtomicBool,
    paused: AtomicBool,
}

/// A live move in flight in this process, for as long as it lives.
struct Sending<'a> {
    driver: &'a QemuHypervisor,
    id: &'a str,
}

impl Drop for Sending<'_> {
    fn drop(&mut self) {
        self.driver.sending.lock().expect("sending").remove(self.id);
    }
}

/// What `incoming.json` keeps of a guest being received.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct IncomingRecord {
    record: GuestRecord,
    kind: MoveKind,
    uri: String,
    /// Volumes made here for a block move (removed if it is aborted).
    #[serde(default)]
    made_volumes: Vec<String>,
}

/// The parts of an incoming URI.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct MoveUri {
    migrate: Option<String>,
    nbd_port: Option<u16>,
    exports: Vec<String>,
    /// A cold move's volumes the destination does not have (no shared storage).
    volumes: Vec<String>,
    files: Option<String>,
}

impl MoveUri {
    fn render(&self) -> String {
        let mut parts = Vec::new();
        parts.extend(self.migrate.clone());
        parts.extend(self.nbd_port.map(|p| format!("nbd={p}")));
        if !self.exports.is_empty() {
            parts.push(format!("exports={}", self.exports.join(",")));
        }
        if !self.volumes.is_empty() {
            parts.push(format!("volumes={}", self.volumes.join(",")));
        }
        parts.extend(self.files.as_ref().map(|f| format!("files={f}")));
        parts.join(";")
    }

    fn parse(uri: &str) -> std::result::Result<MoveUri, String> {
        let mut parsed = MoveUri::default();
        for part in uri.split(';').filter(|p| !p.is_empty()) {
            if part.starts_with("tcp:") {
                parsed.migrate = Some(part.to_string());
                continue;
            }
            match part.split_once('=') {
                Some(("nbd", port)) => {
                    parsed.nbd_port = Some(port.parse().map_err(|_| format!("bad NBD port in {uri:?}"))?);
                }
                Some(("exports", nodes)) => parsed.exports = nodes.split(',').map(String::from).collect(),
                Some(("volumes", ids)) => parsed.volumes = ids.split(',').map(String::from).collect(),
                Some(("files", location)) => parsed.files = Some(location.to_string()),
                _ => return Err(format!("unknown part {part:?} of the incoming URI {uri:?}")),
            }
        }
        Ok(parsed)
    }

    /// The destination's address, from the migration stream's `tcp:ADDR:PORT`.
    fn host(&self) -> Option<&str> {
        let (host, _port) = self.migrate.as_deref()?.strip_prefix("tcp:")?.rsplit_once(':')?;
        Some(host.trim_start_matches('[').trim_end_matches(']'))
    }
}

/// An address as it goes before `:PORT`.
fn bracketed(address: &str) -> String {
    if address.contains(':') { format!("[{address}]") } else { address.to_string() }
}

/// A port free on `address` now (QEMU's NBD server does not say which it took).
fn free_port(address: &str) -> std::result::Result<u16, String> {
    let listener = std::net::TcpListener::bind((address, 0)).map_err(|e| format!("{address}: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// The QEMU node a disk of the guest has: the boot volume is `root`.
fn node_of(record: &GuestRecord, disk_id: &str) -> String {
    match record.boot_volume() {
        Some(boot) if boot.id == disk_id => "root".to_string(),
        _ => disk_device(disk_id),
    }
}

impl QemuHypervisor {
    fn read_incoming(&self, id: &str) -> Result<Option<IncomingRecord>> {
        match std::fs::read(self.dir(id).join(INCOMING)) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| self.failed(Op::Migrate, format!("guest {id}: unreadable {INCOMING}: {e}"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.failed(Op::Migrate, e)),
        }
    }

    fn save_incoming(&self, incoming: &IncomingRecord) -> Result<()> {
        let dir = self.dir(&incoming.record.spec.id);
        let partial = dir.join("incoming.json.partial");
        let bytes = serde_json::to_vec_pretty(incoming).expect("a record serialises");
        std::fs::write(&partial, bytes)
            .and_then(|()| std::fs::rename(&partial, dir.join(INCOMING)))
            .map_err(|e| self.failed(Op::Migrate, e))
    }

    /// What the last move of `id` took, if this driver sent it.
    pub fn move_stats(&self, id: &str) -> Option<MoveStats> {
        self.stats.lock().expect("stats").get(id).copied()
    }

    /// A guest being sent live reads as it was when the move began: its
    /// lock is held for the whole move, and `list` must not wait for it.
    pub(super) fn sending_state(&self, id: &str) -> Option<PowerState> {
        let sending = self.sending.lock().expect("sending");
        let control = sending.get(id)?;
        Some(if control.paused.load(Ordering::Relaxed) { PowerState::Paused } else { PowerState::Running })
    }

    pub(super) async fn prepare_incoming_guest(&self, spec: &GuestSpec, kind: MoveKind) -> Result<IncomingGuest> {
        let op = Op::Migrate;
        let id = &spec.id;
        let _guard = self.lock(id).await;
        let dir = self.dir(id);
        if dir.join("guest.json").exists() && self.read_incoming(id)?.is_none() {
            return Err(self.failed(op, format!("guest {id} is already on host {}", self.config.host)));
        }
        if let Some(incoming) = self.read_incoming(id)? {
            // A repeated step: the same wait stands while its QEMU does.
            if incoming.kind == kind && (kind == MoveKind::Cold || self.live(id)) {
                return Ok(IncomingGuest { host: self.config.host.clone(), uri: incoming.uri });
            }
            self.drop_incoming(id, &incoming).await?;
        }
        std::fs::create_dir_all(&dir).map_err(|e| self.failed(op, e))?;
        let mut made_volumes = Vec::new();
        let made = self.make_incoming(spec, kind, &mut made_volumes).await;
        match made {
            Ok(uri) => Ok(IncomingGuest { host: self.config.host.clone(), uri }),
            Err(e) => {
                let record = GuestRecord::new(spec);
                let incoming = IncomingRecord { record, kind, uri: String::new(), made_volumes };
                let _ = self.drop_incoming(id, &incoming).await;
                Err(e)
            }
        }
    }

    async fn make_incoming(&self, spec: &GuestSpec, kind: MoveKind, made_volumes: &mut Vec<String>) -> Result<String> {
        let op = Op::Migrate;
        let id = &spec.id;
        let dir = self.dir(id);
        let record = GuestRecord::new(spec);
        let files = match &self.config.transfer_url {
            Some(url) => format!("{}/{id}", url.trim_end_matches('/')),
            None => format!("file:{}", path_str(&dir).map_err(|e| self.failed(op, e))?),
        };
        let mut uri = MoveUri { files: Some(files), ..MoveUri::default() };
        if kind == MoveKind::Cold {
            // Volumes this host lacks come with the root disk, as files.
            uri.volumes =
                spec.disks.iter().filter(|d| !self.volume_path(&d.id).exists()).map(|d| d.id.clone()).collect();
            made_volumes.extend(uri.volumes.iter().cloned());
        }
        if let MoveKind::Live { block } = kind {
            uri.exports = self.incoming_disks(&record, block, made_volumes).await?;
            self.write_config_drive(&record, spec.admin_pass.as_deref()).await.map_err(|e| self.failed(op, e))?;
            // Written before QEMU starts, so that a crash leaves a guest abort_incoming finds.
            self.save_incoming(&IncomingRecord {
                record: record.clone(),
                kind,
                uri: String::new(),
                made_volumes: made_volumes.clone(),
            })?;
            self.start_qemu(&record, Some("defer"), op).await?;
            let mut qmp = self.qmp(id, op).await?;
            let address = &self.config.migration_address;
            let fail = |e: super::QmpError| self.failed(op, e);
            if !uri.exports.is_empty() {
                let port = free_port(address).map_err(|e| self.failed(op, e))?;
                let addr = json!({"type": "inet", "data": {"host": address, "port": port.to_string()}});
                qmp.execute("nbd-server-start", json!({"addr": addr})).await.map_err(fail)?;
                for node in &uri.exports {
                    let export = json!({"type": "nbd", "id": node, "node-name": node, "writable": true});
                    qmp.execute("block-export-add", export).await.map_err(fail)?;
                }
                uri.nbd_port = Some(port);
            }
            // Port 0: QEMU picks a free one and tells it.
            let listen = format!("tcp:{}:0", bracketed(address));
            qmp.execute("migrate-incoming", json!({"uri": listen})).await.map_err(fail)?;
            let info = qmp.execute("query-migrate", json!({})).await.map_err(fail)?;
            let port = info
                .pointer("/socket-address/0/port")
                .and_then(|p| p.as_str().map(String::from).or_else(|| p.as_u64().map(|p| p.to_string())))
                .ok_or_else(|| self.failed(op, format!("QEMU did not say where it listens: {info}")))?;
            uri.migrate = Some(format!("tcp:{}:{port}", bracketed(address)));
        }
        let rendered = uri.render();
        self.save_incoming(&IncomingRecord {
            record,
            kind,
            uri: rendered.clone(),
            made_volumes: made_volumes.clone(),
        })?;
        Ok(rendered)
    }

    /// The disks a live move's destination opens: on shared storage, the
    /// source's own files; otherwise (a block move) fresh ones the source
    /// mirrors into. Returns the nodes to mirror.
    async fn incoming_disks(
        &self,
        record: &GuestRecord,
        block: bool,
        made_volumes: &mut Vec<String>,
    ) -> Result<Vec<String>> {
        let op = Op::Migrate;
        let img = &self.config.qemu_img;
        let shared = "is not on storage this host shares; a block migration copies it";
        let mut exports = Vec::new();
        if record.boot_volume().is_none() {
            let root = self.root_path(record);
            if !block {
                return Err(self.failed(op, format!("the root disk of guest {} {shared}", record.spec.id)));
            }
            // The source's root disk is its image grown to the flavor's size.
            let mut bytes = record.spec.root_gb << 30;
            if let Some(image) = record.spec.boot.disk.as_deref().filter(|i| i.exists()) {
                bytes = bytes.max(virtual_size(img, image).await.unwrap_or(0));
            }
            let root_str = path_str(&root).map_err(|e| self.failed(op, e))?;
            run(img, &["create", "-q", "-f", "qcow2", root_str, &bytes.max(1 << 30).to_string()])
                .await
                .map_err(|e| self.failed(op, e))?;
            exports.push("root".to_string());
        }
        for disk in &record.spec.disks {
            let path = self.volume_path(&disk.id);
            if path.exists() {
                continue;
            }
            if !block {
                return Err(self.failed(op, format!("volume {} {shared}", disk.id)));
            }
            let path_s = path_str(&path).map_err(|e| self.failed(op, e))?;
            run(img, &["create", "-q", "-f", "qcow2", path_s, &format!("{}G", disk.size_gb.max(1))])
                .await
                .map_err(|e| self.failed(op, e))?;
            made_volumes.push(disk.id.clone());
            exports.push(node_of(record, &disk.id));
        }
        Ok(exports)
    }

    /// Removes an unfinished incoming guest: its QEMU, its directory and
    /// the volumes made for it.
    async fn drop_incoming(&self, id: &str, incoming: &IncomingRecord) -> Result<()> {
        self.kill(id, Op::Migrate).await?;
        for volume in &incoming.made_volumes {
            let _ = std::fs::remove_file(self.volume_path(volume));
        }
        for nic in &incoming.record.spec.nics {
            self.unplug_tap(nic).await;
        }
        match std::fs::remove_dir_all(self.dir(id)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.failed(Op::Migrate, e)),
        }
    }

    // TODO(agent): an incoming guest whose move the control plane no
    // longer runs (its task gone) stays as a directory with incoming.json
    // until abort_incoming is called for it; the reconciler should do that.
    pub(super) async fn abort_incoming_guest(&self, id: &str) -> Result<()> {
        let _guard = self.lock(id).await;
        match self.read_incoming(id)? {
            Some(incoming) => self.drop_incoming(id, &incoming).await,
            // Nothing prepared, or a guest that has arrived: not ours to drop.
            None => Ok(()),
        }
    }

    pub(super) async fn finish_incoming_guest(
        &self,
        spec: &GuestSpec,
        kind: MoveKind,
        power_on: bool,
    ) -> Result<GuestInfo> {
        let op = Op::Migrate;
        let id = &spec.id;
        let _guard = self.lock(id).await;
        let Some(incoming) = self.read_incoming(id)? else {
            // Finished already: a repeated step.
            let record = self.record(id)?;
            if power_on && kind == MoveKind::Cold && !self.live(id) {
                self.launch(&record, op).await?;
            }
            return Ok(record.info(self.power_state(&record).await));
        };
        if incoming.kind != kind {
            return Err(
                self.failed(op, format!("guest {id} was prepared for a {:?} move, not {kind:?}", incoming.kind))
            );
        }
        let record = match kind {
            MoveKind::Live { .. } => {
                let mut qmp = self.qmp(id, op).await?;
                let deadline = tokio::time::Instant::now() + EXIT_TIMEOUT;
                while qmp.status().await.map_err(|e| self.failed(op, e))? == "inmigrate" {
                    if tokio::time::Instant::now() > deadline {
                        return Err(self.failed(op, format!("guest {id} has not arrived")));
                    }
                    tokio::time::sleep(POLL).await;
                }
                // The source is done with the exports.
                let _ = qmp.execute("nbd-server-stop", json!({})).await;
                // Its devices are the ones QEMU was started with.
                incoming.record
            }
            MoveKind::Cold => {
                // The flavor may be new (a resize to another host).
                let record = GuestRecord::new(spec);
                if record.boot_volume().is_none() {
                    let root = self.root_path(&record);
                    if !root.exists() {
                        return Err(self.failed(op, format!("the root disk of guest {id} was not received")));
                    }
                    let root = path_str(&root).map_err(|e| self.failed(op, e))?;
                    grow(&self.config.qemu_img, root, spec.root_gb).await.map_err(|e| self.failed(op, e))?;
                }
                // TODO(moves): a reverted cold move leaves these received
                // volumes here; delete_disk them on this host with the revert.
                for volume in &incoming.made_volumes {
                    let received = self.dir(id).join(volume_file(volume));
                    if received.exists() {
                        move_file(&received, &self.volume_path(volume)).map_err(|e| self.failed(op, e))?;
                    }
                }
                if let Some(disk) = record.spec.disks.iter().find(|d| !self.volume_path(&d.id).exists()) {
                    return Err(self.failed(op, format!("volume {} was not received", disk.id)));
                }
                self.write_config_drive(&record, spec.admin_pass.as_deref()).await.map_err(|e| self.failed(op, e))?;
                record
            }
        };
        self.save(&record, op)?;
        let _ = std::fs::remove_file(self.dir(id).join(INCOMING));
        if power_on && kind == MoveKind::Cold {
            self.launch(&record, op).await?;
        }
        Ok(record.info(self.power_state(&record).await))
    }

    /// Destination: one file of an incoming guest, from the agent's
    /// transfer endpoint. `root.qcow2` is the root disk and
    /// `volume-{id}.qcow2` a volume this host lacks (each written aside,
    /// then put in place); `console.log` the serial log so far, which the
    /// guest's output here then follows.
    pub(super) async fn receive_file(
        &self,
        id: &str,
        name: &str,
        body: &mut (dyn AsyncRead + Unpin + Send),
    ) -> Result<()> {
        let op = Op::Migrate;
        let Some(incoming) = self.read_incoming(id)? else {
            return Err(HypervisorError::NotFound(id.to_string()));
        };
        let dir = self.dir(id);
        let expected_volume = incoming.made_volumes.iter().any(|v| volume_file(v) == name);
        match name {
            _ if name == ROOT_FILE || expected_volume => {
                let partial = dir.join(format!("{name}.partial"));
                let mut file = tokio::fs::File::create(&partial).await.map_err(|e| self.failed(op, e))?;
                tokio::io::copy(body, &mut file).await.map_err(|e| self.failed(op, e))?;
                file.sync_all().await.map_err(|e| self.failed(op, e))?;
                std::fs::rename(&partial, dir.join(name)).map_err(|e| self.failed(op, e))
            }
            CONSOLE_FILE => {
                let mut bytes = Vec::new();
                body.take(CONSOLE_KEEP_MAX).read_to_end(&mut bytes).await.map_err(|e| self.failed(op, e))?;
                write_console(&dir.join(CONSOLE_FILE), &bytes).map_err(|e| self.failed(op, e))
            }
            other => Err(self.failed(op, format!("no file {other:?} is received for a guest"))),
        }
    }

    pub(super) async fn send(&self, id: &str, to: &IncomingGuest, kind: MoveKind) -> Result<()> {
        let op = Op::Migrate;
        let _guard = self.lock(id).await;
        let record = self.record(id)?;
        let uri = MoveUri::parse(&to.uri).map_err(|e| self.failed(op, e))?;
        if to.host == self.config.host {
            return Err(self.failed(op, format!("guest {id} cannot move to its own host {}", to.host)));
        }
        let state = self.power_state(&record).await;
        match kind {
            MoveKind::Cold => {
                if state != PowerState::Shutdown {
                    return Err(self.invalid(id, state, op));
                }
                let started = Instant::now();
                let files = uri.files.as_deref().ok_or_else(|| self.failed(op, "the incoming URI has no files="))?;
                if record.boot_volume().is_none() {
                    let root = self.root_path(&record);
                    self.send_disk(id, &root, files, ROOT_FILE).await.map_err(|e| self.failed(op, e))?;
                }
                for volume in &uri.volumes {
                    if !record.spec.disks.iter().any(|d| &d.id == volume) {
                        return Err(self.failed(op, format!("guest {id} has no volume {volume}")));
                    }
                    let path = self.volume_path(volume);
                    let name = volume_file(volume);
                    self.send_disk(id, &path, files, &name).await.map_err(|e| self.failed(op, e))?;
                }
                let disk_ms = started.elapsed().as_millis() as u64;
                self.send_console(id, files).await.map_err(|e| self.failed(op, e))?;
                let stats =
                    MoveStats { total_ms: started.elapsed().as_millis() as u64, disk_ms, ..MoveStats::default() };
                self.stats.lock().expect("stats").insert(id.to_string(), stats);
                self.note_moved_volumes(id, &uri.volumes)
            }
            MoveKind::Live { .. } => {
                let sent = self.dir(id).join(SENT);
                if std::fs::read_to_string(&sent).is_ok_and(|u| u == to.uri) {
                    return Ok(());
                }
                if !matches!(state, PowerState::Running | PowerState::Paused) || !self.live(id) {
                    return Err(self.invalid(id, state, op));
                }
                let control = Arc::new(SendControl::default());
                control.paused.store(state == PowerState::Paused, Ordering::Relaxed);
                self.sending.lock().expect("sending").insert(id.to_string(), control.clone());
                // Removed however the send ends, a caller dropping it included.
                let _sending = Sending { driver: self, id };
                let stats = self.send_live(&record, &uri, &control).await?;
                self.stats.lock().expect("stats").insert(id.to_string(), stats);
                std::fs::write(&sent, &to.uri).map_err(|e| self.failed(op, e))?;
                let copied: Vec<String> = record
                    .spec
                    .disks
                    .iter()
                    .filter(|d| uri.exports.contains(&node_of(&record, &d.id)))
                    .map(|d| d.id.clone())
                    .collect();
                self.note_moved_volumes(id, &copied)?;
                // The guest runs on the destination; the copy here stops.
                self.kill(id, op).await
            }
        }
    }

    async fn send_live(&self, record: &GuestRecord, uri: &MoveUri, control: &SendControl) -> Result<MoveStats> {
        let op = Op::Migrate;
        let id = &record.spec.id;
        let mut qmp = self.qmp(id, op).await?;
        let fail = |e: super::QmpError| self.failed(op, e);
        // What a send this process did not finish (it restarted) left behind.
        let info = qmp.execute("query-migrate", json!({})).await.map_err(fail)?;
        match info.get("status").and_then(Value::as_str).unwrap_or_default() {
            // The guest went: its state lives on elsewhere, so this copy must not run again.
            "completed" => {
                let number = |p: &str| info.pointer(p).and_then(Value::as_u64).unwrap_or(0);
                let (total_ms, downtime_ms) = (number("/total-time"), number("/downtime"));
                let transferred_bytes = number("/ram/transferred");
                return Ok(MoveStats { total_ms, disk_ms: 0, downtime_ms, transferred_bytes });
            }
            "setup" | "active" | "pre-switchover" | "device" => {
                let exports = self.our_mirrors(&mut qmp).await;
                self.undo_send(&mut qmp, &exports).await;
            }
            _ => {}
        }
        let caps = json!({"capabilities": [{"capability": "pause-before-switchover", "state": true}]});
        qmp.execute("migrate-set-capabilities", caps).await.map_err(fail)?;
        // Set every time: QEMU keeps what an earlier move (of another agent run) set.
        let bandwidth = self.config.migration_bandwidth.unwrap_or(UNLIMITED_BANDWIDTH);
        let params = json!({"downtime-limit": DOWNTIME_MS, "max-bandwidth": bandwidth});
        qmp.execute("migrate-set-parameters", params).await.map_err(fail)?;
        let result = self.live_steps(&mut qmp, record, uri, control).await;
        if result.is_err() {
            self.undo_send(&mut qmp, &uri.exports).await;
        }
        result
    }

    async fn live_steps(
        &self,
        qmp: &mut super::Qmp,
        record: &GuestRecord,
        uri: &MoveUri,
        control: &SendControl,
    ) -> Result<MoveStats> {
        let op = Op::Migrate;
        let id = &record.spec.id;
        let fail = |e: super::QmpError| self.failed(op, e);
        let cancelled = || self.failed(op, format!("the live migration of guest {id} was cancelled"));
        let started = Instant::now();
        let deadline = started + MOVE_TIMEOUT;
        let migrate = uri.migrate.as_deref().ok_or_else(|| self.failed(op, "the incoming URI has no tcp: part"))?;
        // The destination lays out the devices as a first start does; a
        // device hot-plugged after a detach may sit elsewhere here, and
        // QEMU would refuse the stream after the disks were copied.
        // TODO(qemu): send the slots to the destination before it starts.
        if record.slots != GuestRecord::new(&record.spec).slots {
            return Err(self.failed(
                op,
                format!(
                    "guest {id}'s hot-plugged devices sit on other PCIe ports than a fresh start gives them; \
                     a live move cannot keep them: stop and start it first, or move it cold"
                ),
            ));
        }
        if !uri.exports.is_empty() {
            let host = uri.host().ok_or_else(|| self.failed(op, format!("no address in {migrate}")))?;
            let port = uri.nbd_port.ok_or_else(|| self.failed(op, "the incoming URI has exports but no nbd="))?;
            for node in &uri.exports {
                let server = json!({"type": "inet", "host": host, "port": port.to_string()});
                let target =
                    json!({"driver": "nbd", "node-name": format!("m{node}"), "server": server, "export": node});
                qmp.execute("blockdev-add", target).await.map_err(fail)?;
                let mirror =
                    json!({"job-id": format!("j{node}"), "device": node, "target": format!("m{node}"), "sync": "full"});
                qmp.execute("blockdev-mirror", mirror).await.map_err(fail)?;
            }
            // Mirrors are ready when the disks are copied and kept in step.
            loop {
                if control.cancel.load(Ordering::Relaxed) {
                    return Err(cancelled());
                }
                let jobs = qmp.execute("query-block-jobs", json!({})).await.map_err(fail)?;
                let jobs = jobs.as_array().cloned().unwrap_or_default();
                let mut ready = true;
                for node in &uri.exports {
                    let job =
                        jobs.iter().find(|j| j.get("device").and_then(Value::as_str) == Some(&format!("j{node}")));
                    match job {
                        None => return Err(self.failed(op, format!("copying disk {node} to {host} stopped"))),
                        Some(job) => ready &= job.get("ready").and_then(Value::as_bool).unwrap_or(false),
                    }
                }
                if ready {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(self.failed(op, "copying the disks timed out"));
                }
                tokio::time::sleep(POLL).await;
            }
        }
        let disk_ms = started.elapsed().as_millis() as u64;
        qmp.execute("migrate", json!({"uri": migrate})).await.map_err(fail)?;
        let mut forced = false;
        let mut switched = false;
        loop {
            if control.cancel.load(Ordering::Relaxed) {
                return Err(cancelled());
            }
            if control.force.load(Ordering::Relaxed) && !forced {
                // Nova's force_complete: stop iterating and switch over now.
                qmp.execute("migrate-set-parameters", json!({"downtime-limit": MAX_DOWNTIME_MS}))
                    .await
                    .map_err(fail)?;
                forced = true;
            }
            let info = qmp.execute("query-migrate", json!({})).await.map_err(fail)?;
            match info.get("status").and_then(Value::as_str).unwrap_or_default() {
                "pre-switchover" if !switched => {
                    // The guest is stopped: the mirrors are final, and so is its console log.
                    for node in &uri.exports {
                        let job = format!("j{node}");
                        qmp.execute("block-job-cancel", json!({"device": job})).await.map_err(fail)?;
                    }
                    self.wait_jobs_gone(qmp, &uri.exports).await?;
                    if let Some(files) = &uri.files
                        && let Err(e) = self.send_console(id, files).await
                    {
                        tracing::warn!(guest = %id, error = %e, "the console log did not follow the guest");
                    }
                    qmp.execute("migrate-continue", json!({"state": "pre-switchover"})).await.map_err(fail)?;
                    switched = true;
                }
                "completed" => {
                    for node in &uri.exports {
                        let _ = qmp.execute("blockdev-del", json!({"node-name": format!("m{node}")})).await;
                    }
                    let number = |p: &str| info.pointer(p).and_then(Value::as_u64).unwrap_or(0);
                    return Ok(MoveStats {
                        total_ms: started.elapsed().as_millis() as u64,
                        disk_ms,
                        downtime_ms: number("/downtime"),
                        transferred_bytes: number("/ram/transferred"),
                    });
                }
                "failed" | "cancelled" => {
                    let why = info.get("error-desc").and_then(Value::as_str).unwrap_or("QEMU gave no reason");
                    return Err(self.failed(op, format!("the live migration of guest {id} failed: {why}")));
                }
                _ => {}
            }
            if Instant::now() > deadline {
                return Err(self.failed(op, "the live migration did not complete in time"));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn wait_jobs_gone(&self, qmp: &mut super::Qmp, exports: &[String]) -> Result<()> {
        let deadline = Instant::now() + EXIT_TIMEOUT;
        loop {
            let jobs = qmp.execute("query-block-jobs", json!({})).await.map_err(|e| self.failed(Op::Migrate, e))?;
            let ours = |j: &Value| {
                let device = j.get("device").and_then(Value::as_str).unwrap_or_default();
                exports.iter().any(|node| device == format!("j{node}"))
            };
            if !jobs.as_array().is_some_and(|jobs| jobs.iter().any(ours)) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(self.failed(Op::Migrate, "the disk mirrors did not stop"));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Leaves the source as it was before a live move that failed or was
    /// cancelled: no migration, no mirrors, the guest running.
    async fn undo_send(&self, qmp: &mut super::Qmp, exports: &[String]) {
        let was_running = qmp.status().await.is_ok_and(|s| s != "paused");
        let _ = qmp.execute("migrate_cancel", json!({})).await;
        let deadline = Instant::now() + EXIT_TIMEOUT;
        while Instant::now() < deadline {
            let info = qmp.execute("query-migrate", json!({})).await.unwrap_or_default();
            let status = info.get("status").and_then(Value::as_str).unwrap_or_default();
            if !matches!(status, "setup" | "active" | "pre-switchover" | "device" | "cancelling") {
                break;
            }
            tokio::time::sleep(POLL).await;
        }
        for node in exports {
            let _ = qmp.execute("block-job-cancel", json!({"device": format!("j{node}"), "force": true})).await;
        }
        let _ = self.wait_jobs_gone(qmp, exports).await;
        for node in exports {
            let _ = qmp.execute("blockdev-del", json!({"node-name": format!("m{node}")})).await;
        }
        if was_running && qmp.status().await.is_ok_and(|s| s == "paused") {
            let _ = qmp.execute("cont", json!({})).await;
        }
    }

    pub(super) async fn cancel(&self, id: &str) -> Result<()> {
        let control = self.sending.lock().expect("sending").get(id).cloned();
        if let Some(control) = control {
            control.cancel.store(true, Ordering::Relaxed);
            // The sending call undoes its move and lets go of the guest.
            let deadline = Instant::now() + Duration::from_secs(120);
            while self.sending.lock().expect("sending").get(id).is_some_and(|c| Arc::ptr_eq(c, &control)) {
                if Instant::now() > deadline {
                    return Err(self.failed(Op::Migrate, "the live migration did not stop"));
                }
                tokio::time::sleep(POLL).await;
            }
            return Ok(());
        }
        // No send in this process (it restarted mid-move): QEMU's own may still run.
        let _guard = self.lock(id).await;
        if !self.live(id) {
            return Ok(());
        }
        let mut qmp = self.qmp(id, Op::Migrate).await?;
        let exports = self.our_mirrors(&mut qmp).await;
        self.undo_send(&mut qmp, &exports).await;
        Ok(())
    }

    /// Volumes copied to the destination: their files here go when the
    /// guest is destroyed here (the move confirmed), and stay if it starts
    /// here again (reverted).
    fn note_moved_volumes(&self, id: &str, volumes: &[String]) -> Result<()> {
        if volumes.is_empty() {
            return Ok(());
        }
        let path = self.dir(id).join(MOVED_VOLUMES);
        std::fs::write(path, volumes.join("\n")).map_err(|e| self.failed(Op::Migrate, e))
    }

    /// The disks a send mirrors now (its jobs are `j{node}`).
    async fn our_mirrors(&self, qmp: &mut super::Qmp) -> Vec<String> {
        let jobs = qmp.execute("query-block-jobs", json!({})).await.unwrap_or_default();
        jobs.as_array()
            .into_iter()
            .flatten()
            .filter_map(|j| j.get("device").and_then(Value::as_str)?.strip_prefix('j').map(String::from))
            .collect()
    }

    pub(super) async fn force_complete(&self, id: &str) -> Result<()> {
        let control = self.sending.lock().expect("sending").get(id).cloned();
        if let Some(control) = control {
            control.force.store(true, Ordering::Relaxed);
            return Ok(());
        }
        let _guard = self.lock(id).await;
        if !self.live(id) {
            return Ok(());
        }
        let mut qmp = self.qmp(id, Op::Migrate).await?;
        let info = qmp.execute("query-migrate", json!({})).await.map_err(|e| self.failed(Op::Migrate, e))?;
        if info.get("status").and_then(Value::as_str) == Some("active") {
            let raise = json!({"downtime-limit": MAX_DOWNTIME_MS});
            qmp.execute("migrate-set-parameters", raise).await.map_err(|e| self.failed(Op::Migrate, e))?;
        }
        Ok(())
    }

    /// A cold move's disk as `name`, flattened (the destination may lack its image).
    async fn send_disk(&self, id: &str, disk: &Path, files: &str, name: &str) -> std::result::Result<(), String> {
        let root = path_str(disk)?;
        let img = &self.config.qemu_img;
        let format = disk_format(Path::new(root));
        if let Some(dir) = files.strip_prefix("file:") {
            let partial = Path::new(dir).join(format!("{name}.partial"));
            let partial_str = path_str(&partial)?;
            let copied = run(img, &["convert", "-f", format, "-O", "qcow2", root, partial_str]).await;
            if let Err(e) = copied {
                let _ = std::fs::remove_file(&partial);
                return Err(e);
            }
            return std::fs::rename(&partial, Path::new(dir).join(name)).map_err(|e| e.to_string());
        }
        let outgoing = self.dir(id).join("outgoing.qcow2");
        let outgoing_str = path_str(&outgoing)?;
        let sent = match run(img, &["convert", "-f", format, "-O", "qcow2", root, outgoing_str]).await {
            Ok(_) => http_put(&format!("{files}/{name}"), self.config.transfer_token.as_deref(), &outgoing).await,
            Err(e) => Err(e),
        };
        let _ = std::fs::remove_file(&outgoing);
        sent
    }

    async fn send_console(&self, id: &str, files: &str) -> std::result::Result<(), String> {
        let log = self.dir(id).join(CONSOLE_FILE);
        let bytes = match super::read_tail(&log, CONSOLE_KEEP_MAX) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e.to_string()),
        };
        if let Some(dir) = files.strip_prefix("file:") {
            return write_console(&Path::new(dir).join(CONSOLE_FILE), &bytes).map_err(|e| e.to_string());
        }
        let staged = self.dir(id).join("outgoing.log");
        std::fs::write(&staged, &bytes).map_err(|e| e.to_string())?;
        let sent = http_put(&format!("{files}/{CONSOLE_FILE}"), self.config.transfer_token.as_deref(), &staged).await;
        let _ = std::fs::remove_file(&staged);
        sent
    }
}

/// The name a volume travels under in a cold move.
fn volume_file(volume_id: &str) -> String {
    format!("volume-{volume_id}.qcow2")
}

/// Renames, or copies across file systems.
fn move_file(from: &Path, to: &Path) -> std::io::Result<()> {
    if std::fs::rename(from, to).is_ok() {
        return Ok(());
    }
    let partial = to.with_extension("qcow2.partial");
    std::fs::copy(from, &partial)?;
    std::fs::rename(&partial, to)?;
    std::fs::remove_file(from)
}

/// Replaces a console log's contents in place: a waiting QEMU holds it
/// open for appending, and appends what the guest prints after them.
fn write_console(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().create(true).write(true).truncate(true).open(path)?;
    file.write_all(bytes)
}

async fn virtual_size(qemu_img: &Path, path: &Path) -> Option<u64> {
    let info = run(qemu_img, &["info", "-U", "--output=json", path.to_str()?]).await.ok()?;
    serde_json::from_str::<Value>(&info).ok()?.get("virtual-size")?.as_u64()
}

/// Sends a file with an HTTP/1.1 PUT (plain HTTP: the transfer endpoint
/// of a destination's agent), with the cluster's Bearer token.
pub(crate) async fn http_put(url: &str, token: Option<&str>, file: &Path) -> std::result::Result<(), String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| format!("{url}: only http:// transfer URLs are supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let address = if authority.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let mut body = tokio::fs::File::open(file).await.map_err(|e| format!("{}: {e}", file.display()))?;
    let length = body.metadata().await.map_err(|e| e.to_string())?.len();
    let mut stream = tokio::net::TcpStream::connect(&address).await.map_err(|e| format!("{url}: {e}"))?;
    let mut head = format!(
        "PUT {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {length}\r\nConnection: close\r\n"
    );
    if let Some(token) = token {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    head.push_str("\r\n");
    let io = |e: std::io::Error| format!("{url}: {e}");
    stream.write_all(head.as_bytes()).await.map_err(io)?;
    tokio::io::copy(&mut body, &mut stream).await.map_err(io)?;
    stream.flush().await.map_err(io)?;
    let mut response = Vec::new();
    let mut limited = (&mut stream).take(64 * 1024);
    let read = limited.read_to_end(&mut response);
    tokio::time::timeout(Duration::from_secs(300), read).await.map_err(|_| format!("{url}: no answer"))?.map_err(io)?;
    let response = String::from_utf8_lossy(&response);
    let status = response.split_whitespace().nth(1).and_then(|s| s.parse::<u16>().ok()).unwrap_or(0);
    if (200..300).contains(&status) {
        Ok(())
    } else {
        let body = response.split_once("\r\n\r\n").map(|(_, b)| b.trim()).unwrap_or_default();
        Err(format!("{url}: HTTP {status} {body}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incoming_uris_round_trip() {
        let uri = MoveUri {
            migrate: Some("tcp:10.0.0.2:4444".into()),
            nbd_port: Some(10809),
            exports: vec!["root".into(), "diskabc".into()],
            volumes: vec!["v1".into()],
            files: Some("http://10.0.0.2:8775/v1/transfers/g1".into()),
        };
        let text = uri.render();
        assert_eq!(
            text,
            "tcp:10.0.0.2:4444;nbd=10809;exports=root,diskabc;volumes=v1;files=http://10.0.0.2:8775/v1/transfers/g1"
        );
        assert_eq!(MoveUri::parse(&text).unwrap(), uri);
        assert_eq!(uri.host(), Some("10.0.0.2"));
        let v6 = MoveUri::parse("tcp:[::1]:5;files=file:/var/lib/ecsd/qemu/g1").unwrap();
        assert_eq!(v6.host(), Some("::1"));
        assert_eq!(v6.files.as_deref(), Some("file:/var/lib/ecsd/qemu/g1"));
        assert!(MoveUri::parse("tcp:a:1;nbd=x").is_err());
        assert!(MoveUri::parse("bogus").is_err());
    }

    #[tokio::test]
    async fn http_put_sends_the_file_with_the_token() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let mut seen = Vec::new();
            for answer in ["HTTP/1.1 204 No Content\r\n\r\n", "HTTP/1.1 403 Forbidden\r\n\r\nbad token"] {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut request = vec![0u8; 4096];
                let mut len = 0;
                while !String::from_utf8_lossy(&request[..len]).ends_with("hello") {
                    len += socket.read(&mut request[len..]).await.unwrap();
                }
                seen.push(String::from_utf8_lossy(&request[..len]).into_owned());
                socket.write_all(answer.as_bytes()).await.unwrap();
            }
            seen
        });
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "hello").unwrap();
        let url = format!("http://127.0.0.1:{port}/v1/transfers/g1/root.qcow2");
        http_put(&url, Some("s3cret"), &file).await.unwrap();
        let err = http_put(&url, None, &file).await.unwrap_err();
        assert!(err.contains("HTTP 403 bad token"), "{err}");
        let seen = server.await.unwrap();
        assert!(seen[0].starts_with("PUT /v1/transfers/g1/root.qcow2 HTTP/1.1\r\n"), "{}", seen[0]);
        assert!(seen[0].contains("Authorization: Bearer s3cret\r\n") && seen[0].contains("Content-Length: 5\r\n"));
        assert!(!seen[1].contains("Authorization"));
        assert!(http_put("https://x/y", None, &file).await.unwrap_err().contains("only http://"));
    }
}
