//! Key pairs: import (SSH public keys and X.509 certificates), server-side
//! generation, fingerprints computed exactly as Nova computes them, and the
//! `key_pairs` quota. Key pairs belong to a user; admins may act for any
//! user (Nova 2.10).

use base64::Engine;
use ecs_store::{KeypairCreate, KeypairInsertRefusal, StoreError};
use ecs_types::{AuthContext, Keypair, KeypairType};
use md5::Md5;
use sha1::{Digest, Sha1};

use crate::{Core, Error, Kind, Resource, Result, policy};

/// What a caller asks to create.
#[derive(Debug, Clone)]
pub struct KeypairRequest {
    pub name: String,
    pub key_type: KeypairType,
    /// `None`: generate a key pair and return its private half.
    pub public_key: Option<String>,
    /// Another user's id (admins only).
    pub user_id: Option<String>,
}

/// A created key pair, with the private key when ecsd generated it.
#[derive(Debug, Clone)]
pub struct CreatedKeypair {
    pub keypair: Keypair,
    pub private_key: Option<String>,
}

fn colon_hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

fn invalid_keypair(reason: &str) -> Error {
    Error::invalid(format!("Keypair data is invalid: {reason}"))
}

/// Nova's SSH fingerprint: MD5 of the key blob (the second field), as
/// colon-separated hex. The key must parse as an OpenSSH public key.
pub fn ssh_fingerprint(public_key: &str) -> Result<String> {
    let fail = || invalid_keypair("failed to generate fingerprint");
    let parsed = ssh_key::PublicKey::from_openssh(public_key.trim_end()).map_err(|_| fail())?;
    if let Some(ecdsa) = parsed.key_data().ecdsa()
        && !is_valid_ecdsa_point(ecdsa)
    {
        return Err(fail());
    }
    let blob = public_key.split(' ').nth(1).ok_or_else(fail)?;
    let raw = base64::engine::general_purpose::STANDARD.decode(blob.trim_end()).map_err(|_| fail())?;
    Ok(colon_hex(&Md5::digest(&raw)))
}

/// Whether an ECDSA key is what Nova (through `cryptography`) loads: an
/// uncompressed SEC1 point that lies on the curve its key type names
/// (ssh-key has already checked that the curve name and point size agree).
fn is_valid_ecdsa_point(key: &ssh_key::public::EcdsaPublicKey) -> bool {
    use ssh_key::public::EcdsaPublicKey as Key;
    const UNCOMPRESSED: u8 = 0x04;
    let sec1 = key.as_sec1_bytes();
    sec1.first() == Some(&UNCOMPRESSED)
        && match key {
            Key::NistP256(_) => p256::PublicKey::from_sec1_bytes(sec1).is_ok(),
            Key::NistP384(_) => p384::PublicKey::from_sec1_bytes(sec1).is_ok(),
            Key::NistP521(_) => p521::PublicKey::from_sec1_bytes(sec1).is_ok(),
        }
}

/// Nova's X.509 fingerprint: SHA-1 of the certificate's DER.
pub fn x509_fingerprint(pem: &str) -> Result<String> {
    use x509_cert::der::{DecodePem, Encode};
    let cert = x509_cert::Certificate::from_pem(pem.as_bytes())
        .map_err(|e| invalid_keypair(&format!("failed to generate X509 fingerprint. Error message: {e}")))?;
    let der = cert
        .to_der()
        .map_err(|e| invalid_keypair(&format!("failed to generate X509 fingerprint. Error message: {e}")))?;
    Ok(colon_hex(&Sha1::digest(&der)))
}

/// An RSA-2048 key pair as Nova generates it: PKCS#1 PEM private key,
/// `ssh-rsa … Generated-by-Nova` public key.
pub fn generate_ssh_keypair() -> Result<(String, String, String)> {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    let internal = |e: &dyn std::fmt::Display| Error::Internal(format!("key generation: {e}"));
    let private = rsa::RsaPrivateKey::new(&mut ecs_types::random::rng(), 2048).map_err(|e| internal(&e))?;
    let pem = private.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).map_err(|e| internal(&e))?;
    let ssh_public = ssh_key::public::RsaPublicKey::try_from(private.to_public_key()).map_err(|e| internal(&e))?;
    let openssh =
        ssh_key::PublicKey::from(ssh_key::public::KeyData::Rsa(ssh_public)).to_openssh().map_err(|e| internal(&e))?;
    let public = format!("{} Generated-by-Nova", openssh.trim_end());
    let fingerprint = ssh_fingerprint(&public)?;
    Ok((pem.to_string(), public, fingerprint))
}

/// A self-signed client certificate for WinRM, made as Nova makes it: by
/// the `openssl` command. Returns (base64 PKCS#12, PEM cert, fingerprint).
pub fn generate_x509_keypair(user_id: &str) -> Result<(String, String, String)> {
    use std::process::{Command, Stdio};
    let internal = |e: &dyn std::fmt::Display| Error::Internal(format!("x509 generation: {e}"));
    let dir = tempfile::tempdir().map_err(|e| internal(&e))?;
    let conf = dir.path().join("openssl.conf");
    let key = dir.path().join("key.pem");
    std::fs::write(
        &conf,
        format!(
            "distinguished_name = req_distinguished_name\n[req_distinguished_name]\n\
             [v3_req_client]\nextendedKeyUsage = clientAuth\n\
             subjectAltName = otherName:1.3.6.1.4.1.311.20.2.3;UTF8:{user_id}@localhost\n"
        ),
    )
    .map_err(|e| internal(&e))?;
    let cert = Command::new("openssl")
        .args(["req", "-x509", "-nodes", "-days", "3650", "-newkey", "rsa:2048", "-outform", "PEM"])
        .arg("-config")
        .arg(&conf)
        .arg("-keyout")
        .arg(&key)
        .args(["-subj", &format!("/CN={user_id}"), "-extensions", "v3_req_client"])
        .stderr(Stdio::null())
        .output()
        .map_err(|e| internal(&e))?;
    if !cert.status.success() {
        return Err(Error::internal("openssl req failed"));
    }
    let certificate = String::from_utf8(cert.stdout).map_err(|e| internal(&e))?;
    let mut pkcs12 = Command::new("openssl")
        .args(["pkcs12", "-export", "-password", "pass:", "-inkey"])
        .arg(&key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| internal(&e))?;
    {
        use std::io::Write;
        let mut stdin = pkcs12.stdin.take().ok_or_else(|| Error::internal("openssl stdin"))?;
        stdin.write_all(certificate.as_bytes()).map_err(|e| internal(&e))?;
    }
    let out = pkcs12.wait_with_output().map_err(|e| internal(&e))?;
    if !out.status.success() {
        return Err(Error::internal("openssl pkcs12 failed"));
    }
    let private = base64::engine::general_purpose::STANDARD.encode(out.stdout);
    let fingerprint = x509_fingerprint(&certificate)?;
    Ok((private, certificate, fingerprint))
}

fn keypair_not_found(name: &str, user_id: &str) -> Error {
    Error::not_found(Kind::Keypair { user_id: user_id.to_string() }, name)
}

impl Core {
    /// The user a key pair call acts for: the caller, or (admins) another.
    fn keypair_owner<'a>(&self, ctx: &'a AuthContext, user_id: Option<&'a str>, rule: &str) -> Result<&'a str> {
        match user_id {
            Some(other) if other != ctx.user_id => {
                policy::require_admin(ctx, &format!("os_compute_api:os-keypairs:{rule}"))?;
                Ok(other)
            }
            _ => Ok(&ctx.user_id),
        }
    }

    pub async fn keypair_create(&self, ctx: &AuthContext, req: KeypairRequest) -> Result<CreatedKeypair> {
        policy::authorize_write(ctx, "os_compute_api:os-keypairs:create")?;
        let owner = self.keypair_owner(ctx, req.user_id.as_deref(), "create")?.to_string();
        let name = req.name.trim().to_string();
        let (public_key, fingerprint, private_key) = match (&req.public_key, req.key_type) {
            (Some(pk), KeypairType::Ssh) => (pk.clone(), ssh_fingerprint(pk)?, None),
            (Some(pk), KeypairType::X509) => (pk.clone(), x509_fingerprint(pk)?, None),
            (None, key_type) => {
                let owner = owner.clone();
                let (private, public, fp) = tokio::task::spawn_blocking(move || match key_type {
                    KeypairType::Ssh => generate_ssh_keypair(),
                    KeypairType::X509 => generate_x509_keypair(&owner),
                })
                .await
                .map_err(|e| Error::Internal(e.to_string()))??;
                (public, fp, Some(private))
            }
        };
        let insert = KeypairCreate {
            user_id: owner.clone(),
            name: name.clone(),
            key_type: req.key_type,
            public_key,
            fingerprint,
        };
        // Nova's key_pairs limit is per user, set through the project's quotas.
        let limit = match ctx.project_id() {
            Some(project) => self.quota_limit(project, "key_pairs").await?,
            None => self.config.keypair_quota,
        };
        match self.store.keypair_create(&insert, limit).await {
            Ok(Ok(keypair)) => Ok(CreatedKeypair { keypair, private_key }),
            Ok(Err(KeypairInsertRefusal::OverQuota)) => Err(Error::quota(Resource::KeyPairs, 1, 0, 0)),
            Ok(Err(KeypairInsertRefusal::Exists)) => Err(Error::conflict(format!("Key pair '{name}' already exists."))),
            Err(StoreError::NotFound) => Err(Error::invalid(format!("User {owner} could not be found."))),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn keypair_get(&self, ctx: &AuthContext, name: &str, user_id: Option<&str>) -> Result<Keypair> {
        let owner = self.keypair_owner(ctx, user_id, "show")?;
        self.store.keypair_get(owner, name).await.map_err(Error::not_found_or(|| keypair_not_found(name, owner)))
    }

    pub async fn keypair_list(
        &self,
        ctx: &AuthContext,
        user_id: Option<&str>,
        limit: Option<i64>,
        marker: Option<&str>,
    ) -> Result<Vec<Keypair>> {
        let owner = self.keypair_owner(ctx, user_id, "index")?;
        let limit = limit.map(|l| l.min(crate::flavor::MAX_LIMIT));
        match self.store.keypair_list(owner, limit, marker).await {
            Err(StoreError::NotFound) => {
                Err(Error::invalid(format!("Marker {} could not be found.", marker.unwrap_or_default())))
            }
            other => Ok(other?),
        }
    }

    /// A key pair of the user who owns the server `server_id` (the one
    /// the caller may see): a rebuild installs the owner's keys.
    pub async fn server_owner_keypair(&self, ctx: &AuthContext, server_id: &str, name: &str) -> Result<Keypair> {
        let owner = self.server_get(ctx, server_id).await?.user_id;
        self.store.keypair_get(&owner, name).await.map_err(Error::not_found_or(|| keypair_not_found(name, &owner)))
    }

    pub async fn keypair_delete(&self, ctx: &AuthContext, name: &str, user_id: Option<&str>) -> Result<()> {
        policy::authorize_write(ctx, "os_compute_api:os-keypairs:delete")?;
        let owner = self.keypair_owner(ctx, user_id, "delete")?;
        self.store.keypair_delete(owner, name).await.map_err(Error::not_found_or(|| keypair_not_found(name, owner)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vector: `ssh-keygen -l -E md5 -f key.pub` on this key prints
    // MD5:1f:4d:... — and Nova's generate_fingerprint gives the same digits.
    const RSA_PUB: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDx8nkQv/zgGgB4rMYmIf+6A4l6Rr+o/6lHBQdW5aYd44bd8JttDCE/F/pNRr0lRE+PiqSPO8nDPHw0010JeMH9gYgnnFlyY3/OcJ02RhIPyyxYpv9FhY+2YiUkpwFOcLImyrxEsYXpD/0d3ac30bNH6Sw9JD9UZHYcpSxsIbECHw== Generated-by-Nova";

    #[test]
    fn ssh_fingerprint_is_md5_of_blob() {
        let blob = base64::engine::general_purpose::STANDARD.decode(RSA_PUB.split(' ').nth(1).unwrap()).unwrap();
        let expected = colon_hex(&Md5::digest(&blob));
        assert_eq!(ssh_fingerprint(RSA_PUB).unwrap(), expected);
        assert_eq!(expected.len(), 47);
    }

    #[test]
    fn garbage_is_not_a_key() {
        assert!(matches!(ssh_fingerprint("ssh-rsa not-base64"), Err(Error::Invalid(_))));
        assert!(matches!(ssh_fingerprint(""), Err(Error::Invalid(_))));
        assert!(matches!(
            x509_fingerprint("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
            Err(Error::Invalid(_))
        ));
    }

    #[test]
    fn generated_key_round_trips() {
        let (private, public, fp) = generate_ssh_keypair().unwrap();
        assert!(private.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        assert!(public.starts_with("ssh-rsa ") && public.ends_with(" Generated-by-Nova"));
        assert_eq!(ssh_fingerprint(&public).unwrap(), fp);
    }
}
