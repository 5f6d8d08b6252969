//! Reaping: CMD makes an orphan storm, then (while the init is still running) waits until
//! none of the init's other children is left, running or zombie, and reports what it saw.
//! Runs as pid 1 of a pid namespace and as a subreaper below a namespace's pid 1, under
//! ours and the Debian peers (ours by a peer's name both as a symlink and as a copy).

use crate::differential::Pair;
use crate::harness::{bin, Outcome, PidNs, Run};
use std::path::Path;

/// Shell functions for storm scripts (dash and busybox ash): `count` sets `n` (children
/// of $init other than this shell), `z` (how many of them are zombies) and `kids` (their
/// pids); `settle` waits, boundedly, until `n` is 0.
pub const COUNT_FN: &str = r#"
count() {
    n=0; z=0; kids=
    for f in /proc/[0-9]*/stat; do
        read -r pid comm state ppid rest 2>/dev/null <"$f" || continue
        [ "$ppid" = "$init" ] && [ "$pid" != "$$" ] || continue
        n=$((n + 1)); kids="$kids $pid"
        [ "$state" = Z ] && z=$((z + 1))
    done
}
settle() {
    tries=0
    while count; [ "$n" -gt 0 ] && [ "$tries" -lt 1000 ]; do
        sleep 0.01; tries=$((tries + 1))
    done
}
"#;

/// A CMD that leaves `orphans` short-lived double-forked children plus 5 that live until
/// it kills them, checks that those 5 became the init's children (`adopted=yes`), waits
/// for the init to reap everything, prints `left=N zombies=Z` and exits 3.
pub fn storm_script(orphans: usize) -> String {
    format!(
        "{COUNT_FN}\ninit=$PPID\ni=0\n\
         while [ $i -lt {orphans} ]; do ( sleep 0.05 & ); i=$((i + 1)); done\n\
         for i in 1 2 3 4 5; do ( sleep 1000 & ); done\n\
         count\n\
         if [ \"$n\" -ge 5 ]; then echo adopted=yes; else echo adopted=no; fi\n\
         [ -z \"$kids\" ] || kill $kids 2>/dev/null\n\
         settle\n\
         echo \"left=$n zombies=$z\"\n\
         [ \"$n\" = 0 ] || ps -o pid,ppid,stat,comm >&2\n\
         exit 3\n"
    )
}

const ORPHANS: usize = 500;
const CLEAN: &str = "adopted=yes\nleft=0 zombies=0\n";

fn storm(ns: PidNs, program: &Path, args: &[&str]) -> Outcome {
    Run::in_ns(ns, program)
        .args(args)
        .args(["--", "sh", "-c", &storm_script(ORPHANS)])
        .output()
}

/// `who` names the init in the failure message.
fn assert_clean(who: &str, out: &Outcome) {
    assert_eq!(
        (out.code(), out.stdout.as_str()),
        (Some(3), CLEAN),
        "{who}: orphans adopted by the init and all reaped while it runs, and CMD's exit status\n{out}"
    );
}

#[test]
fn rich_init_reaps_an_orphan_storm_as_pid_1() {
    assert_clean("rich-init", &storm(PidNs::Init, &bin(), &[]));
    assert_clean(
        "rich-init",
        &storm(PidNs::Init, &bin(), &["--single-child"]),
    );
}

#[test]
fn rich_init_reaps_an_orphan_storm_as_subreaper() {
    // Not pid 1: rich-init registers as a child subreaper by itself.
    assert_clean("rich-init", &storm(PidNs::Wrapped, &bin(), &[]));
    assert_clean(
        "rich-init",
        &storm(PidNs::Wrapped, &bin(), &["--isolation", "none"]),
    );
    // With the bit inherited from its parent it registers again, and says nothing.
    let out = storm(PidNs::WrappedSubreaper, &bin(), &[]);
    assert_clean("rich-init", &out);
    assert_eq!(out.stderr, "", "no warning with the bit inherited\n{out}");
}

/// Assert that `run` leaves no orphan under the peer `name` and under ours by that name,
/// as a symlink and as a copy.
fn assert_clean_both_ways(name: &'static str, run: impl Fn(&Path) -> Outcome) {
    let [link, copy] = Pair::both(name);
    assert_clean(&format!("{name} (the peer)"), &run(&link.peer));
    for pair in [&link, &copy] {
        assert_clean(&pair.label(), &run(&pair.ours));
    }
}

#[test]
fn tini_reaps_like_the_peer() {
    let cases: &[(PidNs, &[&str])] = &[(PidNs::Init, &[]), (PidNs::Wrapped, &["-s"])];
    for (ns, args) in cases {
        assert_clean_both_ways("tini", |program| storm(*ns, program, args));
    }
    assert_clean_both_ways("tini", |program| {
        Run::in_ns(PidNs::Wrapped, program)
            .env("TINI_SUBREAPER", "1")
            .args(["--", "sh", "-c", &storm_script(ORPHANS)])
            .output()
    });
}

#[test]
fn dumb_init_reaps_as_pid_1_like_the_peer() {
    assert_clean_both_ways("dumb-init", |program| storm(PidNs::Init, program, &[]));
}

#[test]
fn cmd_exit_ends_the_init_despite_a_lingering_child() {
    // CMD leaves a background child behind and exits 4: the init exits 4 too.
    let script = "sleep 1000 & exit 4";
    let rich = Run::in_ns(PidNs::Init, bin())
        .args(["--", "sh", "-c", script])
        .output();
    assert_eq!(rich.code(), Some(4), "{rich}");
    let run = |program: &Path| {
        Run::in_ns(PidNs::Init, program)
            .args(["--", "sh", "-c", script])
            .output()
    };
    for name in ["tini", "dumb-init"] {
        let [link, copy] = Pair::both(name);
        let peer = run(&link.peer);
        assert_eq!(peer.code(), Some(4), "{name} (the peer): {peer}");
        for pair in [&link, &copy] {
            let ours = run(&pair.ours);
            assert_eq!(
                (ours.code(), ours.signal()),
                (peer.code(), peer.signal()),
                "{}: ours differ from the peer\npeer: {peer}\nours: {ours}",
                pair.label()
            );
        }
    }
}
