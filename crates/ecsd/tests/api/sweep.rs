//! The crash sweep: every step of every task kind, as the saga definitions
//! list them (`TaskKind::ALL`, `TaskKind::steps`), is cut by aborting the
//! real binary just before it runs and just after it ran
//! (`ECSD_CRASH_AT=<kind>:<step>:<before|after>`). After a restart the
//! cloud must converge: no task unfinished, no server in a task state or
//! ERROR, a guest for every server and none for another, no volume, port
//! or EIP attached to a server that is gone, and quota usage and host
//! claims equal to the servers that exist.
//!
//! Each kind gets its own data directory and one server that its cases
//! share, brought into the state the kind starts from (a confirm needs a
//! resize awaiting it, a start a stopped server); kinds run concurrently.

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use ecs_core::compute::TaskKind;
use reqwest::Method;
use serde_json::{Value, json};

use crate::process::spawn;
use crate::recovery::{Client, guests, image};

/// Kinds swept at once: each runs two short-lived ecsd processes per case.
const WORKERS: usize = 3;

/// The flavors a resize alternates between: the same disk, so the guest
/// may go either way.
const FLAVORS: [&str; 2] = ["s3.small.1", "s3.medium.2"];

#[test]
fn every_step_of_every_task_kind_converges_after_a_crash() {
    // The longest sagas first, so that they do not finish last alone.
    // `ECSD_SWEEP_KINDS=migrate,live-migration` sweeps only those.
    let only = std::env::var("ECSD_SWEEP_KINDS").ok();
    let mut queue: Vec<TaskKind> = TaskKind::ALL
        .iter()
        .copied()
        .filter(|k| only.as_deref().is_none_or(|o| o.split(',').any(|n| n == k.as_str())))
        .collect();
    queue.sort_by_key(|k| k.steps().len());
    let queue = Mutex::new(queue);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..WORKERS {
            s.spawn(|| {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                loop {
                    let Some(kind) = queue.lock().unwrap().pop() else { break };
                    let swept = std::panic::catch_unwind(AssertUnwindSafe(|| rt.block_on(sweep(kind))));
                    if let Err(panic) = swept {
                        let why = panic
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default();
                        failures.lock().unwrap().push(format!("{kind}: {why}"));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{} kinds did not converge:\n{}", failures.len(), failures.join("\n"));
}

/// Every step of `kind`, before and after, in one data directory.
async fn sweep(kind: TaskKind) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for step in 0..kind.steps().len() {
        for when in ["before", "after"] {
            crash_and_converge(&data, kind, step, when).await;
        }
    }
}

/// The options a kind's ecsd runs with: shelved servers stay on their
/// host (so that an offload is a task of its own), and the deferred
/// delete kinds need a reclaim interval.
fn options(kind: TaskKind, dir: &str) -> Vec<&str> {
    let mut args = vec!["--data-dir", dir, "--shelved-offload-time", "-1"];
    if matches!(kind, TaskKind::SoftDelete | TaskKind::Restore) {
        args.extend(["--reclaim-instance-interval", "3600"]);
    }
    args
}

async fn crash_and_converge(data: &Path, kind: TaskKind, step: usize, when: &str) {
    let at = format!("{kind}:{step}:{when}");
    let dir = data.to_str().unwrap();
    let mut ecsd = spawn(&options(kind, dir), &[("ECSD_CRASH_AT", &at)]);
    let c = Client::login(&ecsd.base).await;
    let target = start(&c, kind).await;
    let mut died = false;
    for _ in 0..400 {
        if ecsd.child.try_wait().unwrap().is_some() {
            died = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(died, "{at}: ecsd should have aborted there");
    drop(ecsd);

    let ecsd = spawn(&options(kind, dir), &[]);
    let c = Client::login(&ecsd.base).await;
    converged(&c, data, &at).await;
    if let Some(id) = target {
        let (status, body) = c.call(Method::GET, &format!("/v2.1/servers/{id}"), None).await;
        let gone = kind == TaskKind::Delete;
        assert_eq!(status, if gone { 404 } else { 200 }, "{at}: the target server: {body}");
    }
}

/// Brings the kind's server into the state the kind starts from and
/// starts the task; returns the server it acts on.
async fn start(c: &Client, kind: TaskKind) -> Option<String> {
    if kind == TaskKind::Create {
        ecs_create(c).await;
        return None;
    }
    let id = lab_server(c).await;
    let from = match kind {
        TaskKind::Start => "SHUTOFF",
        TaskKind::Unpause => "PAUSED",
        TaskKind::Resume => "SUSPENDED",
        TaskKind::ConfirmResize | TaskKind::RevertResize => "VERIFY_RESIZE",
        TaskKind::ShelveOffload => "SHELVED",
        TaskKind::Unshelve => "SHELVED_OFFLOADED",
        TaskKind::Unrescue => "RESCUE",
        TaskKind::Restore => "SOFT_DELETED",
        _ => "ACTIVE",
    };
    bring(c, &id, from).await;
    let servers = format!("/v2.1/servers/{id}");
    // Requests that wait for their task are cut by the crash: any answer will do.
    let (status, body) = match kind {
        TaskKind::Create => unreachable!(),
        TaskKind::Delete | TaskKind::SoftDelete => c.call(Method::DELETE, &servers, None).await,
        TaskKind::Evacuate => {
            // Every host up but the server's own, forced down: it may be evacuated.
            let (_, list) = c.call_at("2.53", Method::GET, "/v2.1/os-services", None).await;
            let host = server(c, &id).await["OS-EXT-SRV-ATTR:host"].as_str().unwrap_or_default().to_string();
            for svc in list["services"].as_array().cloned().unwrap_or_default() {
                let path = format!("/v2.1/os-services/{}", svc["id"].as_str().unwrap_or_default());
                let body = json!({"forced_down": svc["host"] == host.as_str()});
                let (status, b) = c.call_at("2.53", Method::PUT, &path, Some(body)).await;
                assert_eq!(status, 200, "{b}");
            }
            act(c, &id, json!({"evacuate": {}})).await
        }
        TaskKind::AttachInterface => {
            c.call(Method::POST, &format!("{servers}/os-interface"), Some(json!({"interfaceAttachment": {}}))).await
        }
        TaskKind::DetachInterface => {
            let path = format!("{servers}/os-interface");
            if interfaces(c, &id).await.len() < 2 {
                let (status, b) = c.call(Method::POST, &path, Some(json!({"interfaceAttachment": {}}))).await;
                assert_eq!(status, 200, "{b}");
            }
            let port = interfaces(c, &id).await.pop().unwrap();
            c.call(Method::DELETE, &format!("{path}/{port}"), None).await
        }
        TaskKind::AttachVolume => {
            let volume = new_volume(c).await;
            let body = json!({"volumeAttachment": {"volumeId": volume}});
            c.call(Method::POST, &format!("{servers}/os-volume_attachments"), Some(body)).await
        }
        TaskKind::DetachVolume => {
            let volume = attached_volume(c, &id).await;
            c.call(Method::DELETE, &format!("{servers}/os-volume_attachments/{volume}"), None).await
        }
        TaskKind::SwapVolume => {
            let old = attached_volume(c, &id).await;
            let new = match free_volume(c).await {
                Some(v) => v,
                None => new_volume(c).await,
            };
            let body = json!({"volumeAttachment": {"volumeId": new}});
            c.call(Method::PUT, &format!("{servers}/os-volume_attachments/{old}"), Some(body)).await
        }
        TaskKind::AttachKeypairs | TaskKind::DetachKeypairs => {
            let key = json!({"keypair": {"name": "swept", "public_key": crate::keypairs_vector()}});
            c.call(Method::POST, "/v2.1/os-keypairs", Some(key)).await;
            if kind == TaskKind::DetachKeypairs {
                act(c, &id, json!({"attachKeypairs": {"key_names": ["swept"]}})).await;
                bring(c, &id, "ACTIVE").await;
            }
            let name = if kind == TaskKind::AttachKeypairs { "attachKeypairs" } else { "detachKeypairs" };
            act(c, &id, json!({name: {"key_names": ["swept"]}})).await
        }
        _ => act(c, &id, action_body(c, kind, &id).await).await,
    };
    assert!(matches!(status, 0 | 200..=204), "{kind}: {status} {body}");
    Some(id)
}

/// The server action that starts a kind of task.
async fn action_body(c: &Client, kind: TaskKind, id: &str) -> Value {
    match kind {
        TaskKind::Stop => json!({"os-stop": null}),
        TaskKind::Start => json!({"os-start": null}),
        TaskKind::Reboot => json!({"reboot": {"type": "SOFT"}}),
        TaskKind::RebootHard => json!({"reboot": {"type": "HARD"}}),
        TaskKind::Pause => json!({"pause": null}),
        TaskKind::Unpause => json!({"unpause": null}),
        TaskKind::Suspend => json!({"suspend": null}),
        TaskKind::Resume => json!({"resume": null}),
        TaskKind::CreateImage => json!({"createImage": {"name": "swept"}}),
        TaskKind::Resize => json!({"resize": {"flavorRef": other_flavor(c, id).await}}),
        TaskKind::ConfirmResize => json!({"confirmResize": null}),
        TaskKind::RevertResize => json!({"revertResize": null}),
        TaskKind::Migrate => json!({"migrate": null}),
        TaskKind::LiveMigrate => json!({"os-migrateLive": {"host": null, "block_migration": "auto"}}),
        TaskKind::Rebuild => json!({"rebuild": {"imageRef": image(c).await, "name": "rebuilt"}}),
        TaskKind::ChangePassword => json!({"changePassword": {"adminPass": "N3w-pass"}}),
        TaskKind::Shelve => json!({"shelve": null}),
        TaskKind::ShelveOffload => json!({"shelveOffload": null}),
        TaskKind::Unshelve => json!({"unshelve": null}),
        TaskKind::Rescue => json!({"rescue": {"adminPass": "Resc-ue1"}}),
        TaskKind::Unrescue => json!({"unrescue": null}),
        TaskKind::CreateBackup => json!({"createBackup": {"name": "swept", "backup_type": "daily", "rotation": 1}}),
        TaskKind::Restore => json!({"restore": null}),
        other => panic!("{other} is no server action"),
    }
}

async fn act(c: &Client, id: &str, body: Value) -> (u16, Value) {
    c.call(Method::POST, &format!("/v2.1/servers/{id}/action"), Some(body)).await
}

async fn create(c: &Client, name: &str) -> String {
    let body =
        json!({"server": {"name": name, "flavorRef": FLAVORS[0], "imageRef": image(c).await, "networks": "auto"}});
    let (status, body) = c.call(Method::POST, "/v2.1/servers", Some(body)).await;
    assert!(matches!(status, 0 | 202), "{body}");
    body["server"]["id"].as_str().unwrap_or_default().to_string()
}

/// An ECS create with a system disk and an EIP the build makes, so that
/// every build step has work to redo or undo.
async fn ecs_create(c: &Client) {
    let (_, nets) = c.call(Method::GET, "/networking/v2.0/networks", None).await;
    let nets = nets["networks"].as_array().cloned().unwrap_or_default();
    if !nets.iter().any(|n| n["router:external"] == true) {
        let net = json!({"network": {"name": "public", "shared": true, "router:external": true}});
        let (_, n) = c.call(Method::POST, "/networking/v2.0/networks", Some(net)).await;
        let subnet = json!({"subnet": {"network_id": n["network"]["id"], "cidr": "172.24.4.0/24"}});
        c.call(Method::POST, "/networking/v2.0/subnets", Some(subnet)).await;
    }
    let (_, subnets) = c.call(Method::GET, "/networking/v2.0/subnets", None).await;
    let subnet = subnets["subnets"].as_array().unwrap().iter().find(|s| s["cidr"] != "172.24.4.0/24").unwrap().clone();
    let body = json!({"server": {"name": "swept", "imageRef": image(c).await, "flavorRef": "m1.tiny",
        "vpcid": subnet["network_id"], "nics": [{"subnet_id": subnet["id"]}], "root_volume": {"volumetype": "SSD"},
        "publicip": {"eip": {"iptype": "5_bgp", "bandwidth": {"size": 1, "sharetype": "PER"}},
            "delete_on_termination": true}}});
    let (status, b) = c.call(Method::POST, &format!("/v1.1/{}/cloudservers", c.project_id), Some(body)).await;
    assert!(matches!(status, 0 | 200), "{b}");
}

/// The server a kind's cases share: the one there is, or a new one.
async fn lab_server(c: &Client) -> String {
    if let Some(s) = c.settled().await.first() {
        return s["id"].as_str().unwrap().to_string();
    }
    let id = create(c, "lab").await;
    wait_status(c, &id, "ACTIVE").await;
    id
}

async fn server(c: &Client, id: &str) -> Value {
    c.call(Method::GET, &format!("/v2.1/servers/{id}"), None).await.1["server"].clone()
}

/// Waits until the server has `status` and no task state.
async fn wait_status(c: &Client, id: &str, status: &str) {
    let mut s = Value::Null;
    for _ in 0..800 {
        s = server(c, id).await;
        if s["status"] == status && s["OS-EXT-STS:task_state"].is_null() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("server {id} never became {status}: {s}");
}

/// Drives the server to `status` through ACTIVE.
async fn bring(c: &Client, id: &str, status: &str) {
    let mut now = Value::Null;
    for _ in 0..800 {
        now = server(c, id).await;
        if now["OS-EXT-STS:task_state"].is_null() && now["status"] != "BUILD" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let now = now["status"].as_str().unwrap_or_default().to_string();
    if now == status {
        return;
    }
    if now != "ACTIVE" {
        let back = match now.as_str() {
            "SHUTOFF" => json!({"os-start": null}),
            "PAUSED" => json!({"unpause": null}),
            "SUSPENDED" => json!({"resume": null}),
            "VERIFY_RESIZE" => json!({"confirmResize": null}),
            "SHELVED" | "SHELVED_OFFLOADED" => json!({"unshelve": null}),
            "RESCUE" => json!({"unrescue": null}),
            "SOFT_DELETED" => json!({"restore": null}),
            other => panic!("server {id} is {other}"),
        };
        let (code, b) = act(c, id, back).await;
        assert!(matches!(code, 200..=204), "{b}");
        wait_status(c, id, "ACTIVE").await;
    }
    let forth = match status {
        "ACTIVE" => return,
        "SHUTOFF" => json!({"os-stop": null}),
        "PAUSED" => json!({"pause": null}),
        "SUSPENDED" => json!({"suspend": null}),
        "VERIFY_RESIZE" => json!({"resize": {"flavorRef": other_flavor(c, id).await}}),
        "SHELVED" => json!({"shelve": null}),
        "SHELVED_OFFLOADED" => {
            let (code, b) = act(c, id, json!({"shelve": null})).await;
            assert_eq!(code, 202, "{b}");
            wait_status(c, id, "SHELVED").await;
            json!({"shelveOffload": null})
        }
        "RESCUE" => json!({"rescue": null}),
        "SOFT_DELETED" => {
            let (code, b) = c.call(Method::DELETE, &format!("/v2.1/servers/{id}"), None).await;
            assert_eq!(code, 204, "{b}");
            wait_status(c, id, status).await;
            return;
        }
        other => panic!("cannot bring a server to {other}"),
    };
    let (code, b) = act(c, id, forth).await;
    assert!(matches!(code, 200 | 202), "{b}");
    wait_status(c, id, status).await;
}

/// The resize flavor the server does not have.
async fn other_flavor(c: &Client, id: &str) -> &'static str {
    let s = server(c, id).await;
    if s["flavor"]["original_name"] == FLAVORS[0] { FLAVORS[1] } else { FLAVORS[0] }
}

async fn interfaces(c: &Client, id: &str) -> Vec<String> {
    let (_, list) = c.call(Method::GET, &format!("/v2.1/servers/{id}/os-interface"), None).await;
    list["interfaceAttachments"].as_array().unwrap().iter().map(|a| a["port_id"].as_str().unwrap().into()).collect()
}

/// Nova's volume proxy (gone at 2.36, so asked at 2.1).
async fn volumes(c: &Client) -> Vec<Value> {
    let (_, body) = c.call_at("2.1", Method::GET, "/v2.1/os-volumes", None).await;
    body["volumes"].as_array().cloned().unwrap_or_default()
}

async fn new_volume(c: &Client) -> String {
    let (status, v) = c.call_at("2.1", Method::POST, "/v2.1/os-volumes", Some(json!({"volume": {"size": 1}}))).await;
    assert_eq!(status, 200, "{v}");
    v["volume"]["id"].as_str().unwrap().to_string()
}

async fn free_volume(c: &Client) -> Option<String> {
    let free = volumes(c).await.into_iter().find(|v| v["status"] == "available")?;
    Some(free["id"].as_str()?.to_string())
}

/// A volume attached to the server (attached now if none is).
async fn attached_volume(c: &Client, id: &str) -> String {
    if let Some(v) = volumes(c).await.into_iter().find(|v| v["status"] == "in-use") {
        return v["id"].as_str().unwrap().to_string();
    }
    let volume = match free_volume(c).await {
        Some(v) => v,
        None => new_volume(c).await,
    };
    let body = json!({"volumeAttachment": {"volumeId": volume}});
    let (status, b) = c.call(Method::POST, &format!("/v2.1/servers/{id}/os-volume_attachments"), Some(body)).await;
    assert_eq!(status, 200, "{b}");
    for _ in 0..800 {
        if volumes(c).await.iter().any(|v| v["id"] == volume && v["status"] == "in-use") {
            return volume;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("volume {volume} never attached");
}

/// What a cloud that converged looks like.
async fn converged(c: &Client, data: &Path, at: &str) {
    let url = format!("sqlite://{}?mode=rwc", data.join("ecsd.sqlite").display());
    let store = ecs_store::Store::connect(&url).await.unwrap();
    let mut unfinished = -1;
    for _ in 0..800 {
        unfinished = store.task_unfinished_count().await.unwrap();
        if unfinished == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(unfinished, 0, "{at}: every task finished");
    let servers = c.settled().await;
    for s in &servers {
        let settled = matches!(
            s["status"].as_str(),
            Some(
                "ACTIVE"
                    | "SHUTOFF"
                    | "PAUSED"
                    | "SUSPENDED"
                    | "VERIFY_RESIZE"
                    | "SHELVED"
                    | "SHELVED_OFFLOADED"
                    | "RESCUE"
                    | "SOFT_DELETED"
            )
        );
        assert!(settled, "{at}: {s}");
    }
    let live: Vec<String> = servers.iter().map(|s| s["id"].as_str().unwrap().to_string()).collect();

    // One guest per server (a resize awaiting confirmation keeps its
    // source guest on the same simulated host), none left over.
    let mut found = guests(data);
    found.dedup();
    // A server offloaded from its host has no guest.
    let offloaded: Vec<String> = servers
        .iter()
        .filter(|s| s["status"] == "SHELVED_OFFLOADED")
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    let mut wanted: Vec<String> = live.iter().filter(|id| !offloaded.contains(id)).cloned().collect();
    wanted.sort();
    assert_eq!(found, wanted, "{at}: every server has its guest and no guest is left over");

    for v in store.volume_list(None).await.unwrap() {
        match &v.attachment {
            Some(a) => {
                assert!(live.contains(&a.server_id), "{at}: volume {} attached to a server that is gone", v.id);
                assert_eq!(v.status, "in-use", "{at}: attached volume {}", v.id);
            }
            None => assert_eq!(v.status, "available", "{at}: free volume {}", v.id),
        }
    }
    let ports = store.port_list(None).await.unwrap();
    for p in &ports {
        assert!(p.server_id.is_empty() || live.contains(&p.server_id), "{at}: port {} of a server that is gone", p.id);
    }
    for id in &live {
        assert!(ports.iter().any(|p| &p.server_id == id), "{at}: server {id} has its port");
    }
    for f in store.floating_ip_list(None).await.unwrap() {
        let bound = f.server_id.as_ref().is_none_or(|s| live.contains(s));
        assert!(bound, "{at}: EIP {} bound to a server that is gone", f.address);
    }

    // Usage counts the larger flavor of a resize awaiting confirmation;
    // the host holds both claims.
    let (mut cores, mut ram, mut claimed_vcpus, mut claimed_ram) = (0, 0, 0, 0);
    for id in &live {
        let s = store.server_get(id).await.unwrap();
        let old = s.resize.as_ref().map(|r| r.old_flavor.clone());
        cores += old.as_ref().map_or(s.flavor.vcpus, |o| o.vcpus.max(s.flavor.vcpus));
        ram += old.as_ref().map_or(s.flavor.ram_mb, |o| o.ram_mb.max(s.flavor.ram_mb));
        if offloaded.contains(id) {
            continue;
        }
        claimed_vcpus += s.flavor.vcpus + old.as_ref().map_or(0, |o| o.vcpus);
        claimed_ram += s.flavor.ram_mb + old.as_ref().map_or(0, |o| o.ram_mb);
    }
    let (_, quota) = c.call(Method::GET, &format!("/v2.1/os-quota-sets/{}/detail", c.project_id), None).await;
    let used = |r: &str| quota["quota_set"][r]["in_use"].as_i64().unwrap();
    assert_eq!(
        (used("instances"), used("cores"), used("ram")),
        (live.len() as i64, cores, ram),
        "{at}: quota usage is what exists"
    );
    let hosts = store.host_list().await.unwrap();
    let held = (hosts.iter().map(|h| h.used_vcpus).sum::<i64>(), hosts.iter().map(|h| h.used_ram_mb).sum::<i64>());
    assert_eq!(held, (claimed_vcpus, claimed_ram), "{at}: host claims are what exists");

    let (_, images) = c.call_at("2.1", Method::GET, "/v2.1/images/detail", None).await;
    for i in images["images"].as_array().unwrap() {
        assert_ne!(i["status"], "SAVING", "{at}: image {} is stuck", i["id"]);
    }
}
