//! Throwaway databases for tests.
//!
//! SQLite: a file in a temporary directory. PostgreSQL: a fresh database
//! on the server named by `ECSD_TEST_POSTGRES_URL`, or else on a private
//! cluster that the first test of the process starts from the system's
//! PostgreSQL binaries (`/usr/lib/postgresql/*/bin`), listening only on a
//! Unix socket, with durability off for speed. A watchdog stops that
//! cluster and deletes it when the test process exits, however it exits.
//!
//! Returns URLs only, so that any crate (the store included) can use it
//! without a dependency cycle.

// Tests may read the real time and draw OS ids directly (clippy.toml bans
// it in the service: there they go through ecs_types::clock and ::random).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use sqlx::Connection;

/// A database for one test; keep it alive as long as the test uses it.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// A new, empty SQLite database.
pub fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.sqlite").display());
    TestDb { url, _dir: Some(dir) }
}

/// A new, empty PostgreSQL database.
pub async fn postgres() -> TestDb {
    let server = postgres_server_url();
    let name = format!("ecsd_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&server).await.expect("connecting to the test PostgreSQL server");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("creating a test database");
    conn.close().await.ok();
    TestDb { url: with_database(&server, &name), _dir: None }
}

/// Replaces the database name in a `postgres://…/db?params` URL.
fn with_database(url: &str, db: &str) -> String {
    let (head, params) = url.split_once('?').map_or((url, None), |(h, p)| (h, Some(p)));
    let scheme_end = head.find("://").map_or(0, |i| i + 3);
    let base = match head[scheme_end..].find('/') {
        Some(i) => &head[..scheme_end + i],
        None => head,
    };
    match params {
        Some(p) => format!("{base}/{db}?{p}"),
        None => format!("{base}/{db}"),
    }
}

fn postgres_server_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| match std::env::var("ECSD_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => start_private_cluster(),
    })
    .clone()
}

fn bin_dir() -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is not installed (apt-get install postgresql), and ECSD_TEST_POSTGRES_URL is not set")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    dirs.sort_by_key(|p| {
        p.parent().and_then(|v| v.file_name()).and_then(|v| v.to_str()).and_then(|v| v.parse::<u32>().ok()).unwrap_or(0)
    });
    dirs.pop().expect("no initdb under /usr/lib/postgresql/*/bin")
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

/// A command run as the `postgres` user when we are root (PostgreSQL
/// refuses to run as root).
fn pg_command(bin: &Path, root: bool) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    }
}

fn run(mut c: Command, what: &str) {
    let out = c.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn start_private_cluster() -> String {
    let bin = bin_dir();
    let root = is_root();
    let dir = tempfile::Builder::new().prefix("ecsd-test-pg-").tempdir().expect("temporary directory").keep();
    if root {
        let mut chown = Command::new("chown");
        chown.args(["postgres:postgres"]).arg(&dir);
        run(chown, "chown");
    }
    let mut initdb = pg_command(&bin.join("initdb"), root);
    initdb.args(["--auth=trust", "--username=postgres", "--encoding=UTF8", "--no-sync", "-D"]).arg(dir.join("data"));
    run(initdb, "initdb");
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(54329);
    let options = format!(
        "-k {} -p {port} -c listen_addresses='' -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=300",
        dir.display()
    );
    let mut start = pg_command(&bin.join("pg_ctl"), root);
    start.arg("-D").arg(dir.join("data")).args(["-o", &options, "-w", "-l"]).arg(dir.join("log")).arg("start");
    run(start, "pg_ctl start");

    // Stop and delete the cluster when this process ends, however it ends.
    let stop = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {runas}{pg_ctl} -D {data} -m immediate stop >/dev/null 2>&1; rm -rf {dir}",
        pid = std::process::id(),
        runas = if root { "runuser -u postgres -- " } else { "" },
        pg_ctl = bin.join("pg_ctl").display(),
        data = dir.join("data").display(),
        dir = dir.display(),
    );
    // Never waited for on purpose: it must outlive this process.
    #[allow(clippy::zombie_processes)]
    Command::new("setsid")
        .args(["sh", "-c", &stop])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starting the cluster watchdog");
    format!("postgres://postgres@localhost/postgres?host={}&port={port}", dir.display())
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            super::with_database("postgres://u@h/postgres?host=/tmp&port=1", "x"),
            "postgres://u@h/x?host=/tmp&port=1"
        );
        assert_eq!(super::with_database("postgres://u:p@h:5432/db", "y"), "postgres://u:p@h:5432/y");
        assert_eq!(super::with_database("postgres://h", "z"), "postgres://h/z");
    }
}

/// The tiny guest of `scripts/tiny-guest.sh`: a kernel and a busybox
/// initramfs that prints its config drive and a marker to the serial console.
#[derive(Debug, Clone)]
pub struct TinyGuest {
    pub kernel: std::path::PathBuf,
    pub initrd: std::path::PathBuf,
}

/// What the tiny guest prints once it has read its config drive.
pub const TINY_GUEST_MARKER: &str = "ECSD-GUEST-READY";

/// Builds the tiny guest under `dir` (once; concurrent test processes
/// race harmlessly). None, saying why, where QEMU or the guest's parts are
/// missing — unless `ECSD_REQUIRE_QEMU` is set, as CI sets it, so that a
/// machine without them fails instead of skipping.
pub fn tiny_guest(dir: &std::path::Path) -> Option<TinyGuest> {
    let missing = ["qemu-system-x86_64", "qemu-img", "genisoimage", "cpio"].into_iter().find(|tool| {
        !std::process::Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if let Some(tool) = missing {
        let why = format!("{tool} is not installed (apt-get install qemu-system-x86 qemu-utils genisoimage cpio)");
        assert!(std::env::var_os("ECSD_REQUIRE_QEMU").is_none(), "ECSD_REQUIRE_QEMU is set but {why}");
        eprintln!("skipping: {why}");
        return None;
    }
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/tiny-guest.sh");
    // Named by the script's contents: a changed guest is built again.
    let version = std::fs::read(&script)
        .unwrap_or_default()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3));
    let done = dir.join(format!("tiny-guest-{version:016x}"));
    if !done.join("initrd.img").exists() {
        let partial = dir.join(format!("tiny-guest.{}", std::process::id()));
        let out = std::process::Command::new("sh").arg(script).arg(&partial).output().expect("running tiny-guest.sh");
        if !out.status.success() {
            let why = format!("tiny-guest.sh failed: {}", String::from_utf8_lossy(&out.stderr));
            assert!(std::env::var_os("ECSD_REQUIRE_QEMU").is_none(), "ECSD_REQUIRE_QEMU is set but {why}");
            eprintln!("skipping: {why}");
            return None;
        }
        if std::fs::rename(&partial, &done).is_err() {
            let _ = std::fs::remove_dir_all(&partial);
        }
    }
    Some(TinyGuest { kernel: done.join("vmlinux"), initrd: done.join("initrd.img") })
}
