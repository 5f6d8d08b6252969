//! Discovery against small rootfs trees built in a temp dir, and once against the host's own
//! Debian layout when it has one.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

mod deps;

const ETC: &str = "/etc/systemd/system";
const RUN: &str = "/run/systemd/system";
const USR: &str = "/usr/lib/systemd/system";

/// A rootfs in the temp dir, removed on drop. `/lib` is a symlink to `usr/lib`, as on
/// Debian 12.
struct Root(PathBuf);

impl Root {
    fn new(label: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "rich-init-unitdisc-{label}-{}-{n}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("usr/lib")).expect("temp root");
        symlink("usr/lib", dir.join("lib")).expect("lib link");
        Root(dir)
    }

    fn host(&self, image: &str) -> PathBuf {
        self.0.join(image.trim_start_matches('/'))
    }

    fn file(&self, image: &str, text: &str) -> &Self {
        let path = self.host(image);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, text).expect("write");
        self
    }

    fn link(&self, image: &str, target: &str) -> &Self {
        let path = self.host(image);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        symlink(target, path).expect("symlink");
        self
    }

    fn loader(&self) -> Loader {
        Loader::new(&self.0).expect("loader")
    }

    fn find(&self, name: &str) -> Found {
        self.loader()
            .find(name)
            .expect("find")
            .unwrap_or_else(|| panic!("{name} not found"))
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

const SVC: &str = "[Service]\nExecStart=/bin/true\n";

/// The image paths of host paths under `root`, for readable assertions.
fn image(root: &Root, paths: &[PathBuf]) -> Vec<String> {
    let strip = |p: &PathBuf| {
        format!(
            "/{}",
            p.strip_prefix(&root.0).expect("under root").display()
        )
    };
    paths.iter().map(strip).collect()
}

// systemd.unit(5), "Unit File Load Path": files in directories listed earlier override files
// with the same name in directories lower in the list (/etc, /run, /lib = /usr/lib).
#[test]
fn load_path_precedence() {
    let cases: &[(&[&str], &str)] = &[
        (&[USR], USR),
        (&[USR, RUN], RUN),
        (&[USR, RUN, ETC], ETC),
        (&[USR, ETC], ETC),
        (&["/lib/systemd/system"], USR),
    ];
    for (dirs, want) in cases {
        let root = Root::new("precedence");
        for dir in *dirs {
            root.file(&format!("{dir}/a.service"), SVC);
        }
        let found = root.find("a.service");
        assert_eq!(
            image(&root, &[found.path]),
            [format!("{want}/a.service")],
            "{dirs:?}"
        );
    }
}

// systemd.unit(5), "Unit File Load Path": /lib merged into /usr/lib is one directory, so a unit
// is listed once.
#[test]
fn merged_lib_is_listed_once() {
    let root = Root::new("usrmerge");
    root.file(&format!("{USR}/a.service"), SVC);
    let names: Vec<String> = root
        .loader()
        .list()
        .expect("list")
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(names, ["a.service"]);
    assert!(root.loader().find("b.service").expect("find").is_none());
}

// systemd.unit(5), "Description": an alias is a symlink from the new name to the existing one;
// the unit is known under both names, and drop-ins and .wants/ of every name are read.
#[test]
fn aliases() {
    let root = Root::new("alias");
    root.file(&format!("{USR}/real.service"), SVC)
        .link(&format!("{USR}/dbus-org.x.service"), "real.service")
        .link(
            &format!("{ETC}/other.service"),
            "/lib/systemd/system/real.service",
        )
        .file(
            &format!("{ETC}/dbus-org.x.service.d/10-a.conf"),
            "[Service]\n",
        )
        .link(
            &format!("{ETC}/other.service.wants/w.service"),
            "/usr/lib/systemd/system/w.service",
        )
        .file(&format!("{USR}/w.service"), SVC);
    for asked in ["real.service", "dbus-org.x.service", "other.service"] {
        let found = root.find(asked);
        assert_eq!(found.name, "real.service", "{asked}");
        assert_eq!(
            found.aliases,
            ["dbus-org.x.service", "other.service"],
            "{asked}"
        );
        assert_eq!(image(&root, &[found.path]), [format!("{USR}/real.service")]);
        assert_eq!(
            image(&root, &found.dropins),
            [format!("{ETC}/dbus-org.x.service.d/10-a.conf")]
        );
        assert_eq!(found.wants, ["w.service"]);
    }
}

// systemd.unit(5), "Description": a unit file that is empty or symlinked to /dev/null is
// masked; a mask in /etc hides the file in /usr/lib; masking a template masks its instances.
#[test]
fn masks() {
    let cases: &[(&str, &str, bool)] = &[
        ("null-link", "a.service", true),
        ("empty", "b.service", true),
        ("template", "t@x.service", true),
        ("plain", "c.service", false),
    ];
    let root = Root::new("mask");
    root.file(&format!("{USR}/a.service"), SVC)
        .link(&format!("{ETC}/a.service"), "/dev/null")
        .file(&format!("{USR}/b.service"), "")
        .file(&format!("{USR}/t@.service"), SVC)
        .link(&format!("{RUN}/t@.service"), "/dev/null")
        .file(&format!("{USR}/c.service"), SVC);
    let loader = root.loader();
    for (label, name, masked) in cases {
        let found = loader.find(name).expect("find").expect("found");
        assert_eq!(found.masked, *masked, "{label}");
    }
}

// systemd.unit(5), "Description": foo@bar.service loads from foo@bar.service if it exists,
// else from foo@.service with instance "bar"; a template alias applies to every instance.
#[test]
fn templates_and_instances() {
    let root = Root::new("template");
    root.file(&format!("{USR}/getty@.service"), SVC)
        .link(&format!("{USR}/autovt@.service"), "getty@.service")
        .file(&format!("{ETC}/getty@tty9.service"), SVC);
    let found = root.find("getty@tty1.service");
    assert_eq!(found.instance.as_deref(), Some("tty1"));
    assert_eq!(
        image(&root, &[found.template.clone().expect("template")]),
        [format!("{USR}/getty@.service")]
    );
    assert_eq!(found.aliases, ["autovt@tty1.service"]);

    let via_alias = root.find("autovt@tty2.service");
    assert_eq!(
        (via_alias.name.as_str(), via_alias.instance.as_deref()),
        ("getty@tty2.service", Some("tty2"))
    );
    assert_eq!(via_alias.aliases, ["autovt@tty2.service"]);

    let own_file = root.find("getty@tty9.service");
    assert_eq!(
        (own_file.instance.as_deref(), own_file.template),
        (Some("tty9"), None)
    );
    assert_eq!(
        image(&root, &[own_file.path]),
        [format!("{ETC}/getty@tty9.service")]
    );

    assert!(root
        .loader()
        .find("nope@x.service")
        .expect("find")
        .is_none());
}

// systemd.unit(5), "Description": drop-ins of every directory are applied in lexicographic
// order of their file names, whatever their directory; /etc beats /run beats /lib on the same
// name; the instance's .d/ is read before the template's; foo-bar-.service.d/ before
// foo-.service.d/; the type-level service.d/ has the lowest precedence; a /dev/null link hides
// the name.
#[test]
fn dropin_order_and_override() {
    let root = Root::new("dropins");
    root.file(&format!("{USR}/foo-bar@.service"), SVC);
    for (dir, file) in [
        (USR, "foo-bar@x.service.d/10-a.conf"),
        (ETC, "foo-bar@x.service.d/10-a.conf"),
        (RUN, "foo-bar@.service.d/05-b.conf"),
        (USR, "foo-bar@.service.d/20-t.conf"),
        (ETC, "foo-bar@.service.d/10-a.conf"),
        (USR, "foo-.service.d/20-t.conf"),
        (USR, "foo-.service.d/30-dash.conf"),
        (ETC, "service.d/30-dash.conf"),
        (USR, "service.d/40-top.conf"),
        (USR, "service.d/50-gone.conf"),
        (ETC, "foo-bar@x.service.d/ignored.txt"),
    ] {
        root.file(&format!("{dir}/{file}"), "[Unit]\n");
    }
    root.link(&format!("{ETC}/service.d/50-gone.conf"), "/dev/null");
    let found = root.find("foo-bar@x.service");
    let want = [
        format!("{RUN}/foo-bar@.service.d/05-b.conf"),
        format!("{ETC}/foo-bar@x.service.d/10-a.conf"),
        format!("{USR}/foo-bar@.service.d/20-t.conf"),
        format!("{USR}/foo-.service.d/30-dash.conf"),
        format!("{USR}/service.d/40-top.conf"),
    ];
    assert_eq!(image(&root, &found.dropins), want);
}

// systemd.unit(5), "Unit File Load Path" read under a root: absolute symlinks in the image
// (`/lib -> /usr/lib`, a link to `/dev/null`) resolve inside the root, never on the host.
#[test]
fn symlinks_resolve_inside_the_root() {
    let root = Root::new("resolve");
    fs::remove_file(root.host("/lib")).expect("unlink lib");
    root.link("/lib", "/usr/lib")
        .file(&format!("{USR}/a.service"), SVC)
        .link("/etc/x/abs.service", "/lib/systemd/system/a.service")
        .link("/etc/x/rel.service", "../../lib/systemd/system/a.service")
        .link("/etc/x/loop.service", "/etc/x/loop.service");
    let cases: &[(&str, Option<&str>)] = &[
        ("/lib/systemd/system", Some(USR)),
        (
            "/etc/x/abs.service",
            Some("/usr/lib/systemd/system/a.service"),
        ),
        (
            "/etc/x/rel.service",
            Some("/usr/lib/systemd/system/a.service"),
        ),
        ("/etc/x/missing/deeper", Some("/etc/x/missing/deeper")),
        ("/etc/x/loop.service", None),
    ];
    for (path, want) in cases {
        let got = fsview::resolve(&root.0, Path::new(path)).ok();
        assert_eq!(got.as_deref(), want.map(Path::new), "{path}");
    }
    let found = root.find("a.service");
    assert_eq!(image(&root, &[found.path]), [format!("{USR}/a.service")]);
}
