//! The request fuzzer: every route the routers declare (read from their
//! sources by `routes.rs`), its path parameters filled with real ids (the
//! reader sweep's world) or junk, sent with mutated bodies (starting from
//! the reader sweep's valid body of the route), junk query strings and bad
//! headers, by an admin, the project's member, a reader, a member of
//! another project and no one.
//!
//! It fails, once, with a deduplicated list, on: any 5xx; an answer slower
//! than [`ANSWER_WITHIN`] (a hang); a server that stops answering; a
//! refusal (4xx) that is not JSON in its service's format or lacks a
//! request id; a reader's change that succeeds; another project's resource
//! shown.
//!
//! Deterministic: the seed is printed, `ECSD_FUZZ_SEED=<n>` replays a run
//! (`random` picks one). Bounded by `ECSD_FUZZ_REQUESTS` requests and
//! `ECSD_FUZZ_SECONDS` seconds, whichever comes first (the defaults are
//! CI's budget). SQLite only: the fuzzer tests the HTTP layer, not the store.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};

use crate::reader::{self, World};
use crate::routes::{self, Declared};
use crate::{Session, TestServer};

/// A request not answered in this time is a hang.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);
const DEFAULT_SEED: u64 = 14;
const DEFAULT_SECONDS: u64 = 75;
const DEFAULT_REQUESTS: u64 = 50_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_under_fuzz() {
    let budget = Budget::from_env();
    eprintln!(
        "fuzz: seed {} (replay: ECSD_FUZZ_SEED={}), up to {} requests in {} s",
        budget.seed,
        budget.seed,
        budget.requests,
        budget.time.as_secs()
    );
    let server = TestServer::start(ecs_test_utils::sqlite()).await;
    let failures = fuzz(&server, &budget).await;
    server.stop().await;
    assert!(failures.is_empty(), "the fuzzer found {} kinds of failure:\n{}", failures.len(), failures.join("\n"));
}

struct Budget {
    seed: u64,
    requests: u64,
    time: Duration,
}

impl Budget {
    fn from_env() -> Budget {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let seed = match var("ECSD_FUZZ_SEED").as_deref() {
            None => DEFAULT_SEED,
            Some("random") => rand::random::<u32>().into(),
            Some(n) => n.parse().expect("ECSD_FUZZ_SEED is a number or `random`"),
        };
        let requests = var("ECSD_FUZZ_REQUESTS").map_or(DEFAULT_REQUESTS, |n| n.parse().expect("a request count"));
        let seconds = var("ECSD_FUZZ_SECONDS").map_or(DEFAULT_SECONDS, |n| n.parse().expect("a number of seconds"));
        Budget { seed, requests, time: Duration::from_secs(seconds) }
    }
}

/// Who sends a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Admin,
    Member,
    Reader,
    /// A member of another project.
    Stranger,
    Anonymous,
}

const EVERYONE: &[Who] = &[Who::Admin, Who::Member, Who::Member, Who::Reader, Who::Stranger, Who::Anonymous];

/// One route to fuzz and the valid bodies to start from.
struct Target {
    route: Declared,
    seeds: Vec<Value>,
    /// The Nova microversion the route needs.
    version: Option<&'static str>,
}

/// The routes, each with the valid bodies the reader sweep sends it (and a
/// few more for routes a reader may use).
fn targets(w: &World) -> Vec<Target> {
    let cases = reader::cases(w);
    let mut out: Vec<Target> = routes::declared()
        .into_iter()
        .map(|route| {
            let mine: Vec<_> = cases
                .iter()
                .filter(|c| c.dialect == route.dialect && c.method.as_str() == route.method && c.route == route.pattern)
                .collect();
            Target {
                seeds: mine.iter().filter_map(|c| c.body.clone()).collect(),
                version: mine.iter().find_map(|c| c.version),
                route,
            }
        })
        .collect();
    let more = [
        (
            "keystone",
            "POST",
            "/auth/tokens",
            json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "demo",
                "domain": {"name": "Default"}, "password": "demo"}}},
                "scope": {"project": {"name": "demo", "domain": {"id": "default"}}}}}),
        ),
        (
            "ecs",
            "POST",
            "/v1/{project_id}/cloudservers/resource_instances/action",
            json!({"action": "filter", "tags": [{"key": "k", "values": ["v"]}], "limit": "10", "offset": "0"}),
        ),
    ];
    for (dialect, method, pattern, body) in more {
        let t = out
            .iter_mut()
            .find(|t| t.route.dialect == dialect && t.route.method == method && t.route.pattern == pattern);
        t.expect("a declared route").seeds.push(body);
    }
    out
}

/// A request as sent, for the report.
struct Sent {
    who: Who,
    method: Method,
    path: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Option<Vec<u8>>,
    /// Whose a second `X-Auth-Token` is, if one was sent.
    second_token: Option<&'static str>,
}

impl std::fmt::Display for Sent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} as {:?}", self.method, excerpt(self.path.as_bytes()), self.who)?;
        if let Some(whose) = self.second_token {
            write!(f, ", with a second token ({whose}'s)")?;
        }
        for (name, value) in &self.headers {
            if name != "x-auth-token" || value.len() > 64 {
                write!(f, "\n      {name}: {}", excerpt(value))?;
            }
        }
        if let Some(body) = &self.body {
            write!(f, "\n      body: {}", excerpt(body))?;
        }
        Ok(())
    }
}

/// At most 300 characters of `bytes`, lossily.
fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
    if bytes.len() > 300 { format!("{text}… ({} bytes)", bytes.len()) } else { text }
}

struct Tokens {
    admin: String,
    member: String,
    reader: String,
    stranger: String,
}

impl Tokens {
    fn of(&self, who: Who) -> Option<&str> {
        match who {
            Who::Admin => Some(&self.admin),
            Who::Member => Some(&self.member),
            Who::Reader => Some(&self.reader),
            Who::Stranger => Some(&self.stranger),
            Who::Anonymous => None,
        }
    }
}

/// A user `stranger` holding the member role in a project of its own.
async fn stranger(server: &TestServer, admin: &Session<'_>) -> String {
    let created = |r: crate::Reply| {
        assert!(r.status.is_success(), "{}", r.body);
        r.body
    };
    let project = created(admin.post("/identity/v3/projects", None, &json!({"project": {"name": "elsewhere"}})).await);
    let project = project["project"]["id"].as_str().unwrap().to_string();
    let user = json!({"user": {"name": "stranger", "password": "pw", "default_project_id": project}});
    let user = created(admin.post("/identity/v3/users", None, &user).await)["user"]["id"].as_str().unwrap().to_string();
    let roles = admin.get("/identity/v3/roles?name=member", None).await;
    let member = roles.body["roles"][0]["id"].as_str().expect("Keystone's member role").to_string();
    let grant = format!("/identity/v3/projects/{project}/users/{user}/roles/{member}");
    let r = admin.nova(Method::PUT, &grant, None, None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    server.login("stranger", "pw", "elsewhere").await.token
}

/// A kind of failure: its first request, how often, on which routes.
struct Failure {
    first: String,
    count: usize,
    routes: Vec<String>,
}

/// What is wrong with an answer.
struct Finding {
    why: String,
    /// A refusal's format is one fix per dialect, whatever the route: those
    /// findings are grouped by dialect, the others by route.
    per_dialect: bool,
}

impl Finding {
    fn of_route(why: impl Into<String>) -> Option<Finding> {
        Some(Finding { why: why.into(), per_dialect: false })
    }

    fn of_dialect(why: impl Into<String>) -> Option<Finding> {
        Some(Finding { why: why.into(), per_dialect: true })
    }
}

async fn fuzz(server: &TestServer, budget: &Budget) -> Vec<String> {
    let admin = server.admin().await;
    let demo = server.demo().await;
    let w = reader::world(server, &admin, &demo).await;
    let tokens = Tokens {
        admin: admin.token.clone(),
        member: demo.token.clone(),
        reader: server.login("viewer", "pw", "demo").await.token,
        stranger: stranger(server, &admin).await,
    };
    let targets = targets(&w);
    // What only the demo project may see.
    let private = [
        &w.project,
        &w.server,
        &w.volume,
        &w.spare_volume,
        &w.snapshot,
        &w.server_group,
        &w.security_group,
        &w.rule,
        &w.network,
        &w.subnet,
        &w.port,
        &w.port_of_server,
    ];
    // A fresh connection per request: a refusal that closes its connection
    // must not fail the next request.
    let client = reqwest::Client::builder().timeout(ANSWER_WITHIN).pool_max_idle_per_host(0).build().unwrap();
    let mut rng = StdRng::seed_from_u64(budget.seed);
    let mut failures: BTreeMap<String, Failure> = BTreeMap::new();
    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    let started = Instant::now();
    let mut sent = 0;
    while sent < budget.requests && started.elapsed() < budget.time {
        sent += 1;
        let target = targets.choose(&mut rng).unwrap();
        let request = request(&mut rng, target, &w, &tokens);
        let reply = send(&client, &server.base, &request).await;
        let found = match &reply {
            Err(e) => {
                let why = if e.is_timeout() { "no answer within 10 s" } else { "no answer" };
                Finding::of_route(why).map(|f| (f, e.to_string()))
            }
            Ok(reply) => {
                *statuses.entry(reply.status).or_default() += 1;
                let answer = format!("{} {}", reply.status, excerpt(&reply.body));
                judge(target, &request, reply, &private).map(|f| (f, answer))
            }
        };
        if let Some((finding, answer)) = found {
            let r = &target.route;
            let route = format!("{} {} {}", r.dialect, r.method, r.pattern);
            let key = if finding.per_dialect {
                format!("{}: {}", dialect_of(r), finding.why)
            } else {
                format!("{route} (sent as {}): {}", request.method, finding.why)
            };
            let failure = failures.entry(key).or_insert_with(|| Failure {
                first: format!("request #{sent}: {request}\n    answer: {answer}"),
                count: 0,
                routes: Vec::new(),
            });
            failure.count += 1;
            if !failure.routes.contains(&route) {
                failure.routes.push(route);
            }
        }
    }
    eprintln!("fuzz: {sent} requests in {:.0?}, answers by status: {statuses:?}", started.elapsed());

    // The server still answers.
    let r = admin.get("/v2.1/flavors", None).await;
    let mut out: Vec<String> = Vec::new();
    if r.status != 200 {
        out.push(format!("after the run GET /v2.1/flavors answers {} {}", r.status, r.body));
    }
    for (key, f) in failures {
        let mut line = format!("- {key} ×{}", f.count);
        if f.routes.len() > 1 {
            let _ = write!(line, " on {} routes: {}", f.routes.len(), f.routes.join(", "));
        }
        let _ = write!(line, "\n    {}", f.first);
        line.truncate(3000);
        out.push(line);
    }
    if !out.is_empty() {
        let mut report = String::new();
        for line in &out {
            let _ = writeln!(report, "{line}");
        }
        eprintln!("fuzz: seed {}, failures:\n{report}", budget.seed);
    }
    out
}

/// An answer: status, content type, request id, body.
struct Answer {
    status: u16,
    content_type: String,
    request_id: bool,
    body: Vec<u8>,
}

async fn send(client: &reqwest::Client, base: &str, r: &Sent) -> reqwest::Result<Answer> {
    let mut headers = HeaderMap::new();
    for (name, value) in &r.headers {
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
            HeaderValue::from_bytes(value).expect("a header value"),
        );
    }
    let mut req = client.request(r.method.clone(), format!("{base}{}", r.path)).headers(headers);
    if let Some(body) = &r.body {
        req = req.body(body.clone());
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    let header = |name: &str| resp.headers().get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let content_type = header("content-type").unwrap_or_default();
    let request_id = header("x-openstack-request-id").is_some();
    let body = resp.bytes().await?.to_vec();
    Ok(Answer { status, content_type, request_id, body })
}

/// Routes anyone may read for any project: Nova's quota defaults are the
/// deployment's, not the project's (`os-quota-sets:defaults` is `@`).
const PUBLIC_ROUTES: &[&str] = &["/os-quota-sets/{project}/defaults", "/volume/v3/os-quota-sets/{project_id}/defaults"];

/// What is wrong with an answer, if anything.
fn judge(target: &Target, sent: &Sent, a: &Answer, private: &[&String]) -> Option<Finding> {
    let route = &target.route;
    if a.status >= 500 {
        return Finding::of_route(format!("{}", a.status));
    }
    let changing = sent.method != Method::GET && sent.method != Method::HEAD;
    if sent.who == Who::Reader && changing && (200..300).contains(&a.status) {
        let exempt = reader::NOT_CHANGES
            .iter()
            .any(|(d, m, r, _)| *d == route.dialect && *m == sent.method.as_str() && *r == route.pattern);
        if !exempt {
            return Finding::of_route("a reader's change succeeded");
        }
    }
    if sent.who == Who::Stranger
        && sent.method == Method::GET
        && !PUBLIC_ROUTES.contains(&route.pattern.as_str())
        && (200..300).contains(&a.status)
        && private.iter().any(|id| sent.path.contains(id.as_str()))
    {
        return Finding::of_route("another project's resource shown");
    }
    if !(400..500).contains(&a.status) || sent.method == Method::HEAD {
        return None;
    }
    if !a.request_id {
        return Finding::of_dialect(format!("a {} refusal without a request id", a.status));
    }
    if !a.content_type.starts_with("application/json") {
        return Finding::of_dialect(format!("a {} refusal in {:?}, not JSON", a.status, a.content_type));
    }
    let Ok(body) = serde_json::from_slice::<Value>(&a.body) else {
        return Finding::of_dialect(format!("a {} refusal whose body is not JSON", a.status));
    };
    let dialect = dialect_of(route);
    let formats_ok = match (dialect, a.status) {
        // keystonemiddleware answers 401 in Keystone's format before any
        // OpenStack service sees the request.
        ("nova" | "neutron" | "glance" | "cinder", 401) => keystone_format(&body, a.status),
        // The ECS-native block device routes on the Nova paths: ECS's
        // refusals from the handler, Nova's from the router and the
        // microversion check.
        ("nova-ecs", s) => in_format("ecs", &body, s) || in_format("nova", &body, s),
        (d, s) => in_format(d, &body, s),
    };
    if formats_ok { None } else { Finding::of_dialect(format!("a {} refusal not in {dialect}'s format", a.status)) }
}

/// The dialect whose format the route's refusals take.
fn dialect_of(route: &Declared) -> &'static str {
    if route.dialect == "nova" && route.pattern.contains("/block_device") { "nova-ecs" } else { route.dialect }
}

fn in_format(dialect: &str, b: &Value, status: u16) -> bool {
    let text = |v: &Value| v.is_string();
    match dialect {
        // `{"<fault>": {"code": status, "message": "…"}}` (Cinder's too)
        "nova" | "cinder" => {
            b.as_object().is_some_and(|o| o.len() == 1)
                && b.as_object().unwrap().values().all(|f| f["code"] == status && text(&f["message"]))
        }
        "keystone" => keystone_format(b, status),
        "neutron" => text(&b["NeutronError"]["type"]) && text(&b["NeutronError"]["message"]),
        "glance" => b["code"] == status && text(&b["title"]) && text(&b["message"]),
        // `{"error": {"code": "Ecs.0005", "message": "…"}}`
        "ecs" | "evs" => text(&b["error"]["code"]) && text(&b["error"]["message"]),
        // `{"code": "VPC.0501", "message": "…"}`
        "eip" => text(&b["code"]) && text(&b["message"]),
        // `{"code": "VPC.0101", "message": "…"}`
        // and v3's `{"request_id", "error_code", "error_msg"}`
        "vpc" => {
            (text(&b["code"]) && text(&b["message"]))
                || (text(&b["request_id"]) && text(&b["error_code"]) && text(&b["error_msg"]))
        }
        // IMS's `{"error": {"code": "IMG.0001", "message": "…"}}`.
        "ims" => text(&b["error"]["code"]) && text(&b["error"]["message"]),
        // ecsd's admin APIs: `{"error": {"code": "InvalidDocument", "message": "…", "field"?}}`.
        "admin" => text(&b["error"]["code"]) && text(&b["error"]["message"]),
        // Under no service's prefix (`/openapi.json`, `/metrics`, `/healthz`,
        // `/readyz`, the console's files): `{"error": {"code": 404, "message": "…"}}`.
        "public" | "ops" | "console" => b["error"]["code"] == status && text(&b["error"]["message"]),
        _ => false,
    }
}

fn keystone_format(b: &Value, status: u16) -> bool {
    b["error"]["code"] == status && b["error"]["title"].is_string() && b["error"]["message"].is_string()
}

// ---- Building a request ----

/// Path segments that are no id: traversal, NUL, CRLF, invalid UTF-8,
/// 10 KB, numbers out of range, a snowman.
fn junk_id(rng: &mut StdRng) -> String {
    let ten_kb = "a".repeat(10_000);
    let junk = [
        "00000000-0000-0000-0000-000000000000",
        "junk",
        "..%2F..%2Fetc%2Fpasswd",
        "%00",
        "%0D%0Ax-injected:%201",
        "%FF%FE",
        "%C3%28",
        "-1",
        "99999999999999999999999",
        &ten_kb,
        "%E2%98%83",
        "%20",
        "'%20OR%201=1--",
        "null",
        "%25",
    ];
    junk.choose(rng).unwrap().to_string()
}

/// A real id for the parameter `name` that follows the segment `before`.
fn real_id(w: &World, before: &str, name: &str) -> Option<String> {
    let id = match (before, name) {
        (_, "project_id" | "project") | ("projects", "id") => &w.project,
        (_, "server_id") | ("servers", "id") => &w.server,
        (_, "group_id") | ("os-server-groups", "id") => &w.server_group,
        (_, "volume_id") | ("os-volumes", "id") => &w.volume,
        ("os-snapshots" | "snapshots", "id") => &w.snapshot,
        ("volumes", "id") => &w.volume,
        ("types", "id") => return Some("__DEFAULT__".into()),
        ("os-security-groups", "id") => &w.security_group,
        ("os-security-group-rules", "id") => &w.rule,
        ("os-networks" | "networks", "id") => &w.network,
        ("subnets", "id") => &w.subnet,
        ("ports", "id") => &w.port,
        (_, "port_id" | "nic_id") => &w.port_of_server,
        (_, "flavor_id") => return Some("m1.tiny".into()),
        ("images", "id") | ("cloudimages", "image_id") => &w.image,
        ("users", "id") | (_, "user") => &w.viewer,
        (_, "role") => &w.reader_role,
        (_, "access") => &w.access,
        ("flavors", "id") => return Some("m1.tiny".into()),
        ("os-keypairs", "name") => return Some("k1".into()),
        ("domains", "id") => return Some("default".into()),
        ("os-extra_specs", "key") => return Some("k".into()),
        ("metadata", "key") => return Some("role".into()),
        ("tags", "tag") => return Some("web".into()),
        _ => return None,
    };
    Some(id.clone())
}

/// The path a route is served at: under its router's prefix, its
/// parameters filled (with real ids unless the request may destroy them).
fn path(rng: &mut StdRng, route: &Declared, w: &World, real: bool) -> String {
    let p = &route.pattern;
    let absolute = p == "/" || p.starts_with("/v2") || p.starts_with("/v3") || p.starts_with("/identity");
    let prefixed = match route.dialect {
        "nova" if !absolute => {
            let prefixes: &[&str] = if p == "/servers/{id}/action" {
                &["/v2.1", "/v2", "/v2.1/{project_id}", "/v1.0"]
            } else {
                &["/v2.1", "/v2.1", "/v2.1", "/v2", "/v2.1/{project_id}", "/v2/{project_id}"]
            };
            format!("{}{p}", prefixes.choose(rng).unwrap())
        }
        "keystone" if !absolute => format!("{}{p}", ["/identity/v3", "/v3"].choose(rng).unwrap()),
        // Cinder's project in the path is optional from 3.67.
        "cinder" if rng.gen_bool(0.7) => p.replacen("/volume/v3/", "/volume/v3/{project_id}/", 1),
        // The ECS v2 routes are declared without the project the client sends.
        "ecs" if !p.contains("{project_id}") => {
            let (version, rest) = p[1..].split_once('/').unwrap();
            format!("/{version}/{{project_id}}/{rest}")
        }
        _ => p.clone(),
    };
    let mut out = String::new();
    let mut before = "";
    for segment in prefixed.split('/').skip(1) {
        out.push('/');
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => {
                let real = real_id(w, before, name).filter(|_| real && rng.gen_bool(0.8));
                out.push_str(&real.unwrap_or_else(|| junk_id(rng)));
            }
            None => out.push_str(segment),
        }
        before = segment;
    }
    // Now and then a path no route serves.
    if rng.gen_bool(0.03) {
        out.push_str(["/junk", "/", "/%FF", "/detail/x"].choose(rng).unwrap());
    }
    out
}

/// Query strings lists are refused for (and ones no route reads).
fn junk_query(rng: &mut StdRng) -> String {
    let ten_kb = format!("name={}", "a".repeat(10_000));
    let junk = [
        "limit=-1",
        "limit=abc",
        "limit=100000000000000000000",
        "limit=0",
        "limit=1&limit=2",
        "marker=junk",
        "marker=00000000-0000-0000-0000-000000000000",
        "sort_dir=x",
        "sort_key=%00",
        "sort_key=junk",
        "name=%00",
        "name=%0D%0A",
        "name=%28",
        "name=*",
        "ip=%5B",
        "status=junk",
        "all_tenants=1",
        "all_tenants=junk",
        "changes-since=junk",
        "changes-before=2026-13-45",
        "page_reverse=junk",
        "fields=%FF",
        &ten_kb,
        "%FF=%FE",
        "=",
        "&&&",
        "tags=%00",
        "not-tags=a,,b",
        "offset=-5",
        "flavor=%00",
        "deleted=maybe",
        "admin_state_up=NaN",
        "visibility=x",
    ];
    (0..rng.gen_range(1..=3)).map(|_| *junk.choose(rng).unwrap()).collect::<Vec<_>>().join("&")
}

/// A value of every wrong type and size.
fn junk_value(rng: &mut StdRng) -> Value {
    match rng.gen_range(0..22) {
        0 => json!(0),
        1 => json!(-1),
        2 => json!(1.5),
        3 => json!(1e308),
        4 => json!(u64::MAX),
        5 => json!(i64::MIN),
        6 => json!(true),
        7 => json!(false),
        8 => Value::Null,
        9 => json!(""),
        10 => json!("x".repeat(100_000)),
        11 => json!("\u{0}\r\n\t"),
        12 => json!("☃２.１"),
        13 => json!([]),
        14 => json!([1, "x", null]),
        15 => json!({}),
        16 => json!({"a": {"b": [1]}}),
        17 => json!("../../etc/passwd"),
        18 => json!("00000000-0000-0000-0000-000000000000"),
        19 => json!("-1"),
        20 => json!("x".repeat(256)),
        _ => json!("NaN"),
    }
}

/// Where a value sits in a JSON document.
#[derive(Clone)]
enum Step {
    Key(String),
    Index(usize),
}

fn places(v: &Value, at: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(at.clone());
    match v {
        Value::Object(o) => {
            for (k, child) in o {
                at.push(Step::Key(k.clone()));
                places(child, at, out);
                at.pop();
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                at.push(Step::Index(i));
                places(child, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn at_mut<'a>(v: &'a mut Value, place: &[Step]) -> &'a mut Value {
    place.iter().fold(v, |v, step| match step {
        Step::Key(k) => &mut v[k.as_str()],
        Step::Index(i) => &mut v[*i],
    })
}

/// One change to a valid body: a value of the wrong type or size, a field
/// dropped or added, an array blown up.
fn mutate(rng: &mut StdRng, body: &mut Value) {
    let mut all = Vec::new();
    places(body, &mut Vec::new(), &mut all);
    // The deeper places are the fields; the root only now and then.
    let place = if all.len() > 1 && rng.gen_bool(0.9) { all[1..].choose(rng).unwrap() } else { &all[0] };
    match rng.gen_range(0..10) {
        0 if !place.is_empty() => {
            let (last, parent) = place.split_last().unwrap();
            match (at_mut(body, parent), last) {
                (Value::Object(o), Step::Key(k)) => {
                    o.remove(k);
                }
                (Value::Array(a), Step::Index(i)) => {
                    a.remove(*i);
                }
                _ => {}
            }
        }
        1 => {
            let extra = junk_value(rng);
            match at_mut(body, place) {
                Value::Object(o) => {
                    o.insert("fuzz_extra".into(), extra);
                }
                v => *v = extra,
            }
        }
        2 => {
            let v = at_mut(body, place);
            *v = json!([v.take()]);
        }
        3 => {
            let v = at_mut(body, place);
            let one = match &*v {
                Value::Array(a) if !a.is_empty() => a[0].clone(),
                other => other.clone(),
            };
            // Up to a thousand copies, but never past a few megabytes: a
            // blow-up of a blow-up of a blow-up would fill the fuzzer's memory.
            let size = serde_json::to_vec(&one).map_or(1, |b| b.len().max(1));
            *v = Value::Array(vec![one; (3_000_000 / size).clamp(1, 1000)]);
        }
        _ => *at_mut(body, place) = junk_value(rng),
    }
}

/// Bodies that are no JSON document a route takes.
fn junk_body(rng: &mut StdRng) -> Vec<u8> {
    match rng.gen_range(0..16) {
        0 => Vec::new(),
        1 => b"{".to_vec(),
        2 => b"[]".to_vec(),
        3 => b"\"x\"".to_vec(),
        4 => b"null".to_vec(),
        5 => b"{\"a\":}".to_vec(),
        6 => b"\xff\xfe\xfd".to_vec(),
        7 => b"{\"x\": \"\xff\"}".to_vec(),
        8 => format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
        9 => format!("{{\"x\": \"{}\"}}", "a".repeat(2_000_000)).into_bytes(),
        10 => b"{\"a\": 1, \"a\": 2}".to_vec(),
        11 => b"{\"x\": 1e400}".to_vec(),
        12 => b"{\"x\": 18446744073709551616}".to_vec(),
        13 => b"\x00\x00".to_vec(),
        14 => b"<xml/>".to_vec(),
        _ => b"a=b&c=d".to_vec(),
    }
}

/// A request to `target`: its path, a caller, maybe a junk query, a body
/// (mutated from a valid one, or junk) and headers (now and then bad).
fn request(rng: &mut StdRng, target: &Target, w: &World, tokens: &Tokens) -> Sent {
    let route = &target.route;
    let mut who = *EVERYONE.choose(rng).unwrap();
    // The clock only moves forward: an admin's advance could expire every
    // caller's token for the rest of the run (the clock tests cover it).
    if who == Who::Admin && route.pattern == "/admin/v1/clock/advance" {
        who = Who::Member;
    }
    let mut method = Method::from_bytes(route.method.as_bytes()).unwrap();
    // Now and then a method the route does not serve.
    if rng.gen_bool(0.04) {
        method =
            [Method::PATCH, Method::PUT, Method::DELETE, Method::POST, Method::OPTIONS].choose(rng).unwrap().clone();
    }
    // The admin and the member delete junk only: the world must last the run
    // (and the callers' tokens, projects and users with it).
    let destroys = method == Method::DELETE && matches!(who, Who::Admin | Who::Member);
    let mut path = path(rng, route, w, !destroys);
    // Junk queries mostly where lists read them.
    let query = if method == Method::GET { 0.5 } else { 0.05 };
    if rng.gen_bool(query) {
        path = format!("{path}?{}", junk_query(rng));
    }

    let body = match target.seeds.choose(rng) {
        Some(seed) if method != Method::GET && method != Method::HEAD => {
            if rng.gen_bool(0.1) {
                Some(junk_body(rng))
            } else {
                let mut body = seed.clone();
                // A few valid bodies, so that what follows them is reached too.
                let changes = if rng.gen_bool(0.15) { 0 } else { rng.gen_range(1..=3) };
                for _ in 0..changes {
                    mutate(rng, &mut body);
                }
                let body = serde_json::to_vec(&body).unwrap();
                // Blown-up arrays of blown-up arrays: the size limits have
                // their own junk bodies.
                Some(if body.len() > 3_000_000 { junk_body(rng) } else { body })
            }
        }
        _ if rng.gen_bool(0.1) => Some(junk_body(rng)),
        _ if method == Method::POST || method == Method::PUT => {
            Some(serde_json::to_vec(&json!({"fuzz": junk_value(rng)})).unwrap())
        }
        _ => None,
    };

    let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
    let mut header = |name: &str, value: &[u8]| headers.push((name.to_string(), value.to_vec()));
    if let Some(token) = tokens.of(who) {
        header("x-auth-token", token.as_bytes());
    }
    if body.is_some() {
        header("content-type", b"application/json");
    }
    if let Some(version) = target.version.filter(|_| rng.gen_bool(0.8)) {
        let value = if version.contains(' ') { version.to_string() } else { format!("compute {version}") };
        header("openstack-api-version", value.as_bytes());
    }
    if route.pattern == "/auth/tokens" {
        // Never a real token for a DELETE: the run's callers must stay logged in.
        let subject = match tokens.of(who) {
            Some(t) if method != Method::DELETE && rng.gen_bool(0.7) => t.to_string(),
            _ => junk_id(rng),
        };
        header("x-subject-token", subject.as_bytes());
    }
    let mut second_token = None;
    for _ in 0..rng.gen_range(0..=2) {
        second_token = bad_header(rng, &mut headers, tokens, w).or(second_token);
    }
    Sent { who, method, path, headers, body, second_token }
}

/// One bad header: a junk microversion, a second token, a wrong content
/// type or encoding, a junk signature… Returns whose a second token is.
fn bad_header(
    rng: &mut StdRng,
    headers: &mut Vec<(String, Vec<u8>)>,
    tokens: &Tokens,
    w: &World,
) -> Option<&'static str> {
    let mut set = |name: &str, value: Vec<u8>| {
        headers.retain(|(n, _)| n != name);
        headers.push((name.to_string(), value));
    };
    match rng.gen_range(0..9) {
        0 => {
            let versions: &[&[u8]] = &[
                b"compute junk",
                b"compute 2.999",
                b"compute 3.0",
                b"compute latest",
                b"compute -1.5",
                b"compute 2.",
                "compute \u{ff12}.\u{ff11}".as_bytes(),
                "compute \u{2603}".as_bytes(),
                b"volume 2.5",
                b"",
                b"compute 2.1, compute 2.90",
                b"compute 99999999999999999999.1",
            ];
            set("openstack-api-version", versions.choose(rng).unwrap().to_vec());
        }
        1 => set("x-openstack-nova-api-version", [&b"junk"[..], b"2.999", b"2.26"].choose(rng).unwrap().to_vec()),
        // Two tokens: the valid one and another (or a junk one), in either order.
        2 => {
            let (whose, other) =
                *[("the reader", tokens.reader.as_str()), ("the admin", tokens.admin.as_str()), ("junk", "garbage")]
                    .choose(rng)
                    .unwrap();
            let second = ("x-auth-token".to_string(), other.as_bytes().to_vec());
            if rng.gen_bool(0.5) {
                headers.push(second)
            } else {
                headers.insert(0, second)
            }
            return Some(whose);
        }
        3 => {
            let types: &[&[u8]] = &[
                b"text/plain",
                b"application/xml",
                b"multipart/form-data; boundary=x",
                b"application/json; charset=latin1",
                b"application/jsonx",
                b"application/x-www-form-urlencoded",
            ];
            set("content-type", types.choose(rng).unwrap().to_vec());
        }
        4 => headers.retain(|(n, _)| n != "content-type"),
        5 => set("content-encoding", [&b"gzip"[..], b"br", b"deflate"].choose(rng).unwrap().to_vec()),
        6 => set("x-auth-token", [&b"%00"[..], &[b'a'; 10_000], b"null"].choose(rng).unwrap().to_vec()),
        // A signature that does not hold, from a real access key or a junk one.
        7 => {
            let access = if rng.gen_bool(0.5) { w.access.as_str() } else { "junk" };
            let auth = format!("SDK-HMAC-SHA256 Access={access}, SignedHeaders=host;x-sdk-date, Signature=00");
            let values: [&[u8]; 4] =
                [auth.as_bytes(), b"SDK-HMAC-SHA256", b"SDK-HMAC-SHA1 Access=x", b"V11-HMAC-SHA256 junk"];
            set("authorization", values.choose(rng).unwrap().to_vec());
            let dates: [&[u8]; 3] = [b"20260101T000000Z", b"junk", b"99999999T999999Z"];
            set("x-sdk-date", dates.choose(rng).unwrap().to_vec());
        }
        _ => set("x-client-token", [&b"%00"[..], &[b'c'; 10_000], b""].choose(rng).unwrap().to_vec()),
    }
    None
}
