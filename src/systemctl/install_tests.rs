//! enable, disable, mask, unmask, is-enabled and cat against small rootfs trees in a temp dir
//! (`/lib` a symlink to `usr/lib`, as on Debian 12).

use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Root(PathBuf);

impl Root {
    fn new(label: &str) -> Root {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "rich-init-sysctl-{label}-{}-{n}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("usr/lib/systemd/system")).expect("temp root");
        fs::create_dir_all(dir.join("etc/systemd/system")).expect("temp root");
        symlink("usr/lib", dir.join("lib")).expect("lib link");
        Root(dir)
    }

    fn file(&self, image: &str, text: &str) -> &Root {
        let path = host(&self.0, image);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, text).expect("write");
        self
    }

    fn link(&self, image: &str) -> Option<String> {
        fs::read_link(host(&self.0, image))
            .ok()
            .map(|t| t.display().to_string())
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn lines(changes: &[Change]) -> Vec<String> {
    changes.iter().map(Change::line).collect()
}

const NGINX: &str = "[Unit]\nDescription=web\n[Service]\nExecStart=/usr/sbin/nginx\n[Install]\nWantedBy=multi-user.target\nAlias=httpd.service\n";

#[test]
fn enable_then_disable() {
    let root = Root::new("enable");
    root.file("/lib/systemd/system/nginx.service", NGINX);
    let done = enable(&root.0, &names(&["nginx.service"])).expect("enable");
    assert_eq!(
        lines(&done.changes),
        [
            "Created symlink /etc/systemd/system/multi-user.target.wants/nginx.service → /lib/systemd/system/nginx.service.",
            "Created symlink /etc/systemd/system/httpd.service → /lib/systemd/system/nginx.service.",
        ]
    );
    assert!(!done.no_install_info);
    assert_eq!(
        root.link("/etc/systemd/system/multi-user.target.wants/nginx.service")
            .as_deref(),
        Some("/lib/systemd/system/nginx.service")
    );
    let (out, _, code) = is_enabled(&root.0, &names(&["nginx.service"]), false);
    assert_eq!((out.as_str(), code), ("enabled\n", 0));
    // Again: nothing to do, nothing printed.
    let again = enable(&root.0, &names(&["nginx.service"])).expect("enable again");
    assert!(again.changes.is_empty());

    let removed = disable(&root.0, &names(&["nginx.service"])).expect("disable");
    assert_eq!(
        lines(&removed),
        [
            "Removed \"/etc/systemd/system/httpd.service\".",
            "Removed \"/etc/systemd/system/multi-user.target.wants/nginx.service\".",
        ]
    );
    let (out, _, code) = is_enabled(&root.0, &names(&["nginx.service"]), false);
    assert_eq!((out.as_str(), code), ("disabled\n", 1));
    assert!(disable(&root.0, &names(&["nginx.service"]))
        .expect("again")
        .is_empty());
}

#[test]
fn enable_variants() {
    let root = Root::new("variants");
    root.file("/lib/systemd/system/helper.service", "[Service]\nExecStart=/bin/true\n")
        .file("/lib/systemd/system/a.service", "[Service]\nExecStart=/bin/true\n[Install]\nAlso=b.socket\nRequiredBy=x.target y.target\n")
        .file("/lib/systemd/system/b.socket", "[Socket]\nListenStream=1\n[Install]\nWantedBy=sockets.target\n")
        .file("/lib/systemd/system/getty@.service", "[Service]\nExecStart=/sbin/agetty\n[Install]\nWantedBy=getty.target\nDefaultInstance=tty1\n")
        .file("/lib/systemd/system/plain@.service", "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n")
        .file("/etc/systemd/system/local.service", "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=default.target\n");

    let done = enable(&root.0, &names(&["helper.service"])).expect("static");
    assert_eq!(
        done,
        Enabled {
            changes: vec![],
            no_install_info: true
        }
    );

    let done = enable(&root.0, &names(&["a.service"])).expect("also");
    assert_eq!(
        lines(&done.changes),
        [
            "Created symlink /etc/systemd/system/x.target.requires/a.service → /lib/systemd/system/a.service.",
            "Created symlink /etc/systemd/system/y.target.requires/a.service → /lib/systemd/system/a.service.",
            "Created symlink /etc/systemd/system/sockets.target.wants/b.socket → /lib/systemd/system/b.socket.",
        ]
    );

    let done =
        enable(&root.0, &names(&["getty@.service", "getty@tty2.service"])).expect("templates");
    let mut got = lines(&done.changes);
    got.sort();
    assert_eq!(
        got,
        [
            "Created symlink /etc/systemd/system/getty.target.wants/getty@tty1.service → /lib/systemd/system/getty@.service.",
            "Created symlink /etc/systemd/system/getty.target.wants/getty@tty2.service → /lib/systemd/system/getty@.service.",
        ]
    );
    let done = enable(&root.0, &names(&["plain@.service"])).expect("bare template");
    assert!(done.changes.is_empty() && done.no_install_info);

    let done = enable(&root.0, &names(&["local.service"])).expect("etc unit");
    assert_eq!(
        lines(&done.changes),
        ["Created symlink /etc/systemd/system/default.target.wants/local.service → /etc/systemd/system/local.service."]
    );

    let err = enable(&root.0, &names(&["nope.service"])).expect_err("missing");
    assert_eq!(err.to_string(), "Unit file nope.service does not exist.");
}

#[test]
fn mask_and_unmask() {
    let root = Root::new("mask");
    root.file("/lib/systemd/system/nginx.service", NGINX);
    let masked = mask(&root.0, &names(&["nginx.service"])).expect("mask");
    assert_eq!(
        lines(&masked),
        ["Created symlink /etc/systemd/system/nginx.service → /dev/null."]
    );
    let (out, _, code) = is_enabled(&root.0, &names(&["nginx.service"]), false);
    assert_eq!((out.as_str(), code), ("masked\n", 1));
    let err = enable(&root.0, &names(&["nginx.service"])).expect_err("masked");
    assert_eq!(
        err.to_string(),
        "Unit file /etc/systemd/system/nginx.service is masked."
    );
    assert!(mask(&root.0, &names(&["nginx.service"]))
        .expect("again")
        .is_empty());
    let unmasked = unmask(&root.0, &names(&["nginx.service"])).expect("unmask");
    assert_eq!(
        lines(&unmasked),
        ["Removed \"/etc/systemd/system/nginx.service\"."]
    );
    assert!(unmask(&root.0, &names(&["nginx.service"]))
        .expect("again")
        .is_empty());

    root.file(
        "/etc/systemd/system/real.service",
        "[Service]\nExecStart=/bin/true\n",
    );
    let err = mask(&root.0, &names(&["real.service"])).expect_err("file there");
    assert_eq!(
        err.to_string(),
        "File /etc/systemd/system/real.service already exists."
    );
}

#[test]
fn is_enabled_states() {
    let root = Root::new("isenabled");
    root.file(
        "/lib/systemd/system/helper.service",
        "[Service]\nExecStart=/bin/true\n",
    )
    .file("/lib/systemd/system/nginx.service", NGINX);
    let cases: Vec<(Vec<String>, bool, &str, &str, i32)> = vec![
        (names(&["helper.service"]), false, "static\n", "", 0),
        (names(&["nginx.service"]), false, "disabled\n", "", 1),
        (
            names(&["nginx.service", "helper.service"]),
            false,
            "disabled\nstatic\n",
            "",
            0,
        ),
        (names(&["nginx.service"]), true, "", "", 1),
        (
            names(&["nope.service"]),
            false,
            "",
            "Failed to get unit file state for nope.service: No such file or directory\n",
            1,
        ),
    ];
    for (units, quiet, out, err, code) in cases {
        assert_eq!(
            is_enabled(&root.0, &units, quiet),
            (out.to_string(), err.to_string(), code),
            "{units:?}"
        );
    }
}

#[test]
fn cat_files() {
    let root = Root::new("cat");
    root.file("/lib/systemd/system/nginx.service", NGINX)
        .file(
            "/etc/systemd/system/nginx.service.d/override.conf",
            "[Service]\nRestart=always",
        )
        .file(
            "/lib/systemd/system/b.service",
            "[Service]\nExecStart=/bin/b\n",
        );
    let text = cat(&root.0, &names(&["nginx.service", "b.service"])).expect("cat");
    let want = format!(
        "# /lib/systemd/system/nginx.service\n{NGINX}\n# /etc/systemd/system/nginx.service.d/override.conf\n[Service]\nRestart=always\n\n# /lib/systemd/system/b.service\n[Service]\nExecStart=/bin/b\n"
    );
    assert_eq!(text, want);
    let err = cat(&root.0, &names(&["nope.service"])).expect_err("missing");
    assert_eq!(err.to_string(), "Unit file nope.service does not exist.");
}
