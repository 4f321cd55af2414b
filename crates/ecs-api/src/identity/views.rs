//! Keystone v3 JSON shapes.

use ecs_types::{AccessRule, ApplicationCredential, AuthContext, Domain, Project, Role, User};
use serde_json::{Value, json};

use crate::BaseUrl;

pub const API_VERSION: &str = "v3.14";
pub const API_UPDATED: &str = "2020-04-07T00:00:00Z";

pub fn time(t: ecs_types::Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The v3 version object; `root` is the prefix the caller used
/// (`/identity/v3` or `/v3`).
pub fn version(base: &BaseUrl, root: &str) -> Value {
    json!({
        "id": API_VERSION,
        "status": "stable",
        "updated": API_UPDATED,
        "links": [{"rel": "self", "href": format!("{}/", base.join(root))}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
    })
}

pub fn domain(d: &Domain) -> Value {
    json!({"id": d.id, "name": d.name})
}

pub fn domain_full(base: &BaseUrl, d: &Domain) -> Value {
    json!({
        "id": d.id, "name": d.name, "description": "The default domain", "enabled": true,
        "tags": [], "options": {},
        "links": {"self": base.join(&format!("identity/v3/domains/{}", d.id))},
    })
}

pub fn project(base: &BaseUrl, p: &Project) -> Value {
    json!({
        "id": p.id, "name": p.name, "domain_id": p.domain_id, "description": p.description,
        "enabled": p.enabled, "is_domain": false, "parent_id": p.domain_id, "tags": [], "options": {},
        "links": {"self": base.join(&format!("identity/v3/projects/{}", p.id))},
    })
}

pub fn user(base: &BaseUrl, u: &User) -> Value {
    let mut v = json!({
        "id": u.id, "name": u.name, "domain_id": u.domain_id, "enabled": u.enabled,
        "password_expires_at": null, "options": {},
        "links": {"self": base.join(&format!("identity/v3/users/{}", u.id))},
    });
    if let Some(pid) = &u.default_project_id {
        v["default_project_id"] = json!(pid);
    }
    v
}

pub fn role(base: &BaseUrl, r: &Role) -> Value {
    json!({
        "id": r.id, "name": r.name, "domain_id": null, "description": r.description, "options": {},
        "links": {"self": base.join(&format!("identity/v3/roles/{}", r.id))},
    })
}

pub fn collection(base: &BaseUrl, path: &str) -> Value {
    json!({"self": base.join(&format!("identity/v3/{path}")), "previous": null, "next": null})
}

/// The service catalog: compute (Nova API), identity, image, network and
/// block storage (Cinder v3 with the project in its endpoint, as devstack
/// registers it, under both `block-storage` and `volumev3`).
pub fn catalog(base: &BaseUrl, region: &str, project: Option<&str>) -> Value {
    let service = |kind: &str, name: &str, url: String| {
        let endpoints: Vec<Value> = ["public", "internal", "admin"]
            .iter()
            .map(|interface| {
                json!({
                    "id": format!("{name}-{interface}"),
                    "interface": interface,
                    "region_id": region,
                    "region": region,
                    "url": url,
                })
            })
            .collect();
        json!({"id": name, "type": kind, "name": name, "endpoints": endpoints})
    };
    let volume = match project {
        Some(p) => base.join(&format!("volume/v3/{p}")),
        None => base.join("volume/v3"),
    };
    json!([
        service("block-storage", "cinder", volume.clone()),
        service("volumev3", "cinderv3", volume),
        service("compute", "nova", base.join("v2.1")),
        service("identity", "keystone", base.join("identity")),
        service("image", "glance", base.join("image")),
        service("network", "neutron", base.join("networking")),
    ])
}

pub fn token(base: &BaseUrl, region: &str, ctx: &AuthContext, with_catalog: bool) -> Value {
    let mut token = json!({
        "methods": ctx.methods,
        "user": {
            "domain": domain(&ctx.user_domain),
            "id": ctx.user_id,
            "name": ctx.user_name,
            "password_expires_at": null,
        },
        "audit_ids": [ctx.audit_id],
        "expires_at": time(ctx.expires_at),
        "issued_at": time(ctx.issued_at),
    });
    if let Some(c) = &ctx.application_credential {
        token["application_credential"] = json!({"id": c.id, "name": c.name, "restricted": !c.unrestricted, "access_rules": access_rules(&c.access_rules)});
    }
    if let Some(p) = &ctx.project {
        token["project"] = json!({"domain": domain(&Domain::default_domain()), "id": p.id, "name": p.name});
        token["is_domain"] = json!(false);
        token["roles"] = ctx.roles.iter().map(|r| json!({"id": r.id, "name": r.name})).collect();
        if with_catalog {
            token["catalog"] = catalog(base, region, Some(&p.id));
        }
    }
    json!({"token": token})
}

pub fn access_rules(rules: &[AccessRule]) -> Value {
    rules.iter().map(|r| json!({"id": r.id, "service": r.service, "method": r.method, "path": r.path})).collect()
}

/// An application credential; its secret only when just made.
pub fn application_credential(
    base: &BaseUrl,
    c: &ApplicationCredential,
    roles: &[Role],
    secret: Option<&str>,
) -> Value {
    let mut v = json!({
        "id": c.id, "name": c.name, "description": c.description, "user_id": c.user_id, "project_id": c.project_id,
        "roles": roles.iter().map(|r| json!({"id": r.id, "name": r.name, "domain_id": null})).collect::<Vec<_>>(),
        "expires_at": c.expires_at.map(time), "unrestricted": c.unrestricted, "system": null,
        "access_rules": access_rules(&c.access_rules),
        "links": {"self": base.join(&format!("identity/v3/users/{}/application_credentials/{}", c.user_id, c.id))},
    });
    if let Some(secret) = secret {
        v["secret"] = json!(secret);
    }
    v
}
