//! The IAM actions of the ECS-native API (seed 002 chapter 9) as data:
//! which action a request is, and whether it changes anything. A caller
//! whose roles only read (`reader`) is refused every changing action with
//! `Pdp.0001`.

use axum::http::Method;

/// `(method, path pattern, action, reads)`; `*` matches one segment.
/// The batch action route is absent: its body names the action.
const ACTIONS: &[(&str, &str, &str, bool)] = &[
    ("POST", "/v1/*/cloudservers", "ecs:cloudServers:create", false),
    ("POST", "/v1.1/*/cloudservers", "ecs:cloudServers:create", false),
    ("POST", "/v1/*/cloudservers/delete", "ecs:cloudServers:delete", false),
    ("POST", "/*/*/cloudservers/*/reinstallos", "ecs:cloudServers:rebuild", false),
    ("POST", "/*/*/cloudservers/*/changeos", "ecs:cloudServers:changeOS", false),
    // `/v2/{project_id}/…` as the Nova rewrite leaves it.
    ("POST", "/*/cloudservers/*/reinstallos", "ecs:cloudServers:rebuild", false),
    ("POST", "/*/cloudservers/*/changeos", "ecs:cloudServers:changeOS", false),
    ("POST", "/v1/*/cloudservers/*/migrate", "ecs:cloudServers:migrate", false),
    ("POST", "/v1/*/cloudservers/*/resize", "ecs:cloudServers:resize", false),
    ("POST", "/v1.1/*/cloudservers/*/resize", "ecs:cloudServers:resize", false),
    ("POST", "/v1/*/cloudservers/batch-resize", "ecs:cloudServers:resize", false),
    ("PUT", "/v1/*/cloudservers/server-name", "ecs:cloudServers:put", false),
    ("PUT", "/v1/*/cloudservers/*/autorecovery", "ecs:cloudServers:put", false),
    ("PUT", "/v1/*/cloudservers/*/os-interface/*", "ecs:cloudServers:updateServerInterface", false),
    (
        "POST",
        "/v1/*/cloudservers/*/os-interface/*/change-network-interface",
        "ecs:cloudServers:changeNetworkInterface",
        false,
    ),
    ("POST", "/v1/*/cloudservers/*/changevpc", "ecs:cloudServers:changeVpc", false),
    ("PUT", "/v1/*/cloudservers/nics/*", "ecs:cloudServerNics:update", false),
    ("POST", "/v1/*/cloudservers/os-server-groups/*/add_members", "ecs:cloudServers:create", false),
    ("POST", "/v1/*/cloudservers/os-server-groups/*/remove_members", "ecs:cloudServers:create", false),
    ("POST", "/v1/*/cloudservers/*/nics", "ecs:cloudServers:addNics", false),
    ("POST", "/v1/*/cloudservers/*/nics/delete", "ecs:cloudServerNics:delete", false),
    ("POST", "/v1/*/cloudservers/*/attachvolume", "ecs:cloudServers:attach", false),
    ("DELETE", "/v1/*/cloudservers/*/detachvolume/*", "ecs:cloudServers:detachVolume", false),
    ("POST", "/v1/*/batchaction/attachvolumes/*", "ecs:cloudServers:attach", false),
    ("POST", "/v1/*/batchaction/detachvolumes/*", "ecs:cloudServers:detachVolume", false),
    ("POST", "/v1/*/cloudservers/os-server-groups", "ecs:cloudServers:create", false),
    ("DELETE", "/v1/*/cloudservers/os-server-groups/*", "ecs:cloudServers:delete", false),
    ("POST", "/v1/*/cloudservers/os-server-groups/*/action", "ecs:cloudServers:create", false),
    ("POST", "/v1/*/servers/*/tags/action", "ecs:servers:setTags", false),
    ("POST", "/v1/*/cloudservers/*/tags/action", "ecs:servers:setTags", false),
    ("POST", "/v1/*/servers/resource_instances/action", "ecs:servers:getTags", true),
    ("POST", "/v1/*/cloudservers/resource_instances/action", "ecs:servers:getTags", true),
    // Issue 19's ECS-native operations.
    ("PUT", "/v1/*/recycle-bin", "ecs:recycleBin:update", false),
    ("PUT", "/v1/*/recycle-bin/policy", "ecs:recycleBin:updatePolicy", false),
    ("DELETE", "/v1/*/recycle-bin/cloudservers/*", "ecs:recycleBin:delete", false),
    ("POST", "/v1/*/recycle-bin/cloudservers/*/actions/revert", "ecs:recycleBin:revert", false),
    ("POST", "/v3/*/launch-templates", "ecs:launchTemplates:create", false),
    ("DELETE", "/v3/*/launch-templates/*", "ecs:launchTemplates:delete", false),
    ("PUT", "/v3/*/instance-scheduled-events/*", "ecs:instanceScheduledEvents:update", false),
    ("POST", "/v3/*/instance-scheduled-events/*/actions/accept", "ecs:instanceScheduledEvents:accept", false),
    ("PUT", "/v1/*/cloudservers/*/metadata-options", "ecs:cloudServers:updateMetadataOptions", false),
    ("PUT", "/v1/*/cloudservers/*/serial-console-options", "ecs:cloudServers:updateSerialConsoleOptions", false),
    ("POST", "/v1/*/cloudservers/*/actions/serial-console", "ecs:cloudServers:showSerialConsoleActions", false),
    ("POST", "/v1/*/cloudservers/*/remote_console", "ecs:cloudServers:vnc", false),
    (
        "POST",
        "/v1/*/cloudservers/*/actions/update-auto-terminate-time",
        "ecs:cloudServers:updateAutoTerminateTime",
        false,
    ),
    ("POST", "/v1/*/cloudservers/*/actions/redeploy", "ecs:cloudServers:redeploy", false),
    ("POST", "/v1/*/cloudservers/*/actions/trigger-crash-dump", "ecs:cloudServers:dump", false),
    ("POST", "/v1/*/cloudservers/actions/change-charge-mode", "ecs:cloudServers:changeChargeMode", false),
    ("PUT", "/v1/*/cloudservers/*/os-reset-password", "ecs:cloudServers:resetPassword", false),
    ("PUT", "/v1/*/cloudservers/os-reset-passwords", "ecs:cloudServers:resetServerPwd", false),
    ("DELETE", "/v1/*/cloudservers/*/os-server-password", "ecs:cloudServers:deletePassword", false),
    ("PUT", "/v1/*/cloudservers/*", "ecs:cloudServers:put", false),
    ("POST", "/v1/*/cloudservers/*/metadata", "ecs:cloudServers:updateMetadata", false),
    ("DELETE", "/v1/*/cloudservers/*/metadata/*", "ecs:cloudServers:deleteMetadata", false),
    ("PUT", "/v1/*/cloudservers/*/block_device/*", "ecs:cloudServers:updateServerBlockDevice", false),
];

/// The action a request is, when the route alone says; reads are any GET.
pub fn action(method: &Method, path: &str) -> Option<(&'static str, bool)> {
    if method == Method::GET || method == Method::HEAD {
        return Some(("ecs:cloudServers:get", true));
    }
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    ACTIONS.iter().find_map(|(m, pattern, action, reads)| {
        let parts: Vec<&str> = pattern.split('/').collect();
        let matches = *m == method.as_str()
            && parts.len() == segments.len()
            && parts.iter().zip(&segments).all(|(p, s)| *p == "*" || p == s);
        matches.then_some((*action, *reads))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_name_their_actions() {
        let p = "/v1/p1/cloudservers";
        assert_eq!(action(&Method::POST, p), Some(("ecs:cloudServers:create", false)));
        assert_eq!(action(&Method::GET, "/v1/p1/cloudservers/detail").map(|a| a.1), Some(true));
        assert_eq!(action(&Method::POST, "/v2.1/p1/cloudservers/s1/changeos").unwrap().0, "ecs:cloudServers:changeOS");
        assert_eq!(
            action(&Method::POST, "/v1/p1/servers/resource_instances/action"),
            Some(("ecs:servers:getTags", true))
        );
        assert_eq!(action(&Method::POST, "/v1/p1/cloudservers/action"), None);
    }
}
