//! Signal forwarding, checked by the processes that receive the signals (see signal_rig):
//! who gets each signal sent to the init, under rich-init's options and under our binary
//! as dumb-init and tini next to the Debian originals.

use crate::differential::Pair;
use crate::harness::bin;
use crate::signal_rig::{Receipts, SignalRig, CHLD, HUP, INT, RT, TERM, USR1, USR2, WINCH};
use std::ffi::OsString;
use std::path::Path;

/// Sent in every scenario; SIGCHLD must never be forwarded.
const ALL: &[i32] = &[HUP, INT, USR1, USR2, TERM, WINCH, CHLD, RT];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// The child's whole process group.
    Group,
    /// The child alone.
    Child,
}

/// What the receivers should record for `sent` under `reach` and a rewrite table.
fn expected(sent: &[i32], reach: Reach, rewrite: &[(i32, i32)]) -> Receipts {
    let delivered: Vec<i32> = sent
        .iter()
        .filter(|s| **s != CHLD)
        .map(|s| {
            rewrite
                .iter()
                .find(|(from, _)| from == s)
                .map_or(*s, |(_, to)| *to)
        })
        .filter(|s| *s != 0)
        .collect();
    Receipts {
        grandchild: if reach == Reach::Group {
            delivered.clone()
        } else {
            Vec::new()
        },
        child: delivered,
    }
}

fn argv(program: &Path, args: &[&str]) -> Vec<OsString> {
    std::iter::once(program.as_os_str().to_owned())
        .chain(args.iter().map(OsString::from))
        .collect()
}

/// Run the rig under `init`, send `sent`, and return what arrived and the exit status.
fn observe(init: &[OsString], env: &[(&str, &str)], sent: &[i32]) -> (Receipts, Option<i32>) {
    let mut rig = SignalRig::start(init, env);
    for sig in sent {
        rig.send(*sig);
    }
    let got = rig.receipts();
    (got, rig.finish())
}

fn check_rich(args: &[&str], sent: &[i32], want: Receipts) {
    check_rich_env(args, &[], sent, want);
}

fn check_rich_env(args: &[&str], env: &[(&str, &str)], sent: &[i32], want: Receipts) {
    let init = argv(&bin(), args);
    let (got, code) = observe(&init, env, sent);
    assert_eq!(
        got, want,
        "rich-init {args:?} {env:?}: signals {sent:?} arrived wrongly"
    );
    assert_eq!(
        code,
        Some(0),
        "rich-init {args:?} {env:?}: the child exited 0"
    );
}

/// Under the peer and under ours by the same name: both must match `want` and each other.
fn check_pair(
    name: &'static str,
    args: &[&str],
    env: &[(&str, &str)],
    sent: &[i32],
    want: Receipts,
) {
    let [link, copy] = Pair::both(name);
    let peer = observe(&argv(&link.peer, args), env, sent);
    for pair in [&link, &copy] {
        let ours = observe(&argv(&pair.ours, args), env, sent);
        assert_eq!(
            ours, peer,
            "{name} {args:?} {env:?} (ours as a {:?}): signals {sent:?}: ours (left) differ from the peer (right)",
            pair.how
        );
    }
    assert_eq!(
        peer.0, want,
        "{name} {args:?} {env:?}: the peer does not do what this test expects"
    );
    assert_eq!(peer.1, Some(0), "{name} {args:?}: the child exited 0");
}

#[test]
fn rich_init_default_forwards_to_the_group() {
    check_rich(&[], ALL, expected(ALL, Reach::Group, &[]));
    check_rich(
        &["--isolation", "group"],
        ALL,
        expected(ALL, Reach::Group, &[]),
    );
}

#[test]
fn rich_init_forward_to_child() {
    let want = expected(ALL, Reach::Child, &[]);
    check_rich(&["--forward-to", "child"], ALL, want.clone());
    check_rich(&["-c"], ALL, want.clone());
    check_rich(&["--single-child"], ALL, want.clone());
    check_rich_env(&[], &[("RICH_INIT_FORWARD_TO", "child")], ALL, want);
}

#[test]
fn rich_init_rewrites_and_drops() {
    let sent = &[USR1, USR2];
    check_rich(
        &["-r", "USR1:USR2"],
        sent,
        expected(sent, Reach::Group, &[(USR1, USR2)]),
    );
    check_rich(
        &["--rewrite", "SIGUSR1:0"],
        sent,
        expected(sent, Reach::Group, &[(USR1, 0)]),
    );
    let env = [("RICH_INIT_REWRITE", "USR1:0,USR2:HUP")];
    let want = expected(sent, Reach::Group, &[(USR1, 0), (USR2, HUP)]);
    check_rich_env(&[], &env, sent, want);
    let sent = &[TERM, RT, HUP];
    check_rich(
        &["-r", "TERM:0", "-r", "RTMIN+6:HUP", "-c"],
        sent,
        expected(sent, Reach::Child, &[(TERM, 0), (RT, HUP)]),
    );
}

#[test]
fn dumb_init_default_forwards_to_the_group_like_the_peer() {
    let want = expected(ALL, Reach::Group, &[]);
    check_pair("dumb-init", &[], &[], ALL, want);
}

#[test]
fn dumb_init_single_child_like_the_peer() {
    let want = expected(ALL, Reach::Child, &[]);
    check_pair("dumb-init", &["-c"], &[], ALL, want.clone());
    let env = [("DUMB_INIT_SETSID", "0")];
    check_pair("dumb-init", &[], &env, ALL, want);
}

#[test]
fn dumb_init_rewrites_and_drops_like_the_peer() {
    let sent = &[USR1, USR2, TERM];
    let want = expected(sent, Reach::Group, &[(USR1, USR2)]);
    check_pair("dumb-init", &["-r", "10:12"], &[], sent, want);
    let want = expected(sent, Reach::Group, &[(USR1, 0)]);
    check_pair("dumb-init", &["-r", "10:0"], &[], sent, want);
    let want = expected(sent, Reach::Child, &[(TERM, 1)]);
    check_pair("dumb-init", &["-c", "-r", "15:1"], &[], sent, want);
}

#[test]
fn tini_forwards_to_the_child_like_the_peer() {
    let want = expected(ALL, Reach::Child, &[]);
    check_pair("tini", &["-s"], &[], ALL, want.clone());
    check_pair("tini", &[], &[], ALL, want);
}

#[test]
fn tini_group_option_forwards_to_the_group_like_the_peer() {
    let want = expected(ALL, Reach::Group, &[]);
    check_pair("tini", &["-s", "-g"], &[], ALL, want.clone());
    let env = [("TINI_KILL_PROCESS_GROUP", "1")];
    check_pair("tini", &["-s"], &env, ALL, want);
}
