//! The initscript's path resolves inside the container's root: while the container swaps
//! a directory and the script's link between an inside and a host target as fast as it
//! can, through /proc's magic links at prestart (when the container's pid 1 still has the
//! host's root), and when the annotation names a host path outright. The host script
//! never runs.

use super::rig::{runc_hook_stderr, Held, HostBait, INITSCRIPT};
use crate::oci_rig::{hook_cmd, inject_ok, set_annotation, shared, write_script};
use crate::runc::{Bundle, Runtime, Spec};
use crate::runc_create::Created;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const NOT_FOUND: &str = "not found inside the container's root filesystem";

/// Replace `at` with a symlink to each of `targets` in turn (an atomic rename each time)
/// until `stop`; returns how many swaps it made.
fn flip(at: PathBuf, targets: Vec<String>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let tmp = at.with_extension("flip");
        let mut swaps = 0u64;
        while !stop.load(Ordering::Relaxed) {
            for target in &targets {
                let _ = std::fs::remove_file(&tmp);
                std::os::unix::fs::symlink(target, &tmp)
                    .unwrap_or_else(|e| panic!("symlink {}: {e}", tmp.display()));
                std::fs::rename(&tmp, &at)
                    .unwrap_or_else(|e| panic!("rename onto {}: {e}", at.display()));
                swaps += 1;
            }
        }
        swaps
    })
}

/// Targets that lead out of the root when resolved on the host: absolute, `..`-relative
/// and through /proc's magic links.
fn escapes(host: &Path) -> Vec<String> {
    let h = host.display().to_string();
    vec![
        h.clone(),
        format!("../../../../../../../..{h}"),
        format!("/proc/1/root{h}"),
        format!("/proc/self/root/../../..{h}"),
    ]
}

#[test]
fn initscript_path_swapped_during_resolution_never_runs_a_host_binary() {
    let bait = HostBait::new();
    // The host side of the race: /sub/init.sh and /sub itself both lead to the bait.
    let host_dir = bait.dir.path().to_path_buf();
    std::os::unix::fs::symlink(bait.script(), host_dir.join("init.sh")).expect("host init.sh");
    let bundle = Bundle::new();
    let rootfs = bundle.rootfs();
    write_script(
        &rootfs.join("real/inside.sh"),
        "#!/bin/sh\necho inside >> /shared/inside-runs\n",
    );
    std::os::unix::fs::symlink("real", rootfs.join("sub")).expect("sub");
    std::os::unix::fs::symlink("inside.sh", rootfs.join("real/init.sh")).expect("init.sh");
    let held = Held::start(&bundle, &Spec::new(&["/bin/sh", "-c", Held::CMD]));
    set_annotation(&bundle, INITSCRIPT, "/sub/init.sh");

    let stop = Arc::new(AtomicBool::new(false));
    let mut sub_targets = vec!["real".to_string(), "/real".to_string()];
    sub_targets.extend(escapes(&host_dir));
    let mut leaf_targets = vec!["inside.sh".to_string(), "/real/inside.sh".to_string()];
    leaf_targets.extend(escapes(&bait.script()));
    let flippers = [
        flip(rootfs.join("sub"), sub_targets, stop.clone()),
        flip(rootfs.join("real/init.sh"), leaf_targets, stop.clone()),
    ];

    // Run the hook until both outcomes were seen often (the race was really run), with
    // a bound on the runs.
    let state = held.state(&bundle);
    let (mut ran_inside, mut not_found, mut reopened, mut runs) = (0u32, 0u32, 0u32, 0u32);
    let mut failure = None;
    while runs < 3000 && !(runs >= 200 && ran_inside >= 20 && not_found >= 20) {
        runs += 1;
        let (run, _stdin) = hook_cmd(&["prestart", "--log", "stderr"], state.as_bytes());
        let out = run
            .arg("--hooks-dir")
            .arg(bundle.path().join("no-hooks"))
            .output();
        let last = out.stderr.trim_end().lines().last().unwrap_or("");
        let failed = "rich-init hook prestart: initscript /sub/init.sh failed: ";
        match out.code() {
            Some(0) => ran_inside += 1,
            Some(1)
                if out.stderr.trim_end().lines().count() == 1
                    && last.starts_with(failed)
                    && last.contains(NOT_FOUND) =>
            {
                not_found += 1
            }
            // The kernel ran the inside script's interpreter, whose own open of the path
            // (inside the container too) then met an escaping link: not found.
            Some(1)
                if last == format!("{failed}exit status 2")
                    && out.stderr.contains("can't open '/sub/init.sh'") =>
            {
                reopened += 1
            }
            _ => {
                failure = Some(out);
                break;
            }
        }
        if !bait.marker().is_empty() {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let swaps: u64 = flippers
        .into_iter()
        .map(|f| f.join().expect("a flipper thread"))
        .sum();
    let said = std::fs::read_to_string(bundle.shared().join("inside-runs")).unwrap_or_default();
    eprintln!(
        "swap race: {runs} hook runs, {ran_inside} ran the inside script, {not_found} not found, {reopened} not found by the interpreter, {swaps} swaps"
    );
    assert_eq!(
        bait.marker(),
        "",
        "the host script ran through a swapped path ({runs} runs)"
    );
    if let Some(out) = failure {
        panic!("a hook run ended neither in success nor in `{NOT_FOUND}`\n{out}");
    }
    assert!(
        ran_inside >= 20 && not_found >= 20,
        "the race was not exercised: {ran_inside} inside runs, {not_found} not found in {runs} runs"
    );
    assert_eq!(
        said.lines().count(),
        ran_inside as usize,
        "each successful run ran the inside script once"
    );
    let out = held.finish();
    assert_eq!(out.code(), Some(0), "{out}");
}

/// A bundle injected with `--initscript /init.sh` whose CMD records that it ran.
fn injected() -> Bundle {
    let bundle = Bundle::new();
    bundle.write_config(&Spec::new(&[
        "/bin/sh",
        "-c",
        "echo CMD-RAN > /shared/cmd-ran",
    ]));
    write_script(&bundle.rootfs().join("init.sh"), "#!/bin/sh\nexit 0\n");
    inject_ok(&bundle, &["--initscript", "/init.sh"]);
    bundle
}

/// runc create fails, the hook said one line, and nothing is left: the line.
fn create_fails(bundle: &Bundle) -> String {
    let (created, out) = Created::create(Runtime::Runc, bundle);
    assert!(
        out.code().is_some_and(|c| c != 0),
        "create must fail\n{out}"
    );
    let said = runc_hook_stderr(&out.stderr);
    let lines: Vec<&str> = said.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line from the hook:\n{said}\n{out}");
    assert_eq!(created.status(), None, "no container is left\n{out}");
    assert_eq!(shared(bundle, "cmd-ran"), "", "CMD never ran\n{out}");
    lines[0].to_string()
}

#[test]
fn initscript_naming_a_host_path_is_not_found_and_runs_nothing() {
    let bait = HostBait::new();
    let bundle = injected();
    let host_path = bait.script().display().to_string();
    assert!(
        !bundle
            .rootfs()
            .join(host_path.trim_start_matches('/'))
            .exists(),
        "the bait must not be in the rootfs"
    );
    set_annotation(&bundle, INITSCRIPT, &host_path);
    let line = create_fails(&bundle);
    assert_eq!(
        line,
        format!("rich-init hook prestart: initscript {host_path} failed: {NOT_FOUND} (paths and links resolve there)"),
    );
    assert_eq!(bait.marker(), "", "the host script ran");
}

/// Gives the container's process CAP_SYS_PTRACE in every capability set.
fn grant_ptrace(bundle: &Bundle) {
    bundle.edit_config(|config| {
        let caps = &mut config["process"]["capabilities"];
        for set in ["bounding", "effective", "permitted", "ambient"] {
            if let Some(list) = caps[set].as_array_mut() {
                list.push(serde_json::json!("CAP_SYS_PTRACE"));
            }
        }
    });
}

/// At prestart runc's init (the container's pid 1) has not pivoted yet: /proc/1/root and
/// /proc/1/cwd in the container are the host's. With CAP_SYS_PTRACE in the container's
/// capabilities, a link through them must still not reach the host.
#[test]
fn initscript_through_proc_magic_links_at_prestart_runs_nothing_on_the_host() {
    let bait = HostBait::new();
    let h = bait.script().display().to_string();
    for target in [
        format!("/proc/1/root{h}"),
        format!("/proc/1/cwd/../../../../../../..{h}"),
    ] {
        let bundle = injected();
        grant_ptrace(&bundle);
        let link = bundle.rootfs().join("init.sh");
        std::fs::remove_file(&link).expect("remove init.sh");
        std::os::unix::fs::symlink(&target, &link).expect("symlink init.sh");
        let line = create_fails(&bundle);
        assert_eq!(
            bait.marker(),
            "",
            "the host script ran through /init.sh -> {target}"
        );
        assert!(
            line.starts_with("rich-init hook prestart: initscript /init.sh failed: "),
            "/init.sh -> {target}: {line}"
        );
    }
    // A script that is inside tries the same from within: it may not run, read or list
    // anything of the host's through pid 1.
    let bundle = injected();
    grant_ptrace(&bundle);
    write_script(
        &bundle.rootfs().join("init.sh"),
        &format!(
            "#!/bin/sh\n/proc/1/root{h}\nif cat /proc/1/root{h} > /dev/null 2>&1 || ls /proc/1/root/ > /dev/null 2>&1; then echo reached > /shared/reached; fi\ngrep CapEff /proc/self/status > /shared/capeff\nexit 0\n"
        ),
    );
    let (created, out) = Created::create(Runtime::Runc, &bundle);
    assert_eq!(out.code(), Some(0), "create\n{out}");
    assert_eq!(
        bait.marker(),
        "",
        "the initscript ran the host script via /proc/1/root\n{out}"
    );
    assert_eq!(
        shared(&bundle, "reached"),
        "",
        "the initscript read the host's files via /proc/1/root ({})\n{out}",
        shared(&bundle, "capeff")
    );
    assert!(
        !shared(&bundle, "capeff").is_empty(),
        "the initscript ran\n{out}"
    );
    created.must("delete");
}
