//! Issue 13: rich-init as podman's `--init --init-path`, side by side with catatonit and
//! tini-static under the same podman: an orphan storm leaves no zombie, exit codes (and
//! 128+n for a signal), `podman stop`'s code (its time is printed), `podman kill -s`
//! reaching CMD. Ours also signals CMD's process group (README: deliberate difference);
//! what the peers do is recorded and checked as it is.

use crate::harness::{wait_for, Outcome};
use crate::podman_ctr::{Init, Oci};
use crate::podman_rig::Podman;

/// 200 orphans that exit at once, then CMD counts the zombies in the container's /proc
/// until none is left (at most ~10 s) and prints the last count.
const ORPHAN_STORM: &str = r#"i=0
while [ $i -lt 200 ]; do sh -c 'true & true &'; i=$((i+1)); done
n=0
while :; do
  z=$(cat /proc/[0-9]*/stat 2>/dev/null | sed -n 's/^[0-9]* ([^)]*) Z .*/Z/p' | wc -l)
  [ "$z" -eq 0 ] && break
  n=$((n+1)); [ $n -gt 200 ] && break
  sleep 0.05
done
echo "zombies=$z""#;

fn storm(oci: Oci) {
    let rig = Podman::new();
    for init in Init::ALL {
        let (out, _) = rig.run(oci, &init.flags(), &["sh", "-c", ORPHAN_STORM]);
        assert_eq!(
            out.code(),
            Some(0),
            "{} under {}\n{out}",
            init.name(),
            oci.name()
        );
        assert_eq!(
            out.stdout.trim(),
            "zombies=0",
            "{} under {} left zombies\n{out}",
            init.name(),
            oci.name()
        );
    }
    rig.finish();
}

#[test]
fn podman_init_path_orphan_storm_leaves_no_zombie_runc() {
    storm(Oci::Runc);
}

#[test]
fn podman_init_path_orphan_storm_leaves_no_zombie_crun() {
    storm(Oci::Crun);
}

/// (CMD, the exit code podman reports)
const EXITS: &[(&str, i32)] = &[
    ("exit 3", 3),
    ("kill -USR1 $$", 128 + 10),
    ("kill -KILL $$", 128 + 9),
];

fn exit_codes(oci: Oci) {
    let rig = Podman::new();
    for (cmd, want) in EXITS {
        let codes: Vec<(Init, Option<i32>, Outcome)> = Init::ALL
            .iter()
            .map(|init| {
                let (out, _) = rig.run(oci, &init.flags(), &["sh", "-c", cmd]);
                (*init, out.code(), out)
            })
            .collect();
        for (init, code, out) in &codes {
            assert_eq!(
                *code,
                Some(*want),
                "`{cmd}` under {} with {}\n{out}",
                oci.name(),
                init.name()
            );
        }
    }
    rig.finish();
}

#[test]
fn podman_init_path_exit_codes_match_the_peers_runc() {
    exit_codes(Oci::Runc);
}

#[test]
fn podman_init_path_exit_codes_match_the_peers_crun() {
    exit_codes(Oci::Crun);
}

#[test]
fn podman_stop_code_matches_the_peers() {
    let rig = Podman::new();
    let mut codes = Vec::new();
    for init in Init::ALL {
        let ctr = rig.start(Oci::Runc, &init.flags(), &["sleep", "1000"]);
        wait_for("sleep to run under the init", || {
            let out = ctr.exec(&[], &["pidof", "sleep"]);
            (out.code() == Some(0)).then_some(())
        });
        let (out, took) = ctr.stop(10);
        assert_eq!(
            out.code(),
            Some(0),
            "podman stop with {}\n{out}",
            init.name()
        );
        let code = ctr.wait();
        eprintln!("podman stop with {}: exit {code}, {took:?}", init.name());
        codes.push((init.name(), code));
    }
    assert_eq!(
        codes,
        vec![("ours", 143), ("catatonit", 143), ("tini-static", 143)],
        "SIGTERM to the init: CMD (sleep) dies of it, 128+15"
    );
    rig.finish();
}

/// CMD traps HUP and USR1 and records them; a second shell in CMD's process group (not
/// CMD, the "member") records HUP, USR1 and USR2. CMD sends it USR2 once CMD has had its
/// signal (a handshake, so the test sends the next one), and the test one more at the end:
/// once that is recorded, what the member holds says which signals reached CMD's group.
const KILL_CMD: &str = r#"sh -c 'trap "echo HUP >> /shared/member" HUP
trap "echo USR1 >> /shared/member" USR1
trap "echo USR2 >> /shared/member" USR2
echo $$ > /shared/member.pid
while :; do sleep 1000 & wait $!; done' &
member=$!
trap 'echo HUP >> /shared/cmd; kill -USR2 $member' HUP
trap 'echo USR1 >> /shared/cmd; kill -USR2 $member' USR1
while [ ! -s /shared/member.pid ]; do sleep 0.01; done
echo ready > /shared/ready
while :; do sleep 1000 & wait $!; done"#;

/// Per signal: did CMD get it, and did the group member get it.
fn kill_reaches(rig: &Podman, init: Init) -> Vec<(String, bool, bool)> {
    let ctr = rig.start(Oci::Runc, &init.flags(), &["sh", "-c", KILL_CMD]);
    ctr.wait_shared("ready");
    let sigs = ["HUP", "USR1"];
    let usr2_at_least = |n: usize| {
        wait_for(
            &format!("{n} USR2 at the member with {}", init.name()),
            || {
                let text = ctr.shared("member");
                (text.matches("USR2").count() >= n).then_some(text)
            },
        )
    };
    for (n, sig) in sigs.iter().enumerate() {
        ctr.kill(sig);
        usr2_at_least(n + 1);
    }
    // One more USR2, from outside: whatever the signals left pending at the member has
    // been handled once it is recorded.
    let out = ctr.exec(&[], &["sh", "-c", "kill -USR2 $(cat /shared/member.pid)"]);
    assert_eq!(out.code(), Some(0), "{out}");
    let member = usr2_at_least(sigs.len() + 1);
    let cmd = ctr.shared("cmd");
    eprintln!("{}: CMD {cmd:?}, member {member:?}", init.name());
    sigs.iter()
        .map(|sig| (sig.to_string(), cmd.contains(sig), member.contains(sig)))
        .collect()
}

#[test]
fn podman_kill_reaches_cmd_and_ours_reaches_its_group() {
    let rig = Podman::new();
    let ours = kill_reaches(&rig, Init::Ours);
    let catatonit = kill_reaches(&rig, Init::Catatonit);
    let tini = kill_reaches(&rig, Init::TiniStatic);
    eprintln!("(signal, CMD got it, CMD's group got it): ours {ours:?}, catatonit {catatonit:?}, tini-static {tini:?}");
    let want = |group: bool| {
        ["HUP", "USR1"]
            .iter()
            .map(|s| (s.to_string(), true, group))
            .collect::<Vec<_>>()
    };
    assert_eq!(ours, want(true), "ours: CMD and CMD's process group");
    assert_eq!(catatonit, want(false), "catatonit: CMD only");
    assert_eq!(tini, want(false), "tini-static (no -g): CMD only");
    rig.finish();
}

/// Every entry below `roots` (recursively) with its size and mtime, and the /dev/shm and
/// top-level cgroup entries named libpod*: what podman could write outside the rig.
fn host_state() -> Vec<String> {
    fn walk(path: &std::path::Path, out: &mut Vec<String>) {
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            return;
        };
        out.push(format!(
            "{} {} {:?}",
            path.display(),
            meta.len(),
            meta.modified().ok()
        ));
        if meta.is_dir() {
            if let Ok(entries) = std::fs::read_dir(path) {
                let mut paths: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
                paths.sort();
                for p in paths {
                    walk(&p, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    for root in [
        "/var/lib/containers",
        "/run/containers",
        "/run/libpod",
        "/run/runc",
        "/run/crun",
        "/etc/containers",
        "/var/log/rich-init",
        "/usr/share/containers/oci/hooks.d",
        "/root/.config/containers",
        "/root/.local/share/containers",
    ] {
        walk(std::path::Path::new(root), &mut out);
    }
    let named_libpod = |dir: &str| -> Vec<String> {
        std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.path().display().to_string())
                    .filter(|p| p.contains("libpod"))
                    .collect()
            })
            .unwrap_or_default()
    };
    out.extend(named_libpod("/dev/shm"));
    if let Ok(hierarchies) = std::fs::read_dir("/sys/fs/cgroup") {
        for h in hierarchies.filter_map(Result::ok) {
            out.extend(named_libpod(&h.path().display().to_string()));
        }
    }
    out
}

/// The rig touches nothing of the host's podman state: run, exec, stop and rm with both
/// runtimes leave the system dirs as they were, no mount and no cgroup of the rig.
#[test]
fn podman_rig_leaves_no_state_outside_its_temp_dir() {
    let before = host_state();
    let rig = Podman::new();
    let dir = rig.dir().display().to_string();
    let parent = rig.cgroup_parent().trim_start_matches('/').to_string();
    for oci in Oci::ALL {
        let ctr = rig.start(oci, &Init::Ours.flags(), &["sleep", "1000"]);
        let out = ctr.exec(&[], &["true"]);
        assert_eq!(out.code(), Some(0), "{out}");
        let (out, _) = ctr.stop(10);
        assert_eq!(out.code(), Some(0), "{out}");
        drop(ctr);
    }
    rig.finish();
    let after = host_state();
    assert_eq!(before, after, "podman changed state outside the rig's dir");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    assert!(
        !mounts.contains(&dir),
        "a mount under the rig is left on the host:\n{mounts}"
    );
    let cgroups: Vec<String> = std::fs::read_dir("/sys/fs/cgroup")
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|h| h.path().join(&parent))
                .filter(|p| p.exists())
                .map(|p| p.display().to_string())
                .collect()
        })
        .unwrap_or_default();
    assert!(cgroups.is_empty(), "cgroups left: {cgroups:?}");
}
