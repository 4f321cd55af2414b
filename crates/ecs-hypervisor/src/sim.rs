//! A simulated hypervisor that behaves like one: guests with power states
//! that persist across restarts of ecsd (as a real host's guests do), a
//! deterministic serial console, per-operation latency, and failures on
//! demand — a given operation failing the next N times on a host, or a
//! whole host disappearing.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{DiskSpec, GuestInfo, GuestSpec, Hypervisor, HypervisorError, NicSpec, Op, PowerState, RebootKind, Result};

/// The console keeps this many lines, like a bounded serial log file.
const CONSOLE_LINES: usize = 1000;

/// Fail the next `times` calls of `op` on `host` (any host if None).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    #[serde(default)]
    pub host: Option<String>,
    pub op: Op,
    pub times: u32,
    #[serde(default)]
    pub message: Option<String>,
}

/// Everything the simulator can be told, as one JSON document (the
/// admin API and `--sim-config` take it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SimSettings {
    #[serde(default)]
    pub latency_ms: BTreeMap<Op, u64>,
    #[serde(default)]
    pub faults: Vec<FaultRule>,
    #[serde(default)]
    pub hosts_down: Vec<String>,
}

#[derive(Debug, Default)]
struct ControlState {
    latency: BTreeMap<Op, Duration>,
    faults: Vec<FaultRule>,
    down: BTreeSet<String>,
}

/// Latency and failures, shared by every simulated host of a process.
#[derive(Debug, Clone, Default)]
pub struct SimControl(Arc<Mutex<ControlState>>);

impl SimControl {
    fn state(&self) -> std::sync::MutexGuard<'_, ControlState> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Times like a real host's: seconds to boot, less to pause.
    pub fn realistic() -> SimControl {
        let control = SimControl::default();
        for (op, ms) in [
            (Op::Spawn, 3000),
            (Op::Destroy, 1000),
            (Op::PowerOff, 2000),
            (Op::PowerOn, 1500),
            (Op::Reboot, 2000),
            (Op::Pause, 300),
            (Op::Unpause, 300),
            (Op::Suspend, 1000),
            (Op::Resume, 1000),
            (Op::AttachDisk, 500),
            (Op::DetachDisk, 500),
            (Op::AttachNic, 500),
            (Op::DetachNic, 500),
            (Op::Resize, 4000),
            (Op::Snapshot, 5000),
        ] {
            control.set_latency(op, Duration::from_millis(ms));
        }
        control
    }

    pub fn inject(&self, rule: FaultRule) {
        self.state().faults.push(rule);
    }

    /// The fault rules that still have failures to give.
    pub fn faults(&self) -> Vec<FaultRule> {
        self.state().faults.clone()
    }

    pub fn clear_faults(&self) {
        self.state().faults.clear();
    }

    pub fn set_host_down(&self, host: &str, down: bool) {
        let mut state = self.state();
        if down {
            state.down.insert(host.to_string());
        } else {
            state.down.remove(host);
        }
    }

    pub fn hosts_down(&self) -> Vec<String> {
        self.state().down.iter().cloned().collect()
    }

    pub fn set_latency(&self, op: Op, d: Duration) {
        self.state().latency.insert(op, d);
    }

    pub fn set_latency_all(&self, d: Duration) {
        let mut state = self.state();
        for op in Op::ALL {
            state.latency.insert(op, d);
        }
    }

    pub fn latency(&self, op: Op) -> Duration {
        self.state().latency.get(&op).copied().unwrap_or_default()
    }

    pub fn settings(&self) -> SimSettings {
        let state = self.state();
        SimSettings {
            latency_ms: state
                .latency
                .iter()
                .filter(|(_, d)| !d.is_zero())
                .map(|(op, d)| (*op, d.as_millis() as u64))
                .collect(),
            faults: state.faults.clone(),
            hosts_down: state.down.iter().cloned().collect(),
        }
    }

    /// Replaces latencies, faults and lost hosts with `s`.
    pub fn apply(&self, s: &SimSettings) {
        let mut state = self.state();
        state.latency = s.latency_ms.iter().map(|(op, ms)| (*op, Duration::from_millis(*ms))).collect();
        state.faults = s.faults.iter().filter(|f| f.times > 0).cloned().collect();
        state.down = s.hosts_down.iter().cloned().collect();
    }

    fn is_down(&self, host: &str) -> bool {
        self.state().down.contains(host)
    }

    /// Consumes one failure of a matching rule, if any.
    fn take_fault(&self, host: &str, op: Op) -> Option<String> {
        let mut state = self.state();
        let index = state.faults.iter().position(|f| f.op == op && f.host.as_deref().is_none_or(|h| h == host))?;
        let rule = &mut state.faults[index];
        rule.times -= 1;
        let message = rule.message.clone().unwrap_or_else(|| "injected failure".into());
        if rule.times == 0 {
            state.faults.remove(index);
        }
        Some(message)
    }
}

/// What happened on a guest's console. The text is rendered from these
/// when asked for, so that a host with 100,000 guests does not keep
/// 100,000 consoles in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ConsoleEvent {
    Boot,
    PowerDown,
    Restart,
    Reset,
    Suspend,
}

/// Console history kept per guest (a boot prints about fifteen lines).
const CONSOLE_EVENTS: usize = 100;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Guest {
    spec: GuestSpec,
    power_state: PowerState,
    vcpus: u32,
    ram_mb: u64,
    root_gb: u64,
    nics: Vec<NicSpec>,
    disks: Vec<DiskSpec>,
    /// Boots before the oldest event kept in `history`.
    boots_forgotten: u32,
    history: Vec<ConsoleEvent>,
}

impl Guest {
    fn info(&self) -> GuestInfo {
        GuestInfo {
            id: self.spec.id.clone(),
            power_state: self.power_state,
            vcpus: self.vcpus,
            ram_mb: self.ram_mb,
            root_gb: self.root_gb,
            nics: self.nics.clone(),
            disks: self.disks.clone(),
        }
    }

    fn record(&mut self, event: ConsoleEvent) {
        self.history.push(event);
        if self.history.len() > CONSOLE_EVENTS {
            let gone = self.history.remove(0);
            if gone == ConsoleEvent::Boot {
                self.boots_forgotten += 1;
            }
        }
    }

    fn boot(&mut self) {
        self.record(ConsoleEvent::Boot);
    }

    /// The lines a Linux guest prints as it boots; the same guest prints the same.
    fn boot_lines(&self, boot: u32, lines: &mut Vec<String>) {
        let s = &self.spec;
        lines.extend([
            format!("Linux version 6.1.0-ecsd-sim (boot {boot})"),
            "Command line: console=ttyS0 root=/dev/vda1 ro".to_string(),
            "Hypervisor detected: ecsd simulator".to_string(),
            format!("smpboot: Allowing {} CPUs", self.vcpus),
            format!("Memory: {}M available", self.ram_mb),
            format!("virtio_blk virtio1: [vda] {} GiB", self.root_gb),
        ]);
        for d in &self.disks {
            lines.push(format!("virtio_blk: [{}] {} GiB ({})", d.device.trim_start_matches("/dev/"), d.size_gb, d.id));
        }
        for (i, nic) in self.nics.iter().enumerate() {
            lines.push(format!("virtio_net virtio{}: eth{i}: link up, mac {}", i + 2, nic.mac));
        }
        lines.push(format!("systemd[1]: Set hostname to <{}>.", s.hostname));
        for (i, nic) in self.nics.iter().enumerate() {
            if let Some(ip) = nic.ip {
                lines.push(format!("cloud-init: eth{i}: inet {ip}"));
            }
        }
        lines.push(format!(
            "cloud-init: {} ssh key(s), user-data {}",
            s.public_keys.len(),
            if s.user_data.is_some() { "given" } else { "none" }
        ));
        lines.push(format!("Welcome to {}", s.image_name.as_deref().unwrap_or("Linux")));
        lines.push(format!("{} login: ", s.hostname));
    }

    /// The serial console: the kept history rendered, with kernel-style
    /// time stamps derived from line numbers.
    fn console(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let mut boot = self.boots_forgotten;
        for event in &self.history {
            match event {
                ConsoleEvent::Boot => {
                    boot += 1;
                    self.boot_lines(boot, &mut lines);
                }
                ConsoleEvent::PowerDown => lines.push("reboot: Power down".into()),
                ConsoleEvent::Restart => lines.push("reboot: Restarting system".into()),
                ConsoleEvent::Reset => lines.push("reboot: Reset".into()),
                ConsoleEvent::Suspend => lines.push("PM: suspend entry (deep)".into()),
            }
        }
        let skip = lines.len().saturating_sub(CONSOLE_LINES);
        lines
            .into_iter()
            .enumerate()
            .skip(skip)
            .map(|(i, l)| format!("[{:5}.{:06}] {l}", i / 250, (i % 250) * 4000))
            .collect()
    }
}

/// One simulated host.
pub struct SimHypervisor {
    host: String,
    control: SimControl,
    journal: Option<Mutex<Journal>>,
    guests: Mutex<HashMap<String, Guest>>,
}

/// A host's guests on disk: an append-only journal of whole-guest records
/// and removals, one JSON line each, compacted when the host opens. An
/// append costs one write (no new inode per change, which made one file
/// per guest slow); a torn last line from a crash is ignored.
struct Journal {
    path: PathBuf,
    file: std::fs::File,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Record {
    Put { guest: Box<Guest> },
    Remove { id: String },
}

/// Reads a journal into the guests it describes.
fn replay(path: &std::path::Path) -> std::io::Result<HashMap<String, Guest>> {
    let mut guests = HashMap::new();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(guests),
        Err(e) => return Err(e),
    };
    for line in text.lines() {
        match serde_json::from_str::<Record>(line) {
            Ok(Record::Put { guest }) => {
                guests.insert(guest.spec.id.clone(), *guest);
            }
            Ok(Record::Remove { id }) => {
                guests.remove(&id);
            }
            // Only the last line can be torn (a crash mid-append).
            Err(_) => break,
        }
    }
    Ok(guests)
}

fn journal_path(state_dir: &std::path::Path, host: &str) -> PathBuf {
    state_dir.join(format!("{host}.journal"))
}

/// The guest ids each host under `state_dir` holds, read without opening
/// the hosts (for tests and tools looking at a running ecsd's hosts).
pub fn guests_on_disk(state_dir: &std::path::Path) -> std::io::Result<BTreeMap<String, Vec<String>>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(state_dir)? {
        let path = entry?.path();
        if let (Some(host), Some("journal")) =
            (path.file_stem().and_then(|s| s.to_str()), path.extension().and_then(|s| s.to_str()))
        {
            let mut ids: Vec<String> = replay(&path)?.into_keys().collect();
            ids.sort();
            out.insert(host.to_string(), ids);
        }
    }
    Ok(out)
}

impl SimHypervisor {
    /// A host named `host`; with `state_dir`, its guests are journaled in
    /// `state_dir/<host>.journal` and come back when it is reopened.
    pub fn new(host: impl Into<String>, control: SimControl, state_dir: Option<PathBuf>) -> std::io::Result<Self> {
        let host = host.into();
        let mut guests = HashMap::new();
        let mut journal = None;
        if let Some(dir) = state_dir {
            std::fs::create_dir_all(&dir)?;
            let path = journal_path(&dir, &host);
            guests = replay(&path)?;
            // Compact: rewrite the live guests, then append from there.
            let tmp = path.with_extension("journal.tmp");
            let mut text = String::new();
            for guest in guests.values() {
                let record = Record::Put { guest: Box::new(guest.clone()) };
                text.push_str(&serde_json::to_string(&record).map_err(std::io::Error::other)?);
                text.push('\n');
            }
            std::fs::write(&tmp, text)?;
            std::fs::rename(&tmp, &path)?;
            let file = std::fs::OpenOptions::new().append(true).open(&path)?;
            journal = Some(Mutex::new(Journal { path, file }));
        }
        Ok(SimHypervisor { host, control, journal, guests: Mutex::new(guests) })
    }

    fn guests(&self) -> std::sync::MutexGuard<'_, HashMap<String, Guest>> {
        self.guests.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn failed(&self, op: Op, message: impl Into<String>) -> HypervisorError {
        HypervisorError::Failed { host: self.host.clone(), op, message: message.into() }
    }

    /// What every operation goes through: a lost host, latency, an injected failure.
    async fn begin(&self, op: Op) -> Result<()> {
        if self.control.is_down(&self.host) {
            return Err(HypervisorError::HostDown(self.host.clone()));
        }
        let latency = self.control.latency(op);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        match self.control.take_fault(&self.host, op) {
            Some(message) => Err(self.failed(op, message)),
            None => Ok(()),
        }
    }

    /// Appends one record to the journal (one write call, so a crash can
    /// tear only the line being written).
    fn append(&self, op: Op, record: &Record) -> Result<()> {
        use std::io::Write;
        let Some(journal) = &self.journal else { return Ok(()) };
        let mut line = serde_json::to_vec(record).map_err(|e| self.failed(op, e.to_string()))?;
        line.push(b'\n');
        let mut j = journal.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        j.file.write_all(&line).map_err(|e| self.failed(op, format!("{}: {e}", j.path.display())))
    }

    fn persist(&self, op: Op, guest: &Guest) -> Result<()> {
        self.append(op, &Record::Put { guest: Box::new(guest.clone()) })
    }

    fn forget(&self, op: Op, id: &str) -> Result<()> {
        self.append(op, &Record::Remove { id: id.to_string() })
    }

    /// Changes one guest under the lock and persists it.
    fn with_guest<T>(&self, op: Op, id: &str, change: impl FnOnce(&mut Guest) -> Result<T>) -> Result<T> {
        let mut guests = self.guests();
        let guest = guests.get_mut(id).ok_or_else(|| HypervisorError::NotFound(id.to_string()))?;
        let before = guest.clone();
        let out = change(guest)?;
        if let Err(e) = self.persist(op, guest) {
            *guest = before;
            return Err(e);
        }
        Ok(out)
    }

    /// A power transition from one of `from` to `to`; already `to` is fine.
    async fn transition(&self, op: Op, id: &str, from: &[PowerState], to: PowerState) -> Result<()> {
        self.begin(op).await?;
        self.with_guest(op, id, |g| {
            if g.power_state == to {
                return Ok(());
            }
            if !from.contains(&g.power_state) {
                return Err(HypervisorError::InvalidState { id: id.to_string(), state: g.power_state, op });
            }
            match (op, to) {
                (Op::PowerOn | Op::Resume, PowerState::Running) if g.power_state != PowerState::Paused => g.boot(),
                (Op::PowerOff, _) => g.record(ConsoleEvent::PowerDown),
                (Op::Suspend, _) => g.record(ConsoleEvent::Suspend),
                _ => {}
            }
            g.power_state = to;
            Ok(())
        })
    }
}

fn exists(guests: &HashMap<String, Guest>, id: &str) -> Result<()> {
    if guests.contains_key(id) { Ok(()) } else { Err(HypervisorError::NotFound(id.to_string())) }
}

fn tail(lines: &[String], n: Option<usize>) -> String {
    let start = n.map(|n| lines.len().saturating_sub(n)).unwrap_or(0);
    let mut out = lines[start..].join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

#[async_trait::async_trait]
impl Hypervisor for SimHypervisor {
    fn host(&self) -> &str {
        &self.host
    }

    fn kind(&self) -> &'static str {
        "sim"
    }

    async fn spawn(&self, spec: &GuestSpec) -> Result<GuestInfo> {
        self.begin(Op::Spawn).await?;
        let mut guests = self.guests();
        if let Some(existing) = guests.get(&spec.id) {
            return Ok(existing.info());
        }
        let mut guest = Guest {
            spec: spec.clone(),
            power_state: PowerState::Running,
            vcpus: spec.vcpus,
            ram_mb: spec.ram_mb,
            root_gb: spec.root_gb,
            nics: spec.nics.clone(),
            disks: spec.disks.clone(),
            boots_forgotten: 0,
            history: Vec::new(),
        };
        guest.boot();
        self.persist(Op::Spawn, &guest)?;
        let info = guest.info();
        guests.insert(spec.id.clone(), guest);
        Ok(info)
    }

    async fn destroy(&self, id: &str) -> Result<()> {
        self.begin(Op::Destroy).await?;
        let mut guests = self.guests();
        if guests.contains_key(id) {
            self.forget(Op::Destroy, id)?;
            guests.remove(id);
        }
        Ok(())
    }

    async fn info(&self, id: &str) -> Result<Option<GuestInfo>> {
        if self.control.is_down(&self.host) {
            return Err(HypervisorError::HostDown(self.host.clone()));
        }
        Ok(self.guests().get(id).map(Guest::info))
    }

    async fn list(&self) -> Result<Vec<GuestInfo>> {
        if self.control.is_down(&self.host) {
            return Err(HypervisorError::HostDown(self.host.clone()));
        }
        let mut all: Vec<GuestInfo> = self.guests().values().map(Guest::info).collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(all)
    }

    async fn power_on(&self, id: &str) -> Result<()> {
        self.transition(Op::PowerOn, id, &[PowerState::Shutdown, PowerState::Crashed], PowerState::Running).await
    }

    async fn power_off(&self, id: &str, graceful: bool) -> Result<()> {
        let _ = graceful;
        let from = [PowerState::Running, PowerState::Paused, PowerState::Suspended, PowerState::Crashed];
        self.transition(Op::PowerOff, id, &from, PowerState::Shutdown).await
    }

    async fn reboot(&self, id: &str, kind: RebootKind) -> Result<()> {
        self.begin(Op::Reboot).await?;
        self.with_guest(Op::Reboot, id, |g| {
            let allowed = match kind {
                RebootKind::Soft => matches!(g.power_state, PowerState::Running),
                RebootKind::Hard => true,
            };
            if !allowed {
                return Err(HypervisorError::InvalidState { id: id.to_string(), state: g.power_state, op: Op::Reboot });
            }
            if g.power_state == PowerState::Running {
                g.record(if kind == RebootKind::Soft { ConsoleEvent::Restart } else { ConsoleEvent::Reset });
            }
            g.power_state = PowerState::Running;
            g.boot();
            Ok(())
        })
    }

    async fn pause(&self, id: &str) -> Result<()> {
        self.transition(Op::Pause, id, &[PowerState::Running], PowerState::Paused).await
    }

    async fn unpause(&self, id: &str) -> Result<()> {
        self.transition(Op::Unpause, id, &[PowerState::Paused], PowerState::Running).await
    }

    async fn suspend(&self, id: &str) -> Result<()> {
        self.transition(Op::Suspend, id, &[PowerState::Running, PowerState::Paused], PowerState::Suspended).await
    }

    async fn resume(&self, id: &str) -> Result<()> {
        self.transition(Op::Resume, id, &[PowerState::Suspended], PowerState::Running).await
    }

    async fn console_log(&self, id: &str, tail_lines: Option<usize>) -> Result<String> {
        self.begin(Op::ConsoleLog).await?;
        let guests = self.guests();
        exists(&guests, id)?;
        Ok(tail(&guests[id].console(), tail_lines))
    }

    async fn attach_disk(&self, id: &str, disk: &DiskSpec) -> Result<()> {
        self.begin(Op::AttachDisk).await?;
        self.with_guest(Op::AttachDisk, id, |g| {
            if !g.disks.iter().any(|d| d.id == disk.id) {
                g.disks.push(disk.clone());
            }
            Ok(())
        })
    }

    async fn detach_disk(&self, id: &str, disk_id: &str) -> Result<()> {
        self.begin(Op::DetachDisk).await?;
        self.with_guest(Op::DetachDisk, id, |g| {
            g.disks.retain(|d| d.id != disk_id);
            Ok(())
        })
    }

    async fn attach_nic(&self, id: &str, nic: &NicSpec) -> Result<()> {
        self.begin(Op::AttachNic).await?;
        self.with_guest(Op::AttachNic, id, |g| {
            if !g.nics.iter().any(|n| n.port_id == nic.port_id) {
                g.nics.push(nic.clone());
            }
            Ok(())
        })
    }

    async fn detach_nic(&self, id: &str, port_id: &str) -> Result<()> {
        self.begin(Op::DetachNic).await?;
        self.with_guest(Op::DetachNic, id, |g| {
            g.nics.retain(|n| n.port_id != port_id);
            Ok(())
        })
    }

    async fn resize(&self, id: &str, vcpus: u32, ram_mb: u64, root_gb: u64) -> Result<()> {
        self.begin(Op::Resize).await?;
        self.with_guest(Op::Resize, id, |g| {
            if g.power_state != PowerState::Shutdown {
                return Err(HypervisorError::InvalidState { id: id.to_string(), state: g.power_state, op: Op::Resize });
            }
            g.vcpus = vcpus;
            g.ram_mb = ram_mb;
            g.root_gb = root_gb;
            Ok(())
        })
    }

    async fn snapshot(&self, id: &str, image_id: &str) -> Result<u64> {
        self.begin(Op::Snapshot).await?;
        let guests = self.guests();
        exists(&guests, id)?;
        let g = &guests[id];
        tracing::debug!(guest = id, image = image_id, "simulated snapshot");
        // A sparse image: a fixed fraction of the root disk.
        Ok((g.root_gb.max(1) << 30) / 16)
    }
}
