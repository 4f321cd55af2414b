//! `ecsd --version`: the crate's version and the git revision it was built
//! from ("unknown" where git or the repository is missing, as in a
//! source tarball).

use std::path::Path;
use std::process::Command;

fn main() {
    let revision = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=ECSD_VERSION={} ({revision})", env!("CARGO_PKG_VERSION"));
    // Rebuilt when HEAD moves: a commit on the branch, or another branch.
    if let Some(git_dir) = git_dir() {
        let head = git_dir.join("HEAD");
        println!("cargo:rerun-if-changed={}", head.display());
        if let Ok(text) = std::fs::read_to_string(&head)
            && let Some(reference) = text.strip_prefix("ref: ")
        {
            // A worktree's branch refs live in the common directory.
            let common = std::fs::read_to_string(git_dir.join("commondir"))
                .map(|c| git_dir.join(c.trim()))
                .unwrap_or_else(|_| git_dir.clone());
            println!("cargo:rerun-if-changed={}", common.join(reference.trim()).display());
            println!("cargo:rerun-if-changed={}", common.join("packed-refs").display());
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}

/// The repository's git directory, as git names it (`.git`, or a
/// worktree's directory under the main one).
fn git_dir() -> Option<std::path::PathBuf> {
    let out = Command::new("git").args(["rev-parse", "--git-dir"]).output().ok().filter(|o| o.status.success())?;
    let dir = String::from_utf8(out.stdout).ok()?.trim().to_string();
    let dir = Path::new(&dir);
    let absolute = if dir.is_absolute() { dir.to_path_buf() } else { std::env::current_dir().ok()?.join(dir) };
    Some(absolute)
}
