//! Zero refused connections across `upgrade-helper upgrade` (issue 17, part 3). A rich
//! busybox container (rich-init --rich, no Python inside) runs a static TCP server as
//! service `web` with `listen = ["tcp:0.0.0.0:8080"]` (listen_image.rs), in the rig's
//! network namespace, which outlives the upgrade. A client thread in that namespace
//! (listen_client.rs) connects about 2,000 times a second while the real upgrade-helper
//! takes the container from image v1 to v2, and while an upgrade whose probe fails is rolled
//! back to v1. The helper takes the held sockets from the old init before it stops the old
//! task and gives them to the new init: no connection may be refused or fail (but the one
//! a rollback's SIGKILL of the new task may break), and the replies must come from the
//! image the container ends on. Counts are asserted, never times.

use crate::harness::wait_for;
use crate::listen_client::{Client, Counts};
use crate::listen_image::{self, PORT};
use crate::upgrade_rig::Rig;
use std::net::SocketAddr;

/// Answers from one server that show it is serving, not just up.
const ANSWERS: usize = 200;

/// The rig with v1 and v2, both with `listen`, and container `id` from v1 answering a
/// running client.
fn serving(id: &str) -> (Rig, Client) {
    let rig = Rig::new(&[
        listen_image::spec("v1", true),
        listen_image::spec("v2", true),
    ]);
    rig.start(&rig.container(&listen_image::name("v1", true), id));
    rig.wait_log(id, "listen-server v1 pid", 1);
    let addr = SocketAddr::from(([127, 0, 0, 1], PORT));
    let client = Client::start(Some(rig.ns.path()), addr).expect("start the client");
    wait_until(&client, "v1", None);
    (rig, client)
}

/// Wait until the server that answers last is one of image `tag` other than `not` (a
/// start time), with [`ANSWERS`] answers in a row; its start time.
fn wait_until(client: &Client, tag: &str, not: Option<&str>) -> String {
    wait_for(
        &format!("{ANSWERS} answers from a new {tag} server"),
        || {
            assert!(client.running(), "the client thread ended early");
            let (last, _, _) = client.progress();
            last.filter(|s| s.image == tag && Some(s.start.as_str()) != not && s.answers >= ANSWERS)
                .map(|s| s.start)
        },
    )
}

/// Every server of the task log said it accepts on fd 3 (rich-init's socket).
fn assert_fd3(rig: &Rig, id: &str) {
    let log = rig.ctd.task_log(id);
    let starts: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("listen-server v") && l.contains(" on "))
        .collect();
    assert!(
        !starts.is_empty() && starts.iter().all(|l| l.contains("fd 3 (LISTEN_FDS)")),
        "every server should accept on the socket rich-init holds:\n{log}"
    );
}

/// The counts last, after everything else was checked: until the helper hands the sockets
/// over, these are what fails. At most `max_failed` other failures.
fn assert_none_refused(
    counts: &Counts,
    what: &str,
    max_failed: usize,
    out: &crate::harness::Outcome,
) {
    assert_eq!(
        counts.refused, 0,
        "{what}: refused connections: {counts}\n{out}"
    );
    assert!(
        counts.failed <= max_failed,
        "{what}: failed connections (at most {max_failed}): {counts}\n{out}"
    );
}

#[test]
fn upgrade_with_listen_refuses_no_connection() {
    let (rig, client) = serving("web");
    let v1 = client.progress().0.expect("a v1 server answered").start;
    let out = rig.upgrade("web", &listen_image::name("v2", true), &[]);
    assert_eq!(out.code(), Some(0), "v1 → v2\n{out}");
    rig.assert_runs("web", rig.image(&listen_image::name("v2", true)));
    wait_until(&client, "v2", Some(&v1));
    let counts = client.stop().expect("the client");
    eprintln!("upgrade v1 → v2: {counts}");
    let images: Vec<&str> = counts.servers.iter().map(|s| s.image.as_str()).collect();
    assert_eq!(images, ["v1", "v2"], "who answered, in order: {counts}");
    assert_fd3(&rig, "web");
    rig.assert_no_journal("web");
    rig.assert_nothing_leaked();
    // The old task stops on its stop signal, and the server ends between two connections.
    assert_none_refused(&counts, "upgrade v1 → v2", 0, &out);
}

#[test]
fn rolled_back_upgrade_with_listen_refuses_no_connection() {
    let (rig, client) = serving("back");
    let v1 = client.progress().0.expect("a v1 server answered").start;
    let out = rig.upgrade(
        "back",
        &listen_image::name("v2", true),
        &["--probe", "test -f /no/such/file"],
    );
    assert_eq!(out.code(), Some(1), "the probe fails: rolled back\n{out}");
    assert!(out.stderr.contains("probe"), "{out}");
    rig.assert_runs("back", rig.image(&listen_image::name("v1", true)));
    wait_until(&client, "v1", Some(&v1));
    let counts = client.stop().expect("the client");
    let first = counts.servers.first().expect("a first server");
    assert_eq!(
        (first.image.as_str(), first.start.as_str()),
        ("v1", v1.as_str())
    );
    // v2 may have answered between its start and the failed probe; a new v1 answers last.
    let middle = &counts.servers[1..counts.servers.len() - 1];
    assert!(middle.iter().all(|s| s.image == "v2"), "{counts}");
    assert_fd3(&rig, "back");
    rig.assert_no_journal("back");
    rig.assert_nothing_leaked();
    // A rollback stops the new task with SIGKILL (settle.rs): the one connection its server
    // may have accepted and not yet answered then breaks (the client has one at a time).
    assert_none_refused(&counts, "upgrade v1 → v2 rolled back", 1, &out);
}
