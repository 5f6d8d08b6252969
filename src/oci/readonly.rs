//! `oci inject` on a bundle whose rootfs is read-only (`root.readonly: true`, as
//! `runc spec` and `crun spec` write it): what rich mode and the requested presets must
//! write gets a tmpfs, unless a mount of the spec already covers it. The pure part: the
//! rootfs is seen only through `has_dir`.
//!
//! - rich mode's own files (`/run/rich-init/env`, `/run/rich-init/control.sock`, and
//!   sshd's `/run/sshd`): a tmpfs at `/run`, which is volatile on every system anyway;
//! - each preset's writable paths (initscripts/*.toml): a tmpfs each, with one warning
//!   that what is written there does not persist;
//! - the profile hook (`/etc/profile.d/rich-init-env.sh`): turned off with
//!   `--profile-hook ''` unless a mount covers /etc/profile.d, since /etc stays
//!   read-only.

use serde_json::{json, Value};

/// A path a preset must be able to write.
struct Need {
    preset: &'static str,
    path: &'static str,
    /// What writes there, for the warning.
    what: &'static str,
    /// Nothing is written when this directory is already in the rootfs.
    unless_dir: Option<&'static str>,
}

/// From initscripts/: busybox crond runs `mkdir -p /var/spool/cron/crontabs` (Debian's
/// cron package ships that directory); busybox syslogd writes /var/log/messages and
/// rsyslog /var/log/syslog; sshd's /run/sshd lies under /run.
const NEEDS: [Need; 3] = [
    Need {
        preset: "crond",
        path: "/var/spool/cron",
        what: "crond's crontabs (/var/spool/cron/crontabs)",
        unless_dir: Some("/var/spool/cron/crontabs"),
    },
    Need {
        preset: "syslogd",
        path: "/var/log",
        what: "syslogd's log files",
        unless_dir: None,
    },
    Need {
        preset: "sshd",
        path: "/run/sshd",
        what: "sshd's privilege-separation directory",
        unless_dir: None,
    },
];

/// sshd's preset runs `ssh-keygen -A`, which writes any missing host key into /etc/ssh.
const SSH_HOST_KEYS: [&str; 3] = [
    "/etc/ssh/ssh_host_rsa_key",
    "/etc/ssh/ssh_host_ecdsa_key",
    "/etc/ssh/ssh_host_ed25519_key",
];

/// What a read-only rootfs needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// tmpfs mounts to add, in order.
    pub mounts: Vec<Value>,
    /// Words for rich-init's command line, before `--services`.
    pub args: Vec<String>,
    /// One line each.
    pub warnings: Vec<String>,
}

pub fn is_readonly(config: &Value) -> bool {
    config
        .get("root")
        .and_then(|r| r.get("readonly"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// Whether a mount at `dest` covers `path` (is at it or above it).
fn covers(dest: &str, path: &str) -> bool {
    let dest = dest.trim_end_matches('/');
    dest.is_empty()
        || path == dest
        || path
            .strip_prefix(dest)
            .is_some_and(|rest| rest.starts_with('/'))
}

fn tmpfs(dest: &str) -> Value {
    json!({"destination": dest, "type": "tmpfs", "source": "tmpfs",
        "options": ["nosuid", "nodev", "mode=755"]})
}

/// The plan for `config` (without any injection of ours) and the presets `services`
/// (`crond,syslogd`); `has_file` says whether a path exists in the rootfs.
pub fn plan(config: &Value, services: Option<&str>, has_file: &dyn Fn(&str) -> bool) -> Plan {
    let mut plan = Plan::default();
    if !is_readonly(config) {
        return plan;
    }
    let mut dests: Vec<String> = config
        .get("mounts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| m.get("destination").and_then(Value::as_str))
        .map(String::from)
        .collect();
    let covered = |dests: &[String], path: &str| dests.iter().any(|d| covers(d, path));
    if !covered(&dests, "/run") {
        plan.mounts.push(tmpfs("/run"));
        dests.push("/run".into());
    }
    if !covered(&dests, "/etc/profile.d") {
        plan.args.extend(["--profile-hook".into(), String::new()]);
    }
    let presets: Vec<&str> = services
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    for need in NEEDS.iter().filter(|n| presets.contains(&n.preset)) {
        if covered(&dests, need.path) || need.unless_dir.is_some_and(has_file) {
            continue;
        }
        plan.mounts.push(tmpfs(need.path));
        dests.push(need.path.into());
        plan.warnings.push(format!(
            "warning: root.readonly is true, so {} ({}) gets a tmpfs: what is written there does not persist; mount a volume there, or set root.readonly to false",
            need.path, need.what
        ));
    }
    if presets.contains(&"sshd")
        && !covered(&dests, "/etc/ssh")
        && !SSH_HOST_KEYS.iter().all(|k| has_file(k))
    {
        plan.warnings.push(
            "warning: root.readonly is true and the rootfs lacks some of /etc/ssh/ssh_host_{rsa,ecdsa,ed25519}_key: the sshd preset's ssh-keygen -A cannot write them, and sshd will not start; put the host keys into the image, or mount a volume holding them at /etc/ssh".into(),
        );
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(readonly: Option<bool>, mounts: &[&str]) -> Value {
        let mut c = json!({"root": {"path": "rootfs"},
            "mounts": mounts.iter().map(|d| json!({"destination": d, "type": "bind"})).collect::<Vec<_>>()});
        if let Some(ro) = readonly {
            c["root"]["readonly"] = json!(ro);
        }
        c
    }

    #[test]
    fn covers_at_or_above() {
        for (dest, path, want) in [
            ("/run", "/run", true),
            ("/run/", "/run/sshd", true),
            ("/", "/var/log", true),
            ("/var", "/var/log", true),
            ("/var/log", "/var", false),
            ("/runner", "/run", false),
            ("/run", "/runner", false),
        ] {
            assert_eq!(covers(dest, path), want, "{dest} {path}");
        }
    }

    #[test]
    fn plans_tmpfs_mounts_and_warnings() {
        let dests = |p: &Plan| -> Vec<String> {
            p.mounts
                .iter()
                .map(|m| m["destination"].as_str().unwrap_or_default().to_string())
                .collect()
        };
        let nothing = |_: &str| false;
        let crontabs = |p: &str| p == "/var/spool/cron/crontabs";
        let keys = |p: &str| p.starts_with("/etc/ssh/ssh_host_");
        let off = ["--profile-hook".to_string(), String::new()];
        type Case<'a> = (
            Option<bool>,
            &'a [&'a str],
            Option<&'a str>,
            &'a dyn Fn(&str) -> bool,
            &'a [&'a str],
            bool,
            usize,
        );
        // (readonly, spec mounts, services, rootfs has, tmpfs at, profile hook off, warnings)
        let cases: &[Case] = &[
            (None, &[], Some("crond,syslogd"), &nothing, &[], false, 0),
            (
                Some(false),
                &[],
                Some("crond,syslogd"),
                &nothing,
                &[],
                false,
                0,
            ),
            (Some(true), &[], None, &nothing, &["/run"], true, 0),
            (Some(true), &["/run"], None, &nothing, &[], true, 0),
            (Some(true), &["/etc"], None, &nothing, &["/run"], false, 0),
            (
                Some(true),
                &["/proc", "/dev"],
                Some("crond,syslogd"),
                &nothing,
                &["/run", "/var/spool/cron", "/var/log"],
                true,
                2,
            ),
            // The image has the crontabs directory: crond only reads it.
            (
                Some(true),
                &[],
                Some("crond"),
                &crontabs,
                &["/run"],
                true,
                0,
            ),
            // A volume of the user's covers the path.
            (
                Some(true),
                &["/var"],
                Some(" syslogd ,crond"),
                &nothing,
                &["/run"],
                true,
                0,
            ),
            (
                Some(true),
                &["/var/log/"],
                Some("syslogd"),
                &nothing,
                &["/run"],
                true,
                0,
            ),
            // sshd: /run/sshd is under the /run tmpfs; host keys are the image's.
            (Some(true), &[], Some("sshd"), &keys, &["/run"], true, 0),
            (Some(true), &[], Some("sshd"), &nothing, &["/run"], true, 1),
            (
                Some(true),
                &["/run", "/etc/ssh"],
                Some("sshd"),
                &nothing,
                &[],
                true,
                0,
            ),
        ];
        for (ro, mounts, services, has, want, hook_off, warnings) in cases {
            let p = plan(&config(*ro, mounts), *services, has);
            let case = format!("{ro:?} {mounts:?} {services:?}: {p:?}");
            assert_eq!(dests(&p), *want, "{case}");
            assert_eq!(p.args == off, *hook_off, "{case}");
            assert_eq!(p.warnings.len(), *warnings, "{case}");
            for w in &p.warnings {
                assert!(!w.contains('\n') && w.starts_with("warning: "), "{w}");
            }
        }
    }

    #[test]
    fn a_warning_names_the_path_that_it_does_not_persist_and_the_fix() {
        let p = plan(&config(Some(true), &[]), Some("syslogd"), &|_| false);
        let w = &p.warnings[0];
        for part in [
            "/var/log",
            "does not persist",
            "mount a volume",
            "root.readonly to false",
        ] {
            assert!(w.contains(part), "{w}");
        }
        assert_eq!(
            p.mounts[1],
            json!({"destination": "/var/log", "type": "tmpfs", "source": "tmpfs",
                "options": ["nosuid", "nodev", "mode=755"]})
        );
    }
}
