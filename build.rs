//! Build script: the commit `rich-init --version` names (`RICH_INIT_GIT_COMMIT` at build
//! time, else `git rev-parse --short=7 HEAD`, else "unknown"). dockerd reads the init's
//! version as `NAME version X - git.COMMIT` and shows COMMIT in `docker info`.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (out.status.success() && !text.is_empty()).then(|| text.to_string())
}

fn main() {
    println!("cargo:rerun-if-env-changed=RICH_INIT_GIT_COMMIT");
    let commit = std::env::var("RICH_INIT_GIT_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| git(&["rev-parse", "--short=7", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    // docker splits the part after "git." on dots: a commit must have none.
    let commit: String = commit
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    // Build again when HEAD moves (worktrees keep HEAD and refs in different places).
    let mut watch = vec!["HEAD".to_string(), "packed-refs".to_string()];
    watch.extend(git(&["symbolic-ref", "-q", "HEAD"]));
    for name in watch {
        if let Some(path) = git(&["rev-parse", "--git-path", &name]) {
            if std::path::Path::new(&path).exists() {
                println!("cargo:rerun-if-changed={path}");
            }
        }
    }
    println!("cargo:rustc-env=RICH_INIT_GIT_COMMIT={commit}");
}
