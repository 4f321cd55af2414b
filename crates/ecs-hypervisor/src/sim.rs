//! A simulated hypervisor that behaves like one: guests with power states
//! that persist across restarts of ecsd (as a real host's guests do), a
//! deterministic serial console, per-operation latency, and failures on
//! demand — a given operation failing the next N times on a host, or a
//! whole host disappearing — and a VNC server per console asked for.

mod rfb;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{
    ConsoleEndpoint, DiskSpec, GuestInfo, GuestSpec, Hypervisor, HypervisorError, IncomingGuest, MoveKind, NicSpec, Op,
    PowerState, RebootKind, Result, SnapshotImage,
};

/// The console keeps this many lines, like a bounded serial log file.
const CONSOLE_LINES: usize = 1000;

/// Fail the next `times` calls of `op` on `host` (any host if None).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// Operations begun on a host that was up, by kind (for tests that
    /// check an operation ran exactly once).
    calls: BTreeMap<Op, u64>,
    /// Guests on their way between this process's hosts, by guest id: the
    /// simulated wire of a migration. Between agents' processes the guest
    /// travels over HTTP instead (`SimHypervisor::with_transfer`) and lands
    /// here on the destination's side.
    incoming: HashMap<String, Incoming>,
    /// Live sends under way, by guest id, and what they were asked.
    sending: HashMap<String, SendFlags>,
}

/// A destination waiting for a guest, and the guest once sent.
#[derive(Debug)]
struct Incoming {
    host: String,
    received: Option<Guest>,
}

#[derive(Debug, Default, Clone, Copy)]
struct SendFlags {
    cancel: bool,
    force: bool,
    /// How much of the copy is done (0.0–1.0).
    done: f64,
}

/// Latency and failures, shared by every simulated host of a process,
/// and the loaded fault scenario's rules on operations.
#[derive(Debug, Clone, Default)]
pub struct SimControl(Arc<Mutex<ControlState>>, crate::scenario::Scenarios);

impl SimControl {
    /// Controls whose operations also meet the rules of `scenarios`.
    pub fn with_scenarios(scenarios: crate::scenario::Scenarios) -> SimControl {
        SimControl(Arc::default(), scenarios)
    }

    pub fn scenarios(&self) -> &crate::scenario::Scenarios {
        &self.1
    }

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
            (Op::Migrate, 4000),
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

    /// How many `op` operations were begun on hosts that were up.
    pub fn calls(&self, op: Op) -> u64 {
        self.state().calls.get(&op).copied().unwrap_or_default()
    }

    fn count_call(&self, op: Op) {
        *self.state().calls.entry(op).or_default() += 1;
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

    /// Asks a live send of `id` in flight to stop (`cancel`) or finish now.
    fn flag_send(&self, id: &str, cancel: bool) {
        if let Some(flags) = self.state().sending.get_mut(id) {
            if cancel {
                flags.cancel = true;
            } else {
                flags.force = true;
            }
        }
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
    /// A guest asked to shut down (ACPI); a forced power-off prints nothing,
    /// as the guest never knows.
    PowerDown,
    Restart,
    Reset,
    Suspend,
    /// Waking from suspend continues the same kernel: no new boot.
    Resume,
    /// The guest agent set the admin password.
    PasswordSet,
    /// The guest agent rewrote the authorized keys.
    KeysSet,
    /// The guest booted its rescue system.
    RescueBoot,
    /// A non-maskable interrupt reached the guest.
    Nmi,
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
    /// The rescue disk the guest boots from while rescued.
    #[serde(default)]
    rescue: Option<crate::BootSource>,
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
                ConsoleEvent::PowerDown => lines.extend([
                    "systemd-shutdown[1]: Syncing filesystems and block devices.".into(),
                    "reboot: Power down".into(),
                ]),
                ConsoleEvent::Restart => lines.push("reboot: Restarting system".into()),
                ConsoleEvent::Reset => lines.push("reboot: Reset".into()),
                ConsoleEvent::Suspend => lines.push("PM: suspend entry (deep)".into()),
                ConsoleEvent::Resume => lines.push("PM: suspend exit".into()),
                ConsoleEvent::PasswordSet => lines.push("qemu-ga: password of the admin user changed".into()),
                ConsoleEvent::RescueBoot => lines.extend([
                    "Linux version 6.1.0-ecsd-rescue".to_string(),
                    "virtio_blk virtio1: [vda] rescue disk".to_string(),
                    format!("virtio_blk virtio2: [vdb] {} GiB (original root)", self.root_gb),
                    "rescue login: ".to_string(),
                ]),
                ConsoleEvent::Nmi => lines.extend([
                    "Uhhuh. NMI received for unknown reason 30 on CPU 0.".to_string(),
                    "Kernel panic - not syncing: NMI: Not continuing".to_string(),
                    "kdump: saving vmcore".to_string(),
                ]),
                ConsoleEvent::KeysSet => {
                    lines.push(format!("qemu-ga: {} ssh key(s) authorized", self.spec.public_keys.len()))
                }
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
    /// Where the journals are; a guest sent to a host of this directory
    /// waits there too, so that a move survives a restart of ecsd.
    state_dir: Option<PathBuf>,
    guests: Mutex<HashMap<String, Guest>>,
    /// The VNC servers of the guests whose console was asked for, by guest
    /// id; locked after `guests` where both are.
    consoles: Mutex<HashMap<String, rfb::RfbServer>>,
    /// Where guests moving here are sent, and the token they carry, when
    /// this host is an agent's: another process's host cannot hand them
    /// over through the shared [`SimControl`].
    transfer: Option<(String, String)>,
}

/// A host's guests on disk: an append-only journal of whole-guest records
/// and removals, one JSON line each. An append costs one write (no new
/// inode per change, which made one file per guest slow); a torn line from
/// a crash is skipped. The journal is rewritten to just the live guests
/// when the host opens and whenever stale records outnumber them, so it
/// stays proportional to the guests, not to the operations ever run.
struct Journal {
    path: PathBuf,
    file: std::fs::File,
    /// Records in the file: the live guests at the last rewrite plus appends since.
    records: usize,
}

/// A rewrite waits for at least this many records, so that a nearly
/// empty host does not rewrite on every few operations.
const COMPACT_MIN_RECORDS: usize = 4096;

impl Journal {
    /// Writes `guests` to a temporary file and renames it over the journal
    /// (a crash leaves the old or the new one, never half of one); appends
    /// go on in the new file.
    fn rewrite(path: &Path, guests: &HashMap<String, Guest>) -> std::io::Result<Journal> {
        use std::io::Write;
        let tmp = path.with_extension("journal.tmp");
        let mut text = Vec::with_capacity(guests.len() * 512);
        for guest in guests.values() {
            serde_json::to_writer(&mut text, &RecordRef::Put { guest }).map_err(std::io::Error::other)?;
            text.push(b'\n');
        }
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&text)?;
        std::fs::rename(&tmp, path)?;
        // The handle now names the renamed file; its cursor is at the end.
        Ok(Journal { path: path.to_path_buf(), file, records: guests.len() })
    }

    fn wants_rewrite(&self, live: usize) -> bool {
        self.records > live.saturating_mul(4).max(COMPACT_MIN_RECORDS)
    }
}

#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Record {
    Put { guest: Box<Guest> },
    Remove { id: String },
}

/// [`Record`] as written, borrowing instead of cloning the guest.
#[derive(Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum RecordRef<'a> {
    Put { guest: &'a Guest },
    Remove { id: &'a str },
}

/// Reads a journal into the guests it describes.
fn replay(path: &Path) -> std::io::Result<HashMap<String, Guest>> {
    let mut guests = HashMap::new();
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(guests),
        Err(e) => return Err(e),
    };
    for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        match serde_json::from_slice::<Record>(line) {
            Ok(Record::Put { guest }) => {
                let mut guest = *guest;
                guest.spec = kept_spec(&guest.spec);
                guests.insert(guest.spec.id.clone(), guest);
            }
            Ok(Record::Remove { id }) => {
                guests.remove(&id);
            }
            // A torn append (a crash, a full disk): only that change is lost,
            // and the appends after it still count.
            Err(e) => tracing::warn!(path = %path.display(), error = %e, "skipping a torn simulator journal line"),
        }
    }
    Ok(guests)
}

fn journal_path(state_dir: &Path, host: &str) -> PathBuf {
    state_dir.join(format!("{host}.journal"))
}

/// What a host keeps of a spec: the console needs only whether user-data
/// was given, and a password has no business sitting in a state file.
fn kept_spec(spec: &GuestSpec) -> GuestSpec {
    GuestSpec {
        user_data: spec.user_data.as_ref().map(|_| Vec::new()),
        admin_pass: None,
        id: spec.id.clone(),
        name: spec.name.clone(),
        hostname: spec.hostname.clone(),
        project_id: spec.project_id.clone(),
        availability_zone: spec.availability_zone.clone(),
        key_name: spec.key_name.clone(),
        vcpus: spec.vcpus,
        ram_mb: spec.ram_mb,
        root_gb: spec.root_gb,
        ephemeral_gb: spec.ephemeral_gb,
        swap_mb: spec.swap_mb,
        image_id: spec.image_id.clone(),
        image_name: spec.image_name.clone(),
        boot: spec.boot.clone(),
        nics: spec.nics.clone(),
        disks: spec.disks.clone(),
        public_keys: spec.public_keys.clone(),
        metadata: spec.metadata.clone(),
    }
}

/// The guest ids each host under `state_dir` holds, read without opening
/// the hosts (for tests and tools looking at a running ecsd's hosts).
pub fn guests_on_disk(state_dir: &Path) -> std::io::Result<BTreeMap<String, Vec<String>>> {
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

/// A host's guests as a whole, for snapshots of the service and state
/// files: taken with [`SimHypervisor::save_guests`] (or read from a journal
/// with [`read_journal`]) and put back with [`SimHypervisor::restore_guests`]
/// (or [`write_journal`]). Serializes as the list of the guests' records.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SavedGuests(Vec<Guest>);

impl SavedGuests {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The guests' ids, sorted.
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.0.iter().map(|g| g.spec.id.clone()).collect();
        ids.sort();
        ids
    }

    /// One guest's record as JSON, for a state file written a line at a time.
    pub fn records(&self) -> impl Iterator<Item = serde_json::Result<serde_json::Value>> + '_ {
        self.0.iter().map(serde_json::to_value)
    }

    /// Rebuilds the guests from records as [`SavedGuests::records`] gives them.
    pub fn from_records(records: impl IntoIterator<Item = serde_json::Value>) -> serde_json::Result<SavedGuests> {
        records.into_iter().map(serde_json::from_value).collect::<serde_json::Result<Vec<Guest>>>().map(SavedGuests)
    }

    fn map(&self) -> HashMap<String, Guest> {
        self.0.iter().map(|g| (g.spec.id.clone(), g.clone())).collect()
    }
}

/// The guests of every host whose journal is under `state_dir`, by host.
pub fn read_journals(state_dir: &Path) -> std::io::Result<BTreeMap<String, SavedGuests>> {
    let mut out = BTreeMap::new();
    let entries = match std::fs::read_dir(state_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let path = entry?.path();
        if let (Some(host), Some("journal")) =
            (path.file_stem().and_then(|s| s.to_str()), path.extension().and_then(|s| s.to_str()))
        {
            let mut guests: Vec<Guest> = replay(&path)?.into_values().collect();
            guests.sort_by(|a, b| a.spec.id.cmp(&b.spec.id));
            out.insert(host.to_string(), SavedGuests(guests));
        }
    }
    Ok(out)
}

/// Replaces the journals under `state_dir` with `hosts`' guests, each by
/// writing a temporary file and renaming it over the journal; journals of
/// hosts not in `hosts` are removed. For a host that is not running.
pub fn write_journals(state_dir: &Path, hosts: &BTreeMap<String, SavedGuests>) -> std::io::Result<()> {
    std::fs::create_dir_all(state_dir)?;
    for (host, guests) in hosts {
        Journal::rewrite(&journal_path(state_dir, host), &guests.map())?;
    }
    for (host, _) in read_journals(state_dir)? {
        if !hosts.contains_key(&host) {
            std::fs::remove_file(journal_path(state_dir, &host))?;
        }
    }
    Ok(())
}

impl SimHypervisor {
    /// A host named `host`; with `state_dir`, its guests are journaled in
    /// `state_dir/<host>.journal` and come back when it is reopened.
    pub fn new(host: impl Into<String>, control: SimControl, state_dir: Option<PathBuf>) -> std::io::Result<Self> {
        let host = host.into();
        let mut guests = HashMap::new();
        let mut journal = None;
        if let Some(dir) = &state_dir {
            std::fs::create_dir_all(dir)?;
            let path = journal_path(dir, &host);
            guests = replay(&path)?;
            journal = Some(Mutex::new(Journal::rewrite(&path, &guests)?));
        }
        Ok(SimHypervisor {
            host,
            control,
            journal,
            state_dir,
            guests: Mutex::new(guests),
            consoles: Mutex::default(),
            transfer: None,
        })
    }

    /// Guests moving here are sent to `url` (`PUT {url}/{id}/sim-guest.json`,
    /// an agent's transfer endpoint) with `token`, as QEMU hosts send files.
    pub fn with_transfer(mut self, url: String, token: String) -> Self {
        self.transfer = Some((url.trim_end_matches('/').to_string(), token));
        self
    }

    /// Every guest of this host as it is now.
    pub fn save_guests(&self) -> SavedGuests {
        let mut guests: Vec<Guest> = self.guests().values().cloned().collect();
        guests.sort_by(|a, b| a.spec.id.cmp(&b.spec.id));
        SavedGuests(guests)
    }

    /// Replaces this host's guests with `saved` (a reset of the service to
    /// a snapshot): the journal is rewritten to them (a temporary file
    /// renamed over it), and the VNC consoles of guests are closed.
    pub fn restore_guests(&self, saved: &SavedGuests) -> std::io::Result<()> {
        let mut guests = self.guests();
        let fresh = saved.map();
        if let Some(journal) = &self.journal {
            let mut j = journal.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            *j = Journal::rewrite(&j.path, &fresh)?;
        }
        *guests = fresh;
        self.consoles().clear();
        Ok(())
    }

    fn guests(&self) -> std::sync::MutexGuard<'_, HashMap<String, Guest>> {
        self.guests.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn consoles(&self) -> std::sync::MutexGuard<'_, HashMap<String, rfb::RfbServer>> {
        self.consoles.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn failed(&self, op: Op, message: impl Into<String>) -> HypervisorError {
        HypervisorError::Failed { host: self.host.clone(), op, message: message.into() }
    }

    /// Where a guest sent to `dest` waits on disk (when journaled).
    fn wire_path(&self, dest: &str, id: &str) -> Option<PathBuf> {
        self.state_dir.as_ref().map(|d| d.join(format!("{dest}.{id}.incoming")))
    }

    /// Forgets a guest waiting here, in memory and on disk.
    fn drop_incoming(&self, id: &str) {
        let mut state = self.control.state();
        if state.incoming.get(id).is_some_and(|s| s.host == self.host) {
            state.incoming.remove(id);
        }
        drop(state);
        if let Some(path) = self.wire_path(&self.host, id) {
            let _ = std::fs::remove_file(path);
        }
    }

    /// The guest sent to `dest`, from memory or from disk.
    fn sent_to(&self, dest: &str, id: &str) -> Option<Guest> {
        let state = self.control.state();
        if let Some(g) = state.incoming.get(id).filter(|i| i.host == dest).and_then(|i| i.received.clone()) {
            return Some(g);
        }
        drop(state);
        let text = std::fs::read(self.wire_path(dest, id)?).ok()?;
        serde_json::from_slice(&text).ok()
    }

    fn check_up(&self) -> Result<()> {
        if self.control.is_down(&self.host) { Err(HypervisorError::HostDown(self.host.clone())) } else { Ok(()) }
    }

    /// What every operation goes through: a lost host, latency, an injected failure.
    async fn begin(&self, op: Op) -> Result<()> {
        self.check_up()?;
        self.control.count_call(op);
        let scenario = self.control.scenarios().host_op(&self.host, crate::scenario::HostOp::Hypervisor(op));
        let latency = self.control.latency(op).saturating_add(scenario.latency.unwrap_or_default());
        if !latency.is_zero() {
            // ecsd's clock: an admin advance past the end ends it at once.
            ecs_types::clock::sleep(latency).await;
            // A host lost while the operation ran takes the operation with it.
            self.check_up()?;
        }
        if let Some(crate::scenario::Effect::Fail(message)) = scenario.fail {
            return Err(self.failed(op, message));
        }
        match self.control.take_fault(&self.host, op) {
            Some(message) => Err(self.failed(op, message)),
            None => Ok(()),
        }
    }

    /// Appends one record to the journal (one write call, so a crash can
    /// tear only the line being written).
    fn append(&self, op: Op, record: &RecordRef<'_>) -> Result<()> {
        use std::io::Write;
        let Some(journal) = &self.journal else { return Ok(()) };
        let mut line = serde_json::to_vec(record).map_err(|e| self.failed(op, e.to_string()))?;
        line.push(b'\n');
        let mut j = journal.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        j.file.write_all(&line).map_err(|e| self.failed(op, format!("{}: {e}", j.path.display())))?;
        j.records += 1;
        Ok(())
    }

    fn persist(&self, op: Op, guest: &Guest) -> Result<()> {
        self.append(op, &RecordRef::Put { guest })
    }

    fn forget(&self, op: Op, id: &str) -> Result<()> {
        self.append(op, &RecordRef::Remove { id })
    }

    /// Rewrites the journal once stale records dominate; called with the
    /// guests locked, after a change was appended. The change is already
    /// durable, so a failed rewrite is only logged (the old journal stays).
    fn maybe_compact(&self, guests: &HashMap<String, Guest>) {
        let Some(journal) = &self.journal else { return };
        let mut j = journal.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if !j.wants_rewrite(guests.len()) {
            return;
        }
        match Journal::rewrite(&j.path, guests) {
            Ok(fresh) => *j = fresh,
            Err(e) => tracing::warn!(host = %self.host, path = %j.path.display(), error = %e, "journal rewrite failed"),
        }
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
        self.maybe_compact(&guests);
        Ok(out)
    }

    /// A power transition from one of `from` to `to`, with what the guest
    /// prints on the way; already `to` is fine (a repeated task step).
    async fn transition(
        &self,
        op: Op,
        id: &str,
        from: &[PowerState],
        to: PowerState,
        console: impl FnOnce(&mut Guest),
    ) -> Result<()> {
        self.begin(op).await?;
        self.with_guest(op, id, |g| {
            if g.power_state == to {
                return Ok(());
            }
            if !from.contains(&g.power_state) {
                return Err(HypervisorError::InvalidState { id: id.to_string(), state: g.power_state, op });
            }
            console(g);
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

    fn as_sim(&self) -> Option<&SimHypervisor> {
        Some(self)
    }

    async fn spawn(&self, spec: &GuestSpec) -> Result<GuestInfo> {
        self.begin(Op::Spawn).await?;
        let mut guests = self.guests();
        if let Some(existing) = guests.get(&spec.id) {
            return Ok(existing.info());
        }
        let mut guest = Guest {
            spec: kept_spec(spec),
            power_state: PowerState::Running,
            vcpus: spec.vcpus,
            ram_mb: spec.ram_mb,
            root_gb: spec.root_gb,
            nics: spec.nics.clone(),
            disks: spec.disks.clone(),
            boots_forgotten: 0,
            history: Vec::new(),
            rescue: None,
        };
        guest.boot();
        self.persist(Op::Spawn, &guest)?;
        let info = guest.info();
        guests.insert(spec.id.clone(), guest);
        self.maybe_compact(&guests);
        Ok(info)
    }

    async fn destroy(&self, id: &str) -> Result<()> {
        self.begin(Op::Destroy).await?;
        let mut guests = self.guests();
        if guests.contains_key(id) {
            self.forget(Op::Destroy, id)?;
            guests.remove(id);
            // The guest's VNC server, and any session on it, goes with it.
            self.consoles().remove(id);
            self.maybe_compact(&guests);
        }
        Ok(())
    }

    async fn info(&self, id: &str) -> Result<Option<GuestInfo>> {
        self.check_up()?;
        Ok(self.guests().get(id).map(Guest::info))
    }

    async fn list(&self) -> Result<Vec<GuestInfo>> {
        self.check_up()?;
        let mut all: Vec<GuestInfo> = self.guests().values().map(Guest::info).collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(all)
    }

    async fn power_on(&self, id: &str) -> Result<()> {
        let from = [PowerState::Shutdown, PowerState::Crashed];
        self.transition(Op::PowerOn, id, &from, PowerState::Running, Guest::boot).await
    }

    async fn power_off(&self, id: &str, graceful: bool) -> Result<()> {
        let from = [PowerState::Running, PowerState::Paused, PowerState::Suspended, PowerState::Crashed];
        self.transition(Op::PowerOff, id, &from, PowerState::Shutdown, |g| {
            // Only a running guest can hear the ACPI request and shut down cleanly.
            if graceful && g.power_state == PowerState::Running {
                g.record(ConsoleEvent::PowerDown);
            }
        })
        .await
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
        self.transition(Op::Pause, id, &[PowerState::Running], PowerState::Paused, |_| {}).await
    }

    async fn unpause(&self, id: &str) -> Result<()> {
        self.transition(Op::Unpause, id, &[PowerState::Paused], PowerState::Running, |_| {}).await
    }

    async fn suspend(&self, id: &str) -> Result<()> {
        let from = [PowerState::Running, PowerState::Paused];
        self.transition(Op::Suspend, id, &from, PowerState::Suspended, |g| g.record(ConsoleEvent::Suspend)).await
    }

    async fn resume(&self, id: &str) -> Result<()> {
        let from = [PowerState::Suspended];
        self.transition(Op::Resume, id, &from, PowerState::Running, |g| g.record(ConsoleEvent::Resume)).await
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

    async fn snapshot(&self, id: &str, image_id: &str) -> Result<SnapshotImage> {
        self.begin(Op::Snapshot).await?;
        let guests = self.guests();
        exists(&guests, id)?;
        let g = &guests[id];
        tracing::debug!(guest = id, image = image_id, "simulated snapshot");
        // A sparse image: a fixed fraction of the root disk.
        Ok(SnapshotImage { size_bytes: (g.root_gb.max(1) << 30) / 16, properties: Default::default() })
    }

    async fn delete_disk(&self, _disk_id: &str) -> Result<()> {
        // Simulated volumes have no storage of their own.
        Ok(())
    }

    async fn stored_disks(&self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    async fn set_admin_password(&self, id: &str, _password: &str) -> Result<()> {
        self.begin(Op::SetPassword).await?;
        self.with_guest(Op::SetPassword, id, |g| {
            // The guest agent answers only in a running guest.
            if g.power_state != PowerState::Running {
                return Err(HypervisorError::InvalidState { id: id.into(), state: g.power_state, op: Op::SetPassword });
            }
            g.record(ConsoleEvent::PasswordSet);
            Ok(())
        })
    }

    async fn set_public_keys(&self, id: &str, keys: &[String]) -> Result<()> {
        self.begin(Op::SetKeys).await?;
        self.with_guest(Op::SetKeys, id, |g| {
            if g.spec.public_keys != keys {
                g.spec.public_keys = keys.to_vec();
                g.record(ConsoleEvent::KeysSet);
            }
            Ok(())
        })
    }

    async fn rescue(&self, id: &str, rescue: &crate::BootSource, _admin_pass: Option<&str>) -> Result<()> {
        self.begin(Op::Rescue).await?;
        self.with_guest(Op::Rescue, id, |g| {
            if g.rescue.is_some() && g.power_state == PowerState::Running {
                return Ok(());
            }
            g.rescue = Some(rescue.clone());
            g.power_state = PowerState::Running;
            g.record(ConsoleEvent::RescueBoot);
            Ok(())
        })
    }

    async fn unrescue(&self, id: &str) -> Result<()> {
        self.begin(Op::Rescue).await?;
        self.with_guest(Op::Rescue, id, |g| {
            if g.rescue.take().is_some() {
                g.power_state = PowerState::Running;
                g.boot();
            }
            Ok(())
        })
    }

    async fn inject_nmi(&self, id: &str) -> Result<()> {
        self.begin(Op::InjectNmi).await?;
        self.with_guest(Op::InjectNmi, id, |g| {
            if !matches!(g.power_state, PowerState::Running | PowerState::Paused) {
                return Err(HypervisorError::InvalidState { id: id.into(), state: g.power_state, op: Op::InjectNmi });
            }
            g.record(ConsoleEvent::Nmi);
            Ok(())
        })
    }

    async fn vnc_console(&self, id: &str) -> Result<ConsoleEndpoint> {
        self.begin(Op::RemoteConsole).await?;
        let guests = self.guests();
        exists(&guests, id)?;
        let mut consoles = self.consoles();
        let server = match consoles.entry(id.to_string()) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let server = rfb::RfbServer::start(&guests[id].spec.name)
                    .map_err(|e| self.failed(Op::RemoteConsole, format!("starting the VNC server: {e}")))?;
                e.insert(server)
            }
        };
        Ok(ConsoleEndpoint { host: server.host(), port: server.port() })
    }

    async fn prepare_incoming(&self, spec: &GuestSpec, _kind: MoveKind) -> Result<IncomingGuest> {
        self.check_up()?;
        self.control.count_call(Op::Migrate);
        if let Some(message) = self.control.take_fault(&self.host, Op::Migrate) {
            return Err(self.failed(Op::Migrate, message));
        }
        let mut state = self.control.state();
        // A repeated prepare keeps what may have been received already.
        let slot =
            state.incoming.entry(spec.id.clone()).or_insert(Incoming { host: self.host.clone(), received: None });
        if slot.host != self.host {
            *slot = Incoming { host: self.host.clone(), received: None };
        }
        let uri = match &self.transfer {
            Some((url, _)) => format!("{url}/{}", spec.id),
            None => format!("sim://{}/{}", self.host, spec.id),
        };
        Ok(IncomingGuest { host: self.host.clone(), uri })
    }

    async fn send_guest(&self, id: &str, to: &IncomingGuest, kind: MoveKind) -> Result<()> {
        self.check_up()?;
        self.control.count_call(Op::Migrate);
        // Sent already (the step runs again after a crash): done.
        if self.sent_to(&to.host, id).is_some() {
            return Ok(());
        }
        let guest = self.guests().get(id).cloned().ok_or_else(|| HypervisorError::NotFound(id.to_string()))?;
        let allowed: &[PowerState] = match kind {
            MoveKind::Cold => &[PowerState::Shutdown, PowerState::Crashed],
            MoveKind::Live { .. } => &[PowerState::Running, PowerState::Paused],
        };
        if !allowed.contains(&guest.power_state) {
            return Err(HypervisorError::InvalidState {
                id: id.to_string(),
                state: guest.power_state,
                op: Op::Migrate,
            });
        }
        // A destination in another process (an agent's) is sent the guest
        // over HTTP; it checks itself that it waits for it.
        let remote = to.uri.starts_with("http://");
        let prepared = |state: &ControlState| remote || state.incoming.get(id).is_some_and(|i| i.host == to.host);
        {
            // A destination prepared before ecsd restarted is still
            // waiting (its `prepare_incoming` made only this slot).
            let mut state = self.control.state();
            if !prepared(&state) {
                state.incoming.insert(id.to_string(), Incoming { host: to.host.clone(), received: None });
            }
        }
        // The copy takes the migration's latency, in slices so that an
        // abort or a force-complete is heard while it runs.
        self.control.state().sending.insert(id.to_string(), SendFlags::default());
        // On ecsd's clock: an admin advance moves the copy on.
        let total = self.control.latency(Op::Migrate);
        let started = ecs_types::clock::now();
        let deadline = started + chrono::Duration::from_std(total).unwrap_or(chrono::Duration::MAX);
        let mut outcome = Ok(());
        while ecs_types::clock::now() < deadline {
            let left = (deadline - ecs_types::clock::now()).to_std().unwrap_or_default();
            tokio::time::sleep(left.min(Duration::from_millis(50))).await;
            let flags = {
                let mut state = self.control.state();
                let flags = state.sending.entry(id.to_string()).or_default();
                let elapsed = (ecs_types::clock::now() - started).to_std().unwrap_or_default();
                flags.done = (elapsed.as_secs_f64() / total.as_secs_f64()).min(1.0);
                *flags
            };
            if let Err(e) = self.check_up() {
                outcome = Err(e);
                break;
            }
            if flags.cancel {
                outcome = Err(self.failed(Op::Migrate, "migration cancelled"));
                break;
            }
            if flags.force {
                break;
            }
        }
        self.control.state().sending.remove(id);
        outcome?;
        if let Some(message) = self.control.take_fault(&self.host, Op::Migrate) {
            return Err(self.failed(Op::Migrate, message));
        }
        if remote {
            self.send_remote(id, to, &guest).await?;
        } else {
            let mut state = self.control.state();
            if !prepared(&state) {
                return Err(self.failed(Op::Migrate, format!("{} stopped waiting for guest {id}", to.host)));
            }
            if let Some(slot) = state.incoming.get_mut(id) {
                slot.received = Some(guest.clone());
            }
        }
        if let Some(path) = self.wire_path(&to.host, id) {
            let text = serde_json::to_vec(&guest).map_err(|e| self.failed(Op::Migrate, e.to_string()))?;
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, text)
                .and_then(|()| std::fs::rename(&tmp, &path))
                .map_err(|e| self.failed(Op::Migrate, format!("{}: {e}", path.display())))?;
        }
        // Live: the destination runs it now; the copy here stops, defined
        // until it is destroyed.
        if matches!(kind, MoveKind::Live { .. }) {
            self.with_guest(Op::Migrate, id, |g| {
                g.power_state = PowerState::Shutdown;
                Ok(())
            })?;
        }
        Ok(())
    }

    async fn finish_incoming(&self, spec: &GuestSpec, kind: MoveKind, power_on: bool) -> Result<GuestInfo> {
        self.check_up()?;
        self.control.count_call(Op::Migrate);
        if let Some(existing) = self.guests().get(&spec.id) {
            return Ok(existing.info());
        }
        if let Some(message) = self.control.take_fault(&self.host, Op::Migrate) {
            return Err(self.failed(Op::Migrate, message));
        }
        let Some(mut guest) = self.sent_to(&self.host, &spec.id) else {
            return Err(self.failed(Op::Migrate, format!("guest {} was not received", spec.id)));
        };
        match kind {
            // The disk came; the guest is defined anew from the spec (its
            // flavor may be new) and boots if asked.
            MoveKind::Cold => {
                guest.spec = kept_spec(spec);
                guest.vcpus = spec.vcpus;
                guest.ram_mb = spec.ram_mb;
                guest.root_gb = spec.root_gb;
                guest.nics = spec.nics.clone();
                guest.disks = spec.disks.clone();
                guest.power_state = PowerState::Shutdown;
                if power_on {
                    guest.power_state = PowerState::Running;
                    guest.boot();
                }
            }
            // Memory and all: it runs on as it ran, console and all.
            MoveKind::Live { .. } => {}
        }
        let mut guests = self.guests();
        self.persist(Op::Migrate, &guest)?;
        let info = guest.info();
        guests.insert(spec.id.clone(), guest);
        self.maybe_compact(&guests);
        drop(guests);
        self.drop_incoming(&spec.id);
        Ok(info)
    }

    async fn abort_incoming(&self, id: &str) -> Result<()> {
        self.drop_incoming(id);
        Ok(())
    }

    async fn cancel_send(&self, id: &str) -> Result<()> {
        self.check_up()?;
        self.control.flag_send(id, true);
        Ok(())
    }

    async fn send_progress(&self, id: &str) -> Result<Option<f64>> {
        self.check_up()?;
        Ok(self.control.state().sending.get(id).map(|f| f.done))
    }

    async fn force_complete_send(&self, id: &str) -> Result<()> {
        self.check_up()?;
        self.control.flag_send(id, false);
        Ok(())
    }

    async fn receive_incoming_file(
        &self,
        id: &str,
        name: &str,
        body: &mut (dyn tokio::io::AsyncRead + Unpin + Send),
    ) -> Result<()> {
        use tokio::io::AsyncReadExt;
        self.check_up()?;
        if name != SIM_GUEST_FILE {
            return Err(self.failed(Op::Migrate, format!("a simulated host receives no file {name}")));
        }
        let mut bytes = Vec::new();
        body.read_to_end(&mut bytes).await.map_err(|e| self.failed(Op::Migrate, e.to_string()))?;
        let guest: Guest = serde_json::from_slice(&bytes).map_err(|e| self.failed(Op::Migrate, e.to_string()))?;
        let mut state = self.control.state();
        match state.incoming.get_mut(id) {
            Some(slot) if slot.host == self.host && guest.spec.id == id => {
                slot.received = Some(guest);
                Ok(())
            }
            _ => Err(self.failed(Op::Migrate, format!("{} is not waiting for guest {id}", self.host))),
        }
    }
}

/// The file a simulated guest travels in between agents' hosts.
const SIM_GUEST_FILE: &str = "sim-guest.json";

impl SimHypervisor {
    /// Sends `guest` to a destination in another process (its agent's
    /// transfer endpoint, `to.uri`).
    async fn send_remote(&self, id: &str, to: &IncomingGuest, guest: &Guest) -> Result<()> {
        let token = self.transfer.as_ref().map(|(_, t)| t.as_str());
        let file = std::env::temp_dir().join(format!("ecsd-sim-{}-{id}.json", std::process::id()));
        let json = serde_json::to_vec(guest).map_err(|e| self.failed(Op::Migrate, e.to_string()))?;
        tokio::fs::write(&file, json).await.map_err(|e| self.failed(Op::Migrate, e.to_string()))?;
        let sent = crate::qemu::moves::http_put(&format!("{}/{SIM_GUEST_FILE}", to.uri), token, &file).await;
        let _ = tokio::fs::remove_file(&file).await;
        sent.map_err(|e| self.failed(Op::Migrate, e.to_string()))
    }
}
