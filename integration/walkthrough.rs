//! README.md's walkthrough, run as a reader would paste it: the ```sh block between
//! `<!-- walkthrough:begin -->` and `<!-- walkthrough:end -->`, with `bash -euo pipefail`
//! from the repo root, its plain `ctr` and `build/upgrade-helper` pointed at a private
//! containerd by CONTAINERD_ADDRESS and CONTAINERD_NAMESPACE. Only its build line is left
//! out: `make build` has made build/upgrade-helper, and the images are built here into a
//! temp dir that the block finds through IMAGES. The outcome is then checked from the
//! container record and /proc, never from `ctr task exec` output (which containerd can lose).

use crate::containerd::Containerd;
use crate::harness::{read_or_empty, require, static_bin, wait_for, Run, TempDir};
use crate::upgrade_rig::{env_value, process};
use std::path::{Path, PathBuf};

const BEGIN: &str = "<!-- walkthrough:begin -->";
const END: &str = "<!-- walkthrough:end -->";
const BUILD_LINE: &str = "make && make images";
const ID: &str = "legacy";
const IMAGE_2: &str = "rich-init.test/rich-busybox:2";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shell lines of the walkthrough block, fences and build line removed.
fn walkthrough_script() -> String {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let start = readme
        .find(BEGIN)
        .expect("README.md has the walkthrough:begin marker");
    let end = readme
        .find(END)
        .expect("README.md has the walkthrough:end marker");
    assert!(start < end, "walkthrough markers out of order");
    let inner = readme[start + BEGIN.len()..end].trim();
    let body = inner
        .strip_prefix("```sh\n")
        .and_then(|b| b.strip_suffix("```"))
        .unwrap_or_else(|| panic!("the walkthrough is not one ```sh block:\n{inner}"));
    assert!(!body.contains("```"), "more than one fence in:\n{body}");
    let lines: Vec<&str> = body.lines().collect();
    let kept: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.trim() != BUILD_LINE)
        .collect();
    assert_eq!(
        kept.len() + 1,
        lines.len(),
        "the block should have exactly one `{BUILD_LINE}` line:\n{body}"
    );
    kept.join("\n") + "\n"
}

/// The children of `pid` (from /proc/PID/task/PID/children) with their command lines.
fn children_argv(pid: i32) -> Vec<(i32, Vec<String>)> {
    read_or_empty(Path::new(&format!("/proc/{pid}/task/{pid}/children")))
        .split_whitespace()
        .filter_map(|p| p.parse::<i32>().ok())
        .map(|p| {
            let cmdline = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
            let words: Vec<String> = cmdline
                .split(|b| *b == 0)
                .filter(|w| !w.is_empty())
                .map(|w| String::from_utf8_lossy(w).into_owned())
                .collect();
            (p, words)
        })
        .collect()
}

#[test]
fn readme_walkthrough_runs_and_upgrades_in_place() {
    let bash = require("bash");
    require("busybox");
    require("file");
    require("python3");
    let helper = repo().join("build/upgrade-helper");
    assert!(
        helper.is_file(),
        "{} is missing: run `make build` (or `make test`)",
        helper.display()
    );
    let script = walkthrough_script();

    // Declared before the daemon, so dropped after it (the bind mount's source is in here).
    let work = TempDir::new("walkthrough");
    let images = work.join("images");
    let tmp = work.join("tmp");
    std::fs::create_dir_all(&tmp).expect("create tmp");
    let built = Run::new(repo().join("images/rich-busybox/build"))
        .env("RICH_INIT_BIN", static_bin())
        .arg(&images)
        .output();
    assert_eq!(built.code(), Some(0), "images/rich-busybox/build\n{built}");

    let ctd = Containerd::start();
    let mut run = Run::new(bash).args(["-euo", "pipefail", "-c", &script]);
    run.command_mut()
        .current_dir(repo())
        .env_remove("CONTAINERD_SNAPSHOTTER")
        .env_remove("UPGRADE_HELPER_FAULT")
        .env_remove("DATA");
    let out = run
        .env("CONTAINERD_ADDRESS", ctd.address())
        .env("CONTAINERD_NAMESPACE", ctd.namespace())
        .env("IMAGES", &images)
        .env("TMPDIR", &tmp)
        .output();
    assert_eq!(
        out.code(),
        Some(0),
        "the walkthrough failed\n--- script ---\n{script}\n{out}\n--- containerd log ---\n{}",
        ctd.log()
    );

    eprintln!("--- the walkthrough's output ---\n{out}");

    // One container, `legacy`, updated in place (created before its last update).
    assert_eq!(ctd.containers(), vec![ID.to_string()], "{out}");
    let info = ctd.container_info(ID);
    assert_eq!(info["ID"], ID, "{info:#}");
    assert_eq!(info["Image"], IMAGE_2, "{info:#}");
    let created = info["CreatedAt"].as_str().expect("CreatedAt");
    let updated = info["UpdatedAt"].as_str().expect("UpdatedAt");
    assert_ne!(
        created, updated,
        "upgraded in place, not re-created: {info:#}"
    );
    assert!(
        !info["Labels"]
            .as_object()
            .is_some_and(|l| l.contains_key(crate::upgrade_rig::JOURNAL_LABEL)),
        "no journal left: {info:#}"
    );

    // The user's config is kept.
    let (args, env, _) = process(&info);
    assert_eq!(env_value(&env, "GREETING"), Some("hello"), "{env:?}");
    assert_eq!(info["Labels"]["team"], "ops", "{info:#}");
    assert_eq!(args.first().map(String::as_str), Some("/sbin/rich-init"));
    let mounts = info["Spec"]["mounts"].as_array().expect("Spec.mounts");
    let data = mounts
        .iter()
        .find(|m| m["destination"] == "/data")
        .unwrap_or_else(|| panic!("no /data mount: {mounts:#?}"));
    assert_eq!(data["type"], "bind", "{data:#}");
    let source = PathBuf::from(data["source"].as_str().expect("mount source"));
    assert!(
        source.starts_with(&tmp) && source.is_dir(),
        "the /data source should be the block's $DATA under {}: {data:#}",
        tmp.display()
    );
    let options: Vec<&str> = data["options"]
        .as_array()
        .expect("mount options")
        .iter()
        .filter_map(|o| o.as_str())
        .collect();
    assert!(
        options.contains(&"rbind") && options.contains(&"rw"),
        "{data:#}"
    );

    // The new task: rich-init as pid 1, image 2's rootfs, /data mounted, crond and syslogd
    // its children.
    let task = ctd.wait_task_status(ID, "RUNNING");
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", task.pid)).expect("cmdline");
    let argv0 = cmdline.split(|b| *b == 0).next().unwrap_or_default();
    assert_eq!(
        String::from_utf8_lossy(argv0),
        "/sbin/rich-init",
        "pid 1 of {ID} (host pid {})",
        task.pid
    );
    let status = read_or_empty(Path::new(&format!("/proc/{}/status", task.pid)));
    let nspid = status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))
        .map(|v| v.split_whitespace().last().unwrap_or_default().to_string());
    assert_eq!(nspid.as_deref(), Some("1"), "{status}");
    let release = read_or_empty(Path::new(&format!(
        "/proc/{}/root/etc/rich-busybox-release",
        task.pid
    )));
    assert_eq!(release.trim(), "2", "the rootfs is image 2's");
    let mountinfo = read_or_empty(Path::new(&format!("/proc/{}/mountinfo", task.pid)));
    assert!(
        mountinfo
            .lines()
            .any(|l| l.split_whitespace().nth(4) == Some("/data")),
        "/data is mounted in the new task:\n{mountinfo}"
    );
    let kids = wait_for(&format!("crond and syslogd under {ID}'s rich-init"), || {
        let kids = children_argv(task.pid);
        // Under their own names (issue 13, finding 10): the image's applet links
        // `/usr/sbin/crond -f ...`, `/sbin/syslogd -n ...`, so comm is the applet's.
        let has = |name: &str| {
            kids.iter().any(|(pid, _)| {
                read_or_empty(Path::new(&format!("/proc/{pid}/comm"))).trim() == name
            })
        };
        (has("crond") && has("syslogd")).then_some(kids)
    });
    eprintln!("{ID}: rich-init pid {} with children {kids:?}", task.pid);
}

/// `*` in `pattern` matches any run of characters; everything else matches itself.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = (parts[0], &parts[1..]);
    let Some(mut tail) = text.strip_prefix(first) else {
        return false;
    };
    for (i, part) in rest.iter().enumerate() {
        if i + 1 == rest.len() {
            return tail.ends_with(part);
        }
        match tail.find(part) {
            Some(at) => tail = &tail[at + part.len()..],
            None => return false,
        }
    }
    tail.is_empty()
}

/// The test functions of integration/FILE.rs (`#[test]` then `fn NAME`).
fn test_names(file: &Path) -> Vec<String> {
    let text = read_or_empty(file);
    let lines: Vec<&str> = text.lines().collect();
    lines
        .windows(2)
        .filter(|w| w[0].trim() == "#[test]")
        .filter_map(|w| {
            let rest = w[1].trim().strip_prefix("fn ")?;
            Some(rest.split('(').next()?.to_string())
        })
        .collect()
}

/// README's "Why rich-init" table: every row's last column names tests that exist
/// (`FILE::NAME`, `*` as a wildcard in either part) or figures of the Benchmarks section
/// (`measure (bench)`), and at least one of them.
#[test]
fn why_table_rows_name_tests_and_figures_that_exist() {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let why = readme
        .split("\n## Why rich-init\n")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("README.md has a `## Why rich-init` section");
    let bench = readme
        .split("\n## Benchmarks\n")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("README.md has a `## Benchmarks` section")
        .to_lowercase();
    let files: Vec<PathBuf> = std::fs::read_dir(repo().join("integration"))
        .expect("list integration/")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    let rows: Vec<&str> = why
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| :--"))
        .skip(1)
        .collect();
    assert!(rows.len() >= 10, "the table has its rows:\n{why}");
    for row in rows {
        let cells: Vec<&str> = row.trim_matches('|').split(" | ").collect();
        assert_eq!(cells.len(), 8, "eight columns in {row}");
        let backed = cells[7].trim();
        let mut evidence = 0;
        for item in backed.split([';', ',']).map(str::trim) {
            if let Some(measure) = item.strip_suffix("(bench)") {
                let measure = measure.trim().to_lowercase();
                assert!(
                    bench.contains(&measure),
                    "{measure:?} (row {:?}) is not a figure of the Benchmarks section",
                    cells[0]
                );
                evidence += 1;
            }
            for reference in item.split_whitespace() {
                let reference = reference.trim_matches('`');
                let Some((file, name)) = reference.split_once("::") else {
                    continue;
                };
                let matched: Vec<&PathBuf> = files
                    .iter()
                    .filter(|p| {
                        p.file_stem()
                            .and_then(|s| s.to_str())
                            .is_some_and(|s| glob(file, s))
                    })
                    .collect();
                assert!(
                    !matched.is_empty(),
                    "no integration/{file}.rs for {reference}"
                );
                let found = matched
                    .iter()
                    .flat_map(|p| test_names(p))
                    .any(|t| glob(name, &t));
                assert!(found, "no test {reference} (row {:?})", cells[0]);
                evidence += 1;
            }
        }
        assert!(evidence > 0, "row {:?} names no test or figure", cells[0]);
    }
}

#[test]
fn glob_matches_like_a_shell() {
    assert!(glob("*", "anything"));
    assert!(glob("oci_*", "oci_hook"));
    assert!(glob(
        "*_like_the_peer",
        "tini_forwards_to_the_child_like_the_peer"
    ));
    assert!(glob("upgrade*", "upgrade"));
    assert!(glob("a*b*c", "aXbYc"));
    assert!(!glob("oci_*", "rich"));
    assert!(!glob("a*b", "ab_c"));
    assert!(!glob("exact", "exactly"));
}
