//! The `ecsd` binary as an operator meets it: `--version` names the git
//! revision, the log has no colour codes when stderr is not a terminal,
//! and the admin subcommands never create an empty database where none
//! was found.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

#[test]
fn version_names_the_git_revision() {
    let out = Command::new(env!("CARGO_BIN_EXE_ecsd")).arg("--version").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    // `ecsd 0.1.0 (abc1234)`, or `(unknown)` built outside a git checkout.
    let rest = text.trim().strip_prefix(&format!("ecsd {} (", env!("CARGO_PKG_VERSION"))).expect(&text);
    let revision = rest.strip_suffix(')').expect(&text);
    assert!(
        revision == "unknown" || (revision.len() >= 7 && revision.chars().all(|c| c.is_ascii_hexdigit())),
        "{text}"
    );
}

#[test]
fn the_log_has_no_colour_codes_off_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ecsd"))
        .args(["serve", "--listen", "127.0.0.1:0", "--vnc-proxy-listen", "off", "--data-dir"])
        .arg(dir.path())
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Started once the banner is out; the log has its lines by then.
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        if line.unwrap().starts_with("then:") {
            break;
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _ = child.kill();
    let _ = child.wait();
    let mut log = String::new();
    child.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    assert!(log.contains("INFO"), "{log}");
    assert!(!log.contains('\u{1b}'), "colour codes in a piped log: {log:?}");
}

#[test]
fn admin_subcommands_never_create_an_empty_database() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing-here");
    let image = dir.path().join("disk.raw");
    std::fs::write(&image, [0u8; 512]).unwrap();
    let commands: [Vec<&str>; 3] = [
        vec!["credential", "create", "--user", "demo", "--project", "demo"],
        vec!["network", "create", "--name", "n", "--cidr", "10.9.0.0/24"],
        vec!["image", "import", "--name", "i", "--file", image.to_str().unwrap()],
    ];
    for args in &commands {
        let out = Command::new(env!("CARGO_BIN_EXE_ecsd"))
            .args(args)
            .arg("--data-dir")
            .arg(&missing)
            .env_remove("ECSD_DATA_DIR")
            .env_remove("ECSD_DATABASE_URL")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let expected = format!("no ecsd database at {}", missing.join("ecsd.sqlite").display());
        assert!(stderr.contains(&expected), "{args:?}: {stderr}");
        assert!(stderr.contains("start `ecsd serve` first or pass --data-dir"), "{args:?}: {stderr}");
        assert!(!missing.exists(), "{args:?} made {}", missing.display());
    }

    // Where `ecsd serve` made one, they work.
    let data = dir.path().join("data");
    let out =
        Command::new(env!("CARGO_BIN_EXE_ecsd")).args(["db", "migrate", "--data-dir"]).arg(&data).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new(env!("CARGO_BIN_EXE_ecsd"))
        .args(["network", "create", "--name", "n", "--cidr", "10.9.0.0/24", "--project", "admin", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    // The database exists but is not seeded: the project is missing, not the database.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("no ecsd database"), "{stderr}");
}
