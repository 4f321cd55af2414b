//! Crash recovery: the real binary is made to abort at chosen points of a
//! task (`ECSD_CRASH_AT`), then restarted; every server must converge —
//! nothing stuck in a task state, no guest without a server, no server
//! without its guest.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::process::spawn;

pub(crate) struct Client {
    base: String,
    token: String,
    pub(crate) project_id: String,
    http: reqwest::Client,
}

impl Client {
    pub(crate) async fn login(base: &str) -> Client {
        let http = reqwest::Client::new();
        let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin",
            "domain": {"name": "Default"}, "password": "admin"}}}, "scope": {"project": {"name": "admin",
            "domain": {"name": "Default"}}}}});
        let r = http.post(format!("{base}/identity/v3/auth/tokens")).json(&body).send().await.unwrap();
        let token = r.headers()["x-subject-token"].to_str().unwrap().to_string();
        let body: Value = r.json().await.unwrap();
        let project_id = body["token"]["project"]["id"].as_str().unwrap().to_string();
        Client { base: base.to_string(), token, project_id, http }
    }

    pub(crate) async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call_at("latest", method, path, body).await
    }

    /// [`Client::call`] at a compute microversion.
    pub(crate) async fn call_at(
        &self,
        version: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("x-auth-token", &self.token)
            .header("openstack-api-version", format!("compute {version}"));
        if let Some(b) = body {
            req = req.json(&b);
        }
        match req.send().await {
            Ok(r) => (r.status().as_u16(), r.json().await.unwrap_or(Value::Null)),
            Err(_) => (0, Value::Null),
        }
    }

    pub(crate) async fn servers(&self) -> Vec<Value> {
        let (_, body) = self.call(reqwest::Method::GET, "/v2.1/servers/detail?all_tenants=1", None).await;
        body["servers"].as_array().cloned().unwrap_or_default()
    }

    /// Waits until no server has a task state.
    pub(crate) async fn settled(&self) -> Vec<Value> {
        for _ in 0..400 {
            let servers = self.servers().await;
            if servers.iter().all(|s| s["OS-EXT-STS:task_state"].is_null() && s["status"] != "BUILD") {
                return servers;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("servers never settled: {:?}", self.servers().await);
    }
}

/// Guests the simulated hosts hold, by id.
pub(crate) fn guests(data: &Path) -> Vec<String> {
    let mut ids: Vec<String> =
        ecs_hypervisor::sim::guests_on_disk(&data.join("sim")).unwrap().into_values().flatten().collect();
    ids.sort();
    ids
}

/// Runs `act` on a server that ecsd started with `crash_at`, expects the
/// process to die, restarts it and checks that everything converged.
async fn crash_and_recover(data: &Path, crash_at: &str, act: impl AsyncFnOnce(&Client) -> Option<String>) {
    let dir = data.to_str().unwrap();
    let mut ecsd = spawn(&["--data-dir", dir], &[("ECSD_CRASH_AT", crash_at)]);
    let client = Client::login(&ecsd.base).await;
    let target = act(&client).await;
    let mut died = false;
    for _ in 0..200 {
        if ecsd.child.try_wait().unwrap().is_some() {
            died = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(died, "ecsd should have aborted at {crash_at}");
    drop(ecsd);

    let ecsd = spawn(&["--data-dir", dir], &[]);
    let client = Client::login(&ecsd.base).await;
    let servers = client.settled().await;
    for s in &servers {
        assert!(matches!(s["status"].as_str(), Some("ACTIVE" | "SHUTOFF" | "VERIFY_RESIZE")), "{crash_at}: {s}");
    }
    assert_guests_match(data, &servers, crash_at);
    if let Some(id) = target {
        let (status, _) = client.call(reqwest::Method::GET, &format!("/v2.1/servers/{id}"), None).await;
        if crash_at.starts_with("delete") {
            assert_eq!(status, 404, "{crash_at}: the delete finished");
        } else {
            assert_eq!(status, 200, "{crash_at}");
        }
    }
}

/// Every server has its guest and no guest is left over; a server whose
/// resize awaits confirmation may have a second guest on its source host.
fn assert_guests_match(data: &Path, servers: &[Value], context: &str) {
    let mut live: Vec<String> = servers.iter().map(|s| s["id"].as_str().unwrap().to_string()).collect();
    live.sort();
    let mut found = guests(data);
    if servers.iter().any(|s| s["status"] == "VERIFY_RESIZE") {
        found.dedup();
    }
    assert_eq!(found, live, "{context}: every server has its guest and no guest is left over");
}

/// Starts ecsd, confirms or reverts the resize that awaits it, and checks
/// that one guest per server is left.
async fn finish_resize(data: &Path, confirm: bool) {
    let ecsd = spawn(&["--data-dir", data.to_str().unwrap()], &[]);
    let client = Client::login(&ecsd.base).await;
    let servers = client.settled().await;
    let waiting = servers.iter().find(|s| s["status"] == "VERIFY_RESIZE").expect("a resize awaits confirmation");
    let id = waiting["id"].as_str().unwrap();
    let action = if confirm { json!({"confirmResize": null}) } else { json!({"revertResize": null}) };
    let (status, b) = client.call(reqwest::Method::POST, &format!("/v2.1/servers/{id}/action"), Some(action)).await;
    assert!(status == 204 || status == 202, "{b}");
    let mut servers = client.settled().await;
    for _ in 0..200 {
        if servers.iter().all(|s| s["status"] == "ACTIVE") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        servers = client.settled().await;
    }
    assert!(servers.iter().all(|s| s["status"] == "ACTIVE"), "{servers:?}");
    assert_guests_match(data, &servers, "after the resize was finished");
}

/// Resizes the first active server to `flavor`.
async fn resize(c: &Client, flavor: &str) -> Option<String> {
    let id = first_server(c).await;
    let body = json!({"resize": {"flavorRef": flavor}});
    let (status, b) = c.call(reqwest::Method::POST, &format!("/v2.1/servers/{id}/action"), Some(body)).await;
    assert_eq!(status, 202, "{b}");
    Some(id)
}

async fn create(client: &Client) -> Option<String> {
    let body = json!({"server": {"name": "crash", "flavorRef": "m1.tiny",
        "imageRef": image(client).await, "networks": "auto"}});
    let (status, body) = client.call(reqwest::Method::POST, "/v2.1/servers", Some(body)).await;
    assert_eq!(status, 202, "{body}");
    body["server"]["id"].as_str().map(String::from)
}

/// The seeded image, from Nova's image proxy (which 2.36+ hides).
pub(crate) async fn image(client: &Client) -> String {
    let r = client.http.get(format!("{}/v2.1/images", client.base)).header("x-auth-token", &client.token).send();
    let body: Value = r.await.unwrap().json().await.unwrap();
    body["images"][0]["id"].as_str().unwrap().to_string()
}

async fn first_server(client: &Client) -> String {
    client.servers().await.into_iter().find(|s| s["status"] == "ACTIVE").unwrap()["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_task_converges_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Create: before and after each step.
    for at in
        ["create:0:after", "create:1:before", "create:1:after", "create:3:after", "create:4:before", "create:4:after"]
    {
        crash_and_recover(&data, at, create).await;
    }
    // Reboot and stop: before and after the hypervisor call.
    for (at, body) in [
        ("reboot:0:before", json!({"reboot": {"type": "SOFT"}})),
        ("reboot_hard:0:after", json!({"reboot": {"type": "HARD"}})),
        ("stop:0:after", json!({"os-stop": null})),
    ] {
        crash_and_recover(&data, at, async move |c: &Client| {
            let id = first_server(c).await;
            let (status, b) = c.call(reqwest::Method::POST, &format!("/v2.1/servers/{id}/action"), Some(body)).await;
            assert_eq!(status, 202, "{b}");
            Some(id)
        })
        .await;
    }
    // Interface attach (answered only when done: the crash cuts the
    // request) and detach: after restart the NIC count is what was asked.
    for (at, change) in
        [("attach_interface:0:after", 1), ("attach_interface:1:before", 1), ("detach_interface:0:after", -1)]
    {
        let mut target = String::new();
        let mut before = 0i64;
        crash_and_recover(&data, at, async |c: &Client| {
            let id = first_server(c).await;
            let path = format!("/v2.1/servers/{id}/os-interface");
            let (_, list) = c.call(reqwest::Method::GET, &path, None).await;
            before = list["interfaceAttachments"].as_array().map_or(0, |a| a.len() as i64);
            if at.starts_with("attach") {
                let net = c.call(reqwest::Method::GET, &format!("/v2.1/servers/{id}"), None).await.1;
                assert!(net["server"]["addresses"].is_object());
                let _ = c.call(reqwest::Method::POST, &path, Some(json!({"interfaceAttachment": {}}))).await;
            } else {
                let (_, list) = c.call(reqwest::Method::GET, &path, None).await;
                let last = list["interfaceAttachments"].as_array().unwrap().last().unwrap()["port_id"].clone();
                let (status, b) =
                    c.call(reqwest::Method::DELETE, &format!("{path}/{}", last.as_str().unwrap()), None).await;
                assert_eq!(status, 202, "{b}");
            }
            target = id.clone();
            Some(id)
        })
        .await;
        let ecsd = spawn(&["--data-dir", data.to_str().unwrap()], &[]);
        let client = Client::login(&ecsd.base).await;
        let path = format!("/v2.1/servers/{target}/os-interface");
        let want = before + change;
        let mut count = 0;
        for _ in 0..400 {
            let (_, list) = client.call(reqwest::Method::GET, &path, None).await;
            count = list["interfaceAttachments"].as_array().map_or(0, |a| a.len() as i64);
            if count == want {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(count, want, "{at}");
    }
    // Volume attach (reserved by the request, plugged by the task) and a
    // snapshot of a server: after restart the volume is in use and the image active.
    let mut volume_id = String::new();
    crash_and_recover(&data, "attach_volume:1:after", async |c: &Client| {
        let id = first_server(c).await;
        let v = c.http.post(format!("{}/v2.1/os-volumes", c.base)).header("x-auth-token", &c.token);
        let v: Value = v.json(&json!({"volume": {"size": 1}})).send().await.unwrap().json().await.unwrap();
        volume_id = v["volume"]["id"].as_str().unwrap().to_string();
        let path = format!("/v2.1/servers/{id}/os-volume_attachments");
        let (status, b) =
            c.call(reqwest::Method::POST, &path, Some(json!({"volumeAttachment": {"volumeId": volume_id}}))).await;
        assert_eq!(status, 200, "{b}");
        Some(id)
    })
    .await;
    let mut image_id = String::new();
    crash_and_recover(&data, "createImage:0:after", async |c: &Client| {
        let id = first_server(c).await;
        let (status, b) = c
            .call(
                reqwest::Method::POST,
                &format!("/v2.1/servers/{id}/action"),
                Some(json!({"createImage": {"name": "crash"}})),
            )
            .await;
        assert_eq!(status, 202, "{b}");
        image_id = b["image_id"].as_str().unwrap().to_string();
        Some(id)
    })
    .await;
    let ecsd = spawn(&["--data-dir", data.to_str().unwrap()], &[]);
    let client = Client::login(&ecsd.base).await;
    let mut states = (Value::Null, Value::Null);
    for _ in 0..400 {
        let get =
            |p: String| client.http.get(format!("{}{p}", client.base)).header("x-auth-token", &client.token).send();
        let v: Value = get(format!("/v2.1/os-volumes/{volume_id}")).await.unwrap().json().await.unwrap();
        let i: Value = get(format!("/v2.1/images/{image_id}")).await.unwrap().json().await.unwrap();
        states = (v["volume"]["status"].clone(), i["image"]["status"].clone());
        if states == (json!("in-use"), json!("ACTIVE")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(states, (json!("in-use"), json!("ACTIVE")));
    drop(ecsd);
    // Delete: after destroying the guest, after releasing the network, before the record goes.
    for at in ["delete:0:after", "delete:1:after", "delete:3:before"] {
        crash_and_recover(&data, at, async |c: &Client| {
            let id = first_server(c).await;
            let (status, b) = c.call(reqwest::Method::DELETE, &format!("/v2.1/servers/{id}"), None).await;
            assert_eq!(status, 204, "{b}");
            Some(id)
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resize_and_rebuild_converge_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    crash_and_recover(&data, "create:4:after", create).await;
    // Each step of a resize, before and after the hypervisor; the resize
    // then finishes and is confirmed. Flavors only grow (disks never shrink).
    let steps = ["resize:0:after", "resize:1:after", "resize:2:before", "resize:2:after"];
    for (at, flavor) in steps.into_iter().zip(["m1.small", "s3.small.1", "s3.medium.2", "s3.medium.4"]) {
        crash_and_recover(&data, at, async |c: &Client| resize(c, flavor).await).await;
        finish_resize(&data, true).await;
    }
    // Confirm and revert cut short after their step.
    for (at, flavor, confirm) in
        [("confirmResize:0:after", "s3.large.2", true), ("revertResize:0:after", "s3.large.4", false)]
    {
        {
            let ecsd = spawn(&["--data-dir", data.to_str().unwrap()], &[]);
            let client = Client::login(&ecsd.base).await;
            resize(&client, flavor).await;
            client.settled().await;
        }
        crash_and_recover(&data, at, async |c: &Client| {
            let id = c.servers().await.into_iter().find(|s| s["status"] == "VERIFY_RESIZE").unwrap()["id"].clone();
            let id = id.as_str().unwrap().to_string();
            let body = if confirm { json!({"confirmResize": null}) } else { json!({"revertResize": null}) };
            let (status, b) = c.call(reqwest::Method::POST, &format!("/v2.1/servers/{id}/action"), Some(body)).await;
            assert!(status == 204 || status == 202, "{b}");
            Some(id)
        })
        .await;
    }
    // Rebuild: before and after the guest is rebuilt.
    for at in ["rebuild:0:before", "rebuild:0:after"] {
        crash_and_recover(&data, at, async |c: &Client| {
            let id = first_server(c).await;
            let body = json!({"rebuild": {"imageRef": image(c).await, "name": "rebuilt"}});
            let (status, b) = c.call(reqwest::Method::POST, &format!("/v2.1/servers/{id}/action"), Some(body)).await;
            // The task may reach the crash before the answer is written.
            assert!(matches!(status, 0 | 202), "{b}");
            Some(id)
        })
        .await;
    }
}

/// Polls an ECS job until it ends.
async fn finished_job(c: &Client, job: &str) -> Value {
    for _ in 0..400 {
        let (_, body) = c.call(reqwest::Method::GET, &format!("/v1/{}/jobs/{job}", c.project_id), None).await;
        if matches!(body["status"].as_str(), Some("SUCCESS" | "FAIL")) {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("job {job} did not end");
}

/// ECS jobs survive a crash: a create of two servers with data disks and
/// EIPs cut at each build step, and a batch stop, end in SUCCESS with
/// every server whole and nothing made twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecs_jobs_converge_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let jobs = std::sync::Mutex::new(Vec::new());
    // Within the demo quotas: 10 volumes (a data disk in the first round only), 10 EIPs.
    for (round, at) in
        ["create:2:before", "create:2:after", "create:3:after", "create:4:before"].into_iter().enumerate()
    {
        crash_and_recover(&data, at, async |c: &Client| {
            if round == 0 {
                let net = json!({"network": {"name": "public", "shared": true, "router:external": true}});
                let (_, n) = c.call(reqwest::Method::POST, "/networking/v2.0/networks", Some(net)).await;
                let subnet = json!({"subnet": {"network_id": n["network"]["id"], "cidr": "172.24.4.0/24"}});
                c.call(reqwest::Method::POST, "/networking/v2.0/subnets", Some(subnet)).await;
            }
            let (_, nets) = c.call(reqwest::Method::GET, "/networking/v2.0/subnets", None).await;
            let subnet = nets["subnets"].as_array().unwrap().iter().find(|s| s["cidr"] != "172.24.4.0/24").unwrap();
            let data_volumes = if round == 0 { json!([{"volumetype": "SATA", "size": 10}]) } else { json!([]) };
            let body = json!({"server": {"name": format!("ecs{round}"), "imageRef": image(c).await,
                "flavorRef": "m1.tiny", "vpcid": subnet["network_id"], "nics": [{"subnet_id": subnet["id"]}],
                "root_volume": {"volumetype": "SSD"}, "data_volumes": data_volumes, "count": 2, "publicip": {"eip": {"iptype": "5_bgp", "bandwidth": {"size": 1, "sharetype": "PER"}},
                "delete_on_termination": true}}});
            let path = format!("/v1.1/{}/cloudservers", c.project_id);
            let (status, b) = c.call(reqwest::Method::POST, &path, Some(body)).await;
            assert_eq!(status, 200, "{b}");
            jobs.lock().unwrap().push(b["job_id"].as_str().unwrap().to_string());
            None
        })
        .await;
    }
    let ecsd = spawn(&["--data-dir", data.to_str().unwrap()], &[]);
    let c = Client::login(&ecsd.base).await;
    for job in jobs.into_inner().unwrap() {
        let job = finished_job(&c, &job).await;
        assert_eq!(job["status"], "SUCCESS", "{job}");
        assert_eq!(job["entities"]["sub_jobs_total"], 2);
    }
    let servers = c.servers().await;
    assert_eq!(servers.len(), 8);
    for s in &servers {
        let floating = s["addresses"].as_object().unwrap().values().flat_map(|a| a.as_array().unwrap().clone());
        assert_eq!(floating.filter(|a| a["OS-EXT-IPS:type"] == "floating").count(), 1, "one EIP each: {s}");
        let disks = if s["name"].as_str().unwrap().starts_with("ecs0") { 2 } else { 1 };
        assert_eq!(s["os-extended-volumes:volumes_attached"].as_array().unwrap().len(), disks, "{s}");
    }
    // Nova's proxies (gone at 2.36, so asked at 2.1).
    let proxy = async |path: &str| -> Value {
        let r = c.http.get(format!("{}/v2.1/{path}", c.base)).header("x-auth-token", &c.token).send();
        r.await.unwrap().json().await.unwrap()
    };
    let fips = proxy("os-floating-ips").await;
    assert_eq!(fips["floating_ips"].as_array().unwrap().len(), 8, "no EIP made twice");
    let volumes = proxy("os-volumes").await;
    assert_eq!(volumes["volumes"].as_array().unwrap().len(), 10, "no disk made twice");
    drop(ecsd);

    // A batch stop cut before the hypervisor call.
    let ids: Vec<Value> = servers.iter().map(|s| json!({"id": s["id"]})).collect();
    let job = std::sync::Mutex::new(String::new());
    crash_and_recover(&data, "stop:0:before", async |c: &Client| {
        let body = json!({"os-stop": {"servers": ids, "type": "HARD"}});
        let (status, b) =
            c.call(reqwest::Method::POST, &format!("/v1/{}/cloudservers/action", c.project_id), Some(body)).await;
        assert_eq!(status, 200, "{b}");
        *job.lock().unwrap() = b["job_id"].as_str().unwrap().to_string();
        None
    })
    .await;
    let ecsd = spawn(&["--data-dir", data.to_str().unwrap()], &[]);
    let c = Client::login(&ecsd.base).await;
    let done = finished_job(&c, &job.into_inner().unwrap()).await;
    assert_eq!(done["status"], "SUCCESS", "{done}");
    assert!(c.servers().await.iter().all(|s| s["status"] == "SHUTOFF"));
}
