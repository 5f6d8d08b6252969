//! Condition…= and Assert…= evaluated against the running container, as systemd.unit(5)
//! "Conditions and Asserts" says: every plain one must hold and, if there are triggering
//! (`|`) ones, at least one of those; `!` negates.

use crate::units::service::{Check, Condition};
use std::path::Path;

/// Whether `list` holds (an empty list does).
pub(crate) fn holds(list: &[Condition]) -> bool {
    let mut any_trigger = false;
    let mut trigger_held = false;
    for c in list {
        let result = check(c) != c.negate;
        if c.trigger {
            any_trigger = true;
            trigger_held |= result;
        } else if !result {
            return false;
        }
    }
    !any_trigger || trigger_held
}

fn check(c: &Condition) -> bool {
    let path = Path::new(&c.value);
    match c.check {
        Check::PathExists => path.exists(),
        Check::PathExistsGlob => glob_exists(&c.value),
        Check::PathIsDirectory => path.is_dir(),
        Check::PathIsSymbolicLink => path.symlink_metadata().is_ok_and(|m| m.is_symlink()),
        Check::FileNotEmpty => path.metadata().is_ok_and(|m| m.is_file() && m.len() > 0),
        Check::FileIsExecutable => {
            use std::os::unix::fs::PermissionsExt;
            path.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        }
        Check::DirectoryNotEmpty => std::fs::read_dir(path).is_ok_and(|mut d| d.next().is_some()),
        Check::Virtualization => virtualization_matches(&c.value, &detect_container()),
        Check::Capability => crate::sys::caps::number(&c.value.to_ascii_uppercase())
            .is_some_and(|n| super::own_caps().is_some_and(|(bnd, ..)| bnd & (1u64 << n) != 0)),
    }
}

/// The container technology as systemd-detect-virt(1) names it: pid 1's `container=`
/// variable (ours), else podman's and docker's marker files; `container-other` otherwise.
fn detect_container() -> String {
    if let Ok(v) = std::env::var("container") {
        if !v.is_empty() {
            return v;
        }
    }
    if Path::new("/run/.containerenv").exists() {
        return "podman".into();
    }
    if Path::new("/.dockerenv").exists() {
        return "docker".into();
    }
    "container-other".into()
}

/// ConditionVirtualization=: we are in a container, never in a VM.
fn virtualization_matches(value: &str, container: &str) -> bool {
    match value {
        "yes" | "true" | "1" | "container" => true,
        "no" | "false" | "0" | "vm" | "private-users" => false,
        name => name == container,
    }
}

/// Whether some path matches the glob (`*`, `?`, `[...]` in any component).
fn glob_exists(pattern: &str) -> bool {
    let mut found = vec![std::path::PathBuf::from("/")];
    for part in pattern.split('/').filter(|p| !p.is_empty()) {
        let mut next = Vec::new();
        for dir in &found {
            if part.contains(['*', '?', '[']) {
                if let Ok(entries) = std::fs::read_dir(dir) {
                    for e in entries.flatten() {
                        let name = e.file_name().to_string_lossy().into_owned();
                        if crate::systemctl::args::glob_match(part, &name) {
                            next.push(dir.join(name));
                        }
                    }
                }
            } else {
                let p = dir.join(part);
                if p.symlink_metadata().is_ok() {
                    next.push(p);
                }
            }
        }
        found = next;
        if found.is_empty() {
            return false;
        }
    }
    !found.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(check: Check, value: &str, trigger: bool, negate: bool) -> Condition {
        Condition {
            check,
            trigger,
            negate,
            value: value.into(),
        }
    }

    #[test]
    fn conditions_as_systemd_unit_5_combines_them() {
        use Check::*;
        let cases: &[(&[Condition], bool)] = &[
            (&[], true),
            (&[c(PathExists, "/proc/self", false, false)], true),
            (&[c(PathExists, "/no/such", false, false)], false),
            (&[c(PathExists, "/no/such", false, true)], true),
            // Triggering: one of them is enough, but the plain ones must all hold.
            (
                &[
                    c(PathExists, "/no/such", true, false),
                    c(PathIsDirectory, "/proc", true, false),
                ],
                true,
            ),
            (
                &[
                    c(PathExists, "/no/such", true, false),
                    c(PathExists, "/no/other", true, false),
                ],
                false,
            ),
            (
                &[
                    c(PathIsDirectory, "/proc", true, false),
                    c(PathExists, "/no/such", false, false),
                ],
                false,
            ),
            (&[c(PathExistsGlob, "/proc/self/st*", false, false)], true),
            (
                &[c(PathExistsGlob, "/proc/self/nothing*", false, false)],
                false,
            ),
            (&[c(DirectoryNotEmpty, "/proc", false, false)], true),
            (
                &[c(FileIsExecutable, "/proc/self/status", false, false)],
                false,
            ),
            (&[c(Virtualization, "container", false, false)], true),
            (&[c(Virtualization, "vm", false, false)], false),
            (&[c(Virtualization, "container", false, true)], false),
            (
                &[c(Capability, "CAP_NOT_A_CAPABILITY", false, false)],
                false,
            ),
            (&[c(Capability, "CAP_NOT_A_CAPABILITY", false, true)], true),
        ];
        for (list, want) in cases {
            assert_eq!(holds(list), *want, "{list:?}");
        }
    }

    #[test]
    fn virtualization_names() {
        assert!(virtualization_matches("docker", "docker"));
        assert!(!virtualization_matches("podman", "docker"));
        assert!(virtualization_matches("yes", "container-other"));
        assert!(!virtualization_matches("kvm", "docker"));
    }
}
