//! `upgrade-helper` on the images that `make images` ships (images/rich-busybox/build):
//! rich-busybox:1 → :2 → :1 while it runs rich-init in rich mode with the crond and syslogd
//! services, in a netns with a volume, user env and labels. The old rich-init stops on its
//! stop signal (no SIGKILL needed), and the new one brings its services up again.

use crate::harness::{wait_for, TempDir};
use crate::upgrade_image::rich_busybox;
use crate::upgrade_rig::{env_value, process, Rig};

/// Wait until rich-init has both services running in `id`, found by name as a VM's O&M
/// finds them (`pidof`, which reads /proc/PID/comm: issue 13, finding 10).
fn wait_services(rig: &Rig, id: &str) {
    wait_for(&format!("crond and syslogd in {id}"), || {
        let found = rig.exec(
            id,
            &[
                "sh",
                "-c",
                "pidof crond >/dev/null && pidof syslogd >/dev/null && echo both; true",
            ],
        );
        (found.trim() == "both").then_some(())
    });
}

#[test]
fn rich_busybox_is_upgraded_and_back_with_its_services() {
    let work = TempDir::new("upgrade-rich");
    let images = rich_busybox(&work);
    let rig = Rig::with_images(work, images, &[]);
    let one = rig.images[0].clone();
    let two = rig.images[1].clone();
    assert_eq!(
        one.spec.entrypoint.first().map(String::as_str),
        Some("/sbin/rich-init"),
        "rich-busybox's ENTRYPOINT: {:?}",
        one.spec.entrypoint
    );

    rig.start(&rig.container(&one.spec.name, "rich"));
    wait_services(&rig, "rich");
    rig.exec(
        "rich",
        &["sh", "-c", "head -c 4096 /dev/urandom > /data/random"],
    );
    let random = std::fs::read(rig.volume("rich").join("random")).expect("read the volume file");

    for (from, to) in [(&one, &two), (&two, &one)] {
        let before = rig.assert_runs("rich", from);
        let out = rig.upgrade("rich", &to.spec.name, &[]);
        assert_eq!(
            out.code(),
            Some(0),
            "{} → {}\n{out}",
            from.spec.name,
            to.spec.name
        );
        assert!(
            !out.stderr.contains("SIGKILL"),
            "rich-init should stop on its stop signal\n{out}"
        );
        let after = rig.assert_runs("rich", to);
        assert_ne!(after.pid, before.pid);
        wait_services(&rig, "rich");

        let info = rig.info("rich");
        assert_eq!(info["Image"], to.spec.name.as_str(), "{info:#}");
        let (args, env, _) = process(&info);
        assert_eq!(args, to.spec.args(), "the image's args");
        assert_eq!(env_value(&env, "USER_VAR"), Some("mine"), "{env:?}");
        assert_eq!(env_value(&env, "MODE"), Some("custom"), "{env:?}");
        let labels = &info["Labels"];
        assert_eq!(labels["user.label"], "mine", "{labels:#}");
        assert_eq!(labels["org.opencontainers.image.title"], "rich-busybox");
        let now = std::fs::read(rig.volume("rich").join("random")).expect("read the volume");
        assert!(now == random, "the volume file changed");
        rig.assert_no_journal("rich");
        rig.assert_nothing_leaked();
    }
}
