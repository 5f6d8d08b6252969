//! The targets systemd itself ships (systemd.special(7)), for images that carry units but
//! not systemd: Debian's packages link their services into `multi-user.target.wants/` even
//! when no `multi-user.target` file exists. Only the dependency lines are kept; a target
//! file in the image wins over these.

/// (name, unit file text), as systemd v252's `units/` has them, less what concerns rescue,
/// emergency and shutdown handling (not part of a container's boot).
const TARGETS: &[(&str, &str)] = &[
    (
        "multi-user.target",
        "[Unit]\nDescription=Multi-User System\nDocumentation=man:systemd.special(7)\n\
         Requires=basic.target\nAfter=basic.target\n",
    ),
    (
        "graphical.target",
        "[Unit]\nDescription=Graphical Interface\nDocumentation=man:systemd.special(7)\n\
         Requires=multi-user.target\nAfter=multi-user.target\n",
    ),
    (
        "basic.target",
        "[Unit]\nDescription=Basic System\nDocumentation=man:systemd.special(7)\n\
         Requires=sysinit.target\n\
         Wants=sockets.target timers.target paths.target slices.target\n\
         After=sysinit.target sockets.target paths.target slices.target\n",
    ),
    (
        "sysinit.target",
        "[Unit]\nDescription=System Initialization\nDocumentation=man:systemd.special(7)\n\
         Wants=local-fs.target swap.target\nAfter=local-fs.target swap.target\n",
    ),
    (
        "local-fs.target",
        "[Unit]\nDescription=Local File Systems\nAfter=local-fs-pre.target\n",
    ),
    (
        "local-fs-pre.target",
        "[Unit]\nDescription=Preparation for Local File Systems\n",
    ),
    (
        "remote-fs.target",
        "[Unit]\nDescription=Remote File Systems\nAfter=remote-fs-pre.target\n",
    ),
    (
        "remote-fs-pre.target",
        "[Unit]\nDescription=Preparation for Remote File Systems\n",
    ),
    (
        "network.target",
        "[Unit]\nDescription=Network\nAfter=network-pre.target\n",
    ),
    (
        "network-pre.target",
        "[Unit]\nDescription=Preparation for Network\n",
    ),
    (
        "network-online.target",
        "[Unit]\nDescription=Network is Online\nRequires=network.target\nAfter=network.target\n",
    ),
    (
        "nss-lookup.target",
        "[Unit]\nDescription=Host and Network Name Lookups\n",
    ),
    (
        "nss-user-lookup.target",
        "[Unit]\nDescription=User and Group Name Lookups\n",
    ),
    ("time-set.target", "[Unit]\nDescription=System Time Set\n"),
    (
        "time-sync.target",
        "[Unit]\nDescription=System Time Synchronized\nAfter=time-set.target\n",
    ),
    ("sockets.target", "[Unit]\nDescription=Sockets\n"),
    ("timers.target", "[Unit]\nDescription=Timers\n"),
    ("paths.target", "[Unit]\nDescription=Path Units\n"),
    ("slices.target", "[Unit]\nDescription=Slice Units\n"),
    ("swap.target", "[Unit]\nDescription=Swaps\n"),
    ("getty.target", "[Unit]\nDescription=Login Prompts\n"),
    ("rpcbind.target", "[Unit]\nDescription=RPC Port Mapper\n"),
];

/// The built-in text of `name`, when systemd ships such a target.
pub fn text(name: &str) -> Option<&'static str> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::syntax::UnitFile;

    #[test]
    fn every_builtin_parses_without_warnings() {
        for (name, text) in TARGETS {
            let file = UnitFile::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(file.warnings().is_empty(), "{name}");
            assert!(file.get("Unit", "Description").is_some(), "{name}");
        }
        assert!(text("multi-user.target").is_some_and(|t| t.contains("Requires=basic.target")));
        assert_eq!(text("ssh.service"), None);
    }
}
