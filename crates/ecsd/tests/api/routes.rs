//! Every route the routers declare, read from their sources: the reader
//! sweep checks each changing route has a case, the request fuzzer drives
//! them all. A route added to a router is picked up without a list to keep.

/// The router sources, by dialect.
const ROUTERS: &[(&str, &str)] = &[
    ("nova", include_str!("../../../ecs-api/src/nova/mod.rs")),
    ("ecs", include_str!("../../../ecs-api/src/ecs/mod.rs")),
    ("neutron", include_str!("../../../ecs-api/src/neutron/mod.rs")),
    ("glance", include_str!("../../../ecs-api/src/glance/mod.rs")),
    ("cinder", include_str!("../../../ecs-api/src/cinder/mod.rs")),
    ("keystone", include_str!("../../../ecs-api/src/identity/mod.rs")),
    ("eip", include_str!("../../../ecs-api/src/eip/mod.rs")),
    ("evs", include_str!("../../../ecs-api/src/evs/mod.rs")),
    ("vpc", include_str!("../../../ecs-api/src/vpc/mod.rs")),
    ("ims", include_str!("../../../ecs-api/src/ims/mod.rs")),
    ("admin", include_str!("../../../ecs-api/src/admin/simulator.rs")),
    // Unauthenticated documents outside every service: `/openapi.json`.
    ("public", include_str!("../../../ecs-api/src/openapi.rs")),
    // `/metrics`, `/healthz`, `/readyz`: no token, no service's prefix.
    ("ops", include_str!("../../../ecs-api/src/ops.rs")),
    ("admin", include_str!("../../../ecs-api/src/admin/scenario.rs")),
    ("admin", include_str!("../../../ecs-api/src/admin/snapshots.rs")),
    // The web console's static files: GET only, no token.
    ("console", include_str!("../../../ecs-api/src/console.rs")),
    ("admin", include_str!("../../../ecs-api/src/admin/clock.rs")),
];

/// The method routers axum offers, as they are spelled in the sources.
const METHODS: &[&str] = &["get", "head", "post", "put", "patch", "delete"];

/// A route as its router declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pub dialect: &'static str,
    /// Upper case: `GET`, `POST`…
    pub method: String,
    /// The pattern as written, relative to where the router is nested
    /// (Nova's under `/v2.1`, Keystone's v3 under `/identity/v3`).
    pub pattern: String,
}

/// Every `(dialect, METHOD, pattern)` the routers declare: each
/// `.route("pattern", …)` with each method router it names, once.
pub fn declared() -> Vec<Declared> {
    let mut out: Vec<Declared> = Vec::new();
    for (dialect, source) in ROUTERS {
        let mut rest = *source;
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            // The route's arguments: up to the parenthesis that closes `.route(`.
            let mut depth = 1;
            let end = rest
                .char_indices()
                .find(|(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map(|(i, _)| i)
                .expect("balanced .route(");
            let args = &rest[..end];
            let pattern = args.split('"').nth(1).expect("a route pattern").to_string();
            for method in METHODS {
                let call = format!("{method}(");
                let used = args
                    .match_indices(&call)
                    .any(|(i, _)| i == 0 || !args[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_'));
                let route = Declared { dialect, method: method.to_uppercase(), pattern: pattern.clone() };
                if used && !out.contains(&route) {
                    out.push(route);
                }
            }
        }
    }
    out
}
