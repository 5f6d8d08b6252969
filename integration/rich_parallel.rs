//! Issue 14: parallel boot and what CMD waits for, as pid 1 of a runc container (with
//! runc's default capabilities: nothing here needs more).
//!
//! Each scenario is built so that a serial boot cannot get through it: the services
//! become ready only once all of them have started, and with `--cmd-after` a service
//! becomes ready only once CMD runs. The assertions are on what happened, never on how
//! long it took.

use crate::oci_rig::write_file as write;
use crate::runc::{Bundle, Container, Runtime, Spec};

/// `gate.sh NAME COUNT`: says it started, then waits (at most 30 s) until COUNT services
/// have, and only then makes itself ready.
const GATE: &str = r#"#!/bin/sh
bb=/bin/busybox
: > /shared/started.$1
i=0
until [ "$($bb ls /shared | $bb grep -c '^started\.')" -ge "$2" ]; do
    i=$((i + 1)); [ $i -gt 3000 ] && exit 9; $bb sleep 0.01
done
: > /shared/ready.$1
while :; do sleep 1000 & wait $!; done
"#;

fn gate_service(name: &str, count: usize) -> String {
    format!(
        "command = [\"/bin/sh\", \"/etc/rich-init/gate.sh\", \"{name}\", \"{count}\"]\n\
         ready = {{ command = [\"/bin/test\", \"-e\", \"/shared/ready.{name}\"], interval = \"10ms\", timeout = \"20s\" }}\n"
    )
}

#[test]
fn independent_services_start_together_and_cmd_waits_for_all_of_them() {
    let bundle = Bundle::new();
    let etc = bundle.rootfs().join("etc/rich-init");
    write(&etc.join("gate.sh"), GATE, 0o755);
    let names = ["g1", "g2", "g3", "g4", "g5"];
    for name in names {
        let toml = gate_service(name, names.len());
        write(&etc.join(format!("services.d/{name}.toml")), &toml, 0o644);
    }
    // By default CMD starts once every service is ready.
    let cmd = "for n in 1 2 3 4 5; do test -e /shared/ready.g$n || exit 7; done; exit 0";
    let spec = Spec::new(&[
        "/sbin/rich-init",
        "--rich",
        "-v",
        "--",
        "/bin/sh",
        "-c",
        cmd,
    ]);
    let out = Container::start(Runtime::Runc, &bundle, &spec).wait();
    assert_eq!(
        out.code(),
        Some(0),
        "CMD saw all five services ready\n{out}"
    );
    assert!(
        !out.stderr.contains("not ready after"),
        "no service waited for another: five started before any was ready\n{out}"
    );
    for name in names {
        assert!(
            out.stderr.contains(&format!("service {name} is ready")),
            "{name} became ready\n{out}"
        );
    }
}

/// `slow` is ready only once CMD has run; `fast` at once.
const SLOW: &str = r#"#!/bin/sh
bb=/bin/busybox
i=0
until [ -e /shared/cmd-ran ]; do
    i=$((i + 1)); [ $i -gt 3000 ] && exit 9; $bb sleep 0.01
done
: > /shared/slow-ready
while :; do sleep 1000 & wait $!; done
"#;

#[test]
fn with_cmd_after_cmd_waits_only_for_the_services_it_names() {
    let bundle = Bundle::new();
    let etc = bundle.rootfs().join("etc/rich-init");
    write(&etc.join("slow.sh"), SLOW, 0o755);
    write(
        &etc.join("services.d/slow.toml"),
        "command = [\"/bin/sh\", \"/etc/rich-init/slow.sh\"]\n\
         ready = { command = [\"/bin/test\", \"-e\", \"/shared/slow-ready\"], interval = \"10ms\", timeout = \"20s\" }\n",
        0o644,
    );
    write(
        &etc.join("services.d/fast.toml"),
        "command = [\"/bin/sh\", \"-c\", \"echo $$ > /shared/fast.pid; exec sleep 1000\"]\n\
         ready = { command = [\"/bin/test\", \"-e\", \"/shared/fast.pid\"], interval = \"10ms\", timeout = \"20s\" }\n",
        0o644,
    );
    // CMD needs fast (its pid file is there when CMD starts), lets slow come up behind it,
    // and waits until rich-init has it running (ready), as `ctl status` says.
    let cmd = "test -e /shared/fast.pid || exit 7; : > /shared/cmd-ran; i=0; \
               until /sbin/rich-init ctl status | /bin/busybox grep -q '^slow  *running '; do \
               i=$((i + 1)); [ $i -gt 3000 ] && exit 8; /bin/busybox sleep 0.01; done; exit 0";
    let spec = Spec::new(&[
        "/sbin/rich-init",
        "--rich",
        "-v",
        "--cmd-after",
        "fast",
        "--",
        "/bin/sh",
        "-c",
        cmd,
    ]);
    let out = Container::start(Runtime::Runc, &bundle, &spec).wait();
    assert_eq!(out.code(), Some(0), "CMD started beside slow\n{out}");
    assert!(
        !out.stderr.contains("not ready after"),
        "slow became ready only because CMD ran, without a timeout\n{out}"
    );
    assert!(
        out.stderr.contains("service slow is ready"),
        "slow came up behind CMD\n{out}"
    );
}

#[test]
fn cmd_after_naming_no_service_is_a_config_error() {
    let bundle = Bundle::new();
    let spec = Spec::new(&[
        "/sbin/rich-init",
        "--rich",
        "--cmd-after",
        "nosuch",
        "--",
        "/bin/true",
    ]);
    let out = Container::start(Runtime::Runc, &bundle, &spec).wait();
    assert_eq!(out.code(), Some(78), "a config error\n{out}");
    assert_eq!(
        out.stderr,
        "rich-init: --cmd-after names \"nosuch\", which is not a service; remove it or add the service\n",
        "one line that names the thing and the fix\n{out}"
    );
}
