//! Dependencies between units (.wants/.requires, default.target, pulled_in), the
//! list-unit-files states, and the host's own layout.

use std::path::Path;

use super::{Root, ETC, RUN, SVC, USR};
use crate::units::discovery::Loader;

// systemd.unit(5), "Description": units symlinked from NAME.wants/ and NAME.requires/ become
// Wants= and Requires= dependencies; a template link in a template's .wants/ takes the
// instance. Links to /dev/null hide the name, plain files are not links and are ignored.
#[test]
fn wants_and_requires_dirs() {
    let root = Root::new("wants");
    root.file(&format!("{USR}/multi-user.target"), "[Unit]\n")
        .file(&format!("{USR}/a.service"), SVC)
        .link(
            &format!("{ETC}/multi-user.target.wants/a.service"),
            "/lib/systemd/system/a.service",
        )
        .link(
            &format!("{USR}/multi-user.target.wants/b.service"),
            "../b.service",
        )
        .link(
            &format!("{USR}/multi-user.target.wants/c.service"),
            "../c.service",
        )
        .link(
            &format!("{ETC}/multi-user.target.wants/c.service"),
            "/dev/null",
        )
        .file(&format!("{ETC}/multi-user.target.wants/plain.service"), SVC)
        .link(
            &format!("{RUN}/multi-user.target.requires/r.service"),
            "/lib/systemd/system/r.service",
        )
        .file(&format!("{USR}/s@.target"), "[Unit]\n")
        .link(
            &format!("{USR}/s@.target.wants/x@.service"),
            "../x@.service",
        )
        .link(
            &format!("{USR}/s@.target.wants/y@1.service"),
            "../y@.service",
        );
    let target = root.find("multi-user.target");
    assert_eq!(target.wants, ["a.service", "b.service"]);
    assert_eq!(target.requires, ["r.service"]);
    assert_eq!(
        root.find("s@7.target").wants,
        ["x@7.service", "y@1.service"]
    );
    assert_eq!(root.find("s@.target").wants, ["y@1.service"]);
}

// systemd.unit(5), "Description": default.target is commonly aliased to multi-user.target or
// graphical.target; without one we boot multi-user.target (as the issue asks).
#[test]
fn default_target() {
    let cases: &[(&str, Option<&str>, &str)] = &[
        ("absent", None, "multi-user.target"),
        ("graphical", Some("graphical.target"), "graphical.target"),
        (
            "absolute",
            Some("/lib/systemd/system/multi-user.target"),
            "multi-user.target",
        ),
        ("masked", Some("/dev/null"), "multi-user.target"),
    ];
    for (label, link, want) in cases {
        let root = Root::new("default");
        root.file(&format!("{USR}/multi-user.target"), "[Unit]\n")
            .file(&format!("{USR}/graphical.target"), "[Unit]\n");
        if let Some(link) = link {
            root.link(&format!("{ETC}/default.target"), link);
        }
        assert_eq!(
            root.loader().default_target().expect("default"),
            *want,
            "{label}"
        );
    }
}

// systemd.unit(5), "[Unit] Section Options": Wants=, Requires= (and BindsTo=, a stronger
// Requires=) pull units in, from the unit file, its drop-ins and its .wants/.requires links;
// missing and masked units are not started.
#[test]
fn pulled_in_transitively() {
    let root = Root::new("pulled");
    root.link(
        &format!("{ETC}/default.target"),
        "/lib/systemd/system/graphical.target",
    )
    .file(
        &format!("{USR}/graphical.target"),
        "[Unit]\nRequires=multi-user.target\nWants=display.service\n",
    )
    .file(
        &format!("{USR}/multi-user.target"),
        "[Unit]\nRequires=basic.target\n",
    )
    .file(&format!("{USR}/basic.target"), "[Unit]\n")
    .link(
        &format!("{ETC}/multi-user.target.wants/a.service"),
        "/lib/systemd/system/a.service",
    )
    .file(
        &format!("{USR}/a.service"),
        "[Unit]\nWants=b.service missing.service\n[Service]\n",
    )
    .file(
        &format!("{USR}/b.service"),
        "[Unit]\nRequires=c.service \\\n  cycle.service\n",
    )
    .file(&format!("{USR}/c.service"), SVC)
    .file(&format!("{USR}/cycle.service"), "[Unit]\nWants=a.service\n")
    .file(
        &format!("{ETC}/b.service.d/10-more.conf"),
        "[Unit]\nBindsTo=e@%p.service\n",
    )
    .file(&format!("{USR}/e@.service"), SVC)
    .link(&format!("{USR}/alias.service"), "c.service")
    .file(
        &format!("{USR}/basic.target.d/x.conf"),
        "[Unit]\nWants=alias.service masked.service\n",
    )
    .file(&format!("{USR}/masked.service"), "")
    .file(&format!("{USR}/unrelated.service"), SVC);
    let loader = root.loader();
    let default = loader.default_target().expect("default");
    let want = [
        "a.service",
        "b.service",
        "basic.target",
        "c.service",
        "cycle.service",
        "e@b.service",
        "multi-user.target",
    ];
    assert_eq!(loader.pulled_in(&default).expect("pulled in"), want);
    assert_eq!(
        loader.pulled_in("c.service").expect("leaf"),
        Vec::<String>::new()
    );
    assert_eq!(
        loader.pulled_in("nothing.target").expect("absent"),
        Vec::<String>::new()
    );
}

// systemctl(1), is-enabled, Table 2: the states of list-unit-files. The expected column is what
// systemd 252's `systemctl --root=DIR list-unit-files` printed for this same tree.
#[test]
fn list_unit_file_states() {
    let root = Root::new("list");
    let wanted = "[Service]\nExecStart=/bin/a\n[Install]\nWantedBy=multi-user.target\n";
    root.file(&format!("{USR}/multi-user.target"), "[Unit]\n")
        .file(&format!("{USR}/a.service"), wanted)
        .link(
            &format!("{ETC}/multi-user.target.wants/a.service"),
            "/usr/lib/systemd/system/a.service",
        )
        .file(&format!("{USR}/b.service"), wanted)
        .link(&format!("{ETC}/b2.service"), "/dev/null")
        .file(&format!("{USR}/c.service"), SVC)
        .link(
            &format!("{USR}/multi-user.target.wants/c.service"),
            "../c.service",
        )
        .file(&format!("{USR}/d.service"), wanted)
        .link(
            &format!("{USR}/multi-user.target.wants/d.service"),
            "../d.service",
        )
        .file(&format!("{USR}/e.service"), wanted)
        .link(
            &format!("{RUN}/multi-user.target.wants/e.service"),
            "/usr/lib/systemd/system/e.service",
        )
        .file(&format!("{USR}/empty.service"), "")
        .file(
            &format!("{USR}/al.service"),
            "[Install]\nAlias=aa.service\n",
        )
        .link(&format!("{USR}/aa.service"), "al.service")
        .file(
            &format!("{USR}/al2.service"),
            "[Install]\nAlias=bb.service\n",
        )
        .link(
            &format!("{ETC}/bb.service"),
            "/usr/lib/systemd/system/al2.service",
        )
        .file(
            &format!("{USR}/also.service"),
            "[Install]\nAlso=a.service\n",
        )
        .file(&format!("{USR}/x@.service"), wanted)
        .link(
            &format!("{ETC}/multi-user.target.wants/x@1.service"),
            "/usr/lib/systemd/system/x@.service",
        )
        .file(
            &format!("{USR}/z@.service"),
            &format!("{wanted}DefaultInstance=1\n"),
        )
        .link(
            &format!("{ETC}/multi-user.target.wants/z@1.service"),
            "/usr/lib/systemd/system/z@.service",
        )
        .file(
            &format!("{USR}/emptyinst.service"),
            "[Service]\n[Install]\n",
        )
        .file(&format!("{USR}/over.service"), wanted)
        .file(&format!("{ETC}/over.service"), SVC)
        .link(&format!("{RUN}/rm.service"), "/dev/null")
        .file("/opt/l.service", SVC)
        .link(&format!("{ETC}/l.service"), "/opt/l.service");
    let got: Vec<(String, &str)> = root
        .loader()
        .list()
        .expect("list")
        .into_iter()
        .map(|u| (u.name, u.state.as_str()))
        .collect();
    let want = [
        ("a.service", "enabled"),
        ("aa.service", "alias"),
        ("al.service", "disabled"),
        ("al2.service", "enabled"),
        ("also.service", "indirect"),
        ("b.service", "disabled"),
        ("b2.service", "masked"),
        ("bb.service", "alias"),
        ("c.service", "static"),
        ("d.service", "disabled"),
        ("e.service", "enabled-runtime"),
        ("empty.service", "masked"),
        ("emptyinst.service", "static"),
        ("l.service", "linked"),
        ("over.service", "static"),
        ("rm.service", "masked-runtime"),
        ("x@.service", "indirect"),
        ("z@.service", "enabled"),
        ("multi-user.target", "static"),
    ];
    let want: Vec<(String, &str)> = want.iter().map(|(n, s)| (n.to_string(), *s)).collect();
    assert_eq!(got, want);
}

// systemd.unit(5), "Unit File Load Path", on the host's own Debian layout (/lib -> usr/lib):
// a unit the host has is found, listed once, and the default target pulls units in.
#[test]
fn host_debian_layout() {
    let dir = Path::new("/lib/systemd/system");
    let pick = [
        "cron.service",
        "ssh.service",
        "getty@.service",
        "multi-user.target",
    ]
    .into_iter()
    .find(|name| dir.join(name).is_file());
    let Some(name) = pick else {
        println!(
            "note: no systemd units under {} on this host; skipped",
            dir.display()
        );
        return;
    };
    let loader = Loader::new("/").expect("loader on /");
    let asked = name.replace("@.", "@tty1.");
    let found = loader
        .find(&asked)
        .expect("find")
        .expect("the host's unit is found");
    assert!(found.path.is_file(), "{}", found.path.display());
    let list = loader.list().expect("list");
    let copies = list.iter().filter(|u| u.name == name).count();
    assert_eq!(
        copies, 1,
        "{name} listed once although /lib and /usr/lib are one directory"
    );
    let default = loader.default_target().expect("default target");
    let pulled = loader.pulled_in(&default).expect("pulled in");
    assert!(!pulled.contains(&default));
}
