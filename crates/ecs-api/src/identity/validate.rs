//! Request bodies in Keystone's terms: the checks of Keystone's JSON
//! schemas (`identity/schema.py`, `resource/schema.py`, `auth/schema.py`)
//! over a parsed `serde_json::Value`, worded as Keystone words them. A
//! field of the wrong type is refused, never dropped or defaulted.
//!
//! Keystone has two validators with two wordings: the resource APIs
//! (users, projects, credentials) say `Invalid input for field/attribute
//! name. Value: 0. 0 is not of type 'string'`; token issue (the older
//! one) says `Invalid input for field 'identity/methods': 0 is not of type
//! 'array'`, its path relative to `auth`.

use ecs_core::identity::{AppCredentialLookup, NewAccessRule, NewAppCredential, RoleRef};
use ecs_core::identity::{Credentials, DomainRef, ProjectRef, Scope, UserRef};
use ecs_core::identity::{NewProject, NewUser, RoleChanges};
use serde_json::{Map, Value};

use super::KeystoneError;

type Result<T> = std::result::Result<T, KeystoneError>;

/// Which of Keystone's validators words a refusal.
#[derive(Clone, Copy)]
enum Wording {
    Resource,
    Auth,
}

/// The `ValidationError` Keystone raises outside its schemas.
fn expecting(attribute: &str, target: &str) -> KeystoneError {
    KeystoneError::bad_request(format!(
        "Expecting to find {attribute} in {target}. The server could not comply with the request since it is \
         either malformed or otherwise incorrect. The client is assumed to be in error."
    ))
}

/// Python's `repr`, as jsonschema's messages show a value.
fn repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Value::Array(items) => format!("[{}]", items.iter().map(repr).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => {
            let entries: Vec<String> =
                map.iter().map(|(k, v)| format!("{}: {}", repr(&Value::String(k.clone())), repr(v))).collect();
            format!("{{{}}}", entries.join(", "))
        }
    }
}

/// Python's `str`: a string bare, anything else as its `repr`.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => repr(other),
    }
}

/// A value in a body and where it sits (`user/name`), for the message.
#[derive(Clone)]
struct Node<'a> {
    value: &'a Value,
    path: String,
    wording: Wording,
}

impl<'a> Node<'a> {
    fn root(value: &'a Value, wording: Wording) -> Self {
        Node { value, path: String::new(), wording }
    }

    fn error(&self, message: impl AsRef<str>) -> KeystoneError {
        let message = message.as_ref();
        if self.path.is_empty() {
            return KeystoneError::bad_request(message);
        }
        KeystoneError::bad_request(match self.wording {
            Wording::Resource => {
                let attribute = self.path.rsplit('/').next().unwrap_or(&self.path);
                format!("Invalid input for field/attribute {attribute}. Value: {}. {message}", text(self.value))
            }
            Wording::Auth => format!("Invalid input for field '{}': {message}", self.path),
        })
    }

    fn not_of_type(&self, types: &str) -> KeystoneError {
        self.error(format!("{} is not of type {types}", repr(self.value)))
    }

    /// The member `key`, absent or not.
    fn get(&self, key: &str) -> Option<Node<'a>> {
        let value = self.value.get(key)?;
        let path = if self.path.is_empty() { key.to_string() } else { format!("{}/{key}", self.path) };
        Some(Node { value, path, wording: self.wording })
    }

    /// The member `key`, absent or null being `None`.
    fn get_nullable(&self, key: &str) -> Option<Node<'a>> {
        self.get(key).filter(|n| !n.value.is_null())
    }

    fn required(&self, key: &str) -> Result<Node<'a>> {
        self.get(key).ok_or_else(|| self.error(format!("'{key}' is a required property")))
    }

    fn object(&self) -> Result<&'a Map<String, Value>> {
        self.value.as_object().ok_or_else(|| self.not_of_type("'object'"))
    }

    /// An object with no members but `allowed` (`additionalProperties: false`).
    fn object_of(&self, allowed: &[&str]) -> Result<&'a Map<String, Value>> {
        let map = self.object()?;
        match map.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(extra) => Err(self.error(format!("Additional properties are not allowed ('{extra}' was unexpected)"))),
            None => Ok(map),
        }
    }

    fn string(&self) -> Result<&'a str> {
        self.value.as_str().ok_or_else(|| self.not_of_type("'string'"))
    }

    /// A string of `min..=max` characters.
    fn string_len(&self, min: usize, max: usize) -> Result<&'a str> {
        let s = self.string()?;
        let len = s.chars().count();
        if len < min {
            return Err(self.error(format!("{} is too short", repr(self.value))));
        }
        if len > max {
            return Err(self.error(format!("{} is too long", repr(self.value))));
        }
        Ok(s)
    }

    /// Keystone's names: `min..=max` characters, not all whitespace
    /// (`pattern: [\S]+`).
    fn name(&self, max: usize) -> Result<&'a str> {
        let s = self.string_len(1, max)?;
        if s.chars().all(char::is_whitespace) {
            return Err(self.error(format!("{} does not match '[\\\\S]+'", repr(self.value))));
        }
        Ok(s)
    }

    /// Keystone's `id_string`: 1 to 64 of `[a-zA-Z0-9-]`.
    fn id_string(&self) -> Result<&'a str> {
        let s = self.string_len(1, 64)?;
        if !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(self.error(format!("{} does not match '^[a-zA-Z0-9-]+$'", repr(self.value))));
        }
        Ok(s)
    }

    /// A string or null (`type: [string, null]`).
    fn optional_string(&self) -> Result<Option<&'a str>> {
        if self.value.is_null() { Ok(None) } else { self.string().map(Some) }
    }

    /// A JSON boolean, and nothing else.
    fn boolean(&self) -> Result<bool> {
        self.value.as_bool().ok_or_else(|| self.not_of_type("'boolean'"))
    }

    fn array(&self) -> Result<&'a [Value]> {
        self.value.as_array().map(Vec::as_slice).ok_or_else(|| self.not_of_type("'array'"))
    }

    /// The items of an array, each with its index in the path.
    fn items(&self) -> Result<Vec<Node<'a>>> {
        Ok(self
            .array()?
            .iter()
            .enumerate()
            .map(|(i, value)| Node { value, path: format!("{}/{i}", self.path), wording: self.wording })
            .collect())
    }

    /// An optional member checked by `check` (absent or null: `None`).
    fn optional<T>(&self, key: &str, check: impl FnOnce(&Node<'a>) -> Result<T>) -> Result<Option<T>> {
        self.get_nullable(key).map(|n| check(&n)).transpose()
    }

    /// An optional member that may not be null (`type` without `null`).
    fn optional_non_null<T>(&self, key: &str, check: impl FnOnce(&Node<'a>) -> Result<T>) -> Result<Option<T>> {
        self.get(key).map(|n| check(&n)).transpose()
    }
}

// --- users and projects -------------------------------------------------------

/// `POST /v3/users` (`user_create_request`). Other members of `user` are
/// allowed, as Keystone allows them, and not kept.
pub fn user_create(body: &Value) -> Result<NewUser<'_>> {
    let root = Node::root(body, Wording::Resource);
    root.object_of(&["user"])?;
    let user = root.required("user")?;
    user.object()?;
    let name = user.required("name")?.name(255)?;
    // A string or null; a user without one cannot log in with a password.
    let password = user.optional("password", Node::string)?;
    let domain_id = user.optional_non_null("domain_id", Node::id_string)?;
    let default_project_id = user.optional("default_project_id", |n| n.string_len(0, 64))?;
    let enabled = user.optional_non_null("enabled", Node::boolean)?.unwrap_or(true);
    user.optional("description", Node::string)?;
    user.optional("email", Node::string)?;
    Ok(NewUser { name, password, domain_id, default_project_id, enabled })
}

/// `POST /v3/projects` (`project_create_request_body`): a name of at most
/// 64 characters, Keystone's project name limit.
pub fn project_create(body: &Value) -> Result<NewProject<'_>> {
    let root = Node::root(body, Wording::Resource);
    root.object_of(&["project"])?;
    let project = root.required("project")?;
    project.object()?;
    let name = project.required("name")?.name(64)?;
    let description = project.optional("description", |n| n.string_len(0, 255))?.unwrap_or("");
    let domain_id = project.optional("domain_id", Node::id_string)?;
    let parent_id = project.optional("parent_id", Node::id_string)?;
    let enabled = project.optional_non_null("enabled", Node::boolean)?.unwrap_or(true);
    let is_domain = project.optional_non_null("is_domain", Node::boolean)?.unwrap_or(false);
    project.optional_non_null("tags", project_tags)?;
    Ok(NewProject { name, description, domain_id, parent_id, enabled, is_domain })
}

/// `POST /v3/roles` (`role_create`): a name, an optional description.
/// Other members are allowed, as Keystone allows them, and not kept; a
/// domain-specific role is refused (ecsd has one domain).
pub fn role_create(body: &Value) -> Result<(&str, Option<&str>)> {
    let root = Node::root(body, Wording::Resource);
    root.object()?;
    let role = root.required("role")?;
    let changes = role_members(&role)?;
    let name = changes.name.ok_or_else(|| role.error("'name' is a required property"))?;
    Ok((name, changes.description.flatten()))
}

/// `PATCH /v3/roles/{id}` (`role_update`): at least one member.
pub fn role_update(body: &Value) -> Result<RoleChanges<'_>> {
    let root = Node::root(body, Wording::Resource);
    root.object()?;
    let role = root.required("role")?;
    if role.object()?.is_empty() {
        return Err(role.error("{} does not have enough properties"));
    }
    role_members(&role)
}

fn role_members<'a>(role: &Node<'a>) -> Result<RoleChanges<'a>> {
    role.object()?;
    if role.optional("domain_id", Node::id_string)?.is_some() {
        return Err(KeystoneError::bad_request("Domain-specific roles are not supported: there is one domain."));
    }
    Ok(RoleChanges {
        name: role.optional_non_null("name", |n| n.name(255))?,
        description: role.get("description").map(|n| n.optional_string()).transpose()?,
    })
}

/// Project tags: at most 80 distinct strings of 1 to 255 characters
/// without `,` or `/` (the API-WG tag guideline).
fn project_tags(tags: &Node<'_>) -> Result<()> {
    let items = tags.items()?;
    if items.len() > 80 {
        return Err(tags.error(format!("{} is too long", repr(tags.value))));
    }
    for (i, tag) in items.iter().enumerate() {
        let s = tag.string_len(1, 255)?;
        if s.contains([',', '/']) {
            return Err(tag.error(format!("{} does not match '^[^,/]*$'", repr(tag.value))));
        }
        if items[..i].iter().any(|t| t.value == tag.value) {
            return Err(tags.error(format!("{} has non-unique elements", repr(tags.value))));
        }
    }
    Ok(())
}

/// `POST /v3/users/{id}/credentials/OS-EC2`: the project as `tenant_id`.
pub fn ec2_credential_create(body: &Value) -> Result<&str> {
    let root = Node::root(body, Wording::Resource);
    root.object()?;
    root.required("tenant_id")?.string()
}

// --- token issue ------------------------------------------------------------

/// `POST /v3/auth/tokens`: Keystone's `token_issue` schema, its "id or
/// name must be present" checks, then what the request asks for.
pub fn auth(body: &Value) -> Result<(Credentials, Scope)> {
    Node::root(body, Wording::Resource).object()?;
    let auth = match body.get("auth") {
        None | Some(Value::Null) => return Err(expecting("auth", "request body")),
        Some(auth) => Node::root(auth, Wording::Auth),
    };
    auth.object()?;
    let identity = auth.required("identity")?;
    identity.object()?;
    let methods = identity.required("methods")?;
    let mut names = Vec::new();
    for method in methods.items()? {
        names.push(method.string()?);
    }
    let credentials = credentials(&identity, &names)?;
    let scope = match auth.get("scope") {
        None => Scope::Default,
        Some(scope) => self::scope(&scope)?,
    };
    Ok((credentials, scope))
}

/// The identity of a token request; each method named must carry its
/// data (`Expecting to find password in identity`).
fn credentials(identity: &Node<'_>, methods: &[&str]) -> Result<Credentials> {
    if let Some(missing) = methods.iter().find(|m| identity.get(m).is_none()) {
        return Err(expecting(missing, "identity"));
    }
    let password = identity.get("password").map(|p| password_user(&p)).transpose()?;
    let token = identity.get("token").map(|t| token_id(&t)).transpose()?;
    if methods.contains(&"application_credential") {
        let node = identity.get("application_credential").expect("checked present above");
        return app_credential_auth(&node);
    }
    if methods.contains(&"password") {
        let (user, password) = password.flatten().ok_or_else(|| expecting("user", "password"))?;
        // Keystone's password plugin: no password is a failed login.
        let password = password.ok_or_else(KeystoneError::unauthorized)?;
        Ok(Credentials::Password { user, password: password.to_string() })
    } else if methods.contains(&"token") {
        Ok(Credentials::Token(token.expect("checked present above").to_string()))
    } else {
        Err(KeystoneError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "Attempted to authenticate with an unsupported method.",
        ))
    }
}

/// `identity.password.user` if given: an id, or a name in a domain.
fn password_user<'a>(password: &Node<'a>) -> Result<Option<(UserRef, Option<&'a str>)>> {
    password.object()?;
    let Some(user) = password.get("user") else { return Ok(None) };
    user.object()?;
    let id = user.optional_non_null("id", Node::string)?;
    let name = user.optional_non_null("name", Node::string)?;
    let secret = user.optional_non_null("password", Node::string)?;
    let domain = user.get("domain").map(|d| domain_ref(&d)).transpose()?;
    let user_ref = match (id, name) {
        (Some(id), _) => UserRef::Id(id.into()),
        (None, Some(name)) => {
            UserRef::Name { name: name.into(), domain: domain.ok_or_else(|| expecting("domain", "user"))? }
        }
        (None, None) => return Err(user.error("id or name must be present.")),
    };
    Ok(Some((user_ref, secret)))
}

/// `identity.application_credential`: an id, or a name and its user;
/// and the secret.
fn app_credential_auth(node: &Node<'_>) -> Result<Credentials> {
    node.object()?;
    let id = node.optional_non_null("id", Node::string)?;
    let name = node.optional_non_null("name", Node::string)?;
    let secret = node.optional_non_null("secret", Node::string)?;
    let user = match node.get("user") {
        None => None,
        Some(user) => {
            user.object()?;
            let id = user.optional_non_null("id", Node::string)?;
            let name = user.optional_non_null("name", Node::string)?;
            let domain = user.get("domain").map(|d| domain_ref(&d)).transpose()?;
            Some(match (id, name) {
                (Some(id), _) => UserRef::Id(id.into()),
                (None, Some(name)) => {
                    UserRef::Name { name: name.into(), domain: domain.ok_or_else(|| expecting("domain", "user"))? }
                }
                (None, None) => return Err(user.error("id or name must be present.")),
            })
        }
    };
    let credential = match (id, name, user) {
        (Some(id), _, _) => AppCredentialLookup::Id(id.into()),
        (None, Some(name), Some(user)) => AppCredentialLookup::Name { name: name.into(), user },
        _ => return Err(expecting("id or name and user", "application credential")),
    };
    let secret = secret.ok_or_else(|| expecting("secret", "application credential"))?;
    Ok(Credentials::ApplicationCredential { credential, secret: secret.into() })
}

/// `POST /v3/users/{id}/application_credentials`
/// (`application_credential_create`).
pub fn app_credential_create(body: &Value) -> Result<NewAppCredential> {
    let root = Node::root(body, Wording::Resource);
    root.object()?;
    let cred = root.required("application_credential")?;
    cred.object()?;
    let name = cred.required("name")?.name(255)?;
    let description = cred.optional("description", |n| n.string_len(0, 255))?;
    let secret = cred.optional("secret", |n| n.string_len(1, 4096))?;
    let expires_at = cred.optional("expires_at", timestamp)?;
    let unrestricted = cred.optional("unrestricted", Node::boolean)?.unwrap_or(false);
    let roles = cred.optional("roles", |roles| {
        roles
            .items()?
            .iter()
            .map(|role| {
                role.object()?;
                let id = role.optional_non_null("id", Node::id_string)?;
                let name = role.optional_non_null("name", |n| n.name(255))?;
                role.optional("domain_id", Node::string)?;
                match (id, name) {
                    (Some(id), _) => Ok(RoleRef::Id(id.into())),
                    (None, Some(name)) => Ok(RoleRef::Name(name.into())),
                    (None, None) => Err(role.error("id or name must be present.")),
                }
            })
            .collect::<Result<Vec<_>>>()
    })?;
    let access_rules = cred
        .optional("access_rules", |rules| {
            rules
                .items()?
                .iter()
                .map(|rule| {
                    rule.object_of(&["id", "service", "method", "path"])?;
                    let method = rule.optional_non_null("method", Node::string)?;
                    if let Some(m) = method
                        && !["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"].contains(&m)
                    {
                        let node = rule.get("method").expect("present");
                        return Err(node.error(format!(
                            "{} is not one of ['POST', 'GET', 'HEAD', 'PATCH', 'PUT', 'DELETE']",
                            repr(node.value)
                        )));
                    }
                    Ok(NewAccessRule {
                        id: rule.optional_non_null("id", Node::id_string)?.map(String::from),
                        service: rule.optional_non_null("service", |n| n.string_len(1, 64))?.map(String::from),
                        method: method.map(String::from),
                        path: rule.optional_non_null("path", |n| n.string_len(1, 225))?.map(String::from),
                    })
                })
                .collect::<Result<Vec<_>>>()
        })?
        .unwrap_or_default();
    Ok(NewAppCredential {
        name: name.into(),
        description: description.map(String::from),
        secret: secret.map(String::from),
        expires_at,
        roles,
        unrestricted,
        access_rules,
    })
}

/// An ISO 8601 time, UTC unless it says otherwise (Keystone's
/// `parse_expiration_date`).
fn timestamp(node: &Node<'_>) -> Result<chrono::DateTime<chrono::Utc>> {
    let s = node.string()?;
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    let bare = s.trim_end_matches('Z');
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(bare, format) {
            return Ok(t.and_utc());
        }
    }
    Err(KeystoneError::bad_request(
        "Timestamp not in expected format. The server could not comply with the request since it is either \
         malformed or otherwise incorrect. The client is assumed to be in error.",
    ))
}

fn token_id<'a>(token: &Node<'a>) -> Result<&'a str> {
    token.object()?;
    token.required("id")?.string()
}

/// A `domain` member: `{"id": …}` or `{"name": …}`.
fn domain_ref(domain: &Node<'_>) -> Result<DomainRef> {
    domain.object()?;
    let id = domain.optional_non_null("id", Node::string)?;
    let name = domain.optional_non_null("name", Node::string)?;
    match (id, name) {
        (Some(id), _) => Ok(DomainRef::Id(id.into())),
        (None, Some(name)) => Ok(DomainRef::Name(name.into())),
        (None, None) => Err(domain.error("id or name must be present.")),
    }
}

/// `auth.scope`: `"unscoped"` (or the old `{"unscoped": {}}`), or exactly
/// one of project, domain, system and trust. Only project scope is
/// offered: the compute API is project-scoped (seed 002 §4.2).
fn scope(scope: &Node<'_>) -> Result<Scope> {
    const ONE_OF: &str = "system, project, domain, OS-TRUST:trust or unscoped";
    let map = match scope.value {
        Value::String(s) if s == "unscoped" => return Ok(Scope::Unscoped),
        Value::String(_) => return Err(expecting(ONE_OF, "scope")),
        Value::Object(map) => map,
        _ => return Err(scope.not_of_type("'object', 'string'")),
    };
    for key in ["project", "domain", "OS-TRUST:trust", "system"] {
        if let Some(member) = scope.get(key) {
            member.object()?;
        }
    }
    let asked = ["project", "domain", "unscoped", "system", "OS-TRUST:trust"];
    if asked.iter().filter(|k| map.contains_key(**k)).count() != 1 {
        return Err(expecting(ONE_OF, "scope"));
    }
    if map.contains_key("unscoped") {
        return Ok(Scope::Unscoped);
    }
    let Some(project) = scope.get("project") else {
        return Err(KeystoneError::unauthorized());
    };
    let id = project.optional_non_null("id", Node::string)?;
    let name = project.optional_non_null("name", Node::string)?;
    let domain = project.get("domain").map(|d| domain_ref(&d)).transpose()?;
    Ok(Scope::Project(match (id, name) {
        (Some(id), _) => ProjectRef::Id(id.into()),
        (None, Some(name)) => {
            ProjectRef::Name { name: name.into(), domain: domain.ok_or_else(|| expecting("domain", "project"))? }
        }
        (None, None) => return Err(project.error("id or name must be present.")),
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn message(e: KeystoneError) -> String {
        assert_eq!(e.status, 400);
        e.message
    }

    #[test]
    fn resource_bodies_are_worded_like_keystone() {
        let e = user_create(&json!({"user": {"name": 123}})).err().unwrap();
        assert_eq!(message(e), "Invalid input for field/attribute name. Value: 123. 123 is not of type 'string'");
        let e = user_create(&json!({"user": {"name": "a", "domain_id": 0}})).err().unwrap();
        assert_eq!(message(e), "Invalid input for field/attribute domain_id. Value: 0. 0 is not of type 'string'");
        let e = user_create(&json!({"user": {"name": "a", "enabled": "yes"}})).err().unwrap();
        assert_eq!(message(e), "Invalid input for field/attribute enabled. Value: yes. 'yes' is not of type 'boolean'");
        let e = project_create(&json!({"project": {"name": "x".repeat(65)}})).err().unwrap();
        assert!(message(e).ends_with("is too long"));
        let e = project_create(&json!({"project": {}})).err().unwrap();
        assert_eq!(message(e), "Invalid input for field/attribute project. Value: {}. 'name' is a required property");
        let e = user_create(&json!({"user": {"name": "a"}, "extra": 1})).err().unwrap();
        assert_eq!(message(e), "Additional properties are not allowed ('extra' was unexpected)");
        // Keystone keeps unknown members of the user itself.
        assert!(user_create(&json!({"user": {"name": "a", "favourite_colour": [1]}})).is_ok());
    }

    #[test]
    fn auth_bodies_are_worded_like_keystone_token_issue() {
        let e = auth(&json!({"auth": {"identity": {"methods": "password"}}})).err().unwrap();
        assert_eq!(message(e), "Invalid input for field 'identity/methods': 'password' is not of type 'array'");
        let e = auth(&json!({"auth": {"identity": {"methods": [1]}}})).err().unwrap();
        assert_eq!(message(e), "Invalid input for field 'identity/methods/0': 1 is not of type 'string'");
        let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": 7}}}}});
        assert_eq!(
            message(auth(&body).err().unwrap()),
            "Invalid input for field 'identity/password/user/name': 7 is not of type 'string'"
        );
        let body = json!({"auth": {"identity": {"methods": ["token"], "token": {"id": "t"}}, "scope": "junk"}});
        assert!(message(auth(&body).err().unwrap()).starts_with("Expecting to find system, project"));
        let body = json!({"auth": {"identity": {"methods": ["token"], "token": {"id": "t"}}, "scope": null}});
        assert_eq!(
            message(auth(&body).err().unwrap()),
            "Invalid input for field 'scope': None is not of type 'object', 'string'"
        );
    }
}
