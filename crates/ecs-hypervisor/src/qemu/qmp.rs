//! A QMP client: QEMU's JSON machine protocol over the guest's monitor
//! socket. One connection per operation — QEMU serves one client at a
//! time, and a fresh connection survives ecsd restarts without state.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};

/// How long a connection or a plain command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum QmpError {
    #[error("QMP socket: {0}")]
    Io(#[from] std::io::Error),
    #[error("QMP {command}: {class}: {desc}")]
    Command { command: String, class: String, desc: String },
    #[error("QMP: {0}")]
    Protocol(String),
}

pub struct Qmp {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    /// Events read while waiting for a command's answer.
    events: Vec<Value>,
}

impl Qmp {
    /// Connects and leaves capabilities negotiation behind.
    pub async fn connect(socket: &Path) -> Result<Qmp, QmpError> {
        let stream = tokio::time::timeout(COMMAND_TIMEOUT, UnixStream::connect(socket))
            .await
            .map_err(|_| QmpError::Protocol("timed out connecting".into()))??;
        let (read, writer) = stream.into_split();
        let mut qmp = Qmp { reader: BufReader::new(read), writer, events: Vec::new() };
        let greeting = qmp.read_message().await?;
        if greeting.get("QMP").is_none() {
            return Err(QmpError::Protocol(format!("unexpected greeting {greeting}")));
        }
        qmp.execute("qmp_capabilities", json!({})).await?;
        Ok(qmp)
    }

    async fn read_message(&mut self) -> Result<Value, QmpError> {
        let mut line = String::new();
        let read = tokio::time::timeout(COMMAND_TIMEOUT, self.reader.read_line(&mut line))
            .await
            .map_err(|_| QmpError::Protocol("timed out waiting for QEMU".into()))??;
        if read == 0 {
            return Err(QmpError::Protocol("QEMU closed the monitor".into()));
        }
        serde_json::from_str(&line).map_err(|e| QmpError::Protocol(format!("bad message {line:?}: {e}")))
    }

    /// Runs a command and returns its `return` value.
    pub async fn execute(&mut self, command: &str, arguments: Value) -> Result<Value, QmpError> {
        let mut request = json!({"execute": command});
        if arguments.as_object().is_some_and(|a| !a.is_empty()) {
            request["arguments"] = arguments;
        }
        let mut line = request.to_string();
        line.push('\n');
        self.writer.write_all(line.as_bytes()).await?;
        loop {
            let mut message = self.read_message().await?;
            if message.get("event").is_some() {
                self.events.push(message);
                continue;
            }
            if let Some(result) = message.get_mut("return") {
                return Ok(result.take());
            }
            let error = message.get("error").cloned().unwrap_or_default();
            let text = |k: &str| error.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
            return Err(QmpError::Command { command: command.into(), class: text("class"), desc: text("desc") });
        }
    }

    /// Waits up to `timeout` for an event `matches` accepts.
    pub async fn wait_event(&mut self, timeout: Duration, matches: impl Fn(&Value) -> bool) -> Result<bool, QmpError> {
        if let Some(i) = self.events.iter().position(&matches) {
            self.events.remove(i);
            return Ok(true);
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let mut line = String::new();
            match tokio::time::timeout_at(deadline, self.reader.read_line(&mut line)).await {
                Err(_) => return Ok(false),
                Ok(Ok(0)) => return Err(QmpError::Protocol("QEMU closed the monitor".into())),
                Ok(read) => {
                    read?;
                }
            }
            let message: Value = serde_json::from_str(&line).unwrap_or_default();
            if message.get("event").is_some() && matches(&message) {
                return Ok(true);
            }
        }
    }

    /// The run state QEMU reports (`running`, `paused`, `inmigrate`, …).
    pub async fn status(&mut self) -> Result<String, QmpError> {
        let status = self.execute("query-status", json!({})).await?;
        Ok(status.get("status").and_then(Value::as_str).unwrap_or_default().to_string())
    }
}

/// Whether a `DEVICE_DELETED` event is for `device`.
pub fn device_deleted(device: &str) -> impl Fn(&Value) -> bool + '_ {
    move |m| {
        m.get("event").and_then(Value::as_str) == Some("DEVICE_DELETED")
            && m.pointer("/data/device").and_then(Value::as_str) == Some(device)
    }
}
