//! Verbose output (`dumb-init -v`, `tini -v/-vv/-vvv`) next to the Debian peers. Pids
//! are masked; where the init's and CMD's processes both print (setsid, tcsetpgrp), the
//! order between them is a race, so those runs compare the lines as a sorted list.
//! Every mismatch is collected, then reported at once. Ours runs as a symlink and as a
//! copy named like the peer, each next to a run of the peer of its own.

use crate::differential::{mask_pids, Pair};
use crate::harness::normalise;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// Only the init prints: compare line by line.
    Exact,
    /// Two processes print: compare the sorted lines.
    Sorted,
    /// Sorted, leaving out the lines that contain this text: the peer prints them or
    /// not depending on timing.
    SortedWithout(&'static str),
}

/// Run `args` under the peer and ours; describe any difference (empty when the same).
fn compare(pair: &Pair, args: &[&str], env: &[(&str, &str)], order: Order) -> Vec<String> {
    let (peer, ours) = pair.run(args, env);
    let view = |text: &str, program: &std::path::Path| {
        let mut lines: Vec<String> = mask_pids(&normalise(text, program))
            .lines()
            .filter(|l| !matches!(order, Order::SortedWithout(racy) if l.contains(racy)))
            .map(str::to_string)
            .collect();
        if order != Order::Exact {
            lines.sort();
        }
        lines
    };
    let mut diffs = Vec::new();
    if (ours.code(), ours.signal()) != (peer.code(), peer.signal()) {
        diffs.push(format!(
            "{} {args:?}: exit status: peer {} ours {}",
            pair.label(),
            peer.status,
            ours.status
        ));
    }
    for (stream, p, o) in [
        ("stdout", &peer.stdout, &ours.stdout),
        ("stderr", &peer.stderr, &ours.stderr),
    ] {
        let (p, o) = (view(p, &pair.peer), view(o, &pair.ours));
        if p != o {
            let missing: Vec<&String> = p.iter().filter(|l| !o.contains(l)).collect();
            let extra: Vec<&String> = o.iter().filter(|l| !p.contains(l)).collect();
            diffs.push(format!(
                "{} {args:?} {env:?} {stream}:\n  peer: {p:#?}\n  ours: {o:#?}\n  only the peer: {missing:?}\n  only ours: {extra:?}",
                pair.label()
            ));
        }
    }
    diffs
}

/// Run `cases` with ours as a symlink and as a copy named `name`; report every difference
/// from the peer at once.
fn assert_like_the_peer_both_ways(name: &'static str, cases: fn(&Pair) -> Vec<String>) {
    let diffs: Vec<String> = Pair::both(name).iter().flat_map(cases).collect();
    assert!(
        diffs.is_empty(),
        "{} verbose run(s) differ from the peer:\n\n{}",
        diffs.len(),
        diffs.join("\n\n")
    );
}

/// CMD asks the init to forward SIGUSR1 to it, and exits 4 when it arrives. It spins on
/// builtins meanwhile: a child of its own (say `sleep`) would be in its process group, and
/// whether that child was running when the group got SIGUSR1 (and the shell reported its
/// death) would be a race.
const USR1_ROUND_TRIP: &str = "trap 'exit 4' USR1; kill -USR1 $PPID; while :; do :; done";

/// The same, after sending the init SIGTTIN and SIGTTOU (tini ignores them unseen).
const TTIN_TTOU_THEN_USR1: &str =
    "trap 'exit 4' USR1; kill -TTIN $PPID; kill -TTOU $PPID; kill -USR1 $PPID; while :; do :; done";

#[test]
fn dumb_init_verbose_output_like_the_peer() {
    assert_like_the_peer_both_ways("dumb-init", dumb_init_verbose_cases);
}

fn dumb_init_verbose_cases(p: &Pair) -> Vec<String> {
    let mut diffs = Vec::new();
    for script in ["exit 3", "kill $$", USR1_ROUND_TRIP] {
        for (args, order) in [
            (&["-c", "-v"][..], Order::Exact),
            (&["-c", "-v", "-r", "10:12", "-r", "15:0"], Order::Exact),
            (&["-v"], Order::Sorted),
        ] {
            let argv: Vec<&str> = args.iter().copied().chain(["sh", "-c", script]).collect();
            diffs.extend(compare(p, &argv, &[], order));
        }
    }
    // Each variable in each setsid mode.
    let no_setsid = ("DUMB_INIT_SETSID", "0");
    let debug = ("DUMB_INIT_DEBUG", "1");
    for (args, env, order) in [
        (&["-c"][..], &[debug][..], Order::Exact),
        (&[], &[debug], Order::Sorted),
        (&[], &[debug, no_setsid], Order::Exact),
        (&["-v"], &[no_setsid], Order::Exact),
        (&["-v", "-r", "15:10"], &[no_setsid], Order::Exact),
    ] {
        for script in ["exit 3", "kill $$"] {
            let argv: Vec<&str> = args.iter().copied().chain(["sh", "-c", script]).collect();
            diffs.extend(compare(p, &argv, env, order));
        }
    }
    diffs
}

#[test]
fn tini_verbose_output_like_the_peer() {
    assert_like_the_peer_both_ways("tini", tini_verbose_cases);
}

fn tini_verbose_cases(p: &Pair) -> Vec<String> {
    let mut diffs = Vec::new();
    for script in ["exit 3", "kill $$", USR1_ROUND_TRIP, TTIN_TTOU_THEN_USR1] {
        // In the USR1 round trip, tini may reap CMD right after forwarding SIGUSR1, before
        // it dequeues the SIGCHLD (then it never logs "Received SIGCHLD"), and its -vvv
        // trace lines about its reaping loop depend on timing too: compare up to -vv,
        // without that line.
        let (levels, order): (&[&str], Order) = if script.contains("USR1") {
            (&["-v", "-vv"], Order::SortedWithout("Received SIGCHLD"))
        } else {
            (&["-v", "-vv", "-vvv"], Order::Sorted)
        };
        for level in levels {
            let argv = ["-s", level, "--", "sh", "-c", script];
            diffs.extend(compare(p, &argv, &[], order));
        }
    }
    for level in ["3", "-1", "9", " 2x", "junk"] {
        diffs.extend(compare(
            p,
            &["-s", "-v", "true"],
            &[("TINI_VERBOSITY", level)],
            Order::Sorted,
        ));
    }
    diffs
}

/// tini at -vvv, line by line: it says how its child exited as it reaps it, before its
/// reaping loop ends ("No child to wait"). Only tini prints here (no terminal, so its
/// child's tcsetpgrp says nothing), so the order is the peer's own, not a race.
#[test]
fn tini_trace_lines_in_the_peers_order() {
    assert_like_the_peer_both_ways("tini", tini_trace_cases);
}

fn tini_trace_cases(p: &Pair) -> Vec<String> {
    let mut diffs = Vec::new();
    for script in ["exit 3", "kill $$"] {
        for args in [&["-s", "-vvv"][..], &["-s", "-vvv", "-w"]] {
            let argv: Vec<&str> = args
                .iter()
                .copied()
                .chain(["--", "sh", "-c", script])
                .collect();
            diffs.extend(compare(p, &argv, &[], Order::Exact));
        }
    }
    diffs
}
