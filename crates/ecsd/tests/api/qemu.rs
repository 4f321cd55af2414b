//! Real guests over the API: `ecsd serve --hypervisor qemu` booting the
//! tiny guest of `scripts/tiny-guest.sh` (skipped, saying so, where QEMU
//! is missing; CI sets ECSD_REQUIRE_QEMU so that it never skips there).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};

use crate::process::{Ecsd, spawn};
use crate::recovery::Client;
use ecs_test_utils::{TINY_GUEST_MARKER, tiny_guest};

/// A data directory with the tiny guest imported as the public image `tiny`.
struct Site {
    data: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Site {
    /// No guest outlives its test, whatever the test did.
    fn drop(&mut self) {
        for pid in qemu_pids(&self.data) {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    }
}

fn site() -> Option<Site> {
    let guest = tiny_guest(Path::new(env!("CARGO_TARGET_TMPDIR")))?;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    drop(serve(&data));
    let out = Command::new(env!("CARGO_BIN_EXE_ecsd"))
        .args(["image", "import", "--data-dir", data.to_str().unwrap(), "--name", "tiny", "--public"])
        .args(["--kernel", guest.kernel.to_str().unwrap(), "--initrd", guest.initrd.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Some(Site { data, _dir: dir })
}

fn serve(data: &Path) -> Ecsd {
    let args = ["--data-dir", data.to_str().unwrap(), "--hypervisor", "qemu", "--qemu-host", "qemu-1"];
    // The tiny guest ignores ACPI: a graceful stop is forced after 2 s.
    spawn(&[&args[..], &["--shutdown-timeout", "2", "--qemu-network", "user"]].concat(), &[])
}

/// The QEMU processes of the guests under `data`.
fn qemu_pids(data: &Path) -> Vec<i32> {
    let Ok(guests) = std::fs::read_dir(data.join("qemu")) else { return Vec::new() };
    guests.flatten().filter_map(|g| qemu_pid(&g.path())).collect()
}

/// A guest directory's QEMU process, if it runs.
fn qemu_pid(guest_dir: &Path) -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(guest_dir.join("qemu.pid")).ok()?.trim().parse().ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    (!cmdline.is_empty()).then_some(pid)
}

fn qemu_args(data: &Path, id: &str) -> String {
    let pid = qemu_pid(&data.join("qemu").join(id)).expect("the guest runs");
    String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/cmdline")).unwrap()).replace('\0', " ")
}

async fn image_id(c: &Client) -> String {
    let (_, body) = c.call(Method::GET, "/image/v2/images?name=tiny", None).await;
    body["images"][0]["id"].as_str().expect("the tiny image").to_string()
}

async fn network_id(c: &Client) -> String {
    let (_, body) = c.call(Method::GET, "/networking/v2.0/networks", None).await;
    let nets = body["networks"].as_array().unwrap();
    nets.iter().find(|n| n["router:external"] != true).expect("a network")["id"].as_str().unwrap().to_string()
}

async fn flavor_id(c: &Client, name: &str) -> String {
    let (_, body) = c.call(Method::GET, "/v2.1/flavors", None).await;
    let flavors = body["flavors"].as_array().unwrap();
    flavors.iter().find(|f| f["name"] == name).expect("the flavor")["id"].as_str().unwrap().to_string()
}

async fn create(c: &Client, name: &str, user_data: &str) -> String {
    let server = json!({"server": {
        "name": name, "imageRef": image_id(c).await, "flavorRef": flavor_id(c, "m1.tiny").await, "key_name": "e2e",
        "user_data": base64::engine::general_purpose::STANDARD.encode(user_data),
        "networks": [{"uuid": network_id(c).await}],
    }});
    let (status, body) = c.call(Method::POST, "/v2.1/servers", Some(server)).await;
    assert_eq!(status, 202, "{body}");
    body["server"]["id"].as_str().unwrap().to_string()
}

async fn server(c: &Client, id: &str) -> Value {
    c.call(Method::GET, &format!("/v2.1/servers/{id}"), None).await.1["server"].clone()
}

async fn wait_status(c: &Client, id: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let s = server(c, id).await;
        if s["status"] == status && s["OS-EXT-STS:task_state"].is_null() {
            return s;
        }
        assert!(s["status"] != "ERROR" && Instant::now() < deadline, "waiting for {status}: {s}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn act(c: &Client, id: &str, body: Value) -> (u16, Value) {
    c.call(Method::POST, &format!("/v2.1/servers/{id}/action"), Some(body)).await
}

async fn console(c: &Client, id: &str) -> String {
    let (status, body) = act(c, id, json!({"os-getConsoleOutput": {}})).await;
    assert_eq!(status, 200, "{body}");
    body["output"].as_str().unwrap().to_string()
}

/// The console once `done` holds of it.
async fn console_when(c: &Client, id: &str, what: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let log = console(c, id).await;
        if done(&log) {
            return log;
        }
        assert!(Instant::now() < deadline, "the console never showed {what}:\n{log}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn add_keypair(c: &Client) {
    let body = json!({"keypair": {"name": "e2e", "public_key": crate::keypairs_vector()}});
    assert_eq!(c.call(Method::POST, "/v2.1/os-keypairs", Some(body)).await.0, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qemu_server_lifecycle_end_to_end() {
    let Some(site) = site() else { return };
    let ecsd = serve(&site.data);
    let c = Client::login(&ecsd.base).await;
    add_keypair(&c).await;

    // cpu_info is shown up to 2.87.
    let (_, hypervisors) = c.call_at("2.87", Method::GET, "/v2.1/os-hypervisors/detail", None).await;
    let hv = &hypervisors["hypervisors"][0];
    assert_eq!(hv["hypervisor_type"], "QEMU", "{hv}");
    assert!(matches!(hv["cpu_info"]["model"].as_str(), Some("qemu-tcg" | "qemu-kvm")), "{hv}");

    let id = create(&c, "e2e", "hello-from-e2e").await;
    wait_status(&c, &id, "ACTIVE").await;
    let log = console_when(&c, &id, "the marker", |l| l.contains(TINY_GUEST_MARKER)).await;
    assert!(log.contains(&format!("ecsd-guest: uuid {id}")), "{log}");
    assert!(log.contains("ecsd-guest: hostname e2e"), "{log}");
    assert!(log.contains("ecsd-guest: user_data hello-from-e2e"), "{log}");
    let boots = |l: &str| l.matches(TINY_GUEST_MARKER).count();
    vnc_reaches_the_guest(&c, &id).await;

    // Stop, start, reboot: each a real power cycle of the guest.
    assert_eq!(act(&c, &id, json!({"os-stop": null})).await.0, 202);
    let stopped = wait_status(&c, &id, "SHUTOFF").await;
    assert_eq!(stopped["OS-EXT-STS:power_state"], 4);
    assert!(qemu_pid(&site.data.join("qemu").join(&id)).is_none(), "no QEMU runs for a stopped server");
    assert_eq!(act(&c, &id, json!({"os-start": null})).await.0, 202);
    wait_status(&c, &id, "ACTIVE").await;
    console_when(&c, &id, "a second boot", |l| boots(l) == 2).await;
    assert_eq!(act(&c, &id, json!({"reboot": {"type": "SOFT"}})).await.0, 202);
    wait_status(&c, &id, "ACTIVE").await;
    console_when(&c, &id, "a third boot", |l| boots(l) == 3).await;

    // A 2 GiB volume appears in the running guest's /proc/partitions.
    // The volume proxy ends at 2.35.
    let (status, body) = c.call_at("2.1", Method::POST, "/v2.1/os-volumes", Some(json!({"volume": {"size": 2}}))).await;
    assert_eq!(status, 200, "{body}");
    let volume = body["volume"]["id"].as_str().unwrap().to_string();
    let attach = json!({"volumeAttachment": {"volumeId": volume}});
    let (status, body) = c.call(Method::POST, &format!("/v2.1/servers/{id}/os-volume_attachments"), Some(attach)).await;
    assert_eq!(status, 200, "{body}");
    console_when(&c, &id, "the attached volume", |l| l.contains("2097152 vd")).await;
    assert!(site.data.join("volumes").join(format!("{volume}.qcow2")).exists());

    // Resize: QEMU restarts with the new flavor's memory (m1.small: 2048 MiB).
    assert_eq!(act(&c, &id, json!({"resize": {"flavorRef": flavor_id(&c, "m1.small").await}})).await.0, 202);
    wait_status(&c, &id, "VERIFY_RESIZE").await;
    assert_eq!(act(&c, &id, json!({"confirmResize": null})).await.0, 204);
    wait_status(&c, &id, "ACTIVE").await;
    assert!(qemu_args(&site.data, &id).contains(" -m 2048 "), "{}", qemu_args(&site.data, &id));
    console_when(&c, &id, "the volume after the resize", |l| boots(l) == 4 && l.matches("2097152 vd").count() >= 2)
        .await;

    // Snapshot: a new image with the root disk's copy and the kernel it booted.
    let (status, body) = act(&c, &id, json!({"createImage": {"name": "e2e-snap"}})).await;
    assert_eq!(status, 202, "{body}");
    let snapshot = body["image_id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, image) = c.call(Method::GET, &format!("/image/v2/images/{snapshot}"), None).await;
        if image["status"] == "active" {
            assert!(image["size"].as_i64().unwrap() > 0, "{image}");
            // Glance serves the snapshot's own bytes, as large as it says.
            let file = std::fs::read(site.data.join("images").join(format!("{snapshot}.qcow2"))).unwrap();
            assert_eq!(image["size"], file.len(), "{image}");
            assert!(image["checksum"].as_str().is_some_and(|c| c.len() == 32), "{image}");
            break;
        }
        assert!(Instant::now() < deadline, "{image}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(site.data.join("images").join(format!("{snapshot}.qcow2")).exists());

    // Delete: no process and no file of the guest remain; the volume stays until deleted.
    let guest_dir = site.data.join("qemu").join(&id);
    assert_eq!(c.call(Method::DELETE, &format!("/v2.1/servers/{id}"), None).await.0, 204);
    let deadline = Instant::now() + Duration::from_secs(60);
    while c.call(Method::GET, &format!("/v2.1/servers/{id}"), None).await.0 != 404 {
        assert!(Instant::now() < deadline, "the server was never deleted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!guest_dir.exists(), "the guest's directory is gone");
    assert!(qemu_pids(&site.data).is_empty(), "no QEMU process is left");
    let volume_file = site.data.join("volumes").join(format!("{volume}.qcow2"));
    assert!(volume_file.exists(), "a volume outlives its server");
    let (status, _) = c.call_at("2.1", Method::DELETE, &format!("/v2.1/os-volumes/{volume}"), None).await;
    assert_eq!(status, 202);
    assert!(!volume_file.exists(), "and goes with its own delete");
}

/// The console URL's proxy, with the token, speaks the guest's VNC (RFB);
/// a wrong token is refused.
async fn vnc_reaches_the_guest(c: &Client, id: &str) {
    use futures::StreamExt;
    let body = json!({"remote_console": {"protocol": "vnc", "type": "novnc"}});
    let (status, reply) = c.call(Method::POST, &format!("/v2.1/servers/{id}/remote-consoles"), Some(body)).await;
    assert_eq!(status, 200, "{reply}");
    let url = reply["remote_console"]["url"].as_str().unwrap();
    // http://HOST:PORT/vnc_auto.html?path=%3Ftoken%3DTOKEN
    let (page, path) = url.split_once("?path=").unwrap();
    let proxy = page.trim_start_matches("http://").split('/').next().unwrap();
    let token = path.trim_start_matches("%3Ftoken%3D");
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{proxy}/?token={token}")).await.unwrap();
    let greeting = ws.next().await.unwrap().unwrap().into_data();
    assert!(greeting.starts_with(b"RFB 003.00"), "{greeting:?}");
    let refused = tokio_tungstenite::connect_async(format!("ws://{proxy}/?token=not-{token}")).await;
    assert!(
        matches!(&refused, Err(tokio_tungstenite::tungstenite::Error::Http(r)) if r.status() == 403),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qemu_guests_survive_a_killed_ecsd_and_dead_ones_become_shutoff() {
    let Some(site) = site() else { return };
    let ecsd = serve(&site.data);
    let c = Client::login(&ecsd.base).await;
    add_keypair(&c).await;
    let keep = create(&c, "keep", "k").await;
    let die = create(&c, "die", "d").await;
    wait_status(&c, &keep, "ACTIVE").await;
    wait_status(&c, &die, "ACTIVE").await;
    let pid_of = |id: &str| qemu_pid(&site.data.join("qemu").join(id));
    let kept = pid_of(&keep).unwrap();

    // kill -9 ecsd: the guests run on; one of them dies while nobody watches.
    drop(ecsd);
    Command::new("kill").args(["-9", &pid_of(&die).unwrap().to_string()]).status().unwrap();
    let ecsd = serve(&site.data);
    let c = Client::login(&ecsd.base).await;
    let s = wait_status(&c, &keep, "ACTIVE").await;
    assert_eq!(s["OS-EXT-STS:power_state"], 1);
    assert_eq!(pid_of(&keep), Some(kept), "the same QEMU process, untouched");
    let s = wait_status(&c, &die, "SHUTOFF").await;
    assert_eq!(s["OS-EXT-STS:power_state"], 4);
    // And it starts again.
    assert_eq!(act(&c, &die, json!({"os-start": null})).await.0, 202);
    wait_status(&c, &die, "ACTIVE").await;
    for id in [&keep, &die] {
        assert_eq!(c.call(Method::DELETE, &format!("/v2.1/servers/{id}"), None).await.0, 204);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qemu_boot_failure_is_an_error_with_its_reason_and_no_files() {
    let Some(site) = site() else { return };
    let ecsd = serve(&site.data);
    let c = Client::login(&ecsd.base).await;
    // The seeded image has no file to boot.
    let (_, body) = c.call(Method::GET, "/image/v2/images", None).await;
    let seeded = body["images"].as_array().unwrap().iter().find(|i| i["name"] != "tiny").unwrap()["id"].clone();
    let body = json!({"server": {"name": "bad", "imageRef": seeded, "flavorRef": flavor_id(&c, "m1.tiny").await,
        "networks": [{"uuid": network_id(&c).await}]}});
    let (status, body) = c.call(Method::POST, "/v2.1/servers", Some(body)).await;
    assert_eq!(status, 202, "{body}");
    let id = body["server"]["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    let s = loop {
        let s = server(&c, &id).await;
        if s["status"] == "ERROR" {
            break s;
        }
        assert!(Instant::now() < deadline, "{s}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let fault = s["fault"]["message"].as_str().unwrap_or_default();
    assert!(fault.contains("no disk file and no kernel"), "{s}");
    assert!(!site.data.join("qemu").join(&id).exists(), "no files are left");
}

/// Issue 18's actions on a real guest: shelve offload frees the host (the
/// QEMU process and its files go), unshelve boots the shelved snapshot,
/// rescue boots a rescue disk with the guest's own root second, and
/// trigger_crash_dump sends the guest an NMI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qemu_shelve_unshelve_rescue_and_crash_dump() {
    let Some(site) = site() else { return };
    let ecsd = serve(&site.data);
    let c = Client::login(&ecsd.base).await;
    add_keypair(&c).await;
    let id = create(&c, "acts", "a").await;
    wait_status(&c, &id, "ACTIVE").await;
    let guest_dir = site.data.join("qemu").join(&id);
    assert!(qemu_pid(&guest_dir).is_some());

    // Shelve (offloaded at once): the guest is gone from the host.
    assert_eq!(act(&c, &id, json!({"shelve": null})).await.0, 202);
    wait_status(&c, &id, "SHELVED_OFFLOADED").await;
    assert!(qemu_pid(&guest_dir).is_none(), "the QEMU guest is gone");
    let (_, images) = c.call_at("2.1", Method::GET, "/v2.1/images/detail", None).await;
    let shelved = images["images"].as_array().unwrap().iter().find(|i| i["name"] == "acts-shelved").cloned();
    let shelved = shelved.expect("the shelved snapshot");
    assert_eq!(shelved["status"], "ACTIVE");

    // Unshelve: a new guest from the snapshot; the snapshot image goes.
    assert_eq!(act(&c, &id, json!({"unshelve": null})).await.0, 202);
    wait_status(&c, &id, "ACTIVE").await;
    assert!(qemu_pid(&guest_dir).is_some(), "the guest runs again");
    let (_, images) = c.call_at("2.1", Method::GET, "/v2.1/images/detail", None).await;
    assert!(!images["images"].as_array().unwrap().iter().any(|i| i["name"] == "acts-shelved"));

    // Rescue: the rescue disk first, the guest's root second.
    let (status, body) = act(&c, &id, json!({"rescue": {"adminPass": "Resc-ue12"}})).await;
    assert_eq!(status, 200, "{body}");
    wait_status(&c, &id, "RESCUE").await;
    let args = qemu_args(&site.data, &id);
    assert!(args.contains("rescue.qcow2") && args.contains("drive=root"), "{args}");
    assert!(args.find("drive=rescue").unwrap() < args.find("drive=root,").unwrap(), "{args}");
    assert_eq!(act(&c, &id, json!({"unrescue": null})).await.0, 202);
    wait_status(&c, &id, "ACTIVE").await;
    assert!(!qemu_args(&site.data, &id).contains("rescue.qcow2"));

    // trigger_crash_dump (2.17): QMP inject-nmi.
    let (status, body) = c
        .call_at("2.17", Method::POST, &format!("/v2.1/servers/{id}/action"), Some(json!({"trigger_crash_dump": null})))
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(c.call(Method::DELETE, &format!("/v2.1/servers/{id}"), None).await.0, 204);
}

/// An image uploaded through Glance boots on QEMU: the driver backs the
/// guest's root disk with the uploaded file (a blank disk here, so the
/// guest finds nothing to boot, but QEMU runs it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qemu_boots_an_image_uploaded_through_glance() {
    let Some(site) = site() else { return };
    let ecsd = serve(&site.data);
    let c = Client::login(&ecsd.base).await;
    let http = reqwest::Client::new();
    let auth = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin",
        "domain": {"name": "Default"}, "password": "admin"}}}, "scope": {"project": {"name": "admin",
        "domain": {"name": "Default"}}}}});
    let r = http.post(format!("{}/identity/v3/auth/tokens", ecsd.base)).json(&auth).send().await.unwrap();
    let token = r.headers()["x-subject-token"].to_str().unwrap().to_string();

    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("blank.qcow2");
    let made = Command::new("qemu-img").args(["create", "-q", "-f", "qcow2", disk.to_str().unwrap(), "1G"]).status();
    assert!(made.unwrap().success());
    let (status, image) = c
        .call(
            Method::POST,
            "/image/v2/images",
            Some(json!({"name": "uploaded", "disk_format": "qcow2", "container_format": "bare"})),
        )
        .await;
    assert_eq!(status, 201, "{image}");
    let id = image["id"].as_str().unwrap().to_string();
    let r = http
        .put(format!("{}/image/v2/images/{id}/file", ecsd.base))
        .header("x-auth-token", &token)
        .header("content-type", "application/octet-stream")
        .body(std::fs::read(&disk).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (_, image) = c.call(Method::GET, &format!("/image/v2/images/{id}"), None).await;
    assert_eq!(image["status"], "active", "{image}");
    assert_eq!(image["virtual_size"], 1u64 << 30, "read from the qcow2 header: {image}");
    let uploaded = site.data.join("images").join(format!("{id}.qcow2"));
    assert!(uploaded.exists());

    let body = json!({"server": {"name": "from-glance", "imageRef": id, "flavorRef": flavor_id(&c, "m1.tiny").await,
        "networks": [{"uuid": network_id(&c).await}]}});
    let (status, body) = c.call(Method::POST, "/v2.1/servers", Some(body)).await;
    assert_eq!(status, 202, "{body}");
    let server_id = body["server"]["id"].as_str().unwrap().to_string();
    wait_status(&c, &server_id, "ACTIVE").await;
    let root = site.data.join("qemu").join(&server_id).join("root.qcow2");
    let info =
        Command::new("qemu-img").args(["info", "-U", "--output", "json", root.to_str().unwrap()]).output().unwrap();
    let info: Value = serde_json::from_slice(&info.stdout).unwrap();
    let backing = info["full-backing-filename"].as_str().or(info["backing-filename"].as_str()).unwrap_or_default();
    assert_eq!(Path::new(backing).canonicalize().unwrap(), uploaded.canonicalize().unwrap(), "{info}");
    assert_eq!(c.call(Method::DELETE, &format!("/v2.1/servers/{server_id}"), None).await.0, 204);
}
