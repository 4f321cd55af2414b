//! The real `ecsd` binary: first start, restart, exposure rules, commands.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;

pub struct Ecsd {
    pub child: Child,
    pub base: String,
    banner: String,
}

impl Drop for Ecsd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `ecsd serve` and reads its banner up to the clouds.yaml hint.
pub fn spawn(args: &[&str], env: &[(&str, &str)]) -> Ecsd {
    // Port 0: the kernel picks a free port, which the banner names.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ecsd"));
    cmd.arg("serve")
        .args(["--listen", "127.0.0.1:0", "--vnc-proxy-listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut banner = String::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        banner.push_str(&line);
        banner.push('\n');
        if line.starts_with("then:") {
            break;
        }
    }
    let base = banner
        .lines()
        .find_map(|l| l.strip_prefix("ecsd is serving on "))
        .unwrap_or_else(|| panic!("no endpoint in banner:\n{banner}"))
        .trim()
        .to_string();
    Ecsd { child, base, banner }
}

fn token(base: &str, user: &str, password: &str) -> Option<String> {
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": user, "domain": {"name": "Default"}, "password": password}}},
        "scope": {"project": {"name": user, "domain": {"name": "Default"}}}}});
    let r = reqwest::blocking_post(base, &body);
    r.filter(|(status, _)| *status == 201).map(|(_, t)| t)
}

mod reqwest {
    //! A tiny blocking client over the async one, for process tests.
    pub fn blocking_post(base: &str, body: &serde_json::Value) -> Option<(u16, String)> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let r = ::reqwest::Client::new()
                .post(format!("{base}/identity/v3/auth/tokens"))
                .json(body)
                .send()
                .await
                .ok()?;
            let token = r.headers().get("x-subject-token").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
            Some((r.status().as_u16(), token))
        })
    }

    pub fn get(url: &str, token: &str) -> (u16, serde_json::Value) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let r = ::reqwest::Client::new().get(url).header("x-auth-token", token).send().await.unwrap();
            (r.status().as_u16(), r.json().await.unwrap_or(serde_json::Value::Null))
        })
    }

    pub fn post(url: &str, token: &str, body: &serde_json::Value) -> u16 {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            ::reqwest::Client::new()
                .post(url)
                .header("x-auth-token", token)
                .json(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    }
}

#[test]
fn first_start_seeds_and_restart_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let first = spawn(&["--data-dir", data], &[]);
    for needle in [
        "identity (Keystone v3)",
        "/v2.1",
        "web console:",
        "/console/",
        "user 'admin' / password 'admin'",
        "clouds:",
        "auth_url:",
        "project_name: admin",
    ] {
        assert!(first.banner.contains(needle), "banner lacks {needle:?}:\n{}", first.banner);
    }
    let t = token(&first.base, "demo", "demo").expect("demo logs in");
    let status = reqwest::post(
        &format!("{}/v2.1/os-keypairs", first.base),
        &t,
        &json!({"keypair": {"name": "kept", "public_key": super::keypairs_vector()}}),
    );
    assert_eq!(status, 200);
    drop(first);

    let second = spawn(&["--data-dir", data], &[]);
    let t = token(&second.base, "demo", "demo").expect("demo logs in after restart");
    let (status, body) = reqwest::get(&format!("{}/v2.1/os-keypairs/kept", second.base), &t);
    assert_eq!(status, 200, "{body}");
    let (_, flavors) = reqwest::get(&format!("{}/v2.1/flavors", second.base), &t);
    let count = flavors["flavors"].as_array().unwrap().len();
    assert!(count >= 10, "flavors seeded once: {count}");
}

#[test]
fn exposed_listener_requires_own_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ecsd"))
        .args(["serve", "--listen", "0.0.0.0:0", "--vnc-proxy-listen", "off", "--data-dir", data])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("default password"), "{stderr}");

    // With both passwords given it starts (on loopback here, to stay local)
    // and the defaults no longer work.
    let ecsd = spawn(&["--data-dir", data], &[("ECSD_ADMIN_PASSWORD", "s3cret-a"), ("ECSD_DEMO_PASSWORD", "s3cret-d")]);
    assert!(token(&ecsd.base, "admin", "admin").is_none());
    assert!(token(&ecsd.base, "admin", "s3cret-a").is_some());
    assert!(token(&ecsd.base, "demo", "s3cret-d").is_some());
    drop(ecsd);
    let out = Command::new(env!("CARGO_BIN_EXE_ecsd"))
        .args(["serve", "--listen", "0.0.0.0:0", "--vnc-proxy-listen", "off", "--data-dir", data])
        .env("ECSD_ADMIN_PASSWORD", "s3cret-a")
        .env("ECSD_DEMO_PASSWORD", "s3cret-d")
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            std::thread::sleep(Duration::from_secs(2));
            let alive = c.try_wait()?.is_none();
            let _ = c.kill();
            let _ = c.wait();
            Ok(alive)
        })
        .unwrap();
    assert!(out, "with its own passwords ecsd may listen beyond loopback");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn db_migrate_and_api_commands() {
    let db = ecs_test_utils::postgres().await;
    let out =
        Command::new(env!("CARGO_BIN_EXE_ecsd")).args(["db", "migrate", "--database-url", &db.url]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("migrations applied"));
    let store = ecs_store::Store::connect(&db.url).await.unwrap();
    assert!(store.project_list().await.unwrap().is_empty(), "migrate does not seed");
    store.close().await;

    let out = Command::new(env!("CARGO_BIN_EXE_ecsd")).args(["api", "--listen", "127.0.0.1:0"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("PostgreSQL"));
}

#[test]
fn network_create_command() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_ecsd"))
            .args(["network", "create", "--data-dir", data])
            .args(args)
            .output()
            .unwrap()
    };
    // The admin project exists after a first start.
    drop(spawn(&["--data-dir", data], &[]));
    let out = run(&["--name", "lab", "--cidr", "10.9.0.0/16", "--pool", "10.9.1.1-10.9.1.200", "--shared"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("network lab"));
    let out = run(&["--name", "bad", "--cidr", "10.9.0.5/16"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("'10.9.0.0/16' is recommended"));
    let ecsd = spawn(&["--data-dir", data], &[]);
    let t = token(&ecsd.base, "demo", "demo").unwrap();
    let (status, body) = reqwest::get(&format!("{}/networking/v2.0/networks?name=lab", ecsd.base), &t);
    assert_eq!(status, 200);
    assert_eq!(body["networks"][0]["shared"], true);
}

#[test]
fn image_import_command() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    drop(spawn(&["--data-dir", data], &[]));
    let disk = dir.path().join("disk.qcow2");
    let mut bytes = b"QFI\xfb".to_vec();
    bytes.resize(4096, 0);
    std::fs::write(&disk, &bytes).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ecsd"))
        .args(["image", "import", "--data-dir", data, "--name", "tiny", "--public", "--file", disk.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("qcow2, 4096 bytes"));
    let ecsd = spawn(&["--data-dir", data], &[]);
    let t = token(&ecsd.base, "demo", "demo").unwrap();
    let (_, body) = reqwest::get(&format!("{}/image/v2/images?name=tiny", ecsd.base), &t);
    assert_eq!(body["images"][0]["disk_format"], "qcow2");
    assert_eq!(body["images"][0]["size"], 4096);
}
