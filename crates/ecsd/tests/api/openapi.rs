//! The OpenAPI document (`ecs_api::openapi`) against the code: the
//! checked-in `docs/openapi.json` is the one the code generates, every
//! route the ECS and admin routers declare has its operation and every
//! operation is a declared route, and `GET /openapi.json` serves it to
//! anyone.
//!
//! After changing an annotation or a route:
//! `cargo run -p ecsd -- openapi > docs/openapi.json`
//! (or `ECSD_UPDATE_OPENAPI=1 cargo nextest run -p ecsd --test api openapi`).

use std::collections::BTreeSet;
use std::path::PathBuf;

use reqwest::Method;
use serde_json::Value;

use crate::TestServer;
use crate::routes::{self, Declared};

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "head", "options", "trace"];

fn checked_in() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
}

fn document() -> Value {
    serde_json::from_str(&ecs_api::openapi::document_json()).expect("the document is JSON")
}

#[test]
fn the_checked_in_document_is_the_generated_one() {
    let generated = ecs_api::openapi::document_json();
    let path = checked_in();
    if std::env::var_os("ECSD_UPDATE_OPENAPI").is_some_and(|v| v == "1") {
        std::fs::write(&path, &generated).expect("writing docs/openapi.json");
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "docs/openapi.json is not the document the code generates: regenerate it with \
         `cargo run -p ecsd -- openapi > docs/openapi.json` (or ECSD_UPDATE_OPENAPI=1) and review the diff"
    );
}

/// A declared ECS or admin route as a client sends it (as the fuzzer fills
/// the prefixes): `(METHOD, path pattern)`.
fn served(route: &Declared) -> (String, String) {
    let p = &route.pattern;
    let path = if route.dialect == "ecs" && !p.contains("{project_id}") {
        let (version, rest) = p[1..].split_once('/').unwrap();
        format!("/{version}/{{project_id}}/{rest}")
    } else {
        p.clone()
    };
    (route.method.clone(), path)
}

#[test]
fn every_ecs_and_admin_route_has_an_operation_and_no_other() {
    let declared: BTreeSet<(String, String)> =
        routes::declared().iter().filter(|r| matches!(r.dialect, "ecs" | "admin")).map(served).collect();
    assert!(declared.len() > 90, "the router sources were not read: {declared:?}");
    assert!(declared.iter().any(|(_, p)| p.starts_with("/admin/v1/")), "no admin route: {declared:?}");
    let doc = document();
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            METHODS.iter().filter(|m| item.get(**m).is_some()).map(|m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    let undocumented: Vec<_> = declared.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes without an operation (annotate the handler and list it in its doc struct, see \
         crates/ecs-api/src/openapi.rs): {undocumented:#?}"
    );
    let undeclared: Vec<_> = documented.difference(&declared).collect();
    assert!(undeclared.is_empty(), "operations no router declares: {undeclared:#?}");
}

/// Every `$ref` resolves, operation ids are unique, every path parameter
/// is described, every operation has a tag and a success response.
#[test]
fn the_document_holds_together() {
    let doc = document();
    assert_eq!(doc["openapi"].as_str().map(|v| v.starts_with("3.")), Some(true));
    assert_eq!(doc["info"]["title"], "ecsd ECS-native and admin API");
    let schemes = doc["components"]["securitySchemes"].as_object().expect("security schemes");
    assert!(schemes.contains_key("token") && schemes.contains_key("aksk"), "{schemes:?}");

    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(refs.len() > 100, "{refs:?}");
    for r in &refs {
        let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("an outside reference: {r}"));
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }

    let tags: BTreeSet<&str> = doc["tags"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let names: BTreeSet<&str> =
            path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).collect();
        for method in METHODS {
            let Some(op) = item.get(*method) else { continue };
            let at = format!("{method} {path}");
            let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{at}: no operationId"));
            assert!(ids.insert(id.to_string()), "{at}: operationId {id} twice");
            let params: BTreeSet<&str> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            assert_eq!(params, names, "{at}: path parameters");
            for p in op["parameters"].as_array().into_iter().flatten().filter(|p| p["in"] == "path") {
                assert_eq!(p["required"], true, "{at}");
                assert!(p["description"].is_string(), "{at}: {} is not described", p["name"]);
            }
            let op_tags = op["tags"].as_array().unwrap_or_else(|| panic!("{at}: no tag"));
            assert!(op_tags.iter().all(|t| tags.contains(t.as_str().unwrap())), "{at}: an unlisted tag {op_tags:?}");
            assert!(op["summary"].is_string(), "{at}: no summary");
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.keys().any(|s| s.starts_with('2')), "{at}: no success response");
            for status in ["400", "401", "403"] {
                assert!(responses.contains_key(status), "{at}: no {status}");
            }
            if matches!(*method, "post" | "put" | "patch") && !path.contains("/actions/") {
                let body = &op["requestBody"];
                // Actions named by their path (`…/revert`, `…/restore`) take none.
                let bodiless = path.ends_with("revert") || path.ends_with("restore");
                assert!(body.is_object() || bodiless, "{at}: no request body");
            }
        }
    }
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn get_openapi_json_serves_it_to_anyone() {
    let server = TestServer::start(ecs_test_utils::sqlite()).await;
    let r = server.send(Method::GET, "/openapi.json", &[], None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.header("content-type").is_some_and(|t| t.starts_with("application/json")), "{:?}", r.headers);
    assert!(r.header("x-request-id").is_some_and(|id| id.starts_with("req-")));
    assert_eq!(r.body, document());
    // A token changes nothing; it is no ECS path.
    let admin = server.admin().await;
    let r = server.send(Method::GET, "/openapi.json", &[("x-auth-token", &admin.token)], None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["info"]["title"], "ecsd ECS-native and admin API");
    let r = server.send(Method::POST, "/openapi.json", &[], None).await;
    assert_eq!(r.status, 405, "{}", r.body);
    for path in ["/openapi.json/x", "/openapi", "/openapi.yaml"] {
        let r = server.send(Method::GET, path, &[], None).await;
        assert_eq!(r.status, 404, "{path}: {}", r.body);
    }
    server.stop().await;
}
