//! What travels over the internal API between an API node and an agent:
//! a hypervisor call (its method in the path, its arguments as a JSON
//! object), and its result or typed error.

use ecs_hypervisor::{
    BootSource, DiskSpec, GuestSpec, HypervisorError, IncomingGuest, MoveKind, NicSpec, Op, PowerState, RebootKind,
};
use serde::{Deserialize, Serialize};

/// One [`ecs_hypervisor::Hypervisor`] method and its arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum Call {
    Spawn { spec: Box<GuestSpec> },
    Destroy { id: String },
    Info { id: String },
    List,
    PowerOn { id: String },
    PowerOff { id: String, graceful: bool },
    Reboot { id: String, kind: RebootKind },
    Pause { id: String },
    Unpause { id: String },
    Suspend { id: String },
    Resume { id: String },
    ConsoleLog { id: String, tail: Option<usize> },
    AttachDisk { id: String, disk: DiskSpec },
    DetachDisk { id: String, disk_id: String },
    AttachNic { id: String, nic: NicSpec },
    DetachNic { id: String, port_id: String },
    Resize { id: String, vcpus: u32, ram_mb: u64, root_gb: u64 },
    Snapshot { id: String, image_id: String },
    DeleteDisk { disk_id: String },
    StoredDisks,
    SetAdminPassword { id: String, password: String },
    SetPublicKeys { id: String, keys: Vec<String> },
    VncConsole { id: String },
    PrepareIncoming { spec: Box<GuestSpec>, kind: MoveKind },
    SendGuest { id: String, to: IncomingGuest, kind: MoveKind },
    FinishIncoming { spec: Box<GuestSpec>, kind: MoveKind, power_on: bool },
    AbortIncoming { id: String },
    CancelSend { id: String },
    ForceCompleteSend { id: String },
    Rescue { id: String, rescue: BootSource, admin_pass: Option<String> },
    Unrescue { id: String },
    InjectNmi { id: String },
}

impl Call {
    /// The method's name: the last segment of its path.
    pub fn method(&self) -> String {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(mut o)) => match o.remove("method") {
                Some(serde_json::Value::String(m)) => m,
                _ => String::new(),
            },
            _ => String::new(),
        }
    }

    /// The arguments: the call without its method.
    pub fn arguments(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(o) = value.as_object_mut() {
            o.remove("method");
        }
        value
    }

    /// The call `method` with `arguments` (a JSON object, or nothing).
    pub fn from_parts(method: &str, arguments: serde_json::Value) -> Result<Call, String> {
        let mut object = match arguments {
            serde_json::Value::Object(o) => o,
            serde_json::Value::Null => serde_json::Map::new(),
            _ => return Err("the arguments must be a JSON object".into()),
        };
        if object.contains_key("method") {
            return Err("the method is named by the path only".into());
        }
        object.insert("method".into(), method.into());
        serde_json::from_value(serde_json::Value::Object(object)).map_err(|e| format!("{method}: {e}"))
    }

    /// The guest the call acts on, whose fence it is checked against;
    /// None for calls on the host as a whole.
    pub fn guest(&self) -> Option<&str> {
        match self {
            Call::Spawn { spec } | Call::PrepareIncoming { spec, .. } | Call::FinishIncoming { spec, .. } => {
                Some(&spec.id)
            }
            Call::Destroy { id }
            | Call::Info { id }
            | Call::PowerOn { id }
            | Call::PowerOff { id, .. }
            | Call::Reboot { id, .. }
            | Call::Pause { id }
            | Call::Unpause { id }
            | Call::Suspend { id }
            | Call::Resume { id }
            | Call::ConsoleLog { id, .. }
            | Call::AttachDisk { id, .. }
            | Call::DetachDisk { id, .. }
            | Call::AttachNic { id, .. }
            | Call::DetachNic { id, .. }
            | Call::Resize { id, .. }
            | Call::Snapshot { id, .. }
            | Call::SetAdminPassword { id, .. }
            | Call::SetPublicKeys { id, .. }
            | Call::VncConsole { id }
            | Call::SendGuest { id, .. }
            | Call::AbortIncoming { id }
            | Call::CancelSend { id }
            | Call::ForceCompleteSend { id }
            | Call::Rescue { id, .. }
            | Call::Unrescue { id }
            | Call::InjectNmi { id } => Some(id),
            Call::List | Call::StoredDisks | Call::DeleteDisk { .. } => None,
        }
    }

    /// Whether it may take long: moving a guest copies its disk or memory.
    pub fn is_long(&self) -> bool {
        matches!(self, Call::SendGuest { .. } | Call::FinishIncoming { .. } | Call::PrepareIncoming { .. })
    }
}

/// A [`HypervisorError`] on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WireError {
    NotFound {
        id: String,
    },
    HostDown {
        host: String,
    },
    InvalidState {
        id: String,
        state: PowerState,
        op: Op,
    },
    Failed {
        host: String,
        op: Op,
        message: String,
    },
    Unsupported {
        op: Op,
        reason: String,
    },
    Fenced {
        id: String,
        message: String,
    },
    /// The request itself was wrong (a bug or a version skew).
    BadRequest {
        message: String,
    },
}

impl From<HypervisorError> for WireError {
    fn from(e: HypervisorError) -> Self {
        match e {
            HypervisorError::NotFound(id) => WireError::NotFound { id },
            HypervisorError::HostDown(host) => WireError::HostDown { host },
            HypervisorError::InvalidState { id, state, op } => WireError::InvalidState { id, state, op },
            HypervisorError::Failed { host, op, message } => WireError::Failed { host, op, message },
            HypervisorError::Unsupported { op, reason } => WireError::Unsupported { op, reason },
            HypervisorError::Fenced { id, message } => WireError::Fenced { id, message },
        }
    }
}

impl WireError {
    /// The driver's error; a bad request counts as the call failing on `host`.
    pub fn into_hypervisor(self, host: &str, op: Op) -> HypervisorError {
        match self {
            WireError::NotFound { id } => HypervisorError::NotFound(id),
            WireError::HostDown { host } => HypervisorError::HostDown(host),
            WireError::InvalidState { id, state, op } => HypervisorError::InvalidState { id, state, op },
            WireError::Failed { host, op, message } => HypervisorError::Failed { host, op, message },
            WireError::Unsupported { op, reason } => HypervisorError::Unsupported { op, reason },
            WireError::Fenced { id, message } => HypervisorError::Fenced { id, message },
            WireError::BadRequest { message } => HypervisorError::Failed { host: host.to_string(), op, message },
        }
    }
}

/// An agent's answer: `{"ok": result}` or `{"error": WireError}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    Ok(serde_json::Value),
    Error(WireError),
}

/// The [`Op`] a call counts as, for errors made on the caller's side.
pub fn op_of(call: &Call) -> Op {
    match call {
        Call::Spawn { .. } => Op::Spawn,
        Call::Destroy { .. } | Call::Info { .. } | Call::List | Call::DeleteDisk { .. } | Call::StoredDisks => {
            Op::Destroy
        }
        Call::PowerOn { .. } => Op::PowerOn,
        Call::PowerOff { .. } => Op::PowerOff,
        Call::Reboot { .. } => Op::Reboot,
        Call::Pause { .. } => Op::Pause,
        Call::Unpause { .. } => Op::Unpause,
        Call::Suspend { .. } => Op::Suspend,
        Call::Resume { .. } => Op::Resume,
        Call::ConsoleLog { .. } => Op::ConsoleLog,
        Call::AttachDisk { .. } => Op::AttachDisk,
        Call::DetachDisk { .. } => Op::DetachDisk,
        Call::AttachNic { .. } => Op::AttachNic,
        Call::DetachNic { .. } => Op::DetachNic,
        Call::Resize { .. } => Op::Resize,
        Call::Snapshot { .. } => Op::Snapshot,
        Call::SetAdminPassword { .. } => Op::SetPassword,
        Call::SetPublicKeys { .. } => Op::SetKeys,
        Call::VncConsole { .. } => Op::RemoteConsole,
        Call::PrepareIncoming { .. }
        | Call::SendGuest { .. }
        | Call::FinishIncoming { .. }
        | Call::AbortIncoming { .. }
        | Call::CancelSend { .. }
        | Call::ForceCompleteSend { .. } => Op::Migrate,
        Call::Rescue { .. } | Call::Unrescue { .. } => Op::Rescue,
        Call::InjectNmi { .. } => Op::InjectNmi,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_splits_into_method_and_arguments_and_back() {
        let calls = [
            Call::List,
            Call::PowerOff { id: "a".into(), graceful: true },
            Call::Reboot { id: "a".into(), kind: RebootKind::Hard },
            Call::ConsoleLog { id: "a".into(), tail: None },
        ];
        for call in calls {
            let back = Call::from_parts(&call.method(), call.arguments()).unwrap();
            assert_eq!(back, call);
        }
        assert_eq!(Call::List.method(), "list");
        assert_eq!(Call::PowerOn { id: "x".into() }.method(), "power_on");
    }

    #[test]
    fn bad_calls_are_refused() {
        assert!(Call::from_parts("no_such", serde_json::json!({})).is_err());
        assert!(Call::from_parts("power_on", serde_json::json!({})).is_err());
        assert!(Call::from_parts("power_on", serde_json::json!({"id": 1})).is_err());
        assert!(Call::from_parts("power_on", serde_json::json!([])).is_err());
        assert!(Call::from_parts("power_on", serde_json::json!({"id": "a", "extra": 1})).is_err());
        assert!(Call::from_parts("power_on", serde_json::json!({"id": "a", "method": "destroy"})).is_err());
    }

    #[test]
    fn errors_keep_their_kind_over_the_wire() {
        let e = HypervisorError::Fenced { id: "g".into(), message: "older".into() };
        let wire: WireError = serde_json::from_str(&serde_json::to_string(&WireError::from(e)).unwrap()).unwrap();
        assert!(matches!(wire.into_hypervisor("h", Op::Spawn), HypervisorError::Fenced { .. }));
        let wire = WireError::from(HypervisorError::HostDown("h1".into()));
        assert!(wire.into_hypervisor("h1", Op::Spawn).is_host_down());
    }
}
