//! The write policy on every dialect: a user holding only the `reader`
//! role in a project drives every changing route of every router (Nova,
//! ECS, Neutron, Glance, Keystone) and gets 403 in the dialect's format,
//! and nothing changes.
//!
//! The routes are read from the routers' sources, so a changing route
//! added without a case here fails [`every_changing_route_has_a_case`].
//! The sweep runs twice: as served (the Nova and ECS extractors refuse a
//! reader early) and with those early gates off, where the core alone
//! refuses.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{Reply, Session, TestServer};

pub(crate) const CHANGING: &[&str] = &["post", "put", "patch", "delete"];

/// Changing routes a reader may use, and why.
pub(crate) const NOT_CHANGES: &[(&str, &str, &str, &str)] = &[
    ("keystone", "POST", "/auth/tokens", "logging in"),
    ("keystone", "DELETE", "/auth/tokens", "revoking one's own token (another's is refused by identity:revoke_token)"),
    ("ecs", "POST", "/v1/{project_id}/servers/resource_instances/action", "a query by tags"),
    ("ecs", "POST", "/v1/{project_id}/cloudservers/resource_instances/action", "a query by tags"),
    ("nova", "POST", "/os-tenant-networks", "removed with nova-network: 410 for everyone"),
    ("nova", "DELETE", "/os-tenant-networks/{id}", "removed with nova-network: 410 for everyone"),
];

/// `(dialect, METHOD, route pattern)` of every changing route the routers
/// declare.
fn declared_changing_routes() -> Vec<(&'static str, String, String)> {
    crate::routes::declared()
        .into_iter()
        .filter(|r| CHANGING.contains(&r.method.to_lowercase().as_str()))
        .map(|r| (r.dialect, r.method, r.pattern))
        .collect()
}

/// One request of the sweep (the fuzzer starts from them too).
pub(crate) struct Case {
    pub dialect: &'static str,
    pub method: Method,
    /// The route pattern as the router declares it.
    pub route: &'static str,
    /// The path to send.
    pub path: String,
    pub body: Option<Value>,
    /// The Nova microversion the route needs.
    pub version: Option<&'static str>,
}

fn case(dialect: &'static str, method: Method, route: &'static str, path: String, body: Option<Value>) -> Case {
    Case { dialect, method, route, path, body, version: None }
}

impl Case {
    fn at(mut self, version: &'static str) -> Case {
        self.version = Some(version);
        self
    }
}

/// What exists before the sweep: ids the cases name.
pub(crate) struct World {
    pub project: String,
    pub server: String,
    pub port_of_server: String,
    pub image: String,
    /// Attached to the server.
    pub volume: String,
    /// Attached to nothing.
    pub spare_volume: String,
    pub snapshot: String,
    pub server_group: String,
    pub security_group: String,
    pub rule: String,
    pub network: String,
    pub subnet: String,
    pub port: String,
    pub viewer: String,
    pub reader_role: String,
    pub access: String,
    pub admin_project: String,
}

pub(crate) fn cases(w: &World) -> Vec<Case> {
    use Method as M;
    let (p, s, v) = (&w.project, &w.server, &w.volume);
    let nova = |m: Method, route: &'static str, path: String, body: Option<Value>| case("nova", m, route, path, body);
    let action = |body: Value| nova(M::POST, "/servers/{id}/action", format!("/v2.1/servers/{s}/action"), Some(body));
    let mut out = vec![
        nova(
            M::POST,
            "/flavors",
            "/v2.1/flavors".into(),
            Some(json!({"flavor": {"name": "x", "ram": 64, "vcpus": 1, "disk": 1}})),
        ),
        nova(M::PUT, "/flavors/{id}", "/v2.1/flavors/m1.tiny".into(), Some(json!({"flavor": {"description": "x"}})))
            .at("2.55"),
        nova(M::DELETE, "/flavors/{id}", "/v2.1/flavors/m1.tiny".into(), None),
        nova(
            M::POST,
            "/flavors/{id}/os-extra_specs",
            "/v2.1/flavors/m1.tiny/os-extra_specs".into(),
            Some(json!({"extra_specs": {"k": "v"}})),
        ),
        nova(
            M::PUT,
            "/flavors/{id}/os-extra_specs/{key}",
            "/v2.1/flavors/m1.tiny/os-extra_specs/k".into(),
            Some(json!({"k": "v"})),
        ),
        nova(M::DELETE, "/flavors/{id}/os-extra_specs/{key}", "/v2.1/flavors/m1.tiny/os-extra_specs/k".into(), None),
        nova(
            M::POST,
            "/flavors/{id}/action",
            "/v2.1/flavors/m1.tiny/action".into(),
            Some(json!({"addTenantAccess": {"tenant": "p1"}})),
        ),
        nova(M::POST, "/os-keypairs", "/v2.1/os-keypairs".into(), Some(json!({"keypair": {"name": "mine"}}))),
        nova(M::DELETE, "/os-keypairs/{name}", "/v2.1/os-keypairs/k1".into(), None),
        nova(M::DELETE, "/images/{id}", format!("/v2.1/images/{}", w.image), None),
        nova(
            M::POST,
            "/images/{id}/metadata",
            format!("/v2.1/images/{}/metadata", w.image),
            Some(json!({"metadata": {"k": "v"}})),
        ),
        nova(
            M::PUT,
            "/images/{id}/metadata",
            format!("/v2.1/images/{}/metadata", w.image),
            Some(json!({"metadata": {"k": "v"}})),
        ),
        nova(
            M::PUT,
            "/images/{id}/metadata/{key}",
            format!("/v2.1/images/{}/metadata/k", w.image),
            Some(json!({"meta": {"k": "v"}})),
        ),
        nova(M::DELETE, "/images/{id}/metadata/{key}", format!("/v2.1/images/{}/metadata/k", w.image), None),
        nova(
            M::POST,
            "/os-server-groups",
            "/v2.1/os-server-groups".into(),
            Some(json!({"server_group": {"name": "x", "policies": ["anti-affinity"]}})),
        ),
        nova(M::DELETE, "/os-server-groups/{id}", format!("/v2.1/os-server-groups/{}", w.server_group), None),
        nova(
            M::PUT,
            "/os-quota-sets/{project}",
            format!("/v2.1/os-quota-sets/{p}"),
            Some(json!({"quota_set": {"instances": 50}})),
        ),
        nova(M::DELETE, "/os-quota-sets/{project}", format!("/v2.1/os-quota-sets/{p}"), None),
        nova(
            M::PUT,
            "/os-quota-class-sets/{class}",
            "/v2.1/os-quota-class-sets/default".into(),
            Some(json!({"quota_class_set": {"instances": 1}})),
        ),
        nova(M::PUT, "/os-hosts/{name}", "/v2.1/os-hosts/sim-host-1".into(), Some(json!({"status": "disable"}))),
        nova(
            M::PUT,
            "/os-services/{id}",
            "/v2.1/os-services/00000000-0000-0000-0000-000000000001".into(),
            Some(json!({"status": "disabled"})),
        )
        .at("2.53"),
        nova(M::DELETE, "/os-services/{id}", "/v2.1/os-services/00000000-0000-0000-0000-000000000001".into(), None)
            .at("2.53"),
        nova(M::POST, "/os-aggregates", "/v2.1/os-aggregates".into(), Some(json!({"aggregate": {"name": "mine"}}))),
        nova(M::PUT, "/os-aggregates/{id}", "/v2.1/os-aggregates/1".into(), Some(json!({"aggregate": {"name": "x"}}))),
        nova(M::DELETE, "/os-aggregates/{id}", "/v2.1/os-aggregates/1".into(), None),
        nova(
            M::POST,
            "/os-aggregates/{id}/action",
            "/v2.1/os-aggregates/1/action".into(),
            Some(json!({"add_host": {"host": "sim-host-1"}})),
        ),
        nova(
            M::POST,
            "/servers/{id}/metadata",
            format!("/v2.1/servers/{s}/metadata"),
            Some(json!({"metadata": {"k": "v"}})),
        ),
        nova(
            M::PUT,
            "/servers/{id}/metadata",
            format!("/v2.1/servers/{s}/metadata"),
            Some(json!({"metadata": {"k": "v"}})),
        ),
        nova(
            M::PUT,
            "/servers/{id}/metadata/{key}",
            format!("/v2.1/servers/{s}/metadata/k"),
            Some(json!({"meta": {"k": "v"}})),
        ),
        nova(M::DELETE, "/servers/{id}/metadata/{key}", format!("/v2.1/servers/{s}/metadata/role"), None),
        nova(M::PUT, "/servers/{id}/tags", format!("/v2.1/servers/{s}/tags"), Some(json!({"tags": ["x"]}))).at("2.26"),
        nova(M::DELETE, "/servers/{id}/tags", format!("/v2.1/servers/{s}/tags"), None).at("2.26"),
        nova(M::PUT, "/servers/{id}/tags/{tag}", format!("/v2.1/servers/{s}/tags/x"), None).at("2.26"),
        nova(M::DELETE, "/servers/{id}/tags/{tag}", format!("/v2.1/servers/{s}/tags/web"), None).at("2.26"),
        nova(M::POST, "/os-floating-ips", "/v2.1/os-floating-ips".into(), Some(json!({}))),
        nova(
            M::POST,
            "/os-server-external-events",
            "/v2.1/os-server-external-events".into(),
            Some(json!({"events": [{"name": "network-changed", "server_uuid": s}]})),
        ),
        nova(
            M::DELETE,
            "/os-floating-ips/{id}",
            "/v2.1/os-floating-ips/00000000-0000-0000-0000-000000000000".into(),
            None,
        ),
        nova(M::POST, "/os-volumes", "/v2.1/os-volumes".into(), Some(json!({"volume": {"size": 1}}))),
        nova(M::DELETE, "/os-volumes/{id}", format!("/v2.1/os-volumes/{v}"), None),
        nova(
            M::POST,
            "/os-snapshots",
            "/v2.1/os-snapshots".into(),
            Some(json!({"snapshot": {"volume_id": v, "force": true}})),
        ),
        nova(M::DELETE, "/os-snapshots/{id}", format!("/v2.1/os-snapshots/{}", w.snapshot), None),
        nova(
            M::POST,
            "/servers/{id}/os-volume_attachments",
            format!("/v2.1/servers/{s}/os-volume_attachments"),
            Some(json!({"volumeAttachment": {"volumeId": w.spare_volume}})),
        ),
        nova(
            M::PUT,
            "/servers/{id}/os-volume_attachments/{volume_id}",
            format!("/v2.1/servers/{s}/os-volume_attachments/{v}"),
            Some(json!({"volumeAttachment": {"volumeId": v}})),
        ),
        nova(
            M::DELETE,
            "/servers/{id}/os-volume_attachments/{volume_id}",
            format!("/v2.1/servers/{s}/os-volume_attachments/{v}"),
            None,
        ),
        nova(
            M::POST,
            "/os-security-groups",
            "/v2.1/os-security-groups".into(),
            Some(json!({"security_group": {"name": "x", "description": "x"}})),
        ),
        nova(
            M::PUT,
            "/os-security-groups/{id}",
            format!("/v2.1/os-security-groups/{}", w.security_group),
            Some(json!({"security_group": {"name": "y", "description": "y"}})),
        ),
        nova(M::DELETE, "/os-security-groups/{id}", format!("/v2.1/os-security-groups/{}", w.security_group), None),
        nova(
            M::POST,
            "/os-security-group-rules",
            "/v2.1/os-security-group-rules".into(),
            Some(json!({"security_group_rule": {"parent_group_id": w.security_group, "ip_protocol": "tcp",
                "from_port": 80, "to_port": 80, "cidr": "0.0.0.0/0"}})),
        ),
        nova(M::DELETE, "/os-security-group-rules/{id}", format!("/v2.1/os-security-group-rules/{}", w.rule), None),
        nova(
            M::POST,
            "/servers/{id}/os-interface",
            format!("/v2.1/servers/{s}/os-interface"),
            Some(json!({"interfaceAttachment": {"net_id": w.network}})),
        ),
        nova(
            M::DELETE,
            "/servers/{id}/os-interface/{port_id}",
            format!("/v2.1/servers/{s}/os-interface/{}", w.port_of_server),
            None,
        ),
        nova(
            M::POST,
            "/servers",
            "/v2.1/servers".into(),
            Some(
                json!({"server": {"name": "no", "flavorRef": "m1.tiny", "imageRef": w.image, "networks": [{"uuid": w.network}]}}),
            ),
        ),
        nova(
            M::POST,
            "/os-volumes_boot",
            "/v2.1/os-volumes_boot".into(),
            Some(
                json!({"server": {"name": "no", "flavorRef": "m1.tiny", "imageRef": w.image, "networks": [{"uuid": w.network}]}}),
            ),
        ),
        nova(M::PUT, "/servers/{id}", format!("/v2.1/servers/{s}"), Some(json!({"server": {"name": "renamed"}}))),
        nova(M::DELETE, "/servers/{id}", format!("/v2.1/servers/{s}"), None),
        nova(M::DELETE, "/servers/{id}/os-server-password", format!("/v2.1/servers/{s}/os-server-password"), None),
        nova(
            M::POST,
            "/servers/{id}/remote-consoles",
            format!("/v2.1/servers/{s}/remote-consoles"),
            Some(json!({"remote_console": {"protocol": "vnc", "type": "novnc"}})),
        )
        .at("2.6"),
        nova(M::PUT, "/os-simulator", "/v2.1/os-simulator".into(), Some(json!({"simulator": {}}))),
        nova(
            M::POST,
            "/servers/{id}/migrations/{migration_id}/action",
            format!("/v2.1/servers/{s}/migrations/1/action"),
            Some(json!({"force_complete": null})),
        )
        .at("2.22"),
        nova(M::DELETE, "/servers/{id}/migrations/{migration_id}", format!("/v2.1/servers/{s}/migrations/1"), None)
            .at("2.24"),
        // Seed 002 §6.3.11's monitoring action under /v1.0.
        nova(
            M::POST,
            "/servers/{id}/action",
            format!("/v1.0/servers/{s}/action"),
            Some(json!({"monitorMetrics": null})),
        ),
    ];
    for body in [
        json!({"os-start": null}),
        json!({"os-stop": null}),
        json!({"migrate": null}),
        json!({"os-migrateLive": {"host": null, "block_migration": false, "disk_over_commit": false}}),
        json!({"pause": null}),
        json!({"unpause": null}),
        json!({"suspend": null}),
        json!({"resume": null}),
        json!({"reboot": {"type": "SOFT"}}),
        json!({"lock": null}),
        json!({"unlock": null}),
        json!({"createImage": {"name": "snap"}}),
        json!({"addFloatingIp": {"address": "10.0.0.9"}}),
        json!({"removeFloatingIp": {"address": "10.0.0.9"}}),
        json!({"addSecurityGroup": {"name": "sg1"}}),
        json!({"removeSecurityGroup": {"name": "sg1"}}),
        json!({"os-resetState": {"state": "error"}}),
        json!({"forceDelete": null}),
        json!({"os-getConsoleOutput": {}}),
        json!({"resize": {"flavorRef": "m1.small"}}),
        json!({"confirmResize": null}),
        json!({"revertResize": null}),
        json!({"rebuild": {"imageRef": w.image}}),
        json!({"changePassword": {"adminPass": "n3w-Passw0rd"}}),
        json!({"attachKeypairs": {"key_names": ["k1"]}}),
        json!({"detachKeypairs": {"key_names": ["k1"]}}),
        json!({"os-getVNCConsole": {"type": "novnc"}}),
        json!({"monitorMetrics": null}),
        json!({"shelve": null}),
        json!({"shelveOffload": null}),
        json!({"unshelve": null}),
        json!({"rescue": {"adminPass": "n3w-Passw0rd"}}),
        json!({"unrescue": null}),
        json!({"createBackup": {"name": "b", "backup_type": "daily", "rotation": 1}}),
        json!({"restore": null}),
    ] {
        out.push(action(body));
    }
    out.push(action(json!({"trigger_crash_dump": null})).at("2.17"));

    let ecs = |m: Method, route: &'static str, path: String, body: Value| case("ecs", m, route, path, Some(body));
    let ecs_create = json!({"server": {"name": "no", "imageRef": w.image, "flavorRef": "s3.small.1", "vpcid": w.network,
        "nics": [{"subnet_id": w.subnet}], "root_volume": {"volumetype": "SSD"}}});
    let servers = json!({"servers": [{"id": s}]});
    let reinstall = json!({"os-reinstall": {"adminpass": "n3w-Passw0rd!"}});
    let change = json!({"os-change": {"adminpass": "n3w-Passw0rd!", "imageid": w.image}});
    out.extend([
        ecs(M::POST, "/v1/{project_id}/cloudservers", format!("/v1/{p}/cloudservers"), ecs_create.clone()),
        ecs(M::POST, "/v1.1/{project_id}/cloudservers", format!("/v1.1/{p}/cloudservers"), ecs_create),
        ecs(
            M::POST,
            "/v1/{project_id}/cloudservers/action",
            format!("/v1/{p}/cloudservers/action"),
            json!({"os-stop": servers}),
        ),
        ecs(
            M::POST,
            "/v1/{project_id}/cloudservers/action",
            format!("/v1/{p}/cloudservers/action"),
            json!({"os-start": servers}),
        ),
        ecs(
            M::POST,
            "/v1/{project_id}/cloudservers/action",
            format!("/v1/{p}/cloudservers/action"),
            json!({"reboot": {"type": "SOFT", "servers": [{"id": s}]}}),
        ),
        ecs(M::POST, "/v1/{project_id}/cloudservers/delete", format!("/v1/{p}/cloudservers/delete"), servers.clone()),
        ecs(
            M::POST,
            "/v1/{project_id}/cloudservers/os-server-groups",
            format!("/v1/{p}/cloudservers/os-server-groups"),
            json!({"server_group": {"name": "x", "policies": ["anti-affinity"]}}),
        ),
        case(
            "ecs",
            M::DELETE,
            "/v1/{project_id}/cloudservers/os-server-groups/{group_id}",
            format!("/v1/{p}/cloudservers/os-server-groups/{}", w.server_group),
            None,
        ),
        ecs(
            M::POST,
            "/v1/{project_id}/cloudservers/os-server-groups/{group_id}/action",
            format!("/v1/{p}/cloudservers/os-server-groups/{}/action", w.server_group),
            json!({"add_member": {"instance_uuid": s}}),
        ),
        ecs(
            M::POST,
            "/v1/{project_id}/cloudservers/os-server-groups/{group_id}/action",
            format!("/v1/{p}/cloudservers/os-server-groups/{}/action", w.server_group),
            json!({"remove_member": {"instance_uuid": s}}),
        ),
        ecs(
            M::POST,
            "/v1/{project_id}/servers/{server_id}/tags/action",
            format!("/v1/{p}/servers/{s}/tags/action"),
            json!({"action": "create", "tags": [{"key": "k", "value": "v"}]}),
        ),
        ecs(
            M::POST,
            "/v1/{project_id}/cloudservers/{server_id}/tags/action",
            format!("/v1/{p}/cloudservers/{s}/tags/action"),
            json!({"action": "delete", "tags": [{"key": "web"}]}),
        ),
        ecs(
            M::POST,
            "/v2/{project_id}/cloudservers/{server_id}/reinstallos",
            format!("/v2/{p}/cloudservers/{s}/reinstallos"),
            reinstall.clone(),
        ),
        ecs(
            M::POST,
            "/v2.1/{project_id}/cloudservers/{server_id}/reinstallos",
            format!("/v2.1/{p}/cloudservers/{s}/reinstallos"),
            reinstall.clone(),
        ),
        ecs(
            M::POST,
            "/v1/{project_id}/cloudservers/{server_id}/reinstallos",
            format!("/v1/{p}/cloudservers/{s}/reinstallos"),
            reinstall,
        ),
        ecs(
            M::POST,
            "/v2/{project_id}/cloudservers/{server_id}/changeos",
            format!("/v2/{p}/cloudservers/{s}/changeos"),
            change.clone(),
        ),
        ecs(
            M::POST,
            "/v2.1/{project_id}/cloudservers/{server_id}/changeos",
            format!("/v2.1/{p}/cloudservers/{s}/changeos"),
            change.clone(),
        ),
        ecs(
            M::POST,
            "/v1/{project_id}/cloudservers/{server_id}/changeos",
            format!("/v1/{p}/cloudservers/{s}/changeos"),
            change,
        ),
        ecs(
            M::POST,
            "/v1/{project_id}/cloudservers/{server_id}/migrate",
            format!("/v1/{p}/cloudservers/{s}/migrate"),
            json!({"migrate": null}),
        ),
        ecs(
            M::POST,
            "/v1/{project_id}/cloudservers/{server_id}/resize",
            format!("/v1/{p}/cloudservers/{s}/resize"),
            json!({"resize": {"flavorRef": "m1.small"}}),
        ),
        ecs(
            M::POST,
            "/v1/{project_id}/cloudservers/{server_id}/nics",
            format!("/v1/{p}/cloudservers/{s}/nics"),
            json!({"nics": [{"subnet_id": w.subnet}]}),
        ),
        ecs(
            M::POST,
            "/v1/{project_id}/cloudservers/{server_id}/nics/delete",
            format!("/v1/{p}/cloudservers/{s}/nics/delete"),
            json!({"nics": [{"id": w.port_of_server}]}),
        ),
        ecs(
            M::POST,
            "/v1/{project_id}/cloudservers/{server_id}/attachvolume",
            format!("/v1/{p}/cloudservers/{s}/attachvolume"),
            json!({"volumeAttachment": {"volumeId": w.spare_volume, "device": "/dev/vdc"}}),
        ),
        ecs(
            M::POST,
            "/v1.1/{project_id}/cloudservers/{server_id}/resize",
            format!("/v1.1/{p}/cloudservers/{s}/resize"),
            json!({"resize": {"flavorRef": "m1.small", "mode": "withStopServer"}}),
        ),
        ecs(
            M::POST,
            "/v1/{project_id}/cloudservers/batch-resize",
            format!("/v1/{p}/cloudservers/batch-resize"),
            json!({"resize": {"flavorRef": "m1.small", "servers": [{"id": s}]}}),
        ),
        ecs(
            M::PUT,
            "/v1/{project_id}/cloudservers/server-name",
            format!("/v1/{p}/cloudservers/server-name"),
            json!({"name": "renamed", "servers": [{"id": s}]}),
        ),
        ecs(
            M::PUT,
            "/v1/{project_id}/cloudservers/{server_id}/autorecovery",
            format!("/v1/{p}/cloudservers/{s}/autorecovery"),
            json!({"support_auto_recovery": "false"}),
        ),
        ecs(
            M::PUT,
            "/v1/{project_id}/cloudservers/{server_id}/os-interface/{port_id}",
            format!("/v1/{p}/cloudservers/{s}/os-interface/{}", w.port_of_server),
            json!({"interface_attachment": {"delete_on_termination": false}}),
        ),
        ecs(
            M::POST,
            "/v1/{project_id}/cloudservers/{server_id}/os-interface/{port_id}/change-network-interface",
            format!("/v1/{p}/cloudservers/{s}/os-interface/{}/change-network-interface", w.port_of_server),
            json!({"subnet_id": w.subnet, "ip_address": ""}),
        ),
        ecs(
            M::POST,
            "/v1/{project_id}/cloudservers/{server_id}/changevpc",
            format!("/v1/{p}/cloudservers/{s}/changevpc"),
            json!({"vpc_id": w.network, "nic": {"subnet_id": w.subnet}}),
        ),
        ecs(
            M::PUT,
            "/v1/{project_id}/cloudservers/nics/{nic_id}",
            format!("/v1/{p}/cloudservers/nics/{}", w.port_of_server),
            json!({"nic": {"subnet_id": w.subnet, "ip_address": "10.20.0.200", "reverse_binding": true}}),
        ),
        ecs(
            M::PUT,
            "/v1/{project_id}/cloudservers/nics/{nic_id}",
            format!("/v1/{p}/cloudservers/nics/{}", w.port_of_server),
            json!({"nic": {"subnet_id": "", "ip_address": ""}}),
        ),
        ecs(
            M::POST,
            "/v1/{project_id}/cloudservers/os-server-groups/{group_id}/add_members",
            format!("/v1/{p}/cloudservers/os-server-groups/{}/add_members", w.server_group),
            json!({"server_ids": [s]}),
        ),
        ecs(
            M::POST,
            "/v1/{project_id}/cloudservers/os-server-groups/{group_id}/remove_members",
            format!("/v1/{p}/cloudservers/os-server-groups/{}/remove_members", w.server_group),
            json!({"server_ids": [s]}),
        ),
        case(
            "ecs",
            M::DELETE,
            "/v1/{project_id}/cloudservers/{server_id}/detachvolume/{volume_id}",
            format!("/v1/{p}/cloudservers/{s}/detachvolume/{v}"),
            None,
        ),
        ecs(
            M::POST,
            "/v1/{project_id}/batchaction/attachvolumes/{volume_id}",
            format!("/v1/{p}/batchaction/attachvolumes/{}", w.spare_volume),
            json!({"serverinfo": [{"server_id": s}]}),
        ),
        ecs(
            M::POST,
            "/v1/{project_id}/batchaction/detachvolumes/{volume_id}",
            format!("/v1/{p}/batchaction/detachvolumes/{v}"),
            json!({"serverinfo": [s]}),
        ),
        ecs(
            M::PUT,
            "/v1/{project_id}/cloudservers/{server_id}",
            format!("/v1/{p}/cloudservers/{s}"),
            json!({"server": {"name": "renamed", "description": "d"}}),
        ),
        ecs(
            M::POST,
            "/v1/{project_id}/cloudservers/{server_id}/metadata",
            format!("/v1/{p}/cloudservers/{s}/metadata"),
            json!({"metadata": {"k": "v"}}),
        ),
        case(
            "ecs",
            M::DELETE,
            "/v1/{project_id}/cloudservers/{server_id}/metadata/{key}",
            format!("/v1/{p}/cloudservers/{s}/metadata/k"),
            None,
        ),
        ecs(
            M::PUT,
            "/v1/{project_id}/cloudservers/{server_id}/block_device/{volume_id}",
            format!("/v1/{p}/cloudservers/{s}/block_device/{v}"),
            json!({"block_device": {"delete_on_termination": true}}),
        ),
    ]);
    // Huawei EIP and EVS.
    let eip = |m: Method, route: &'static str, path: String, body: Option<Value>| case("eip", m, route, path, body);
    let evs = |m: Method, route: &'static str, path: String, body: Option<Value>| case("evs", m, route, path, body);
    let extend = json!({"os-extend": {"new_size": 2}});
    let sv = &w.spare_volume;
    out.extend([
        eip(
            M::POST,
            "/v1/{project_id}/publicips",
            format!("/v1/{p}/publicips"),
            Some(json!({"publicip": {"type": "5_bgp"},
                "bandwidth": {"name": "bw", "size": 5, "share_type": "PER"}})),
        ),
        eip(
            M::PUT,
            "/v1/{project_id}/publicips/{publicip_id}",
            format!("/v1/{p}/publicips/none-such"),
            Some(json!({"publicip": {"port_id": w.port}})),
        ),
        eip(M::DELETE, "/v1/{project_id}/publicips/{publicip_id}", format!("/v1/{p}/publicips/none-such"), None),
        eip(
            M::PUT,
            "/v1/{project_id}/bandwidths/{bandwidth_id}",
            format!("/v1/{p}/bandwidths/none-such"),
            Some(json!({"bandwidth": {"size": 10}})),
        ),
        evs(
            M::POST,
            "/v2/{project_id}/cloudvolumes",
            format!("/v2/{p}/cloudvolumes"),
            Some(json!({"volume": {"size": 10, "volume_type": "SSD"}})),
        ),
        evs(
            M::POST,
            "/v2.1/{project_id}/cloudvolumes",
            format!("/v2.1/{p}/cloudvolumes"),
            Some(json!({"volume": {"size": 10, "volume_type": "SAS", "name": "d"}})),
        ),
        evs(
            M::PUT,
            "/v2/{project_id}/cloudvolumes/{volume_id}",
            format!("/v2/{p}/cloudvolumes/{sv}"),
            Some(json!({"volume": {"name": "renamed"}})),
        ),
        evs(M::DELETE, "/v2/{project_id}/cloudvolumes/{volume_id}", format!("/v2/{p}/cloudvolumes/{sv}"), None),
        evs(
            M::POST,
            "/v2/{project_id}/cloudvolumes/{volume_id}/action",
            format!("/v2/{p}/cloudvolumes/{sv}/action"),
            Some(extend.clone()),
        ),
        evs(
            M::POST,
            "/v2.1/{project_id}/cloudvolumes/{volume_id}/action",
            format!("/v2.1/{p}/cloudvolumes/{sv}/action"),
            Some(extend),
        ),
    ]);
    // Issue 19's ECS-native operations.
    let password = json!({"reset-password": {"new_password": "N3w-Passw0rd"}});
    let template = json!({"launch_template": {"name": "no", "template_data": {"flavor_id": "m1.tiny"}}});
    let charge = json!({"server_ids": [s], "charge_mode": "prePaid",
        "prepaid_options": {"period_type": "month", "period_num": "1"}});
    out.extend([
        ecs(
            M::PUT,
            "/v1/{project_id}/recycle-bin",
            format!("/v1/{p}/recycle-bin"),
            json!({"recycle_bin": {"switch": "on"}}),
        ),
        ecs(
            M::PUT,
            "/v1/{project_id}/recycle-bin/policy",
            format!("/v1/{p}/recycle-bin/policy"),
            json!({"policy": {"retention_hour": 1, "recycle_threshold_day": 0}}),
        ),
        case(
            "ecs",
            M::DELETE,
            "/v1/{project_id}/recycle-bin/cloudservers/{server_id}",
            format!("/v1/{p}/recycle-bin/cloudservers/{s}"),
            None,
        ),
        ecs(
            M::POST,
            "/v1/{project_id}/recycle-bin/cloudservers/{server_id}/actions/revert",
            format!("/v1/{p}/recycle-bin/cloudservers/{s}/actions/revert"),
            json!({}),
        ),
        ecs(M::POST, "/v3/{project_id}/launch-templates", format!("/v3/{p}/launch-templates"), template),
        case(
            "ecs",
            M::DELETE,
            "/v3/{project_id}/launch-templates/{launch_template_id}",
            format!("/v3/{p}/launch-templates/none-such"),
            None,
        ),
        ecs(
            M::PUT,
            "/v3/{project_id}/instance-scheduled-events/{id}",
            format!("/v3/{p}/instance-scheduled-events/none-such"),
            json!({"not_before": "2030-07-09T10:40:00Z"}),
        ),
        ecs(
            M::POST,
            "/v3/{project_id}/instance-scheduled-events/{id}/actions/accept",
            format!("/v3/{p}/instance-scheduled-events/none-such/actions/accept"),
            json!({}),
        ),
        ecs(
            M::PUT,
            "/v1/{project_id}/cloudservers/{server_id}/metadata-options",
            format!("/v1/{p}/cloudservers/{s}/metadata-options"),
            json!({"http_tokens": "required"}),
        ),
        ecs(
            M::PUT,
            "/v1/{project_id}/cloudservers/{server_id}/serial-console-options",
            format!("/v1/{p}/cloudservers/{s}/serial-console-options"),
            json!({"serial_console_options": {"enabled": true}}),
        ),
        ecs(
            M::POST,
            "/v1/{project_id}/cloudservers/{server_id}/actions/serial-console",
            format!("/v1/{p}/cloudservers/{s}/actions/serial-console"),
            json!({}),
        ),
        ecs(
            M::POST,
            "/v1/{project_id}/cloudservers/{server_id}/remote_console",
            format!("/v1/{p}/cloudservers/{s}/remote_console"),
            json!({"remote_console": {"protocol": "vnc", "type": "novnc"}}),
        ),
        ecs(
            M::POST,
            "/v1/{project_id}/cloudservers/{server_id}/actions/update-auto-terminate-time",
            format!("/v1/{p}/cloudservers/{s}/actions/update-auto-terminate-time"),
            json!({"auto_terminate_time": (chrono::Utc::now() + chrono::Duration::days(1)).format("%Y-%m-%dT%H:%M:00Z").to_string()}),
        ),
        ecs(
            M::POST,
            "/v1/{project_id}/cloudservers/{server_id}/actions/redeploy",
            format!("/v1/{p}/cloudservers/{s}/actions/redeploy"),
            json!({}),
        ),
        ecs(
            M::POST,
            "/v1/{project_id}/cloudservers/{server_id}/actions/trigger-crash-dump",
            format!("/v1/{p}/cloudservers/{s}/actions/trigger-crash-dump"),
            json!({}),
        ),
        ecs(
            M::POST,
            "/v1/{project_id}/cloudservers/actions/change-charge-mode",
            format!("/v1/{p}/cloudservers/actions/change-charge-mode"),
            charge,
        ),
        ecs(
            M::PUT,
            "/v1/{project_id}/cloudservers/{server_id}/os-reset-password",
            format!("/v1/{p}/cloudservers/{s}/os-reset-password"),
            password,
        ),
        ecs(
            M::PUT,
            "/v1/{project_id}/cloudservers/os-reset-passwords",
            format!("/v1/{p}/cloudservers/os-reset-passwords"),
            json!({"new_password": "N3w-Passw0rd", "servers": [{"id": s}]}),
        ),
        case(
            "ecs",
            M::DELETE,
            "/v1/{project_id}/cloudservers/{server_id}/os-server-password",
            format!("/v1/{p}/cloudservers/{s}/os-server-password"),
            None,
        ),
    ]);

    let neutron =
        |m: Method, route: &'static str, path: String, body: Option<Value>| case("neutron", m, route, path, body);
    out.extend([
        neutron(
            M::POST,
            "/networking/v2.0/networks",
            "/networking/v2.0/networks".into(),
            Some(json!({"network": {"name": "x"}})),
        ),
        neutron(M::DELETE, "/networking/v2.0/networks/{id}", format!("/networking/v2.0/networks/{}", w.network), None),
        neutron(
            M::POST,
            "/networking/v2.0/subnets",
            "/networking/v2.0/subnets".into(),
            Some(json!({"subnet": {"network_id": w.network, "cidr": "10.9.9.0/24", "ip_version": 4}})),
        ),
        neutron(M::DELETE, "/networking/v2.0/subnets/{id}", format!("/networking/v2.0/subnets/{}", w.subnet), None),
        neutron(
            M::POST,
            "/networking/v2.0/ports",
            "/networking/v2.0/ports".into(),
            Some(json!({"port": {"network_id": w.network, "name": "x"}})),
        ),
        neutron(M::DELETE, "/networking/v2.0/ports/{id}", format!("/networking/v2.0/ports/{}", w.port), None),
    ]);
    // Neutron beyond networks: refused before any lookup, so ids need not exist.
    let none = "00000000-0000-0000-0000-000000000000";
    let n = |m: Method, route: &'static str, path: String, body: Value| neutron(m, route, path, Some(body));
    out.extend([
        n(
            M::PUT,
            "/networking/v2.0/networks/{id}",
            format!("/networking/v2.0/networks/{}", w.network),
            json!({"network": {"name": "x"}}),
        ),
        n(
            M::PUT,
            "/networking/v2.0/subnets/{id}",
            format!("/networking/v2.0/subnets/{}", w.subnet),
            json!({"subnet": {"name": "x"}}),
        ),
        n(
            M::PUT,
            "/networking/v2.0/ports/{id}",
            format!("/networking/v2.0/ports/{}", w.port),
            json!({"port": {"name": "x"}}),
        ),
        n(
            M::POST,
            "/networking/v2.0/security-groups",
            "/networking/v2.0/security-groups".into(),
            json!({"security_group": {"name": "x"}}),
        ),
        n(
            M::PUT,
            "/networking/v2.0/security-groups/{id}",
            format!("/networking/v2.0/security-groups/{}", w.security_group),
            json!({"security_group": {"name": "x"}}),
        ),
        neutron(
            M::DELETE,
            "/networking/v2.0/security-groups/{id}",
            format!("/networking/v2.0/security-groups/{}", w.security_group),
            None,
        ),
        n(
            M::POST,
            "/networking/v2.0/security-group-rules",
            "/networking/v2.0/security-group-rules".into(),
            json!({"security_group_rule": {"security_group_id": w.security_group, "direction": "ingress"}}),
        ),
        neutron(
            M::DELETE,
            "/networking/v2.0/security-group-rules/{id}",
            format!("/networking/v2.0/security-group-rules/{}", w.rule),
            None,
        ),
        n(M::POST, "/networking/v2.0/routers", "/networking/v2.0/routers".into(), json!({"router": {"name": "x"}})),
        n(
            M::PUT,
            "/networking/v2.0/routers/{id}",
            format!("/networking/v2.0/routers/{none}"),
            json!({"router": {"name": "x"}}),
        ),
        neutron(M::DELETE, "/networking/v2.0/routers/{id}", format!("/networking/v2.0/routers/{none}"), None),
        n(
            M::PUT,
            "/networking/v2.0/routers/{id}/add_router_interface",
            format!("/networking/v2.0/routers/{none}/add_router_interface"),
            json!({"subnet_id": w.subnet}),
        ),
        n(
            M::PUT,
            "/networking/v2.0/routers/{id}/remove_router_interface",
            format!("/networking/v2.0/routers/{none}/remove_router_interface"),
            json!({"subnet_id": w.subnet}),
        ),
        n(
            M::POST,
            "/networking/v2.0/floatingips",
            "/networking/v2.0/floatingips".into(),
            json!({"floatingip": {"floating_network_id": w.network}}),
        ),
        n(
            M::PUT,
            "/networking/v2.0/floatingips/{id}",
            format!("/networking/v2.0/floatingips/{none}"),
            json!({"floatingip": {"port_id": null}}),
        ),
        neutron(M::DELETE, "/networking/v2.0/floatingips/{id}", format!("/networking/v2.0/floatingips/{none}"), None),
        n(
            M::PUT,
            "/networking/v2.0/quotas/{id}",
            format!("/networking/v2.0/quotas/{}", w.project),
            json!({"quota": {"router": 1}}),
        ),
        neutron(M::DELETE, "/networking/v2.0/quotas/{id}", format!("/networking/v2.0/quotas/{}", w.project), None),
    ]);

    let glance =
        |m: Method, route: &'static str, path: String, body: Option<Value>| case("glance", m, route, path, body);
    let img = format!("/image/v2/images/{}", w.image);
    out.extend([
        glance(M::POST, "/image/v2/images", "/image/v2/images".into(), Some(json!({"name": "no"}))),
        glance(
            M::PATCH,
            "/image/v2/images/{id}",
            img.clone(),
            Some(json!([{"op": "replace", "path": "/name", "value": "no"}])),
        ),
        glance(M::DELETE, "/image/v2/images/{id}", img.clone(), None),
        glance(M::PUT, "/image/v2/images/{id}/file", format!("{img}/file"), Some(json!("data"))),
        glance(M::PUT, "/image/v2/images/{id}/stage", format!("{img}/stage"), Some(json!("data"))),
        glance(
            M::POST,
            "/image/v2/images/{id}/import",
            format!("{img}/import"),
            Some(json!({"method": {"name": "glance-direct"}})),
        ),
        glance(M::PUT, "/image/v2/images/{id}/tags/{tag}", format!("{img}/tags/t"), None),
        glance(M::DELETE, "/image/v2/images/{id}/tags/{tag}", format!("{img}/tags/t"), None),
        glance(M::POST, "/image/v2/images/{id}/members", format!("{img}/members"), Some(json!({"member": p}))),
        glance(
            M::PUT,
            "/image/v2/images/{id}/members/{member_id}",
            format!("{img}/members/{p}"),
            Some(json!({"status": "accepted"})),
        ),
        glance(M::DELETE, "/image/v2/images/{id}/members/{member_id}", format!("{img}/members/{p}"), None),
        glance(M::POST, "/image/v2/images/{id}/actions/deactivate", format!("{img}/actions/deactivate"), None),
        glance(M::POST, "/image/v2/images/{id}/actions/reactivate", format!("{img}/actions/reactivate"), None),
    ]);

    let ims = |m: Method, route: &'static str, path: String, body: Value| case("ims", m, route, path, Some(body));
    out.extend([
        ims(
            M::POST,
            "/v2/cloudimages/action",
            "/v2/cloudimages/action".into(),
            json!({"name": "no", "instance_id": w.server}),
        ),
        ims(
            M::POST,
            "/v2.1/cloudimages/action",
            "/v2.1/cloudimages/action".into(),
            json!({"name": "no", "volume_id": w.spare_volume}),
        ),
        ims(
            M::PATCH,
            "/v2/cloudimages/{image_id}",
            format!("/v2/cloudimages/{}", w.image),
            json!([{"op": "replace", "path": "/name", "value": "no"}]),
        ),
    ]);

    out.push(case("admin", M::PUT, "/admin/v1/simulator", "/admin/v1/simulator".into(), Some(json!({}))));
    let scenario = json!({"rules": [{"op": "reboot", "latency_ms": 1}]});
    out.push(case("admin", M::PUT, "/admin/v1/scenario", "/admin/v1/scenario".into(), Some(scenario)));
    out.push(case("admin", M::DELETE, "/admin/v1/scenario", "/admin/v1/scenario".into(), None));
    out.extend([
        case("admin", M::POST, "/admin/v1/snapshots", "/admin/v1/snapshots".into(), Some(json!({"name": "r"}))),
        case("admin", M::DELETE, "/admin/v1/snapshots/{name}", "/admin/v1/snapshots/r".into(), None),
        case("admin", M::POST, "/admin/v1/snapshots/{name}/restore", "/admin/v1/snapshots/r/restore".into(), None),
    ]);
    out.push(case(
        "admin",
        M::POST,
        "/admin/v1/clock/advance",
        "/admin/v1/clock/advance".into(),
        Some(json!({"seconds": 60})),
    ));

    let cinder = |m: Method, route: &'static str, path: String, body: Option<Value>| {
        case("cinder", m, route, path, body).at("volume 3.44")
    };
    let vol = |rest: &str| format!("/volume/v3/{p}/volumes/{}{rest}", w.spare_volume);
    let snap = |rest: &str| format!("/volume/v3/{p}/snapshots/{}{rest}", w.snapshot);
    let default_type = "/volume/v3/types/__DEFAULT__";
    let attachment = format!("/volume/v3/{p}/attachments/{v}");
    out.extend([
        cinder(M::POST, "/volume/v3/volumes", format!("/volume/v3/{p}/volumes"), Some(json!({"volume": {"size": 1}}))),
        cinder(M::PUT, "/volume/v3/volumes/{id}", vol(""), Some(json!({"volume": {"name": "x"}}))),
        cinder(M::DELETE, "/volume/v3/volumes/{id}", vol(""), None),
        cinder(M::POST, "/volume/v3/volumes/{id}/action", vol("/action"), Some(json!({"os-extend": {"new_size": 9}}))),
        cinder(M::POST, "/volume/v3/volumes/{id}/metadata", vol("/metadata"), Some(json!({"metadata": {"k": "v"}}))),
        cinder(M::PUT, "/volume/v3/volumes/{id}/metadata", vol("/metadata"), Some(json!({"metadata": {"k": "v"}}))),
        cinder(M::PUT, "/volume/v3/volumes/{id}/metadata/{key}", vol("/metadata/k"), Some(json!({"meta": {"k": "v"}}))),
        cinder(M::DELETE, "/volume/v3/volumes/{id}/metadata/{key}", vol("/metadata/k"), None),
        cinder(M::POST, "/volume/v3/types", "/volume/v3/types".into(), Some(json!({"volume_type": {"name": "x"}}))),
        cinder(
            M::PUT,
            "/volume/v3/types/{id}",
            default_type.into(),
            Some(json!({"volume_type": {"description": "x"}})),
        ),
        cinder(M::DELETE, "/volume/v3/types/{id}", default_type.into(), None),
        cinder(
            M::POST,
            "/volume/v3/types/{id}/extra_specs",
            format!("{default_type}/extra_specs"),
            Some(json!({"extra_specs": {"k": "v"}})),
        ),
        cinder(
            M::PUT,
            "/volume/v3/types/{id}/extra_specs/{key}",
            format!("{default_type}/extra_specs/k"),
            Some(json!({"k": "v"})),
        ),
        cinder(M::DELETE, "/volume/v3/types/{id}/extra_specs/{key}", format!("{default_type}/extra_specs/k"), None),
        cinder(
            M::POST,
            "/volume/v3/snapshots",
            format!("/volume/v3/{p}/snapshots"),
            Some(json!({"snapshot": {"volume_id": w.spare_volume}})),
        ),
        cinder(M::PUT, "/volume/v3/snapshots/{id}", snap(""), Some(json!({"snapshot": {"name": "x"}}))),
        cinder(M::DELETE, "/volume/v3/snapshots/{id}", snap(""), None),
        cinder(
            M::POST,
            "/volume/v3/snapshots/{id}/action",
            snap("/action"),
            Some(json!({"os-reset_status": {"status": "error"}})),
        ),
        cinder(M::POST, "/volume/v3/snapshots/{id}/metadata", snap("/metadata"), Some(json!({"metadata": {"k": "v"}}))),
        cinder(M::PUT, "/volume/v3/snapshots/{id}/metadata", snap("/metadata"), Some(json!({"metadata": {"k": "v"}}))),
        cinder(
            M::PUT,
            "/volume/v3/snapshots/{id}/metadata/{key}",
            snap("/metadata/k"),
            Some(json!({"meta": {"k": "v"}})),
        ),
        cinder(M::DELETE, "/volume/v3/snapshots/{id}/metadata/{key}", snap("/metadata/k"), None),
        cinder(
            M::POST,
            "/volume/v3/attachments",
            format!("/volume/v3/{p}/attachments"),
            Some(json!({"attachment": {"volume_uuid": w.spare_volume, "instance_uuid": s}})),
        ),
        cinder(
            M::PUT,
            "/volume/v3/attachments/{id}",
            attachment.clone(),
            Some(json!({"attachment": {"connector": {"host": "h"}}})),
        ),
        cinder(M::DELETE, "/volume/v3/attachments/{id}", attachment.clone(), None),
        cinder(
            M::POST,
            "/volume/v3/attachments/{id}/action",
            format!("{attachment}/action"),
            Some(json!({"os-complete": {}})),
        ),
        cinder(
            M::PUT,
            "/volume/v3/os-quota-sets/{project_id}",
            format!("/volume/v3/{p}/os-quota-sets/{p}"),
            Some(json!({"quota_set": {"volumes": 1}})),
        ),
        cinder(M::DELETE, "/volume/v3/os-quota-sets/{project_id}", format!("/volume/v3/{p}/os-quota-sets/{p}"), None),
    ]);

    let vpc = |m: Method, route: &'static str, path: String, body: Option<Value>| case("vpc", m, route, path, body);
    let (net, port) = (&w.network, &w.port);
    out.extend([
        vpc(M::POST, "/v1/{project_id}/vpcs", format!("/v1/{p}/vpcs"), Some(json!({"vpc": {"name": "r"}}))),
        vpc(
            M::PUT,
            "/v1/{project_id}/vpcs/{vpc_id}",
            format!("/v1/{p}/vpcs/{net}"),
            Some(json!({"vpc": {"name": "r"}})),
        ),
        vpc(M::DELETE, "/v1/{project_id}/vpcs/{vpc_id}", format!("/v1/{p}/vpcs/{net}"), None),
        vpc(
            M::POST,
            "/v1/{project_id}/subnets",
            format!("/v1/{p}/subnets"),
            Some(json!({"subnet": {"vpc_id": net, "name": "r", "cidr": "10.30.0.0/24", "gateway_ip": "10.30.0.1"}})),
        ),
        vpc(
            M::PUT,
            "/v1/{project_id}/vpcs/{vpc_id}/subnets/{subnet_id}",
            format!("/v1/{p}/vpcs/{net}/subnets/{net}"),
            Some(json!({"subnet": {"name": "r"}})),
        ),
        vpc(
            M::DELETE,
            "/v1/{project_id}/vpcs/{vpc_id}/subnets/{subnet_id}",
            format!("/v1/{p}/vpcs/{net}/subnets/{net}"),
            None,
        ),
        vpc(
            M::POST,
            "/v1/{project_id}/security-groups",
            format!("/v1/{p}/security-groups"),
            Some(json!({"security_group": {"name": "r"}})),
        ),
        vpc(
            M::DELETE,
            "/v1/{project_id}/security-groups/{security_group_id}",
            format!("/v1/{p}/security-groups/{}", w.security_group),
            None,
        ),
        vpc(
            M::POST,
            "/v1/{project_id}/security-group-rules",
            format!("/v1/{p}/security-group-rules"),
            Some(json!({"security_group_rule": {"security_group_id": w.security_group, "direction": "ingress"}})),
        ),
        vpc(
            M::DELETE,
            "/v1/{project_id}/security-group-rules/{rule_id}",
            format!("/v1/{p}/security-group-rules/{}", w.rule),
            None,
        ),
        vpc(M::POST, "/v1/{project_id}/ports", format!("/v1/{p}/ports"), Some(json!({"port": {"network_id": net}}))),
        vpc(
            M::PUT,
            "/v1/{project_id}/ports/{port_id}",
            format!("/v1/{p}/ports/{port}"),
            Some(json!({"port": {"name": "r"}})),
        ),
        vpc(M::DELETE, "/v1/{project_id}/ports/{port_id}", format!("/v1/{p}/ports/{port}"), None),
        vpc(
            M::POST,
            "/v1/{project_id}/privateips",
            format!("/v1/{p}/privateips"),
            Some(json!({"privateips": [{"subnet_id": net}]})),
        ),
        vpc(M::DELETE, "/v1/{project_id}/privateips/{privateip_id}", format!("/v1/{p}/privateips/{port}"), None),
        vpc(
            M::POST,
            "/v3/{project_id}/vpc/security-groups",
            format!("/v3/{p}/vpc/security-groups"),
            Some(json!({"security_group": {"name": "r"}})),
        ),
        vpc(
            M::PUT,
            "/v3/{project_id}/vpc/security-groups/{security_group_id}",
            format!("/v3/{p}/vpc/security-groups/{}", w.security_group),
            Some(json!({"security_group": {"name": "r"}})),
        ),
        vpc(
            M::DELETE,
            "/v3/{project_id}/vpc/security-groups/{security_group_id}",
            format!("/v3/{p}/vpc/security-groups/{}", w.security_group),
            None,
        ),
        vpc(
            M::POST,
            "/v3/{project_id}/vpc/security-group-rules",
            format!("/v3/{p}/vpc/security-group-rules"),
            Some(json!({"security_group_rule": {"security_group_id": w.security_group, "direction": "ingress"}})),
        ),
        vpc(
            M::DELETE,
            "/v3/{project_id}/vpc/security-group-rules/{security_group_rule_id}",
            format!("/v3/{p}/vpc/security-group-rules/{}", w.rule),
            None,
        ),
    ]);

    let keystone =
        |m: Method, route: &'static str, path: String, body: Option<Value>| case("keystone", m, route, path, body);
    let grant = format!("/identity/v3/projects/{}/users/{}/roles/{}", w.admin_project, w.viewer, w.reader_role);
    out.extend([
        keystone(M::POST, "/projects", "/identity/v3/projects".into(), Some(json!({"project": {"name": "x"}}))),
        keystone(M::DELETE, "/projects/{id}", format!("/identity/v3/projects/{}", w.admin_project), None),
        keystone(M::PUT, "/projects/{project}/users/{user}/roles/{role}", grant.clone(), None),
        keystone(
            M::DELETE,
            "/projects/{project}/users/{user}/roles/{role}",
            format!("/v3/projects/{p}/users/{}/roles/{}", w.viewer, w.reader_role),
            None,
        ),
        keystone(M::POST, "/roles", "/identity/v3/roles".into(), Some(json!({"role": {"name": "x"}}))),
        keystone(
            M::PATCH,
            "/roles/{id}",
            format!("/identity/v3/roles/{}", w.reader_role),
            Some(json!({"role": {"name": "x"}})),
        ),
        keystone(M::DELETE, "/roles/{id}", format!("/identity/v3/roles/{}", w.reader_role), None),
        keystone(M::POST, "/users", "/identity/v3/users".into(), Some(json!({"user": {"name": "x", "password": "x"}}))),
        keystone(M::DELETE, "/users/{id}", format!("/identity/v3/users/{}", w.viewer), None),
        keystone(
            M::POST,
            "/users/{id}/credentials/OS-EC2",
            format!("/identity/v3/users/{}/credentials/OS-EC2", w.viewer),
            Some(json!({"tenant_id": p})),
        ),
        keystone(
            M::DELETE,
            "/users/{id}/credentials/OS-EC2/{access}",
            format!("/identity/v3/users/{}/credentials/OS-EC2/{}", w.viewer, w.access),
            None,
        ),
        keystone(
            M::POST,
            "/users/{id}/application_credentials",
            format!("/identity/v3/users/{}/application_credentials", w.viewer),
            Some(json!({"application_credential": {"name": "reader-made"}})),
        ),
        keystone(
            M::DELETE,
            "/users/{id}/application_credentials/{credential}",
            format!("/identity/v3/users/{}/application_credentials/none-such", w.viewer),
            None,
        ),
    ]);
    out
}

/// The rule or action a policy refusal in the dialect's own format names;
/// None for any other answer.
fn refused_under(dialect: &str, r: &Reply) -> Option<String> {
    let b = &r.body;
    let (message, before, after) = match dialect {
        "nova" | "cinder" if b["forbidden"]["code"] == 403 => {
            (&b["forbidden"]["message"], "Policy doesn't allow ", " to be performed.")
        }
        "ecs" | "ims" if b["error"]["code"] == "Pdp.0001" => {
            (&b["error"]["message"], "Policy does not allow ", " to be performed.")
        }
        "neutron" if b["NeutronError"]["type"] == "PolicyNotAuthorized" => {
            (&b["NeutronError"]["message"], "(rule:", ") is disallowed by policy")
        }
        "eip" if b["code"] == "VPC.2201" => (&b["message"], "Policy doesn't allow ", " to be performed."),
        "evs" if b["error"]["code"] == "EVS.0003" => {
            (&b["error"]["message"], "Policy doesn't allow ", " to be performed.")
        }
        "admin" if b["error"]["code"] == "Forbidden" => {
            (&b["error"]["message"], "Policy doesn't allow ", " to be performed.")
        }
        "vpc" if b["code"] == "VPC.2201" => (&b["message"], "Policy doesn't allow ", " to be performed."),
        "vpc" if b["error_code"] == "VPC.2201" && b["request_id"].is_string() => {
            (&b["error_msg"], "Policy doesn't allow ", " to be performed.")
        }
        "glance" if b["code"] == 403 => (&b["message"], "You are not authorized to complete ", " action."),
        "keystone" if b["error"]["code"] == 403 && b["error"]["title"] == "Forbidden" => {
            (&b["error"]["message"], "You are not authorized to perform the requested action: ", ".")
        }
        _ => return None,
    };
    let rule = message.as_str()?.strip_prefix(before)?.strip_suffix(after)?;
    (r.status == 403 && !rule.is_empty()).then(|| rule.to_string())
}

#[test]
fn every_changing_route_has_a_case() {
    let declared = declared_changing_routes();
    assert!(declared.len() > 80, "the router sources were not read: {declared:?}");
    let w = World {
        project: "p".into(),
        server: "s".into(),
        port_of_server: "ps".into(),
        image: "i".into(),
        volume: "v".into(),
        spare_volume: "sv".into(),
        snapshot: "sn".into(),
        server_group: "g".into(),
        security_group: "sg".into(),
        rule: "r".into(),
        network: "n".into(),
        subnet: "sub".into(),
        port: "po".into(),
        viewer: "u".into(),
        reader_role: "ro".into(),
        access: "a".into(),
        admin_project: "ap".into(),
    };
    let cases = cases(&w);
    let missing: Vec<_> = declared
        .iter()
        .filter(|(d, m, route)| {
            let exempt = NOT_CHANGES.iter().any(|(ed, em, er, _)| ed == d && em == m && er == route);
            !exempt && !cases.iter().any(|c| c.dialect == *d && c.method.as_str() == m && c.route == route)
        })
        .collect();
    assert!(missing.is_empty(), "changing routes without a reader case: {missing:?}");
    // And no case names a route that is not declared.
    for c in &cases {
        let declared_here = declared.iter().any(|(d, m, r)| *d == c.dialect && m == c.method.as_str() && r == c.route);
        assert!(declared_here, "a case for an undeclared route: {} {} {}", c.dialect, c.method, c.route);
    }
}

async fn send(s: &Session<'_>, method: Method, path: &str, body: Option<&Value>) -> Reply {
    s.server.send(method, path, &[("x-auth-token", s.token.as_str())], body).await
}

async fn ok(s: &Session<'_>, method: Method, path: &str, body: Value) -> Value {
    let r = send(s, method.clone(), path, Some(&body)).await;
    assert!(r.status.is_success(), "{method} {path}: {} {}", r.status, r.body);
    r.body
}

/// Everything a reader's request could change, as admin and the project's
/// member see it.
async fn everything(w: &World, admin: &Session<'_>, demo: &Session<'_>) -> Vec<(String, Value)> {
    let (p, s) = (&w.project, &w.server);
    let as_admin = [
        "/v2.1/servers/detail?all_tenants=1".to_string(),
        "/v2.1/flavors/detail".into(),
        "/v2.1/flavors/m1.tiny/os-extra_specs".into(),
        "/v2.1/images/detail".into(),
        format!("/v2.1/os-quota-sets/{p}"),
        "/v2.1/os-simulator".into(),
        "/admin/v1/simulator".into(),
        "/admin/v1/scenario".into(),
        "/admin/v1/snapshots".into(),
        "/networking/v2.0/networks".into(),
        "/networking/v2.0/subnets".into(),
        "/networking/v2.0/ports".into(),
        "/identity/v3/projects".into(),
        "/identity/v3/users".into(),
        "/identity/v3/role_assignments".into(),
        format!("/identity/v3/users/{}/credentials/OS-EC2", w.viewer),
        "/volume/v3/types".into(),
        format!("/volume/v3/os-quota-sets/{p}"),
    ];
    let as_demo = [
        "/v2.1/os-keypairs".to_string(),
        "/v2.1/os-server-groups".into(),
        "/v2.1/os-volumes/detail".into(),
        "/v2.1/os-snapshots/detail".into(),
        "/v2.1/os-security-groups".into(),
        "/v2.1/os-floating-ips".into(),
        "/networking/v2.0/security-groups".into(),
        "/networking/v2.0/routers".into(),
        "/networking/v2.0/floatingips".into(),
        format!("/v1/{p}/vpcs"),
        format!("/v1/{p}/subnets"),
        format!("/v1/{p}/security-group-rules"),
        format!("/v1/{p}/ports"),
        format!("/v2.1/servers/{s}/metadata"),
        format!("/v2.1/servers/{s}/os-instance-actions"),
        format!("/v2.1/servers/{s}/os-interface"),
        format!("/v2.1/servers/{s}/os-volume_attachments"),
        format!("/v2.1/servers/{s}/os-server-password"),
        format!("/v1/{p}/cloudservers/detail"),
        format!("/v1/{p}/servers/{s}/tags"),
        format!("/v1/{p}/cloudservers/os-server-groups"),
        format!("/v1/{p}/recycle-bin"),
        format!("/v1/{p}/cloudservers/{s}/metadata-options"),
        format!("/v3/{p}/launch-templates"),
        "/image/v2/images".into(),
        format!("/volume/v3/{p}/volumes/detail"),
        format!("/volume/v3/{p}/snapshots/detail"),
        format!("/volume/v3/{p}/types"),
        format!("/v1/{p}/publicips"),
        format!("/v1/{p}/bandwidths"),
        format!("/v2/{p}/cloudvolumes/detail"),
    ];
    let mut out = Vec::new();
    for (who, paths) in [(admin, &as_admin[..]), (demo, &as_demo[..])] {
        for path in paths {
            let r = who.get(path, Some("2.26")).await;
            assert_eq!(r.status, 200, "GET {path}: {}", r.body);
            out.push((path.clone(), r.body));
        }
    }
    out
}

/// Something of every kind in the demo project, and a user `viewer`
/// (password `pw`) holding only the reader role there.
pub(crate) async fn world(server: &TestServer, admin: &Session<'_>, demo: &Session<'_>) -> World {
    let project = demo.project_id.clone();

    // A user holding only the reader role on the demo project.
    let r = ok(admin, Method::POST, "/identity/v3/users", json!({"user": {"name": "viewer", "password": "pw"}})).await;
    let viewer = r["user"]["id"].as_str().unwrap().to_string();
    let roles = admin.get("/identity/v3/roles?name=reader", None).await;
    let reader_role = roles.body["roles"][0]["id"].as_str().expect("Keystone's default reader role").to_string();
    let grant = format!("/identity/v3/projects/{project}/users/{viewer}/roles/{reader_role}");
    assert_eq!(send(admin, Method::PUT, &grant, None).await.status, 204);
    let cred = format!("/identity/v3/users/{viewer}/credentials/OS-EC2");
    let access = ok(admin, Method::POST, &cred, json!({"tenant_id": project})).await["credential"]["access"]
        .as_str()
        .unwrap()
        .to_string();

    // Something of every kind in the project.
    let images = demo.get("/v2.1/images", None).await;
    let image = images.body["images"][0]["id"].as_str().expect("a seeded image").to_string();
    ok(
        demo,
        Method::POST,
        "/v2.1/os-keypairs",
        json!({"keypair": {"name": "k1", "public_key": crate::keypairs_vector()}}),
    )
    .await;
    let net = ok(demo, Method::POST, "/networking/v2.0/networks", json!({"network": {"name": "n1"}})).await;
    let network = net["network"]["id"].as_str().unwrap().to_string();
    let sub = json!({"subnet": {"network_id": network, "cidr": "10.20.0.0/24", "ip_version": 4}});
    let subnet =
        ok(demo, Method::POST, "/networking/v2.0/subnets", sub).await["subnet"]["id"].as_str().unwrap().to_string();
    let port = ok(demo, Method::POST, "/networking/v2.0/ports", json!({"port": {"network_id": network}})).await["port"]
        ["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = json!({"server": {"name": "web", "flavorRef": "m1.tiny", "imageRef": image,
        "networks": [{"uuid": network}, {"uuid": network}], "metadata": {"role": "web"}}});
    let srv = ok(demo, Method::POST, "/v2.1/servers", body).await["server"]["id"].as_str().unwrap().to_string();
    demo.wait_status(&srv, "ACTIVE").await;
    let tagged = demo.nova(Method::PUT, &format!("/v2.1/servers/{srv}/tags/web"), Some("2.26"), None).await;
    assert_eq!(tagged.status, 201, "{}", tagged.body);
    let ifaces = demo.get(&format!("/v2.1/servers/{srv}/os-interface"), None).await;
    // The second NIC: the primary one may never go (an ECS rule before the core's).
    let port_of_server = ifaces.body["interfaceAttachments"][1]["port_id"].as_str().unwrap().to_string();
    let volume = ok(demo, Method::POST, "/v2.1/os-volumes", json!({"volume": {"size": 1}})).await["volume"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let spare_volume = ok(demo, Method::POST, "/v2.1/os-volumes", json!({"volume": {"size": 1}})).await["volume"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let snap = json!({"snapshot": {"volume_id": volume, "force": true}});
    let snapshot =
        ok(demo, Method::POST, "/v2.1/os-snapshots", snap).await["snapshot"]["id"].as_str().unwrap().to_string();
    let attach = json!({"volumeAttachment": {"volumeId": volume}});
    ok(demo, Method::POST, &format!("/v2.1/servers/{srv}/os-volume_attachments"), attach).await;
    for _ in 0..600 {
        let v = demo.get(&format!("/v2.1/os-volumes/{volume}"), None).await;
        if v.body["volume"]["status"] == "in-use" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let group = json!({"server_group": {"name": "g1", "policies": ["anti-affinity"]}});
    let server_group = ok(demo, Method::POST, "/v2.1/os-server-groups", group).await["server_group"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let sg = json!({"security_group": {"name": "sg1", "description": "web"}});
    let security_group = ok(demo, Method::POST, "/v2.1/os-security-groups", sg).await["security_group"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let rule = json!({"security_group_rule": {"parent_group_id": security_group, "ip_protocol": "tcp",
        "from_port": 22, "to_port": 22, "cidr": "0.0.0.0/0"}});
    let rule = ok(demo, Method::POST, "/v2.1/os-security-group-rules", rule).await["security_group_rule"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    World {
        project,
        server: srv,
        port_of_server,
        image,
        volume,
        spare_volume,
        snapshot,
        server_group,
        security_group,
        rule,
        network,
        subnet,
        port,
        viewer,
        reader_role,
        access,
        admin_project: server.admin_project_id().to_string(),
    }
}

async fn sweep(server: &TestServer) {
    let admin = server.admin().await;
    let demo = server.demo().await;
    let w = world(server, &admin, &demo).await;
    let project = w.project.clone();
    let reader = server.login("viewer", "pw", "demo").await;

    // The reader may look.
    for path in ["/v2.1/servers/detail".to_string(), format!("/v1/{project}/cloudservers/detail")] {
        assert_eq!(reader.get(&path, None).await.status, 200, "{path}");
    }
    assert_eq!(send(&reader, Method::GET, "/networking/v2.0/networks", None).await.status, 200);
    assert_eq!(send(&reader, Method::GET, "/image/v2/images", None).await.status, 200);

    let before = everything(&w, &admin, &demo).await;
    let mut not_refused = Vec::new();
    for c in cases(&w) {
        let r = reader.nova(c.method.clone(), &c.path, c.version, c.body.as_ref()).await;
        if refused_under(c.dialect, &r).is_none() {
            not_refused.push(format!("{} {} ({}): {} {}", c.method, c.path, c.dialect, r.status, r.body));
        }
    }
    assert!(not_refused.is_empty(), "not refused as policy:\n{}", not_refused.join("\n"));
    let after = everything(&w, &admin, &demo).await;
    for ((path, was), (_, is)) in before.iter().zip(&after) {
        assert_eq!(was, is, "GET {path} changed under a reader's requests");
    }
    // The member still may (the sweep refused the reader, not the route).
    let r =
        send(&demo, Method::PUT, &format!("/v2.1/servers/{}/metadata/k", w.server), Some(&json!({"meta": {"k": "v"}})))
            .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn start(db: ecs_test_utils::TestDb, early_gates: bool) -> TestServer {
    TestServer::start_serving(db, |c| c.early_policy_gates = early_gates).await
}

/// As served: the extractors refuse early, the core behind them.
mod sweep_as_served {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let server = super::start(ecs_test_utils::sqlite(), true).await;
        super::sweep(&server).await;
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let server = super::start(ecs_test_utils::postgres().await, true).await;
        super::sweep(&server).await;
        server.stop().await;
    }
}

/// With the Nova and ECS extractors' early gates off: the core alone refuses.
mod sweep_core_alone {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let server = super::start(ecs_test_utils::sqlite(), false).await;
        super::sweep(&server).await;
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let server = super::start(ecs_test_utils::postgres().await, false).await;
        super::sweep(&server).await;
        server.stop().await;
    }
}
