//! Server metadata (N39–N44) and tags (N62–N67).

use std::collections::BTreeMap;

use ecs_types::AuthContext;
use ecs_types::server::VmState;

use crate::{Core, Error, Invalid, Kind, Result, policy};

/// Server metadata under this prefix steers ecsd's fault injection for
/// clients that cannot call the admin API (as Rackspace's Mimic did); no
/// real metadata key starts so. Honoured on Nova and ECS creates:
/// - `ecsd:fail-build` (value: the message): the build fails, the server
///   goes to ERROR with that fault (an ECS job: FAIL, Ecs.0204);
/// - `ecsd:no-valid-host`: the build finds no host (Nova's NoValidHost
///   fault; ECS: Ecs.0319);
/// - `ecsd:build-latency-ms` (value: milliseconds): the build takes that
///   much longer;
/// - `ecsd:fail-<action>` (value: the message), `<action>` one of
///   [`FAIL_ACTIONS`]: that action on the server fails as a host's would.
pub const TRIGGER_PREFIX: &str = "ecsd:";
pub const FAIL_BUILD_KEY: &str = "ecsd:fail-build";
pub const NO_VALID_HOST_KEY: &str = "ecsd:no-valid-host";
pub const BUILD_LATENCY_KEY: &str = "ecsd:build-latency-ms";
/// The actions `ecsd:fail-<action>` can fail (task kinds; `reboot` covers
/// hard reboots too).
pub const FAIL_ACTIONS: &[&str] = &[
    "stop",
    "start",
    "reboot",
    "pause",
    "unpause",
    "suspend",
    "resume",
    "resize",
    "migrate",
    "confirmResize",
    "revertResize",
    "rebuild",
    "createImage",
    "shelve",
    "unshelve",
    "rescue",
    "unrescue",
    "delete",
];

/// The message `ecsd:fail-<action>` gives a task of `kind` on a server
/// with `metadata`, if any.
pub(crate) fn injected_failure(metadata: &BTreeMap<String, String>, kind: &str) -> Option<String> {
    let action = if kind == "reboot_hard" { "reboot" } else { kind };
    if !FAIL_ACTIONS.contains(&action) {
        return None;
    }
    let message = metadata.get(&format!("{TRIGGER_PREFIX}fail-{action}"))?;
    Some(if message.is_empty() { format!("{action} failed (ecsd:fail-{action})") } else { message.clone() })
}

/// Nova's per-server tag limit.
pub const MAX_TAGS: usize = 50;

/// The rules every stored tag follows, whichever dialect sent it: at most
/// [`MAX_TAGS`] per server, and no control character (a tag is echoed in a
/// `Location` header and in logs). Each dialect checks its own syntax first.
pub(crate) fn check_tags(tags: &[String]) -> Result<()> {
    if tags.len() > MAX_TAGS {
        return Err(Invalid::TooManyTags { max: MAX_TAGS }.into());
    }
    if let Some(tag) = tags.iter().find(|t| t.chars().any(char::is_control)) {
        return Err(Invalid::TagCharacters { tag: tag.clone() }.into());
    }
    Ok(())
}

impl Core {
    /// Checks that metadata may change now (Nova: active, paused,
    /// suspended or stopped; not locked for a member).
    async fn server_for_metadata(&self, ctx: &AuthContext, id: &str) -> Result<ecs_types::server::Server> {
        let server = self.server_get(ctx, id).await?;
        self.check_locked(ctx, &server, super::state::Action::Update)?;
        if !matches!(server.vm_state, VmState::Active | VmState::Paused | VmState::Suspended | VmState::Stopped) {
            return Err(Error::conflict(format!(
                "Cannot 'update_metadata' instance {id} while it is in vm_state {}",
                server.vm_state
            )));
        }
        Ok(server)
    }

    /// Merges (or with `replace`, replaces) a server's metadata; returns it all.
    pub async fn server_metadata_set(
        &self,
        ctx: &AuthContext,
        id: &str,
        items: BTreeMap<String, String>,
        replace: bool,
    ) -> Result<BTreeMap<String, String>> {
        policy::authorize_write(
            ctx,
            if replace { "os_compute_api:server-metadata:update_all" } else { "os_compute_api:server-metadata:update" },
        )?;
        let server = self.server_for_metadata(ctx, id).await?;
        let mut metadata = if replace { BTreeMap::new() } else { server.metadata };
        metadata.extend(items);
        self.check_metadata_quota(&server.project_id, metadata.len()).await?;
        self.store.server_set_metadata(id, &metadata).await.map_err(Error::not_found_as(Kind::Server, id))?;
        Ok(metadata)
    }

    pub async fn server_metadata_delete(&self, ctx: &AuthContext, id: &str, key: &str) -> Result<()> {
        policy::authorize_write(ctx, "os_compute_api:server-metadata:delete")?;
        let server = self.server_for_metadata(ctx, id).await?;
        if !server.metadata.contains_key(key) {
            return Err(Error::not_found(Kind::MetadataItem, ""));
        }
        self.store.server_metadata_delete(id, key).await.map_err(Error::not_found_as(Kind::MetadataItem, ""))
    }

    /// Replaces a server's tags; returns them sorted.
    pub async fn server_tags_set(&self, ctx: &AuthContext, id: &str, mut tags: Vec<String>) -> Result<Vec<String>> {
        policy::authorize_write(ctx, "os_compute_api:os-server-tags:update_all")?;
        let server = self.server_get(ctx, id).await?;
        self.check_locked(ctx, &server, super::state::Action::Update)?;
        tags.sort();
        tags.dedup();
        check_tags(&tags)?;
        self.store.server_set_tags(id, &tags).await.map_err(Error::not_found_as(Kind::Server, id))?;
        Ok(tags)
    }

    /// Adds one tag; true if it was new.
    pub async fn server_tag_add(&self, ctx: &AuthContext, id: &str, tag: &str) -> Result<bool> {
        policy::authorize_write(ctx, "os_compute_api:os-server-tags:update")?;
        let server = self.server_get(ctx, id).await?;
        if server.tags.iter().any(|t| t == tag) {
            return Ok(false);
        }
        let mut tags = server.tags;
        tags.push(tag.to_string());
        self.server_tags_set(ctx, id, tags).await?;
        Ok(true)
    }

    pub async fn server_tag_delete(&self, ctx: &AuthContext, id: &str, tag: &str) -> Result<()> {
        policy::authorize_write(ctx, "os_compute_api:os-server-tags:delete")?;
        let server = self.server_get(ctx, id).await?;
        // The usual miss is answered from this read; the store's NotFound
        // is the loser of a race with another delete.
        if !server.tags.iter().any(|t| t == tag) {
            return Err(Error::not_found(Kind::Tag, tag));
        }
        self.check_locked(ctx, &server, super::state::Action::Update)?;
        self.store.server_tag_delete(id, tag).await.map_err(Error::not_found_as(Kind::Tag, tag))
    }
}

/// A tag as a 2D tag (ECS-native): `key=value` split at the first `=`; a
/// tag without one is a key with the value "".
pub fn tag_pair(tag: &str) -> (&str, &str) {
    tag.split_once('=').unwrap_or((tag, ""))
}

/// The tag a 2D tag is stored as (the same set Nova's 1D tags are).
pub fn tag_of_pair(key: &str, value: &str) -> String {
    if value.is_empty() { key.to_string() } else { format!("{key}={value}") }
}

impl Core {
    /// Sets 2D tags on a server: each replaces the tags of its key.
    pub async fn server_tag_pairs_set(&self, ctx: &AuthContext, id: &str, pairs: &[(String, String)]) -> Result<()> {
        policy::authorize_write(ctx, "os_compute_api:os-server-tags:update")?;
        let server = self.server_get(ctx, id).await?;
        let mut tags: Vec<String> =
            server.tags.into_iter().filter(|t| !pairs.iter().any(|(k, _)| k == tag_pair(t).0)).collect();
        tags.extend(pairs.iter().map(|(k, v)| tag_of_pair(k, v)));
        self.server_tags_set(ctx, id, tags).await?;
        Ok(())
    }

    /// Deletes 2D tags from a server: a key's every tag, or with a value
    /// only that pair. Missing tags are no error.
    pub async fn server_tag_pairs_delete(
        &self,
        ctx: &AuthContext,
        id: &str,
        pairs: &[(String, Option<String>)],
    ) -> Result<()> {
        policy::authorize_write(ctx, "os_compute_api:os-server-tags:delete")?;
        let server = self.server_get(ctx, id).await?;
        let doomed = |t: &str| {
            let (key, value) = tag_pair(t);
            pairs.iter().any(|(k, v)| k == key && v.as_deref().is_none_or(|v| v == value))
        };
        if !server.tags.iter().any(|t| doomed(t)) {
            return Ok(());
        }
        let tags = server.tags.into_iter().filter(|t| !doomed(t)).collect();
        self.server_tags_set(ctx, id, tags).await?;
        Ok(())
    }
}
