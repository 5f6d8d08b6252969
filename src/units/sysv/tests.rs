//! Table-driven tests of `units::sysv`. The expected unit texts are what Debian 12's own
//! systemd-sysv-generator (systemd 252.38) wrote for the same scripts, with SourcePath moved to
//! `/etc/init.d`; see scan.rs for the whole-image runs.

use super::*;
use crate::units::service::ServiceUnit;
use crate::units::specifiers::Context;
use crate::units::syntax::UnitFile;

mod scan;

/// Debian's rsyslog header (Description continued by `#` and spaces; `force-reload` is no
/// `reload`).
pub(super) const SYSLOG: &str = "#! /bin/sh\n### BEGIN INIT INFO\n# Provides:          zsyslog\n\
# Required-Start:    $remote_fs $time\n# Required-Stop:     umountnfs $time\n\
# X-Stop-After:      sendsigs\n# Default-Start:     2 3 4 5\n# Default-Stop:      0 1 6\n\
# Short-Description: enhanced syslogd\n\
# Description:       Rsyslog is an enhanced multi-threaded syslogd.\n\
#                    It is quite compatible to stock sysklogd and can be\n\
#                    used as a drop-in replacement.\n### END INIT INFO\n\ncase \"$1\" in\n  *)\n\
\techo \"Usage: /etc/init.d/rsyslog {start|stop|rotate|restart|force-reload|status}\"\n\texit 3\n\
\t;;\nesac\n";

/// A vendor application: `$remote_fs $syslog $network`, a Provides alias and facility,
/// X-Start-Before, a `%` in the description, and a Usage line with reload.
pub(super) const VENDOR: &str = "#!/bin/sh\n### BEGIN INIT INFO\n\
# Provides:          zvendor vendor-api $vendor\n\
# Required-Start:    $remote_fs $syslog $network\n# Required-Stop:     $remote_fs $syslog\n\
# Should-Start:      postgresql zsyslog\n# X-Start-Before:    nginx\n\
# Default-Start:     2 3 4 5\n# Default-Stop:      0 1 6\n# X-Interactive:     true\n\
# Short-Description: Vendor API server (100% uptime)\n### END INIT INFO\n\
. /lib/lsb/init-functions\ncase \"$1\" in\n\
  *) echo \"Usage: $0 {start|stop|restart|reload|status}\" >&2; exit 1 ;;\nesac\n";

pub(super) const BARE: &str =
    "#!/bin/sh\n# a script with no header at all\n/usr/bin/zbare --daemon\n";

/// Red Hat chkconfig style: `# description:` continued by `\`, `# pidfile:`, and a Usage line
/// continued onto a line that has no `|reload` pattern.
pub(super) const REDHAT: &str = "#!/bin/bash\n#\n# chkconfig: 2345 55 25\n\
# description: An old Red Hat style \\\n#              service script\n\
# pidfile: /var/run/zrh.pid\necho $\"Usage: $0 {start|stop|status|restart|condrestart|\\\n\
reload}\"\n";

fn words(header: &LsbHeader, keyword: Keyword) -> Vec<&str> {
    header.words(keyword)
}

#[test]
fn parse_lsb_fixtures() {
    // LSB Core 4.1, "Comment Conventions for Init Scripts", as the generator reads them.
    let h = parse_lsb(SYSLOG);
    assert!(h.has_lsb && !h.supports_reload && !h.interactive);
    assert_eq!(words(&h, Keyword::Provides), ["zsyslog"]);
    assert_eq!(words(&h, Keyword::RequiredStart), ["$remote_fs", "$time"]);
    assert_eq!(words(&h, Keyword::RequiredStop), ["umountnfs", "$time"]);
    assert_eq!(words(&h, Keyword::XStopAfter), ["sendsigs"]);
    assert_eq!(words(&h, Keyword::DefaultStart), ["2", "3", "4", "5"]);
    assert_eq!(words(&h, Keyword::DefaultStop), ["0", "1", "6"]);
    assert_eq!(h.short_description.as_deref(), Some("enhanced syslogd"));
    assert_eq!(
        h.description.as_deref(),
        Some(
            "Rsyslog is an enhanced multi-threaded syslogd. It is quite compatible to stock \
             sysklogd and can be used as a drop-in replacement."
        )
    );
    assert_eq!(
        h.unit_description().as_deref(),
        Some("LSB: enhanced syslogd")
    );
    assert_eq!(h.fields[0].line, 3);

    let h = parse_lsb(VENDOR);
    assert!(h.has_lsb && h.supports_reload && h.interactive);
    assert_eq!(words(&h, Keyword::XStartBefore), ["nginx"]);
    assert_eq!(words(&h, Keyword::ShouldStart), ["postgresql", "zsyslog"]);

    let h = parse_lsb(BARE);
    assert_eq!(h, LsbHeader::default());
    assert_eq!(h.unit_description(), None);

    let h = parse_lsb(REDHAT);
    assert!(!h.has_lsb && !h.supports_reload);
    assert_eq!(
        h.unit_description().as_deref(),
        Some("SYSV: An old Red Hat style service script")
    );
    assert_eq!(h.pid_file.as_deref(), Some("/var/run/zrh.pid"));
}

#[test]
fn parse_lsb_rules() {
    type Check = fn(&LsbHeader) -> bool;
    let cases: &[(&str, &str, Check)] = &[
        (
            "continuation needs # and a tab or two spaces",
            "### BEGIN INIT INFO\n# Description: one\n#  two\n#\tthree\n# four\n#  five\n\
             ### END INIT INFO\n",
            |h| h.description.as_deref() == Some("one two three"),
        ),
        (
            "keywords are case-insensitive",
            "### BEGIN INIT INFO\n# provides: a\n# REQUIRED-START: b\n### END INIT INFO\n",
            |h| h.words(Keyword::Provides) == ["a"] && h.words(Keyword::RequiredStart) == ["b"],
        ),
        (
            "keywords outside the block are not read",
            "# Provides: a\n### BEGIN INIT INFO\n### END INIT INFO\n# Provides: b\n",
            |h| h.has_lsb && h.fields.is_empty(),
        ),
        (
            "lines repeat: lists add up, descriptions replace",
            "### BEGIN INIT INFO\n# Provides: a\n# Provides: b\n# Short-Description: x\n\
             # Short-Description: y\n### END INIT INFO\n",
            |h| {
                h.words(Keyword::Provides) == ["a", "b"]
                    && h.unit_description().as_deref() == Some("LSB: y")
            },
        ),
        (
            "an unterminated block still counts",
            "### BEGIN INIT INFO\n# Provides: a\n",
            |h| h.has_lsb && h.words(Keyword::Provides) == ["a"],
        ),
        (
            "empty descriptions are none; the long one is used without a short one",
            "### BEGIN INIT INFO\n# Short-Description:\n# Description: long\n### END INIT INFO\n",
            |h| h.unit_description().as_deref() == Some("LSB: long"),
        ),
        (
            "Red Hat description wins over the long one",
            "# description: rh\n### BEGIN INIT INFO\n# Description: long\n### END INIT INFO\n",
            |h| h.unit_description().as_deref() == Some("LSB: rh"),
        ),
        (
            "reload patterns",
            "echo \"USAGE: $0 {reload|stop}\"\n",
            |h| h.supports_reload,
        ),
        (
            "a usage line continued by a backslash",
            "echo \"Usage: $0 {start|stop\\\n|reload}\"\n",
            |h| h.supports_reload,
        ),
        (
            "reload without the Usage word is not read",
            "case $1 in start|reload|stop) ;; esac\n",
            |h| !h.supports_reload,
        ),
        (
            "a relative pidfile is a warning",
            "# pidfile: run/x.pid\n",
            |h| {
                h.pid_file.is_none()
                    && h.warnings
                        == [HeaderWarning::PidFileNotAbsolute {
                            line: 1,
                            path: "run/x.pid".into(),
                        }]
            },
        ),
        (
            "quoted words",
            "### BEGIN INIT INFO\n# Required-Start: \"a\" 'b'\n### END INIT INFO\n",
            |h| h.words(Keyword::RequiredStart) == ["a", "b"],
        ),
        ("not UTF-8 safe text is fine", "\u{fffd}\n#\n", |h| {
            !h.has_lsb
        }),
    ];
    for (what, text, check) in cases {
        let header = parse_lsb(text);
        assert!(check(&header), "{what}: {header:#?}");
    }
}

#[test]
fn facility_table() {
    // sysv_translate_facility(): the LSB facilities, `$other` as a target, names as services,
    // the script's own name (with or without .sh) as nothing.
    use Facility::{Invalid, Nothing, Unit};
    let unit = |s: &str| Unit(s.to_owned());
    let cases: &[(&str, &str, Facility)] = &[
        ("$local_fs", "foo", Nothing),
        ("$syslog", "foo", Nothing),
        ("$network", "foo", unit("network-online.target")),
        ("network", "foo", unit("network-online.target")),
        ("$named", "foo", unit("nss-lookup.target")),
        ("$portmap", "foo", unit("rpcbind.target")),
        ("$remote_fs", "foo", unit("remote-fs.target")),
        ("$time", "foo", unit("time-sync.target")),
        ("$all", "foo", unit("all.target")),
        (
            "$x-display-manager",
            "foo",
            unit("x-display-manager.target"),
        ),
        ("$bad@name", "foo", Invalid("$bad@name".into())),
        ("postgresql", "foo", unit("postgresql.service")),
        ("mountall.sh", "foo", unit("mountall.service")),
        ("foo", "foo", Nothing),
        ("foo", "foo.sh", Nothing),
        ("other.target", "foo", unit("other.target")),
    ];
    for (word, script, want) in cases {
        assert_eq!(facility(word, script), *want, "{word} in {script}");
    }
}

#[test]
fn unit_name_table() {
    // sysv_translate_name(): `.sh` removed, then unit_name_mangle().
    let cases: &[(&str, &str)] = &[
        ("rsyslog", "rsyslog.service"),
        ("hwclock.sh", "hwclock.service"),
        ("foo.bar", "foo.bar.service"),
        ("a b", "a\\x20b.service"),
        ("x.target", "x.target"),
        ("getty@tty1", "getty@tty1.service"),
    ];
    for (script, want) in cases {
        assert_eq!(unit_name(script), *want, "{script}");
    }
}

#[test]
fn dependencies_of_vendor() {
    // handle_provides(): a target provided is Before= and Wants=; a service name is an alias.
    // handle_dependencies(): network-online.target is also Wants=.
    let deps = dependencies(&parse_lsb(VENDOR), "zvendor");
    assert_eq!(deps.aliases, ["vendor-api.service"]);
    assert_eq!(deps.before, ["vendor.target", "nginx.service"]);
    assert_eq!(
        deps.after,
        [
            "remote-fs.target",
            "network-online.target",
            "postgresql.service",
            "zsyslog.service"
        ]
    );
    assert_eq!(deps.wants, ["vendor.target", "network-online.target"]);
    let deps = dependencies(
        &parse_lsb("### BEGIN INIT INFO\n# Provides: $network\n"),
        "n",
    );
    assert_eq!(deps.before, ["network-online.target", "network.target"]);
    assert_eq!(deps.wants, ["network-online.target", "network.target"]);
}

/// Loads `text` as systemd would load the generated unit.
pub(super) fn load(name: &str, text: &str) -> ServiceUnit {
    let file = UnitFile::parse(text).expect("generated text parses");
    assert!(file.warnings().is_empty(), "{:?}", file.warnings());
    ServiceUnit::from_file(&file, &Context::system(name, "box")).expect("generated unit loads")
}

#[test]
fn generated_units_load_without_warnings() {
    use crate::units::service::{KillMode, Restart, ServiceType};
    use std::path::Path;
    let enabled = Enablement {
        rc_targets: vec!["multi-user.target".into()],
        ..Enablement::default()
    };
    for (script, text) in [("zvendor", VENDOR), ("zbare.sh", BARE), ("zrh", REDHAT)] {
        let path = Path::new("/etc/init.d").join(script);
        let header = parse_lsb(text);
        let unit = load("x.service", &generate(&path, &header, &enabled));
        assert!(unit.warnings.is_empty(), "{script}: {:?}", unit.warnings);
        let s = &unit.service;
        assert_eq!(s.kind, ServiceType::Forking);
        assert_eq!(s.restart, Restart::No);
        assert_eq!(s.kill_mode, KillMode::Process);
        assert_eq!(s.timeout_start, Some(std::time::Duration::from_secs(300)));
        assert!(!s.guess_main_pid && !s.ignore_sigpipe);
        assert_eq!(s.remain_after_exit, header.pid_file.is_none());
        assert_eq!(s.exec_start[0].args, [path.to_str().unwrap_or(""), "start"]);
        assert_eq!(s.exec_stop[0].args, [path.to_str().unwrap_or(""), "stop"]);
        assert_eq!(s.exec_reload.len(), usize::from(header.supports_reload));
        assert_eq!(unit.unit.source_path.as_deref(), path.to_str());
        assert_eq!(unit.unit.before[0], "multi-user.target");
    }
    // The `%` of the description comes back as written.
    let unit = load(
        "zvendor.service",
        &generate(
            Path::new("/etc/init.d/zvendor"),
            &parse_lsb(VENDOR),
            &enabled,
        ),
    );
    assert_eq!(
        unit.unit.description.as_deref(),
        Some("LSB: Vendor API server (100%% uptime)")
    );
}
