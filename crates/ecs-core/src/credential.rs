//! EC2-style credentials (Keystone's `OS-EC2` API): access key / secret
//! key pairs that sign requests ([`crate::signing`]).

use ecs_store::{Credential, StoreError};
use ecs_types::AuthContext;
use rand::Rng;

use crate::{Core, Error, Forbidden, Kind, Result, policy};

const AK_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const SK_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn random_string(alphabet: &[u8], len: usize) -> String {
    let mut rng = ecs_types::random::rng();
    (0..len).map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char).collect()
}

/// A new access key in Huawei's style: 20 upper-case alphanumerics.
pub fn new_access_key() -> String {
    random_string(AK_ALPHABET, 20)
}

/// A new secret key: 40 alphanumerics.
pub fn new_secret_key() -> String {
    random_string(SK_ALPHABET, 40)
}

fn not_found(access: &str) -> Error {
    Error::not_found(Kind::Credential, access)
}

impl Core {
    /// May `caller` manage `user_id`'s credentials? (Keystone's
    /// `identity:ec2_*_credential`: admin or owner.)
    fn credential_owner(&self, caller: &AuthContext, user_id: &str, rule: &str) -> Result<()> {
        if caller.user_id == user_id || caller.is_admin() { Ok(()) } else { Err(policy::forbidden(rule)) }
    }

    async fn credential_user_exists(&self, user_id: &str) -> Result<()> {
        self.store
            .user_get(user_id)
            .await
            .map(|_| ())
            .map_err(Error::not_found_or(|| Error::not_found(Kind::User, user_id)))
    }

    /// `POST /v3/users/{user_id}/credentials/OS-EC2`. The user must hold a
    /// role on the project (Keystone only finds out when the key is used;
    /// refusing up front spares a key that could never authenticate).
    pub async fn credential_create(&self, caller: &AuthContext, user_id: &str, project_id: &str) -> Result<Credential> {
        policy::authorize_write(caller, "identity:ec2_create_credential")?;
        self.credential_owner(caller, user_id, "identity:ec2_create_credential")?;
        self.credential_user_exists(user_id).await?;
        self.store
            .project_get(project_id)
            .await
            .map_err(Error::not_found_or(|| Error::not_found(Kind::Project, project_id)))?;
        if self.store.roles_for(user_id, project_id).await?.is_empty() {
            return Err(Error::Forbidden(Forbidden::Other(format!(
                "User {user_id} has no access to project {project_id}."
            ))));
        }
        self.credential_insert(user_id, project_id).await
    }

    /// Creates a credential without a caller (the `ecsd credential create`
    /// admin command).
    pub async fn credential_insert(&self, user_id: &str, project_id: &str) -> Result<Credential> {
        loop {
            let credential = Credential {
                access: new_access_key(),
                secret: new_secret_key(),
                user_id: user_id.to_string(),
                project_id: project_id.to_string(),
                created_at: ecs_types::clock::now(),
            };
            match self.store.credential_insert(&credential).await {
                Ok(()) => return Ok(credential),
                // 36^20 keys: a collision is all but impossible; draw again.
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    pub async fn credential_list(&self, caller: &AuthContext, user_id: &str) -> Result<Vec<Credential>> {
        self.credential_owner(caller, user_id, "identity:ec2_list_credentials")?;
        self.credential_user_exists(user_id).await?;
        Ok(self.store.credential_list(user_id).await?)
    }

    pub async fn credential_get(&self, caller: &AuthContext, user_id: &str, access: &str) -> Result<Credential> {
        self.credential_owner(caller, user_id, "identity:ec2_get_credential")?;
        match self.store.credential_get(access).await {
            Ok(c) if c.user_id == user_id => Ok(c),
            Ok(_) | Err(StoreError::NotFound) => Err(not_found(access)),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn credential_delete(&self, caller: &AuthContext, user_id: &str, access: &str) -> Result<()> {
        policy::authorize_write(caller, "identity:ec2_delete_credential")?;
        self.credential_get(caller, user_id, access).await?;
        self.store.credential_delete(access).await.map_err(Error::not_found_or(|| not_found(access)))
    }
}
