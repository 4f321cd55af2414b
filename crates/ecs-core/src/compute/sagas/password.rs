//! `changePassword`: the guest's admin password is set, and kept sealed
//! to the server's RSA key for `os-server-password`.

use ecs_types::server::Server;
use serde::{Deserialize, Serialize};

use super::{OnFailure, Saga, StepContext, StepError, StepResult, host_driver, idle};

/// A password change changes nothing when it fails; the fault tells why.
pub(super) const ON_FAILURE: OnFailure = OnFailure::RolledBackWithFault;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// The new password. A secret: the engine drops it from the stored
    /// parameters when the task ends, so only a finished task lacks it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_pass: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    SetPassword,
}

impl Saga for Params {
    type Step = Step;
    const STEPS: &'static [Step] = &[Step::SetPassword];

    fn event(&self, _step: Step) -> &'static str {
        "compute_set_admin_password"
    }

    async fn run(&self, _step: Step, cx: &mut StepContext<'_>, server: &mut Server) -> StepResult {
        let password =
            self.admin_pass.as_deref().ok_or_else(|| StepError::Fatal("the task carries no password".into()))?;
        host_driver(cx.core, server)?.set_admin_password(&server.id, password).await?;
        // What `os-server-password` returns: readable with the key pair's private key only.
        if let Some(sealed) = server.key_data.as_deref().and_then(|k| seal_to_key(k, password)) {
            cx.core.store.server_set_password(&server.id, Some(&sealed)).await?;
        }
        Ok(Some(idle()))
    }

    async fn undo(&self, _step: Step, _cx: &mut StepContext<'_>) -> Result<(), StepError> {
        Ok(())
    }
}

/// The admin password encrypted to an RSA public key (PKCS#1 v1.5, base64),
/// as a Windows guest posts it for `nova get-password` to decrypt. Other
/// key types cannot encrypt: there is then nothing to keep.
fn seal_to_key(openssh_public_key: &str, password: &str) -> Option<String> {
    use base64::Engine;
    let key = ssh_key::PublicKey::from_openssh(openssh_public_key.trim()).ok()?;
    let rsa_key = rsa::RsaPublicKey::try_from(key.key_data().rsa()?).ok()?;
    let sealed = rsa_key.encrypt(&mut ecs_types::random::rng(), rsa::Pkcs1v15Encrypt, password.as_bytes()).ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(sealed))
}
